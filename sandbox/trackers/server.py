"""The trackers' aiohttp app: knobs (down, slow, HTML, rate limit), auth, routes, start_tracker."""

from __future__ import annotations

import asyncio
import collections
import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from multidict import CIMultiDictProxy, MultiDictProxy

from sandbox import keep
from sandbox.tiktok.server import RunningEmulator, start_emulator
from sandbox.trackers import fixtures
from sandbox.trackers import model as model_module
from sandbox.trackers.model import Attrs, TikTokSource, TrackerWorld

KINDS = ("keitaro", "binom1", "binom2")
# Knobs, mutable at run time through RunningTracker.knobs (or POST /_tracker/knobs).
DEFAULT_KNOBS: dict[str, Any] = {
    "down": False,  # answer every API call with down_status (plain text)
    "down_status": 503,
    "slow_s": 0.0,  # sleep before answering
    "html": False,  # answer 200 text/html (a login page), as a misconfigured proxy would
    "rate_limit": 0,  # calls per second (sliding 1 s window); over it: 429 + Retry-After
    "retry_after_s": 1,
    "drop_clicks_pct": 0.0,  # share of TikTok clicks lost on the way (after arrival_pct)
    "arrival_pct": None,  # None: 92–99 % per campaign and ad; a number: that share
    "cost_delay_s": 0.0,  # cost updates apply this long after the push (spec §0: async)
    "scale_campaigns": 200,  # fixture "scale": how many TikTok campaigns get a tracker campaign
    # Keitaro (spec §1)
    "keitaro_edition": "pro",  # anything else: 402 "Admin API is not available" (§1)
    "keitaro_end_inclusive": False,  # §1.2(a): end_date inclusivity unconfirmed; exclusive
    "keitaro_bulk_max_items": 0,  # §1.2(b): no documented limit (0 = none); over it: 406
    "keitaro_report_fields": "both",  # §1.3: "grouping" (2022) | "dimensions" (newer) | both
    "keitaro_max_sub_id": 30,  # §1.1: sub_id_1..15 in the 2022 spec, 30 on newer (unconfirmed)
    "keitaro_accept_bearer": False,  # Unconfirmed items: Authorization: Bearer instead of Api-Key
    # Binom 1 (spec §2)
    "binom1_panel": "index.php",  # the panel's PHP entry file (renamed on many installs)
    "binom1_version": "1.9",  # "1.8": answer with the old key names (rev, spend, ts, link ...)
    "binom1_pretty_numbers": True,  # §2.1: report rows with thousands separators and "%"
    "binom1_error_status": 200,  # §2.4: HTTP status of {"error": ...} answers undocumented
    "binom1_arm": True,  # §2.1: arm.php campaign@get_all (unconfirmed which versions)
    # Binom 2 (spec §3)
    "binom2_error_shape": "message",  # §3.4 unconfirmed: {"message"} | {"error"} | "text"
    "binom2_list_envelope": None,  # §3.1: bare list (None) or wrapped in "data" / "items"
    "binom2_legacy_v1": True,  # §3: v1 URL calls "reportedly still work" on Binom 2
    "binom2_click_path": "/click",  # §3: v2 click endpoint unconfirmed
    "binom2_bad_key_status": 403,  # §3.4: 401 without a key; a wrong key gives 401 or 403
}
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Login</title></head><body><form method=post>"
    "<input name=login><input name=password type=password></form></body></html>"
)


@dataclass
class Req:
    """What a handler sees: the world and the decoded request."""

    world: TrackerWorld
    method: str
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    body: bytes
    match: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The JSON body (ValueError when it is not JSON)."""
        return json.loads(self.body) if self.body.strip() else {}


@dataclass
class Reply:
    """A handler's answer."""

    status: int = 200
    body: Any = None
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Req], Reply]


class Api(Protocol):
    """One tracker kind's API: routing, auth and its error envelope."""

    def resolve(self, req: Req) -> tuple[str, Handler] | None:
        """The endpoint name and handler for a request, or None."""
        ...

    def auth(self, req: Req, api_key: str) -> Reply | None:
        """An error reply when the key is missing or wrong."""
        ...

    def error(self, req: Req, status: int, message: str) -> Reply:
        """The kind's error envelope."""
        ...


def api_for(kind: str) -> Api:
    """The API module of a kind."""
    if kind == "keitaro":
        from sandbox.trackers.keitaro import KeitaroApi

        return KeitaroApi()
    if kind == "binom1":
        from sandbox.trackers.binom1 import Binom1Api

        return Binom1Api()
    from sandbox.trackers.binom2 import Binom2Api

    return Binom2Api()


