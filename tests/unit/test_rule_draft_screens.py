"""The rule draft's screens (scope, schedule and limit, modes) tick what the draft holds, in
English and Russian, within Telegram's limits (telegram-bot-platform.md §1)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.i18n import make_i18n
from bot.views import rule_draft
from core.rules.settings import Frequency, RuleSettings, Schedule, Scope


def _ticked(markup: InlineKeyboardMarkup | None) -> list[str]:
    assert markup is not None
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert all(len((b.callback_data or "").encode()) <= 64 for b in buttons)
    return [b.text for b in buttons if b.text.startswith("✅")]


def _screens(locale: str, settings: RuleSettings) -> list[list[str]]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(locale):
        screens = [
            rule_draft.scope_screen(settings, []),
            rule_draft.schedule_screen(settings),
            rule_draft.modes_screen(settings),
        ]
    assert all(len(text) <= 4096 for text, _markup in screens)
    return [_ticked(markup) for _text, markup in screens]


def test_each_screen_ticks_what_the_draft_holds_in_both_languages() -> None:
    settings = RuleSettings(
        scope=Scope(accounts=(1,), match="contains", values=("US",)),
        aggregate="sum",
        schedule=Schedule(every_minutes=None, times=("09:00",), weekdays=(0, 4)),
        frequency=Frequency(1, 168),
        safe_mode="approve",
        risky_mode="alert",
        freshness_minutes=180,
        approval_minutes=30,
    )
    scope, schedule, modes = _screens("en", settings)
    assert scope == ["✅ Name contains…", "✅ Sum over the account"]
    assert schedule == ["✅ At set times…", "✅ Mon", "✅ Fri", "✅ once per week"]
    assert modes == ["✅ ask me", "✅ alert only", "✅ 180 min", "✅ 30 min"]
    russian = _screens("ru", settings)
    assert [len(s) for s in russian] == [2, 4, 4]
    assert not set(scope + schedule + modes[:2]) & {t for s in russian for t in s}
