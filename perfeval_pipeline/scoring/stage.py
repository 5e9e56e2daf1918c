"""Scoring stage: stored indicators (this partition's and its peers') → scorecard in the store."""

from __future__ import annotations

import json

import pandas as pd

from perfeval_pipeline.config import Settings
from perfeval_pipeline.config import settings as load_settings
from perfeval_pipeline.indicators.framework import load_framework
from perfeval_pipeline.indicators.stage import load_indicators, stored_value
from perfeval_pipeline.scoring.score import IndicatorScore, Scorecard, peer_means, score_partition
from perfeval_pipeline.store import Store


def run_scoring(department: str, year: int, store: Store, cfg: Settings | None = None) -> Scorecard:
    cfg = cfg or load_settings()
    dept = cfg.department(department)
    framework = load_framework(dept.framework)
    indicators = load_indicators(department, year, store)
    peers = peer_means(
        framework, cfg.peers_of(department), lambda peer, iid: stored_value(peer, year, iid, store)
    )
    scorecard = score_partition(
        framework,
        indicators,
        targets=store.read_optional("clean", "evaluation.targets", department, year),
        workpaper=store.read_optional("clean", "evaluation.workpaper", department, year),
        peer_mean_by_indicator=peers,
    )
    frame = scorecard.to_frame()
    frame["peer_members"] = [
        json.dumps(peers[s.id].members, ensure_ascii=False) if s.id in peers else None
        for s in scorecard.indicators
    ]
    store.write("scores", "indicators", department, year, frame)
    levels = pd.DataFrame(
        [{**lvl, "level": 1} for lvl in scorecard.level1] + [{**lvl, "level": 2} for lvl in scorecard.level2]
    )
    levels = pd.concat(
        [
            levels,
            pd.DataFrame(
                [
                    {
                        "name": "总分",
                        "level1": "",
                        "points": scorecard.max_points,
                        "score": scorecard.total,
                        "level": 0,
                        "grade": scorecard.grade,
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    store.write("scores", "levels", department, year, levels)
    return scorecard


def load_scorecard(department: str, year: int, store: Store) -> Scorecard:
    frame = store.read("scores", "indicators", department, year)
    levels = store.read("scores", "levels", department, year)
    scores = []
    for rec in frame.to_dict("records"):
        rec = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
        rec.pop("peer_members", None)
        rec["reasons"] = json.loads(rec["reasons"])
        rec["workpaper_refs"] = json.loads(rec["workpaper_refs"])
        scores.append(IndicatorScore(**rec))
    total_row = levels[levels["level"] == 0].iloc[0]
    strip = lambda df: df.drop(columns=["level", "grade"], errors="ignore").to_dict("records")  # noqa: E731
    return Scorecard(
        scores,
        strip(levels[levels["level"] == 1]),
        strip(levels[levels["level"] == 2]),
        float(total_row["score"]),
        str(total_row["grade"]),
        float(total_row["points"]),
    )
