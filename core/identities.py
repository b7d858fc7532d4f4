"""Identities of an ad account (spec §6): list them, and create a custom identity — a display
name and an avatar image — that non-Spark ads show as their author."""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.creatives import find_or_upload
from core.feature_access import FeatureError, NeedsReconnect, account_access
from core.templates.naming import EMOJI, width
from core.tiktok import Identity, TikTokClient, TikTokError, TokenInvalidError
from storage.models import AdAccount
from storage.uow import UnitOfWorkFactory

DISPLAY_NAME_MAX = 100  # spec §6.2: display_name ≤ 100 characters
AVATAR_MAX_BYTES = 50 * 1024 * 1024  # spec §5.2: images under 50 MB
AVATAR_SIDE = 1080  # a square avatar well inside TikTok's 3,686,400 pixels (spec §5.2)
TYPE_ORDER = ("CUSTOMIZED_USER", "TT_USER", "BC_AUTH_TT", "AUTH_CODE")


class BadDisplayName(FeatureError):
    """A display name TikTok would refuse; `detail` is empty, too_long or emoji."""

    code = "display_name"


class BadAvatar(FeatureError):
    """An avatar that is not a readable image (`detail` not_image) or too big (too_large)."""

    code = "avatar"


class TikTokRefused(FeatureError):
    """TikTok refused the request; `detail` is its message."""

    code = "tiktok"


@dataclass(frozen=True)
class AccountIdentities:
    """An ad account and its identities, custom ones first."""

    account: AdAccount
    identities: list[Identity]


def check_display_name(text: str) -> str:
    """The display name, trimmed; raises BadDisplayName (spec §6.2: at most 100 characters —
    CJK counted twice as in TikTok's other names, §4.2 — and, like them, no emoji)."""
    name = " ".join(text.split())
    if not name:
        raise BadDisplayName("empty")
    if width(name) > DISPLAY_NAME_MAX:
        raise BadDisplayName("too_long")
    if EMOJI.search(name):
        raise BadDisplayName("emoji")
    return name


def square_avatar(data: bytes) -> bytes:
    """The image cut to its centre square (spec §6.2: the avatar is 1:1), at most 1080 px, as a
    JPEG (spec §5.2 takes JPG/PNG); raises BadAvatar."""
    if len(data) > AVATAR_MAX_BYTES:
        raise BadAvatar("too_large")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > 40_000_000:
                raise BadAvatar("too_large")
            img.draft("RGB", (AVATAR_SIDE, AVATAR_SIDE))
            pic = ImageOps.exif_transpose(img).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BadAvatar("not_image") from None
    side = min(pic.size)
    pic = ImageOps.fit(pic, (side, side))  # centre crop
    if side > AVATAR_SIDE:
        pic = pic.resize((AVATAR_SIDE, AVATAR_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pic.save(out, "JPEG", quality=90)
    return out.getvalue()


def _refused(exc: TikTokError) -> FeatureError:
    if isinstance(exc, TokenInvalidError):
        return NeedsReconnect(exc.message)
    return TikTokRefused(exc.message[:300])


async def identities(
    uow: UnitOfWorkFactory, client: TikTokClient, user_id: int, account_id: int
) -> AccountIdentities:
    """Every identity of one of the user's ad accounts, read live from TikTok (spec §6.1)."""
    account, token = await account_access(uow, user_id, account_id)
    try:
        found = await client.get_identities(token, account.advertiser_id)
    except TikTokError as exc:
        raise _refused(exc) from exc

    def order(i: Identity) -> tuple[int, str]:
        rank = TYPE_ORDER.index(i.identity_type) if i.identity_type in TYPE_ORDER else 9
        return rank, (i.display_name or "").lower()

    return AccountIdentities(account, sorted(found, key=order))


async def create_identity(
    uow: UnitOfWorkFactory,
    client: TikTokClient,
    user_id: int,
    account_id: int,
    display_name: str,
    avatar: bytes | None,
) -> Identity:
    """Create a custom identity in one of the user's ad accounts: the avatar (cut square) is
    uploaded as an image first and its id given as `image_uri` (spec §6.2); without one TikTok
    uses its default avatar."""
    name = check_display_name(display_name)
    square = await asyncio.to_thread(square_avatar, avatar) if avatar else None
    account, token = await account_access(uow, user_id, account_id)
    image_id: str | None = None
    try:
        if square is not None:
            md5 = hashlib.md5(square).hexdigest()
            file_name = f"ttp-avatar-{md5[:12]}.jpg"

            async def upload() -> str:
                info = await client.upload_image_file(
                    token, account.advertiser_id, square, file_name
                )
                return info.image_id

            # The same avatar again (a second identity, a retry) meets 40911 and is reused.
            image_id = await find_or_upload(
                client,
                token,
                account.advertiser_id,
                "image",
                file_name,
                md5,
                upload,
                search_first=False,
            )
        identity_id = await client.create_identity(token, account.advertiser_id, name, image_id)
    except TikTokError as exc:
        raise _refused(exc) from exc
    return Identity(
        identity_id=identity_id,
        identity_type="CUSTOMIZED_USER",
        display_name=name,
        profile_image=image_id,
        available_status="AVAILABLE",
    )


async def identity_accounts(uow: UnitOfWorkFactory, user_id: int) -> list[AdAccount]:
    """The user's ad accounts on live connections, to pick one whose identities to manage."""
    async with uow() as u:
        return await u.connections.accounts(user_id)
