"""OAuth, ad accounts, Business Centers, identities and creative uploads (spec §2, §3, §5, §6)."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from typing import Any

from sandbox.tiktok.account_profile import balance_overlay, info_overlay
from sandbox.tiktok.balances import current_balance
from sandbox.tiktok.core import Ctx, Emulator, route
from sandbox.tiktok.errors import (
    AUTH_CODE_ERROR,
    DUPLICATED_MATERIAL_NAME,
    FILE_BAD_TYPE,
    FILE_EMPTY,
    FILE_SIGNATURE_MISMATCH,
    FILE_TOO_LARGE,
    FILE_URL_UNAVAILABLE,
    ILLEGAL_IMAGE,
    MSG_TOKEN_INVALID,
    NO_PERMISSION,
    TOKEN_INVALID,
    ApiError,
    param_error,
)
from sandbox.tiktok.model import (
    Advertiser,
    App,
    Identity,
    Image,
    Video,
    fmt_iso,
    fmt_time,
    json_number,
)
from sandbox.tiktok.params import Params, check_str_list

ADVERTISER_FIELDS = [
    "advertiser_id",
    "name",
    "company",
    "status",
    "role",
    "rejection_reason",
    "currency",
    "timezone",
    "display_timezone",
    "country",
    "language",
    "industry",
    "address",
    "contacter",
    "email",
    "telephone_number",
    "cellphone_number",
    "description",
    "license_no",
    "license_url",
    "balance",
    "create_time",
    "owner_bc_id",
    "company_name_editable",
    "can_use_custom_identity",
    "ads_only_mode",
    "promotion_area",
    "promotion_center_province",
    "promotion_center_city",
    "license_city",
    "license_province",
    "brand",
    "advertiser_account_type",
]
IDENTITY_TYPES = ["CUSTOMIZED_USER", "AUTH_CODE", "TT_USER", "BC_AUTH_TT"]
VIDEO_FORMATS = {"mp4", "mov", "mpeg", "avi"}
IMAGE_FORMATS = {"jpg", "jpeg", "png"}
CDN = "https://p16-sign-sg.tiktokcdn.com"


def check_app(ctx: Ctx, p: Params) -> App:
    """The app named by app_id/secret; a wrong pair is a parameter error."""
    app_id = p.req("app_id")
    secret = p.req("secret")
    app = ctx.world.apps.get(app_id)
    if app is None or app.secret != secret:
        raise param_error("app_id or secret is incorrect.")
    return app


@route("oauth2/access_token/", "POST", auth=False)
def access_token(ctx: Ctx) -> Any:
    """Exchange a consent-page auth code for a long-term token (spec §2.3)."""
    p = ctx.params
    app = check_app(ctx, p)
    code_text = p.req("auth_code")
    code = ctx.world.auth_codes.get(code_text)
    if code is None or code.app_id != app.app_id:
        raise ApiError(AUTH_CODE_ERROR, "Auth code is invalid.")
    if code.used:
        raise ApiError(AUTH_CODE_ERROR, "Auth code has been used.")
    if ctx.now - code.created > ctx.emu.config.auth_code_ttl_seconds:
        raise ApiError(AUTH_CODE_ERROR, "Auth code has expired.")
    code.used = True
    user = ctx.world.users[code.login]
    tok = ctx.world.issue_token(
        app.app_id, user.login, user.advertiser_ids, ctx.now, scope=code.scope
    )
    # `scope` lists what the person granted on the consent page (spec §2.3: integers).
    data: dict[str, Any] = {"access_token": tok.token, "scope": tok.scope}
    if p.bool("return_advertiser_ids", True):
        data["advertiser_ids"] = list(tok.advertiser_ids)
    return data


@route("oauth2/advertiser/get/")
def advertiser_get(ctx: Ctx) -> Any:
    """Ad accounts the token can reach (spec §2.5)."""
    app = check_app(ctx, ctx.params)
    assert ctx.token is not None
    if ctx.token.app_id != app.app_id:
        raise ApiError(NO_PERMISSION, "The access token does not belong to this app.")
    w = ctx.world
    return {
        "list": [
            {"advertiser_id": a, "advertiser_name": w.advertisers[a].name}
            for a in ctx.token.advertiser_ids
            if a in w.advertisers
        ]
    }


@route("oauth2/revoke_token/", "POST", auth=False)
def revoke_token(ctx: Ctx) -> Any:
    """Revoke a token (spec §2.6)."""
    app = check_app(ctx, ctx.params)
    tok = ctx.world.tokens.get(ctx.params.req("access_token"))
    if tok is None or tok.revoked or tok.app_id != app.app_id:
        raise ApiError(TOKEN_INVALID, MSG_TOKEN_INVALID)
    ctx.world.revoke(tok)
    return {"app_id": app.app_id, "advertiser_ids": list(tok.advertiser_ids)}


@route("user/info/")
def user_info(ctx: Ctx) -> Any:
    """The login behind the token (spec §2.7)."""
    assert ctx.token is not None
    user = ctx.world.users[ctx.token.login]
    return {
        "core_user_id": user.core_user_id,
        "display_name": user.display_name,
        "email": user.email,
        "avatar_url": "",
        "create_time": 1600000000,
    }


@route("advertiser/info/")
def advertiser_info(ctx: Ctx) -> Any:
    """Ad account details, at most 100 ids (spec §3.1)."""
    p = ctx.params
    ids = p.str_list("advertiser_ids", required=True, max_items=100)
    fields = p.str_list("fields", allowed=ADVERTISER_FIELDS)
    out = []
    for adv_id in ids or []:
        adv = ctx.advertiser(adv_id)
        full: dict[str, Any] = {
            "advertiser_id": adv.advertiser_id,
            "name": adv.name,
            "company": adv.company,
            "status": adv.status,
            "role": adv.role,
            "rejection_reason": "",
            "currency": adv.currency,
            "timezone": adv.timezone,
            "display_timezone": adv.display_timezone,
            "country": adv.country,
            "language": adv.language,
            "industry": adv.industry,
            "address": "",
            "contacter": "J***",
            "email": "i***************@**********",
            "telephone_number": "+1*****89",
            "cellphone_number": "+1*****89",
            "description": "",
            "license_no": "",
            "license_url": "",
            "balance": None,  # filled below: computing it walks the delivery
            "create_time": int(adv.create_time),
            "owner_bc_id": adv.owner_bc_id,
            "can_use_custom_identity": True,
            "ads_only_mode": False,
            "advertiser_account_type": "AUCTION",
            "promotion_area": "0",
            "brand": "",
            "license_city": None,
            "license_province": None,
            "promotion_center_city": None,
            "promotion_center_province": None,
        }
        full.update(info_overlay(ctx.world, adv))  # what advertiser/update changed
        if not fields or "balance" in fields:
            full["balance"] = json_number(current_balance(ctx.emu, adv))
        if fields:
            full = {k: full.get(k) for k in fields}
            if "company_name_editable" in fields:
                full["company_name_editable"] = False
        out.append(full)
    return {"list": out}


def _bc_entry(bc: Any, login: str) -> dict[str, Any]:
    """One bc/get row (spec §3.2, response_rule of bc_get.yml)."""
    return {
        "bc_info": {
            "bc_id": bc.bc_id,
            "name": bc.name,
            "company": bc.company,
            "currency": bc.currency,
            "registered_area": bc.registered_area,
            "status": bc.status,
            "timezone": bc.timezone,
            "type": bc.type,
            "organization_type": "COMPANY",
        },
        "user_role": bc.roles.get(login, "STANDARD"),
        "ext_user_role": {"finance_role": "MANAGER" if bc.roles.get(login) == "ADMIN" else None},
        "binding_status": "BINDED",
    }


def page_args(p: Params, max_size: int, default_size: int) -> tuple[int, int]:
    """page (≥1) and page_size (1..max) with the endpoint's default (spec §1.6)."""
    page = p.int("page", 1, lo=1, hi=10**9)
    size = p.int("page_size", default_size, lo=1, hi=max_size)
    assert page is not None and size is not None
    return page, size


