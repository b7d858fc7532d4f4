"""Contract: the rest of Comment management (spec §9) as an outside client drives it over raw
HTTP (TikTok's SDK files yml_files/comment_*.yml and blockedword_*.yml): deleting one's own
reply, a comment's thread (comment/reference), blocked words and what they hide, and the
comment export task — all agreeing with comment/list for the same comments."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from sandbox.tiktok.blocked_words import matches
from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = "2026-11-29T12:00:00Z"
WINDOW = {"start_time": "2026-11-28", "end_time": "2026-11-30"}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


def ok(body: dict[str, Any]) -> Any:
    """The data of a successful envelope."""
    assert body["code"] == 0, body
    return body["data"]


def err(body: dict[str, Any], code: int) -> str:
    """The message of an error envelope with this code (and data {})."""
    assert body["code"] == code, body
    assert body["data"] == {} and body["message"]
    return str(body["message"])


async def _scene(emu: Emu, api: Api) -> tuple[str, str]:
    """The first demo account and its first ad group that has comments."""
    adv = next(iter(emu.state.advertisers))
    groups = ok(await api.get("adgroup/get/", advertiser_id=adv, page_size=100))["list"]
    for g in groups:
        if ok(await _list(api, adv, str(g["adgroup_id"])))["page_info"]["total_number"] > 3:
            return adv, str(g["adgroup_id"])
    raise AssertionError("no ad group with comments")


async def _list(api: Api, adv: str, group: str, **extra: Any) -> dict[str, Any]:
    """One comment/list call over WINDOW (the envelope)."""
    return await api.get("comment/list/", advertiser_id=adv, search_field="ADGROUP_ID",
                         search_value=group, **WINDOW, **extra)


async def _all(
    api: Api, adv: str, group: str, size: int = 100, **extra: Any
) -> list[dict[str, Any]]:
    """Every comment comment/list answers, page after page."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        data = ok(await _list(api, adv, group, page=page, page_size=size, **extra))
        out += data["comments"]
        if page >= data["page_info"]["total_page"]:
            return out
        page += 1


def _post_body(adv: str, c: dict[str, Any], text: str) -> dict[str, Any]:
    """comment_post.yml's body replying to a comment as comment/list answered it."""
    return {"advertiser_id": adv, "ad_id": c["ad_id"], "tiktok_item_id": c["tiktok_item_id"],
            "comment_id": c["comment_id"], "comment_type": "REPLY", "text": text,
            "identity_type": c["identity_type"], "identity_id": c["identity_id"]}


async def _reply(api: Api, adv: str, c: dict[str, Any], text: str) -> dict[str, Any]:
    """Reply to a comment with comment/post (the advertiser's own comment); the reply as
    comment/list then shows it (comment/post answers only comment_post.yml's few fields)."""
    posted = ok(await api.post("comment/post/", _post_body(adv, c, text)))["comment"]
    listed = await _all(api, adv, str(c["adgroup_id"]), comment_type=["REPLY"])
    return next(x for x in listed if x["comment_id"] == posted["comment_id"])


def _delete_body(adv: str, c: dict[str, Any]) -> dict[str, Any]:
    """comment_delete.yml's body for a comment as comment/list answered it."""
    return {"advertiser_id": adv, "ad_id": c["ad_id"], "tiktok_item_id": c["tiktok_item_id"],
            "comment_id": c["comment_id"], "identity_type": c["identity_type"],
            "identity_id": c["identity_id"]}


