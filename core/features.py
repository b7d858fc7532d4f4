"""Optional TikTok features (issue 17): per-user switches, off by default, and the scope each
needs.

Switches are per user, not per ad account: a buyer decides "I want comments in the chat" once;
which ads are watched is picked inside the feature (comments: per campaign), and the permission
itself is per connection, shown beside the switch. A feature that is off makes no call to its
endpoints (tests/contract/test_comments.py::test_features_off_make_zero_optional_calls counts
them at the emulator).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock
from core.tiktok.scopes import OPTIONAL, groups_of
from storage.models import TikTokConnection, User
from storage.uow import UnitOfWorkFactory

# The optional features TTPulse offers today, each named after the scope group it needs
# (core/tiktok/scopes.py).
FEATURES: tuple[str, ...] = ("comments", "pixels", "audiences", "catalogs")


def enabled(user: User) -> frozenset[str]:
    """The features the user switched on."""
    return frozenset(f for f in (user.features or "").split(",") if f in FEATURES)


def is_on(user: User, feature: str) -> bool:
    """Whether one feature is switched on."""
    return feature in enabled(user)


@dataclass(frozen=True, slots=True)
class Grant:
    """What one connection's token may do: the optional groups granted, or None when the
    connection predates reading scopes (spec §2.3) and TikTok's answer is not known."""

    connection_id: int
    name: str
    granted: frozenset[str] | None

    def lacks(self, feature: str) -> bool:
        """Known not to allow the feature (an unknown grant is not assumed missing)."""
        return self.granted is not None and feature not in self.granted


def grant_of(conn: TikTokConnection) -> Grant:
    """The optional scopes one connection's last consent granted."""
    if conn.scope is None:
        return Grant(conn.id, conn.display_name, None)
    groups = groups_of(conn.scope.split(","))
    return Grant(conn.id, conn.display_name, frozenset(g for g in groups if g in OPTIONAL))


async def grants(uow: UnitOfWorkFactory, user_id: int) -> list[Grant]:
    """The user's live connections with what each allows."""
    async with uow() as u:
        conns = await u.connections.connections(user_id)
    return [grant_of(c) for c in conns if c.status != "disconnected"]


async def set_feature(uow: UnitOfWorkFactory, clock: Clock, user_id: int, feature: str,
                      on: bool) -> User:
    """Switch one optional feature on or off (audited)."""
    if feature not in FEATURES:
        raise ValueError(feature)
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None:
            raise LookupError(user_id)
        now_on = set(enabled(user))
        before = ",".join(sorted(now_on))
        (now_on.add if on else now_on.discard)(feature)
        user.features = ",".join(sorted(now_on))
        user.updated_at = clock.now()
        u.audit.record(user_id, "user.feature", "user", user_id,
                       {"feature": feature, "on": on, "before": before})
        await u.commit()
        return user
