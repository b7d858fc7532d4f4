"""The money bc/transfer/ moved, as the balances and the transaction records read it.

The emulator keeps no ledger for the fixture's money (payments.py derives it); the transfers made
through the API are the one thing stored (``World.bc_transfers``, bc_transfers.py makes them).
Each transfer takes effect on the account's balance at the billing step it falls in (balances.py
bills spend in ``balance_refresh_seconds`` steps from the emulator's start): the spend billed
before that instant is billed against the balance before the transfer, the spend after against
the balance after it. Spend billed while the balance is at zero stays unbilled (balances.py),
so a later recharge does not pay it retroactively. The same walk gives

* ``balance_now`` — the balance of advertiser/info and both balance lists (balances.py hook), and
* ``bill`` — each UTC day's cost record of advertiser/transaction/get (payments.py hook),

so funding + Σ transfers − Σ cost is the balance, to the cent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.tiktok.account_profile import spent_between
from sandbox.tiktok.model import Advertiser, World

if TYPE_CHECKING:
    from sandbox.tiktok.core import Emulator


def signed(move: dict[str, Any]) -> Decimal:
    """What a transfer adds to the account: +cash for RECHARGE, −cash for REFUND."""
    cash: Decimal = move["cash_amount"]
    return cash if move["transfer_type"] == "RECHARGE" else -cash


def moves_of(world: World, advertiser_id: str, until: float) -> list[dict[str, Any]]:
    """The account's transfers made at or before ``until``, oldest first."""
    return [m for m in world.bc_transfers
            if m["advertiser_id"] == advertiser_id and m["at"] <= until]


def billing_point(emu: Emulator, ts: float) -> float:
    """The billing instant a transfer at ``ts`` takes effect at (the last step ≤ ts)."""
    since, step = emu.started_at, emu.config.balance_refresh_seconds
    if ts <= since:
        return since
    return ts if step <= 0 else since + (ts - since) // step * step


def bill(emu: Emulator, adv: Advertiser, lo: float, hi: float, allowance: Decimal,
         moves: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
    """Spend billed in [lo, hi) against ``allowance`` (what the balance can still pay), with
    the transfers whose billing point lies in [lo, hi) applied there: (billed, allowance left)."""
    billed, cursor = Decimal(0), lo
    for move in moves:
        point = billing_point(emu, move["at"])
        if not lo <= point < hi:
            continue
        part = min(allowance, spent_between(emu, adv, cursor, point))
        billed, allowance, cursor = billed + part, allowance - part + signed(move), point
    part = min(allowance, spent_between(emu, adv, cursor, hi))
    return billed + part, allowance - part


def balance_now(emu: Emulator, adv: Advertiser, billed_to: float) -> Decimal:
    """The account's balance with its transfers, spend billed up to ``billed_to``."""
    moves = moves_of(emu.world, adv.advertiser_id, emu.clock.timestamp())
    _, allowance = bill(emu, adv, emu.started_at, billed_to, adv.balance, moves)
    # transfers after the last billing instant count at once (no spend is billed after them yet)
    allowance += sum((signed(m) for m in moves if billing_point(emu, m["at"]) >= billed_to),
                     Decimal(0))
    return max(Decimal(0), allowance)


def made_by_api(emu: Emulator, adv: Advertiser) -> bool:
    """An account bc/advertiser/create made (after the start): it was never funded before."""
    return adv.create_time >= emu.started_at
