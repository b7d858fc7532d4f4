"""Web dashboard sessions, sign-in links and OpenID Connect flows (looked up by the SHA-256 of
their token), and the Google accounts linked to users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.web import WebIdentity, WebOidcFlow, WebSession, WebSigninLink


class WebRepo:
    """Stores and finds sessions and one-time links; the use-case commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def add_link(self, row: WebSigninLink) -> None:
        """Stage a new sign-in link."""
        self._s.add(row)

    async def use_link(self, digest: str, now: datetime) -> WebSigninLink | None:
        """Mark the link used if it is unused and unexpired; None otherwise. One UPDATE, so
        two requests racing with the same link cannot both get in."""
        done = await self._s.execute(
            update(WebSigninLink)
            .where(WebSigninLink.id == digest, WebSigninLink.used_at.is_(None),
                   WebSigninLink.expires_at > now)
            .values(used_at=now)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self._s.get(WebSigninLink, digest)

    async def link(self, digest: str) -> WebSigninLink | None:
        """A link by digest, whatever its state."""
        return await self._s.get(WebSigninLink, digest)

    def add_session(self, row: WebSession) -> None:
        """Stage a new session."""
        self._s.add(row)

    async def session(self, digest: str, now: datetime) -> WebSession | None:
        """A live session by digest (None when unknown or expired)."""
        return await self._s.scalar(
            select(WebSession).where(WebSession.id == digest, WebSession.expires_at > now)
        )

    async def touch(self, digest: str, now: datetime) -> None:
        """Note the session was used."""
        await self._s.execute(
            update(WebSession).where(WebSession.id == digest).values(last_seen_at=now)
        )

    async def end(self, digest: str) -> None:
        """Sign one session out."""
        await self._s.execute(delete(WebSession).where(WebSession.id == digest))

    async def end_all(self, user_id: int) -> int:
        """Sign out every session of the user; how many there were."""
        done = await self._s.execute(delete(WebSession).where(WebSession.user_id == user_id))
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    async def purge(self, now: datetime) -> None:
        """Drop expired sessions and links."""
        await self._s.execute(delete(WebSession).where(WebSession.expires_at <= now))
        await self._s.execute(delete(WebSigninLink).where(WebSigninLink.expires_at <= now))
        await self._s.execute(delete(WebOidcFlow).where(WebOidcFlow.expires_at <= now))

    # ---------------------------------------------------------------- OpenID Connect

    def add_flow(self, row: WebOidcFlow) -> None:
        """Stage a new flow (or link offer)."""
        self._s.add(row)

    async def use_flow(self, digest: str, kind: str, now: datetime) -> WebOidcFlow | None:
        """Mark the flow used if it is of `kind`, unused and unexpired; None otherwise (one
        UPDATE: two requests with the same state cannot both pass)."""
        done = await self._s.execute(
            update(WebOidcFlow)
            .where(WebOidcFlow.id == digest, WebOidcFlow.kind == kind,
                   WebOidcFlow.used_at.is_(None), WebOidcFlow.expires_at > now)
            .values(used_at=now)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self._s.get(WebOidcFlow, digest)

    async def retire_offers(self, user_id: int, now: datetime) -> None:
        """Mark the user's unused link offers used (a newer one replaces them)."""
        await self._s.execute(
            update(WebOidcFlow)
            .where(WebOidcFlow.user_id == user_id, WebOidcFlow.kind == "offer",
                   WebOidcFlow.used_at.is_(None))
            .values(used_at=now)
        )

    async def identity(self, provider: str, subject: str) -> WebIdentity | None:
        """The link of a provider's account, by its subject."""
        return await self._s.scalar(select(WebIdentity).where(
            WebIdentity.provider == provider, WebIdentity.subject == subject))

    async def identity_of(self, user_id: int, provider: str) -> WebIdentity | None:
        """The user's linked account at a provider."""
        return await self._s.scalar(select(WebIdentity).where(
            WebIdentity.user_id == user_id, WebIdentity.provider == provider))

    def add_identity(self, row: WebIdentity) -> None:
        """Stage a new link."""
        self._s.add(row)

    async def remove_identity(self, user_id: int, provider: str) -> int:
        """Unlink the user's account at a provider; how many links went (0 or 1)."""
        done = await self._s.execute(delete(WebIdentity).where(
            WebIdentity.user_id == user_id, WebIdentity.provider == provider))
        return int(done.rowcount or 0)  # type: ignore[attr-defined]
