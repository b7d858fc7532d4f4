"""Offline Telegram Bot API sandbox: server (`server.py`), test driver (`driver.py`) and a
terminal chat client for people (`chat.py`). See shared/spec/telegram-bot-platform.md §5.3."""
