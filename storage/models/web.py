"""The web dashboard's sign-in state: server-side sessions, one-time sign-in links, linked
Google accounts and OpenID Connect round trips in progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class WebSession(Base):
    """A signed-in browser or Mini App. The cookie holds a random token; only its SHA-256 is
    stored, so a copy of the table does not sign anyone in."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(256), default="")


class WebSigninLink(Base):
    """A one-time sign-in link the bot sent on /web: usable once, before it expires."""

    __tablename__ = "web_signin_links"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebIdentity(Base):
    """A Google account (OpenID Connect `sub`) linked to a Telegram user from the bot; it signs
    that user in to the dashboard. One per provider per user; a `sub` belongs to one user."""

    __tablename__ = "web_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_web_identities_provider_subject"),
        UniqueConstraint("user_id", "provider", name="uq_web_identities_user_provider"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # "google"
    subject: Mapped[str] = mapped_column(String(255))  # the ID token's `sub`: stable, never reused
    email: Mapped[str | None] = mapped_column(String(320))  # shown to the user; not a key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebOidcFlow(Base):
    """One OpenID Connect round trip in progress, or the bot's one-time "link Google" offer.

    `id` is the SHA-256 of the random token (the `state` sent to the provider, or the offer's
    link token); a flow is used once and lives minutes. `user_id` is set when the flow links
    an account (kind "offer" or "link"), empty when it signs in ("signin")."""

    __tablename__ = "web_oidc_flows"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # offer | link | signin
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(String(64), default="")
    verifier: Mapped[str] = mapped_column(String(128), default="")  # PKCE code_verifier
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
