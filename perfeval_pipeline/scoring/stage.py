"""Scoring stage: stored indicators, the department's targets and workpaper, and its peer benchmarks
→ the scorecard in the store."""

from __future__ import annotations

from perfeval_pipeline.catalog import LEVELS, SCORES
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.indicators.peers import Benchmark
from perfeval_pipeline.indicators.stage import load_clean, load_indicators
from perfeval_pipeline.scoring.score import Scorecard, score_partition
from perfeval_pipeline.store import Store


def run_scoring(
    settings: Settings, store: Store, department: str, year: int, benchmarks: dict[str, Benchmark]
) -> Scorecard:
    card = score_partition(
        settings.framework_of(department),
        load_indicators(store, department, year),
        targets=load_clean(store, "evaluation.targets", department, year),
        workpaper=load_clean(store, "evaluation.workpaper", department, year),
        benchmarks=benchmarks,
        grades=settings.grades,
    )
    store.write(SCORES, department, year, card.to_frame())
    store.write(LEVELS, department, year, card.levels_frame())
    return card


def load_scorecard(store: Store, department: str, year: int) -> Scorecard:
    return Scorecard.from_frames(store.read(SCORES, department, year), store.read(LEVELS, department, year))
