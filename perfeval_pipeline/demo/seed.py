"""Parameters of the seed partition, jdz-zwsjj 2023: the raw amounts, counts and row-level facts of
the evaluator's files behind the real feedback form (/work/shared/seed). Only generator inputs live
here; every figure the form prints is computed by the pipeline from the rows these produce."""

from __future__ import annotations

from datetime import date

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo.catalog import (
    BUREAUS,
    COMMENDATION_ONLY_NOTE,
    FUNCTIONS,
    MISSION,
    OTHER_TASKS,
    POLICY_PARTS,
    SERVICE_MATTER_TASKS,
    SMART_PARK_ITEMS,
    WINDOW_REWARD_ITEMS,
    WINDOW_REWARD_PROJECT,
    line_templates,
)
from perfeval_pipeline.demo.common import yuan
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

SEED_PARTITION = ("jdz-zwsjj", 2023)

# Evaluator deductions per workpaper finding (finding_code -> points): row-level inputs of the
# evaluation workbook, chosen so that with assets_config/frameworks/zwsj.yaml the total computed from
# all rows lands on the evaluator's published score. They are data, not pipeline code.
SEED_WORKPAPER_DEDUCTIONS: dict[str, float] = {
    "target_not_in_remit": 1.0,
    "planning_no_schedule": 0.5,
    "plan_mismatch_functions": 0.3,
    "illegal_expense": 0.5,
    "payment_procedure_incomplete": 0.3,
    "use_not_as_approved": 0.2,
    "assessment_rules_parallel": 0.19,
}

_WORKPAPER = (
    (
        "target_reasonableness",
        "target_not_in_remit",
        "根据《部门整体支出绩效目标表》存在部门整体绩效目标与部门履职不相关的情况，如“政务服务事项受理数≥140 万元”"
        "政务服务事项受理与各个窗口有关，景德镇政数局仅做政务服务事项受理数据的统计汇总。",
        "《部门整体支出绩效目标表》",
    ),
    (
        "planning_clarity",
        "planning_no_schedule",
        "景德镇市政务服务数据管理局编制《景德镇市“十四五”政务服务发展规划》，但规划实施内容无具体时间安排。",
        "《景德镇市“十四五”政务服务发展规划》",
    ),
    ("planning_clarity", "plan_mismatch_functions", "年度工作计划与部门职能不匹配。", "2023年度工作计划"),
    (
        "funds_compliance",
        "illegal_expense",
        "资金使用不符合国家财经法规和财务管理制度规定。如：违规支出绩效评价服务费。",
        "支出明细账：绩效评价服务费凭证",
    ),
    ("funds_compliance", "payment_procedure_incomplete", "资金拨付手续不完整。", "支出明细账抽查记录"),
    ("funds_compliance", "use_not_as_approved", "资金使用不符合批复用途。", "预算批复与支出明细账核对记录"),
    (
        "window_staffing",
        "assessment_rules_parallel",
        "考核制度编制不够科学。存在多种考核制度并行，且制度部分条款无依据的情况。",
        "窗口人员考核制度汇编",
    ),
)

