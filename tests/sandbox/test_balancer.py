"""sandbox.balancer: round robin over ready backends, skipping draining or dead ones."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from sandbox.balancer import RunningBalancer, start_balancer
from tests.e2e.harness import ROOT, free_port


class Instance:
    """A backend that names itself, with a switchable /readyz and webhook answer."""

    def __init__(self, name: str) -> None:
        self.name, self.ready, self.answer, self.hits = name, True, 200, 0
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_get("/readyz", self.readyz)
        app.router.add_post("/hook", self.hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.port = self.runner.addresses[0][1]
        return f"http://127.0.0.1:{self.port}"

    async def readyz(self, _: web.Request) -> web.Response:
        return web.Response(status=200 if self.ready else 503)

    async def hook(self, request: web.Request) -> web.Response:
        self.hits += 1
        body = await request.json()
        return web.json_response({"by": self.name, "echo": body}, status=self.answer)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def setup() -> AsyncIterator[tuple[RunningBalancer, list[Instance]]]:
    instances = [Instance(n) for n in "abc"]
    urls = [await i.start() for i in instances]
    balancer = await start_balancer(urls, health_interval=0.1)
    yield balancer, instances
    await balancer.stop()
    for instance in instances:
        await instance.stop()


async def post(url: str, n: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.post(f"{url}/hook?x=1", json={"n": n}) as resp:
        return resp.status, await resp.json()


async def test_round_robin_and_the_body_goes_through(
    setup: tuple[RunningBalancer, list[Instance]],
) -> None:
    balancer, _ = setup
    answers = [await post(balancer.url, n) for n in range(6)]
    assert all(status == 200 for status, _ in answers)
    assert [a["echo"] for _, a in answers] == [{"n": n} for n in range(6)]
    assert sorted(str(a["by"]) for _, a in answers) == ["a", "a", "b", "b", "c", "c"]


async def test_not_ready_backends_are_skipped(
    setup: tuple[RunningBalancer, list[Instance]],
) -> None:
    balancer, (_, b, _) = setup
    b.ready = False
    await asyncio.sleep(0.3)  # a health check or two
    answers = [await post(balancer.url, n) for n in range(6)]
    assert {str(x["by"]) for _, x in answers} == {"a", "c"} and b.hits == 0


async def test_refused_and_503_move_on_to_the_next_backend(
    setup: tuple[RunningBalancer, list[Instance]],
) -> None:
    _, (a, b, c) = setup
    # Health checked once at start only: the dead backend is found by the refusal itself.
    balancer = await start_balancer(
        [f"http://127.0.0.1:{x.port}" for x in (a, b, c)], health_interval=3600
    )
    await asyncio.sleep(0.2)
    await a.stop()  # dead, and the health check has not noticed
    b.answer = 503  # draining: did not take it
    for n in range(4):
        status, answer = await post(balancer.url, n)
        assert status == 200 and answer["by"] == "c"
    state = {x.url: x for x in balancer.balancer.backends}
    assert state[f"http://127.0.0.1:{a.port}"].refused >= 1
    c.answer = 503
    status, _ = await post(balancer.url, 9)
    assert status == 503  # nobody took it: the caller (Telegram) retries later
    await balancer.stop()


async def test_command_line() -> None:
    backend = Instance("solo")
    url = await backend.start()
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.balancer", "--listen", str(port), "--backend", url, cwd=ROOT
    )
    try:
        for _ in range(200):
            try:
                status, answer = await post(f"http://127.0.0.1:{port}", 1)
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        assert status == 200 and answer["by"] == "solo"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
        await backend.stop()