def paginate(items: list[Any], page: int, size: int) -> tuple[list[Any], dict[str, int]]:
    """Slice one page and build page_info; past the end gives an empty list."""
    total = len(items)
    info = {
        "page": page,
        "page_size": size,
        "total_number": total,
        "total_page": (total + size - 1) // size,
    }
    return items[(page - 1) * size : page * size], info


@route("bc/get/")
def bc_get(ctx: Ctx) -> Any:
    """Business Centers of the token's user (spec §3.2)."""
    p = ctx.params
    assert ctx.token is not None
    bc_id = p.str("bc_id")
    p.enum("scene", ["SINGLE_ACCOUNT", "TIERED_ACCOUNT"], default="SINGLE_ACCOUNT")
    filt = p.obj("filtering")
    if "keyword_type" in filt and filt["keyword_type"] not in (
        "ASSET",
        "MEMBER",
        "PARTNER",
        "TIER",
    ):
        raise param_error("filtering.keyword_type is invalid.")
    if "relation_type" in filt and filt["relation_type"] not in ("CHILD", "PARENT"):
        raise param_error("filtering.relation_type is invalid.")
    page, size = page_args(p, 50, 10)
    user = ctx.world.users[ctx.token.login]
    bcs = [ctx.world.bcs[b] for b in user.bc_ids if b in ctx.world.bcs]
    if bc_id:
        bcs = [b for b in bcs if b.bc_id == bc_id]
    keyword = str(filt.get("keyword", "")).lower()
    if keyword:
        bcs = [b for b in bcs if keyword in b.name.lower()]
    rows, info = paginate([_bc_entry(b, user.login) for b in bcs], page, size)
    return {"list": rows, "page_info": info}


