"""A fork server for the end-to-end tests: imports the service once, then forks a fresh
`python -m bot run` for each test.

Why: importing aiogram builds ~600 pydantic models, several seconds of CPU per interpreter on
these machines, paid by every test that starts the service (most of them). A forked child has
all of that already and runs the very same entry point (`bot.cli.main(["run"])`) with the
test's environment, working directory and log file, so the service under test is the one a
user starts; only the interpreter start-up is shared. `ServiceProcess(fresh_interpreter=True)`
still starts a real `python -m bot run` where a test wants that.

Protocol (one JSON object per line on stdin, one line per event on stdout):
  {"env": {...}, "cwd": "...", "log": "..."}  →  "started <pid>"
  a child's exit                              →  "exit <pid> <code>"  (code < 0: killed by -code)
The server stays single-threaded (forking a threaded process is unsafe) and ends at stdin EOF.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import traceback


def _child(request: dict[str, object]) -> None:
    """In the forked child: become `python -m bot run` with the test's settings; never returns."""
    code = 1
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(str(request["cwd"]))
        log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
        sys.argv = ["python -m bot", "run"]
        from bot.cli import main

        code = main(["run"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(out: list[str]) -> None:
    """Collect exited children without blocking."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        out.append(f"exit {pid} {os.waitstatus_to_exitcode(status)}")


def serve() -> None:
    """Answer start requests until stdin closes."""
    import bot.app
    import bot.cli

    del bot  # imported for their side effect: every module loaded once, before any fork

    stdin = sys.stdin.buffer
    buffered = b""
    while True:
        events: list[str] = []
        _reap(events)
        ready, _, _ = select.select([stdin], [], [], 0.05)
        if ready:
            chunk = os.read(stdin.fileno(), 65536)
            if not chunk:
                break
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _child(json.loads(line))
                events.append(f"started {pid}")
        for event in events:
            print(event, flush=True)


if __name__ == "__main__":
    serve()
