"""Business Center administration: ``POST bc/image/upload/`` (a business certificate) and
``POST bc/advertiser/create/`` (a new ad account in the BC) — official SDK BCApi.bc_image_upload
and BCApi.bc_advertiser_create (AdvertiserCreateBody and its OpenApiv13bcadvertisercreate*
models).

bc/image/upload/ (TikTok's doc "Upload a business certificate", id 1739938996913218, mirrored in
public repositories, and yml_files/bc_image_upload.yml of tiktok/tiktok-business-api-sdk [C]):
multipart ``bc_id`` + ``image_file`` (JPG / JPEG / PNG, at most 10 MB); "You need to be an Admin
user of the Business Center". ``data``: ``image_id`` and ``image_url`` (a preview link "invalid
after the first view"; here it carries an expiry an hour ahead [U]). The image id's form is the
emulator's [U]. The id is good for ``license_image_id`` / ``qualification_image_ids`` of
bc/advertiser/create/ in the same BC, and for advertiser/update's ``license_image_id`` /
``qualification_images`` of the BC's ad accounts (account_profile.py) [L]. Refusals: an empty
file 40906, over 10 MB 40907, not a JPG/PNG 40908 (the codes of file/image/ad/upload/) [U].

bc/advertiser/create/ (the Go SDK bububa/tiktok-business model/bc/advertiser_create.go, comments
translated from TikTok's docs [L]; TikTok's doc as quoted publicly: "create an auction ad account
in the Agency or Direct Business Center. You need to be an Admin user of the Business Center"):

* ``bc_id`` of a BC of type AGENCY, SELF_SERVICE_AGENCY or DIRECT (others 40002 [L]) whose admin
  the token's user is (a member who is not: 40001 [U]; not a member: 40001 as everywhere).
* ``advertiser_info``: ``name`` (≤100 characters), ``currency`` ("must be the same as the
  Business Center's"), ``timezone`` (a time zone name of TikTok's appendix, IANA names here),
  ``type`` AUCTION (default) — RESERVATION is refused, as a DIRECT BC may not make it and the
  docs promise auction accounts [U].
* ``customer_info`` (the SDK's name; the Go SDK sends ``customer``, also read): ``company``
  (≤255), ``industry`` (an industry id), ``registered_area`` (a region code).
* ``qualification_info``: required for AGENCY / SELF_SERVICE_AGENCY BCs (``promotion_link``,
  ≤255, required then), refused for DIRECT ones ("do not fill in, or an error is reported");
  ``license_no`` required for an account registered in CN, HK, BR or MX; ``license_image_id``
  for CN or HK; ``qualification_image_ids`` when the account or the BC is registered in FR, BR
  or MX — certificate images of this BC (bc/image/upload/). ``qualification_id`` (reusing
  another account's qualification) finds nothing: this world keeps none [U].
* ``contact_info`` {``name`` ≤100, ``email`` (required for FR / BR / MX), ``number``};
  ``billing_info`` {``address`` ≤512, ``tax_map`` (the SDK's string of JSON) or ``tax_field_dict``
  (the Go SDK's object); ``tax_id`` required for BR / MX} required for FR / BR / MX.
* ``tied_to_billing_group`` / ``billing_group_info`` and ``payment_info`` are allowlist features:
  refused (40002) [U].

``data``: ``advertiser_id`` (``payment_portfolio_binding_result`` / ``budget_setup_result`` only
answer ``payment_info``, which is refused). The new account has no campaigns and a zero
balance (bc/transfer/ funds it); it is in the BC's ``advertiser_ids`` (bc/advertiser/balance/get,
advertiser/balance/get, bc/asset/get), among its creator's ad accounts (a new consent covers it),
and reachable by the calling token at once unless ``bc_created_account_in_token`` is off
(config.py) [U]. advertiser/info shows what was sent: ``name``, ``company``, ``currency``,
``display_timezone`` (the IANA name) and ``timezone`` (its Etc/GMT code when the offset is whole
hours, else the name [U]), ``country`` (``registered_area``), ``industry``, the contact (masked)
and ``address`` / ``license_no`` / ``license_url`` as advertiser/update's changes read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.tiktok.account_profile import EMAIL
from sandbox.tiktok.api_account import CDN, IMAGE_FORMATS, image_size
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import (
    FILE_BAD_TYPE,
    FILE_EMPTY,
    FILE_TOO_LARGE,
    NO_PERMISSION,
    ApiError,
    param_error,
)
from sandbox.tiktok.fixtures import ADVERTISER_BASE
from sandbox.tiktok.model import Advertiser, BusinessCenter
from sandbox.tiktok.payments import _bc

CERT_MAX_BYTES = 10 * 1024 * 1024
CREATE_BC_TYPES = ("AGENCY", "SELF_SERVICE_AGENCY", "DIRECT")
AGENCY_TYPES = ("AGENCY", "SELF_SERVICE_AGENCY")
LICENSE_AREAS = ("CN", "HK", "BR", "MX")
LICENSE_IMAGE_AREAS = ("CN", "HK")
EXTRA_QUALIFICATION_AREAS = ("FR", "BR", "MX")
TAX_ID_AREAS = ("BR", "MX")


def _admin(ctx: Ctx, bc: BusinessCenter, what: str) -> None:
    """Refuse a member who is not an admin of the BC (40001) [U]."""
    assert ctx.token is not None
    if bc.roles.get(ctx.token.login) != "ADMIN":
        raise ApiError(NO_PERMISSION,
                       f"No permission to {what}: only an admin of business center "
                       f"{bc.bc_id} may.")


def certificates_of(ctx: Ctx, bc_id: str) -> set[str]:
    """The ids of the certificate images uploaded to a BC."""
    return {i for i, c in ctx.world.bc_images.items() if c["bc_id"] == bc_id}


# ---------------------------------------------------------------- bc/image/upload


@route("bc/image/upload/", "POST", body="multipart")
def bc_image_upload(ctx: Ctx) -> Any:
    """Upload a business certificate image to a Business Center (BCApi)."""
    bc = _bc(ctx)
    _admin(ctx, bc, "upload certificates")
    part = ctx.form.get("image_file") if ctx.form is not None else None
    if part is None or not hasattr(part, "file"):
        raise param_error("image_file is required.")
    data = part.file.read()
    name = part.filename or "image"
    if not data:
        raise ApiError(FILE_EMPTY, "The uploaded file is empty.")
    if len(data) > CERT_MAX_BYTES:
        raise ApiError(FILE_TOO_LARGE, "The file exceeds 10 MB.")
    sniff = image_size(data)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if sniff is None or (ext and ext not in IMAGE_FORMATS):
        raise ApiError(FILE_BAD_TYPE, "Supported image formats: JPG, JPEG, PNG.")
    fmt, width, height = sniff
    digest = hashlib.md5(data).hexdigest()
    image_id = f"tos-alisg-i-bc/{hashlib.md5(f'{bc.bc_id}{digest}{name}'.encode()).hexdigest()}"
    ctx.world.bc_images[image_id] = {
        "bc_id": bc.bc_id, "file_name": name, "size": len(data), "signature": digest,
        "format": fmt, "width": width, "height": height, "create_time": ctx.now,
    }
    return {"image_id": image_id,
            "image_url": f"{CDN}/{image_id}?x-expires={int(ctx.now) + 3600}"}


# ---------------------------------------------------------------- bc/advertiser/create


def _obj(body: dict[str, Any], name: str, required: bool = False) -> dict[str, Any] | None:
    """An object field of the body."""
    value = body.get(name)
    if value is None:
        if required:
            raise param_error(f"{name} is required.")
        return None
    if not isinstance(value, dict):
        raise param_error(f"{name} should be an object.")
    return value


def _text(src: dict[str, Any], name: str, hi: int, required: bool = False) -> str | None:
    """A string field of a sub-object, 1..hi characters."""
    value = src.get(name)
    if value is None or value == "":
        if required:
            raise param_error(f"{name} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise param_error(f"{name} should be a string.")
    value = str(value)
    if len(value) > hi:
        raise param_error(f"{name} is too long. It should be at most {hi} characters.")
    return value


def _etc_code(zone: ZoneInfo, now: float) -> str:
    """advertiser/info ``timezone``: the Etc/GMT code of the zone's offset now (whole hours)."""
    offset = datetime.fromtimestamp(now, UTC).astimezone(zone).utcoffset()
    assert offset is not None
    seconds = int(offset.total_seconds())
    if seconds % 3600:
        return zone.key  # Etc/GMT codes are whole hours only [U]
    hours = -seconds // 3600  # Etc/GMT signs are inverted (POSIX)
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{hours:+d}"


