"""The creative library: the videos and images a user keeps for launches, and their uploads to
TikTok ad accounts (spec §5).

A creative is added once per user (its MD5 is the key: the same file twice is the same entry).
Its bytes stay where they came from — Telegram (`tg_file_id`) or a link (`source_url`) — so the
caller passes a downloader to `ensure_uploaded`, which runs when an ad account first needs the
file: it reuses a finished upload, or a copy TikTok already has, and otherwise uploads once with
the MD5 signature. Uploads have no idempotency key (spec §5.1), so an upload whose reply was
lost (a timeout, a 5xx, a crash) is never simply sent again: the retry first searches the
account's library by MD5 and reuses the copy the lost attempt made. Our file name is unique per
creative too, so a second upload that slips through meets 40911 "duplicated material name" and
is answered by the same search.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image, ImageOps, UnidentifiedImageError

from core.clock import Clock, SystemClock
from core.tiktok import InvalidRequestError, RateLimitedError, ServerError, TikTokClient
from storage.models import AdAccount, Creative
from storage.uow import UnitOfWorkFactory

KINDS = ("video", "image")
# spec §5.1: .mp4 .mov .mpeg .avi, ≤ 500 MB; spec §5.2: JPG/JPEG/PNG, < 50 MB, ≤ 3,686,400 px.
VIDEO_FORMATS = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mpeg": "video/mpeg",
    "avi": "video/x-msvideo",
}
IMAGE_FORMATS = {"jpg": "image/jpeg", "png": "image/png"}
# MPO is the multi-picture JPEG some phones write: a plain JPEG to everyone else.
_ALIASES = {"jpeg": "jpg", "mpo": "jpg", "mpg": "mpeg", "m4v": "mp4", "qt": "mov"}
MAX_BYTES = {"video": 500 * 1024 * 1024, "image": 50 * 1024 * 1024}
MAX_IMAGE_PIXELS = 3_686_400
NAME_MAX = 100  # our own limit for a library name (TikTok's file_name is 1–100, spec §5.1)
URL_MAX = 2048
TIKTOK_NAME_MAX = 100  # spec §5.1 / §5.2 file_name: 1–100 characters, unique per advertiser
DUPLICATE_NAME = 40911  # spec §8.1: duplicated material name
PAGE_SIZE = 8
THUMB_SIDE = 320  # Telegram's thumbnail bound (telegram-bot-platform §1): small and cheap
THUMB_BYTES = 200 * 1024
# A claim its holder has not renewed for this long was abandoned (the process died): the next
# caller takes it over, and searches TikTok by MD5 before uploading. The holder renews it every
# CLAIM_RENEW_SECONDS while a (possibly long) upload runs.
CLAIM_TTL = timedelta(minutes=2)
CLAIM_RENEW_SECONDS = 30.0
# Waits before an upload's retries (each after a search by MD5): TikTok's asset library may
# show a new file a moment after the upload that made it (not documented; a short wait).
UPLOAD_RETRY_SECONDS = (1.0, 3.0)
POLL_SECONDS = 0.5

Fetch = Callable[[], Awaitable[bytes]]


# ---------------------------------------------------------------- errors


class CreativeError(Exception):
    """A creative could not be added, changed or uploaded; `code` says why."""

    code = "creative"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class EmptyFile(CreativeError):
    """The file has no bytes."""

    code = "empty"


class UnsupportedFile(CreativeError):
    """Not a video TikTok takes (MP4, MOV, MPEG, AVI) or an image (JPG, PNG); detail: kind."""

    code = "unsupported"


class FileTooLarge(CreativeError):
    """Over TikTok's size limit for its kind (spec §5.1 / §5.2)."""

    code = "too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} > {limit}")
        self.size, self.limit = size, limit


class TooManyPixels(CreativeError):
    """An image over TikTok's 3,686,400 pixels (spec §5.2)."""

    code = "too_many_pixels"

    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}x{height}")
        self.width, self.height = width, height


class BadLink(CreativeError):
    """Not an http(s) link to a file."""

    code = "bad_link"


class KindUnknown(CreativeError):
    """A link whose address does not tell whether it is a video or an image: ask."""

    code = "kind_unknown"


class BadName(CreativeError):
    """A library name that is empty or longer than NAME_MAX."""

    code = "bad_name"