async def test_only_own_replies_are_deleted_and_a_deleted_one_is_gone(
    emu: Emu, api: Api
) -> None:
    adv, group = await _scene(emu, api)
    c = ok(await _list(api, adv, group, comment_type=["COMMENT"]))["comments"][0]
    assert c["can_delete"] is False
    reply = await _reply(api, adv, c, "Thanks, DM us!")
    listed = {x["comment_id"]: x for x in await _all(api, adv, group)}
    assert listed[reply["comment_id"]]["can_delete"] is True
    assert listed[c["comment_id"]]["replies"] == 1

    # A viewer's comment is not the advertiser's to delete; the body must name the comment's
    # own ad, video and identity; every field is required; a foreign account is refused.
    assert "own" in err(await api.post("comment/delete/", _delete_body(adv, c)), 40002)
    own = _delete_body(adv, listed[reply["comment_id"]])
    for wrong in ({"ad_id": "1"}, {"tiktok_item_id": "1"}, {"identity_id": "nobody"},
                  {"identity_type": "SOMEONE"}):
        err(await api.post("comment/delete/", {**own, **wrong}), 40002)
    for missing in own:
        if missing != "advertiser_id":
            err(await api.post("comment/delete/",
                               {k: v for k, v in own.items() if k != missing}), 40002)
    err(await api.post("comment/delete/", {**own, "advertiser_id": "1"}), 40001)
    assert reply["comment_id"] in {x["comment_id"] for x in await _all(api, adv, group)}

    assert ok(await api.post("comment/delete/", own)) == {}
    after = {x["comment_id"]: x for x in await _all(api, adv, group)}
    assert reply["comment_id"] not in after
    assert after[c["comment_id"]]["replies"] == 0
    assert ok(await _list(api, adv, group, comment_type=["REPLY"]))["comments"] == []

    # Gone: every call naming it answers "does not exist".
    rid = reply["comment_id"]
    err(await api.post("comment/delete/", own), 40007)
    err(await api.post("comment/status/update/", {"advertiser_id": adv, "comment_ids": [rid],
                                                  "operation": "HIDDEN"}), 40007)
    err(await api.post("comment/status/update/", {"advertiser_id": adv, "comment_ids": [rid],
                                                  "operation": "PIN"}), 40007)
    err(await api.post("comment/post/", {**_post_body(adv, c, "again"), "comment_id": rid}),
        40007)
    err(await api.get("comment/reference/", advertiser_id=adv, comment_id=rid,
                      comment_type="REPLY", original_comment_id=c["comment_id"]), 40007)


async def test_post_checks_every_field_comment_post_yml_requires(emu: Emu, api: Api) -> None:
    """comment_post.yml requires advertiser_id, ad_id, tiktok_item_id, comment_id,
    comment_type, text, identity_type, identity_id; the ad, video and identity must be the
    comment's, only REPLY is served, and only first-level comments are answered."""
    adv, group = await _scene(emu, api)
    c = ok(await _list(api, adv, group, comment_type=["COMMENT"]))["comments"][0]
    body = _post_body(adv, c, "We ship worldwide")
    for missing in body:
        if missing != "advertiser_id":
            msg = err(await api.post("comment/post/",
                                     {k: v for k, v in body.items() if k != missing}), 40002)
            assert missing in msg
    for wrong in ({"ad_id": "1"}, {"tiktok_item_id": "1"}, {"identity_id": "nobody"},
                  {"identity_type": "TT_USER" if c["identity_type"] != "TT_USER"
                   else "CUSTOMIZED_USER"},
                  {"identity_type": "BC_AUTH_TT"},  # not a valid key of IdentityType
                  {"identity_type": "SOMEONE"}, {"comment_type": "POST"},
                  {"comment_type": "OTHER"}, {"text": ""}, {"text": "x" * 151}):
        err(await api.post("comment/post/", {**body, **wrong}), 40002)
    err(await api.post("comment/post/", {**body, "comment_id": "42"}), 40007)
    err(await api.post("comment/post/", {**body, "advertiser_id": "1"}), 40001)
    assert ok(await _list(api, adv, group, comment_type=["REPLY"]))["comments"] == []

    reply = await _reply(api, adv, c, "We ship worldwide")
    assert reply["original_comment_id"] == c["comment_id"]
    assert (reply["tiktok_item_id"], reply["identity_type"], reply["identity_id"]) == (
        c["tiktok_item_id"], c["identity_type"], c["identity_id"])
    # A reply is not a first-level comment: it cannot be answered.
    err(await api.post("comment/post/", _post_body(adv, reply, "again")), 40002)
    replies = ok(await _list(api, adv, group, comment_type=["REPLY"]))["comments"]
    assert [r["comment_id"] for r in replies] == [reply["comment_id"]]


