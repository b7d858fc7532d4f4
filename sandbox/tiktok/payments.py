"""Money of ad accounts and Business Centers: balances, budgets and transaction records.

Endpoints (all GET, all need ``bc_id`` of a Business Center the token's user belongs to, else
40001 as bc/advertiser/balance/get answers; ``page`` ≥1, ``page_size`` 1..50, default 10):

* ``advertiser/balance/get/`` (official SDK BcPaymentApi.advertiser_balance_get): the BC's ad
  accounts with their balances, the rows of bc/advertiser/balance/get (api_account.py) plus the
  account budget (``budget_mode``, ``budget``, ``budget_cost``; advertiser/update's bc_id form
  sets it, sandbox/tiktok/account_profile.py) and, when asked for in ``fields``,
  ``budget_remaining``, ``budget_frequency_restriction``, ``budget_amount_restriction``,
  ``balance_info``, ``min_transferable_amount`` / ``max_transferable_amount`` (those two only
  with ``page_size`` 1) [L]. ``transferable_amount`` only when ``total_number`` is 1 [L].
* ``advertiser/transaction/get/`` (BcPaymentApi.advertiser_transaction_get): ``data.
  transaction_list`` of the BC's ad accounts; refused for a BC whose ``type`` is NORMAL [L].
* ``bc/balance/get/`` (BcPaymentApi.bc_balance_get): the BC's own balance.
* ``bc/transaction/get/`` (BcPaymentApi.bc_transaction_get): the BC's payment records,
  ``data.list`` + ``transaction_summary``.

Where the shapes come from: the request parameters are the official SDK's (api/bc_payment_api.py,
models/filtering_advertiser_balance_get.py, filtering_advertiser_transaction_get.py,
filtering_bc_transaction_get.py); the response fields are those of the Go SDK whose comments are
translated from TikTok's docs (bububa/tiktok-business model/bc/advertiser_balance_get.go,
balance_get.go, transaction_get.go, model/advertiser/transaction_get.go, model/bc/transfer.go
TransferAmountInfo) [L], cross-checked with a public client reading ``budget_mode``,
``budget_cost``, ``budget_remaining``, ``account_balance`` and ``budget_frequency_restriction``
from advertiser/balance/get with ``fields`` [L]. Uncertain [U]: the error codes and texts of the
refusals (40002 like the rest of the emulator), the order of records (newest first), the
``timezone`` of a record (the account's / BC's IANA name), bc/transaction/get's ``date`` as Unix
seconds (the Go SDK types it int64), what ``summary_by_account`` rows carry (one row per account
with the summed ``amount`` and ``date`` null), ``budget_amount_restriction.minimum_amount`` (0),
whether the BC balance or the transaction endpoints need the finance role (they need BC
membership only, as bc/advertiser/balance/get), ``min_transferable_amount`` (0.01 cash),
``max_transferable_amount`` (the whole cash balance: nothing is frozen here). The Go SDK's
``filtering.payment_portfolio_id`` (an allowlist feature) is accepted and finds nothing: the
world has no Payment Portfolio. A budget does not stop delivery when spent (neither does a zero
balance: config.py "Fixed choices"), so ``budget_cost`` may pass ``budget``.

The story the records tell (the emulator keeps no ledger; it is derived, so every emulator of the
same world answers the same):

* An ad account was funded once, an hour before its first campaign was created (or before the
  emulator started, when it has none): with the balance it had at the emulator's start plus what
  its ads spent before that start. An account in its Business Center's currency got the money as
  a ``TRANS_TYPE_TRANSFER`` (cash) from the BC; any other account paid it itself
  (``TRANS_TYPE_PAYMENT``, cash) [U] (a BC transfer between currencies is not documented).
* Every UTC day with spend has one ``TRANS_TYPE_COST`` record (``funds_type`` null, as the docs
  say for cost and tax) of what the ads spent that day, billed as balances.py bills it (today's
  record grows with the hourly billing steps; after the balance reaches zero nothing more is
  billed, as the balance stays at zero). No tax (``tax`` is 0 in the balances).
  So, for each account: funding − Σ cost = the balance of advertiser/info and both balance lists.
* The Business Center was paid an opening amount (1000 USD worth in its currency) a day before its
  first funding, and, an hour before each transfer to one of its accounts, the amount of that
  transfer (its bc/transaction/get records, each with an invoice). Its balance (bc/balance/get)
  is therefore Σ payments − Σ transfers out = the opening amount.
* What bc/transfer/ moved (bc_transfers.py, stored in ``World.bc_transfers``; transfer_ledger.py)
  adds TRANS_TYPE_TRANSFER records (a REFUND's amount negative [U]) to the account and to the
  BC's transfers out: the account's balance and cost records and the BC's balance follow, so
  both sums above still hold. An account bc/advertiser/create made has no funding record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.tiktok.account_profile import billed_to, budget_of, budget_row, spent_between
from sandbox.tiktok.api_account import _balance_row, page_args, paginate
from sandbox.tiktok.balances import current_balance
from sandbox.tiktok.core import Ctx, Emulator, route
from sandbox.tiktok.errors import NO_PERMISSION, ApiError, param_error
from sandbox.tiktok.fixtures import round_budget
from sandbox.tiktok.model import CURRENCY_RATE, Advertiser, BusinessCenter, fmt_time, json_number
from sandbox.tiktok.transfer_ledger import bill, made_by_api, moves_of, signed

HOUR = 3600
DAY = 86_400
CENT = Decimal("0.01")
ACCOUNT_STATUSES = (
    "SHOW_ACCOUNT_STATUS_NOT_APPROVED",
    "SHOW_ACCOUNT_STATUS_APPROVED",
    "SHOW_ACCOUNT_STATUS_IN_REVIEW",
    "SHOW_ACCOUNT_STATUS_PUNISHED",
)
EXTRA_FIELDS = (
    "budget_remaining",
    "budget_frequency_restriction",
    "budget_amount_restriction",
    "min_transferable_amount",
    "max_transferable_amount",
    "balance_info",
)
TRANSFER_TYPES = ("TRANS_TYPE_TRANSFER", "TRANS_TYPE_TAX", "TRANS_TYPE_COST", "TRANS_TYPE_PAYMENT")
FUNDS_TYPES = ("FUNDS_TYPE_CASH", "FUNDS_TYPE_GRANT")
DEFAULT_DAYS = 90  # both transaction endpoints: "the default value is the date 90 days earlier"
MAX_SPAN_DAYS = 365  # advertiser/transaction/get: "the largest time gap allowed is one year"
BC_OPENING_USD = Decimal(1000)


@dataclass(frozen=True, slots=True)
class Record:
    """One money movement: who, when (Unix seconds), what kind, how much."""

    advertiser_id: str  # "" for a record of the Business Center itself
    at: float
    kind: str  # a TRANS_TYPE_* or "BC_PAYMENT"
    amount: Decimal
    currency: str
    funds_type: str | None


def money(value: Decimal) -> int | float:
    """An amount as TikTok sends money here: a JSON number kept to two decimals [L]."""
    return json_number(value.quantize(CENT))


def _bc(ctx: Ctx) -> BusinessCenter:
    """The request's Business Center; one the token's user is not in is refused (40001)."""
    assert ctx.token is not None
    bc_id = ctx.params.req("bc_id")
    bc = ctx.world.bcs.get(bc_id)
    user = ctx.world.users.get(ctx.token.login)
    if bc is None or user is None or bc_id not in user.bc_ids:
        raise ApiError(NO_PERMISSION, f"No permission to operate business center {bc_id}.")
    return bc


def _accounts(ctx: Ctx, bc: BusinessCenter) -> list[Advertiser]:
    """The BC's ad accounts, in the order the BC lists them."""
    return [ctx.world.advertisers[a] for a in bc.advertiser_ids if a in ctx.world.advertisers]


