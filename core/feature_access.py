"""An ad account's token for a request about the user's TikTok assets (pixels, audiences,
catalogs, identities), and why such a request could not be done: the reasons they share. Each
module adds its own; `code` names the reason for the views, `detail` what TikTok or the input
said."""

from __future__ import annotations

from core.features import is_on
from storage.models import AdAccount
from storage.uow import UnitOfWorkFactory


class FeatureError(Exception):
    """The request could not be done; `code` says why (by default: TikTok did not answer)."""

    code = "tiktok"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class FeatureOff(FeatureError):
    """The user has not switched the feature on: nothing is asked of TikTok."""

    code = "off"


class AccountNotFound(FeatureError):
    """Not one of the user's ad accounts (someone else's, or disconnected)."""

    code = "account"


class NeedsReconnect(FeatureError):
    """TikTok no longer accepts the connection's token (or none is stored): reconnect."""

    code = "reconnect"


async def account_access(uow: UnitOfWorkFactory, user_id: int, account_id: int,
                         feature: str | None = None) -> tuple[AdAccount, str]:
    """The user's ad account and its connection's token (revealed from the vault); with a
    `feature`, FeatureOff before anything else when the user has not switched it on."""
    async with uow() as u:
        if feature is not None:
            user = await u.users.get(user_id)
            if user is None or not is_on(user, feature):
                raise FeatureOff()
        account = await u.connections.account(user_id, account_id)
        if account is None:
            raise AccountNotFound()
        conn = await u.connections.connection(user_id, account.connection_id)
        token = None
        if conn is not None and conn.credential_id is not None:
            token = await u.credentials.reveal(conn.credential_id)
    if conn is None or conn.status == "broken" or token is None:
        raise NeedsReconnect()
    return account, token