def identity_dict(ident: Identity) -> dict[str, Any]:
    """An identity object (spec §6.1)."""
    return {
        "identity_id": ident.identity_id,
        "identity_type": ident.identity_type,
        "display_name": ident.display_name,
        "profile_image": ident.profile_image,
        "user_name": ident.user_name or None,
        "identity_authorized_bc_id": ident.identity_authorized_bc_id or None,
        "available_status": "AVAILABLE",
        "can_pull_video": ident.identity_type != "CUSTOMIZED_USER",
        "can_push_video": ident.identity_type != "CUSTOMIZED_USER",
        "can_use_live_ads": False,
        "can_manage_message": False,
        "is_gpppa": False,
        "ads_only_mode": False,
    }


def _balance_row(emu: Emulator, adv: Advertiser) -> dict[str, Any]:
    """One advertiser_account_list entry."""
    balance = json_number(current_balance(emu, adv))
    opened = datetime.fromtimestamp(adv.create_time, UTC)
    row: dict[str, Any] = {
        "advertiser_id": adv.advertiser_id,
        "advertiser_name": adv.name,
        "advertiser_status": "SHOW_ACCOUNT_STATUS_APPROVED"
        if adv.status == "STATUS_ENABLE"
        else "SHOW_ACCOUNT_STATUS_NOT_APPROVED",
        "advertiser_type": "AUCTION",
        "timezone": adv.display_timezone,
        "currency": adv.currency,
        "account_open_days": (emu.clock.now() - opened).days,
        "balance_reminder": balance == 0,
        "company": adv.company,
        "contact_name": "J***",
        "contact_email": "i***************@**********",
        "create_time": opened.strftime("%Y-%m-%d %H:%M:%S"),
        "account_balance": balance,
        "valid_account_balance": balance,
        "frozen_balance": 0,
        "tax": 0,
        "cash_balance": balance,
        "valid_cash_balance": balance,
        "grant_balance": 0,
        "valid_grant_balance": 0,
    }
    row.update(balance_overlay(emu.world, adv))  # contacts as advertiser/update left them
    return row


