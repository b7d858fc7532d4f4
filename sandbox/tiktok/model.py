"""The emulator's in-memory world: apps, users, tokens, ad accounts and their objects."""

from __future__ import annotations

import bisect
import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Rough USD rates, used only to scale synthetic demand and budget minimums per currency.
CURRENCY_RATE: dict[str, Decimal] = {
    "USD": Decimal(1),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "JPY": Decimal(150),
    "BRL": Decimal(5),
    "IDR": Decimal(15500),
    "MXN": Decimal(17),
    "TRY": Decimal(32),
    "AUD": Decimal("1.5"),
    "CAD": Decimal("1.35"),
    "PLN": Decimal(4),
    "INR": Decimal(83),
}

ENABLE = "ENABLE"
DISABLE = "DISABLE"
DELETE = "DELETE"


def fmt_time(ts: float) -> str:
    """Entity timestamp format of spec §1.7: "YYYY-MM-DD HH:MM:SS" in UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_iso(ts: float) -> str:
    """Media timestamp format of spec §1.7: ISO with Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_number(value: Decimal) -> int | float:
    """Entity money as a JSON number (spec §1.7)."""
    return int(value) if value == value.to_integral_value() else float(value)


class History:
    """A step function of time: (since, value) pairs, sorted by time."""

    __slots__ = ("points",)

    def __init__(self, since: float, value: Any) -> None:
        """Start with one value."""
        self.points: list[tuple[float, Any]] = [(since, value)]

    def at(self, ts: float) -> Any:
        """The value in force at ``ts`` (the first value before the start)."""
        i = bisect.bisect_right(self.points, ts, key=lambda p: p[0]) - 1
        return self.points[max(i, 0)][1]

    def current(self) -> Any:
        """The latest value."""
        return self.points[-1][1]

    def set(self, ts: float, value: Any) -> None:
        """Change the value from ``ts`` on, forgetting anything planned after it."""
        while len(self.points) > 1 and self.points[-1][0] >= ts:
            self.points.pop()
        if self.points[-1][0] >= ts:
            self.points[-1] = (self.points[-1][0], value)
        elif self.points[-1][1] != value:
            self.points.append((ts, value))

    def changes_between(self, start: float, end: float) -> list[tuple[float, Any]]:
        """Change points strictly inside (start, end)."""
        return [p for p in self.points[1:] if start < p[0] < end]


@dataclass(slots=True)
class App:
    """A TikTok developer app."""

    app_id: str
    secret: str
    name: str


@dataclass(slots=True)
class User:
    """A TikTok for Business login that owns ad accounts."""

    login: str
    display_name: str
    email: str
    core_user_id: str
    advertiser_ids: list[str]
    bc_ids: list[str]


@dataclass(slots=True)
class Token:
    """An advertiser access token (long-term, spec §2.4)."""

    token: str
    app_id: str
    login: str
    advertiser_ids: list[str]
    scope: list[int]
    created: float
    revoked: bool = False


@dataclass(slots=True)
class AuthCode:
    """A consent-page auth code: single use, valid one hour (spec §2.2)."""

    code: str
    app_id: str
    login: str
    redirect_uri: str
    created: float
    used: bool = False
    # The scope ids the person granted on the consent page (sandbox/tiktok/scopes.py).
    scope: list[int] = field(default_factory=lambda: [4])


@dataclass(slots=True)
class BusinessCenter:
    """A Business Center and its members."""

    bc_id: str
    name: str
    company: str
    currency: str
    registered_area: str
    timezone: str
    type: str
    roles: dict[str, str]
    advertiser_ids: list[str]
    status: str = "ENABLE"


