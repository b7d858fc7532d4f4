"""Runs the real service as its own process against the sandbox Telegram server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp

from core.billing.plans import DEFAULT as DEFAULT_PLANS
from sandbox.telegram.driver import ChatUser, SandboxClient
from storage.vault import generate_key_entry

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7100000001:TTPulseE2eToken-for-sandbox-tests"
ADMIN_ID = 900


def free_port() -> int:
    """A TCP port nobody uses right now, below the kernel's ephemeral range.

    A port the kernel hands out for bind(0) comes from the range it also gives outgoing
    connections their local ports from: between this check and the service's bind, a test's
    connection took one (EADDRINUSE in CI). Below that range only listeners bind."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(10_000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class _ForkServer:
    """The client of tests/e2e/zygote.py: one per test session, started on first use."""

    _instance: _ForkServer | None = None

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._started: queue.Queue[int] = queue.Queue()
        self._spawning = threading.Lock()
        self.exits: dict[int, int] = {}
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def get(cls) -> _ForkServer:
        if cls._instance is None or cls._instance._proc.poll() is not None:
            cls._instance = cls()
        return cls._instance

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            kind, *rest = line.split()
            if kind == "started":
                self._started.put(int(rest[0]))
            elif kind == "exit":
                self.exits[int(rest[0])] = int(rest[1])

    def _spawn(self, request: str) -> int:
        # One request at a time: "started <pid>" answers come back in order, and two services
        # started together (asyncio.gather) must not take each other's pid.
        with self._spawning:
            assert self._proc.stdin is not None
            self._proc.stdin.write(request)
            self._proc.stdin.flush()
            # The first request waits for the server's own imports (seconds), later ones a fork.
            return self._started.get(True, 120)

    async def spawn(self, env: dict[str, str], log: Path) -> ForkedProcess:
        """Fork a service with this environment, logging to `log`."""
        request = json.dumps({"env": env, "cwd": str(ROOT), "log": str(log)}) + "\n"
        return ForkedProcess(self, await asyncio.to_thread(self._spawn, request))


class ForkedProcess:
    """The parts of asyncio.subprocess.Process the tests use, for a fork server's child."""

    def __init__(self, server: _ForkServer, pid: int) -> None:
        self._server, self.pid = server, pid

    @property
    def returncode(self) -> int | None:
        return self._server.exits.get(self.pid)

    async def wait(self) -> int:
        # The exit is learnt by the server's reader thread: polled, not awaited.
        while (code := self.returncode) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ServiceProcess:
    """`python -m bot run` with a temp SQLite database, started and stopped like in production.

    Started from the fork server (tests/e2e/zygote.py: the same entry point, without paying the
    interpreter's import time per test), or with `fresh_interpreter=True` as its own
    `python -m bot run` process.
    """

    def __init__(
        self, telegram_url: str, workdir: Path, fresh_interpreter: bool = False, **env: str
    ) -> None:
        self.fresh_interpreter = fresh_interpreter
        self.port = free_port()
        self.log_path = workdir / "service.log"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TIKTOK_", "REDIS_", "WEBHOOK_"))
            },
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/ttpulse.db",
            "ENCRYPTION_KEYS": generate_key_entry("e2e"),
            "ADMIN_IDS": str(ADMIN_ID),
            "WEB_PORT": str(self.port),
            "PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "SYNC_TICK_SECONDS": "1",
            "NOTIFY_TICK_SECONDS": "0.5",
            "EXPORT_DIR": f"{workdir}/exports",
            **env,
        }
        self.proc: asyncio.subprocess.Process | ForkedProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the service's web side."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start and wait until /readyz says ready."""
        if self.fresh_interpreter:
            with self.log_path.open("ab") as log:
                self.proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=log,
                )
        else:
            self.proc = await _ForkServer.get().spawn(self.env, self.log_path)
        # A fresh interpreter imports aiogram, SQLAlchemy and matplotlib first: on a loaded
        # 2-core machine that alone has taken over 20 s, so allow a minute.
        deadline = asyncio.get_running_loop().time() + 60
        async with aiohttp.ClientSession() as http:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.returncode is not None:
                    raise AssertionError(f"service exited at start:\n{self.log()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise AssertionError(f"service never became ready:\n{self.log()}")

    async def stop(self) -> None:
        """SIGTERM, as an orchestrator would; wait for a clean exit."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"service did not stop on SIGTERM:\n{self.log()}") from None

    async def restart(self) -> None:
        """Stop, then start again on the same database."""
        await self.stop()
        await self.start()

    def log(self) -> str:
        """Everything the service logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_events(self) -> list[dict[str, object]]:
        """The JSON log lines as objects (non-JSON lines, e.g. a traceback, come back as text)."""
        out: list[dict[str, object]] = []
        for line in self.log().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"level": "raw", "event": line})
        return out


def generous_plans(workdir: Path) -> dict[str, str]:
    """Service environment whose Free plan limits nothing and runs rules every 15 minutes: for the
    tests of other features, which connect all of a login's ad accounts, run several rules at
    15 minutes or launch into three accounts (the limits themselves: test_plan_limits.py)."""
    catalogue = json.loads(json.dumps(DEFAULT_PLANS))
    free = next(p for p in catalogue["plans"] if p["code"] == "free")
    free["limits"] = {"ad_accounts": None, "rules_on": None, "rule_every_minutes": 15,
                      "launches_per_month": None, "ads_per_launch": None, "trackers": None,
                      "seats": 1}
    path = workdir / "plans.json"
    path.write_text(json.dumps(catalogue), "utf-8")
    return {"PLANS_FILE": str(path)}


LABELS = {
    "English": {
        "adult": "✅ I am 18 or older",
        "accept": "✅ I accept",
        "skip": "Skip",
        "finish": "Finish sign-up",
        "menu": "main menu",
        "tz": "time zone",
        "email": "email address",
        "news": "news and offers",
    },
    "Русский": {
        "adult": "✅ Мне 18 или больше",
        "accept": "✅ Принимаю",
        "skip": "Пропустить",
        "finish": "Завершить регистрацию",
        "menu": "главное меню",
        "tz": "часовом поясе",
        "email": "адрес email",
        "news": "новости",
    },
}


async def sign_up(
    user: ChatUser, language: str = "English", zone: str = "Berlin", email: str | None = None
) -> None:
    """A complete sign-up through the buttons, checking each screen appears."""
    words = LABELS[language]
    await user.send("/start")
    await user.expect("TTPulse")
    await user.press(language)
    await user.expect("18")
    await user.press(words["adult"])
    await user.expect("Terms" if language == "English" else "Условия")
    await user.press(words["accept"])
    await user.expect(words["tz"])
    await user.press(zone)
    await user.expect(words["email"])
    if email is None:
        await user.press(words["skip"])
    else:
        await user.send(email)
    await user.expect(words["news"])
    await user.press(words["finish"])
    await user.expect(words["menu"])


async def press_data_answer(user: ChatUser, data: str, message_id: int) -> dict[str, object]:
    """Send a (possibly forged) callback payload and return the bot's answer to it."""
    before = len(await user.callback_answers())
    await user.press_data(data, message_id=message_id)
    for _ in range(200):
        # Matched by payload: an earlier press's answer may still be arriving.
        mine = [a for a in (await user.callback_answers())[before:] if a.get("data") == data]
        if mine:
            return mine[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never answered the callback {data!r}")


__all__ = ["ADMIN_ID", "TOKEN", "SandboxClient", "ServiceProcess", "generous_plans",
           "press_data_answer", "sign_up"]