# ---------------------------------------------------------------- the derived ledger


def funded_at(emu: Emulator, adv: Advertiser) -> float:
    """When the account was funded: an hour before its first campaign (or the start)."""
    w = emu.world
    first = min(
        (w.campaigns[c].create_time for c in w.campaigns_by_adv.get(adv.advertiser_id, [])),
        default=emu.started_at,
    )
    first = min(first, emu.started_at)
    return first // HOUR * HOUR - HOUR


def funding(emu: Emulator, adv: Advertiser, bc: BusinessCenter | None) -> Record:
    """The account's one funding: its balance at the start plus what it spent before."""
    fund_at = funded_at(emu, adv)
    before = spent_between(emu, adv, fund_at + HOUR, emu.started_at)
    via_bc = bc is not None and bc.currency == adv.currency
    return Record(
        adv.advertiser_id,
        fund_at,
        "TRANS_TYPE_TRANSFER" if via_bc else "TRANS_TYPE_PAYMENT",
        adv.balance + before,
        adv.currency,
        "FUNDS_TYPE_CASH",
    )


def account_records(emu: Emulator, adv: Advertiser, bc: BusinessCenter | None) -> list[Record]:
    """The account's funding and its daily cost records up to the billed instant."""
    start, end = emu.started_at, billed_to(emu)
    # an account bc/advertiser/create made has no funding: only what bc/transfer/ moved
    out = [] if made_by_api(emu, adv) else [funding(emu, adv, bc)]
    origin = out[0].at + HOUR if out else adv.create_time
    moves = moves_of(emu.world, adv.advertiser_id, emu.clock.timestamp())
    allowance = adv.balance  # what the balance can still pay after the start (balances.py)
    day = datetime.fromtimestamp(origin, UTC).date()
    last = datetime.fromtimestamp(end, UTC).date()
    while day <= last:
        lo = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        hi = lo + DAY
        cost = spent_between(emu, adv, max(lo, origin), min(hi, start))
        after, allowance = bill(emu, adv, max(lo, start), min(hi, end), allowance, moves)
        if cost + after > 0:
            out.append(
                Record(adv.advertiser_id, lo, "TRANS_TYPE_COST", cost + after, adv.currency, None)
            )
        day += timedelta(days=1)
    # bc/transfer/: a RECHARGE is a positive TRANSFER record, a REFUND a negative one [U]
    out += [Record(adv.advertiser_id, m["at"], "TRANS_TYPE_TRANSFER", signed(m), adv.currency,
                   "FUNDS_TYPE_CASH") for m in moves]
    return out