@route("bc/advertiser/balance/get/")
def bc_advertiser_balance_get(ctx: Ctx) -> Any:
    """Balances of a Business Center's ad accounts, page_size ≤ 50 (Go SDK bc model)."""
    p = ctx.params
    assert ctx.token is not None
    bc_id = p.req("bc_id")
    bc = ctx.world.bcs.get(bc_id)
    user = ctx.world.users[ctx.token.login]
    if bc is None or bc_id not in user.bc_ids:
        raise ApiError(NO_PERMISSION, f"No permission to operate business center {bc_id}.")
    filt = p.obj("filtering")
    keyword = str(filt.get("keyword", "")).lower()
    statuses = filt.get("advertiser_status")
    if statuses is not None and not isinstance(statuses, list):
        raise param_error("filtering.advertiser_status should be a list.")
    page, size = page_args(p, 50, 10)
    rows = []
    for adv_id in bc.advertiser_ids:
        adv = ctx.world.advertisers.get(adv_id)
        if adv is None:
            continue
        if keyword and keyword not in adv.name.lower() and keyword not in adv.advertiser_id:
            continue
        row = _balance_row(ctx.emu, adv)
        if statuses and row["advertiser_status"] not in statuses:
            continue
        rows.append(row)
    page_rows, info = paginate(rows, page, size)
    return {"advertiser_account_list": page_rows, "page_info": info}


@route("identity/get/")
def identity_get(ctx: Ctx) -> Any:
    """Identities of an account, page_size ≤100 (spec §6.1)."""
    p = ctx.params
    adv = ctx.advertiser()
    itype = p.enum("identity_type", IDENTITY_TYPES)
    bc_id = p.str("identity_authorized_bc_id")
    if itype == "BC_AUTH_TT" and not bc_id:
        raise param_error("identity_authorized_bc_id is required when identity_type is BC_AUTH_TT.")
    keyword = str(p.obj("filtering").get("keyword", "")).lower()
    page, size = page_args(p, 100, 20)
    items = [
        i
        for i in ctx.world.identities.values()
        if i.advertiser_id == adv.advertiser_id
        and (itype is None or i.identity_type == itype)
        and (not bc_id or i.identity_authorized_bc_id == bc_id)
        and (not keyword or keyword in i.display_name.lower())
    ]
    rows, info = paginate([identity_dict(i) for i in items], page, size)
    return {"identity_list": rows, "page_info": info}


@route("identity/create/", "POST")
def identity_create(ctx: Ctx) -> Any:
    """Create a CUSTOMIZED_USER identity (spec §6.2)."""
    p = ctx.params
    adv = ctx.advertiser()
    name = p.name("display_name", required=True, max_len=100)
    image_uri = p.str("image_uri", required=ctx.emu.config.identity_requires_image)
    if image_uri:
        img = ctx.world.images.get(image_uri)
        if img is None or img.advertiser_id != adv.advertiser_id:
            raise param_error(f"image_uri {image_uri} does not exist.")
        if img.width != img.height:
            # Spec §6.2: the avatar must be a 1:1 image.
            raise param_error("image_uri should be an image with a 1:1 aspect ratio.")
    ident = Identity(
        identity_id=ctx.world.next_id("identity", 7_312_500_000_000_000_000),
        advertiser_id=adv.advertiser_id,
        identity_type="CUSTOMIZED_USER",
        display_name=name or "",
        profile_image=image_uri or "",
    )
    ctx.world.identities[ident.identity_id] = ident
    return {"identity_id": ident.identity_id}


def video_dict(v: Video, now: float) -> dict[str, Any]:
    """A video object (spec §5.1)."""
    expire = fmt_time(now + 6 * 3600)
    return {
        "video_id": v.video_id,
        "material_id": v.material_id,
        "file_name": v.file_name,
        "width": v.width,
        "height": v.height,
        "duration": v.duration,
        "bit_rate": int(v.size * 8 / max(v.duration, 1)),
        "size": v.size,
        "format": v.format,
        "signature": v.signature,
        "video_cover_url": f"{CDN}/{v.video_id}~tplv-noop.image?x-expires={int(now) + 21600}",
        "preview_url": f"{CDN}/{v.video_id}/preview.mp4?x-expires={int(now) + 21600}",
        "preview_url_expire_time": expire,
        "displayable": True,
        "allow_download": True,
        "allowed_placements": ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"],
        "create_time": fmt_iso(v.create_time),
        "modify_time": fmt_iso(v.create_time),
    }


