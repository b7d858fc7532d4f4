# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Audiences against the emulator (issue 17): the DMP endpoints as TikTok documents them
(upload with an MD5 signature and hashed rows, create, lookalike, list with paging, get,
delete, scope refusal) and TTPulse's client and use-cases over them: off asks nothing; on, a
customer file is hashed in memory, arrives at TikTok as SHA-256 hashes only, and becomes an
audience that is computed over time and can seed a lookalike."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from core import audiences
from core.feature_access import FeatureOff
from core.features import set_feature
from core.tiktok import InvalidRequestError, ScopeMissingError, TikTokClient
from core.tiktok import audiences as api
from tests.contract.feature_db import db, emulator_options, optional_calls  # noqa: F401
from tests.contract.test_sync import NOW, USER, Db, sync_all

EMAILS = [f"  Buyer{i}@Example.COM " for i in range(200)]


def _hashes(n: int) -> bytes:
    return "".join(hashlib.sha256(f"u{i}@x.io".encode()).hexdigest() + "\n"
                   for i in range(n)).encode()


async def _later(emu: Any, db: Db, seconds: int) -> None:
    when = NOW + timedelta(seconds=seconds)
    await emu.ctl("POST", "clock", {"now": when.isoformat()})
    db.clock.set(when)


def _adv(emu: Any) -> str:
    return sorted(emu.state.advertisers)[0]


async def test_dmp_endpoints_upload_create_lookalike_list_delete(
    client: TikTokClient, emu: Any, db: Db
) -> None:
    """Upload → file_path; create → not valid and size 0 until computed, then 70% of the
    rows; a lookalike of it; list pages of ≤100 with TikTok's page_info; delete."""
    token, adv = emu.access_token, _adv(emu)
    path = await api.upload_file(client, token, adv, _hashes(300), "EMAIL_SHA256", "f.txt")
    assert path
    aud_id = await api.create_audience(client, token, adv, "Buyers", "EMAIL_SHA256", [path])
    [fresh] = await api.list_audiences(client, token, adv, [aud_id])
    assert (fresh.kind, fresh.ready, fresh.size) == ("custom", False, 0)
    with pytest.raises(InvalidRequestError) as exc:  # still being computed
        await api.create_lookalike(client, token, adv, "LAL", aud_id)
    assert exc.value.code == 40002

    await _later(emu, db, emu.emulator.config.audience_ready_seconds + 1)
    [ready] = await api.list_audiences(client, token, adv, [aud_id])
    assert ready.ready and ready.size == 210  # 70% of 300 distinct rows
    lal = await api.create_lookalike(client, token, adv, "LAL", aud_id, "NARROW")
    listed = {a.audience_id: a for a in await api.list_audiences(client, token, adv)}
    assert listed[lal].kind == "lookalike" and listed[lal].source_id == aud_id

    # page_size above 100 is refused; pages carry TikTok's page_info.
    for i in range(3):
        await api.create_audience(client, token, adv, f"A{i}", "EMAIL_SHA256", [path])
    reply = await client.transport.call("GET", "dmp/custom_audience/list/", token=token,
                                        params={"advertiser_id": adv, "page": 2,
                                                "page_size": 2})
    assert reply.data["page_info"] == {"page": 2, "page_size": 2, "total_number": 5,
                                       "total_page": 3}
    with pytest.raises(InvalidRequestError):
        await client.transport.call("GET", "dmp/custom_audience/list/", token=token,
                                    params={"advertiser_id": adv, "page_size": 101})
    got = await client.transport.call("GET", "dmp/custom_audience/get/", token=token,
                                      params={"advertiser_id": adv,
                                              "custom_audience_ids": [aud_id]})
    assert got.data["list"][0]["audience_details"]["audience_id"] == aud_id

    await api.delete_audiences(client, token, adv, [lal])
    assert lal not in {a.audience_id for a in await api.list_audiences(client, token, adv)}
    with pytest.raises(InvalidRequestError) as exc:
        await api.delete_audiences(client, token, adv, [lal])
    assert exc.value.code == 40007


