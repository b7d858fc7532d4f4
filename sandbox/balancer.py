"""A small round-robin reverse proxy for running several service instances behind one address.

    python -m sandbox.balancer --listen 8080 --backend http://127.0.0.1:8081 \\
        --backend http://127.0.0.1:8082 --backend http://127.0.0.1:8083

What it does, and no more (a stand-in for nginx/HAProxy in tests, the demo and compose):

- Requests go to the healthy backends in turn. A backend is healthy while its `/readyz`
  answers 200; it is asked every `--health-interval` seconds, so an instance that starts
  draining (503) or dies (refused) stops getting requests within one interval.
- A request is tried on the next backend when a backend refuses the connection (it died
  between two health checks) or answers 503 (it is draining and did not take the request;
  the service's webhook answers 503 only for updates it did not start handling). Each backend
  is tried at most once per request; then the last answer (or 502) goes back to the caller,
  and Telegram retries the update later.
- `GET /_balancer/status` tells which backends are up and how many requests each took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 §7.6.1) and the ones aiohttp recomputes.
_SKIP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
        "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    )
)  # fmt: skip


@dataclass
class Backend:
    """One upstream service instance."""

    url: str
    healthy: bool = True  # optimistic until the first check says otherwise
    served: int = 0
    refused: int = 0


@dataclass
class Balancer:
    """Round-robin over healthy backends, with health checks and retry on refusal."""

    backends: list[Backend]
    health_path: str = "/readyz"
    health_interval: float = 0.5
    timeout: float = 90.0
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _session: aiohttp.ClientSession | None = None

    def order(self) -> list[Backend]:
        """The backends to try for the next request: healthy ones first, from the next turn."""
        n = len(self.backends)
        start = next(self._turn) % n
        rotated = self.backends[start:] + self.backends[:start]
        return [b for b in rotated if b.healthy] + [b for b in rotated if not b.healthy]

    async def check(self, backend: Backend) -> None:
        """Ask one backend's readiness probe."""
        assert self._session is not None
        try:
            async with self._session.get(
                backend.url + self.health_path, timeout=aiohttp.ClientTimeout(total=2)
            ) as resp:
                healthy = resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            healthy = False
        if healthy != backend.healthy:
            log.info("balancer.backend_%s", "up" if healthy else "down", extra={"url": backend.url})
        backend.healthy = healthy

    async def health_loop(self) -> None:
        """Check every backend every `health_interval` seconds."""
        while True:
            await asyncio.gather(*(self.check(b) for b in self.backends))
            await asyncio.sleep(self.health_interval)

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        """Forward one request; on refusal or 503 try the next backend."""
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        peer = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
        last: web.Response | None = None
        for backend in self.order():
            try:
                async with self._session.request(
                    request.method,
                    backend.url + request.rel_url.path_qs,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                ) as resp:
                    payload = await resp.read()
                    answer = web.Response(
                        body=payload,
                        status=resp.status,
                        headers={k: v for k, v in resp.headers.items() if k.lower() not in _SKIP},
                    )
            except aiohttp.ClientConnectorError:
                # Refused: the instance is gone. Mark it down until its probe says otherwise.
                backend.healthy = False
                backend.refused += 1
                continue
            if resp.status == 503:
                backend.refused += 1
                last = answer
                continue
            backend.served += 1
            return answer
        return last or web.Response(status=502, text="no backend took the request")

    async def status(self, _: web.Request) -> web.Response:
        """Backends, their health and counts."""
        return web.json_response(
            {
                "backends": [
                    {"url": b.url, "healthy": b.healthy, "served": b.served, "refused": b.refused}
                    for b in self.backends
                ]
            }
        )

    def app(self) -> web.Application:
        """The aiohttp application (health loop started and stopped with it)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_get("/_balancer/status", self.status)
        app.router.add_route("*", "/{tail:.*}", self.proxy)
        app.cleanup_ctx.append(self._lifetime)
        return app

    async def _lifetime(self, _: web.Application):  # type: ignore[no-untyped-def]
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        task = asyncio.create_task(self.health_loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self._session.close()


@dataclass
class RunningBalancer:
    """A started balancer; `url` is what to give as PUBLIC_URL."""

    url: str
    balancer: Balancer
    runner: web.AppRunner

    async def stop(self) -> None:
        """Stop listening."""
        await self.runner.cleanup()


async def start_balancer(
    backends: Sequence[str], host: str = "127.0.0.1", port: int = 0, health_interval: float = 0.5
) -> RunningBalancer:
    """Start a balancer in the running loop; port 0 picks a free port."""
    balancer = Balancer([Backend(u.rstrip("/")) for u in backends], health_interval=health_interval)
    runner = web.AppRunner(balancer.app(), handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound = int(address[1])
            break
    return RunningBalancer(f"http://{host}:{bound}", balancer, runner)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: --listen PORT --backend URL [--backend URL ...]."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.balancer", description=__doc__)
    parser.add_argument("--listen", type=int, required=True, help="port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--backend", action="append", required=True, help="a backend base URL")
    parser.add_argument("--health-interval", type=float, default=0.5, help="seconds between checks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    balancer = Balancer(
        [Backend(u.rstrip("/")) for u in args.backend], health_interval=args.health_interval
    )
    web.run_app(balancer.app(), host=args.host, port=args.listen, print=None)


if __name__ == "__main__":
    main()
