"""The rules' `Changer` over TikTok: reveals the account's token and goes through
core.changes (read, write, read back to verify)."""

from __future__ import annotations

from decimal import Decimal

from core import changes
from core.rules.acting import ActionError, Change, State, Target
from core.tiktok import TikTokClient
from storage.uow import UnitOfWorkFactory


def _state(s: changes.ObjectState, target: Target) -> State:
    minimum = changes.budget_minimum(target.level, target.currency, s.budget_mode)
    return State(s.status, s.budget, s.bid, minimum)


class TikTokChanger:
    """Reads and changes campaigns, ad groups and ads through the TikTok client."""

    def __init__(self, uow: UnitOfWorkFactory, client: TikTokClient) -> None:
        self._uow, self._client = uow, client

    async def _token(self, target: Target) -> str:
        token = None
        if target.credential_id is not None:
            async with self._uow() as u:
                token = await u.credentials.reveal(target.credential_id)
        if token is None:
            raise ActionError("no_access")
        return token

    async def read(self, target: Target) -> State:
        """The object's values on TikTok now."""
        token = await self._token(target)
        try:
            found = await changes.read_state(
                self._client, token, target.advertiser_id, target.level, target.object_id
            )
        except changes.ChangeError as exc:
            raise ActionError(exc.message) from exc
        return _state(found, target)

    async def write(self, target: Target, change: Change) -> State:
        """Make the change (unless already there) and return what TikTok reads back."""
        token = await self._token(target)
        value = change.value if change.field == "status" else Decimal(change.value)
        try:
            result = await changes.apply_change(
                self._client,
                token,
                target.advertiser_id,
                target.level,
                target.object_id,
                changes.Change(change.field, value),
                currency=target.currency,
            )  # type: ignore[arg-type]
        except (changes.ChangeError, ValueError) as exc:
            below = isinstance(exc, changes.BudgetBelowMinimumError)
            raise ActionError(getattr(exc, "message", None) or str(exc), below) from exc
        return _state(result.after, target)
