"""What ``POST advertiser/update/`` changes on an ad account, and how it reads back.

Two forms (one of ``advertiser_id`` / ``bc_id``, Go SDK model/bc/advertiser_update.go, comments
translated from TikTok's docs [L]):

* ``advertiser_id`` (the official SDK's AdvertiserUpdateBody): the account's settings.
  ``advertiser_name`` renames the account (advertiser/info ``name``, oauth2/advertiser/get,
  the balance lists); ``contact_name`` / ``contact_email`` / ``contact_number`` come back masked
  in advertiser/info ``contacter`` / ``email`` / ``telephone_number`` and ``cellphone_number``
  and in the balance lists' ``contact_name`` / ``contact_email``; ``address`` and ``license_no``
  come back as sent; ``license_image_id`` (an image of the account or a certificate of its
  BC, bc/image/upload/) comes back as ``license_url``. ``promotion_link`` (≤255 characters),
  ``qualification_images``, ``tax_map`` and ``need_submit_certificate`` are kept but
  advertiser/info has no field for them.
  ``company`` is refused: advertiser/info answers ``company_name_editable`` false for every
  account, and the docs say such a company name is changed only by a TikTok representative.
  ``license_no`` is supported only for accounts registered in the Chinese mainland, Hong Kong,
  Brazil or Mexico (docs), refused elsewhere. ``data`` is ``{}``.
* ``bc_id`` + ``budget_update_type`` + ``advertiser_budgets``: the account budgets a Business
  Center sets for its ad accounts (only a user with the finance role MANAGER, i.e. a BC admin in
  this emulator's bc/get, may): UPDATE (``budget_mode`` default MONTHLY_BUDGET, ``budget``
  required unless UNLIMITED), RESET (a CUSTOM_BUDGET account's spent budget back to 0),
  INCREMENTAL_UPDATE (``budget`` is a signed change), ONE_CLICK_SET (the budget set to the least
  allowed). At most 50 accounts for UPDATE / RESET, 1 for the others. A budget must be at least
  105% of what the account spent in its period (docs). ``data.list``: one
  {``advertiser_id``, ``status`` SUCCESS|FAILED, ``error_msg``, ``one_click_set_amount``} per
  account. advertiser/balance/get (payments.py) reads the budget back, with ``budget_cost`` the
  period's spend as balances.py bills it (so it agrees with the balances and the reports).

Uncertain [U]: the error codes and texts (40002, as the rest of the emulator; 40012 "Nothing to
update." when no setting is given), the masks (the shape of advertiser/info's fixture masks),
the longest ``advertiser_name`` (100), the periods' time zone (the account's own: a month or day
of its reports), how many budget changes a day are allowed (the docs say 10 in
advertiser/balance/get's ``budget_frequency_restriction`` and 20 in advertiser/update: 10 is
used), what ONE_CLICK_SET does to an UNLIMITED account (it becomes MONTHLY_BUDGET), and whether
``need_submit_certificate`` sends the account back to review (it does not here).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sandbox.tiktok.balances import spent_cents
from sandbox.tiktok.core import Ctx, Emulator, route
from sandbox.tiktok.errors import NO_PERMISSION, NOTHING_TO_UPDATE, ApiError, param_error
from sandbox.tiktok.model import Advertiser, World, json_number

CENT = Decimal("0.01")
BUDGET_MODES = ("UNLIMITED", "MONTHLY_BUDGET", "DAILY_BUDGET", "CUSTOM_BUDGET")
UPDATE_TYPES = ("UPDATE", "RESET", "INCREMENTAL_UPDATE", "ONE_CLICK_SET")
CHANGES_PER_DAY = 10  # [U] 10 (balance/get docs) vs 20 (update docs)
MIN_BUDGET_RATIO = Decimal("1.05")  # "budget should be no less than 105% of the spend" (docs)
LICENSE_COUNTRIES = {"CN", "HK", "BR", "MX"}
NAME_MAX = 100  # [U]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CDN = "https://p16-sign-sg.tiktokcdn.com"


@dataclass
class Budget:
    """An ad account's budget set by its Business Center (UNLIMITED unless changed)."""

    mode: str = "UNLIMITED"
    amount: Decimal = Decimal(0)
    since: float = 0.0  # CUSTOM_BUDGET: spend is counted from here (set or reset)
    changes: list[float] = field(default_factory=list)

    def changes_on(self, day: date) -> int:
        """How many budget changes were made on a UTC day."""
        return sum(1 for ts in self.changes if datetime.fromtimestamp(ts, UTC).date() == day)


