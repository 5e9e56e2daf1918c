"""Run a set of partitions through the phases (see batch/__init__.py), fanned out over a pool of
worker processes, reporting each partition's outcome through `on_outcome` as it arrives."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from perfeval_pipeline.batch.phases import (
    BLOCKED,
    FAILED,
    USABLE,
    Outcome,
    ingest_chunk,
    refresh_chunk,
    render_chunk,
    score_chunk,
)
from perfeval_pipeline.batch.pool import default_workers, shared_pool
from perfeval_pipeline.config.settings import Settings

OnOutcome = Callable[[Outcome], None]
# Partitions validated together in one worker job: more means fewer Great Expectations calls (each
# costs ~0.3 s whatever its rows), but every partition of the chunk is in memory at once (~13× its
# landing bytes, measured). So an ingest chunk is bounded by landing bytes as well as by count: six
# average partitions (10 MB of landing each), or up to 32 small ones.
CHUNK_MAX = 32
CHUNK_LANDING_BYTES = 64 * 2**20


def chunked(
    items: list, workers: int, cap: int, sizes: list[int] | None = None, budget: int = CHUNK_LANDING_BYTES
) -> list[list]:
    """`items` in order, split so that every worker gets work and no chunk holds more than `cap`
    items or, unless it is a single item, more than `budget` bytes (`sizes`, one per item)."""
    size = max(1, min(cap, math.ceil(len(items) / workers))) if items else 1
    chunks: list[list] = []
    current: list = []
    held = 0
    for item, nbytes in zip(items, sizes or [0] * len(items), strict=True):
        if current and (len(current) >= size or held + nbytes > budget):
            chunks.append(current)
            current, held = [], 0
        current.append(item)
        held += nbytes
    return chunks + [current] if current else chunks


def landing_bytes(settings: Settings, department: str, year: int) -> int:
    """The folder's file bytes, for sizing chunks only: what cannot be listed counts as nothing (the
    readers report it)."""
    total = 0
    with contextlib.suppress(OSError):
        for path in settings.landing_folder(department, year).iterdir():
            with contextlib.suppress(OSError):
                total += path.stat().st_size if path.is_file() else 0
    return total


@dataclass
class BatchResult:
    ingest: dict[tuple[str, int], Outcome] = field(default_factory=dict)
    score: dict[tuple[str, int], Outcome] = field(default_factory=dict)
    render: dict[tuple[str, int], Outcome] = field(default_factory=dict)
    refresh: dict[tuple[str, int], Outcome] = field(default_factory=dict)
    summaries: dict[int, str] = field(default_factory=dict)

    def final(self, key: tuple[str, int]) -> Outcome:
        """The partition's last outcome (render, else score, else ingest)."""
        for phase in (self.render, self.score, self.ingest):
            if key in phase:
                return phase[key]
        raise KeyError(key)

    @property
    def not_evaluated(self) -> list[Outcome]:
        keys = list(self.ingest)
        return [o for o in (self.final(k) for k in keys) if not o.ok]


