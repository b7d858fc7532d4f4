"""TikTok client configuration from the environment (design.md, configuration contract)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.tiktok.oauth import DEFAULT_AUTH_URL

DEFAULT_API_URL = "https://business-api.tiktok.com"


@dataclass(frozen=True, slots=True)
class TikTokConfig:
    """Where the Marketing API lives and which app calls it."""

    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    app_id: str = ""
    secret: str = field(default="", repr=False)
    qps: float = 10.0  # spec §8.2: default/basic tier is 10 QPS per app
    redis_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TikTokConfig:
        """Read TIKTOK_API_URL, TIKTOK_AUTH_URL, TIKTOK_APP_ID, TIKTOK_APP_SECRET,
        TIKTOK_QPS and REDIS_URL."""
        env = os.environ if env is None else env
        return cls(
            api_url=env.get("TIKTOK_API_URL") or DEFAULT_API_URL,
            auth_url=env.get("TIKTOK_AUTH_URL") or DEFAULT_AUTH_URL,
            app_id=env.get("TIKTOK_APP_ID", ""),
            secret=env.get("TIKTOK_APP_SECRET", ""),
            qps=float(env.get("TIKTOK_QPS") or 10.0),
            redis_url=env.get("REDIS_URL") or None,
        )

    @classmethod
    def from_settings(cls, settings: Any, qps: float | None = None) -> TikTokConfig:
        """Build from core.settings.Settings (TIKTOK_QPS is read from the environment)."""
        secret = getattr(settings, "tiktok_app_secret", None)
        if secret is not None and hasattr(secret, "get_secret_value"):
            secret = secret.get_secret_value()
        env_qps = os.environ.get("TIKTOK_QPS")
        return cls(
            api_url=settings.tiktok_api_url,
            auth_url=settings.tiktok_auth_url,
            app_id=settings.tiktok_app_id or "",
            secret=secret or "",
            qps=qps if qps is not None else float(env_qps or 10.0),
            redis_url=settings.redis_url,
        )