def _tax(billing: dict[str, Any]) -> dict[str, str] | None:
    """The tax numbers: the SDK's ``tax_map`` (a JSON string) or the Go SDK's dict."""
    tax = billing.get("tax_map", billing.get("tax_field_dict"))
    if tax is None:
        return None
    if isinstance(tax, str):
        try:
            tax = json.loads(tax)
        except ValueError:
            raise param_error("billing_info.tax_map should be a JSON object.") from None
    if not isinstance(tax, dict) or not all(isinstance(v, str) for v in tax.values()):
        raise param_error("billing_info.tax_map should be an object of strings.")
    return {str(k): v for k, v in tax.items()}


def _qualification(ctx: Ctx, bc: BusinessCenter, area: str,
                   qual: dict[str, Any] | None) -> dict[str, Any]:
    """The qualification_info rules by BC type and registered area; what to keep."""
    kept: dict[str, Any] = {}
    if bc.type == "DIRECT":
        if qual:
            raise param_error("qualification_info should not be set for a DIRECT Business Center.")
        return kept
    if not qual:
        raise param_error(f"qualification_info is required for a {bc.type} Business Center.")
    if qual.get("qualification_id") not in (None, ""):
        raise param_error(f"qualification_id {qual['qualification_id']} does not exist.")
    kept["promotion_link"] = _text(qual, "promotion_link", 255, required=True)
    license_no = _text(qual, "license_no", 100, required=area in LICENSE_AREAS)
    if license_no is not None:
        kept["license_no"] = license_no
    certs = certificates_of(ctx, bc.bc_id)
    license_image = _text(qual, "license_image_id", 512, required=area in LICENSE_IMAGE_AREAS)
    if license_image is not None:
        if license_image not in certs:
            raise param_error(f"license_image_id {license_image} does not exist.")
        kept["license_image_id"] = license_image
    images = qual.get("qualification_image_ids")
    needs = area in EXTRA_QUALIFICATION_AREAS or bc.registered_area in EXTRA_QUALIFICATION_AREAS
    if images in (None, []):
        if needs:
            raise param_error("qualification_image_ids is required for an ad account or Business "
                              "Center registered in France, Brazil or Mexico.")
    elif not isinstance(images, list) or any(i not in certs for i in images):
        raise param_error("qualification_image_ids should be certificate images of the "
                          "Business Center (bc/image/upload/).")
    else:
        kept["qualification_images"] = [str(i) for i in images]
    return kept