def profile_of(world: World, adv_id: str) -> dict[str, Any]:
    """The settings advertiser/update stored for an account (empty until then)."""
    return world.account_profiles.get(adv_id, {})


def budget_of(world: World, adv_id: str) -> Budget:
    """An account's budget (a fresh UNLIMITED one when never set)."""
    budget: Budget | None = world.account_budgets.get(adv_id)
    return budget or Budget()


# ---------------------------------------------------------------- masks and read-back


def mask_name(value: str) -> str:
    """ "Jane" -> "J***" (advertiser/info's masked contact) [U]."""
    return value[:1] + "***" if value else ""


def mask_email(value: str) -> str:
    """ "info@example.com" -> "i***@***********" (first letter kept, the rest starred) [U]."""
    local, _, domain = value.partition("@")
    return local[:1] + "*" * max(len(local) - 1, 0) + "@" + "*" * len(domain)


def mask_phone(value: str) -> str:
    """ "+15550123489" -> "+1*******89" [U]."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def info_overlay(world: World, adv: Advertiser) -> dict[str, Any]:
    """advertiser/info fields that advertiser/update changed (the fixture's otherwise)."""
    prof = profile_of(world, adv.advertiser_id)
    out: dict[str, Any] = {}
    if "contact_name" in prof:
        out["contacter"] = mask_name(prof["contact_name"])
    if "contact_email" in prof:
        out["email"] = mask_email(prof["contact_email"])
    if "contact_number" in prof:
        out["telephone_number"] = out["cellphone_number"] = mask_phone(prof["contact_number"])
    for key in ("address", "license_no"):
        if key in prof:
            out[key] = prof[key]
    if "license_image_id" in prof:
        out["license_url"] = f"{CDN}/{prof['license_image_id']}"
    return out


def balance_overlay(world: World, adv: Advertiser) -> dict[str, Any]:
    """The balance lists' contact fields as advertiser/update left them."""
    prof = profile_of(world, adv.advertiser_id)
    out: dict[str, Any] = {}
    if "contact_name" in prof:
        out["contact_name"] = mask_name(prof["contact_name"])
    if "contact_email" in prof:
        out["contact_email"] = mask_email(prof["contact_email"])
    return out


# ---------------------------------------------------------------- budgets and their spend


def billed_to(emu: Emulator) -> float:
    """The instant up to which spend is billed (balances.py's steps from the start)."""
    since, now = emu.started_at, emu.clock.timestamp()
    step = emu.config.balance_refresh_seconds
    return now if step <= 0 else max(since, since + (now - since) // step * step)


def spent_between(emu: Emulator, adv: Advertiser, lo: float, hi: float) -> Decimal:
    """What the account's ads spent in [lo, hi), cached (a past window never changes)."""
    if hi <= lo:
        return Decimal(0)
    cache: dict[tuple[str, float, float, int], int] = emu.caches.setdefault("payments", {})
    key = (adv.advertiser_id, lo, hi, emu.clock.epoch)
    cents = cache.get(key)
    if cents is None:
        if len(cache) > 50_000:
            cache.clear()
        cents = cache[key] = spent_cents(emu, adv, lo, hi)
    return Decimal(cents) / 100


def period_start(emu: Emulator, adv: Advertiser, b: Budget) -> float:
    """Where the budget's period began: the account's month, day, or the custom start."""
    now = emu.clock.now().astimezone(adv.tz)
    if b.mode == "MONTHLY_BUDGET":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    if b.mode == "DAILY_BUDGET":
        return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return b.since


def budget_cost(emu: Emulator, adv: Advertiser, b: Budget) -> Decimal:
    """What the account spent in its budget period so far (0 when UNLIMITED)."""
    if b.mode == "UNLIMITED":
        return Decimal(0)
    return spent_between(emu, adv, period_start(emu, adv, b), billed_to(emu))


def budget_row(ctx: Ctx, adv: Advertiser) -> dict[str, Any]:
    """budget_mode, budget, budget_cost and budget_remaining as advertiser/balance/get has them."""
    b = budget_of(ctx.world, adv.advertiser_id)
    cost = budget_cost(ctx.emu, adv, b)
    amount = b.amount if b.mode != "UNLIMITED" else Decimal(0)
    return {
        "budget_mode": b.mode,
        "budget": json_number(amount.quantize(CENT)),
        "budget_cost": json_number(cost.quantize(CENT)),
        "budget_remaining": json_number(max(Decimal(0), amount - cost).quantize(CENT)),
    }


# ---------------------------------------------------------------- advertiser/update


def _text(body: dict[str, Any], name: str, lo: int, hi: int) -> str | None:
    """An optional string field of the body with length bounds."""
    if name not in body or body[name] is None:
        return None
    value = body[name]
    if not isinstance(value, str):
        raise param_error(f"{name} should be a string.")
    if not lo <= len(value) <= hi:
        raise param_error(f"{name} should be {lo}-{hi} characters long.")
    return value


def _settings(ctx: Ctx, adv: Advertiser) -> dict[str, Any]:
    """Validate the advertiser_id form; the changes to store."""
    body = dict(ctx.params.src)
    changes: dict[str, Any] = {}
    if body.get("company") is not None:
        raise param_error(
            "company: the company name of this ad account cannot be updated through the API "
            "(company_name_editable is false); contact your TikTok representative."
        )
    name = ctx.params.name("advertiser_name", required=False, max_len=NAME_MAX)
    if name is not None:
        changes["advertiser_name"] = name
    for key, hi in (("contact_name", 100), ("contact_number", 30), ("address", 1024),
                    ("promotion_link", 255), ("license_no", 100)):
        value = _text(body, key, 1, hi)
        if value is not None:
            changes[key] = value
    email = _text(body, "contact_email", 3, 255)
    if email is not None:
        if not EMAIL.match(email):
            raise param_error("contact_email is not a valid email address.")
        changes["contact_email"] = email
    if "license_no" in changes and adv.country not in LICENSE_COUNTRIES:
        raise param_error(
            "license_no is supported only for ad accounts registered in the Chinese mainland, "
            "Hong Kong, Brazil or Mexico."
        )
    images = {i.image_id for i in ctx.world.images.values()
              if i.advertiser_id == adv.advertiser_id}
    # and the certificates uploaded to the account's Business Center (bc/image/upload/)
    images |= {i for i, c in ctx.world.bc_images.items() if c["bc_id"] == adv.owner_bc_id}
    license_image = _text(body, "license_image_id", 1, 512)
    if license_image is not None:
        if license_image not in images:
            raise param_error(f"license_image_id {license_image} does not exist.")
        changes["license_image_id"] = license_image
    quals = body.get("qualification_images")
    if quals is not None:
        items = quals if isinstance(quals, list) else [quals]
        ids = [q.get("image_id") if isinstance(q, dict) else None for q in items]
        if any(not isinstance(i, str) or i not in images for i in ids):
            raise param_error("qualification_images should be images of the ad account.")
        changes["qualification_images"] = ids
    tax = body.get("tax_map")
    if tax is not None:
        if isinstance(tax, str):  # the official SDK types it a string
            try:
                tax = json.loads(tax)
            except ValueError:
                raise param_error("tax_map should be a JSON object.") from None
        if not isinstance(tax, dict) or not all(isinstance(v, str) for v in tax.values()):
            raise param_error("tax_map should be an object of strings.")
        changes["tax_map"] = tax
    submit = body.get("need_submit_certificate")
    if submit is not None and not isinstance(submit, bool):
        raise param_error("need_submit_certificate should be a boolean.")
    return changes


def _budget_item(
    ctx: Ctx, bc_ids: list[str], kind: str, item: Any
) -> dict[str, Any]:
    """Apply one advertiser_budgets entry; its list row (SUCCESS or FAILED)."""
    if not isinstance(item, dict) or not item.get("advertiser_id"):
        raise param_error("advertiser_budgets[].advertiser_id is required.")
    adv_id = str(item["advertiser_id"])
    row: dict[str, Any] = {"advertiser_id": adv_id, "status": "FAILED", "error_msg": None,
                           "one_click_set_amount": None}
    adv = ctx.world.advertisers.get(adv_id)
    if adv is None or adv_id not in bc_ids:
        row["error_msg"] = f"The ad account {adv_id} does not belong to the Business Center."
        return row
    store = ctx.world.account_budgets
    old = budget_of(ctx.world, adv_id)
    today = ctx.emu.clock.now().date()
    if old.changes_on(today) >= CHANGES_PER_DAY:
        row["error_msg"] = f"The budget can be changed at most {CHANGES_PER_DAY} times a day."
        return row
    mode = item.get("budget_mode")
    if mode is not None and mode not in BUDGET_MODES:
        raise param_error(
            f"advertiser_budgets[].budget_mode should be one of {list(BUDGET_MODES)}."
        )
    raw = item.get("budget")
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float | str)):
        raise param_error("advertiser_budgets[].budget should be a number.")
    try:
        amount = Decimal(str(raw)) if raw is not None else None
    except ArithmeticError:
        raise param_error("advertiser_budgets[].budget should be a number.") from None
    new = Budget(old.mode, old.amount, old.since, list(old.changes))
    if kind == "RESET":
        if old.mode != "CUSTOM_BUDGET":
            row["error_msg"] = "Only a CUSTOM_BUDGET budget can be reset."
            return row
        new.since = ctx.now
    elif kind == "INCREMENTAL_UPDATE":
        if mode is not None:
            raise param_error("advertiser_budgets[].budget_mode is not supported for "
                              "INCREMENTAL_UPDATE.")
        if amount is None:
            raise param_error("advertiser_budgets[].budget is required.")
        if old.mode == "UNLIMITED":
            row["error_msg"] = "The ad account has no budget to change (UNLIMITED)."
            return row
        new.amount = old.amount + amount
    elif kind == "ONE_CLICK_SET":
        new.mode = mode or (old.mode if old.mode != "UNLIMITED" else "MONTHLY_BUDGET")
        if new.mode == "UNLIMITED":
            raise param_error("advertiser_budgets[].budget_mode cannot be UNLIMITED for "
                              "ONE_CLICK_SET.")
        new.since = old.since if new.mode == old.mode else ctx.now
        cost = budget_cost(ctx.emu, adv, new)
        new.amount = (cost * MIN_BUDGET_RATIO).quantize(CENT, rounding=ROUND_CEILING)
        row["one_click_set_amount"] = json_number(new.amount)
    else:  # UPDATE
        new.mode = mode or "MONTHLY_BUDGET"
        if new.mode == "UNLIMITED":
            new.amount = Decimal(0)
        else:
            if amount is None:
                raise param_error("advertiser_budgets[].budget is required for "
                                  f"budget_mode {new.mode}.")
            new.amount = amount.quantize(CENT)
        if new.mode != old.mode:
            new.since = ctx.now
    if new.mode != "UNLIMITED":
        if new.amount <= 0:
            row["error_msg"] = "The budget should be greater than 0."
            return row
        cost = budget_cost(ctx.emu, adv, new)
        if new.amount < cost * MIN_BUDGET_RATIO:
            least = (cost * MIN_BUDGET_RATIO).quantize(CENT, rounding=ROUND_CEILING)
            row["error_msg"] = (f"The budget should be at least 105% of the spend of the "
                                f"period ({least} {adv.currency}).")
            return row
    new.changes.append(ctx.now)
    store[adv_id] = new
    row["status"] = "SUCCESS"
    return row


