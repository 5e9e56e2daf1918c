"""CPU seconds this process spent per pipeline step, for the benchmark's breakdown (`make bench`):
the batch phases hand what a chunk spent to its partitions' outcomes. Process time, so a step's
figure is its own work (threads included), not time spent waiting for the machine. A step inside
another counts for itself only: the outer one's figure leaves it out, so the figures add up."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

_spent: Counter[str] = Counter()
_inner: list[float] = []  # per open step, the CPU its inner steps took


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.process_time()
    _inner.append(0.0)
    try:
        yield
    finally:
        elapsed = time.process_time() - started
        _spent[name] += elapsed - _inner.pop()
        if _inner:
            _inner[-1] += elapsed


def take() -> dict[str, float]:
    """What was spent since the last take; the count starts again."""
    out = dict(_spent)
    _spent.clear()
    return out