def _contacts(area: str, bc: BusinessCenter, contact: dict[str, Any] | None,
              billing: dict[str, Any] | None) -> dict[str, Any]:
    """contact_info and billing_info; what advertiser/info shows of them."""
    kept: dict[str, Any] = {}
    strict = area in EXTRA_QUALIFICATION_AREAS or bc.registered_area in EXTRA_QUALIFICATION_AREAS
    contact = contact or {}
    for key, field, hi in (("name", "contact_name", 100), ("number", "contact_number", 30)):
        value = _text(contact, key, hi)
        if value is not None:
            kept[field] = value
    email = _text(contact, "email", 255, required=strict)
    if email is not None:
        if not EMAIL.match(email):
            raise param_error("contact_info.email is not a valid email address.")
        kept["contact_email"] = email
    if billing is None:
        if strict:
            raise param_error("billing_info is required for an ad account or Business Center "
                              "registered in France, Brazil or Mexico.")
        return kept
    address = _text(billing, "address", 512, required=strict)
    if address is not None:
        kept["address"] = address
    tax = _tax(billing)
    if area in TAX_ID_AREAS and not (tax or {}).get("tax_id"):
        raise param_error("billing_info: tax_id is required for Brazil and Mexico.")
    if tax is not None:
        kept["tax_map"] = tax
    return kept


