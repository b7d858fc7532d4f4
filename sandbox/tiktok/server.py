"""The aiohttp app: API dispatch (envelope, auth, QPS limit, faults, latency), control API."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

import sandbox.tiktok.aco
import sandbox.tiktok.api_account
import sandbox.tiktok.api_ads
import sandbox.tiktok.api_entities
import sandbox.tiktok.apps
import sandbox.tiktok.audience_admin
import sandbox.tiktok.audiences
import sandbox.tiktok.bc_accounts
import sandbox.tiktok.bc_assets
import sandbox.tiktok.bc_transfers
import sandbox.tiktok.blocked_words
import sandbox.tiktok.catalog_admin
import sandbox.tiktok.catalog_products
import sandbox.tiktok.catalogs
import sandbox.tiktok.comment_tasks
import sandbox.tiktok.comment_threads
import sandbox.tiktok.comments
import sandbox.tiktok.entity_reads
import sandbox.tiktok.events_api
import sandbox.tiktok.identity_videos
import sandbox.tiktok.offline_events
import sandbox.tiktok.payments
import sandbox.tiktok.pixel_admin
import sandbox.tiktok.pixels
import sandbox.tiktok.portfolios
import sandbox.tiktok.reports
import sandbox.tiktok.saved_audiences
import sandbox.tiktok.tools
from sandbox import keep
from sandbox.tiktok.clock import EmulatorClock
from sandbox.tiktok.config import (
    CREATE_KINDS,
    FAULT_KINDS,
    NO_FAULT,
    OPT_IN_FAULTS,
    EmulatorConfig,
)
from sandbox.tiktok.core import ROUTES, Ctx, Emulator, Handler, RawJSON, Stats
from sandbox.tiktok.errors import (
    MSG_SYSTEM_TIMEOUT,
    MSG_TOKEN_EMPTY,
    MSG_TOKEN_INVALID,
    PARAM_ERROR,
    RATE_LIMIT,
    ROUTE_NOT_FOUND,
    SYSTEM_TIMEOUT,
    TOKEN_EMPTY,
    TOKEN_INVALID,
    ApiError,
)
from sandbox.tiktok.model import World
from sandbox.tiktok.params import Params
from sandbox.tiktok.portal import Portal
from sandbox.tiktok.report_tasks import FILES_PATH, report_file
from sandbox.tiktok.scopes import OPTIONAL_GROUPS, REQUIRED_GROUPS, check_scope

API_PREFIX = "/open_api/v1.3/"
log = logging.getLogger("sandbox.tiktok")
EMU_KEY: web.AppKey[Emulator] = web.AppKey("tiktok_emulator", Emulator)
HTML_504 = (
    "<html><head><title>504 Gateway Time-out</title></head><body><center>"
    "<h1>504 Gateway Time-out</h1></center></body></html>"
)


def envelope(emu: Emulator, code: int, message: str, data: Any, request_id: str) -> web.Response:
    """The JSON envelope, always HTTP 200 (spec §1.5); errors carry ``data: {}``."""
    emu.stats.codes[str(code)] += 1
    if isinstance(data, RawJSON):
        head = json.dumps({"code": code, "message": message, "request_id": request_id})
        return web.Response(text=f'{head[:-1]}, "data": {data}}}', content_type="application/json")
    body = {"code": code, "message": message, "request_id": request_id, "data": data}
    return web.Response(text=json.dumps(body, ensure_ascii=False), content_type="application/json")


async def _read_params(emu: Emulator, request: web.Request, method: str) -> tuple[Params, Any]:
    """Query params for GET; JSON body or form fields for POST."""
    too_many = emu.config.too_many_ids_code
    if method == "GET":
        return Params(request.query, from_query=True, too_many_code=too_many), None
    ctype = request.content_type
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return Params(fields, from_query=True, too_many_code=too_many), form
    raw = await request.read()
    if not raw.strip():
        body: Any = {}
    else:
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(
                PARAM_ERROR, "Invalid param: the request body is not valid JSON."
            ) from None
    if not isinstance(body, dict):
        raise ApiError(PARAM_ERROR, "Invalid param: the request body should be a JSON object.")
    return Params(body, from_query=False, too_many_code=too_many), None


def _pick_fault(emu: Emulator, path: str) -> str | None:
    """The fault to inject for this request, if any (queue first, then the fault rate)."""
    cfg = emu.config
    if cfg.fault_paths and not any(path.startswith(p) for p in cfg.fault_paths):
        return None
    if cfg.fault_queue:
        kind = cfg.fault_queue.pop(0)
        return None if kind == NO_FAULT else kind
    if cfg.fault_rate > 0 and cfg.fault_kinds and emu.rng.random() < cfg.fault_rate:
        return emu.rng.choice(cfg.fault_kinds)
    return None


async def _fault_response(emu: Emulator, kind: str, request_id: str) -> web.Response:
    """Render one injected fault."""
    emu.stats.faults[kind] += 1
    if kind == "http5xx":
        return web.Response(status=503, text="Service Unavailable", content_type="text/plain")
    if kind == "html504":
        return web.Response(status=504, text=HTML_504, content_type="text/html")
    if kind == "timeout":
        await asyncio.sleep(emu.config.timeout_seconds)
    return envelope(emu, SYSTEM_TIMEOUT, MSG_SYSTEM_TIMEOUT, {}, request_id)


def _run(handler: Handler, ctx: Ctx) -> RawJSON:
    """Run a handler and serialise its data, in the worker thread."""
    data = handler(ctx)
    if isinstance(data, RawJSON):  # a report page, written as JSON text by its handler
        return data
    return RawJSON(json.dumps(data, ensure_ascii=False))


async def api_dispatch(request: web.Request) -> web.StreamResponse:
    """Route /open_api/v1.3/* through auth, rate limit, faults and the handler."""
    arrived = time.monotonic()
    emu = request.app[EMU_KEY]
    path = request.path
    rid = emu.request_id()
    emu.stats.total += 1
    emu.stats.requests[path] += 1
    cfg = emu.config
    if cfg.latency_ms or cfg.latency_jitter_ms:
        jitter = emu.rng.uniform(0, cfg.latency_jitter_ms) if cfg.latency_jitter_ms else 0
        await asyncio.sleep((cfg.latency_ms + jitter) / 1000)
    rel = path[len(API_PREFIX) :]
    rt = ROUTES.get(rel)
    switched_off = rel == "comment/pin/" and not sandbox.tiktok.comments.pin_route_on(cfg)
    if rt is None or rt.method != request.method or switched_off:
        return web.Response(
            status=cfg.unknown_route_http_status,
            text=json.dumps(
                {
                    "code": ROUTE_NOT_FOUND,
                    "message": f"Route not found: {path}",
                    "request_id": rid,
                    "data": {},
                }
            ),
            content_type="application/json",
        )
    try:
        token = None
        if rt.auth:
            header = request.headers.get("Access-Token", "")
            if not header:
                raise ApiError(TOKEN_EMPTY, MSG_TOKEN_EMPTY)
            token = emu.world.tokens.get(header)
            if token is None or token.revoked:
                raise ApiError(TOKEN_INVALID, MSG_TOKEN_INVALID)
            # A scope the person withheld at consent: refused before anything runs.
            check_scope(rel, token.scope, cfg.scope_ids, cfg.missing_scope_code)
        params, form = await _read_params(emu, request, rt.method)
        app_id = token.app_id if token else str(params.raw("app_id") or "")
        over = emu.limiter.check(
            app_id, rel, cfg.qps, cfg.qpm, cfg.qps_window == "fixed", arrived=arrived
        )
        if over is not None:
            emu.stats.rate_limited += 1
            if over > 0:
                prefix = f"App {app_id} reaches" if cfg.qps_message_with_app_id else "Reaches"
                msg = f"{prefix} the QPS limit {cfg.qps}, current QPS is {over}."
            else:
                msg = f"App {app_id} reaches the QPM limit {cfg.qpm}, current QPM is {-over}."
            raise ApiError(RATE_LIMIT, msg)
        fault = _pick_fault(emu, path)
        if fault is not None and fault != "lost_reply":
            return await _fault_response(emu, fault, rid)
        ctx = Ctx(emu, request, params, token, form)
        data = await asyncio.get_running_loop().run_in_executor(emu.worker, _run, rt.handler, ctx)
        if fault == "lost_reply":
            # Done, but the reply comes too late for the caller (config.OPT_IN_FAULTS).
            emu.stats.faults[fault] += 1
            await asyncio.sleep(cfg.timeout_seconds)
            return envelope(emu, SYSTEM_TIMEOUT, MSG_SYSTEM_TIMEOUT, {}, rid)
    except ApiError as exc:
        return envelope(emu, exc.code, exc.message, {}, rid)
    except Exception:
        # An emulator bug: logged loudly, answered like TikTok's own 50000 system error.
        log.exception("emulator handler failed for %s", path)
        return envelope(emu, 50000, "System error.", {}, rid)
    return envelope(emu, 0, cfg.ok_message, data, rid)


async def unknown_api(request: web.Request) -> web.Response:
    """Anything under /open_api that is not v1.3 (spec §8.1: 40400 / 40051)."""
    emu = request.app[EMU_KEY]
    return envelope(emu, ROUTE_NOT_FOUND, f"Route not found: {request.path}", {}, emu.request_id())


# ---------------------------------------------------------------- control API


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The control request's JSON object."""
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


async def report_file_download(request: web.Request) -> web.Response:
    """A finished report task's CSV behind its download_url (no Access-Token, like a CDN)."""
    return report_file(request.app[EMU_KEY], request.match_info["key"].removesuffix(".csv"))


async def control_config(request: web.Request) -> web.Response:
    """GET the knobs, or POST some of them: qps, latency_ms, fault_rate, fault_kinds, ..."""
    emu = request.app[EMU_KEY]
    if request.method == "POST":
        body = await _json_body(request)
        if "now" in body:
            raise web.HTTPBadRequest(text="use /_emulator/clock to move the clock")
        try:
            unknown = emu.config.update(body)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        emu.caches.pop("report", None)  # reports computed under the old knobs
        if unknown:
            raise web.HTTPBadRequest(text=f"unknown or fixed keys: {unknown}")
    return web.json_response(emu.config.public())


async def control_revoke(request: web.Request) -> web.Response:
    """Revoke a token ({access_token}), or every live token of a login ({user}: the advertiser
    withdrew the app's authorization in TikTok): afterwards they answer 40105 everywhere."""
    emu = request.app[EMU_KEY]
    body = await _json_body(request)
    if "user" in body and "access_token" not in body:
        login = str(body["user"])
        if login not in emu.world.users:
            raise web.HTTPNotFound(text="unknown user")
        toks = [t for t in emu.world.tokens.values() if t.login == login and not t.revoked]
        for tok in toks:
            emu.world.revoke(tok)
        return web.json_response({"revoked": len(toks)})
    tok = emu.world.tokens.get(str(body.get("access_token", "")))
    if tok is None:
        raise web.HTTPNotFound(text="unknown access_token")
    emu.world.revoke(tok)
    return web.json_response({"revoked": True, "advertiser_ids": tok.advertiser_ids})


async def control_unshare(request: web.Request) -> web.Response:
    """Take an ad account away from a login ({advertiser_id}, {user} default the demo login):
    its tokens stop reaching it (40001) and oauth2/advertiser/get no longer lists it."""
    emu = request.app[EMU_KEY]
    body = await _json_body(request)
    login = str(body.get("user", emu.world.default_login))
    adv_id = str(body.get("advertiser_id", ""))
    user = emu.world.users.get(login)
    if user is None:
        raise web.HTTPNotFound(text="unknown user")
    if adv_id not in user.advertiser_ids:
        raise web.HTTPNotFound(text="the login does not reach that advertiser")
    user.advertiser_ids.remove(adv_id)
    for tok in emu.world.tokens.values():
        if tok.login == login and adv_id in tok.advertiser_ids:
            tok.advertiser_ids.remove(adv_id)
    emu.world.save_tokens()
    return web.json_response({"user": login, "advertiser_ids": user.advertiser_ids})


async def control_clock(request: web.Request) -> web.Response:
    """GET now, or POST {now: ISO-8601} / {advance_seconds: N} (optionally {ticking: bool})."""
    emu = request.app[EMU_KEY]
    if request.method == "POST":
        body = await _json_body(request)
        ticking = body.get("ticking")
        if "now" in body:
            try:
                when = datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00"))
            except ValueError:
                raise web.HTTPBadRequest(text="now must be ISO-8601") from None
            emu.clock.set(when, ticking)
        elif "advance_seconds" in body:
            emu.clock.advance(float(body["advance_seconds"]))
            if ticking is not None:
                emu.clock.ticking = bool(ticking)
        elif ticking is not None:
            emu.clock.set(emu.clock.now(), bool(ticking))
        else:
            raise web.HTTPBadRequest(text="give now, advance_seconds or ticking")
    return web.json_response({"now": emu.clock.now().isoformat(), "ticking": emu.clock.ticking})


async def control_stats(request: web.Request) -> web.Response:
    """Request counts per path, rate-limit rejections, faults, codes."""
    return web.json_response(request.app[EMU_KEY].stats.public())


async def control_reset_stats(request: web.Request) -> web.Response:
    """Zero the counters."""
    emu = request.app[EMU_KEY]
    emu.stats = Stats()
    return web.json_response({"ok": True})


async def control_token(request: web.Request) -> web.Response:
    """Mint a token for a login (default: all its accounts), skipping the consent page."""
    emu = request.app[EMU_KEY]
    body = await _json_body(request)
    login = str(body.get("user", emu.world.default_login))
    user = emu.world.users.get(login)
    if user is None:
        raise web.HTTPNotFound(text="unknown user")
    ids = [str(a) for a in body.get("advertiser_ids", user.advertiser_ids)]
    # Every optional scope unless {withhold: [group, ...]} says otherwise.
    withheld = {str(g) for g in body.get("withhold", [])}
    groups = list(REQUIRED_GROUPS) + [g for g in OPTIONAL_GROUPS if g not in withheld]
    tok = emu.world.issue_token(
        emu.app.app_id, login, ids, emu.clock.timestamp(), scope=emu.scope_ids(groups)
    )
    return web.json_response({"access_token": tok.token, "advertiser_ids": ids, "scope": tok.scope})


async def control_world(request: web.Request) -> web.Response:
    """A summary: app, users, accounts (ids, currency, time zone), counts."""
    emu = request.app[EMU_KEY]
    w = emu.world
    return web.json_response(
        {
            "fixture": emu.config.fixture,
            "app_id": emu.app.app_id,
            "users": {
                u.login: {
                    "display_name": u.display_name,
                    "advertiser_ids": u.advertiser_ids,
                    "bc_ids": u.bc_ids,
                }
                for u in w.users.values()
            },
            "advertisers": [
                {
                    "advertiser_id": a.advertiser_id,
                    "name": a.name,
                    "currency": a.currency,
                    "timezone": a.display_timezone,
                    "owner": a.owner_login,
                }
                for a in w.advertisers.values()
            ],
            "counts": {
                "campaigns": len(w.campaigns),
                "adgroups": len(w.adgroups),
                "ads": len(w.ads),
            },
        }
    )


async def control_pixel_silence(request: web.Request) -> web.Response:
    """POST {pixel_id, silent: bool (default true)}: the pixel's events stop reaching TikTok
    from now on (its event stats stop growing), or start again (sandbox/tiktok/pixels.py)."""
    emu = request.app[EMU_KEY]
    body = await _json_body(request)
    pixel_id = str(body.get("pixel_id", ""))
    if not pixel_id:
        raise web.HTTPBadRequest(text="give pixel_id")
    spans = sandbox.tiktok.pixels.silence(emu.world, pixel_id, bool(body.get("silent", True)),
                                          emu.clock.timestamp())
    return web.json_response({"pixel_id": pixel_id, "silences": spans})


async def control_warm(request: web.Request) -> web.Response:
    """POST {advertiser_ids?, back_days? (62), hour_days? (5)}: compute the delivery model of
    those accounts (default: all) ahead of the reports that will read it (DeliveryEngine.warm;
    answers unchanged). Runs in the report worker thread, as the reports do."""
    emu = request.app[EMU_KEY]
    body = await _json_body(request)
    ids = [str(a) for a in body.get("advertiser_ids", list(emu.world.advertisers))]
    unknown = [a for a in ids if a not in emu.world.advertisers]
    if unknown:
        raise web.HTTPNotFound(text=f"unknown advertiser_ids: {unknown}")
    try:
        back_days, hour_days = int(body.get("back_days", 62)), int(body.get("hour_days", 5))
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(text="back_days and hour_days are integers") from None
    advertisers = [emu.world.advertisers[a] for a in ids]

    def warm() -> dict[str, int]:
        return emu.engine.warm(advertisers, emu.clock.timestamp(), back_days, hour_days)

    started = time.perf_counter()
    done = await asyncio.get_running_loop().run_in_executor(emu.worker, warm)
    return web.json_response({**done, "seconds": round(time.perf_counter() - started, 3)})


async def _stop_worker(app: web.Application) -> None:
    """Release the report worker thread."""
    app[EMU_KEY].worker.shutdown(wait=False, cancel_futures=True)


def build_app(config: EmulatorConfig) -> web.Application:
    """The emulator as an aiohttp application (the world is built here)."""
    emu = Emulator(config)
    app = web.Application(client_max_size=600 * 1024 * 1024)
    app[EMU_KEY] = emu
    app.router.add_route("*", API_PREFIX + "{tail:.*}", api_dispatch)
    app.router.add_route("*", "/open_api/{tail:.*}", unknown_api)
    Portal(emu).register(app)
    app.router.add_get(FILES_PATH + "{key}", report_file_download)
    if config.world_file:  # its last save runs before the worker is released
        app.cleanup_ctx.append(keep.saving(
            lambda _last: asyncio.get_running_loop().run_in_executor(emu.worker, emu.save_world)
        ))
    app.on_cleanup.append(_stop_worker)
    app.router.add_route("*", "/_emulator/config", control_config)
    app.router.add_post("/_emulator/revoke", control_revoke)
    app.router.add_post("/_emulator/unshare", control_unshare)
    app.router.add_route("*", "/_emulator/clock", control_clock)
    app.router.add_get("/_emulator/stats", control_stats)
    app.router.add_post("/_emulator/reset_stats", control_reset_stats)
    app.router.add_post("/_emulator/token", control_token)
    app.router.add_get("/_emulator/world", control_world)
    app.router.add_post("/_emulator/warm", control_warm)
    app.router.add_post("/_emulator/pixel_silence", control_pixel_silence)
    return app


@dataclass
class RunningEmulator:
    """A started emulator: where it listens, the credentials, the world and the clock."""

    url: str
    auth_url: str
    app_id: str
    secret: str
    access_token: str
    state: World
    clock: EmulatorClock
    emulator: Emulator
    runner: web.AppRunner

    @property
    def api_url(self) -> str:
        """The Marketing API base including /open_api/v1.3/."""
        return self.url + API_PREFIX

    async def stop(self) -> None:
        """Stop listening and drop pending requests."""
        await self.runner.cleanup()


async def start_emulator(
    host: str = "127.0.0.1", port: int = 0, fixture: str = "demo", **knobs: Any
) -> RunningEmulator:
    """Build and start an emulator; port 0 picks a free port. Knobs are EmulatorConfig fields."""
    now = knobs.pop("now", None)
    if isinstance(now, str):
        now = datetime.fromisoformat(now.replace("Z", "+00:00"))
    if isinstance(now, datetime) and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    kinds = knobs.get("fault_kinds")
    if kinds is not None and any(k not in FAULT_KINDS + OPT_IN_FAULTS for k in kinds):
        raise ValueError(f"fault_kinds must be among {FAULT_KINDS + OPT_IN_FAULTS}")
    creates = knobs.get("idempotent_creates")
    if creates is not None and any(k not in CREATE_KINDS for k in creates):
        raise ValueError(f"idempotent_creates must be among {CREATE_KINDS}")
    config = EmulatorConfig(fixture=fixture, now=now, **knobs)
    app = build_app(config)
    emu = app[EMU_KEY]
    runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    for sock_site in runner.addresses:
        bound = int(sock_site[1])
        break
    url = f"http://{host}:{bound}"
    return RunningEmulator(
        url=url,
        auth_url=url + config.consent_path,
        app_id=emu.app.app_id,
        secret=emu.app.secret,
        access_token=emu.ready_token.token,
        state=emu.world,
        clock=emu.clock,
        emulator=emu,
        runner=runner,
    )
