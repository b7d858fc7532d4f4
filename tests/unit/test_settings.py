"""Settings follow the configuration contract and explain bad values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.settings import SettingsError, load_settings
from storage.vault import generate_key_entry

CONTRACT = ("BOT_TOKEN", "TELEGRAM_API_URL", "TIKTOK_API_URL", "TIKTOK_AUTH_URL", "TIKTOK_APP_ID",
            "TIKTOK_APP_SECRET", "PUBLIC_URL", "WEB_HOST", "WEB_PORT", "DATABASE_URL", "REDIS_URL",
            "ENCRYPTION_KEYS", "ADMIN_IDS", "WEBHOOK_SECRET")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_contract() -> None:
    s = load_settings()
    assert s.bot_token is None
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.tiktok_api_url == "https://business-api.tiktok.com"
    assert s.tiktok_auth_url == "https://business-api.tiktok.com/portal/auth"
    assert s.public_url == "http://127.0.0.1:8080"
    assert (s.web_host, s.web_port) == ("127.0.0.1", 8080)
    assert s.database_url == "sqlite+aiosqlite:///data/ttpulse.db"
    assert s.redis_url is None and s.webhook_secret is None and not s.use_webhook
    assert s.admin_id_set == frozenset()
    assert s.oauth_redirect_uri == "http://127.0.0.1:8080/oauth/tiktok/callback"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key_entry("k2")
    monkeypatch.setenv("BOT_TOKEN", "123:ABCdef")
    monkeypatch.setenv("ADMIN_IDS", "1, 2,3")
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{key},{generate_key_entry('k1')}")
    monkeypatch.setenv("PUBLIC_URL", "https://ttpulse.example.com/")
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret_token")
    s = load_settings()
    assert s.admin_id_set == {1, 2, 3}
    assert s.keyring.current.kid == "k2"
    assert s.public_url == "https://ttpulse.example.com" and s.use_webhook
    assert "123:ABCdef" not in repr(s) and key.split(":")[1] not in repr(s)
    assert key.split(":")[1] in s.secret_values() and "123:ABCdef" in s.secret_values()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ENCRYPTION_KEYS", "k1:c2hvcnQ=", "ENCRYPTION_KEYS.*32 bytes"),
        ("ENCRYPTION_KEYS", "just-a-key", "ENCRYPTION_KEYS.*kid:base64key"),
        ("ADMIN_IDS", "1,bob", "ADMIN_IDS.*'bob'"),
        ("BOT_TOKEN", "not a token", "BOT_TOKEN must look like"),
        ("WEB_PORT", "99999", "WEB_PORT"),
        ("PUBLIC_URL", "ftp://x", "PUBLIC_URL.*not an http"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with"),
        ("WEBHOOK_SECRET", "has spaces", "WEBHOOK_SECRET must be"),
    ],
)
def test_bad_values_get_clear_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                     message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message) as err:
        load_settings()
    assert "c2hvcnQ=" not in str(err.value)  # the bad key itself is not echoed


def test_missing_keys_are_explained() -> None:
    with pytest.raises(SettingsError, match="ENCRYPTION_KEYS is not set"):
        _ = load_settings().keyring


def test_tracker_timeout_defaults_to_20_seconds_and_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().tracker_timeout_seconds == 20
    monkeypatch.setenv("TRACKER_TIMEOUT_SECONDS", "2.5")
    assert load_settings().tracker_timeout_seconds == 2.5
    monkeypatch.setenv("TRACKER_TIMEOUT_SECONDS", "0")
    with pytest.raises(SettingsError, match="TRACKER_TIMEOUT_SECONDS"):
        load_settings()


LEASES = ("SYNC_LEASE_SECONDS", "RULES_LEASE_SECONDS", "LAUNCH_LEASE_SECONDS",
          "OUTBOX_LEASE_SECONDS", "TRACKER_LEASE_SECONDS", "PURGE_LEASE_SECONDS")


def test_lease_lengths_default_to_minutes_and_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    leases = load_settings().leases
    ten = timedelta(minutes=10)
    assert (leases.sync, leases.rules, leases.trackers, leases.purge) == (ten,) * 4
    assert (leases.launches, leases.outbox) == (timedelta(minutes=2),) * 2
    for n, name in enumerate(LEASES):
        monkeypatch.setenv(name, str(5 + n))
    leases = load_settings().leases
    assert [leases.sync, leases.rules, leases.launches, leases.outbox, leases.trackers,
            leases.purge] == [timedelta(seconds=5 + n) for n in range(6)]


@pytest.mark.parametrize("name", LEASES)
@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_lease_must_be_a_positive_number_of_seconds(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