class Batch:
    def __init__(
        self,
        settings: Settings,
        partitions: Iterable[tuple[str, int]],
        workers: int = 0,
        on_outcome: OnOutcome | None = None,
    ):
        self.settings = settings
        self.partitions = list(dict.fromkeys(partitions))
        for department, year in self.partitions:
            settings.check_partition(department, year)
        self.workers = default_workers(workers or settings.pipeline.workers)
        self.on_outcome = on_outcome or (lambda _o: None)
        self.result = BatchResult()
        self._pool = shared_pool(min(self.workers, max(1, len(self.partitions))))

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc) -> None:
        """Nothing to release: the worker processes stay up for this process's next batch."""

    def _emit(self, outcomes: list[Outcome], into: dict) -> Iterator[Outcome]:
        for o in outcomes:
            into[o.key] = o
            self.on_outcome(o)
            yield o

    @property
    def peer_ids(self) -> list[str]:
        from perfeval_pipeline.indicators.peers import peer_scored

        return sorted({s.id for fw in self.settings.frameworks.values() for s in peer_scored(fw)})

    # --- phases (generators: each partition's outcome as soon as it is known) -------------------
    def iter_ingest(self, partitions: list[tuple[str, int]] | None = None) -> Iterator[Outcome]:
        todo = partitions or self.partitions
        jobs = []
        for year in sorted({y for _, y in todo}):
            of_year = [p for p in todo if p[1] == year]
            sizes = [landing_bytes(self.settings, *p) for p in of_year]
            jobs += [
                (self.settings.paths, chunk, self.peer_ids)
                for chunk in chunked(of_year, self._pool.workers, CHUNK_MAX, sizes)
            ]
        for _, outcomes in self._pool.map(ingest_chunk, jobs):
            yield from self._emit(outcomes, self.result.ingest)

    def peer_values(self, ingested: dict[tuple[str, int], Outcome]) -> dict[int, dict[str, dict]]:
        """Per year, every needed peer's values: from this batch's ingest where the peer was in it,
        read from its landing folder (nothing stored) where it was not."""
        from perfeval_pipeline.indicators.peers import members, read_peer_values

        out: dict[int, dict[str, dict]] = {}
        specs = {
            s.id: s
            for fw in self.settings.frameworks.values()
            for s in fw.indicators
            if s.id in self.peer_ids
        }
        for year in sorted({y for _, y in ingested}):
            values = {
                d: o.detail.get("peer_values", {})
                for (d, y), o in ingested.items()
                if y == year and o.status != FAILED
            }
            needed = set()
            for (d, y), o in ingested.items():
                if y == year and o.status == USABLE:
                    needed |= set(members(self.settings, d)[1])
            missing = sorted(needed - set(values))
            if missing and specs:
                read = read_peer_values(self.settings, year, missing, list(specs.values()))
                values.update(
                    {d: {iid: (v.value, v.reason) for iid, v in vals.items()} for d, vals in read.items()}
                )
            out[year] = values
        return out

    def iter_score(self, ingested: dict[tuple[str, int], Outcome] | None = None) -> Iterator[Outcome]:
        ingested = ingested if ingested is not None else self.result.ingest
        values = self.peer_values(ingested)
        usable = [o for o in ingested.values() if o.status == USABLE]
        # Year by year: a year's follow-up and history read the results of the years before it.
        for year in sorted({o.year for o in usable}):
            jobs = [
                (o.department, o.year, o.detail["quality"], values[o.year]) for o in usable if o.year == year
            ]
            chunks = [(self.settings.paths, c) for c in chunked(jobs, self._pool.workers, 20)]
            for _, outcomes in self._pool.map(score_chunk, chunks):
                yield from self._emit(outcomes, self.result.score)

    def iter_render(self, scored: dict[tuple[str, int], Outcome] | None = None) -> Iterator[Outcome]:
        scored = scored if scored is not None else self.result.score
        keys = [k for k, o in scored.items() if o.ok]
        chunks = [(self.settings.paths, c) for c in chunked(keys, self._pool.workers, 10)]
        for _, outcomes in self._pool.map(render_chunk, chunks):
            yield from self._emit(outcomes, self.result.render)

    def later_years(self) -> list[tuple[str, int]]:
        """Partitions outside this batch that read results it wrote: later years of its departments."""
        first: dict[str, int] = {}
        for department, year in self.partitions:
            first[department] = min(year, first.get(department, year))
        inside = set(self.partitions)
        return [
            (d, y)
            for d, start in sorted(first.items())
            for y in self.settings.department_years(d)
            if y > start
            and (d, y) not in inside
            and (self.settings.report_folder(d, y) / "result.json").exists()
        ]

    def iter_refresh(self) -> Iterator[Outcome]:
        """Refresh the later years whose earlier results changed (phases.refresh_chunk)."""
        todo = self.later_years()
        chunks = [(self.settings.paths, c) for c in chunked(todo, self._pool.workers, 10)]
        for _, outcomes in self._pool.map(refresh_chunk, chunks):
            yield from self._emit(outcomes, self.result.refresh)

    def write_summaries(self, years: list[int]) -> dict[int, str]:
        """Rewrite each year's province summary from every result.json present."""
        from perfeval_pipeline.render.stage import render_year_summary

        for year in years:
            path = render_year_summary(self.settings, year)
            if path is not None:
                self.result.summaries[year] = str(path)
        return {y: p for y, p in self.result.summaries.items() if y in years}

    def run(self) -> BatchResult:
        """Every phase over every partition (the plain-Python path: tests, the benchmark baseline)."""
        for _ in self.iter_ingest():
            pass
        for _ in self.iter_score():
            pass
        for _ in self.iter_render():
            pass
        for _ in self.iter_refresh():
            pass
        years = {y for _, y in self.partitions} | {y for _, y in self.result.refresh}
        self.write_summaries(sorted(years))
        return self.result


def statuses(result: BatchResult) -> dict[str, int]:
    out = {"evaluated": 0, BLOCKED: 0, FAILED: 0}
    for key in result.ingest:
        o = result.final(key)
        out["evaluated" if o.ok else o.status] += 1
    return out
