"""How a sync reads TikTok's refusals: a revoked token, a lost ad account, or a glitch."""

from __future__ import annotations

from core.tiktok import TikTokClient, TikTokError, TokenInvalidError


async def token_refusal(client: TikTokClient, token: str, exc: TokenInvalidError) -> str:
    """How a refused token counts: "revoked" only when TikTok refuses it for good and says so
    again on a second, independent call (a one-off glitch must not start deleting anyone's
    data); "token" for a refusal that is not a revocation (the connection needs a reconnect,
    nothing is deleted); "retry" when the second call went through or could not tell."""
    if not exc.revoked:
        return "token"
    try:
        await client.get_authorized_advertisers(token)
    except TokenInvalidError as again:
        return "revoked" if again.revoked else "token"
    except TikTokError:
        return "retry"
    return "retry"


async def access_refusal(client: TikTokClient, token: str, advertiser_id: str) -> str:
    """How a refused advertiser counts: "lost" when the login's list of ad accounts no longer
    holds it (its data goes after the retention period), "revoked" when the token itself is
    refused for good, "no_access" when it is still listed (a missing permission: stop syncing,
    keep the data), "retry" when TikTok could not tell."""
    try:
        listed = await client.get_authorized_advertisers(token)
    except TokenInvalidError as exc:
        return "revoked" if exc.revoked else "token"
    except TikTokError:
        return "retry"
    return "no_access" if any(a.advertiser_id == advertiser_id for a in listed) else "lost"