def bc_opening(bc: BusinessCenter) -> Decimal:
    """The BC's opening payment (and so its balance): 1000 USD worth in its currency."""
    return round_budget(BC_OPENING_USD, CURRENCY_RATE.get(bc.currency, Decimal(1)))


def bc_records(ctx: Ctx, bc: BusinessCenter) -> tuple[list[Record], list[Record]]:
    """The BC's payment records and its transfers out to its accounts."""
    funded = [funding(ctx.emu, a, bc) for a in _accounts(ctx, bc)
              if a.owner_bc_id == bc.bc_id and not made_by_api(ctx.emu, a)]
    transfers = [r for r in funded if r.kind == "TRANS_TYPE_TRANSFER"]
    # what bc/transfer/ moved out (RECHARGE) and back (REFUND, negative) [U]
    moved = [Record(m["advertiser_id"], m["at"], "TRANS_TYPE_TRANSFER", signed(m), bc.currency,
                    "FUNDS_TYPE_CASH")
             for m in ctx.world.bc_transfers if m["bc_id"] == bc.bc_id and m["at"] <= ctx.now]
    first = min((funded_at(ctx.emu, a) for a in _accounts(ctx, bc)), default=ctx.emu.started_at)
    payments = [Record("", first - DAY, "BC_PAYMENT", bc_opening(bc), bc.currency,
                       "FUNDS_TYPE_CASH")]
    payments += [
        Record("", t.at - HOUR, "BC_PAYMENT", t.amount, bc.currency, "FUNDS_TYPE_CASH")
        for t in transfers
    ]
    return payments, transfers + moved