_UNIT_BUDGETS = {  # code: (initial, adjustment, final) in 元; Σ(initial+adjustment) 39,350,200, Σfinal 37,085,100
    "JDZ001": (3_319_900, 17_277_700, 19_585_200),
    "JDZ002": (7_500_000, 322_700, 7_236_400),
    "JDZ003": (4_900_000, -85_600, 4_512_300),
    "JDZ004": (3_400_000, 108_500, 3_286_700),
    "JDZ005": (2_600_000, 7_000, 2_464_500),
}
_WINDOW_REWARD = {  # sub-item: (amount 元, funding needed)
    "月度优秀窗口奖": (108_400, False),
    "季度服务之星奖励": (216_000, True),
    "年度先进窗口及个人奖励": (180_000, True),
    "窗口人员绩效考核奖励": (335_600, True),
}
_ASSETS = {  # code: Σ原值 by status in 元; JDZ002 在用 1,505,700 / 3,000,000 non-disposed
    "JDZ001": {"在用": 2_864_300, "闲置": 156_000, "待处置": 312_500, "已处置": 45_200},
    "JDZ002": {"在用": 1_505_700, "闲置": 184_300, "待处置": 1_190_000, "出借": 120_000, "已处置": 86_500},
    "JDZ003": {"在用": 1_642_800, "闲置": 88_000, "待处置": 176_400},
    "JDZ004": {"在用": 2_186_500, "待处置": 402_300, "已处置": 28_600},
    "JDZ005": {"在用": 486_200, "闲置": 42_000, "待处置": 38_600},
}
_PROCUREMENT = {  # code: (Σ采购预算, Σ合同金额 in 元, rows); JDZ002 +2.64%, JDZ005 +8.38%
    "JDZ001": (1_860_000, 1_812_400, 4),
    "JDZ002": (2_500_000, 2_566_000, 5),
    "JDZ003": (960_000, 948_300, 3),
    "JDZ004": (1_240_000, 1_198_600, 3),
    "JDZ005": (500_000, 541_900, 3),
}
_WINDOWS = (
    ("市场监管局", 8, 9_860),
    ("税务局", 10, 12_450),
    ("公安局", 6, 7_320),
    ("人社局", 6, 5_410),
    ("医保局", 4, 3_980),
    ("住建局", 3, 1_260),
    ("不动产登记中心", 12, 18_650),
    ("发改委", 2, 146),
    ("自然资源和规划局", 3, 228),
    ("普惠金融专区", 4, 312),
    ("交通运输局", 3, 1_050),
    ("卫健委", 2, 860),
    ("民政局", 2, 640),
    ("生态环境局", 2, 410),
    ("综合受理窗口", 10, 15_880),
)
_FINANCE_GAPS = ("结余结转管理", "负债管理", "财务报告和财务分析", "财务监督")


def _targets() -> tuple[Target, ...]:
    rows = (  # (…, 年度指标值, 计量单位, 实际完成值 as the department reported it)
        ("产出指标", "数量指标", "政务服务事项受理数", "≥", "140", "万元", "152"),
        ("产出指标", "数量指标", "“赣服通”依申请政务服务事项上线数", "≥", "400", "项", "408"),
        ("产出指标", "数量指标", "12345热线受理诉求件", "≥", "25", "万件", "25.85"),
        ("产出指标", "质量指标", "办件办结率", "≥", "98", "%", "100"),
        ("产出指标", "质量指标", "数据更新及时率", "≥", "95", "%", "100"),
        ("产出指标", "时效指标", "开展营商环境工作及时性", "=", "及时", "", "及时"),
        ("产出指标", "时效指标", "绩效考评及时性", "=", "及时", "", "及时"),
        ("产出指标", "成本指标", "“三公”经费控制率", "≤", "100", "%", "96.8"),
        ("效益指标", "社会效益指标", "“惠企通”兑现惠企政策的企业覆盖率", "≥", "80", "%", "29.26"),
        ("满意度指标", "服务对象满意度指标", "服务对象满意度", "≥", "90", "%", "98.33"),
    )
    return tuple(Target(*r) for r in rows)


def _key_tasks() -> tuple[KeyTask, ...]:
    due, done = date(2023, 12, 31), date(2023, 11, 30)
    planned = {"一件事一次办": 20, "跨省通办": 155, "省内通办": 98}
    tasks = [KeyTask(t, item, planned[t], planned[t], due, done) for t, item in SERVICE_MATTER_TASKS.items()]
    missing = {"物业管理", "法律咨询", "市场中介", "园区招商"}
    tasks += [
        KeyTask(
            "智慧园区服务专区", item, 1, 0 if item in missing else 1, due, None if item in missing else done
        )
        for item in SMART_PARK_ITEMS
    ]
    tasks.append(KeyTask("惠企通迭代升级", "完成“惠企通”平台功能迭代升级", 10, 6, due))
    # Delivered in December, still 试运行 at the evaluation date: never accepted.
    tasks.append(
        KeyTask("平台迭代升级项目", "政务服务平台迭代升级", 1, 1, due, date(2023, 12, 20), True, None)
    )
    tasks += [KeyTask(t, item, 1, 1, due, done) for t, item in OTHER_TASKS[:3]]
    return tuple(tasks)


