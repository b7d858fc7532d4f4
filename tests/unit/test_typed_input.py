"""Every handler of typed text answers any string up to 10,000 characters within Telegram's
limits, and never with a traceback: one property test per conversation state (bot/states.py).

The real dispatcher is fed raw updates (as tests/unit/test_dispatcher.py does) through a
session that checks every text the bot sends or edits the way the Bot API does: valid HTML,
1-4096 characters after parsing, counted in UTF-16 units (shared/spec/telegram-bot-platform.md
§1); the sandbox's own parser is reused for that.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.callbacks import ManageCb
from bot.routers import creatives as creatives_router
from bot.routers import identities as identities_router
from bot.routers import manage as manage_router
from bot.routers import rule_actions as rule_actions_router
from bot.routers import rules as rules_router
from bot.routers import templates as templates_router
from bot.states import (
    BUTTON_STATES,
    CreativeStates,
    IdentityStates,
    LaunchStates,
    ManageStates,
    RuleStates,
    SettingsStates,
    SignUpStates,
    StatsStates,
    SupportStates,
    TemplateStates,
)
from core.billing.plans import PlanBook
from core.clock import FixedClock
from core.creatives import add_creative_from_url
from core.rules.settings import RuleSettings, to_json
from core.settings import load_settings
from core.support import open_ticket
from core.templates.document import to_document
from core.users import SignUp, register_user
from sandbox.telegram.html_check import HtmlParseError, parse_html, utf16_len
from sandbox.telegram.limits import MAX_TEXT
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory
from tests.e2e.test_templates import built
from tests.unit.test_dispatcher import DP, RecordingSession

USER, OPERATOR = 4242, 900
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
_ids = itertools.count(1000)


class LimitsSession(RecordingSession):
    """Refuses what Telegram refuses in a text (bad HTML, empty, over 4096) and answers a sent
    message with a Message, so handlers that edit what they sent keep going."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's BaseSession signature
    ) -> TelegramType:
        self.calls.append(method)
        if isinstance(method, SendMessage | EditMessageText):
            try:
                parsed = parse_html(method.text)
            except HtmlParseError as exc:
                self.refused.append(f"can't parse entities: {exc}")
                return True  # type: ignore[return-value]
            if not parsed.text.strip() or utf16_len(parsed.text) > MAX_TEXT:
                self.refused.append(f"{utf16_len(parsed.text)} characters")
            if isinstance(method, SendMessage):
                chat = Chat(id=int(method.chat_id), type="private")
                sent = Message(message_id=next(_ids), date=NOW, chat=chat, text=parsed.text)
                return sent.as_(bot)  # type: ignore[return-value]
        return True  # type: ignore[return-value]


class Failures(logging.Handler):
    """Collects what the dispatcher's one error handler logs (bot/errors.py: a traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Chat_:
    """The dispatcher with this test's database, a registered user and their FSM context."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow, self.session = uow, LimitsSession()
        self.bot = Bot("42:TEST", session=self.session)
        self.failures = Failures()

    def state(self, user_id: int = USER) -> FSMContext:
        key = StorageKey(bot_id=42, chat_id=user_id, user_id=user_id)
        return FSMContext(storage=DP.storage, key=key)

    async def type(self, text: str, user_id: int = USER, **deps: object) -> None:
        """The user sends `text`; the bot's answers are checked as Telegram would."""
        self.session.calls.clear()
        self.session.refused.clear()
        self.failures.records.clear()
        update = {
            "update_id": next(_ids),
            "message": {
                "message_id": next(_ids),
                "date": int(NOW.timestamp()),
                "text": text,
                "chat": {"id": user_id, "type": "private"},
                "from": {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": "Ann",
                    "language_code": "en",
                },
            },
        }
        logger = logging.getLogger("bot.errors")
        logger.addHandler(self.failures)
        try:
            await DP.feed_raw_update(
                self.bot,
                update,
                uow=self.uow,
                clock=FixedClock(NOW),
                **{"settings": load_settings(), "plans": PlanBook(), **deps},
            )
        finally:
            logger.removeHandler(self.failures)
        assert [r.getMessage() for r in self.failures.records] == [], "the handler failed"
        assert self.session.refused == [], "Telegram would refuse the answer"
        said = [c for c in self.session.calls if isinstance(c, SendMessage | EditMessageText)]
        assert said, "the bot said nothing"
        apology = "Something went wrong on our side"
        assert not any(apology in c.text for c in said)


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat_]:
    path = tmp_path
    engine = create_engine(f"sqlite+aiosqlite:///{path}/t.db")
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), None)
    for uid in (USER, OPERATOR):
        form = SignUp(uid, "Ann", None, "ann", "en", "Europe/Berlin", None, False)
        await register_user(uow, FixedClock(NOW), form)
    yield Chat_(uow)
    await engine.dispose()