async def test_post_answers_data_comment_as_comment_post_yml(emu: Emu, api: Api) -> None:
    """comment_post.yml's response_rule: ``data.comment`` = {comment_id, create_time,
    reply_to_comment_id, text, tiktok_item_id}, nothing more; comment/list agrees."""
    adv, group = await _scene(emu, api)
    c = ok(await _list(api, adv, group, comment_type=["COMMENT"]))["comments"][0]
    data = ok(await api.post("comment/post/", _post_body(adv, c, "See you soon")))
    assert list(data) == ["comment"]
    posted = data["comment"]
    assert sorted(posted) == ["comment_id", "create_time", "reply_to_comment_id", "text",
                              "tiktok_item_id"]
    assert posted["reply_to_comment_id"] == c["comment_id"]
    assert posted["text"] == "See you soon"
    assert posted["tiktok_item_id"] == c["tiktok_item_id"]
    [listed] = [x for x in await _all(api, adv, group, comment_type=["REPLY"])
                if x["comment_id"] == posted["comment_id"]]
    assert listed["create_time"] == posted["create_time"]
    assert (listed["content"], listed["original_comment_id"]) == ("See you soon",
                                                                  c["comment_id"])


async def test_reference_answers_a_thread_as_the_list_shows_it(emu: Emu, api: Api) -> None:
    adv, group = await _scene(emu, api)
    c = ok(await _list(api, adv, group, comment_type=["COMMENT"]))["comments"][0]
    first = await _reply(api, adv, c, "Shipping is free this week")
    second = await _reply(api, adv, c, "Blue arrives in December")
    listed = {x["comment_id"]: x for x in await _all(api, adv, group)}

    data = ok(await api.get("comment/reference/", advertiser_id=adv,
                            comment_id=c["comment_id"], comment_type="COMMENT"))
    ids = [x["comment_id"] for x in data["comments"]]
    assert ids == [c["comment_id"], first["comment_id"], second["comment_id"]]
    assert data["page_info"] == {"page": 1, "page_size": 10, "total_number": 3,
                                 "total_page": 1}
    for x in data["comments"]:
        same = listed[x["comment_id"]]
        for key in ("content", "create_time", "comment_status", "comment_type", "user_name",
                    "user_id", "can_delete", "is_pinned", "hit_blockedword", "tiktok_item_id",
                    "identity_id", "identity_type"):
            assert x[key] == same[key], key
    assert data["comments"][0]["reply_user_info"]["user_name"] == ""
    assert data["comments"][1]["reply_user_info"]["user_name"] == c["user_name"]

    # A reply: itself with its original comment.
    data = ok(await api.get("comment/reference/", advertiser_id=adv,
                            comment_id=second["comment_id"], comment_type="REPLY",
                            original_comment_id=c["comment_id"]))
    assert [x["comment_id"] for x in data["comments"]] == [c["comment_id"],
                                                          second["comment_id"]]
    # Paging (page_size 1..100).
    page2 = ok(await api.get("comment/reference/", advertiser_id=adv,
                             comment_id=c["comment_id"], comment_type="COMMENT", page=2,
                             page_size=2))
    assert [x["comment_id"] for x in page2["comments"]] == [second["comment_id"]]
    assert page2["page_info"]["total_page"] == 2
    # What does not fit is refused.
    for bad in ({"comment_type": "REPLY"}, {"comment_type": "OTHER"}, {"page_size": 101},
                {"app": "DOUYIN"}):
        err(await api.get("comment/reference/", advertiser_id=adv, **{
            "comment_id": c["comment_id"], "comment_type": "COMMENT", **bad}), 40002)
    err(await api.get("comment/reference/", advertiser_id=adv, comment_id=c["comment_id"]),
        40002)
    err(await api.get("comment/reference/", advertiser_id=adv, comment_id=first["comment_id"],
                      comment_type="REPLY", original_comment_id=second["comment_id"]), 40002)
    err(await api.get("comment/reference/", advertiser_id=adv, comment_id="42",
                      comment_type="COMMENT"), 40007)
    err(await api.get("comment/reference/", advertiser_id="1", comment_id=c["comment_id"],
                      comment_type="COMMENT"), 40001)


