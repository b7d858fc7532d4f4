"""Secret-maintenance use-cases."""

from __future__ import annotations

from storage.uow import UnitOfWorkFactory


async def rotate_secrets(uow: UnitOfWorkFactory) -> int:
    """Re-seal every stored secret under the newest key, a committed batch at a time."""
    count = 0
    async with uow() as scan:
        batches = [ids async for ids in scan.credentials.stale_ids()]
    for ids in batches:
        async with uow() as u:
            for credential_id in ids:
                count += await u.credentials.reseal(credential_id)
            await u.commit()
    return count
