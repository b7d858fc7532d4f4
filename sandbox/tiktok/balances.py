"""Account balances that go down as delivery spends (spec §3.1 ``balance``, §3.2 BC balances).

The fixture's ``Advertiser.balance`` is the balance when the emulator started; what the
account's ads spent between that instant and the clock's now (delivery.py, in hundredths) is
taken off, never below zero, in hourly billing steps by default (config.py).
advertiser/info and bc/advertiser/balance/get (api_account.py) answer it. Money bc/transfer/
moved counts from the billing step it falls in (transfer_ledger.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sandbox.tiktok.model import Advertiser

if TYPE_CHECKING:
    from sandbox.tiktok.core import Emulator


def spent_cents(emu: Emulator, adv: Advertiser, since: float, now: float) -> int:
    """What the account's ads spent in [since, now), in hundredths (delivery facts)."""
    if now <= since:
        return 0
    w, engine = emu.world, emu.engine
    first = datetime.fromtimestamp(since, adv.tz).date()
    last = datetime.fromtimestamp(now, adv.tz).date()
    total = 0
    for camp_id in w.campaigns_by_adv.get(adv.advertiser_id, []):
        camp = w.campaigns[camp_id]
        day = first
        while day <= last:
            total += sum(f[0] for f in engine.campaign_day(camp, day, now).values())
            day += timedelta(days=1)
        # the part of the first day before the emulator started was paid before
        total -= sum(f[0] for f in engine.campaign_day(camp, first, since).values())
    return total


def current_balance(emu: Emulator, adv: Advertiser) -> Decimal:
    """The balance now: the starting balance minus the spend billed so far (never negative).

    Spend is billed every ``balance_refresh_seconds`` of emulator time counted from the start
    (config.py), so the balance moves in steps and each step is computed once.
    """
    since, now = emu.started_at, emu.clock.timestamp()
    step = emu.config.balance_refresh_seconds
    billed_to = now if step <= 0 else since + (now - since) // step * step
    if any(m["advertiser_id"] == adv.advertiser_id for m in emu.world.bc_transfers):
        # money bc/transfer/ moved (transfer_ledger.py imports this module: imported here)
        from sandbox.tiktok.transfer_ledger import balance_now

        return balance_now(emu, adv, max(billed_to, since))
    if billed_to <= since:
        return adv.balance
    cache: dict[tuple[str, float, int], int] = emu.caches.setdefault("balances", {})
    key = (adv.advertiser_id, billed_to, emu.clock.epoch)
    spent = cache.get(key)
    if spent is None:
        if len(cache) > 10_000:
            cache.clear()
        spent = cache[key] = spent_cents(emu, adv, since, billed_to)
    return max(Decimal(0), adv.balance - Decimal(spent) / 100)