async def test_blocked_word_list_update_delete_and_check(emu: Emu, api: Api) -> None:
    adv, _ = await _scene(emu, api)

    async def words(**page_info: int) -> dict[str, Any]:
        extra = {"page_info": page_info} if page_info else {}
        return dict(ok(await api.get("blockedword/list/", advertiser_id=adv, **extra)))

    assert (await words())["list"] == []
    body = {"advertiser_id": adv, "blocked_words": ["scam", "Fake", "free shipping"]}
    assert ok(await api.post("blockedword/create/", body)) == {}
    ok(await api.post("blockedword/create/", {**body, "blocked_words": ["SCAM"]}))  # kept
    listed = await words()
    assert [w["bw_content"] for w in listed["list"]] == ["scam", "Fake", "free shipping"]
    assert listed["page_info"] == {"page": 1, "page_size": 10, "total_number": 3,
                                   "total_page": 1}
    second = await words(page=2, page_size=2)
    assert [w["bw_content"] for w in second["list"]] == ["free shipping"]

    checked = ok(await api.get("blockedword/check/", advertiser_id=adv,
                               blocked_words=["SCAM", "love", "fake"]))["results"]
    assert checked == [{"word": "SCAM", "blocked": True}, {"word": "love", "blocked": False},
                       {"word": "fake", "blocked": True}]

    ok(await api.post("blockedword/update/", {"advertiser_id": adv, "old_word": "scam",
                                               "new_word": "развод"}))
    assert [w["bw_content"] for w in (await words())["list"]] == ["Fake", "free shipping",
                                                                  "развод"]
    ok(await api.post("blockedword/delete/", {"advertiser_id": adv,
                                               "blocked_words": ["fake"]}))
    checked = ok(await api.get("blockedword/check/", advertiser_id=adv,
                               blocked_words=["scam", "Fake", "развод"]))["results"]
    assert [r["blocked"] for r in checked] == [False, False, True]

    # Refusals: not on the list, an existing target, empty or missing words, page bounds.
    err(await api.post("blockedword/delete/", {"advertiser_id": adv,
                                                "blocked_words": ["nothing"]}), 40002)
    err(await api.post("blockedword/update/", {"advertiser_id": adv, "old_word": "nothing",
                                                "new_word": "x"}), 40002)
    err(await api.post("blockedword/update/", {"advertiser_id": adv, "old_word": "развод",
                                                "new_word": "free shipping"}), 40002)
    err(await api.post("blockedword/create/", {"advertiser_id": adv, "blocked_words": []}),
        40002)
    err(await api.post("blockedword/create/", {"advertiser_id": adv, "blocked_words": [" "]}),
        40002)
    err(await api.post("blockedword/create/", {"advertiser_id": adv}), 40002)
    err(await api.get("blockedword/check/", advertiser_id=adv), 40002)
    err(await api.get("blockedword/list/", advertiser_id=adv,
                      page_info={"page": 1, "page_size": 501}), 40002)
    err(await api.get("blockedword/list/", advertiser_id="1"), 40001)
    ok(await api.get("blockedword/list/", advertiser_id=adv,
                     page_info={"page": 1, "page_size": 500}))


async def test_blocked_word_export_task_runs_to_succeed(emu: Emu, api: Api) -> None:
    adv, _ = await _scene(emu, api)
    ok(await api.post("blockedword/create/", {"advertiser_id": adv,
                                               "blocked_words": ["scam", "fake"]}))
    task_id = ok(await api.post("blockedword/task/create/", {
        "advertiser_id": adv, "blocked_words": ["scam"], "lang": "EN"}))["task_id"]
    check = {"advertiser_id": adv, "task_id": task_id}
    assert ok(await api.get("blockedword/task/check/", **check))["status"] == "RUNNING"
    assert ok(await api.get("blockedword/task/check/", **check)) == {"task_id": task_id,
                                                                     "status": "SUCCEED"}
    assert ok(await api.post("blockedword/task/create/", {"advertiser_id": adv}))["task_id"]
    err(await api.post("blockedword/task/create/", {"advertiser_id": adv, "lang": "FR"}),
        40002)
    err(await api.get("blockedword/task/check/", advertiser_id=adv, task_id="5"), 40002)
    err(await api.get("blockedword/task/check/", advertiser_id=adv), 40002)
    # A comment export task's id is not a blocked-word task's.
    comment_task = ok(await api.post("comment/task/create/", {
        "advertiser_id": adv, "search_field": "ADGROUP_ID", "search_value": "1", **WINDOW}))
    err(await api.get("blockedword/task/check/", advertiser_id=adv, **comment_task), 40002)


