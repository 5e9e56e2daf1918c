"""Parameters of every non-seed partition, drawn from the partition's own random stream: same structure
as the seed, distinct plausible figures. Constraints across partitions are kept by ranges, not by
looking at other partitions: the seed department's 户均发布率 stays below its peers' range."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo import draws
from perfeval_pipeline.demo.catalog import (
    BUREAUS,
    COMMENDATION_ONLY_NOTE,
    EVALUATORS,
    EXTRA_FUNCTION,
    FUNCTIONS,
    MISSION,
    OTHER_TASKS,
    SECTIONS,
    SERVICE_MATTER_TASKS,
    SMART_PARK_ITEMS,
    WINDOW_REWARD_ITEMS,
    WINDOW_REWARD_PROJECT,
    WINDOWS,
    WORKPAPER_POOL,
    line_templates,
    unit_kind,
)
from perfeval_pipeline.demo.common import partition_rng
from perfeval_pipeline.demo.params import (
    EvaluationParams,
    FormatStyle,
    KeyTask,
    PartitionParams,
    ServiceStat,
    SurveyQuestion,
    Target,
    TransactionParams,
    Window,
)
from perfeval_pipeline.demo.seed import SEED_PARTITION

# Export quirks per department, so the readers meet every variant they claim to handle.
DEPARTMENT_STYLES = {
    "pxs-zwsjj": FormatStyle(money="thousands"),
    "xys-zwsjj": FormatStyle(wan_tables=("financial.budget_lines", "transactions.procurement")),
    "yts-zwsjj": FormatStyle(csv_encoding="gbk"),
    "jjs-zwsjj": FormatStyle(alias_index=1, date_sep="/"),
}
# 户均发布率 (projects per owner): the seed department sits below every peer group it belongs to, as the
# form says, in every year; all other departments are its peers in departments.yaml.
SEED_DEPARTMENT_PUBLISH_RATE = (2.8, 3.3)
PEER_PUBLISH_RATE = (3.6, 4.6)
_MAX_WORKPAPER_PER_INDICATOR = 3.0  # the smallest points of a workpaper-scored indicator
_FINANCIAL = draws.FinancialDraw(
    unit_kind=unit_kind,
    line_templates=line_templates,
    unit_weight={"center": 1.6, "hotline": 1.0, "trading": 0.8, "agency": 0.6},
    total=(15_000_000, 80_000_000),
    hq_share=(0.25, 0.5),
    carry_p=0.4,
    carry=(0.01, 0.05),
    hq_ratio=(0.35, 1.05),
    unit_ratio=(0.92, 1.06),
    final=(0.85, 0.995),
    estimate=draws.EstimateDraw(
        unit_kind="center",
        project=WINDOW_REWARD_PROJECT,
        items=WINDOW_REWARD_ITEMS,
        amount=(500_000, 1_200_000),
        item_weight=(0.6, 1.6),
        unneeded_p=0.4,
        unneeded_item=0,
        unneeded_note=COMMENDATION_ONLY_NOTE,
    ),
    prior_rise=(0.02, 0.10),
    voucher_size=(1_800_000, 3_500_000),
    flagged_voucher="支付项目绩效评价服务费",
    flagged_voucher_p=0.2,
)


def _handling_units(rng: np.random.Generator, dept: Department) -> tuple[str, ...]:
    """12 city bureaus that handle the department's hotline tickets."""
    bureaus = rng.choice(len(BUREAUS), size=12, replace=False)
    return tuple(dept.city + BUREAUS[i] for i in sorted(bureaus))


_HOTLINE = draws.HotlineDraw(
    satisfied=(0.6, 0.75),
    basic=(0.1, 0.18),
    unhappy=(0.01, 0.05),
    tickets=(40_000, 150_001),
    late=(0.01, 0.08),
    open=(0.001, 0.004),
    returned=(0.002, 0.01),
    callback=(0.2, 0.5),
    handling_units=_handling_units,
)
_ACTUAL = draws.ActualDraw(
    met_p=0.85,
    at_most_met=(0.9, 1.0),
    at_most_missed=(1.01, 1.08),
    at_least_met=(1.0, 1.12),
    at_least_missed=(0.82, 0.99),
)


def _publish_rate_range(dept: Department) -> tuple[float, float]:
    return SEED_DEPARTMENT_PUBLISH_RATE if dept.code == SEED_PARTITION[0] else PEER_PUBLISH_RATE