def _new_id(ctx: Ctx) -> str:
    """A fresh ad account id in the fixture's range."""
    while True:
        adv_id = ctx.world.next_id("advertiser", ADVERTISER_BASE + 900_000_000)
        if adv_id not in ctx.world.advertisers:
            return adv_id


@route("bc/advertiser/create/", "POST")
def bc_advertiser_create(ctx: Ctx) -> Any:
    """Create an auction ad account in an Agency or Direct Business Center (BCApi)."""
    assert ctx.token is not None
    body = dict(ctx.params.src)
    bc = _bc(ctx)
    _admin(ctx, bc, "create ad accounts")
    if bc.type not in CREATE_BC_TYPES:
        raise param_error(f"Ad accounts can only be created in an AGENCY, SELF_SERVICE_AGENCY or "
                          f"DIRECT Business Center; business center {bc.bc_id} is {bc.type}.")
    if body.get("tied_to_billing_group") not in (None, False) or body.get("billing_group_info"):
        raise param_error("tied_to_billing_group: billing groups are an allowlist feature not "
                          "enabled for this Business Center.")
    if body.get("payment_info"):
        raise param_error("payment_info: multiple Payment Portfolios are an allowlist feature "
                          "not enabled for this Business Center.")
    info = _obj(body, "advertiser_info", required=True)
    assert info is not None
    customer = _obj(body, "customer_info") or _obj(body, "customer")
    if customer is None:
        raise param_error("customer_info is required.")
    name = _text(info, "name", 100, required=True)
    currency = _text(info, "currency", 3, required=True)
    if currency != bc.currency:
        raise param_error(f"advertiser_info.currency should be the currency of the Business "
                          f"Center ({bc.currency}).")
    tz_name = _text(info, "timezone", 64, required=True)
    try:
        zone = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise param_error(f"advertiser_info.timezone {tz_name} is not a valid time zone.") from None
    kind = info.get("type") or "AUCTION"
    if kind != "AUCTION":
        raise param_error("advertiser_info.type: only AUCTION ad accounts can be created.")
    company = _text(customer, "company", 255, required=True)
    industry = _text(customer, "industry", 20, required=True)
    if not str(industry).isdigit():
        raise param_error("customer_info.industry should be an industry id.")
    area = str(_text(customer, "registered_area", 2, required=True))
    if not (len(area) == 2 and area.isalpha() and area.isupper()):
        raise param_error("customer_info.registered_area should be a region code such as US.")
    profile = _qualification(ctx, bc, area, _obj(body, "qualification_info"))
    profile.update(_contacts(area, bc, _obj(body, "contact_info"), _obj(body, "billing_info")))

    user = ctx.world.users[ctx.token.login]
    adv = Advertiser(
        advertiser_id=_new_id(ctx),
        name=str(name),
        company=str(company),
        currency=bc.currency,
        display_timezone=zone.key,
        timezone=_etc_code(zone, ctx.now),
        country=area,
        owner_login=user.login,
        create_time=ctx.now,
        balance=Decimal(0),  # funded by bc/transfer/
        owner_bc_id=bc.bc_id,
        industry=str(industry),
    )
    w = ctx.world
    w.advertisers[adv.advertiser_id] = adv
    bc.advertiser_ids.append(adv.advertiser_id)
    user.advertiser_ids.append(adv.advertiser_id)
    if profile:
        w.account_profiles[adv.advertiser_id] = profile
    if ctx.emu.config.bc_created_account_in_token:
        ctx.token.advertiser_ids.append(adv.advertiser_id)
        w.save_tokens()
    w.version += 1
    return {"advertiser_id": adv.advertiser_id}
