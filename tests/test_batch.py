"""How a batch splits its partitions into worker jobs (batch/engine.py)."""

from __future__ import annotations

from perfeval_pipeline.batch.engine import chunked

MB = 2**20


def test_every_worker_gets_work_and_order_is_kept():
    items = list(range(10))
    chunks = chunked(items, workers=2, cap=32)
    assert chunks == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert chunked(items, workers=4, cap=32) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_the_count_cap_holds():
    assert [len(c) for c in chunked(list(range(100)), workers=2, cap=32)] == [32, 32, 32, 4]


def test_big_partitions_are_bounded_by_bytes_small_ones_by_count():
    items = list(range(12))
    big = chunked(items, workers=2, cap=32, sizes=[10 * MB] * 12, budget=64 * MB)
    assert [len(c) for c in big] == [6, 6]  # 6 × 10 MB fits 64 MB; ceil(12/2) = 6
    huge = chunked(items[:3], workers=1, cap=32, sizes=[100 * MB, 1 * MB, 100 * MB], budget=64 * MB)
    assert huge == [[0], [1], [2]]  # an item over the budget still gets a chunk, alone
    mixed = chunked(items, workers=1, cap=32, sizes=[1 * MB] * 6 + [30 * MB] * 6, budget=64 * MB)
    assert [len(c) for c in mixed] == [7, 2, 2, 1]  # 6×1 + 30 = 36 ≤ 64 < 66; then 2×30 = 60 each
    assert sum(mixed, []) == items


def test_no_items_no_chunks():
    assert chunked([], workers=2, cap=10) == []
