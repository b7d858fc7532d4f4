"""The running emulator's parts: world, clock, delivery, limiter, stats, route table."""

from __future__ import annotations

import bisect
import collections
import hashlib
import itertools
import random
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import keep
from sandbox.tiktok import model
from sandbox.tiktok.clock import EmulatorClock
from sandbox.tiktok.config import EmulatorConfig
from sandbox.tiktok.delivery import DeliveryEngine
from sandbox.tiktok.errors import NO_PERMISSION, ApiError
from sandbox.tiktok.fixtures import FIXTURES, build_scale, parse_shape
from sandbox.tiktok.model import Advertiser, Token, World
from sandbox.tiktok.params import Params
from sandbox.tiktok.scopes import OPTIONAL_GROUPS, REQUIRED_GROUPS, ids_for

# Handlers are plain functions: they run one at a time in the emulator's worker thread, so
# the world is only ever changed from that thread and the event loop never blocks on them.
Handler = Callable[["Ctx"], Any]


@dataclass
class Route:
    """One API endpoint: method, handler and whether it needs an Access-Token."""

    method: str
    handler: Handler
    auth: bool = True
    body: str = "json"


ROUTES: dict[str, Route] = {}


class RawJSON(str):
    """A handler's ``data`` already serialised to JSON text (built off the event loop)."""


def route(
    path: str, method: str = "GET", auth: bool = True, body: str = "json"
) -> Callable[[Handler], Handler]:
    """Register a handler under /open_api/v1.3/<path> (trailing slash included, spec §1.1)."""

    def deco(fn: Handler) -> Handler:
        ROUTES[path] = Route(method, fn, auth, body)
        return fn

    return deco


@dataclass
class Stats:
    """Request counters for /_emulator/stats."""

    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    faults: collections.Counter[str] = field(default_factory=collections.Counter)
    rate_limited: int = 0
    total: int = 0

    def public(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "total": self.total,
            "requests": dict(self.requests),
            "codes": dict(self.codes),
            "rate_limited": self.rate_limited,
            "faults": dict(self.faults),
        }


class RateLimiter:
    """Per-app sliding one-second window (spec §8.2: the limit is app-wide), plus optional QPM."""

    def __init__(self) -> None:
        """Empty windows."""
        # Accepted arrival stamps per app, sorted (requests may be checked slightly late).
        self.sec: dict[str, list[float]] = collections.defaultdict(list)
        self.minute: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    def check(
        self,
        app_id: str,
        path: str,
        qps: int,
        qpm: int,
        fixed: bool = False,
        arrived: float | None = None,
    ) -> int | None:
        """Record a request; return the current rate when it is over a limit.

        ``arrived`` (time.monotonic() when the request reached the handler) is what counts,
        so time a request waits inside the emulator never counts against the client.
        ``fixed`` counts per calendar second instead of over the last 1.0 s.
        """
        now = time.monotonic() if arrived is None else arrived
        if qps > 0:
            window = self.sec[app_id]
            if fixed:
                start = float(int(now))
                inside = bisect.bisect_left(window, start + 1.0) - bisect.bisect_left(window, start)
            else:
                inside = bisect.bisect_right(window, now) - bisect.bisect_right(window, now - 1.0)
            if inside >= qps:
                return inside + 1
        if qpm > 0:
            mwin = self.minute[(app_id, path)]
            while mwin and mwin[0] <= now - 60.0:
                mwin.popleft()
            if len(mwin) >= qpm:
                return -(len(mwin) + 1)
            mwin.append(now)
        if qps > 0:
            window = self.sec[app_id]
            bisect.insort(window, now)
            cut = bisect.bisect_left(window, now - 2.0)
            if cut:
                del window[:cut]
        return None


class Emulator:
    """One emulator instance: config, clock, world and the engines around it."""

    def __init__(self, config: EmulatorConfig) -> None:
        """Build the fixture world at the clock's now."""
        if config.fixture not in FIXTURES:
            raise ValueError(f"unknown fixture {config.fixture!r}; choose from {sorted(FIXTURES)}")
        self.config = config
        self.clock = EmulatorClock(config.now, config.clock_ticking)
        # With `world_file`, the world of the last run is taken up (sandbox/keep.py).
        kept = keep.load(Path(config.world_file), self._world_key()) if config.world_file else None
        if kept is not None:
            self.world = kept["world"]
        else:
            self.world = World(config.seed)
            if config.fixture == "scale":
                build_scale(
                    self.world,
                    self.clock.timestamp(),
                    config.scale_accounts,
                    parse_shape(config.scale_shape),
                )
            else:
                FIXTURES[config.fixture](self.world, self.clock.timestamp())
        if config.token_file:
            self.world.load_tokens(Path(config.token_file), self.scope_ids(REQUIRED_GROUPS))
        self.engine = DeliveryEngine(self.world)
        self.app = next(iter(self.world.apps.values()))
        owner = self.world.users[self.world.default_login]
        self.ready_token = self.world.issue_token(
            self.app.app_id,
            owner.login,
            list(self.world.advertisers),
            self.clock.timestamp(),
            # Deterministic per seed, so a demo can be scripted against it.
            value=hashlib.sha1(f"ready:{config.seed}".encode()).hexdigest(),
            scope=self.scope_ids(REQUIRED_GROUPS + OPTIONAL_GROUPS),
        )
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.rng = random.Random(config.seed)
        self._rid = itertools.count(1)
        self.caches: dict[str, Any] = {}
        # Balances are the fixture's at this instant minus what delivery spent since.
        self.started_at = kept["started_at"] if kept is not None else self.clock.timestamp()
        # Every API handler runs here, off the event loop, one at a time.
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tiktok-emu")

    def _world_key(self) -> tuple[object, ...]:
        """A saved world is taken up by the same fixture and seed, saved by the same model."""
        return (self.config.fixture, self.config.seed, keep.shape(model, *vars(World(0))))

    def save_world(self) -> None:
        """Keep the world in `world_file` (run on the handlers' thread: never mid-change)."""
        value = {"world": self.world, "started_at": self.started_at}
        keep.save(Path(self.config.world_file), self._world_key(), value)

    def scope_ids(self, groups: tuple[str, ...] | list[str]) -> list[int]:
        """The scope ids of some feature groups under this emulator's table."""
        return ids_for(groups, self.config.scope_ids)

    def request_id(self) -> str:
        """A unique, timestamp-prefixed log id (spec §1.5)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        return f"{stamp}{next(self._rid):08d}{secrets.randbelow(10**9):09d}"


@dataclass
class Ctx:
    """What a handler gets: the emulator, the request, its parameters and token."""

    emu: Emulator
    request: web.Request
    params: Params
    token: Token | None
    form: Any = None

    @property
    def world(self) -> World:
        """The world."""
        return self.emu.world

    @property
    def now(self) -> float:
        """The emulator's now, Unix seconds."""
        return self.emu.clock.timestamp()

    def advertiser(self, advertiser_id: str | None = None) -> Advertiser:
        """The request's advertiser, checked against the token (spec §11: foreign -> 40001)."""
        adv_id = advertiser_id if advertiser_id is not None else self.params.req("advertiser_id")
        adv = self.world.advertisers.get(adv_id)
        if adv is None or self.token is None or adv_id not in self.token.advertiser_ids:
            raise ApiError(NO_PERMISSION, f"No permission to operate advertiser {adv_id}.")
        return adv