def seed_params(dept: Department) -> PartitionParams:
    units = {u.code: u for u in dept.budget_units}
    if set(units) != set(_UNIT_BUDGETS):
        raise ValueError(
            f"seed parameters expect units {sorted(_UNIT_BUDGETS)}, departments.yaml has {sorted(units)}"
        )
    financial = FinancialParams(
        units={
            code: UnitBudget(
                yuan(i),
                yuan(a),
                yuan(f),
                line_templates(units[code], yuan(840_000) if code == "JDZ002" else None),
            )
            for code, (i, a, f) in _UNIT_BUDGETS.items()
        },
        estimates=(
            EstimateSpec(
                "JDZ002",
                WINDOW_REWARD_PROJECT,
                tuple(
                    (
                        item,
                        yuan(_WINDOW_REWARD[item][0]),
                        _WINDOW_REWARD[item][1],
                        "" if _WINDOW_REWARD[item][1] else COMMENDATION_ONLY_NOTE,
                    )
                    for item in WINDOW_REWARD_ITEMS
                ),
            ),
        ),
        three_public_prior_range=(0.03, 0.09),
        flagged_voucher="支付2022年度部门整体支出绩效评价服务费",
    )
    assets = AssetParams(
        units={code: UnitAssets({s: yuan(v) for s, v in values.items()}) for code, values in _ASSETS.items()},
        defects=AssetDefects(
            unlabeled=6,
            no_spec=5,
            overdue_disposal=3,
            lent_unapproved=1,
            quantity_wrong=2,
            name_wrong=2,
            units_without_usage_ledger=(dept.headquarters.code,),
        ),
    )
    hotline = HotlineParams(
        tickets=258_500,
        late_share=0.03,
        open_share=0.0,
        returned_share=0.0,
        satisfaction=(0.70, 0.12, 0.018, 0.162),
        callback_share=0.35,
        handling_units=tuple(dept.city + b for b in BUREAUS[:12]),
    )
    transactions = TransactionParams(
        deals=6,
        deal_total=yuan(768_600),
        non_electronic=0,
        complaints=0,
        procurement={code: Procurement(yuan(b), yuan(c), n) for code, (b, c, n) in _PROCUREMENT.items()},
        intermediary_owners=1919,
        intermediary_projects=5809,
    )
    evaluation = EvaluationParams(
        evaluator="江西优兰德市场研究咨询有限公司",
        evaluation_date=date(2024, 6, 4),
        mission=MISSION,
        staff_in_post=61,
        disclosure_done=True,
        functions=FUNCTIONS,
        sections=("办公室", "政务服务综合科", "行政审批监管科", "政务数据管理科"),
        targets=_targets(),
        key_tasks=_key_tasks(),
        service_stats=(
            ServiceStat("依申请政务服务事项", 9400, None, "项", "江西省政务服务网"),
            ServiceStat("赣服通上线事项", 408, None, "项", "赣服通"),
            ServiceStat("查询办理", 2490, 2500, "件", "赣服通"),
            ServiceStat("惠企政策事项上线", 270, None, "项", "惠企通"),
            ServiceStat("数据及时更新", 1200, 1200, "条", "政务数据共享交换平台"),
            ServiceStat("监管事项认领", 560, 560, "项", "互联网+监管系统"),
            ServiceStat("惠企通兑现企业", 2926, 10000, "家", "惠企通"),
        ),
        survey=(
            SurveyQuestion("服务大厅群众办事便捷度较上年是否提升", {"提升": 296, "未提升": 4}),
            SurveyQuestion("对政务服务大厅整体服务是否满意", {"满意": 262, "基本满意": 33, "不满意": 5}),
        ),
        windows=tuple(Window(*w) for w in _WINDOWS),
        policy_checklist=tuple(
            (policy, part, not (policy == "财务管理制度" and part in _FINANCE_GAPS))
            for policy, parts in POLICY_PARTS.items()
            for part in parts
        ),
        workpaper=tuple(
            WorkpaperRecord(ind, code, text, SEED_WORKPAPER_DEDUCTIONS[code], ref)
            for ind, code, text, ref in _WORKPAPER
        ),
    )
    return PartitionParams(
        dept.code, 2023, FormatStyle(), financial, assets, hotline, transactions, evaluation
    )