def bc_balance(ctx: Ctx, bc: BusinessCenter) -> Decimal:
    """Σ payments − Σ transfers out (the opening payment, by construction)."""
    payments, transfers = bc_records(ctx, bc)
    return sum((p.amount for p in payments), Decimal(0)) - sum(
        (t.amount for t in transfers), Decimal(0)
    )


# ---------------------------------------------------------------- request helpers


def _date(raw: Any, name: str) -> date:
    """A "YYYY-MM-DD" date parameter."""
    if not isinstance(raw, str):
        raise param_error(f"{name} should be a string in the format YYYY-MM-DD.")
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise param_error(f"{name} should be in the format YYYY-MM-DD.") from None


def _window(ctx: Ctx, start_raw: Any, end_raw: Any, max_days: int | None) -> tuple[float, float]:
    """[start, end] UTC dates (defaults: 90 days ago .. today) as [lo, hi) Unix seconds."""
    today = ctx.emu.clock.now().date()
    start = _date(start_raw, "start_date") if start_raw not in (None, "") else None
    end = _date(end_raw, "end_date") if end_raw not in (None, "") else today
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise param_error("start_date should be earlier than or equal to end_date.")
    if max_days is not None and (end - start).days > max_days:
        raise param_error("The time range between start_date and end_date cannot exceed one year.")
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    return lo, lo + ((end - start).days + 1) * DAY


def _funds_filter(raw: Any) -> list[str]:
    """funds_type as the official SDK sends it (a list) or as the docs' Go SDK does (a string)."""
    if raw is None:
        return list(FUNDS_TYPES)
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or any(v not in FUNDS_TYPES for v in values):
        raise param_error(f"filtering.funds_type should be among {list(FUNDS_TYPES)}.")
    return [str(v) for v in values]


def _keyword_match(adv: Advertiser, keyword: str) -> bool:
    """Keyword search on an ad account's name or id (SDK: "name or ad account ID")."""
    return not keyword or keyword in adv.name.lower() or keyword in adv.advertiser_id


# ---------------------------------------------------------------- advertiser/balance/get


def _restriction(ctx: Ctx, adv: Advertiser) -> dict[str, Any]:
    """Today's (UTC) budget-change allowance: 10 changes a day (Go SDK doc) [L]."""
    used = budget_of(ctx.world, adv.advertiser_id).changes_on(ctx.emu.clock.now().date())
    day = datetime.combine(ctx.emu.clock.now().date(), datetime.min.time(), UTC).timestamp()
    return {
        "total_count": 10,
        "used_count": used,
        "remaining_count": max(0, 10 - used),
        "effective_start_time": fmt_time(day),
        "effective_end_time": fmt_time(day + DAY - 1),
    }


