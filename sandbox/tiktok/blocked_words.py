"""Blocked words of an ad account (spec §9 "Comment management": ``/blockedword/*``).

Shapes (TikTok's own SDK files, tiktok/tiktok-business-api-sdk ``yml_files/blockedword_*.yml``,
and the Go SDK bububa/tiktok-business ``model/comment/blockedword/*.go``):

* ``POST blockedword/create/``: body ``advertiser_id``, ``blocked_words`` (list, both
  required); ``data: {}`` (response_rule null).
* ``POST blockedword/update/``: body ``advertiser_id``, ``old_word``, ``new_word`` (all
  required); ``data: {}``.
* ``POST blockedword/delete/``: body ``advertiser_id``, ``blocked_words`` (both required);
  ``data: {}``.
* ``GET blockedword/list/``: ``advertiser_id``; ``page_info`` a JSON object ``{"page": ≥1
  (default 1), "page_size": 1..500 (default 10)}`` (the file's schema); answers
  ``data.list[] {bw_content}`` and ``data.page_info {page, page_size, total_number,
  total_page}``.
* ``GET blockedword/check/``: ``advertiser_id``, ``blocked_words`` (JSON list, required);
  answers ``data.results[] {word, blocked}`` in the order asked.

What a blocked word does (TikTok Ads Manager help, "About blocked words", ads.tiktok.com/help/
article/about-blocked-words): comments under the account's ads that contain a blocked word
are hidden automatically. Matching: for languages that put spaces between words the word
(or phrase) must appear as whole words, case and punctuation ignored ("una" blocks "una", not
"cola"; "I love" blocks "I, love you", not "I loved"; "567" blocks "123 567", not "1234567");
for languages without spaces (CJK, kana) it is a plain substring ("コーラ" blocks
"コーラ大好き"). The help page "How to view and manage comments" adds that a comment holding a
blocked word cannot be hidden or shown by hand (comments.py refuses it with 40002 [U: code]).
comment/list answers such a comment with ``hit_blockedword: true`` and ``comment_status``
HIDDEN.

Uncertain [U], and configurable or tagged:
* Whether a new word also hides comments written before it was added is not documented ->
  ``blockedword_applies_to`` (config.py): "new" (default; a comment is hit when a matching
  word was on the list at the moment it was written, so removing the word later does not
  show it again) or "all" (every comment matching a word on the list now; removing the word
  shows them again). Comments the advertiser wrote (comment/post replies) are matched too.
* Limits on the number or length of words are not documented: none are enforced; an empty
  word is refused (40002). Words are compared case-insensitively (the matching ignores case),
  and kept as first written.
* Creating a word already on the list leaves it as it is (no error); deleting or updating a
  word not on the list is refused with 40002, as is updating to a word already on it.
* blockedword/list order is not documented: the order the words were added.
* The blocked-word export tasks (``blockedword/task/create|check/``) are in comment_tasks.py.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.tiktok.api_account import paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import param_error

LIST_PAGE_SIZE_MAX = 500  # blockedword_list.yml: page_info.page_size maximum 500
# Scripts written without spaces between words (CJK ideographs, kana, Hangul is spaced).
NO_SPACE_SCRIPT = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"\w+")


def _entries(ctx: Ctx, advertiser_id: str) -> list[dict[str, Any]]:
    """The account's blocked-word history (added / removed times), oldest first."""
    return ctx.world.blocked_words.setdefault(advertiser_id, [])


def active_words(ctx: Ctx, advertiser_id: str) -> list[str]:
    """The words on the account's list now, in the order they were added."""
    return [e["word"] for e in _entries(ctx, advertiser_id) if e["removed"] is None]


def matches(word: str, text: str) -> bool:
    """Whether a comment's text holds a blocked word, by the help page's rules."""
    if NO_SPACE_SCRIPT.search(word):
        return word.casefold() in text.casefold()
    want = WORD.findall(word.casefold())
    have = WORD.findall(text.casefold())
    if not want:
        return word.casefold() in text.casefold()
    n = len(want)
    return any(have[i : i + n] == want for i in range(len(have) - n + 1))


