"""Credentials repository: secrets go in and out only through the vault."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Credential, utcnow
from storage.vault import Vault, row_aad

TABLE = "credentials"


class CredentialRepo:
    """Stores sealed secrets bound to their row id."""

    def __init__(self, session: AsyncSession, vault: Vault) -> None:
        self._s = session
        self._vault = vault

    async def add(self, user_id: int, kind: str, secret: str) -> Credential:
        """Stage a credential: the row gets its id first, because the id is the seal's AAD."""
        row = Credential(user_id=user_id, kind=kind, sealed=b"", key_id="")
        self._s.add(row)
        await self._s.flush()
        row.sealed = self._vault.seal(secret, row_aad(TABLE, row.id))
        row.key_id = self._vault.current_kid
        await self._s.flush()
        return row

    async def reveal(self, credential_id: int) -> str | None:
        """The plaintext secret, or None if the row is gone; VaultError if it does not verify."""
        row = await self._s.get(Credential, credential_id)
        if row is None:
            return None
        return self._vault.open(row.sealed, row_aad(TABLE, row.id))

    async def replace(self, credential_id: int, secret: str) -> None:
        """Seal a new secret into an existing row."""
        row = await self._s.get(Credential, credential_id)
        if row is None:
            raise LookupError(credential_id)
        row.sealed = self._vault.seal(secret, row_aad(TABLE, row.id))
        row.key_id = self._vault.current_kid

    async def delete(self, credential_id: int) -> None:
        """Forget a secret for good."""
        row = await self._s.get(Credential, credential_id)
        if row is not None:
            await self._s.delete(row)

    async def stale_ids(self, batch: int = 500) -> AsyncIterator[list[int]]:
        """Ids of rows not yet sealed under the current key, a batch at a time."""
        last = 0
        while True:
            ids = list(
                await self._s.scalars(
                    select(Credential.id)
                    .where(Credential.key_id != self._vault.current_kid, Credential.id > last)
                    .order_by(Credential.id)
                    .limit(batch)
                )
            )
            if not ids:
                return
            yield ids
            last = ids[-1]

    async def reseal(self, credential_id: int) -> bool:
        """Re-encrypt one row under the current key; False if it already was."""
        row = await self._s.get(Credential, credential_id)
        if row is None:
            return False
        fresh = self._vault.reseal(row.sealed, row_aad(TABLE, row.id))
        if fresh is None:
            return False
        row.sealed, row.key_id, row.rotated_at = fresh, self._vault.current_kid, utcnow()
        return True
