"""Helpers for the paying tests: a signed-up user, signed payloads, a payment as Telegram
delivers it, and a stand-in for the limits branch's apply_plan that records its calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from core.billing import checkout, enforce
from core.billing.enforce import Enforced, Item
from core.billing.payload import Offer, encode
from core.billing.plans import Catalogue, PlanBook
from core.clock import Clock, FixedClock
from core.users import SignUp, register_user
from storage.uow import UnitOfWorkFactory

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
SECRETS = [KEY]
CATALOGUE = PlanBook().current()  # the built-in plans: pro 500 monthly, 30 d 550, 90 d 1500


async def sign_up(uow: UnitOfWorkFactory, clock: Clock, uid: int, zone: str = "UTC",
                  language: str = "en") -> None:
    """A registered user."""
    await register_user(uow, clock, SignUp(uid, "Ann", None, None, language, zone, None, False))


def payload(uid: int, plan: str = "pro", days: int = 30, recurring: bool = False,
            stars: int | None = None, at: datetime | None = None, key: bytes = KEY) -> str:
    """A signed invoice payload, priced from the built-in catalogue unless `stars` is given."""
    target = CATALOGUE.get(plan)
    price = stars if stars is not None else (target.price(days, recurring) if target else 1)
    return encode(Offer(uid, plan, days, recurring, price or 1, at or datetime(2026, 12, 1)),
                  key)


def received(uid: int, charge_id: str, at: datetime, plan: str = "pro", days: int = 30,
             recurring: bool = False, first: bool = True, body: str | None = None,
             stars: int | None = None) -> checkout.Received:
    """A successful_payment as the handler passes it on (a subscription's charge covers 30
    days from `at`, as Telegram's subscription_expiration_date says)."""
    text = body or payload(uid, plan, days, recurring)
    target = CATALOGUE.get(plan)
    price = stars if stars is not None else (target.price(days, recurring) or 0 if target else 0)
    return checkout.Received(
        charge_id=charge_id, provider_charge_id=None, currency="XTR", stars=price,
        payload=text, paid_at=at, expires_at=at + timedelta(days=30) if recurring else None,
        is_recurring=recurring, is_first_recurring=recurring and first,
    )


async def pay(uow: UnitOfWorkFactory, clock: FixedClock, uid: int, charge_id: str,
              catalogue: Catalogue = CATALOGUE, **kw: object) -> checkout.Completed:
    """Deliver one successful payment at the clock's time."""
    return await checkout.complete(uow, catalogue, clock, SECRETS, uid,
                                   received(uid, charge_id, clock.now(), **kw),  # type: ignore[arg-type]
                                   "test-worker")


@dataclass
class FakeEnforcer:
    """apply_plan as the limits branch will do it, reduced to what billing relies on: it marks
    the plan applied and reports the items given for that plan as paused (going down) or
    restored (going up)."""

    paused: list[Item] = field(default_factory=list)
    restored: list[Item] = field(default_factory=list)
    calls: list[tuple[int, str]] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                       user_id: int) -> Enforced:
        if self.fail:
            raise RuntimeError("limits broke")
        async with uow() as u:
            row = await u.billing.lock_entitlement(user_id, clock.now())
            down = catalogue.rank(row.plan) < catalogue.rank(row.applied_plan)
            row.applied_plan = row.plan
            plan = row.plan
            await u.commit()
        self.calls.append((user_id, plan))
        return Enforced(plan, tuple(self.paused) if down else (),
                        () if down else tuple(self.restored))


@pytest.fixture
def enforcer(monkeypatch: pytest.MonkeyPatch) -> FakeEnforcer:
    """The limits branch's apply_plan replaced by the fake (the placeholder raises)."""
    fake = FakeEnforcer()
    monkeypatch.setattr(enforce, "apply_plan", fake)
    return fake