async def test_upload_refuses_wrong_signature_raw_rows_and_empty_files(
    client: TikTokClient, emu: Any, session: Any
) -> None:
    """A signature that is not the file's MD5 (40900), rows that are not hashes of the declared
    type (40002: raw emails, MD5s as SHA-256), an empty file (40906); a file_path of another
    type refuses the create."""
    token, adv = emu.access_token, _adv(emu)

    async def raw_upload(content: bytes, ctype: str, signature: str | None = None) -> dict:
        import aiohttp

        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("advertiser_id", adv)
        form.add_field("calculate_type", ctype)
        form.add_field("file_signature", signature or hashlib.md5(content).hexdigest())
        form.add_field("file", content, filename="f.txt", content_type="text/plain")
        url = f"{emu.url}/open_api/v1.3/dmp/custom_audience/file/upload/"
        async with session.post(url, data=form, headers={"Access-Token": token}) as resp:
            return await resp.json()

    assert (await raw_upload(_hashes(3), "EMAIL_SHA256", "0" * 32))["code"] == 40900
    assert (await raw_upload(b"a@b.io\nc@d.io\n", "EMAIL_SHA256"))["code"] == 40002
    md5s = b"".join(hashlib.md5(b"x%d" % i).hexdigest().encode() + b"\n" for i in range(3))
    assert (await raw_upload(md5s, "PHONE_SHA256"))["code"] == 40002
    assert (await raw_upload(md5s, "GAID_MD5"))["code"] == 0
    assert (await raw_upload(b"\n\n", "EMAIL_SHA256"))["code"] == 40906
    ok = await raw_upload(_hashes(2), "PHONE_SHA256")
    assert ok["code"] == 0
    with pytest.raises(InvalidRequestError):
        await api.create_audience(client, token, adv, "X", "EMAIL_SHA256",
                                  [ok["data"]["file_path"]])


def test_hash_file_normalises_and_hashes_in_memory() -> None:
    """Emails trimmed and lowercased, phones to E.164; headers and junk skipped; repeats
    dropped; the content is SHA-256 hex only."""
    h = audiences.hash_file(b"email,name\n Ann@Mail.COM ,Ann\nann@mail.com,Ann\nbob@x.org\n")
    assert h.calculate_type == "EMAIL_SHA256" and h.rows == 2
    assert h.skipped == 2  # the header line and the repeated Ann: lines, not cells
    lines = h.content.decode().split()
    assert lines[0] == hashlib.sha256(b"ann@mail.com").hexdigest()
    assert b"@" not in h.content
    p = audiences.hash_file(b"+1 (213) 373-4253\n0044 20 7946 0958\nphone\n")
    assert p.calculate_type == "PHONE_SHA256" and p.skipped == 1
    assert p.content.decode().split() == [hashlib.sha256(b"+12133734253").hexdigest(),
                                          hashlib.sha256(b"+442079460958").hexdigest()]
    for bad, code in ((b"  \n", "empty"), (b"name\nsurname\n", "no_rows"),
                      (b"\x00\x01", "not_text"),
                      (b"a" * (audiences.MAX_FILE_BYTES + 1), "too_big")):
        with pytest.raises(audiences.BadFile) as exc:
            audiences.hash_file(bad)
        assert exc.value.code == code


async def test_audiences_off_asks_nothing_on_makes_audience_and_lookalike(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """Off: FeatureOff and zero dmp/ calls. On: a file of emails becomes an audience whose rows
    at TikTok are the SHA-256 of the normalised emails (no raw email), then a lookalike; a
    second Make-lookalike finds the first instead of making another."""
    await sync_all(db, client)
    async with db.uow() as u:
        [account, *_] = await u.connections.accounts(USER, tracked_only=True)
    with pytest.raises(FeatureOff):
        await audiences.account_audiences(db.uow, client, USER, account.id)
    assert await optional_calls(emu) == {}

    await set_feature(db.uow, db.clock, USER, "audiences", True)
    hashed = audiences.hash_file("\n".join(EMAILS).encode())
    steps: list[str] = []

    async def progress(step: str) -> None:
        steps.append(step)

    aud_id = await audiences.create_from_file(db.uow, client, USER, account.id, "Buyers",
                                              hashed, progress)
    assert steps == ["upload", "create"]
    [stored] = emu.state.audience_files.values()
    assert stored["rows"][0] == hashlib.sha256(b"buyer0@example.com").hexdigest()
    assert not any("@" in r for r in stored["rows"]) and len(stored["rows"]) == 200

    with pytest.raises(audiences.NotReady):
        await audiences.make_lookalike(db.uow, client, USER, account.id, aud_id)
    await _later(emu, db, emu.emulator.config.audience_ready_seconds + 1)
    found = await audiences.account_audiences(db.uow, client, USER, account.id)
    [aud] = [a for a in found.audiences if a.audience_id == aud_id]
    assert aud.ready and aud.size == 140
    lal, made = await audiences.make_lookalike(db.uow, client, USER, account.id, aud_id)
    assert made
    again, made_again = await audiences.make_lookalike(db.uow, client, USER, account.id, aud_id)
    assert (again, made_again) == (lal, False)
    assert await audiences.missing_audiences(client, emu.access_token, account.advertiser_id,
                                             [aud_id, "999"]) == ["999"]


async def test_withheld_audiences_scope_is_scope_missing_never_retried(
    client: TikTokClient, emu: Any
) -> None:
    """A token whose consent withheld audiences: one refused request, ScopeMissingError."""
    token = (await emu.ctl("POST", "token", {"withhold": ["audiences"]}))["access_token"]
    with pytest.raises(ScopeMissingError) as exc:
        await api.list_audiences(client, token, _adv(emu))
    assert exc.value.group == "audiences"
    assert (await emu.requests()).get("dmp/custom_audience/list/") == 1