def balance_entry(ctx: Ctx, adv: Advertiser, fields: list[str], one: bool) -> dict[str, Any]:
    """One advertiser_account_list row of advertiser/balance/get."""
    row = _balance_row(ctx.emu, adv)
    budget = budget_row(ctx, adv)
    row.update({k: budget[k] for k in ("budget_mode", "budget", "budget_cost")})
    balance = current_balance(ctx.emu, adv)
    if "budget_remaining" in fields:
        row["budget_remaining"] = budget["budget_remaining"]
    if "budget_frequency_restriction" in fields:
        row["budget_frequency_restriction"] = _restriction(ctx, adv)
    if "budget_amount_restriction" in fields:
        row["budget_amount_restriction"] = {"minimum_amount": 0}
    if "balance_info" in fields:
        b = money(balance)
        row["balance_info"] = {
            "account_balance": b,
            "valid_account_balance": b,
            "frozen_balance": 0,
            "tax": 0,
            "cash_balance": b,
            "frozen_cash_balance": 0,
            "cash_tax": 0,
            "valid_cash_balance": b,
            "grant_balance": 0,
            "valid_grant_balance": 0,
            "frozen_grant_balance": 0,
            "credit_balance": 0,
            "valid_credit_balance": 0,
            "frozen_credit_balance": 0,
        }
    # "Returned only when page_size is set to 1 in the request" (Go SDK doc) [L].
    if one and "min_transferable_amount" in fields:
        row["min_transferable_amount"] = {"cash_amount": 0.01, "grant_amount": 0,
                                          "credit_amount": 0}
    if one and "max_transferable_amount" in fields:
        row["max_transferable_amount"] = {"cash_amount": money(balance), "grant_amount": 0,
                                          "credit_amount": 0}
    return row


@route("advertiser/balance/get/")
def advertiser_balance_get(ctx: Ctx) -> Any:
    """Balances and budgets of a Business Center's ad accounts (BcPaymentApi)."""
    p = ctx.params
    bc = _bc(ctx)
    fields = p.str_list("fields", allowed=EXTRA_FIELDS) or []
    filt = p.obj("filtering")
    keyword = str(filt.get("keyword") or "").lower()
    statuses = filt.get("advertiser_status")
    if statuses is not None:
        statuses = check_list(statuses, "filtering.advertiser_status", ACCOUNT_STATUSES)
    page, size = page_args(p, 50, 10)
    chosen = []
    for adv in _accounts(ctx, bc):
        if not _keyword_match(adv, keyword):
            continue
        if filt.get("payment_portfolio_id"):
            continue  # no Payment Portfolio exists in the emulator's world (allowlist feature)
        status = _balance_row(ctx.emu, adv)["advertiser_status"] if statuses else ""
        if statuses and status not in statuses:
            continue
        chosen.append(adv)
    advs, info = paginate(chosen, page, size)
    rows = [balance_entry(ctx, a, fields, size == 1) for a in advs]
    if info["total_number"] == 1:
        for row in rows:  # "only returned when total_number is 1" (Go SDK doc) [L]
            row["transferable_amount"] = row["valid_cash_balance"]
    return {"advertiser_account_list": rows, "page_info": info}


def check_list(value: Any, name: str, allowed: tuple[str, ...]) -> list[str]:
    """A filter list of enum values."""
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise param_error(f"{name} should be a list of {list(allowed)}.")
    return [str(v) for v in value]


# ---------------------------------------------------------------- advertiser/transaction/get


def _account_row(adv: Advertiser, r: Record) -> dict[str, Any]:
    """One transaction_list entry."""
    return {
        "advertiser_id": adv.advertiser_id,
        "advertiser_name": adv.name,
        "amount": money(r.amount),
        "currency": r.currency,
        "date": fmt_time(r.at),
        # funds_type is null for TRANS_TYPE_TAX and TRANS_TYPE_COST (SDK docs).
        "funds_type": r.funds_type,
        "transfer_type": r.kind,
        "timezone": adv.display_timezone,
    }


