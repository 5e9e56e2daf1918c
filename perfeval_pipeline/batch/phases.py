"""The work of each phase for a chunk of partitions: top-level functions of picklable arguments, so
a worker process can run them. Each returns one outcome per partition; an exception in a partition
becomes that partition's `failed` outcome (with a result.json saying so), never the chunk's."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from perfeval_pipeline.catalog import (
    EVIDENCE,
    FINDINGS,
    INDICATOR_VALUES,
    LEVELS,
    PEER_BENCHMARKS,
    RECTIFICATION,
    SCORES,
)
from perfeval_pipeline.config.settings import Paths, Settings, load_settings
from perfeval_pipeline.costs import step, take
from perfeval_pipeline.feeds.files import safe_text
from perfeval_pipeline.store import Store

log = logging.getLogger("perfeval")

USABLE, BLOCKED, FAILED, EVALUATED = "usable", "blocked", "failed", "evaluated"
DERIVED = (INDICATOR_VALUES, EVIDENCE, PEER_BENCHMARKS, SCORES, LEVELS, FINDINGS, RECTIFICATION)


@dataclass
class Outcome:
    """What one phase did for one partition."""

    department: str
    year: int
    phase: str
    status: str  # usable | blocked | failed (ingest); evaluated | failed (score); rendered | failed (render)
    reasons: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per step (costs.py)

    @property
    def key(self) -> tuple[str, int]:
        return (self.department, self.year)

    @property
    def ok(self) -> bool:
        return self.status not in (BLOCKED, FAILED)


def failure_reason(exc: BaseException) -> str:
    """Short, safe and located: the exception type, its message without file content, and where."""
    frames = traceback.extract_tb(exc.__traceback__)
    here = next(
        (f for f in reversed(frames) if "perfeval_pipeline" in f.filename), frames[-1] if frames else None
    )
    where = f" at {here.filename.split('perfeval_pipeline/')[-1]}:{here.lineno} ({here.name})" if here else ""
    return f"{type(exc).__name__}: {safe_text(exc, 300)}{where}"


def _context(paths: Paths) -> tuple[Settings, Store]:
    settings = load_settings(paths)
    return settings, Store(settings.store_dir)


def _clear_derived(store: Store, department: str, year: int) -> None:
    """A partition that is not evaluated this time keeps no indicators or scores of an earlier run."""
    for dataset in DERIVED:
        store.delete(dataset, department, year)


def _failed(
    settings: Settings,
    store: Store,
    department: str,
    year: int,
    phase: str,
    exc: BaseException,
    started: float,
) -> Outcome:
    from perfeval_pipeline.findings.stage import write_not_evaluated

    reason = failure_reason(exc)
    log.error(
        "%s %s failed in %s: %s\n%s",
        department,
        year,
        phase,
        reason,
        "".join(traceback.format_exception(exc)),
    )
    try:
        with store.partition_lock(department, year):
            _clear_derived(store, department, year)
            write_not_evaluated(settings, department, year, FAILED, [f"{phase}: {reason}"])
    except Exception:  # noqa: BLE001 - the outcome below still says failed
        log.exception("could not write the failed result of %s %s", department, year)
    return Outcome(
        department, year, phase, FAILED, [f"{phase}: {reason}"], seconds=time.perf_counter() - started
    )


def ingest_chunk(paths: Paths, partitions: list[tuple[str, int]], peer_ids: list[str]) -> list[Outcome]:
    """Phase 1 for partitions of one year: read, validate (together), gate, store rows; indicators
    for the usable ones; and every partition's own values of the peer-scored indicators."""
    from perfeval_pipeline.findings.stage import write_not_evaluated
    from perfeval_pipeline.indicators.peers import peer_values_from
    from perfeval_pipeline.indicators.stage import partition_indicators, store_indicators
    from perfeval_pipeline.quality.stage import changed_files, ingest, store_quality

    settings, store = _context(paths)
    started = time.perf_counter()
    take()
    try:
        quality = ingest(settings, partitions)
    except Exception as exc:  # noqa: BLE001 - reading the chunk failed: each partition says so
        return [_failed(settings, store, d, y, "ingest", exc, started) for d, y in partitions]
    per_partition = (time.perf_counter() - started) / max(len(partitions), 1)
    shared = {k: v / max(len(partitions), 1) for k, v in take().items()}
    specs = [s for fw in settings.frameworks.values() for s in fw.indicators if s.id in peer_ids]
    specs = list({s.id: s for s in specs}.values())
    out = []
    for department, year in partitions:
        t0 = time.perf_counter()
        pq = quality[(department, year)]
        try:
            with store.partition_lock(department, year):
                moved = [str(i) for i in changed_files(pq)]
                if moved:
                    pq.blocked_reasons = moved + pq.blocked_reasons
                with step("store"):
                    store_quality(store, pq)
                summary = pq.summary()
                detail = {"quality": summary, "peer_values": {}}
                results = None
                if pq.usable:
                    with step("indicators"):
                        results = partition_indicators(settings, pq)
                    with step("store"):
                        store_indicators(store, department, year, results)
                    detail["indicators"] = {
                        "count": len(results.values),
                        "computable": sum(v.computable for v in results.values),
                        "evidence_rows": len(results.evidence),
                        "not_computable": {v.id: v.reason for v in results.values if not v.computable},
                    }
                    status = USABLE
                else:
                    _clear_derived(store, department, year)
                    write_not_evaluated(settings, department, year, BLOCKED, pq.blocked_reasons, summary)
                    status = BLOCKED
            with step("peers"):
                detail["peer_values"] = {
                    iid: (v.value, v.reason)
                    for iid, v in peer_values_from(settings, pq, specs, results).items()
                }
            own = take()
            out.append(
                Outcome(
                    department,
                    year,
                    "ingest",
                    status,
                    list(pq.blocked_reasons),
                    detail,
                    per_partition + time.perf_counter() - t0,
                    {k: shared.get(k, 0.0) + own.get(k, 0.0) for k in shared | own},
                )
            )
        except Exception as exc:  # noqa: BLE001 - one partition's failure is its own
            out.append(_failed(settings, store, department, year, "ingest", exc, t0))
    return out


