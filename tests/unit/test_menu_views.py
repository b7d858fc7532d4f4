"""The main menu as the user reads it: every section's button, in the reader's language each
time, whichever language another reader saw it in first; the welcome and the paused banner."""

from __future__ import annotations

from bot.callbacks import MenuCb
from bot.i18n import make_i18n
from bot.views import menu as view


def _menu(locale: str, **kwargs: object) -> tuple[str, list[tuple[str, str]]]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(locale):
        text, markup = view.main_menu(**kwargs)  # type: ignore[arg-type]
    assert markup is not None
    buttons = [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]
    return text, buttons


def test_each_reader_gets_the_sections_in_their_own_language() -> None:
    en_text, en = _menu("en")
    ru_text, ru = _menu("ru")
    again_text, again = _menu("en")
    assert "main menu" in en_text and "main menu" not in ru_text
    assert [label for label, _ in en][:2] == ["📊 Accounts", "📈 Stats"]
    assert [label for label, _ in ru][:2] == ["📊 Аккаунты", "📈 Статистика"]
    assert again == en and again_text == en_text
    sections = [MenuCb.unpack(data).section for _, data in en]
    assert sections == list(view.SECTIONS) == [MenuCb.unpack(d).section for _, d in ru]


def test_the_welcome_and_the_paused_banner_sit_above_the_same_buttons() -> None:
    _, plain = _menu("en")
    text, welcomed = _menu("en", greeting_name="Ann <3", paused=True)
    assert text.startswith("✅ You're all set, Ann &lt;3!")
    assert "Your account is paused" in text
    assert welcomed == plain