class Tracker:
    """One running tracker's state."""

    def __init__(self, kind: str, world: TrackerWorld, api_key: str, executor: Executor) -> None:
        """Bind the parts."""
        self.kind = kind
        self.world = world
        self.api_key = api_key
        self.api = api_for(kind)
        self.executor = executor
        self.calls: collections.Counter[str] = collections.Counter()
        self.window: collections.deque[float] = collections.deque()

    def limited(self) -> bool:
        """Whether this call is over the per-second limit (sliding window)."""
        limit = int(self.world.knobs.get("rate_limit") or 0)
        if limit <= 0:
            return False
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= limit:
            return True
        self.window.append(now)
        return False


TRACKER_KEY: web.AppKey[Tracker] = web.AppKey("tracker", Tracker)


def render(reply: Reply) -> web.Response:
    """A Reply as an aiohttp response."""
    if reply.text is not None:
        return web.Response(status=reply.status, text=reply.text,
                            content_type=reply.content_type, headers=reply.headers)
    return web.Response(status=reply.status, text=json.dumps(reply.body, ensure_ascii=False),
                        content_type="application/json", headers=reply.headers)


def _run(tr: Tracker, req: Req) -> Reply:
    """Route, authorise and handle one request (in the worker thread)."""
    tr.world.run_due()
    got = tr.api.resolve(req)
    if got is None:
        tr.calls["unknown"] += 1
        return tr.api.error(req, 404, f"Route {req.method} {req.path} not found")
    name, handler = got
    tr.calls[name] += 1
    bad = tr.api.auth(req, tr.api_key)
    if bad is not None:
        return bad
    try:
        return handler(req)
    except ValueError as exc:
        return tr.api.error(req, 400, str(exc))


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Every API call: knobs first, then the kind's routing in the worker thread."""
    tr = request.app[TRACKER_KEY]
    knobs = tr.world.knobs
    if knobs.get("slow_s"):
        await asyncio.sleep(float(knobs["slow_s"]))
    if knobs.get("down"):
        tr.calls["down"] += 1
        status = int(knobs.get("down_status") or 503)
        return web.Response(status=status, text=f"{status} Service Unavailable",
                            content_type="text/plain")
    if knobs.get("html"):
        tr.calls["html"] += 1
        return web.Response(status=200, text=HTML_PAGE, content_type="text/html")
    body = await request.read()
    req = Req(tr.world, request.method, request.path, request.query, request.headers, body)
    if tr.limited():
        tr.calls["rate_limited"] += 1
        reply = tr.api.error(req, 429, "Too many requests")
        reply.headers["Retry-After"] = str(knobs.get("retry_after_s") or 1)
        return render(reply)
    reply = await asyncio.get_running_loop().run_in_executor(tr.executor, _run, tr, req)
    return render(reply)


async def control_knobs(request: web.Request) -> web.Response:
    """GET the knobs, or POST some of them (JSON object)."""
    tr = request.app[TRACKER_KEY]
    if request.method == "POST":
        body = await request.json()
        unknown = [k for k in body if k not in DEFAULT_KNOBS]
        if unknown:
            raise web.HTTPBadRequest(text=f"unknown knobs: {unknown}")
        tr.world.knobs.update(body)
    return web.json_response(tr.world.knobs)


@dataclass
class RunningTracker:
    """A started tracker emulator: what a user types (url, api_key), knobs, read-backs."""

    kind: str
    url: str
    base_url: str
    api_key: str
    knobs: dict[str, Any]
    world: TrackerWorld
    tracker: Tracker
    feeds: dict[int, list[str]]
    tiktok: RunningEmulator | None
    runner: web.AppRunner
    own_tiktok: bool = False

    @property
    def calls(self) -> collections.Counter[str]:
        """Calls per endpoint name (e.g. "POST /admin_api/v1/report/build", "page=Stats")."""
        return self.tracker.calls

    def costs(self, campaign_id: int | str) -> dict[tuple[date, str | None, str | None], Decimal]:
        """Cost held now per pushed segment: (day, filter field, filter value) -> total."""
        self.world.run_due()
        return self.world.costs(int(campaign_id))

    def finish_tasks(self) -> None:
        """Apply every queued cost update now, whatever ``cost_delay_s`` says."""
        self.world.run_due(everything=True)

    def link(self, campaign_id: int | str) -> str:
        """A campaign's link with its parameters' TikTok macros."""
        return self.world.link(self.world.campaigns[int(campaign_id)])

    def add_campaign(self, name: str, tiktok_campaign_ids: list[str] | tuple[str, ...] = (),
                     layout: str = "default", state: str = "active",
                     synthetic_clicks: int = 0) -> int:
        """Add a campaign fed by these TikTok campaigns (layout: default|custom|campaign|none)."""
        cid = max([*self.world.campaigns, fixtures.ID_BASE[self.kind] * 1000]) + 1
        camp = fixtures.new_campaign(self.world, cid, name, layout, state=state,
                                     synthetic=synthetic_clicks)
        fixtures.feed_campaigns(self.world, camp, list(tiktok_campaign_ids))
        self.feeds[cid] = list(tiktok_campaign_ids)
        return cid

    def add_click(self, campaign_id: int | str, when: float, attrs: Attrs | None = None,
                  payout: Decimal | None = None, status: str = "sale") -> None:
        """Inject one click at Unix time ``when`` (and a conversion when ``payout`` is given)."""
        self.world.add_click(int(campaign_id), when, attrs or {}, payout, status)

    async def stop(self) -> None:
        """Stop listening (and the TikTok emulator this tracker started itself)."""
        await self.runner.cleanup()
        if self.own_tiktok and self.tiktok is not None:
            await self.tiktok.stop()