def _budgets(ctx: Ctx) -> dict[str, Any]:
    """The bc_id form: budgets of a Business Center's ad accounts."""
    p = ctx.params
    assert ctx.token is not None
    bc_id = p.req("bc_id")
    bc = ctx.world.bcs.get(bc_id)
    user = ctx.world.users.get(ctx.token.login)
    if bc is None or user is None or bc_id not in user.bc_ids:
        raise ApiError(NO_PERMISSION, f"No permission to operate business center {bc_id}.")
    if bc.roles.get(user.login) != "ADMIN":  # finance_role MANAGER in bc/get (api_account.py)
        raise ApiError(
            NO_PERMISSION,
            "Only a member with the finance role MANAGER can update ad account budgets.",
        )
    kind = p.enum("budget_update_type", UPDATE_TYPES, default="UPDATE")
    assert kind is not None
    items = p.raw("advertiser_budgets")
    if not isinstance(items, list) or not items:
        raise param_error("advertiser_budgets is required.")
    most = 50 if kind in ("UPDATE", "RESET") else 1
    if len(items) > most:
        raise param_error(f"advertiser_budgets can contain at most {most} items.")
    return {"list": [_budget_item(ctx, bc.advertiser_ids, kind, it) for it in items]}


@route("advertiser/update/", "POST")
def advertiser_update(ctx: Ctx) -> Any:
    """Update an ad account's settings, or a Business Center's account budgets."""
    p = ctx.params
    if p.has("bc_id"):
        if p.has("advertiser_id"):
            raise param_error("Pass either advertiser_id or bc_id, not both.")
        return _budgets(ctx)
    if not p.has("advertiser_id"):
        raise param_error("advertiser_id or bc_id is required.")
    adv = ctx.advertiser()
    changes = _settings(ctx, adv)
    if not changes:
        raise ApiError(NOTHING_TO_UPDATE, "Nothing to update.")
    if "advertiser_name" in changes:
        adv.name = changes.pop("advertiser_name")
    ctx.world.account_profiles[adv.advertiser_id] = {
        **profile_of(ctx.world, adv.advertiser_id), **changes}
    return {}