def _transactions(
    rng: np.random.Generator, dept: Department, publish_rate: tuple[float, float]
) -> TransactionParams:
    procurement = draws.procurement(rng, dept, (300_000, 3_000_000), (1.01, 1.10), (2, 7))
    owners = int(rng.integers(800, 2500))
    non_electronic = int(rng.integers(1, 3)) if rng.random() < 0.3 else 0
    return TransactionParams(
        deals=int(rng.integers(5, 41)),
        deal_total=draws.money(rng, 500_000, 50_000_000),
        non_electronic=non_electronic,
        complaints=int(rng.integers(0, 4)) if rng.random() < 0.4 else 0,
        procurement=procurement,
        intermediary_owners=owners,
        intermediary_projects=round(owners * rng.uniform(*publish_rate)),
    )


def _targets(rng: np.random.Generator) -> tuple[Target, ...]:
    vague = set(rng.choice(2, size=int(rng.integers(0, 3)), replace=False).tolist())
    timeliness = [("开展营商环境工作及时性", 0), ("绩效考评及时性", 1)]
    rows = [
        ("产出指标", "数量指标", "政务服务事项受理数", "≥", int(rng.integers(60, 180)), "万件"),
        ("产出指标", "数量指标", "“赣服通”依申请政务服务事项上线数", "≥", int(rng.integers(300, 500)), "项"),
        ("产出指标", "数量指标", "12345热线受理诉求件", "≥", int(rng.integers(4, 15)), "万件"),
        ("产出指标", "质量指标", "办件办结率", "≥", int(rng.choice([95, 98, 100])), "%"),
        ("产出指标", "质量指标", "数据更新及时率", "≥", int(rng.choice([90, 95, 100])), "%"),
        *(("产出指标", "时效指标", name, "≥", 100, "%") for name, i in timeliness if i not in vague),
        ("产出指标", "成本指标", "“三公”经费控制率", "≤", 100, "%"),
        (
            "效益指标",
            "社会效益指标",
            "“惠企通”兑现惠企政策的企业覆盖率",
            "≥",
            int(rng.choice([70, 80, 85, 90])),
            "%",
        ),
        ("满意度指标", "服务对象满意度指标", "服务对象满意度", "≥", int(rng.choice([85, 90, 95])), "%"),
    ]
    out = draws.targets(rng, _ACTUAL, rows)
    out[5:5] = [
        Target("产出指标", "时效指标", name, "=", "及时", "", "及时" if rng.random() < 0.9 else "未及时")
        for name, i in timeliness
        if i in vague
    ]
    return tuple(out)


def _key_tasks(rng: np.random.Generator, year: int, evaluation_date: date) -> tuple[KeyTask, ...]:
    due = date(year, 12, 31)

    def done_on() -> date:
        return draws.day(rng, year, (3, 13))

    tasks = []
    for task, item in SERVICE_MATTER_TASKS.items():
        planned = int(rng.integers(15, 180))
        done = planned - int(rng.integers(1, 4)) if rng.random() < 0.15 else planned
        tasks.append(KeyTask(task, item, planned, done, due, done_on() if done == planned else None))
    for item in SMART_PARK_ITEMS:
        ok = rng.random() < 0.85
        tasks.append(KeyTask("智慧园区服务专区", item, 1, int(ok), due, done_on() if ok else None))
    upgrade_done = int(rng.integers(6, 11))
    tasks.append(KeyTask("惠企通迭代升级", "完成“惠企通”平台功能迭代升级", 10, upgrade_done, due))
    delivered = done_on()
    accepted = delivered + timedelta(days=int(rng.integers(20, 90))) if rng.random() < 0.6 else None
    if accepted is not None and accepted > evaluation_date:
        accepted = None
    tasks.append(KeyTask("平台迭代升级项目", "政务服务平台迭代升级", 1, 1, due, delivered, True, accepted))
    for i in sorted(rng.choice(len(OTHER_TASKS), size=int(rng.integers(2, 5)), replace=False)):
        task, item = OTHER_TASKS[i]
        tasks.append(KeyTask(task, item, 1, 1, due, done_on()))
    return tuple(tasks)