class CreativeNotFound(CreativeError):
    """Not one of the user's creatives (someone else's, or deleted)."""

    code = "not_found"


class ChecksumMismatch(CreativeError):
    """The bytes fetched for an upload are not the file that was added."""

    code = "checksum_mismatch"


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Added:
    """The library entry for a file; `created` is False when it was already there."""

    creative: Creative
    created: bool


@dataclass(frozen=True)
class LibraryPage:
    """One page of the library, newest first."""

    items: list[Creative]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class CreativeCard:
    """One creative with its thumbnail, and how many ad accounts already have it."""

    creative: Creative
    uploaded_to: int


# ---------------------------------------------------------------- looking at files


def _ext(name: str | None) -> str:
    if not name or "." not in name:
        return ""
    ext = name.rsplit(".", 1)[1].lower()
    return _ALIASES.get(ext, ext)


def _mime_ext(mime: str | None) -> str:
    mime = (mime or "").lower()
    for table in (VIDEO_FORMATS, IMAGE_FORMATS):
        for ext, known in table.items():
            if known == mime:
                return ext
    return {"video/avi": "avi", "video/msvideo": "avi", "image/jpg": "jpg"}.get(mime, "")


def sniff_video(data: bytes) -> str:
    """The container of video bytes by their signature: mp4, mov, mpeg, avi or ""."""
    if data[4:8] == b"ftyp":
        return "mov" if data[8:12] == b"qt  " else "mp4"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "avi"
    if data[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg"
    return ""


def mp4_duration(data: bytes) -> float | None:
    """Seconds, from an MP4/MOV's movie header (moov → mvhd), or None when not found."""

    def boxes(start: int, end: int) -> Any:
        pos = start
        while pos + 8 <= end:
            size = int.from_bytes(data[pos : pos + 4], "big")
            kind = data[pos + 4 : pos + 8]
            head = 8
            if size == 1 and pos + 16 <= end:
                size, head = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
            elif size == 0:
                size = end - pos
            if size < head:
                return
            yield kind, pos + head, min(pos + size, end)
            pos += size

    for kind, body, end in boxes(0, len(data)):
        if kind != b"moov":
            continue
        for inner, ibody, iend in boxes(body, end):
            if inner != b"mvhd" or iend - ibody < 20:
                continue
            version = data[ibody]
            if version == 1 and iend - ibody >= 32:
                scale = int.from_bytes(data[ibody + 20 : ibody + 24], "big")
                length = int.from_bytes(data[ibody + 24 : ibody + 32], "big")
            else:
                scale = int.from_bytes(data[ibody + 12 : ibody + 16], "big")
                length = int.from_bytes(data[ibody + 16 : ibody + 20], "big")
            return round(length / scale, 3) if scale else None
    return None


def sniff_image(data: bytes) -> tuple[str, int, int] | None:
    """(jpg | png | another format's name, width, height) from the header, or None."""
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            fmt = (img.format or "").lower()
            width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return _ALIASES.get(fmt, fmt), int(width), int(height)


def make_thumbnail(data: bytes) -> bytes | None:
    """A small JPEG (at most 320 px a side, under 200 kB) of an image, or None."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # JPEG: decode at a reduced scale
            small = ImageOps.exif_transpose(img).convert("RGB")
            small.thumbnail((THUMB_SIDE, THUMB_SIDE))
            for quality in (85, 70, 50):
                out = io.BytesIO()
                small.save(out, "JPEG", quality=quality)
                if out.tell() < THUMB_BYTES:
                    return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return None


def clean_name(text: str | None) -> str:
    """A name on one line: control characters and line breaks become spaces, trimmed."""
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in (text or "")
    )
    return re.sub(r"\s{2,}", " ", text).strip()


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def tiktok_file_name(creative: Creative) -> str:
    """The file name this creative gets on TikTok: unique per file (its MD5) and readable,
    `ttp-<md5[:12]>-<name>.<ext>`, at most 100 characters (spec §5.1 / §5.2)."""
    ext = _ext(creative.file_name) or _mime_ext(creative.mime_type) or _ext(creative.source_url)
    table = VIDEO_FORMATS if creative.kind == "video" else IMAGE_FORMATS
    if ext not in table:
        ext = "mp4" if creative.kind == "video" else "jpg"
    base = creative.file_name or creative.name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-")
    prefix = f"ttp-{creative.md5[:12]}"
    room = TIKTOK_NAME_MAX - len(prefix) - len(ext) - 2
    return f"{prefix}-{stem[:room]}.{ext}" if stem else f"{prefix}.{ext}"


# ---------------------------------------------------------------- the library


async def add_creative(
    uow: UnitOfWorkFactory,
    user_id: int,
    kind: str,
    name: str | None,
    data: bytes,
    *,
    file_name: str | None = None,
    mime_type: str | None = None,
    duration: float | None = None,
    width: int | None = None,
    height: int | None = None,
    tg_file_id: str | None = None,
    thumbnail: bytes | None = None,
) -> Added:
    """Add a file to the user's library (checked, measured, thumbnailed); the same file twice
    gives back the entry already there (`created` False)."""
    if kind not in KINDS:
        raise UnsupportedFile(kind)
    if not data:
        raise EmptyFile()
    md5 = hashlib.md5(data).hexdigest()
    async with uow() as u:
        existing = await u.creatives.by_md5(user_id, md5)
    if existing is not None:
        return Added(existing, False)
    if len(data) > MAX_BYTES[kind]:
        raise FileTooLarge(len(data), MAX_BYTES[kind])
    if kind == "video":
        fmt = sniff_video(data) or _ext(file_name) or _mime_ext(mime_type)
        if fmt not in VIDEO_FORMATS:
            raise UnsupportedFile(kind)
        if duration is None and fmt in ("mp4", "mov"):
            duration = mp4_duration(data)
        if thumbnail:
            thumbnail = await asyncio.to_thread(make_thumbnail, thumbnail)
        mime = VIDEO_FORMATS[fmt]
    else:
        found = sniff_image(data)
        if found is None or found[0] not in IMAGE_FORMATS:
            raise UnsupportedFile(kind)
        fmt, width, height = found
        if width * height > MAX_IMAGE_PIXELS:
            raise TooManyPixels(width, height)
        thumbnail = await asyncio.to_thread(make_thumbnail, data)
        mime = IMAGE_FORMATS[fmt]
    given = clean_name(file_name)
    if _ext(given) != fmt:
        stem = given.rsplit(".", 1)[0] if "." in given else given
        given = f"{stem or ('video' if kind == 'video' else 'image')}_{md5[:8]}.{fmt}"
    values = {
        "user_id": user_id,
        "kind": kind,
        "name": _short(clean_name(name) or given, NAME_MAX),
        "file_name": _short(given, 256),
        "mime_type": mime,
        "size": len(data),
        "duration": int(duration + 0.5) if duration is not None else None,
        "width": width,
        "height": height,
        "md5": md5,
        "tg_file_id": tg_file_id,
        "thumbnail": thumbnail,
    }
    return await _insert(uow, user_id, md5, values)


async def _insert(uow: UnitOfWorkFactory, user_id: int, md5: str, values: dict[str, Any]) -> Added:
    async with uow() as u:
        created = await u.creatives.add(values)
        row = await u.creatives.by_md5(user_id, md5)
        await u.commit()
    assert row is not None
    return Added(row, created)


async def add_creative_from_url(
    uow: UnitOfWorkFactory,
    user_id: int,
    url: str,
    *,
    kind: str | None = None,
    name: str | None = None,
) -> Added:
    """Add a link to a video or image (for files over Telegram's 20 MB download limit): TikTok
    fetches it at upload time (UPLOAD_BY_URL, spec §5.1). TTPulse does not fetch it, so its size
    is not known and the link itself stands in for the checksum; the same link twice is the same
    entry. Raises KindUnknown when the address does not tell a video from an image."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > URL_MAX
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url)
    ):
        raise BadLink(url[:100])
    last = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    ext = _ext(last)
    implied = "video" if ext in VIDEO_FORMATS else "image" if ext in IMAGE_FORMATS else None
    if kind is None:
        kind = implied
        if kind is None:
            raise KindUnknown(url[:100])
    elif kind not in KINDS or (implied is not None and implied != kind):
        raise UnsupportedFile(kind)
    md5 = hashlib.md5(url.encode()).hexdigest()
    async with uow() as u:
        existing = await u.creatives.by_md5(user_id, md5)
    if existing is not None:
        return Added(existing, False)
    table = VIDEO_FORMATS if kind == "video" else IMAGE_FORMATS
    values = {
        "user_id": user_id,
        "kind": kind,
        "name": _short(clean_name(name) or _link_name(parts.hostname, parts.path, last), NAME_MAX),
        "file_name": _short(clean_name(last), 256),
        "mime_type": table.get(ext, ""),
        "size": 0,  # unknown: TikTok fetches it
        "md5": md5,
        "source_url": url,
    }
    return await _insert(uow, user_id, md5, values)