def image_dict(i: Image, now: float) -> dict[str, Any]:
    """An image object (spec §5.2)."""
    return {
        "image_id": i.image_id,
        "material_id": i.material_id,
        "width": i.width,
        "height": i.height,
        "format": i.format,
        "image_url": f"https://p16-sign-sg.tiktokcdn.com/{i.image_id}?x-expires={int(now) + 3600}",
        "signature": i.signature,
        "size": i.size,
        "file_name": i.file_name,
        "displayable": True,
        "is_carousel_usable": i.width == i.height,
        "create_time": fmt_iso(i.create_time),
        "modify_time": fmt_iso(i.create_time),
    }


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """Format and dimensions of a PNG or JPEG, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            seg = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", width, height
            i += 2 + seg
        return "jpeg", 0, 0
    return None


def _upload_source(ctx: Ctx, kind: str) -> tuple[Params, bytes | None, str, str]:
    """(params, file bytes or None, upload type, given file name) from multipart or JSON."""
    p = ctx.params
    utype = p.enum(
        "upload_type",
        ["UPLOAD_BY_FILE", "UPLOAD_BY_URL", "UPLOAD_BY_FILE_ID"]
        + (["UPLOAD_BY_VIDEO_ID"] if kind == "video" else []),
        default="UPLOAD_BY_FILE",
    )
    assert utype is not None
    data = None
    part_name = ""
    if utype == "UPLOAD_BY_FILE":
        part = ctx.form.get(f"{kind}_file") if ctx.form is not None else None
        if part is None or not hasattr(part, "file"):
            raise param_error(f"{kind}_file is required when upload_type is UPLOAD_BY_FILE.")
        data = part.file.read()
        part_name = part.filename or ""
    return p, data, utype, part_name


def _material_name(ctx: Ctx, adv_id: str, kind: str, given: str | None, fallback: str) -> str:
    """The file name: unique per account (spec §5.1: duplicate -> 40911)."""
    if given is None:
        # Omitted: a fresh name from the part name and the time, so it never collides [U].
        stem = fallback or kind
        return f"{stem}_{int(ctx.now * 1000)}_{len(ctx.world.material_names)}"
    if (adv_id, kind, given) in ctx.world.material_names:
        raise ApiError(
            DUPLICATED_MATERIAL_NAME,
            f"Duplicated material name: {given}. Please use a different file_name.",
        )
    return given


@route("file/video/ad/upload/", "POST", body="multipart")
def video_upload(ctx: Ctx) -> Any:
    """Upload a video; verifies the MD5, answers a one-element list (spec §5.1)."""
    p, data, utype, part_name = _upload_source(ctx, "video")
    adv = ctx.advertiser()
    file_name = p.str("file_name", max_len=100, min_len=1)
    if utype == "UPLOAD_BY_FILE":
        assert data is not None
        sig = p.req("video_signature").lower()
        if not data:
            raise ApiError(FILE_EMPTY, "The uploaded file is empty.")
        if len(data) > 500 * 1024 * 1024:
            raise ApiError(FILE_TOO_LARGE, "The file exceeds 500 MB.")
        digest = hashlib.md5(data).hexdigest()
        if sig != digest:
            raise ApiError(
                FILE_SIGNATURE_MISMATCH, "The video_signature does not match the MD5 of the file."
            )
        ext = (
            (file_name or part_name).rsplit(".", 1)[-1].lower()
            if "." in (file_name or part_name)
            else "mp4"
        )
        if ext not in VIDEO_FORMATS:
            raise ApiError(FILE_BAD_TYPE, f"Unsupported video format: {ext}.")
        size = len(data)
    elif utype == "UPLOAD_BY_URL":
        url = p.req("video_url")
        if not url.startswith(("http://", "https://")):
            raise ApiError(FILE_URL_UNAVAILABLE, "The video_url is unavailable.")
        # Offline: the URL is not fetched; its text stands in for the bytes.
        digest = hashlib.md5(url.encode()).hexdigest()
        part_name = url.rstrip("/").rsplit("/", 1)[-1]
        ext, size = "mp4", 1_000_000 + len(url) * 1000
    elif utype == "UPLOAD_BY_VIDEO_ID":
        src = ctx.world.videos.get(p.req("video_id"))
        if src is None:
            raise param_error("video_id does not exist.")
        return [video_dict(src, ctx.now)]
    else:
        file_id = p.req("file_id")
        digest = hashlib.md5(file_id.encode()).hexdigest()
        ext, size = "mp4", 2_000_000
    name = _material_name(ctx, adv.advertiser_id, "video", file_name, part_name)
    vid = (
        f"v10033g50000{hashlib.md5(f'{digest}{name}{adv.advertiser_id}'.encode()).hexdigest()[:20]}"
    )
    video = Video(
        video_id=vid,
        advertiser_id=adv.advertiser_id,
        file_name=name,
        signature=digest,
        size=size,
        width=720,
        height=1280,
        duration=round(5 + (size % 5500) / 100, 3),
        format=ext,
        create_time=ctx.now,
        material_id=str(7_315_500_000_000_000_000 + len(ctx.world.videos)),
    )
    ctx.world.videos[vid] = video
    ctx.world.material_names[(adv.advertiser_id, "video", name)] = vid
    return [video_dict(video, ctx.now)]


@route("file/image/ad/upload/", "POST", body="multipart")
def image_upload(ctx: Ctx) -> Any:
    """Upload an image; verifies the MD5, answers one object (spec §5.2)."""
    p, data, utype, part_name = _upload_source(ctx, "image")
    adv = ctx.advertiser()
    file_name = p.str("file_name", max_len=100, min_len=1)
    # Not fetched offline: URL / file-id images are taken as 1080x1080 JPEGs.
    width, height, fmt = 1080, 1080, "jpeg"
    if utype == "UPLOAD_BY_FILE":
        assert data is not None
        sig = p.req("image_signature").lower()
        if not data:
            raise ApiError(FILE_EMPTY, "The uploaded file is empty.")
        if len(data) > 50 * 1024 * 1024:
            raise ApiError(FILE_TOO_LARGE, "The file exceeds 50 MB.")
        digest = hashlib.md5(data).hexdigest()
        if sig != digest:
            raise ApiError(
                FILE_SIGNATURE_MISMATCH, "The image_signature does not match the MD5 of the file."
            )
        sniff = image_size(data)
        name_for_ext = file_name or part_name
        ext = name_for_ext.rsplit(".", 1)[-1].lower() if "." in name_for_ext else ""
        if ext and ext not in IMAGE_FORMATS:
            raise ApiError(FILE_BAD_TYPE, f"Unsupported image format: {ext}.")
        if sniff is not None:
            fmt, w, h = sniff
            if w and h:
                width, height = w, h
                if w * h > 3_686_400:
                    raise ApiError(ILLEGAL_IMAGE, "The image has more than 3,686,400 pixels.")
        size = len(data)
    elif utype == "UPLOAD_BY_URL":
        url = p.req("image_url")
        if not url.startswith(("http://", "https://")):
            raise ApiError(FILE_URL_UNAVAILABLE, "The image_url is unavailable.")
        digest = hashlib.md5(url.encode()).hexdigest()
        part_name = url.rstrip("/").rsplit("/", 1)[-1]
        size = 100_000
    else:
        digest = hashlib.md5(p.req("file_id").encode()).hexdigest()
        size = 100_000
    name = _material_name(ctx, adv.advertiser_id, "image", file_name, part_name)
    iid = (
        f"ad-site-i18n-sg/{hashlib.md5(f'{digest}{name}{adv.advertiser_id}'.encode()).hexdigest()}"
    )
    image = Image(
        image_id=iid,
        advertiser_id=adv.advertiser_id,
        file_name=name,
        signature=digest,
        size=size,
        width=width,
        height=height,
        format=fmt,
        create_time=ctx.now,
        material_id=str(7_316_500_000_000_000_000 + len(ctx.world.images)),
    )
    ctx.world.images[iid] = image
    ctx.world.material_names[(adv.advertiser_id, "image", name)] = iid
    return image_dict(image, ctx.now)


@route("file/video/ad/info/")
def video_info(ctx: Ctx) -> Any:
    """Videos by id, at most 60; unknown ids are dropped (spec §5.3)."""
    adv = ctx.advertiser()
    ids = ctx.params.str_list("video_ids", required=True, max_items=60) or []
    vids = [ctx.world.videos.get(i) for i in ids]
    return {
        "list": [
            video_dict(v, ctx.now)
            for v in vids
            if v is not None and v.advertiser_id == adv.advertiser_id
        ]
    }


@route("file/image/ad/info/")
def image_info(ctx: Ctx) -> Any:
    """Images by id, at most 100; unknown ids are dropped (spec §5.3)."""
    adv = ctx.advertiser()
    ids = ctx.params.str_list("image_ids", required=True, max_items=100) or []
    imgs = [ctx.world.images.get(i) for i in ids]
    return {
        "list": [
            image_dict(i, ctx.now)
            for i in imgs
            if i is not None and i.advertiser_id == adv.advertiser_id
        ]
    }


def _material_search(
    ctx: Ctx, kind: str, items: list[Any], render: Any, id_attr: str
) -> dict[str, Any]:
    """The shared part of video and image search: filtering, newest first, pages (spec §5.3)."""
    p = ctx.params
    filt = p.obj("filtering")
    known = {f"{kind}_ids", "material_ids", "width", "height", "ratio", "displayable"}
    unknown = sorted(set(filt) - known)
    if unknown:
        raise param_error(f"filtering.{unknown[0]} is not a valid filter.")
    tmc = p.too_many_code
    ids = check_str_list(f"filtering.{kind}_ids", filt.get(f"{kind}_ids"), False, 100, 0, None, tmc)
    mats = check_str_list(
        "filtering.material_ids", filt.get("material_ids"), False, 100, 0, None, tmc
    )
    sizes = {}
    for key in ("width", "height"):
        value = filt.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise param_error(f"filtering.{key} should be an integer.")
        sizes[key] = value
    if "displayable" in filt and not isinstance(filt["displayable"], bool):
        raise param_error("filtering.displayable should be a boolean.")
    ratios = filt.get("ratio")
    if ratios is not None and (
        not isinstance(ratios, list)
        or any(isinstance(r, bool) or not isinstance(r, int | float) for r in ratios)
    ):
        raise param_error("filtering.ratio should be a list of numbers.")
    page, size = page_args(p, 100, 20)

    def keep(m: Any) -> bool:
        if ids is not None and getattr(m, id_attr) not in ids:
            return False
        if mats is not None and m.material_id not in mats:
            return False
        if any(v is not None and getattr(m, k) != v for k, v in sizes.items()):
            return False
        # "1.7 finds ratios between 1.65 and 1.75": a precision of 0.05 (spec §5.3, SDK docs).
        return not ratios or any(abs(m.width / max(m.height, 1) - r) <= 0.05 for r in ratios)

    found = sorted(
        (m for m in items if m.advertiser_id == ctx.advertiser().advertiser_id and keep(m)),
        key=lambda m: (-m.create_time, getattr(m, id_attr)),
    )
    rows, info = paginate([render(m, ctx.now) for m in found], page, size)
    return {"list": rows, "page_info": info}


@route("file/video/ad/search/")
def video_search(ctx: Ctx) -> Any:
    """The account's videos, newest first, page_size ≤100 (spec §5.3). The filters are those
    of the spec (ids, material ids, width, height, ratio, displayable): none by name or MD5."""
    return _material_search(ctx, "video", list(ctx.world.videos.values()), video_dict, "video_id")


@route("file/image/ad/search/")
def image_search(ctx: Ctx) -> Any:
    """The account's images, newest first, page_size ≤100 (spec §5.3)."""
    return _material_search(ctx, "image", list(ctx.world.images.values()), image_dict, "image_id")
