"""Parameters of every non-seed partition, drawn from the partition's own random stream: same structure
as the seed, distinct plausible figures. Constraints across partitions are kept by ranges, not by
looking at other partitions: the seed department's 户均发布率 stays below its peers' range."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo.catalog import (
    BUREAUS,
    COMMENDATION_ONLY_NOTE,
    EVALUATORS,
    EXTRA_FUNCTION,
    FUNCTIONS,
    MISSION,
    OTHER_TASKS,
    POLICY_PARTS,
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
from perfeval_pipeline.demo.common import HUNDRED_YUAN, YUAN, partition_rng, round_to, split_exact
from perfeval_pipeline.demo.params import (
    AssetDefects,
    AssetParams,
    EstimateSpec,
    EvaluationParams,
    FinancialParams,
    FormatStyle,
    HotlineParams,
    KeyTask,
    PartitionParams,
    Procurement,
    ServiceStat,
    SurveyQuestion,
    Target,
    TransactionParams,
    UnitAssets,
    UnitBudget,
    Window,
    WorkpaperRecord,
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
_UNIT_WEIGHT = {"center": 1.6, "hotline": 1.0, "trading": 0.8, "agency": 0.6}
_MAX_WORKPAPER_PER_INDICATOR = 3.0  # the smallest points of a workpaper-scored indicator


def _money(rng: np.random.Generator, lo_yuan: float, hi_yuan: float) -> int:
    return round_to(rng.uniform(lo_yuan, hi_yuan) * YUAN)


def _financial(rng: np.random.Generator, dept: Department) -> FinancialParams:
    total = _money(rng, 15_000_000, 80_000_000)
    hq_share = rng.uniform(0.25, 0.5)
    others = dept.budget_units[1:]
    weights = [hq_share] + [
        (1 - hq_share) * _UNIT_WEIGHT[unit_kind(u)] * rng.uniform(0.8, 1.2) for u in others
    ]
    available = split_exact(total, weights, HUNDRED_YUAN)
    units, estimates = {}, []
    for unit, avail in zip(dept.budget_units, available, strict=True):
        avail = int(avail)
        carry = round_to(avail * rng.uniform(0.01, 0.05)) if rng.random() < 0.4 else 0
        other = round_to(avail * rng.uniform(0.002, 0.01)) if rng.random() < 0.2 else 0
        budget = avail - carry - other
        ratio = rng.uniform(0.35, 1.05) if unit.role == "本级" else rng.uniform(0.92, 1.06)
        initial = round_to(budget * ratio)
        final = round_to(avail * rng.uniform(0.85, 0.995))
        reward = None
        if unit_kind(unit) == "center":
            reward = _money(rng, 500_000, 1_200_000)
            parts = split_exact(reward, rng.uniform(0.6, 1.6, size=len(WINDOW_REWARD_ITEMS)), HUNDRED_YUAN)
            unneeded = rng.random() < 0.4
            estimates.append(
                EstimateSpec(
                    unit.code,
                    WINDOW_REWARD_PROJECT,
                    tuple(
                        (
                            item,
                            int(p),
                            not (unneeded and i == 0),
                            COMMENDATION_ONLY_NOTE if unneeded and i == 0 else "",
                        )
                        for i, (item, p) in enumerate(zip(WINDOW_REWARD_ITEMS, parts, strict=True))
                    ),
                )
            )
        units[unit.code] = UnitBudget(
            initial, budget - initial, final, line_templates(unit, reward), carry, other
        )
    prior = (0.02, 0.10) if rng.random() < 0.6 else (-0.10, -0.02)
    return FinancialParams(
        units=units,
        estimates=tuple(estimates),
        three_public_prior_range=prior,
        flagged_voucher="支付项目绩效评价服务费" if rng.random() < 0.2 else None,
        voucher_size=int(rng.integers(1_800_000, 3_500_000)),
    )


def _assets(rng: np.random.Generator, dept: Department) -> AssetParams:
    units = {}
    for unit in dept.budget_units:
        held = rng.uniform(400_000, 4_000_000)
        used = rng.uniform(0.5, 0.6) if rng.random() < 0.15 else rng.uniform(0.72, 0.95)
        rest = held * (1 - used)
        lent = rest * rng.uniform(0.1, 0.3) if rng.random() < 0.4 else 0.0
        pending = (rest - lent) * rng.uniform(0.4, 0.8)
        values = {
            "在用": held * used,
            "闲置": rest - lent - pending,
            "待处置": pending,
            "出借": lent,
            "已处置": held * rng.uniform(0, 0.05),
        }
        units[unit.code] = UnitAssets({s: round_to(v * YUAN, YUAN) for s, v in values.items() if v >= 5_000})
    without_ledger = (dept.headquarters.code,) if rng.random() < 0.3 else ()
    defects = AssetDefects(
        unlabeled=int(rng.integers(0, 8)),
        no_spec=int(rng.integers(0, 6)),
        overdue_disposal=int(rng.integers(0, 4)),
        lent_unapproved=int(rng.integers(0, 2)),
        quantity_wrong=int(rng.integers(0, 3)),
        name_wrong=int(rng.integers(0, 3)),
        units_without_usage_ledger=without_ledger,
    )
    return AssetParams(
        units,
        defects,
        stocktake_share=rng.uniform(0.5, 0.8),
        average_value=int(rng.integers(700_000, 1_200_000)),
    )


def _hotline(rng: np.random.Generator, dept: Department) -> HotlineParams:
    satisfied, basic, unhappy = rng.uniform(0.6, 0.75), rng.uniform(0.1, 0.18), rng.uniform(0.01, 0.05)
    bureaus = rng.choice(len(BUREAUS), size=12, replace=False)
    return HotlineParams(
        tickets=int(rng.integers(40_000, 150_001)),
        late_share=rng.uniform(0.01, 0.08),
        open_share=rng.uniform(0.001, 0.004),
        returned_share=rng.uniform(0.002, 0.01),
        satisfaction=(satisfied, basic, unhappy, 1 - satisfied - basic - unhappy),
        callback_share=rng.uniform(0.2, 0.5),
        handling_units=tuple(dept.city + BUREAUS[i] for i in sorted(bureaus)),
    )


def _publish_rate_range(dept: Department) -> tuple[float, float]:
    return SEED_DEPARTMENT_PUBLISH_RATE if dept.code == SEED_PARTITION[0] else PEER_PUBLISH_RATE


def _transactions(
    rng: np.random.Generator, dept: Department, publish_rate: tuple[float, float]
) -> TransactionParams:
    procurement = {}
    for unit in dept.budget_units:
        budget = _money(rng, 300_000, 3_000_000)
        factor = rng.uniform(1.01, 1.10) if rng.random() < 0.15 else rng.uniform(0.9, 1.0)
        procurement[unit.code] = Procurement(budget, round_to(budget * factor, YUAN), int(rng.integers(2, 7)))
    owners = int(rng.integers(800, 2500))
    non_electronic = int(rng.integers(1, 3)) if rng.random() < 0.3 else 0
    return TransactionParams(
        deals=int(rng.integers(5, 41)),
        deal_total=_money(rng, 500_000, 50_000_000),
        non_electronic=non_electronic,
        complaints=int(rng.integers(0, 4)) if rng.random() < 0.4 else 0,
        procurement=procurement,
        intermediary_owners=owners,
        intermediary_projects=round(owners * rng.uniform(*publish_rate)),
    )


def _actual(rng: np.random.Generator, target: float, comparator: str, percent: bool) -> str:
    """A reported 实际完成值: met in most years, short (or over, for ≤ targets) now and then."""
    met = rng.random() < 0.85
    if comparator == "≤":
        value = target * (rng.uniform(0.9, 1.0) if met else rng.uniform(1.01, 1.08))
    else:
        value = target * (rng.uniform(1.0, 1.12) if met else rng.uniform(0.82, 0.99))
        if percent:
            value = min(value, 100.0) if met else value
    return f"{value:.2f}".rstrip("0").rstrip(".")


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
    out = [
        Target(l1, l2, name, c, str(v), unit, _actual(rng, v, c, unit == "%"))
        for l1, l2, name, c, v, unit in rows
    ]
    out[5:5] = [
        Target("产出指标", "时效指标", name, "=", "及时", "", "及时" if rng.random() < 0.9 else "未及时")
        for name, i in timeliness
        if i in vague
    ]
    return tuple(out)


def _key_tasks(rng: np.random.Generator, year: int, evaluation_date: date) -> tuple[KeyTask, ...]:
    due = date(year, 12, 31)

    def done_on() -> date:
        return date(year, int(rng.integers(3, 13)), int(rng.integers(1, 29)))

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


def _workpaper(rng: np.random.Generator, city: str) -> tuple[WorkpaperRecord, ...]:
    picks = sorted(rng.choice(len(WORKPAPER_POOL), size=int(rng.integers(2, 6)), replace=False))
    used: dict[str, float] = {}
    records = []
    for i in picks:
        indicator, code, text = WORKPAPER_POOL[i]
        room = _MAX_WORKPAPER_PER_INDICATOR - used.get(indicator, 0.0)
        deduction = min(float(rng.choice([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])), room)
        if deduction <= 0:
            continue
        used[indicator] = used.get(indicator, 0.0) + deduction
        records.append(
            WorkpaperRecord(indicator, code, text.format(city=city), deduction, "评价组现场核查记录")
        )
    return tuple(records)


def _evaluation(rng: np.random.Generator, dept: Department, year: int) -> EvaluationParams:
    evaluation_date = date(year + 1, int(rng.integers(4, 9)), int(rng.integers(1, 29)))
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
    finance_gaps = {
        str(p)
        for p in rng.choice(POLICY_PARTS["财务管理制度"][5:], size=int(rng.integers(0, 4)), replace=False)
    }
    other_gap = str(rng.choice(["资产清查盘点", "合同归档", ""]))
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
        policy_checklist=tuple(
            (policy, part, part not in finance_gaps and part != other_gap)
            for policy, parts in POLICY_PARTS.items()
            for part in parts
        ),
        workpaper=_workpaper(rng, dept.city),
    )


def derive_params(dept: Department, year: int) -> PartitionParams:
    rng = partition_rng(dept.code, year, "params")
    return PartitionParams(
        department=dept.code,
        year=year,
        style=DEPARTMENT_STYLES.get(dept.code, FormatStyle()),
        financial=_financial(rng, dept),
        assets=_assets(rng, dept),
        hotline=_hotline(rng, dept),
        transactions=_transactions(rng, dept, _publish_rate_range(dept)),
        evaluation=_evaluation(rng, dept, year),
    )