def _link_name(host: str, path: str, last: str) -> str:
    """A link's file name when it has one (clip.mp4), else its host and path."""
    if _ext(last):
        return clean_name(last)
    return clean_name(unquote(f"{host}{path}".rstrip("/"))) or host


async def library(uow: UnitOfWorkFactory, user_id: int, page: int = 0) -> LibraryPage:
    """One page of the user's library, newest first (the page clamped into range)."""
    page = max(page, 0)
    async with uow() as u:
        items, total = await u.creatives.of_user(user_id, PAGE_SIZE, page * PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        if page >= pages:
            page = pages - 1
            items, total = await u.creatives.of_user(user_id, PAGE_SIZE, page * PAGE_SIZE)
    return LibraryPage(items, page, pages, total)


async def creative_card(
    uow: UnitOfWorkFactory, user_id: int, creative_id: int
) -> CreativeCard | None:
    """One of the user's creatives with its thumbnail; None if not theirs (or gone)."""
    async with uow() as u:
        creative = await u.creatives.get(user_id, creative_id)
        if creative is None:
            return None
        uploads = await u.creatives.uploads_of(creative.id)
    return CreativeCard(creative, len(uploads))


async def rename_creative(
    uow: UnitOfWorkFactory, user_id: int, creative_id: int, name: str
) -> Creative:
    """Give a creative a new library name (1–100 characters)."""
    name = clean_name(name)
    if not name or len(name) > NAME_MAX:
        raise BadName(name[:120])
    async with uow() as u:
        creative = await u.creatives.get(user_id, creative_id)
        if creative is None:
            raise CreativeNotFound()
        creative.name = name
        await u.commit()
    return creative


async def delete_creative(uow: UnitOfWorkFactory, user_id: int, creative_id: int) -> bool:
    """Remove a creative from the user's library (copies on TikTok stay); False if not theirs."""
    async with uow() as u:
        removed = await u.creatives.remove(user_id, creative_id)
        await u.commit()
    return removed


# ---------------------------------------------------------------- uploads to TikTok


async def ensure_uploaded(
    uow: UnitOfWorkFactory,
    client: TikTokClient,
    token: str,
    account: AdAccount,
    creative: Creative,
    fetch: Fetch,
    *,
    clock: Clock | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """TikTok's video_id / image_id for the creative in this ad account: the recorded upload,
    else a copy TikTok already has (found by MD5 or our file name), else a new upload with the
    MD5 signature (by URL for a link). Safe to call again and at the same time: one caller
    claims the upload, the others wait for its row; a failed claim is given back. Every
    attempt, a retry after a lost reply included, searches by MD5 before it uploads."""
    clock = clock or SystemClock()
    while True:
        async with uow() as u:
            row = await u.creatives.upload_for(creative.id, account.id)
            if row is not None and row.tiktok_id:
                return row.tiktok_id
            claimed_at = clock.now()
            claimed = await u.creatives.claim_upload(
                creative.id, account.id, claimed_at, claimed_at - CLAIM_TTL
            )
            await u.commit()
        if claimed:
            break
        await sleep(POLL_SECONDS)  # someone else is uploading it right now
    held = [claimed_at]  # the claim's current stamp, moved on by each renewal
    renewing = asyncio.create_task(_keep_claim(uow, clock, creative.id, account.id, held))
    try:
        tiktok_id = await _find_or_upload(
            client, token, account.advertiser_id, creative, fetch, sleep
        )
    except BaseException:
        await _stop(renewing)
        async with uow() as u:
            await u.creatives.release_upload(creative.id, account.id, held[0])
            await u.commit()
        raise
    await _stop(renewing)
    async with uow() as u:
        await u.creatives.record_upload(creative.id, account.id, tiktok_id, clock.now())
        await u.commit()
    return tiktok_id


async def _keep_claim(
    uow: UnitOfWorkFactory, clock: Clock, creative_id: int, account_id: int, held: list[Any]
) -> None:
    """Renew an upload claim every CLAIM_RENEW_SECONDS until cancelled (or no longer ours)."""
    while True:
        await asyncio.sleep(CLAIM_RENEW_SECONDS)
        now = clock.now()
        async with uow() as u:
            renewed = await u.creatives.renew_upload(creative_id, account_id, held[0], now)
            await u.commit()
        if not renewed:
            return
        held[0] = now


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _find_or_upload(
    client: TikTokClient,
    token: str,
    advertiser_id: str,
    creative: Creative,
    fetch: Fetch,
    sleep: Callable[[float], Awaitable[None]],
) -> str:
    name = tiktok_file_name(creative)
    by_url = bool(creative.source_url) and not creative.tg_file_id
    signature = None if by_url else creative.md5
    fetched: list[bytes] = []  # downloaded once, however many attempts

    async def upload() -> str:
        if by_url:
            assert creative.source_url is not None
            if creative.kind == "video":
                info = await client.upload_video_url(
                    token, advertiser_id, creative.source_url, name
                )
                return info.video_id
            image = await client.upload_image_url(token, advertiser_id, creative.source_url, name)
            return image.image_id
        if not fetched:
            data = await fetch()
            if hashlib.md5(data).hexdigest() != creative.md5:
                raise ChecksumMismatch(creative.md5)
            fetched.append(data)
        data = fetched[0]
        if creative.kind == "video":
            return (await client.upload_video_file(token, advertiser_id, data, name)).video_id
        return (await client.upload_image_file(token, advertiser_id, data, name)).image_id

    return await find_or_upload(
        client, token, advertiser_id, creative.kind, name, signature, upload, sleep=sleep
    )


async def find_or_upload(
    client: TikTokClient,
    token: str,
    advertiser_id: str,
    kind: str,
    file_name: str,
    signature: str | None,
    upload: Callable[[], Awaitable[str]],
    *,
    search_first: bool = True,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """The id of a video or image already in the ad account's library — the same bytes (MD5
    signature), or our file name — or else of a new upload.

    Uploads have no idempotency key (spec §5.1): an attempt whose reply was lost (timeout,
    5xx) may have made the file, so every retry searches again before sending the bytes
    once more, and a 40911 (our unique name is taken: such an attempt did upload it) is
    answered by searching too."""
    for attempt in range(len(UPLOAD_RETRY_SECONDS) + 1):
        if search_first or attempt > 0:
            found = await find_material(client, token, advertiser_id, kind, file_name, signature)
            if found:
                return found
        try:
            uploaded = await upload()
        except (ServerError, RateLimitedError):
            if attempt == len(UPLOAD_RETRY_SECONDS):
                raise
            await sleep(UPLOAD_RETRY_SECONDS[attempt])
            continue
        except InvalidRequestError as exc:
            if exc.code != DUPLICATE_NAME:
                raise
            found = await find_material(client, token, advertiser_id, kind, file_name, signature)
            if not found:
                raise
            return found
        if not uploaded:
            raise CreativeError("TikTok answered the upload without an id")
        return uploaded
    raise AssertionError("unreachable: the last attempt returns or raises")


async def find_material(
    client: TikTokClient,
    token: str,
    advertiser_id: str,
    kind: str,
    file_name: str,
    signature: str | None,
) -> str | None:
    """The id of the ad account's video or image with this MD5 signature (ours by name first)
    or, without a signature (a link), with this file name; None if there is none."""
    if kind == "video":
        items = [
            (v.video_id, v.file_name, v.signature)
            for v in await client.search_videos(token, advertiser_id)
        ]
    else:
        items = [
            (i.image_id, i.file_name, i.signature)
            for i in await client.search_images(token, advertiser_id)
        ]
    if signature is not None:
        same = [(i, n) for i, n, s in items if i and (s or "").lower() == signature]
        ours = [i for i, n in same if n == file_name]
        return (ours or [i for i, _ in same] or [None])[0]
    return next((i for i, n, _ in items if i and n == file_name), None)
