"""Mini App launch data as Telegram makes it: signed initData and the URL a client opens.

Telegram opens a web_app button's URL with `#tgWebAppData=<initData>&tgWebAppVersion=…&
tgWebAppPlatform=…&tgWebAppThemeParams=…` (the fragment never reaches the server); initData is
signed with the bot's token (spec §6.8), which this sandbox server knows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import quote, urlencode

# A light theme as Telegram sends it (tgWebAppThemeParams), so the page's CSS vars are exercised.
THEME = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579",
         "link_color": "#3390ec", "button_color": "#3390ec", "button_text_color": "#ffffff",
         "secondary_bg_color": "#f4f4f5"}


def sign_init_data(bot_token: str, user: dict[str, object], auth_date: int | None = None,
                   **extra: str) -> str:
    """initData for `user` (a WebAppUser dict), signed with `bot_token` the way Telegram does."""
    fields = {
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        "query_id": "AAH" + hashlib.sha256(repr(user).encode()).hexdigest()[:16],
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        **extra,
    }
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def launch_url(url: str, init_data: str, platform: str = "sandbox") -> str:
    """The URL a Telegram client opens for a Mini App: launch parameters in the fragment."""
    fragment = urlencode({
        "tgWebAppData": init_data,
        "tgWebAppVersion": "8.0",
        "tgWebAppPlatform": platform,
        "tgWebAppThemeParams": json.dumps(THEME, separators=(",", ":")),
    }, quote_via=quote)
    return f"{url.split('#', 1)[0]}#{fragment}"