def test_matching_follows_tiktoks_help_page() -> None:
    """ads.tiktok.com/help "About blocked words": whole words, case and punctuation ignored
    in spaced languages; a plain substring in unspaced ones."""
    assert matches("una", "una") and not matches("una", "cola")
    assert matches("I love", "I, Love you") and not matches("I love", "Iloveyou")
    assert not matches("I love", "I loved it")
    assert matches("567", "123 567") and not matches("567", "1234567")
    assert not matches("567", "i love567")
    assert matches("コーラ", "コーラ大好き") and not matches("コーラ", "コーーラ")
    assert matches("scam", "This is a SCAM, never arrived")
    assert matches("развод", "Это развод, не покупайте")


async def test_a_blocked_word_hides_matching_comments(emu: Emu, api: Api) -> None:
    adv, group = await _scene(emu, api)
    before = await _all(api, adv, group)
    assert not any(x["hit_blockedword"] for x in before)
    ok(await api.post("blockedword/create/", {"advertiser_id": adv,
                                               "blocked_words": ["fake", "scam"]}))
    await emu.ctl("POST", "clock", {"advance_seconds": 24 * 3600})
    rows = await _all(api, adv, group)
    old = {x["comment_id"] for x in before}
    new_hits = [x for x in rows if x["comment_id"] not in old and x["hit_blockedword"]]
    # "new" (the default): comments written after the word was added are hidden ...
    assert new_hits, "no new comment with the words in a day"
    for x in rows:
        hit = x["comment_id"] not in old and (matches("fake", x["content"])
                                              or matches("scam", x["content"]))
        assert x["hit_blockedword"] is hit, x
        if hit:
            assert x["comment_status"] == "HIDDEN" and x["is_pinned"] is False
    hidden = await _all(api, adv, group, comment_status=["HIDDEN"])
    assert {x["comment_id"] for x in hidden} == {x["comment_id"] for x in new_hits}
    # ... and cannot be shown, hidden or pinned by hand (TikTok's help page).
    cid = new_hits[0]["comment_id"]
    for op in ("PUBLIC", "HIDDEN", "PIN"):
        err(await api.post("comment/status/update/", {"advertiser_id": adv,
                                                      "comment_ids": [cid],
                                                      "operation": op}), 40002)
    # "all": matching comments written before the word are hidden too; deleting the word
    # shows them again.
    old_matching = [x["comment_id"] for x in before if matches("fake", x["content"])]
    assert old_matching, "no earlier comment with the word"
    await emu.ctl("POST", "config", {"blockedword_applies_to": "all"})
    rows = {x["comment_id"]: x for x in await _all(api, adv, group)}
    assert all(rows[i]["comment_status"] == "HIDDEN" for i in old_matching)
    ok(await api.post("blockedword/delete/", {"advertiser_id": adv,
                                               "blocked_words": ["fake", "scam"]}))
    rows = {x["comment_id"]: x for x in await _all(api, adv, group)}
    assert not any(x["hit_blockedword"] for x in rows.values())
    assert all(rows[i]["comment_status"] == "PUBLIC" for i in old_matching)