@dataclass(slots=True)
class Advertiser:
    """An ad account."""

    advertiser_id: str
    name: str
    company: str
    currency: str
    display_timezone: str
    timezone: str
    country: str
    owner_login: str
    create_time: float
    balance: Decimal
    owner_bc_id: str = ""
    status: str = "STATUS_ENABLE"
    role: str = "ROLE_ADVERTISER"
    language: str = "en"
    industry: str = "291905"
    tz: ZoneInfo = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Resolve the time zone once."""
        self.tz = ZoneInfo(self.display_timezone)

    @property
    def rate(self) -> Decimal:
        """Rough currency units per USD."""
        return CURRENCY_RATE.get(self.currency, Decimal(1))


@dataclass(slots=True)
class Campaign:
    """A campaign; status and budget are histories so delivery can replay them."""

    campaign_id: str
    advertiser_id: str
    name: str
    objective_type: str
    budget_mode: str
    budget: History
    status: History
    create_time: float
    modify_time: float
    extra: dict[str, Any] = field(default_factory=dict)
    adgroup_ids: list[str] = field(default_factory=list)
    revision: int = 0


@dataclass(slots=True)
class AdGroup:
    """An ad group."""

    adgroup_id: str
    campaign_id: str
    advertiser_id: str
    name: str
    budget_mode: str
    budget: History
    status: History
    schedule_type: str
    schedule_start: float
    schedule_end: float
    optimization_goal: str
    billing_event: str
    create_time: float
    modify_time: float
    extra: dict[str, Any] = field(default_factory=dict)
    ad_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Ad:
    """An ad; its delivery facts are generated from (seed, ad_id, day)."""

    ad_id: str
    adgroup_id: str
    campaign_id: str
    advertiser_id: str
    name: str
    status: History
    create_time: float
    modify_time: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Video:
    """An uploaded video."""

    video_id: str
    advertiser_id: str
    file_name: str
    signature: str
    size: int
    width: int
    height: int
    duration: float
    format: str
    create_time: float
    material_id: str


@dataclass(slots=True)
class Image:
    """An uploaded image."""

    image_id: str
    advertiser_id: str
    file_name: str
    signature: str
    size: int
    width: int
    height: int
    format: str
    create_time: float
    material_id: str


@dataclass(slots=True)
class Identity:
    """An ad identity (spec §6)."""

    identity_id: str
    advertiser_id: str
    identity_type: str
    display_name: str
    profile_image: str = ""
    user_name: str = ""
    identity_authorized_bc_id: str = ""


class World:
    """Everything the emulator knows; handlers read and change it."""

    def __init__(self, seed: int) -> None:
        """Start empty."""
        self.seed = seed
        self.token_file: Path | None = None  # where issued tokens outlive a restart
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        self.default_login = ""
        self.tokens: dict[str, Token] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.bcs: dict[str, BusinessCenter] = {}
        self.advertisers: dict[str, Advertiser] = {}
        self.campaigns: dict[str, Campaign] = {}
        self.adgroups: dict[str, AdGroup] = {}
        self.ads: dict[str, Ad] = {}
        self.campaigns_by_adv: dict[str, list[str]] = {}
        self.videos: dict[str, Video] = {}
        self.images: dict[str, Image] = {}
        self.identities: dict[str, Identity] = {}
        self.material_names: dict[tuple[str, str, str], str] = {}
        self.idempotency: dict[tuple[str, str, str], Any] = {}
        self._counters: dict[str, int] = {}
        self.version = 0
        self.media_defaults: dict[str, tuple[str | None, str | None, str | None]] = {}
        # Comments (sandbox/tiktok/comments.py): generated ones are computed from the clock;
        # only what people did to them is kept — statuses, replies, and ids already looked up.
        self.comment_status: dict[str, str] = {}
        self.comment_replies: dict[str, dict[str, Any]] = {}
        self.comment_ads: dict[str, Ad] = {}
        self.comment_pinned: dict[str, str] = {}  # ad id -> its video's pinned comment id
        # Comment management (comment_threads.py, blocked_words.py): comments listed once, by id
        # (their generated text and time), deleted comment ids -> when, and per advertiser id
        # the blocked words with when each was added and (or None) removed.
        self.comment_seen: dict[str, dict[str, Any]] = {}
        self.comment_deleted: dict[str, float] = {}
        self.blocked_words: dict[str, list[dict[str, Any]]] = {}
        # Catalog management (catalogs.py, catalog_admin.py, catalog_products.py): catalogs
        # made by catalog/create and fixture catalogs once changed, by id (a plain record: name,
        # conf, products by sku_id, sets, feeds, event sources, deleted flag), and the product
        # tasks (catalog/product/upload|update|delete|file) by feed_log_id.
        self.catalogs: dict[str, dict[str, Any]] = {}
        self.catalog_logs: dict[str, dict[str, Any]] = {}
        # Audiences (sandbox/tiktok/audiences.py): uploaded files (their hashed rows, kept so a
        # test can see what arrived) by file_path, and audiences by id.
        self.audience_files: dict[str, dict[str, Any]] = {}
        self.audiences: dict[str, dict[str, Any]] = {}
        # Audience management (audience_admin.py, saved_audiences.py): per audience id, the
        # accounts it was shared with (advertiser id -> status and when shared / cancelled);
        # the apply/log records, oldest first; saved audiences by id.
        self.audience_shares: dict[str, dict[str, dict[str, Any]]] = {}
        self.audience_applies: list[dict[str, Any]] = []
        self.saved_audiences: dict[str, dict[str, Any]] = {}
        # Pixels gone silent (a test/demo knob, POST /_emulator/pixel_silence): per pixel id,
        # [start, end or None] spans of emulator time whose events never reached TikTok.
        self.pixel_silences: dict[str, list[list[float | None]]] = {}
        # What advertiser/update changed (sandbox/tiktok/account_profile.py): per advertiser
        # id, the profile fields it edited, and the budget its Business Center set (a Budget).
        self.account_profiles: dict[str, dict[str, Any]] = {}
        self.account_budgets: dict[str, Any] = {}
        # Web events received through the Events API (sandbox/tiktok/pixel_events.py): per
        # pixel id, (event time, event name, event_id or "") as they arrived.
        self.pixel_events: dict[str, list[tuple[float, str, str]]] = {}
        # Pixel management (pixel_admin.py): pixels made by pixel/create/ by pixel id (owner,
        # code, name, category, partner, when); what pixel/update/ changed on any pixel by pixel
        # id; pixel events by event id — those set up by pixel/event/create/ (a full record) and
        # the edits / deletion of the events derived from ad groups (pixels.py).
        self.pixels_made: dict[str, dict[str, Any]] = {}
        self.pixel_edits: dict[str, dict[str, Any]] = {}
        self.pixel_event_setups: dict[str, dict[str, Any]] = {}
        # Offline event sets (offline_events.py) by event set id, and per set the offline
        # events reported to it (offline/track/, offline/batch/): (time, event, event_id).
        self.offline_event_sets: dict[str, dict[str, Any]] = {}
        self.offline_events: dict[str, list[tuple[float, str, str]]] = {}
        # Business Center administration (bc_transfers.py, bc_accounts.py): the money moved by
        # bc/transfer/ between a BC and its ad accounts, oldest first (a plain record: bc id,
        # advertiser id, when, RECHARGE / REFUND, cash and grant amounts as Decimal, transaction
        # ids); the certificate images bc/image/upload/ stored, by image id (bc id, file name,
        # size, signature, format, width, height, when).
        self.bc_transfers: list[dict[str, Any]] = []
        self.bc_images: dict[str, dict[str, Any]] = {}
        # Creative portfolios (portfolios.py) by creative_portfolio_id: advertiser id, type,
        # the portfolio_content list as sent, when made, and when deleted (None while alive).
        self.portfolios: dict[str, dict[str, Any]] = {}
        # Automated Creative Optimization (aco.py): per ACO ad group id, what ad/aco/create and
        # /update set (a plain record: the material lists with their material ids and ENABLE /
        # DISABLE statuses, common_material, the id of the ad it generated), and the material ids
        # given to ad texts and Spark posts, by (ad group id, text or item id).
        self.aco_groups: dict[str, dict[str, Any]] = {}
        self.aco_material_ids: dict[tuple[str, str], str] = {}

    def adgroups_of(self, advertiser_id: str) -> Iterator[AdGroup]:
        """An account's ad groups, campaign by campaign."""
        for camp_id in self.campaigns_by_adv.get(advertiser_id, []):
            for gid in self.campaigns[camp_id].adgroup_ids:
                yield self.adgroups[gid]

    def next_id(self, kind: str, base: int) -> str:
        """A fresh numeric id string of the given kind."""
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        return str(base + n * 7919 + (self.seed % 1000))

    def issue_token(
        self,
        app_id: str,
        login: str,
        advertiser_ids: list[str],
        now: float,
        value: str = "",
        scope: list[int] | None = None,
    ) -> Token:
        """Create an access token for a user's ad accounts (random unless ``value`` is given)
        carrying the granted scope ids (default ``[4]``, ads management only)."""
        tok = Token(
            token=value or secrets.token_hex(20),
            app_id=app_id,
            login=login,
            advertiser_ids=list(advertiser_ids),
            scope=sorted(scope) if scope is not None else [4],
            created=now,
        )
        self.tokens[tok.token] = tok
        self.save_tokens()
        return tok

    def revoke(self, tok: Token) -> None:
        """Revoke a token for good: afterwards it answers 40105 everywhere (spec §2.6)."""
        tok.revoked = True
        self.save_tokens()

    def save_tokens(self) -> None:
        """Keep the issued tokens in `token_file`, as TikTok keeps them across our restarts."""
        if self.token_file is not None:
            rows = [asdict(t) for t in self.tokens.values()]
            self.token_file.parent.mkdir(parents=True, exist_ok=True)
            self.token_file.write_text(json.dumps(rows))

    def load_tokens(self, path: Path, required: list[int] | None = None) -> None:
        """Remember the tokens a previous run issued (for the same app), then keep saving.
        A token saved before scopes were modelled gets the ``required`` ids its consent gave."""
        if path.exists():
            for row in json.loads(path.read_text()):
                if row.get("app_id") in self.apps:
                    tok = Token(**row)
                    tok.scope = sorted(set(tok.scope) | set(required or ()))
                    self.tokens[row["token"]] = tok
        self.token_file = path

    def add_campaign(self, camp: Campaign) -> None:
        """Register a campaign."""
        self.campaigns[camp.campaign_id] = camp
        self.campaigns_by_adv.setdefault(camp.advertiser_id, []).append(camp.campaign_id)
        self.version += 1

    def add_adgroup(self, ag: AdGroup) -> None:
        """Register an ad group under its campaign."""
        self.adgroups[ag.adgroup_id] = ag
        camp = self.campaigns[ag.campaign_id]
        camp.adgroup_ids.append(ag.adgroup_id)
        self.touch(camp.campaign_id)

    def add_ad(self, ad: Ad) -> None:
        """Register an ad under its ad group."""
        self.ads[ad.ad_id] = ad
        self.adgroups[ad.adgroup_id].ad_ids.append(ad.ad_id)
        self.touch(ad.campaign_id)

    def touch(self, campaign_id: str) -> None:
        """Mark a campaign's delivery as changed (drops cached facts)."""
        self.campaigns[campaign_id].revision += 1
        self.version += 1