# Any text a person (or a paste) can send; the long and awkward ones always.
TYPED = st.text(min_size=1, max_size=10_000).filter(str.strip)
LONG = ("x" * 5_000, "<&>" * 3_334, "Warsaw " * 1_428, "a, " * 3_333, "1" * 10_000, "€" * 10_000)
# Numbers that are not amounts anyone means (Decimal takes them; quantize does not).
AWKWARD = ("1e100", "+1e100%", "9" * 40, "1e-100", "NaN", "-Infinity", "12:00 " * 1_000)


def typed_examples(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Hypothesis' text, with the long examples always tried."""
    for text in (*LONG, *AWKWARD):
        test = example(text=text)(test)
    return settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(given(text=TYPED)(test))


async def _enter(chat: Chat_, state: State | None, data: dict[str, Any] | None = None) -> None:
    ctx = chat.state()
    await ctx.clear()
    await ctx.set_state(state)
    if data:
        await ctx.update_data(data)


class _Changer:
    """Stands in for the TikTok side of changes; the typed amount is refused before it."""


RULE = "campaign: spend > 10 in today -> notify"
DRAFT = {"text": RULE, "settings": to_json(RuleSettings()), "name": "", "rule_id": None}


async def _creative(chat: Chat_) -> int:
    added = await add_creative_from_url(chat.uow, USER, "https://example.com/clip.mp4")
    return added.creative.id


SETUPS: dict[str, Callable[[Chat_], Awaitable[tuple[State | None, dict[str, Any]]]]] = {}


def setup(name: str) -> Callable[[Any], Any]:
    def register(func: Any) -> Any:
        SETUPS[name] = func
        return func

    return register


@setup("signup.time_zone")
async def _s1(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return SignUpStates.time_zone, {"lang": "en"}


@setup("signup.email")
async def _s2(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return SignUpStates.email, {"lang": "en", "time_zone": "Europe/Berlin"}


@setup("settings.time_zone")
async def _s3(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return SettingsStates.time_zone, {}


@setup("settings.email")
async def _s4(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return SettingsStates.email, {}


@setup("support.question")
async def _s5(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return SupportStates.question, {}


@setup("stats.custom_range")
async def _s6(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return StatsStates.custom_range, {}


@setup("rules.text")
async def _s7(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return RuleStates.text, {}


@setup("rules.name")
async def _s8(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return RuleStates.name, {rules_router.DRAFT: DRAFT}


@setup("rules.values")
async def _s9(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return RuleStates.values, {rules_router.DRAFT: DRAFT, "rule_match": "contains"}


@setup("rules.values.ids")
async def _s10(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return RuleStates.values, {rules_router.DRAFT: DRAFT, "rule_match": "ids"}


@setup("rules.times")
async def _s11(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return RuleStates.times, {rules_router.DRAFT: DRAFT}


@setup("rules.frequency")
async def _s12(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return RuleStates.frequency, {rules_router.DRAFT: DRAFT}


@setup("rules.cond_value")
async def _s13(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    build = {"level": "campaign", "conds": [], "joiner": None, "metric": "cpa", "op": ">"}
    return RuleStates.cond_value, {rules_router.BUILD: build}


@setup("rules.action_value")
async def _s14(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    build = {
        "level": "campaign",
        "conds": ["spend > 10 in today"],
        "joiner": None,
        "action": "budget",
    }
    return RuleStates.action_value, {rules_router.BUILD: build}


@setup("rules.edit_value")
async def _s15(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return RuleStates.edit_value, {rule_actions_router.EDIT_KEY: 987654}


@setup("manage.amount")
async def _s16(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    packed = ManageCb(a="card", id=987654, l="c", o="1", x="budget").pack()
    return ManageStates.amount, {manage_router.AMOUNT_KEY: packed}


@setup("launch.when")
async def _s17(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return LaunchStates.when, {}


@setup("templates.import_file")
async def _s18(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return TemplateStates.import_file, {}


@setup("creatives.library")
async def _s19(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return CreativeStates.library, {}


@setup("creatives.rename")
async def _s20(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return CreativeStates.rename, {creatives_router.RENAME_KEY: await _creative(chat)}


@setup("identities.name")
async def _s21(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
    return IdentityStates.name, {identities_router.ACCOUNT_KEY: 1}


def _template_field(
    field: str,
) -> Callable[[Chat_], Awaitable[tuple[State | None, dict[str, Any]]]]:
    async def make(chat: Chat_) -> tuple[State | None, dict[str, Any]]:
        doc = {"doc": to_document(built()), "id": None, "guide": None}
        return TemplateStates.value, {
            templates_router.DRAFT: doc,
            templates_router.ASK: {"f": field, "g": 0},
        }

    return make


for _field in sorted(templates_router.fields.TYPED_FIELDS):
    SETUPS[f"templates.value.{_field}"] = _template_field(_field)


async def test_every_state_that_takes_text_has_a_property_test(chat: Chat_) -> None:
    """A new state that takes typed text gets a setup here, and so a property test."""
    groups = (SignUpStates, SettingsStates, SupportStates, StatsStates, RuleStates, ManageStates)
    groups += (LaunchStates, TemplateStates, CreativeStates, IdentityStates)
    states = {s.state for g in groups for s in g.__all_states__}
    buttons_or_files = {s.state for s in (*BUTTON_STATES, IdentityStates.avatar)}
    tested = {SupportStates.operator_reply.state}  # the operator's own test, below
    for make in SETUPS.values():
        state, _ = await make(chat)
        tested.add(state.state if state is not None else None)
    assert states - buttons_or_files <= tested


@pytest.mark.parametrize("where", sorted(SETUPS))
@typed_examples
async def test_any_typed_text_gets_an_answer_within_limits(
    chat: Chat_, where: str, text: str
) -> None:
    state, data = await SETUPS[where](chat)
    await _enter(chat, state, data)
    await chat.type(text, changer=_Changer())


@typed_examples
async def test_an_operators_long_answer_is_delivered_within_limits(chat: Chat_, text: str) -> None:
    ticket = await open_ticket(chat.uow, USER, "Where is my money?")
    ctx = chat.state(OPERATOR)
    await ctx.set_state(SupportStates.operator_reply)
    await ctx.update_data(ticket_id=ticket)
    operators = load_settings().model_copy(update={"admin_ids": str(OPERATOR)})
    await chat.type(text, user_id=OPERATOR, settings=operators)


async def test_what_the_over_long_answers_say(chat: Chat_) -> None:
    """The measured case (5,000 characters where a rule is expected) and a long support
    message get a plain answer saying the limit, not a quote of the whole input."""
    said: dict[str, str] = {}
    for where, text in (("rules.text", "x" * 5_000), ("support.question", "help " * 1_000)):
        state, data = await SETUPS[where](chat)
        await _enter(chat, state, data)
        await chat.type(text)
        [reply] = [c for c in chat.session.calls if isinstance(c, SendMessage)]
        said[where] = reply.text
    assert said["rules.text"] == (
        "That is 5000 characters; a rule is at most 500. Shorten it and send it again, or /cancel."
    )
    assert said["support.question"].startswith(
        "That message is 5000 characters long; one message to support holds up to 3000."
    )
    assert await chat.state().get_state() == SupportStates.question.state  # may send it again
