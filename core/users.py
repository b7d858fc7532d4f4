"""User use-cases: sign-up and settings. Each records what changed in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock
from core.emails import normalize_email
from core.privacy import erase
from core.quiet import quiet_until
from core.tiktok import TikTokClient
from core.timezones import is_valid
from storage.models import User
from storage.uow import UnitOfWorkFactory

LANGUAGES = ("en", "ru")
TERMS_VERSION = "2026-11"
HELD_FOR = timedelta(days=3)  # alerts held for a user who blocked the bot stay news this long


class InvalidValue(ValueError):
    """The value given for a setting is not acceptable."""


@dataclass(frozen=True)
class SignUp:
    """What the sign-up flow collected; consents are explicit booleans."""

    user_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language: str
    time_zone: str
    email: str | None
    marketing_opt_in: bool
    start_payload: str | None = None


async def get_user(uow: UnitOfWorkFactory, user_id: int) -> User | None:
    """A registered, not deleted user (every update asks: a copy kept while the row is
    unchanged answers, storage/changes.py)."""
    return await uow.live_user(user_id)


async def register_user(uow: UnitOfWorkFactory, clock: Clock, form: SignUp,
                        tiktok_client: TikTokClient | None = None) -> User:
    """Create the user after age, terms and privacy were accepted; idempotent. Someone whose
    account is being deleted starts from nothing: their erasure is finished first."""
    if form.language not in LANGUAGES or not is_valid(form.time_zone):
        raise InvalidValue("language or time zone")
    email = normalize_email(form.email) if form.email else None
    async with uow() as u:
        existing = await u.users.get_any(form.user_id)
        if existing is not None and existing.deleted_at is None:
            return existing
    # Deleted, erasure pending (or a deleted row from before erasures existed): finish it, all
    # stages, so nothing of the old account reaches the new one.
    if existing is not None and not await erase.finish_now(uow, clock, tiktok_client,
                                                           form.user_id):
        await erase.request_erasure(uow, clock, tiktok_client, form.user_id)
        await erase.finish_now(uow, clock, tiktok_client, form.user_id)
    now = clock.now()
    async with uow() as u:
        user = User(
            id=form.user_id,
            first_name=form.first_name[:128],
            last_name=(form.last_name or None) and form.last_name[:128],
            username=form.username,
            language=form.language,
            time_zone=form.time_zone,
            email=email,
            adult_confirmed_at=now,
            terms_accepted_at=now,
            terms_version=TERMS_VERSION,
            privacy_accepted_at=now,
            marketing_opt_in=form.marketing_opt_in,
            marketing_consent_at=now if form.marketing_opt_in else None,
            # A deep link carries at most 64 characters, but `/start <text>` typed by hand any.
            start_payload=form.start_payload[:64] if form.start_payload else None,
            created_at=now,
            updated_at=now,
        )
        u.users.add(user)
        u.audit.record(
            form.user_id,
            "user.registered",
            "user",
            form.user_id,
            {
                "language": form.language,
                "time_zone": form.time_zone,
                "marketing_opt_in": form.marketing_opt_in,
                "terms_version": TERMS_VERSION,
                "start_payload": form.start_payload,
            },
        )
        await u.commit()
        return user


async def _update(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, action: str, **changes: object
) -> User:
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None:
            raise LookupError(user_id)
        before = {k: getattr(user, k) for k in changes}
        for key, value in changes.items():
            setattr(user, key, value)
        user.updated_at = clock.now()
        u.audit.record(
            user_id,
            action,
            "user",
            user_id,
            {
                "before": {k: str(v) if v is not None else None for k, v in before.items()},
                "after": {k: str(v) if v is not None else None for k, v in changes.items()},
            },
        )
        await u.commit()
        return user


async def set_language(uow: UnitOfWorkFactory, clock: Clock, user_id: int, language: str) -> User:
    """Change the interface language."""
    if language not in LANGUAGES:
        raise InvalidValue(language)
    return await _update(uow, clock, user_id, "user.language", language=language)


async def _quiet_end(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> datetime | None:
    """When the user's quiet hours holding alerts now end, or None if it is not quiet now."""
    async with uow() as u:
        user = await u.users.get(user_id)
    if user is None:
        return None
    return quiet_until(clock.now(), user.time_zone, user.quiet_from, user.quiet_to)


