"""Pausing the cyclic garbage collector around a bounded, allocation-heavy batch.

A rules batch builds hundreds of thousands of short-lived containers (rows, sums, facts); each
is freed by reference counting, but their sheer number keeps triggering the cyclic collector,
whose full passes walk every live object of the process — measured at about half of a batch's
CPU time (`python -m bench.rules`). Nothing in such a batch needs the collector, so it is held
off for the batch and runs again after it (any cycles made meanwhile are collected then).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0  # batches in progress (coroutines of one event loop may overlap)
_paused = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off the cyclic collector until the outermost such block ends."""
    global _depth, _paused
    if _depth == 0 and gc.isenabled():
        gc.disable()
        _paused = True
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _paused:
            _paused = False
            gc.enable()
