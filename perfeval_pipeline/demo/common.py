"""Shared helpers of the demo generator: stable seeding, exact integer splitting of money (cents),
and date arithmetic. Money is generated as integer cents so that totals come out exact."""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np

CENT = 1
YUAN = 100
HUNDRED_YUAN = 100 * YUAN


def partition_rng(department: str, year: int, stream: str) -> np.random.Generator:
    """One independent generator per (department, year, stream): feeds do not shift each other's draws
    when one feed's code changes. crc32, not hash(): Python salts str hashes per process."""
    key = zlib.crc32(f"{department}|{year}".encode())
    return np.random.default_rng([key, zlib.crc32(stream.encode())])


def yuan(amount: float) -> int:
    """Cents of an amount in 元 (used to write seed amounts readably, e.g. yuan(840_000))."""
    return round(amount * YUAN)


def split_exact(total: int, weights, quantum: int = CENT) -> np.ndarray:
    """Split a non-negative integer total in proportion to weights, in multiples of quantum when the total
    allows it, so that the parts sum exactly to the total (largest remainder method)."""
    w = np.asarray(weights, dtype=float)
    if total < 0:
        raise ValueError(f"cannot split a negative total {total}")
    if len(w) == 0:
        if total:
            raise ValueError("nothing to split into")
        return np.zeros(0, dtype=np.int64)
    if total % quantum:
        quantum = CENT
    units = total // quantum
    raw = w / w.sum() * units if w.sum() > 0 else np.full(len(w), units / len(w))
    parts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - parts), kind="stable")
    parts[order[: units - parts.sum()]] += 1
    return parts * quantum


def split_capped(total: int, weights, caps, quantum: int = CENT) -> np.ndarray:
    """split_exact where no part may exceed its cap: the excess goes to parts with headroom."""
    caps = np.asarray(caps, dtype=np.int64)
    if total > caps.sum():
        raise ValueError(f"total {total} exceeds the caps' sum {caps.sum()}")
    w = np.asarray(weights, dtype=float).copy()
    parts = np.zeros(len(caps), dtype=np.int64)
    left = total
    while left:
        room = caps - parts
        w = np.where(room > 0, w, 0.0)
        if w.sum() == 0:
            w = (room > 0).astype(float)
        add = np.minimum(split_exact(left, w, quantum), room)
        if add.sum() == 0:  # quantum too coarse for the remaining room: finish in cents
            quantum = CENT
            continue
        parts += add
        left = total - parts.sum()
    return parts


def random_parts(
    rng: np.random.Generator, total: int, n: int, quantum: int = CENT, spread: float = 2.0
) -> np.ndarray:
    """n random parts summing to total, each at least one quantum (gamma weights: lower `spread` is
    more uneven)."""
    if total % quantum or total < n * quantum:
        quantum = CENT
    return split_exact(total - n * quantum, rng.gamma(spread, size=n), quantum) + quantum


def round_to(cents: float, quantum: int = HUNDRED_YUAN) -> int:
    return int(round(cents / quantum)) * quantum


def random_dates(rng: np.random.Generator, start: date, end: date, n: int) -> np.ndarray:
    """n dates uniformly in [start, end], as datetime64[D]."""
    lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
    days = rng.integers(0, (hi - lo).astype(int) + 1, size=n)
    return lo + days.astype("timedelta64[D]")


def fmt_money(cents: int, style: str) -> str:
    """'19585200.00' (plain), '19,585,200.00' (thousands) or '1958.52' (wan: 万元, exact: up to 6 decimals)."""
    sign = "-" if cents < 0 else ""
    c = abs(int(cents))
    if style == "wan":
        frac = f"{c % 1_000_000:06d}".rstrip("0").ljust(2, "0")
        return f"{sign}{c // 1_000_000}.{frac}"
    whole = f"{c // YUAN:,}" if style == "thousands" else str(c // YUAN)
    return f"{sign}{whole}.{c % YUAN:02d}"