class _Kept:
    """A tracker's pushed costs in a state file: taken up at start, saved as they change."""

    def __init__(self, path: str, world: TrackerWorld, executor: Executor) -> None:
        self.path, self.world, self.executor = Path(path), world, executor
        self.key: tuple[object, ...] | None = None  # None until taken up: nothing to save yet
        self.saved: object = None

    def take_up(self, key: tuple[object, ...]) -> None:
        """Hold what the last run under this key left (nothing when there is none)."""
        kept = keep.load(self.path, key)
        if kept is not None:
            self.world.take_up(kept)
        self.key, self.saved = key, self.world.changes()

    async def save_now(self, last: bool) -> None:
        """Save on the worker thread (never mid-push), when something changed or at stop."""
        key = self.key
        if key is not None and (self.world.changes() != self.saved or last):
            self.saved = self.world.changes()
            await asyncio.get_running_loop().run_in_executor(
                self.executor, lambda: keep.save(self.path, key, self.world.kept()))


async def _shutdown(app: web.Application) -> None:
    """Release an own worker thread."""
    tr = app[TRACKER_KEY]
    if isinstance(tr.executor, ThreadPoolExecutor) and tr.executor._thread_name_prefix == "trk":
        tr.executor.shutdown(wait=False, cancel_futures=True)


async def start_tracker(
    kind: str,
    *,
    tiktok: RunningEmulator | None = None,
    fixture: str = "demo",
    api_key: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 7,
    state_file: str | None = None,
    **knobs: Any,
) -> RunningTracker:
    """Start a tracker emulator of a kind; the demo fixture starts its own TikTok if none given.
    With `state_file`, the costs pushed in an earlier run over the same worlds are held again
    (sandbox/keep.py)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    unknown = [k for k in knobs if k not in DEFAULT_KNOBS]
    if unknown:
        raise ValueError(f"unknown knobs: {unknown}")
    own = False
    if tiktok is None and fixture in ("demo", "scale"):
        tiktok = await start_emulator(fixture="demo")
        own = True
    source = TikTokSource(tiktok) if tiktok is not None else None
    clock: Callable[[], float] = source.now if source is not None else time.time
    world = TrackerWorld(kind, seed, {**DEFAULT_KNOBS, **knobs}, source, clock)
    executor: Executor = (
        tiktok.emulator.worker if tiktok is not None
        else ThreadPoolExecutor(max_workers=1, thread_name_prefix="trk")
    )
    key = api_key or secrets.token_hex(16)
    tr = Tracker(kind, world, key, executor)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[TRACKER_KEY] = tr
    app.router.add_route("*", "/_tracker/knobs", control_knobs)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    kept = _Kept(state_file, world, executor) if state_file else None
    if kept is not None:  # its last save runs before an own worker is released
        app.cleanup_ctx.append(keep.saving(kept.save_now))
    app.on_cleanup.append(_shutdown)
    runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:  # the port is taken: nothing left listening or running
        await runner.cleanup()
        raise
    bound = next(iter(runner.addresses))[1]
    base = f"http://{host}:{bound}"
    world.base_url = base
    feeds = await asyncio.get_running_loop().run_in_executor(
        executor, fixtures.build, world, fixture, world.knobs
    )
    if kept is not None:
        # Pushed costs sit on the clicks of TikTok's delivery: held again only over the same
        # TikTok world (its build time names it) and the same links (this address).
        built = tiktok.emulator.started_at if tiktok is not None else None
        kept.take_up((kind, seed, fixture, base, built, keep.shape(model_module)))
    url = base + "/" + str(world.knobs["binom1_panel"]) if kind == "binom1" else base
    return RunningTracker(kind, url, base, key, world.knobs, world, tr, feeds, tiktok, runner, own)