async def test_export_task_lists_what_comment_list_lists(emu: Emu, api: Api) -> None:
    adv, group = await _scene(emu, api)
    c = ok(await _list(api, adv, group, comment_type=["COMMENT"]))["comments"][0]
    reply = await _reply(api, adv, c, "Thanks!")
    ok(await api.post("comment/status/update/", {"advertiser_id": adv,
                                                 "comment_ids": [c["comment_id"]],
                                                 "operation": "HIDDEN"}))
    ok(await api.post("comment/delete/", _delete_body(adv, reply)))
    params = {"search_field": "ADGROUP_ID", "search_value": group, **WINDOW,
              "sort_field": "LIKES", "sort_type": "ASC"}
    await emu.ctl("POST", "config", {"comment_page_size_max": 10})  # the export pages too
    listed = await _all(api, adv, group, 10, sort_field="LIKES", sort_type="ASC")
    assert len(listed) > 10  # more than one page of comment/list
    task_id = ok(await api.post("comment/task/create/", {"advertiser_id": adv, **params,
                                                         "lang": "EN"}))["task_id"]

    check = {"advertiser_id": adv, "task_id": task_id}
    assert ok(await api.get("comment/task/check/", **check)) == {"task_id": task_id,
                                                                 "status": "RUNNING"}
    err(await api.get("comment/task/download/", **check), 40002)  # not finished
    assert ok(await api.get("comment/task/check/", **check))["status"] == "SUCCEED"
    text = ok(await api.get("comment/task/download/", **check))["csv"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["comment_id"] for r in rows] == [x["comment_id"] for x in listed]
    by_id = {r["comment_id"]: r for r in rows}
    assert by_id[c["comment_id"]]["comment_status"] == "HIDDEN"
    assert reply["comment_id"] not in by_id
    for x in listed[:5]:
        assert by_id[x["comment_id"]]["content"] == x["content"]
        assert by_id[x["comment_id"]]["create_time"] == x["create_time"]
        assert by_id[x["comment_id"]]["likes"] == str(x["likes"])

    # Filters as comment/list's, narrowed by comment_ids.
    some = [x["comment_id"] for x in listed[:3]]
    narrow = ok(await api.post("comment/task/create/", {"advertiser_id": adv, **params,
                                                        "comment_ids": some}))["task_id"]
    for _ in range(2):
        await api.get("comment/task/check/", advertiser_id=adv, task_id=narrow)
    text = ok(await api.get("comment/task/download/", advertiser_id=adv,
                            task_id=narrow))["csv"]
    assert sorted(r["comment_id"] for r in csv.DictReader(io.StringIO(text))) == sorted(some)
    hidden = ok(await api.post("comment/task/create/", {
        "advertiser_id": adv, **params, "comment_status": ["HIDDEN"]}))["task_id"]
    await api.get("comment/task/check/", advertiser_id=adv, task_id=hidden)
    ok(await api.get("comment/task/check/", advertiser_id=adv, task_id=hidden))
    text = ok(await api.get("comment/task/download/", advertiser_id=adv,
                            task_id=hidden))["csv"]
    assert [r["comment_id"] for r in csv.DictReader(io.StringIO(text))] == [c["comment_id"]]

    # Refusals: missing required fields, bad enums, unknown or foreign tasks.
    for missing in ("search_field", "search_value", "start_time", "end_time"):
        body = {"advertiser_id": adv, **{k: v for k, v in params.items() if k != missing}}
        err(await api.post("comment/task/create/", body), 40002)
    err(await api.post("comment/task/create/", {"advertiser_id": adv, **params,
                                                "lang": "FR"}), 40002)
    err(await api.post("comment/task/create/", {"advertiser_id": adv, **params,
                                                "comment_ids": []}), 40002)
    err(await api.get("comment/task/check/", advertiser_id=adv, task_id="123"), 40002)
    err(await api.get("comment/task/check/", **check, source="OTHER"), 40002)
    err(await api.get("comment/task/check/", advertiser_id="1", task_id=task_id), 40001)


async def test_every_new_call_needs_the_comment_scope(emu: Emu, api: Api) -> None:
    """A token whose consent withheld Comment management is refused on each of them."""
    minted = await emu.ctl("POST", "token", {"withhold": ["comments"]})
    adv = minted["advertiser_ids"][0]
    bare = Api(api.api_url, minted["access_token"], api.session)
    gets = {"comment/reference/": {"comment_id": "1", "comment_type": "COMMENT"},
            "comment/task/check/": {"task_id": "1"}, "blockedword/list/": {},
            "blockedword/task/check/": {"task_id": "1"},
            "blockedword/check/": {"blocked_words": ["x"]}}
    for path, params in gets.items():
        err(await bare.get(path, advertiser_id=adv, **params), 40001)
    for path in ("comment/delete/", "comment/task/create/", "blockedword/create/",
                 "blockedword/update/", "blockedword/delete/", "blockedword/task/create/"):
        err(await bare.post(path, {"advertiser_id": adv, "blocked_words": ["x"]}), 40001)
    assert ok(await api.get("blockedword/list/", advertiser_id=adv))["list"] == []