@route("advertiser/transaction/get/")
def advertiser_transaction_get(ctx: Ctx) -> Any:
    """Transaction records of a Business Center's ad accounts (BcPaymentApi)."""
    p = ctx.params
    bc = _bc(ctx)
    filt = p.obj("filtering")
    page, size = page_args(p, 50, 10)
    kind = filt.get("transfer_type") or "TRANS_TYPE_TRANSFER"
    if kind not in TRANSFER_TYPES:
        raise param_error(f"filtering.transfer_type should be one of {list(TRANSFER_TYPES)}.")
    funds = _funds_filter(filt.get("funds_type"))
    summary = filt.get("summary_by_account", False)
    if not isinstance(summary, bool):
        raise param_error("filtering.summary_by_account should be a boolean.")
    lo, hi = _window(ctx, filt.get("start_date"), filt.get("end_date"), MAX_SPAN_DAYS)
    # "You can only get the transaction records of ad accounts under a Business Center whose
    # type is not NORMAL" (Go SDK doc of this endpoint) [L]; the code and text are [U].
    if bc.type == "NORMAL":
        raise param_error(
            "bc_id: transaction records of ad accounts are only available for Business Centers "
            "whose type is not NORMAL."
        )
    keyword = str(filt.get("keyword") or "").lower()
    rows: list[dict[str, Any]] = []
    for adv in _accounts(ctx, bc):
        if not _keyword_match(adv, keyword):
            continue
        found = [
            r
            for r in account_records(ctx.emu, adv, ctx.world.bcs.get(adv.owner_bc_id))
            if r.kind == kind and lo <= r.at < hi
            and (r.funds_type is None or r.funds_type in funds)
        ]
        if summary and found:
            total = sum((r.amount for r in found), Decimal(0))
            row = _account_row(adv, found[0])
            row.update({"amount": money(total), "date": None})
            rows.append(row)
        elif not summary:
            rows.extend(_account_row(adv, r) for r in found)
    if not summary:
        rows.sort(key=lambda r: (r["date"], r["advertiser_id"]), reverse=True)
    page_rows, info = paginate(rows, page, size)
    return {"transaction_list": page_rows, "page_info": info}


# ---------------------------------------------------------------- bc/balance/get


@route("bc/balance/get/")
def bc_balance_get(ctx: Ctx) -> Any:
    """A Business Center's own balance (BcPaymentApi)."""
    bc = _bc(ctx)
    b = money(bc_balance(ctx, bc))
    return {
        "bc_id": bc.bc_id,
        "currency": bc.currency,
        "account_balance": b,
        "valid_account_balance": b,
        "frozen_balance": 0,
        "tax": 0,
        "cash_balance": b,
        "valid_cash_balance": b,
        "grant_balance": 0,
        "valid_grant_balance": 0,
    }


# ---------------------------------------------------------------- bc/transaction/get


@route("bc/transaction/get/")
def bc_transaction_get(ctx: Ctx) -> Any:
    """A Business Center's payment records and their sums (BcPaymentApi)."""
    p = ctx.params
    bc = _bc(ctx)
    filt = p.obj("filtering")
    funds = _funds_filter(filt.get("funds_type"))
    lo, hi = _window(ctx, p.raw("start_date"), p.raw("end_date"), None)
    page, size = page_args(p, 50, 10)
    payments, transfers = bc_records(ctx, bc)
    # invoice numbers follow the payments' order, whatever the filter
    numbered = list(enumerate(sorted(payments, key=lambda r: r.at), start=1))
    found = [(i, r) for i, r in reversed(numbered) if lo <= r.at < hi and r.funds_type in funds]
    out = [
        {
            "date": int(r.at),
            "amount": money(r.amount),
            "timezone": bc.timezone,
            "currency": r.currency,
            "funds_type": r.funds_type,
            "invoice_id": str(7_400_000_000_000_000_000 + int(bc.bc_id) % 10**9 * 1000 + i),
            "invoice_serial_number": f"TTB{bc.bc_id[-6:]}{i:06d}",
        }
        for i, r in found
    ]
    rows, info = paginate(out, page, size)
    paid = sum((t.amount for t in transfers if lo <= t.at < hi and "FUNDS_TYPE_CASH" in funds),
               Decimal(0))
    charged = sum((r.amount for _, r in found), Decimal(0))
    return {
        "list": rows,
        "page_info": info,
        "transaction_summary": {
            "amount_charged": money(charged),
            "amount_paid": money(paid),
            "currency": bc.currency,
        },
    }