def _evaluation(rng: np.random.Generator, dept: Department, year: int) -> EvaluationParams:
    evaluation_date = draws.day(rng, year + 1, (4, 9))
    quota = sum(dept.staffing_quota.values()) or 60
    functions = list(FUNCTIONS)  # 10–12: 审批改革 may sit with another bureau; some add 赣服通/惠企通
    if rng.random() < 0.3:
        functions.remove(FUNCTIONS[3])
    if rng.random() < 0.4:
        functions.insert(-1, EXTRA_FUNCTION)
    base = int(rng.integers(1500, 4000))
    data_base = int(rng.integers(800, 2000))
    claim_base = int(rng.integers(400, 800))
    firms = int(rng.integers(5000, 20000))
    respondents = int(rng.integers(200, 401))
    improved = round(respondents * rng.uniform(0.88, 0.995))
    satisfied = round(respondents * rng.uniform(0.8, 0.92))
    unhappy = int(rng.integers(0, 8))
    windows = [
        WINDOWS[i] for i in sorted(rng.choice(len(WINDOWS), size=int(rng.integers(12, 17)), replace=False))
    ]
    low = set(rng.choice(len(windows), size=int(rng.integers(0, 4)), replace=False).tolist())
    staff = rng.integers(2, 12, size=len(windows))
    per_staff = [rng.uniform(40, 95) if i in low else rng.uniform(120, 1600) for i in range(len(windows))]
    policy_checklist = draws.policy_checklist(rng, (0, 4), ("资产清查盘点", "合同归档", ""))
    return EvaluationParams(
        evaluator=str(rng.choice(EVALUATORS)),
        evaluation_date=evaluation_date,
        mission=MISSION,
        staff_in_post=quota - int(rng.integers(-2, 7)),
        disclosure_done=bool(rng.random() < 0.9),
        functions=tuple(functions),
        sections=tuple(SECTIONS[: int(rng.integers(4, 7))]),
        targets=_targets(rng),
        key_tasks=_key_tasks(rng, year, evaluation_date),
        service_stats=(
            ServiceStat("依申请政务服务事项", int(rng.integers(6000, 14000)), None, "项", "江西省政务服务网"),
            ServiceStat("赣服通上线事项", int(rng.integers(300, 600)), None, "项", "赣服通"),
            ServiceStat("查询办理", round(base * rng.uniform(0.97, 1.0)), base, "件", "赣服通"),
            ServiceStat("惠企政策事项上线", int(rng.integers(150, 400)), None, "项", "惠企通"),
            ServiceStat(
                "数据及时更新",
                round(data_base * rng.uniform(0.95, 1.0)),
                data_base,
                "条",
                "政务数据共享交换平台",
            ),
            ServiceStat(
                "监管事项认领",
                round(claim_base * rng.uniform(0.96, 1.0)),
                claim_base,
                "项",
                "互联网+监管系统",
            ),
            ServiceStat("惠企通兑现企业", round(firms * rng.uniform(0.25, 0.9)), firms, "家", "惠企通"),
        ),
        survey=(
            SurveyQuestion(
                "服务大厅群众办事便捷度较上年是否提升", {"提升": improved, "未提升": respondents - improved}
            ),
            SurveyQuestion(
                "对政务服务大厅整体服务是否满意",
                {"满意": satisfied, "基本满意": respondents - satisfied - unhappy, "不满意": unhappy},
            ),
        ),
        windows=tuple(
            Window(name, int(s), max(1, round(s * p)))
            for name, s, p in zip(windows, staff, per_staff, strict=True)
        ),
        policy_checklist=policy_checklist,
        workpaper=draws.workpaper(
            rng, dept.city, WORKPAPER_POOL, (0.5, 1.0, 1.5, 2.0, 2.5, 3.0), {}, _MAX_WORKPAPER_PER_INDICATOR
        ),
    )


def derive_params(dept: Department, year: int) -> PartitionParams:
    rng = partition_rng(dept.code, year, "params")
    return PartitionParams(
        department=dept.code,
        year=year,
        style=DEPARTMENT_STYLES.get(dept.code, FormatStyle()),
        financial=draws.financial(rng, dept, _FINANCIAL),
        assets=draws.assets(
            rng, dept, held=(400_000, 4_000_000), lent_p=0.4, average_value=(700_000, 1_200_000)
        ),
        hotline=draws.hotline(rng, dept, _HOTLINE),
        transactions=_transactions(rng, dept, _publish_rate_range(dept)),
        evaluation=_evaluation(rng, dept, year),
    )
