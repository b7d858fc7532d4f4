"""/web's message: the one-time link always; a Mini App button only for an https URL (Bot API
refuses others), else the dashboard's address in the text; in the reader's language."""

from __future__ import annotations

from bot.i18n import make_i18n
from bot.views import dashboard as view


def test_web_message_with_and_without_an_https_mini_app() -> None:
    i18n = make_i18n()
    link = "http://127.0.0.1:8080/app/signin/abc"
    with i18n.context(), i18n.use_locale("en"):
        text, keyboard = view.signin(link, "http://127.0.0.1:8080/app/")
        assert link in text and "works once, for 10 minutes" in text
        assert keyboard is None and "Dashboard: http://127.0.0.1:8080/app/" in text
        text, keyboard = view.signin(link, "https://ttpulse.example/app/")
        assert keyboard is not None
        [[button]] = keyboard.inline_keyboard
        assert button.web_app is not None and button.web_app.url == "https://ttpulse.example/app/"
    with i18n.context(), i18n.use_locale("ru"):
        text, _ = view.signin(link, "http://127.0.0.1:8080/app/")
        assert "ссылка для входа" in text and link in text