async def _follow_quiet(uow: UnitOfWorkFactory, clock: Clock, user: User,
                        held_until: datetime | None) -> None:
    """Alerts held until the old quiet hours' end wait for the new hours' end instead (go now
    when it is not quiet now): not till a morning in a time zone the user just left."""
    if held_until is None:
        return
    now = clock.now()
    until = quiet_until(now, user.time_zone, user.quiet_from, user.quiet_to) or now
    if until != held_until:
        async with uow() as u:
            await u.outbox.move_held(user.id, held_until, until)
            await u.commit()


async def set_time_zone(uow: UnitOfWorkFactory, clock: Clock, user_id: int, zone: str) -> User:
    """Change the time zone schedules (and quiet hours) are read in."""
    if not is_valid(zone):
        raise InvalidValue(zone)
    held_until = await _quiet_end(uow, clock, user_id)
    user = await _update(uow, clock, user_id, "user.time_zone", time_zone=zone)
    await _follow_quiet(uow, clock, user, held_until)
    return user


async def set_email(uow: UnitOfWorkFactory, clock: Clock, user_id: int, text: str | None) -> User:
    """Set (validated) or remove the email address."""
    email = None
    if text is not None:
        email = normalize_email(text)
        if email is None:
            raise InvalidValue(text)
    return await _update(uow, clock, user_id, "user.email", email=email)


async def set_marketing(uow: UnitOfWorkFactory, clock: Clock, user_id: int, opt_in: bool) -> User:
    """Give or withdraw marketing consent, recording when."""
    now = clock.now()
    if opt_in:
        return await _update(
            uow,
            clock,
            user_id,
            "user.marketing",
            marketing_opt_in=True,
            marketing_consent_at=now,
            marketing_withdrawn_at=None,
        )
    return await _update(
        uow, clock, user_id, "user.marketing", marketing_opt_in=False, marketing_withdrawn_at=now
    )


async def set_quiet_hours(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, start: int | None, end: int | None
) -> User:
    """Set the local hours when non-urgent alerts wait (None, None: no quiet hours)."""
    if (
        (start is None) != (end is None)
        or any(h is not None and not 0 <= h <= 23 for h in (start, end))
        or (start is not None and start == end)
    ):
        raise InvalidValue(f"{start}-{end}")
    held_until = await _quiet_end(uow, clock, user_id)
    user = await _update(uow, clock, user_id, "user.quiet_hours", quiet_from=start, quiet_to=end)
    await _follow_quiet(uow, clock, user, held_until)
    return user


def profile_changes(
    user: User, first_name: str, last_name: str | None, username: str | None
) -> dict[str, str | None]:
    """The Telegram profile fields that differ from what is stored (names cut as at sign-up)."""
    fresh = {
        "first_name": first_name[:128],
        "last_name": (last_name or None) and last_name[:128],
        "username": (username or None) and username[:64],
    }
    return {k: v for k, v in fresh.items() if getattr(user, k) != v}


async def refresh_profile(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    first_name: str,
    last_name: str | None,
    username: str | None,
) -> User | None:
    """Keep the name and username Telegram shows (the user rectifies them in Telegram, so the
    stored copy follows it instead of going stale); audited "user.profile" when they changed."""
    async with uow() as u:
        user = await u.users.get(user_id)
    if user is None:
        return None
    changes = profile_changes(user, first_name, last_name, username)
    if not changes:
        return user
    return await _update(uow, clock, user_id, "user.profile", **changes)


async def mark_blocked(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> None:
    """The user blocked the bot: their alerts wait (the notifier skips them) from now on."""
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is not None and user.blocked_at is None:
            user.blocked_at = clock.now()
            await u.commit()


async def mark_returned(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> None:
    """The user is back (unblocked the bot or wrote to it): the alerts that waited go out, but
    those older than `HELD_FOR` are given up — days-old news would only bury the fresh ones."""
    now = clock.now()
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None or user.blocked_at is None:
            return
        user.blocked_at = None
        await u.outbox.give_up_held(user_id, now - HELD_FOR, now)
        await u.commit()
