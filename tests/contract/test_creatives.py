"""Contract: creatives reach TikTok once (spec §5) and custom identities are made (spec §6),
against the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock, SystemClock
from core.connections import begin_connect, finish_connect
from core.creatives import (
    CLAIM_TTL,
    ChecksumMismatch,
    add_creative,
    add_creative_from_url,
    ensure_uploaded,
    tiktok_file_name,
)
from core.feature_access import AccountNotFound
from core.identities import (
    BadDisplayName,
    create_identity,
    identities,
)
from core.oauth_state import StateSigner
from core.tiktok import NoLimiter, RetryPolicy, TikTokClient
from core.users import SignUp, register_user
from sandbox.tiktok.browser import click, redirect_query
from storage.db import session_factory
from storage.models import AdAccount, Creative
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.contract.conftest import Emu
from tests.media import image, mp4

USER = 801
REDIRECT = "http://127.0.0.1:9/oauth/tiktok/callback"
VIDEO_UPLOAD, IMAGE_UPLOAD = "file/video/ad/upload/", "file/image/ad/upload/"


@dataclass
class World:
    """The service's database connected to the emulator's demo login."""

    uow: UnitOfWorkFactory
    client: TikTokClient
    token: str
    account: AdAccount
    accounts: list[AdAccount]

    async def creative(self, kind: str, data: bytes, **kw: object) -> Creative:
        return (await add_creative(self.uow, USER, kind, None, data, **kw)).creative  # type: ignore[arg-type]


@pytest.fixture
async def world(engine: AsyncEngine, emu: Emu, client: TikTokClient) -> World:
    keyring = parse_keyring(generate_key_entry("k"))
    uow = UnitOfWorkFactory(session_factory(engine), Vault(keyring))
    clock = SystemClock()
    await register_user(uow, clock, SignUp(USER, "Ann", None, None, "en", "UTC", None, False))
    signer = StateSigner(keyring)
    url = await begin_connect(uow, clock, signer, client, REDIRECT, USER)
    q = redirect_query((await click(url))[1])
    await finish_connect(uow, clock, signer, client, q["state"], q["auth_code"])
    async with uow() as u:
        accounts = await u.connections.accounts(USER)
        conn = await u.connections.connection(USER, accounts[0].connection_id)
        assert conn is not None and conn.credential_id is not None
        token = await u.credentials.reveal(conn.credential_id)
    assert token
    await emu.ctl("POST", "reset_stats")
    return World(uow, client, token, accounts[0], accounts)


def fetcher(data: bytes, calls: list[int] | None = None, delay: float = 0.0):  # type: ignore[no-untyped-def]
    async def fetch() -> bytes:
        if calls is not None:
            calls.append(1)
        await asyncio.sleep(delay)
        return data

    return fetch


async def test_the_first_call_uploads_with_the_md5_and_the_next_reuses_it(
    world: World, emu: Emu
) -> None:
    data = mp4(10.2)
    c = await world.creative("video", data, file_name="hook.mp4")
    calls: list[int] = []
    vid = await ensure_uploaded(
        world.uow, world.client, world.token, world.account, c, fetcher(data, calls)
    )
    video = emu.state.videos[vid]
    assert video.signature == hashlib.md5(data).hexdigest() == c.md5  # spec §5.1 signature
    assert (
        video.file_name == tiktok_file_name(c)
        and video.advertiser_id == world.account.advertiser_id
    )
    assert (await emu.requests()).get(VIDEO_UPLOAD) == 1 and calls == [1]

    await emu.ctl("POST", "reset_stats")
    again = await ensure_uploaded(
        world.uow, world.client, world.token, world.account, c, fetcher(data, calls)
    )
    assert again == vid and calls == [1]
    assert (await emu.stats())["total"] == 0  # not even a search: the recorded upload is used

    # Another ad account of the same login needs its own copy (ids are per advertiser).
    other = world.accounts[1]
    vid2 = await ensure_uploaded(world.uow, world.client, world.token, other, c, fetcher(data))
    assert vid2 != vid and emu.state.videos[vid2].advertiser_id == other.advertiser_id


async def test_a_copy_tiktok_already_has_is_found_by_its_md5_and_reused(
    world: World, emu: Emu
) -> None:
    data = mp4(7.5)
    adv = world.account.advertiser_id
    # Uploaded before, e.g. in Ads Manager, under a name of its own.
    earlier = await world.client.upload_video_file(world.token, adv, data, "from_ads_manager.mp4")
    c = await world.creative("video", data)
    await emu.ctl("POST", "reset_stats")
    calls: list[int] = []
    vid = await ensure_uploaded(
        world.uow, world.client, world.token, world.account, c, fetcher(data, calls)
    )
    assert vid == earlier.video_id and calls == []
    requests = await emu.requests()
    assert VIDEO_UPLOAD not in requests and requests.get("file/video/ad/search/") == 1


@pytest.mark.parametrize("kind", ["image", "video"])
async def test_a_retry_after_a_lost_reply_finds_the_upload_by_md5_instead_of_sending_again(
    world: World, emu: Emu, kind: str
) -> None:
    impatient = TikTokClient(
        base_url=emu.url,
        app_id=emu.app_id,
        secret=emu.secret,
        limiter=NoLimiter(),
        retry=RetryPolicy(max_attempts=3, max_total_seconds=10, base_delay=0.05, max_delay=0.1),
        request_timeout=0.5,
    )
    data = image(600, 600, "JPEG") if kind == "image" else mp4(9.0)
    path = IMAGE_UPLOAD if kind == "image" else VIDEO_UPLOAD
    c = await world.creative(kind, data)
    # TikTok makes the file, but its reply never arrives (the caller times out).
    await emu.ctl(
        "POST",
        "config",
        {
            "fault_queue": ["lost_reply"],
            "fault_paths": ["/open_api/v1.3/" + path],
            "timeout_seconds": 1.5,
        },
    )
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    try:
        found = await ensure_uploaded(
            world.uow, impatient, world.token, world.account, c, fetcher(data), sleep=wait
        )
    finally:
        await impatient.close()
    stats = await emu.stats()
    assert stats["faults"] == {"lost_reply": 1} and "40911" not in stats["codes"]
    requests = await emu.requests()
    # One upload (the lost one); the retry searched by MD5 and found what it made.
    assert requests.get(path) == 1, requests
    assert requests.get(f"file/{kind}/ad/search/") == 2, requests
    assert waits == [1.0]
    store = emu.state.images if kind == "image" else emu.state.videos
    copies = [
        (i.image_id if kind == "image" else i.video_id, i.file_name)
        for i in store.values()
        if i.advertiser_id == world.account.advertiser_id and i.signature == c.md5
    ]
    assert copies == [(found, tiktok_file_name(c))]
    # Recorded: the next launch needs no call at all.
    await emu.ctl("POST", "reset_stats")
    again = await ensure_uploaded(
        world.uow, world.client, world.token, world.account, c, fetcher(data)
    )
    assert again == found and await emu.requests() == {}


async def test_an_upload_cut_short_by_a_crash_is_found_by_md5_once_its_claim_lapses(
    world: World, emu: Emu
) -> None:
    data = image(500, 500, "JPEG")
    c = await world.creative("image", data)
    dead_at = datetime.now(UTC)
    # A process claimed the upload, TikTok stored the file, and the process died before it
    # recorded the id.
    async with world.uow() as u:
        assert await u.creatives.claim_upload(c.id, world.account.id, dead_at, dead_at)
        await u.commit()
    made = await world.client.upload_image_file(
        world.token, world.account.advertiser_id, data, tiktok_file_name(c)
    )
    await emu.ctl("POST", "reset_stats")
    calls: list[int] = []
    clock = FixedClock(dead_at + CLAIM_TTL - timedelta(seconds=1))
    polls: list[float] = []

    async def poll(seconds: float) -> None:  # the claim still looks alive: wait, then lapse
        polls.append(seconds)
        clock.set(dead_at + CLAIM_TTL + timedelta(seconds=1))

    found = await ensure_uploaded(
        world.uow,
        world.client,
        world.token,
        world.account,
        c,
        fetcher(data, calls),
        clock=clock,
        sleep=poll,
    )
    assert found == made.image_id and calls == [] and len(polls) == 1
    assert (await emu.requests()) == {"file/image/ad/search/": 1}


async def test_two_callers_at_once_upload_once(world: World, emu: Emu) -> None:
    data = mp4(20.0)
    c = await world.creative("video", data)
    calls: list[int] = []

    async def call() -> str:
        return await ensure_uploaded(
            world.uow,
            world.client,
            world.token,
            world.account,
            c,
            fetcher(data, calls, delay=0.3),  # a slow download: the other caller must wait
            sleep=lambda _: asyncio.sleep(0.05),
        )

    first, second = await asyncio.gather(call(), call())
    assert first == second and calls == [1]
    assert (await emu.requests()).get(VIDEO_UPLOAD) == 1


async def test_a_failed_upload_gives_its_claim_back(world: World, emu: Emu) -> None:
    data = mp4(6.0)
    c = await world.creative("video", data)
    with pytest.raises(ChecksumMismatch):  # the bytes fetched are not the file that was added
        await ensure_uploaded(
            world.uow, world.client, world.token, world.account, c, fetcher(mp4(6.0))
        )
    vid = await ensure_uploaded(
        world.uow,
        world.client,
        world.token,
        world.account,
        c,
        fetcher(data),
    )
    assert emu.state.videos[vid].signature == c.md5
    assert (await emu.requests()).get(VIDEO_UPLOAD) == 1


async def test_a_link_is_uploaded_by_url_once(world: World, emu: Emu) -> None:
    url = "https://cdn.example.com/ads/summer.mp4"
    c = (await add_creative_from_url(world.uow, USER, url)).creative

    async def no_bytes() -> bytes:
        raise AssertionError("a link is never downloaded by TTPulse")

    vid = await ensure_uploaded(world.uow, world.client, world.token, world.account, c, no_bytes)
    assert emu.state.videos[vid].file_name == tiktok_file_name(c)
    again = await ensure_uploaded(world.uow, world.client, world.token, world.account, c, no_bytes)
    assert again == vid and (await emu.requests()).get(VIDEO_UPLOAD) == 1


async def test_identities_are_listed_and_a_custom_one_made_with_a_square_avatar(
    world: World, emu: Emu
) -> None:
    adv = world.account.advertiser_id
    before = await identities(world.uow, world.client, USER, world.account.id)
    assert before.account.id == world.account.id and before.identities
    assert before.identities[0].identity_type == "CUSTOMIZED_USER"  # custom ones first

    avatar = image(300, 200, "PNG")  # not square: cut to the centre square (spec §6.2: 1:1)
    made = await create_identity(
        world.uow, world.client, USER, world.account.id, " Acme  Studio ", avatar
    )
    stored = emu.state.identities[made.identity_id]
    assert (stored.display_name, stored.identity_type) == ("Acme Studio", "CUSTOMIZED_USER")
    img = emu.state.images[stored.profile_image]
    assert img.advertiser_id == adv and img.width == img.height == 200

    # The same avatar for a second identity: its upload meets 40911 and the image is reused.
    second = await create_identity(
        world.uow, world.client, USER, world.account.id, "Acme Two", avatar
    )
    assert emu.state.identities[second.identity_id].profile_image == stored.profile_image
    # Without an avatar TikTok uses its default one (the emulator's default, spec §6.2 [U]).
    plain = await create_identity(world.uow, world.client, USER, world.account.id, "Plain", None)
    assert emu.state.identities[plain.identity_id].profile_image == ""

    after = await identities(world.uow, world.client, USER, world.account.id)
    names = [i.display_name for i in after.identities]
    assert {"Acme Studio", "Acme Two", "Plain"} <= set(names)


async def test_identities_refuse_other_accounts_and_bad_names_before_calling_tiktok(
    world: World, emu: Emu
) -> None:
    with pytest.raises(AccountNotFound):
        await identities(world.uow, world.client, USER + 1, world.account.id)
    with pytest.raises(AccountNotFound):
        await create_identity(world.uow, world.client, USER, 999_999, "Name", None)
    for bad, reason in (("   ", "empty"), ("x" * 101, "too_long"), ("Hot 🔥 deals", "emoji")):
        with pytest.raises(BadDisplayName) as caught:
            await create_identity(world.uow, world.client, USER, world.account.id, bad, None)
        assert caught.value.detail == reason
    assert (await emu.stats())["total"] == 0
