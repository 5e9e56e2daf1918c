"""evaluation feed: the evaluator's workbook (基本情况, 职能清单, 内设科室, 绩效目标表, 重点任务, 运行统计,
满意度调查, 窗口办件, 制度检查, 工作底稿), written from the parameters nearly one to one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo.params import PartitionParams


def survey(p: PartitionParams, rng: np.random.Generator) -> pd.DataFrame:
    """Each question answered by every respondent; answers shuffled over respondents."""
    frames = []
    for q in p.evaluation.survey:
        answers = np.array([a for a, n in q.answers.items() for _ in range(n)], dtype=object)
        rng.shuffle(answers)
        frames.append(
            pd.DataFrame(
                {
                    "respondent_id": [f"WJ{k:04d}" for k in range(1, len(answers) + 1)],
                    "question": q.question,
                    "answer": answers,
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(["respondent_id", "question"], ignore_index=True)


def build(p: PartitionParams, dept: Department, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    ev = p.evaluation
    profile = pd.DataFrame(
        [
            {
                "department": dept.code,
                "year": p.year,
                "evaluator": ev.evaluator,
                "evaluation_date": ev.evaluation_date,
                "mission": ev.mission,
                "staff_in_post": ev.staff_in_post,
                "disclosure_done": ev.disclosure_done,
            }
        ]
    )
    targets = pd.DataFrame(
        [
            {
                "target_id": f"MB{k:02d}",
                "level1": t.level1,
                "level2": t.level2,
                "name": t.name,
                "comparator": t.comparator,
                "value": t.value,
                "unit": t.unit,
                "actual": t.actual,
            }
            for k, t in enumerate(ev.targets, 1)
        ]
    )
    task_no: dict[str, int] = {}
    task_rows = []
    for t in ev.key_tasks:
        task_no.setdefault(t.task, len(task_no) + 1)
        item_no = sum(r["task"] == t.task for r in task_rows) + 1
        task_rows.append(
            {
                "task_id": f"RW{task_no[t.task]:02d}-{item_no:02d}",
                "task": t.task,
                "item": t.item,
                "planned": t.planned,
                "done": t.done,
                "due_date": t.due_date,
                "done_date": t.done_date,
                "needs_acceptance": t.needs_acceptance,
                "accepted_date": t.accepted_date,
            }
        )
    stats = pd.DataFrame(
        [
            {
                "metric": s.metric,
                "count": s.count,
                "base": s.base,
                "unit": s.unit,
                "source_system": s.source_system,
            }
            for s in ev.service_stats
        ]
    )
    windows = pd.DataFrame(
        [{"window": w.name, "staff": w.staff, "handled": w.handled} for w in ev.windows],
        columns=["window", "staff", "handled"],
    )
    checklist = pd.DataFrame(ev.policy_checklist, columns=["policy", "part", "present"])
    workpaper = pd.DataFrame(
        [
            {
                "record_id": f"DG{p.year}-{k:02d}",
                "indicator_id": w.indicator_id,
                "deduction": w.deduction,
                "finding_code": w.finding_code,
                "finding": w.finding,
                "evidence_ref": w.evidence_ref,
            }
            for k, w in enumerate(ev.workpaper, 1)
        ],
        columns=["record_id", "indicator_id", "deduction", "finding_code", "finding", "evidence_ref"],
    )
    return {
        "profile": profile,
        "functions": pd.DataFrame(
            {"function_no": range(1, len(ev.functions) + 1), "description": ev.functions}
        ),
        "sections": pd.DataFrame({"name": ev.sections}),
        "targets": targets,
        "key_tasks": pd.DataFrame(task_rows),
        "service_stats": stats,
        "survey": survey(p, rng),
        "windows": windows,
        "policy_checklist": checklist,
        "workpaper": workpaper,
    }
