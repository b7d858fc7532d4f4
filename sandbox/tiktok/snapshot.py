"""The emulator's world kept across restarts (`world_file`, which the offline demo sets).

TikTok remembers what was paused, created or hidden when TTPulse or the emulator restarts, and a
finished day's numbers never change. A world rebuilt from its fixture at each start forgets both
(the fixture's objects are made relative to the start, so past days' spend moves by cents). So
the world is saved every few seconds and at stop, and the next start with the same fixture, seed
and model takes it up instead of building a new one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.tiktok import model
from sandbox.tiktok.model import World

log = logging.getLogger(__name__)
SAVE_EVERY = 5.0  # seconds: what a crash of the demo can lose


def _model_print() -> str:
    """A fingerprint of the model's shape: a world saved by other code is not taken up (it would
    lack attributes this code reads)."""
    parts = sorted(vars(World(0)))
    for value in vars(model).values():
        if dataclasses.is_dataclass(value) and isinstance(value, type):
            parts += [value.__name__, *(f.name for f in dataclasses.fields(value))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """A saved world and when it was first built (balances count delivery since then)."""

    world: World
    started_at: float


def load(path: Path, fixture: str, seed: int) -> Snapshot | None:
    """The world saved at `path` for this fixture, seed and model, or None."""
    try:
        with path.open("rb") as f:
            saved: Any = pickle.load(f)  # the demo's own file in data/, written by save()
    except FileNotFoundError:
        return None
    except Exception as exc:  # a half-written or foreign file: a new world
        log.warning("emulator.world_unreadable", extra={"path": str(path), "error": repr(exc)})
        return None
    if not isinstance(saved, dict) or saved.get("key") != (fixture, seed, _model_print()):
        return None
    return Snapshot(saved["world"], saved["started_at"])


def save(path: Path, fixture: str, seed: int, snapshot: Snapshot) -> None:
    """Write the world atomically (a crash mid-write leaves the previous one)."""
    data = {"key": (fixture, seed, _model_print()), "world": snapshot.world,
            "started_at": snapshot.started_at}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
