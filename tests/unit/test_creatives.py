"""The creative library use-cases and the upload claims, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.creatives import (
    BadLink,
    BadName,
    CreativeNotFound,
    EmptyFile,
    KindUnknown,
    TooManyPixels,
    UnsupportedFile,
    add_creative,
    add_creative_from_url,
    creative_card,
    delete_creative,
    library,
    mp4_duration,
    rename_creative,
    tiktok_file_name,
)
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import AdAccount, TikTokConnection
from storage.uow import UnitOfWorkFactory
from tests.media import image, mp4

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ANN, BOB = 501, 502


@pytest.fixture
async def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(session_factory(engine), None)
    for uid in (ANN, BOB):
        await register_user(
            factory, FixedClock(NOW), SignUp(uid, "U", None, None, "en", "UTC", None, False)
        )
    return factory


async def test_a_video_is_measured_and_the_same_file_twice_is_one_entry(
    uow: UnitOfWorkFactory,
) -> None:
    data = mp4(11.6)
    first = await add_creative(
        uow, ANN, "video", None, data, file_name="clip.mp4", mime_type="video/mp4",
        width=720, height=1280, tg_file_id="BAAC1",
    )  # fmt: skip
    c = first.creative
    assert first.created
    assert (c.kind, c.name, c.file_name, c.mime_type) == (
        "video",
        "clip.mp4",
        "clip.mp4",
        "video/mp4",
    )
    assert (c.size, c.duration, c.md5) == (len(data), 12, hashlib.md5(data).hexdigest())
    assert (c.width, c.height, c.tg_file_id) == (720, 1280, "BAAC1")

    again = await add_creative(uow, ANN, "video", "other name", data, tg_file_id="BAAC2")
    assert not again.created and again.creative.id == c.id and again.creative.name == "clip.mp4"
    # Someone else's library is their own: the same bytes are a new entry there.
    theirs = await add_creative(uow, BOB, "video", None, data)
    assert theirs.created and theirs.creative.id != c.id


async def test_an_image_gets_dimensions_and_a_small_jpeg_thumbnail(uow: UnitOfWorkFactory) -> None:
    data = image(1200, 800)
    added = await add_creative(uow, ANN, "image", "Banner A", data)
    c = added.creative
    assert (c.name, c.mime_type, c.width, c.height) == ("Banner A", "image/png", 1200, 800)
    assert c.file_name == f"image_{c.md5[:8]}.png"
    assert c.thumbnail is not None
    with Image.open(io.BytesIO(c.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 320


async def test_what_tiktok_would_refuse_is_refused_at_once(uow: UnitOfWorkFactory) -> None:
    with pytest.raises(EmptyFile):
        await add_creative(uow, ANN, "video", None, b"")
    with pytest.raises(UnsupportedFile):  # spec §5.1: MP4, MOV, MPEG, AVI only
        await add_creative(uow, ANN, "video", None, b"\x1aE\xdf\xa3webm", file_name="a.webm")
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(UnsupportedFile):  # spec §5.2: JPG or PNG
        await add_creative(uow, ANN, "image", None, gif.getvalue())
    with pytest.raises(TooManyPixels):  # spec §5.2: at most 3,686,400 pixels
        await add_creative(uow, ANN, "image", None, image(2000, 2000, "JPEG"))
    assert (await library(uow, ANN)).total == 0


async def test_links_say_their_kind_or_are_asked_and_are_kept_once(uow: UnitOfWorkFactory) -> None:
    url = "https://cdn.example.com/ads/Summer%20clip.mp4"
    added = await add_creative_from_url(uow, ANN, url)
    c = added.creative
    assert added.created and (c.kind, c.name, c.size, c.source_url) == (
        "video",
        "Summer clip.mp4",
        0,
        url,
    )
    assert not (await add_creative_from_url(uow, ANN, url)).created
    with pytest.raises(KindUnknown):
        await add_creative_from_url(uow, ANN, "https://files.example.com/get?id=7")
    asked = await add_creative_from_url(
        uow, ANN, "https://files.example.com/get?id=7", kind="image"
    )
    assert asked.created and asked.creative.kind == "image"
    with pytest.raises(BadLink):
        await add_creative_from_url(uow, ANN, "ftp://example.com/a.mp4")
    with pytest.raises(UnsupportedFile):
        await add_creative_from_url(uow, ANN, "https://example.com/a.png", kind="video")


async def test_library_pages_newest_first_and_every_id_is_owner_checked(
    uow: UnitOfWorkFactory,
) -> None:
    ids = []
    for n in range(10):
        ids.append((await add_creative(uow, ANN, "video", f"v{n}", mp4(5 + n))).creative.id)
    theirs = (await add_creative(uow, BOB, "video", "bob's", mp4(3))).creative.id
    first = await library(uow, ANN, 0)
    assert (first.total, first.pages, [c.name for c in first.items][:2]) == (10, 2, ["v9", "v8"])
    second = await library(uow, ANN, 5)  # past the end: the last page
    assert second.page == 1 and [c.name for c in second.items] == ["v1", "v0"]

    assert await creative_card(uow, ANN, theirs) is None
    with pytest.raises(CreativeNotFound):
        await rename_creative(uow, ANN, theirs, "mine now")
    assert not await delete_creative(uow, ANN, theirs)
    assert (await creative_card(uow, BOB, theirs)) is not None

    with pytest.raises(BadName):
        await rename_creative(uow, ANN, ids[0], "   ")
    renamed = await rename_creative(uow, ANN, ids[0], "  Hook\nv2 ")
    assert renamed.name == "Hook v2"
    assert await delete_creative(uow, ANN, ids[0])
    assert (await library(uow, ANN)).total == 9


async def test_the_tiktok_file_name_is_unique_per_file_and_within_100_characters(
    uow: UnitOfWorkFactory,
) -> None:
    data = mp4(9)
    c = (
        await add_creative(
            uow, ANN, "video", None, data, file_name="Мой ролик (final) " + "x" * 200 + ".MOV"
        )
    ).creative
    name = tiktok_file_name(c)
    assert name.startswith(f"ttp-{c.md5[:12]}-") and len(name) <= 100
    assert name.endswith(".mp4")  # the bytes say MP4, whatever the name said
    assert mp4_duration(data) == 9.0


async def test_an_upload_is_claimed_once_until_it_goes_stale(uow: UnitOfWorkFactory) -> None:
    c = (await add_creative(uow, ANN, "video", None, mp4(4))).creative
    async with uow() as u:
        conn = TikTokConnection(user_id=ANN, display_name="login")
        u.connections.add_connection(conn)
        await u.session.flush()
        account = AdAccount(connection_id=conn.id, advertiser_id="7000000001", name="A")
        u.connections.add_account(account)
        await u.commit()
    stale = timedelta(minutes=15)
    async with uow() as u:
        assert await u.creatives.claim_upload(c.id, account.id, NOW, NOW - stale)
        assert not await u.creatives.claim_upload(c.id, account.id, NOW, NOW - stale)
        await u.commit()
    later = NOW + timedelta(minutes=16)
    async with uow() as u:  # the first claimer went quiet: the claim can be taken over
        assert await u.creatives.claim_upload(c.id, account.id, later, later - stale)
        await u.creatives.release_upload(c.id, account.id, NOW)  # not the current claim
        assert (await u.creatives.upload_for(c.id, account.id)) is not None
        await u.creatives.release_upload(c.id, account.id, later)
        assert (await u.creatives.upload_for(c.id, account.id)) is None
        assert await u.creatives.claim_upload(c.id, account.id, later, later - stale)
        await u.creatives.record_upload(c.id, account.id, "v100", later)
        assert not await u.creatives.claim_upload(c.id, account.id, later, later + stale)
        await u.commit()
    other = (await add_creative(uow, ANN, "video", None, mp4(5))).creative
    async with uow() as u:  # a renewed claim is not stale, whatever its age
        assert await u.creatives.claim_upload(other.id, account.id, NOW, NOW - stale)
        renewed = NOW + timedelta(minutes=14)
        assert await u.creatives.renew_upload(other.id, account.id, NOW, renewed)
        assert not await u.creatives.renew_upload(other.id, account.id, NOW, renewed)  # moved on
        later = NOW + timedelta(minutes=16)
        assert not await u.creatives.claim_upload(other.id, account.id, later, later - stale)
        await u.commit()
    async with uow() as u:
        row = await u.creatives.upload_for(c.id, account.id)
        assert row is not None and row.tiktok_id == "v100"
        assert [r.tiktok_id for r in await u.creatives.uploads_of(c.id)] == ["v100"]
    assert (await creative_card(uow, ANN, c.id)).uploaded_to == 1  # type: ignore[union-attr]
