"""``POST bc/transfer/``: move money between a Business Center and one of its ad accounts
(official SDK BcPaymentApi.bc_transfer, BcTransferBody).

Request (the SDK's body: ``bc_id``, ``advertiser_id``, ``transfer_type``, ``cash_amount``,
``grant_amount``; TikTok's yml_files/bc_transfer.yml in tiktok/tiktok-business-api-sdk adds
``transfer_level``, ``child_bc_id``, ``request_id`` and types ``transfer_type`` RECHARGE |
REFUND, ``bc_id`` and ``transfer_type`` required [C]; the Go SDK bububa/tiktok-business
model/bc/transfer.go, its comments translated from TikTok's docs, adds ``amount_info`` and
``payment_portfolio_id`` and says what each means [L]):

* ``transfer_level`` ADVERTISER (default) moves cash between the BC and ``advertiser_id``
  (required then): RECHARGE from the BC to the account, REFUND from the account back to the BC.
  ``transfer_level`` BC changes the credit of a BC with Monthly Invoicing; no BC of this world
  has it, so it is refused (40002) [U].
* One of ``amount_info`` {``cash_amount``, ``grant_amount``, ``credit_amount``}, ``cash_amount``
  or ``grant_amount`` (> 0, "rounded to two decimal places": rounded half up here [U]); with
  ``amount_info`` the outer two are ignored (Go SDK doc). Nobody here holds vouchers or credit
  (every ``grant_balance`` is 0 in bc/balance/get and the balance lists), so a grant or credit
  amount always exceeds what can be moved and is refused.
* Limits: RECHARGE at least ``min_transferable_amount.cash_amount`` of advertiser/balance/get
  (0.01) and at most the BC's cash balance (bc/balance/get); REFUND at most the account's
  ``max_transferable_amount.cash_amount`` (its whole cash balance).
* ``child_bc_id`` (a child BC's account) and ``payment_portfolio_id`` name things this world
  does not have (no BC hierarchy, no Payment Portfolio, an allowlist feature): refused (40002).
* Who: a member of the BC (else 40001, as bc/advertiser/balance/get answers) with the finance
  role, i.e. a BC admin here (bc/get ``ext_user_role.finance_role`` MANAGER); a standard member
  is refused with 40001 [U]. The account must be one of the BC's (bc/advertiser/balance/get
  lists it), in the BC's currency: a transfer between currencies is not documented [U] (the
  BC's other accounts paid their money themselves, payments.py).

Response ``data`` (Go SDK TransferResult): ``bc_id``, ``advertiser_id`` (strings, as every v1.3
id [U]; the yml's response_rule names them and ``child_bc_id``) and ``transaction_infos``: one
per funds type moved, {``transaction_id``, ``transaction_type`` CASH, ``payee_account`` and
``remitter_account`` {``account_type`` BC | ADVERTISER, ``account_id``}} [L]; the transaction id
is the emulator's [U].

Where the money shows (transfer_ledger.py): the account's balance in advertiser/info,
bc/advertiser/balance/get and advertiser/balance/get from the billing step the transfer falls
in; a TRANS_TYPE_TRANSFER record (FUNDS_TYPE_CASH, a REFUND negative [U]) in
advertiser/transaction/get; the BC's balance (bc/balance/get) goes down by a RECHARGE and up by
a REFUND, and bc/transaction/get's ``transaction_summary.amount_paid`` counts them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.tiktok.balances import current_balance
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NO_PERMISSION, ApiError, param_error
from sandbox.tiktok.model import BusinessCenter
from sandbox.tiktok.params import decimal_of
from sandbox.tiktok.payments import _bc, bc_balance, money

CENT = Decimal("0.01")
TRANSFER_TYPES = ("RECHARGE", "REFUND")
TRANSFER_LEVELS = ("ADVERTISER", "BC")
TRANSACTION_BASE = 7_420_000_000_000_000_000


def _amount(value: Any, name: str) -> Decimal:
    """A positive amount (a JSON number or numeric string), rounded to cents."""
    if value is None:
        return Decimal(0)
    if not isinstance(value, int | float | str):
        raise param_error(f"{name} should be a number.")
    number = decimal_of(name, value)
    if not number.is_finite() or number <= 0:
        raise param_error(f"{name} should be greater than 0.")
    rounded = number.quantize(CENT, ROUND_HALF_UP)
    if rounded < CENT:
        raise param_error(f"{name} should be at least 0.01.")
    return rounded


def _amounts(body: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    """(cash, grant, credit) from amount_info or the outer cash_amount / grant_amount."""
    info = body.get("amount_info")
    if info is not None:
        if not isinstance(info, dict):
            raise param_error("amount_info should be an object.")
        src, prefix = info, "amount_info."
    else:
        src, prefix = body, ""
    cash = _amount(src.get("cash_amount"), f"{prefix}cash_amount")
    grant = _amount(src.get("grant_amount"), f"{prefix}grant_amount")
    credit = _amount(info.get("credit_amount"), "amount_info.credit_amount") if info else Decimal(0)
    if not (cash or grant or credit):
        raise param_error("Specify one of amount_info, cash_amount or grant_amount.")
    return cash, grant, credit


def _finance_manager(ctx: Ctx, bc: BusinessCenter) -> None:
    """Only a member with the finance role (a BC admin here, bc/get) moves money [U]."""
    assert ctx.token is not None
    if bc.roles.get(ctx.token.login) != "ADMIN":
        raise ApiError(
            NO_PERMISSION,
            f"No permission to process payments of business center {bc.bc_id}: "
            "the finance role is required.",
        )


@route("bc/transfer/", "POST")
def bc_transfer(ctx: Ctx) -> Any:
    """Recharge an ad account from its Business Center, or refund it back (BcPaymentApi)."""
    p = ctx.params
    bc = _bc(ctx)
    kind = p.enum("transfer_type", TRANSFER_TYPES, required=True)
    level = p.enum("transfer_level", TRANSFER_LEVELS, default="ADVERTISER")
    _finance_manager(ctx, bc)
    if level == "BC":
        raise param_error(
            f"transfer_level BC needs a Business Center with Monthly Invoicing; "
            f"business center {bc.bc_id} does not have it."
        )
    if p.has("child_bc_id"):
        raise param_error(f"child_bc_id {p.raw('child_bc_id')} is not a child Business Center "
                          f"of {bc.bc_id}.")
    if p.has("payment_portfolio_id"):
        raise param_error(f"payment_portfolio_id {p.raw('payment_portfolio_id')} does not exist.")
    adv_id = p.str("advertiser_id")
    if not adv_id:
        raise param_error("advertiser_id is required when transfer_level is ADVERTISER.")
    adv = ctx.world.advertisers.get(adv_id)
    if adv is None or adv_id not in bc.advertiser_ids:
        raise param_error(f"advertiser_id {adv_id} is not an ad account of business center "
                          f"{bc.bc_id}.")
    if adv.currency != bc.currency:
        raise param_error(
            f"The currency of ad account {adv_id} ({adv.currency}) differs from the currency of "
            f"business center {bc.bc_id} ({bc.currency})."
        )
    cash, grant, credit = _amounts(dict(p.src))
    if credit:
        raise param_error("amount_info.credit_amount: there is no credit to transfer.")
    if grant:
        holder = "business center" if kind == "RECHARGE" else "ad account"
        raise param_error(f"grant_amount exceeds the voucher balance of the {holder} (0).")
    if kind == "RECHARGE":
        available = bc_balance(ctx, bc)
        if cash > available:
            raise param_error(
                f"cash_amount {cash} exceeds the cash balance of business center {bc.bc_id} "
                f"({money(available)})."
            )
    else:
        available = current_balance(ctx.emu, adv)
        if cash > available:
            raise param_error(
                f"cash_amount {cash} exceeds the transferable amount of ad account {adv_id} "
                f"({money(available)})."
            )
    tid = str(TRANSACTION_BASE + int(bc.bc_id) % 10**9 * 10_000 + len(ctx.world.bc_transfers) + 1)
    ctx.world.bc_transfers.append({
        "bc_id": bc.bc_id,
        "advertiser_id": adv_id,
        "at": ctx.now,
        "transfer_type": kind,
        "cash_amount": cash,
        "grant_amount": Decimal(0),
        "transaction_ids": [tid],
    })
    ctx.world.version += 1
    sides = [{"account_type": "BC", "account_id": bc.bc_id},
             {"account_type": "ADVERTISER", "account_id": adv_id}]
    remitter, payee = sides if kind == "RECHARGE" else sides[::-1]
    return {
        "bc_id": bc.bc_id,
        "advertiser_id": adv_id,
        "transaction_infos": [{
            "transaction_id": tid,
            "transaction_type": "CASH",
            "payee_account": payee,
            "remitter_account": remitter,
        }],
    }