def hit(ctx: Ctx, advertiser_id: str, text: str, at: float) -> bool:
    """Whether a comment written at ``at`` is hidden by the account's blocked words."""
    entries = ctx.world.blocked_words.get(advertiser_id)
    if not entries:
        return False
    if ctx.emu.config.blockedword_applies_to == "all":
        live = [e for e in entries if e["removed"] is None]
    else:
        live = [e for e in entries
                if e["added"] <= at and (e["removed"] is None or at < e["removed"])]
    return any(matches(e["word"], text) for e in live)


def _words(ctx: Ctx) -> list[str]:
    """The ``blocked_words`` list of a request: required, no empty word."""
    words = ctx.params.str_list("blocked_words", required=True, min_items=1) or []
    for w in words:
        if not w.strip():
            raise param_error("blocked_words cannot contain an empty word.")
    return words


def _find(ctx: Ctx, advertiser_id: str, word: str) -> dict[str, Any] | None:
    """The live entry of a word (case-insensitive), if it is on the list."""
    key = word.strip().casefold()
    for e in _entries(ctx, advertiser_id):
        if e["removed"] is None and e["word"].casefold() == key:
            return e
    return None


@route("blockedword/create/", "POST")
def blockedword_create(ctx: Ctx) -> Any:
    """Add words to the account's block list (words already on it are kept as they are)."""
    adv = ctx.advertiser()
    for word in _words(ctx):
        if _find(ctx, adv.advertiser_id, word) is None:
            _entries(ctx, adv.advertiser_id).append(
                {"word": word.strip(), "added": ctx.now, "removed": None})
    return {}


@route("blockedword/update/", "POST")
def blockedword_update(ctx: Ctx) -> Any:
    """Replace a blocked word with another."""
    p = ctx.params
    adv = ctx.advertiser()
    old, new = p.req("old_word"), p.req("new_word")
    if not new.strip():
        raise param_error("new_word cannot be empty.")
    entry = _find(ctx, adv.advertiser_id, old)
    if entry is None:
        raise param_error(f"old_word {old} is not a blocked word.")
    if new.strip().casefold() != old.strip().casefold() and _find(ctx, adv.advertiser_id, new):
        raise param_error(f"new_word {new} is already a blocked word.")
    entry["removed"] = ctx.now
    _entries(ctx, adv.advertiser_id).append(
        {"word": new.strip(), "added": ctx.now, "removed": None})
    return {}


@route("blockedword/delete/", "POST")
def blockedword_delete(ctx: Ctx) -> Any:
    """Remove words from the block list (all of them must be on it)."""
    adv = ctx.advertiser()
    words = _words(ctx)
    found = [_find(ctx, adv.advertiser_id, w) for w in words]
    missing = [w for w, e in zip(words, found, strict=True) if e is None]
    if missing:
        raise param_error(f"Not blocked words: {missing}.")
    for e in found:
        assert e is not None
        e["removed"] = ctx.now
    return {}


@route("blockedword/list/")
def blockedword_list(ctx: Ctx) -> Any:
    """The account's blocked words, paged by the ``page_info`` object."""
    adv = ctx.advertiser()
    info = ctx.params.obj("page_info")
    page, size = info.get("page", 1), info.get("page_size", 10)
    for name, value, hi in (("page", page, 10**9), ("page_size", size, LIST_PAGE_SIZE_MAX)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
            raise param_error(f"page_info.{name} should be an integer between 1 and {hi}.")
    shown, page_info = paginate(active_words(ctx, adv.advertiser_id), page, size)
    return {"list": [{"bw_content": w} for w in shown], "page_info": page_info}


@route("blockedword/check/")
def blockedword_check(ctx: Ctx) -> Any:
    """Whether each word asked is on the account's block list."""
    adv = ctx.advertiser()
    return {"results": [{"word": w, "blocked": _find(ctx, adv.advertiser_id, w) is not None}
                        for w in _words(ctx)]}
