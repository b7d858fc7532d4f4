"""The chat's own texts (bot.views) on the dashboard's pages, in the reader's language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web
from markupsafe import Markup

from web.render import language
from web.security import DEPS_KEY, USER


@contextmanager
def in_language(request: web.Request) -> Iterator[None]:
    """gettext in the reader's language while bot.views texts are made."""
    deps = request.app[DEPS_KEY]
    with deps.i18n.context(), deps.i18n.use_locale(language(request)):
        yield


def chat_html(text: str) -> Markup:
    """A text the chat's views wrote (Telegram HTML: <b>, <i>, <code>, values already escaped
    by them) shown as it is; the page keeps its line breaks (CSS .chat: white-space: pre-line)."""
    return Markup(text)  # escaped by the chat's views, which send it to Telegram


def signed_in(request: web.Request) -> None:
    """To the sign-in page unless there is a session."""
    if request[USER] is None:
        raise web.HTTPSeeOther("/app/")


def page_number(request: web.Request) -> int:
    """The `page` query parameter (0-based), 0 when missing or not a number."""
    raw = request.query.get("page", "0")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 0
