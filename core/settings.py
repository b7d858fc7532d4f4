"""Service settings from the environment or `.env` (the configuration contract, design.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.sync import Cadence
from storage.vault import Keyring, KeyringError, parse_keyring

_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")


@dataclass(frozen=True)
class Leases:
    """Lease lengths of the claimed background work: an instance killed with work in hand
    loses it to another after this long (issue 15)."""

    sync: timedelta
    rules: timedelta
    launches: timedelta
    outbox: timedelta
    trackers: timedelta
    purge: timedelta


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message says which and how to fix it."""


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    tiktok_api_url: str = "https://business-api.tiktok.com"
    tiktok_auth_url: str = "https://business-api.tiktok.com/portal/auth"
    tiktok_app_id: str | None = None
    tiktok_app_secret: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8080"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///data/ttpulse.db"
    redis_url: str | None = None
    encryption_keys: SecretStr | None = None
    admin_ids: str = ""
    webhook_secret: SecretStr | None = None
    # Bearer token for GET /metrics; without it only loopback and private addresses may scrape.
    metrics_token: SecretStr | None = None
    clock_offset_seconds: float = 0.0  # testing and demos only: shifts the service's "now"
    tiktok_qps: float = Field(default=10.0, gt=0)
    sync_today_minutes: float = Field(default=15, gt=0)
    sync_window_minutes: float = Field(default=60, gt=0)
    sync_tick_seconds: float = Field(default=20.0, gt=0)
    # How often a watched campaign's new comments are pulled (issue 17; one list request per
    # ad group each time, so this is the feature's QPS cost).
    comments_pull_minutes: float = Field(default=10, gt=0)
    # How a comment is pinned at TikTok (core/tiktok/comments.py PIN_VIA: "status", "endpoint"
    # or "off"): TikTok's SDK documents no pin call for ads' comments, so it is a setting.
    tiktok_comment_pin: Literal["status", "endpoint", "off"] = "status"
    # "Tracking broken?" (issue 17, core/pixel_watch.py): how often each ad account's pixel
    # event counts are read (two or three stats requests, and adgroup/get only when an event
    # looks silent), and how long an event must stay at zero while its ads spend to alert.
    pixel_watch_minutes: float = Field(default=30, gt=0)
    pixel_silent_hours: float = Field(default=3, gt=0)
    # Sync jobs one instance runs at once (they wait on TikTok, whose QPS the shared limiter
    # holds whatever this is).
    sync_concurrency: int = Field(default=8, ge=1, le=64)
    notify_tick_seconds: float = Field(default=2.0, gt=0)
    # Messages per second this instance sends across all chats. Telegram allows "about 30"
    # (telegram-bot-platform.md §2.1) but its algorithm is not public and long messages hit the
    # limit sooner, so production keeps 25 (a sixth of headroom); several instances sharing one
    # bot token must split it. Against a known token bucket (the sandbox) 29.5 is safe.
    telegram_global_rate: float = Field(default=25.0, gt=0, le=1000)
    # Messages per second to one chat after a burst of 3: Telegram asks for about 1 (§2.1).
    # Only a Bot API server with other limits (the sandbox in tests) warrants changing it.
    telegram_chat_rate: float = Field(default=0.95, gt=0, le=1000)
    rules_tick_seconds: float = Field(default=30.0, gt=0)
    erasure_tick_seconds: float = Field(default=60.0, gt=0)
    # testing only: seconds an erasure waits between tables, so a crash test can land mid-way
    erase_pause_seconds: float = Field(default=0.0, ge=0)
    # Seconds one tracker API call may take before it counts as a timeout (each of a call's
    # retries gets this long again; core.trackers.http.RetryPolicy bounds the retries).
    tracker_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # testing and demos only: a file holding an offset in seconds, re-read when it changes,
    # so a running service can travel in time together with the TikTok emulator
    clock_offset_file: str | None = None
    # Bots upload files up to 50 MB (telegram-bot-platform.md §1; 2000 MB on a local Bot API
    # server): a bigger /export goes out as a download link instead. Tests lower it.
    export_upload_limit_bytes: int = Field(default=50 * 1024 * 1024, ge=1,
                                           le=2000 * 1024 * 1024)
    # Where export ZIPs wait behind their download link (24 h). Instances that serve the web
    # side must share it.
    export_dir: str = "data/exports"
    # The plan catalogue (names, Stars prices, limits) as JSON, re-read when it changes; unset:
    # the built-in plans (core/billing/plans.py DEFAULT). Instances must share the file.
    plans_file: str | None = None
    # How often the billing tick looks for reminders, ends of paid time and grace to act on.
    billing_tick_seconds: float = Field(default=60.0, gt=0)
    # Running many instances (issue 15): on SIGTERM an instance answers 503 at /readyz and to
    # new webhook updates at once, then gives the updates and leased work in hand this long to
    # finish before cutting them (their claims and leases go back, so another instance or
    # Telegram's retry takes them). Keep it under the orchestrator's kill timeout.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=600)
    # How long an instance remembers a handled update_id (in Redis when REDIS_URL is set,
    # shared by instances), so a repeated delivery is answered without handling it again.
    # Telegram keeps an undelivered update for 24 h (spec §5.1), hence the day.
    update_dedup_seconds: float = Field(default=86400.0, gt=0)
    # How long an instance's claim on an update it is handling lives without renewal (renewed
    # every third of it while the handler runs): an instance killed mid-update holds Telegram's
    # retries of it off (503) this long, then another instance handles it.
    webhook_claim_seconds: float = Field(default=30.0, gt=0)
    # setWebhook's max_connections: parallel deliveries Telegram makes to PUBLIC_URL (1-100,
    # Telegram's default 40; spec §5.3). Each instance handles an update before answering,
    # so this bounds the updates in flight across all instances.
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    # How long an instance holds a claimed account sync before another may take it over (an
    # instance killed mid-sync loses its claims after this). Tests shorten it.
    sync_lease_seconds: float = Field(default=600.0, gt=0)
    # The other leased work, likewise (README, Running several instances, says what a shorter
    # lease trades): a rule run, a launch (renewed at every item), an alert in the notifier's
    # hands (must outlast a send's worst wait for Telegram's pace), a tracker run, a purge.
    rules_lease_seconds: float = Field(default=600.0, gt=0)
    launch_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_lease_seconds: float = Field(default=120.0, gt=0)
    tracker_lease_seconds: float = Field(default=600.0, gt=0)
    purge_lease_seconds: float = Field(default=600.0, gt=0)
    # The web dashboard (web/, issue 16). MINI_APP_URL: where Telegram opens the Mini App (must
    # be https for a web_app button, spec §Mini Apps); unset: PUBLIC_URL/app/.
    mini_app_url: str | None = None
    # How old a Mini App's initData may be (its auth_date) when it signs someone in.
    web_init_data_max_age_seconds: float = Field(default=86400.0, gt=0)
    # How long a dashboard session lasts without signing in again.
    web_session_days: float = Field(default=30.0, gt=0, le=400)
    # "Log in with Telegram" (the Login Widget) in a plain browser: where the browser is sent to
    # confirm (oauth.telegram.org; the sandbox's Telegram server in the demo), and how old its
    # signed data (auth_date) may be when it signs someone in. The bot's domain must be set
    # with BotFather's /setdomain for Telegram to accept it.
    telegram_oauth_url: str = "https://oauth.telegram.org"
    web_login_max_age_seconds: float = Field(default=3600.0, gt=0)
    # "Sign in with Google" (OpenID Connect): the OAuth client from Google Cloud's console
    # (its redirect URI: PUBLIC_URL/app/google/callback); unset: no Google sign-in. The issuer
    # is Google's unless a demo or test points it at the sandbox provider (sandbox/oidc).
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    oidc_issuer_url: str = "https://accounts.google.com"
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    # Offline demo only: trackers offered as one-tap choices in Add tracker, a JSON list of
    # {"kind", "name", "url", "api_key", "time_zone", "currency"} (sandbox/demo.py sets it).
    demo_trackers: Annotated[list[dict[str, Any]], NoDecode] = Field(default_factory=list)

    @field_validator("telegram_api_url", "tiktok_api_url", "tiktok_auth_url", "public_url",
                     "telegram_oauth_url", "oidc_issuer_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("demo_trackers", mode="before")
    @classmethod
    def _demo_trackers(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return []
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"DEMO_TRACKERS must be a JSON list: {exc}") from None
        if not isinstance(value, list) or not all(
            isinstance(t, dict) and {"kind", "url", "api_key"} <= t.keys() for t in value
        ):
            raise ValueError("DEMO_TRACKERS must be a list of objects with kind, url and api_key")
        return value

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        # aiogram.utils.token.validate_token: digits, a colon, a non-empty part without spaces.
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"\d+:\S+", value.get_secret_value()):
            raise ValueError("BOT_TOKEN must look like 123456:ABC... (digits, a colon, the secret)")
        return value

    @field_validator("mini_app_url")
    @classmethod
    def _mini_app_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("redis_url", "tiktok_app_id", "plans_file", "google_client_id")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("encryption_keys", "webhook_secret", "tiktok_app_secret", "metrics_token",
                     "google_client_secret")
    @classmethod
    def _blank_secret_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    @field_validator("admin_ids")
    @classmethod
    def _admin_ids(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not re.fullmatch(r"-?\d+", part):
                raise ValueError(f"ADMIN_IDS must be comma-separated user ids; {part!r} is not")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # setWebhook.secret_token: 1-256 of A-Z a-z 0-9 _ - (telegram-bot-platform.md §1).
        secret = value.get_secret_value() if value is not None else ""
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @model_validator(mode="after")
    def _keys_parse(self) -> Settings:
        if self.encryption_keys is not None:
            try:
                parse_keyring(self.encryption_keys.get_secret_value())
            except KeyringError as exc:
                raise ValueError(f"ENCRYPTION_KEYS: {exc}") from None
        return self

    @cached_property
    def keyring(self) -> Keyring:
        """The parsed encryption keys; a clear error when none are configured."""
        if self.encryption_keys is None:
            raise SettingsError(
                "ENCRYPTION_KEYS is not set: give comma-separated kid:base64key entries "
                "(32-byte keys), e.g. generate one with `python -m bot gen-key`"
            )
        return parse_keyring(self.encryption_keys.get_secret_value())

    @cached_property
    def admin_id_set(self) -> frozenset[int]:
        """Operators' Telegram user ids."""
        return frozenset(int(p) for p in self.admin_ids.split(",") if p.strip())

    @property
    def sync_cadence(self) -> Cadence:
        """How often each ad account's intraday and back-window syncs run (made due a tick
        early, so each starts within its interval)."""
        return Cadence(timedelta(minutes=self.sync_today_minutes),
                       timedelta(minutes=self.sync_window_minutes),
                       timedelta(seconds=self.sync_tick_seconds))

    @property
    def leases(self) -> Leases:
        """How long this instance holds each kind of work it claims."""
        return Leases(
            sync=timedelta(seconds=self.sync_lease_seconds),
            rules=timedelta(seconds=self.rules_lease_seconds),
            launches=timedelta(seconds=self.launch_lease_seconds),
            outbox=timedelta(seconds=self.outbox_lease_seconds),
            trackers=timedelta(seconds=self.tracker_lease_seconds),
            purge=timedelta(seconds=self.purge_lease_seconds),
        )

    @property
    def use_webhook(self) -> bool:
        """True when the bot should receive updates by webhook rather than long polling."""
        return self.webhook_secret is not None

    @property
    def oauth_redirect_uri(self) -> str:
        """Where TikTok sends the advertiser back after consent."""
        return f"{self.public_url}/oauth/tiktok/callback"

    @property
    def google_signin(self) -> bool:
        """Whether "Sign in with Google" is configured."""
        return self.google_client_id is not None and self.google_client_secret is not None

    @property
    def dashboard_url(self) -> str:
        """Where the web dashboard (and the Mini App) opens."""
        return self.mini_app_url or f"{self.public_url}/app/"

    def secret_values(self) -> list[str]:
        """Every secret string, so the log filter can mask them wherever they appear."""
        values = [s.get_secret_value() for s in (self.bot_token, self.tiktok_app_secret,
                                                  self.webhook_secret, self.metrics_token,
                                                  self.google_client_secret)
                  if s is not None]
        values += [str(t["api_key"]) for t in self.demo_trackers if t.get("api_key")]
        if self.encryption_keys is not None:
            values += [k.encode_b64() for k in self.keyring.keys]
        return values


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's validation report into one readable SettingsError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{field}: {msg}")
        raise SettingsError("bad configuration:\n  " + "\n  ".join(lines)) from None
