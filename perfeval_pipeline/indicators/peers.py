"""Peer benchmarks: the year-level step between indicators and scoring. An indicator scored against
its peer group (户均发布率 vs the 四小地市 mean) needs every peer's value of the same year.

A peer's value is the indicator computed from that peer's own landing data, using only the feeds
the indicator reads, when those feeds pass their contracts. It is the same number whether the peer
was evaluated in the same run (its clean tables are at hand), earlier, later, or not at all (its
feeds are read for the purpose and nothing is stored): so scores do not depend on how runs were
split, and a partition's result is the same evaluated alone or in a batch."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from perfeval_pipeline.catalog import PEER_BENCHMARKS
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.indicators.compute import IndicatorResults, compute_indicators
from perfeval_pipeline.indicators.framework import (
    CountMeasure,
    Framework,
    IndicatorSpec,
    ProportionalRule,
    RatioMeasure,
    RuleHitsMeasure,
    TargetCompletionMeasure,
    TotalMeasure,
)
from perfeval_pipeline.indicators.measures import VIEW_SOURCES
from perfeval_pipeline.quality.validate import PartitionQuality, gate
from perfeval_pipeline.store import Store


@dataclass(frozen=True)
class PeerValue:
    department: str
    value: float | None
    reason: str | None = None  # why there is no value


@dataclass(frozen=True)
class Benchmark:
    indicator_id: str
    groups: tuple[str, ...]
    members: tuple[PeerValue, ...]

    @property
    def mean(self) -> float | None:
        used = [m.value for m in self.members if m.value is not None]
        return sum(used) / len(used) if used else None

    @property
    def source(self) -> str:
        used = [m.department for m in self.members if m.value is not None]
        missing = [m.department for m in self.members if m.value is None]
        text = f"{'、'.join(self.groups)}均值（{len(used)}个部门"
        return text + (f"；无数据：{'、'.join(missing)}）" if missing else "）")

    @property
    def missing_reason(self) -> str:
        return (
            "；".join(f"{m.department}: {m.reason}" for m in self.members if m.value is None) or "同组无部门"
        )


def peer_scored(framework: Framework) -> list[IndicatorSpec]:
    return [
        s for s in framework.indicators if isinstance(s.rule, ProportionalRule) and s.rule.target_peer_mean
    ]


def feeds_of(spec: IndicatorSpec) -> set[str]:
    """The feeds a measure reads."""
    m = spec.measure
    tables: list[str | None] = []
    if isinstance(m, RatioMeasure):
        tables = [m.numerator.table, m.denominator.table]
    elif isinstance(m, TotalMeasure | CountMeasure):
        tables = [m.table]
    elif isinstance(m, RuleHitsMeasure):
        tables = [r.table for r in m.rules.values()]
    elif isinstance(m, TargetCompletionMeasure):
        tables = ["evaluation.targets"]
    return {VIEW_SOURCES.get(t, t).split(".", 1)[0] for t in tables if t}


def members(settings: Settings, department: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(group names, member departments) of a department's peer groups, the department included."""
    groups = settings.peers_of(department)
    seen: list[str] = []
    for codes in groups.values():
        seen += [c for c in codes if c not in seen]
    return tuple(groups), tuple(sorted(seen))


def peer_values_from(
    settings: Settings,
    pq: PartitionQuality,
    specs: list[IndicatorSpec],
    computed: IndicatorResults | None = None,
) -> dict[str, PeerValue]:
    """A partition's own values of peer-scored indicators, from its clean tables, each gated on the
    feeds it reads only. `computed`: the partition's indicators already computed from the same
    tables (a usable partition's); else the specs that pass their gates are computed together."""
    out = {}
    dept = settings.department(pq.department)
    framework = settings.frameworks[dept.framework]
    passed = []
    for spec in specs:
        if spec.id not in framework.ids:
            out[spec.id] = PeerValue(pq.department, None, f"框架{framework.name}无此指标")
            continue
        reasons = gate(pq, settings, feeds_of(spec))
        if reasons:
            out[spec.id] = PeerValue(pq.department, None, reasons[0])
        else:
            passed.append(spec.id)
    if passed and computed is None:
        computed = compute_indicators(pq.clean_tables(), dept, pq.year, framework, only=set(passed))
    for iid in passed:
        value = computed.get(iid)
        out[iid] = PeerValue(pq.department, value.value, value.reason)
    return {s.id: out[s.id] for s in specs}


def read_peer_values(
    settings: Settings, year: int, departments: list[str], specs: list[IndicatorSpec]
) -> dict[str, dict[str, PeerValue]]:
    """Peer values for departments not evaluated in this run: their needed feeds read and checked
    in memory (nothing is stored)."""
    from perfeval_pipeline.quality.stage import ingest

    needed = set().union(*(feeds_of(s) for s in specs)) if specs else set()
    todo = [d for d in departments if year in settings.department_years(d)]
    out = {
        d: {s.id: PeerValue(d, None, f"{d}不在{year}年的评价范围内") for s in specs}
        for d in departments
        if d not in todo
    }
    if todo:
        quality = ingest(settings, [(d, year) for d in todo], feeds=needed)
        for d in todo:
            out[d] = peer_values_from(settings, quality[(d, year)], specs)
    return out


def benchmarks_for(
    settings: Settings, department: str, values: dict[str, dict[str, PeerValue]]
) -> dict[str, Benchmark]:
    framework = settings.framework_of(department)
    groups, codes = members(settings, department)
    out = {}
    for spec in peer_scored(framework):
        vals = tuple(values.get(c, {}).get(spec.id, PeerValue(c, None, "未计算")) for c in codes)
        out[spec.id] = Benchmark(spec.id, groups, vals)
    return out


def benchmark_frame(benchmarks: dict[str, Benchmark]) -> pd.DataFrame:
    rows = [
        {
            "indicator_id": b.indicator_id,
            "peer_groups": "、".join(b.groups),
            "member": m.department,
            "member_value": m.value,
            "member_reason": m.reason,
            "mean": b.mean,
            "source": b.source,
        }
        for b in benchmarks.values()
        for m in b.members
    ]
    return pd.DataFrame(
        rows,
        columns=["indicator_id", "peer_groups", "member", "member_value", "member_reason", "mean", "source"],
    )


def store_benchmarks(store: Store, department: str, year: int, benchmarks: dict[str, Benchmark]) -> None:
    store.write(PEER_BENCHMARKS, department, year, benchmark_frame(benchmarks))


def load_benchmarks(store: Store, department: str, year: int) -> dict[str, Benchmark]:
    frame = store.read_optional(PEER_BENCHMARKS, department, year)
    if frame is None or frame.empty:
        return {}
    out = {}
    for iid, group in frame.groupby("indicator_id", sort=False):
        members_ = tuple(
            PeerValue(
                r.member,
                None if pd.isna(r.member_value) else float(r.member_value),
                None if pd.isna(r.member_reason) else r.member_reason,
            )
            for r in group.itertuples()
        )
        out[iid] = Benchmark(iid, tuple(str(group["peer_groups"].iloc[0]).split("、")), members_)
    return out