def score_chunk(paths: Paths, jobs: list[tuple[str, int, dict, dict]]) -> list[Outcome]:
    """Phase 3: (department, year, quality summary, peer values of the year) → scorecard, findings,
    follow-up and result.json."""
    from perfeval_pipeline.findings.stage import run_findings
    from perfeval_pipeline.indicators.peers import PeerValue, benchmarks_for, store_benchmarks
    from perfeval_pipeline.scoring.stage import run_scoring

    settings, store = _context(paths)
    out = []
    for department, year, quality, values in jobs:
        t0 = time.perf_counter()
        take()
        try:
            with step("peers"):
                peer_values = {
                    d: {iid: PeerValue(d, v, r) for iid, (v, r) in vals.items()} for d, vals in values.items()
                }
                benchmarks = benchmarks_for(settings, department, peer_values)
            with store.partition_lock(department, year):
                with step("store"):
                    store_benchmarks(store, department, year, benchmarks)
                with step("scoring"):
                    card = run_scoring(settings, store, department, year, benchmarks)
                with step("findings"):
                    result = run_findings(settings, store, department, year, quality, benchmarks)
            detail = {
                "total": card.total,
                "grade": card.grade,
                "max_points": card.max_points,
                "levels": card.level1,
                "deductions": [
                    {"id": s.id, "deduction": s.deduction, "reason": s.deduction_reason}
                    for s in card.indicators
                    if s.deduction > 0
                ],
                "benchmarks": result["peer_benchmarks"],
                "problems": [
                    {"no": g["no"], "title": g["title"], "items": len(g["items"])} for g in result["problems"]
                ],
                "rectification": {
                    "available": result["rectification"]["available"],
                    "reason": result["rectification"]["reason"],
                    "statuses": _count(r["status"] for r in result["rectification"]["problems"]),
                },
            }
            out.append(
                Outcome(department, year, "score", EVALUATED, [], detail, time.perf_counter() - t0, take())
            )
        except Exception as exc:  # noqa: BLE001
            out.append(_failed(settings, store, department, year, "score", exc, t0))
    return out


def _render(settings: Settings, store: Store, department: str, year: int, result: dict | None = None) -> dict:
    """The form, the workbook and then the manifest (it hashes them) of a locked partition: the outcome's
    detail. `result`: the result just composed; None: the one the form was rendered from."""
    from perfeval_pipeline.lineage.manifest import write_manifest
    from perfeval_pipeline.render.stage import render_partition

    form = render_partition(settings, store, department, year)
    with step("manifest"):
        manifest = write_manifest(settings, store, department, year)
    result = form.result if result is None else result
    return {
        "docx": str(form.docx),
        "xlsx": str(form.xlsx),
        "manifest": str(manifest),
        "seconds": form.seconds,
        "total": result["total_score"],
        "grade": result["grade"],
    }


def _render_each(
    paths: Paths,
    partitions: list[tuple[str, int]],
    phase: str,
    work: Callable[[Settings, Store, str, int], dict | None],
) -> list[Outcome]:
    """`work` under each partition's lock: its detail makes a `rendered` outcome, None no outcome (nothing
    to do), an exception a `failed` one."""
    settings, store = _context(paths)
    out = []
    for department, year in partitions:
        t0 = time.perf_counter()
        take()
        try:
            with store.partition_lock(department, year):
                detail = work(settings, store, department, year)
            if detail is not None:
                out.append(
                    Outcome(department, year, phase, "rendered", [], detail, time.perf_counter() - t0, take())
                )
        except Exception as exc:  # noqa: BLE001
            out.append(_failed(settings, store, department, year, phase, exc, t0))
    return out


def render_chunk(paths: Paths, partitions: list[tuple[str, int]]) -> list[Outcome]:
    """Phase 4: the form, the workbook and then the manifest (it hashes them) of each partition."""
    return _render_each(paths, partitions, "render", _render)


def refresh_chunk(paths: Paths, partitions: list[tuple[str, int]]) -> list[Outcome]:
    """Later years of departments this run evaluated: where an evaluated result was composed from
    other earlier results than those now on disk (its follow-up of last year, its 历年得分 history),
    compose its findings again from its stored indicators and scores and re-render its form, so
    that what is on disk does not depend on the order the years were evaluated in."""
    import json

    from perfeval_pipeline.catalog import RESULT
    from perfeval_pipeline.findings.rectification import earlier_years_digest
    from perfeval_pipeline.findings.stage import run_findings
    from perfeval_pipeline.indicators.peers import load_benchmarks

    def refresh(settings: Settings, store: Store, department: str, year: int) -> dict | None:
        path = settings.report_folder(department, year) / RESULT.name
        result = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if result.get("status") != "evaluated" or result.get("earlier_years_digest") == earlier_years_digest(
            settings, department, year
        ):
            return None
        result = run_findings(
            settings,
            store,
            department,
            year,
            result["quality"],
            load_benchmarks(store, department, year),
        )
        detail = _render(settings, store, department, year, result)
        detail["rectification"] = result["rectification"]["reason"] or "上年问题已跟踪"
        return detail

    return _render_each(paths, partitions, "refresh", refresh)


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
