"""The asset graph as the Dagster UI shows it: keys, groups, descriptions (Chinese first), lineage
and check specs. The evaluation assets are computed by three steps (assets.py); every read an asset
makes is one of the dependencies declared here."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.feeds.contracts import FeedContract

QUALITY_GATE = dg.AssetKey("quality_gate")
INDICATOR_VALUES = dg.AssetKey("indicator_values")
PEER_BENCHMARKS = dg.AssetKey("peer_benchmarks")
SCORECARD = dg.AssetKey("scorecard")
FINDINGS = dg.AssetKey("findings")
FEEDBACK_FORM = dg.AssetKey("feedback_form")
PROVINCE_SUMMARY = dg.AssetKey("province_summary")
OWNERS = ["team:perfeval"]
# Groups read left to right in the global lineage: land and check, evaluate, report.
INGEST, EVALUATION, REPORTS = "ingest", "evaluation", "reports"


def feed_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(f"{feed}_feed")


def feed_description(contract: FeedContract) -> str:
    tables = "、".join(f"{t.title}（{t.name}）" for t in contract.tables.values())
    return (
        f"{contract.title}：落地文件 data/landing/{{年度}}/{{部门}}/{contract.feed}.xlsx|csv，按数据契约读取（中文表头别名、"
        f"万元表头换算），逐格定型，经 Great Expectations 校验；每一行连同来源文件、工作表、行号和内容哈希入库，"
        f"不合格的行隔离并注明原因。包含：{tables}。\n\n"
        f"{contract.title} ({contract.feed}): read through its contract, typed, validated with Great Expectations; every "
        "row stored with its source file, sheet, row and hash; rows failing a check are quarantined with the reason."
    )


def column_schema(contract: FeedContract) -> dg.TableSchema:
    """The main table's columns with the Chinese headers and rules of the contract."""
    table = contract.main_table
    cols = []
    for col in table.columns.values():
        rules = [
            x
            for x in ("必填" if col.required else "", f"取值 {'/'.join(col.allowed)}" if col.allowed else "")
            if x
        ]
        text = f"{col.header}（{'、'.join(col.aliases[1:3])}）" if len(col.aliases) > 1 else col.header
        cols.append(
            dg.TableColumn(
                name=col.name,
                type=col.type,
                description="；".join([text, *rules, col.description] if col.description else [text, *rules]),
            )
        )
    return dg.TableSchema(columns=cols)


DESCRIPTIONS = {
    QUALITY_GATE: "质量闸门：每个必需数据源都无结构性问题、每张必需表保留了足够的行时，该部门年度才可评价；否则在 "
    "result.json 中写明阻断原因（文件、工作表、行、列），不会显示为已物化。\n\nQuality gate per department-year.",
    INDICATOR_VALUES: "指标值：部门指标体系（assets_config/frameworks）中每个指标和统计数，含分子、分母、分单位明细，"
    "以及其背后的每一落地行（证据，以行引用存储）。\n\nEvery indicator and statistic with its evidence rows.",
    PEER_BENCHMARKS: "同组基准：按同组部门（如四小地市）自身数据计算的均值，作为户均发布率等指标的目标；"
    "与本次运行包含哪些部门无关。\n\nPeer-group means used as targets, independent of how runs were split.",
    SCORECARD: "评分：每个指标按评分规则计分，扣除工作底稿扣分，得到一级、二级指标小计、总分和评价结论。\n\n"
    "Points per indicator, subtotals, total and grade.",
    FINDINGS: "存在问题与相关建议：由触发的扣分项和工作底稿组成，每项注明指标、数值与目标；上年问题整改跟踪；"
    "写出 reports/{年度}/{部门}/result.json。\n\nProblems, recommendations, 整改 follow-up; result.json.",
    FEEDBACK_FORM: "结果反馈表（Word）与评分工作簿（Excel），以及记录全部输入哈希的 manifest.json。\n\n"
    "The feedback form, the scoring workbook and the provenance manifest.",
    PROVINCE_SUMMARY: "全省汇总：reports/{年度}/summary.xlsx，各部门总分、等级、一级指标得分与上年对比；由生成反馈表的"
    "同一步骤写出。\n\nThe year's province summary, written by the report step.",
}


# Lineage inside the evaluation graph: what each asset is computed from.
def internal_deps(contracts: dict[str, FeedContract]) -> dict[dg.AssetKey, set[dg.AssetKey]]:
    feeds = {feed_key(f) for f in contracts}
    evaluation = feed_key("evaluation")
    return {
        **{k: set() for k in feeds},
        QUALITY_GATE: feeds,
        INDICATOR_VALUES: {QUALITY_GATE, *feeds},
        PEER_BENCHMARKS: {INDICATOR_VALUES},
        SCORECARD: {INDICATOR_VALUES, PEER_BENCHMARKS, evaluation},
        FINDINGS: {SCORECARD, INDICATOR_VALUES, evaluation},
        FEEDBACK_FORM: {FINDINGS},
    }


GROUPS = {
    QUALITY_GATE: INGEST,
    INDICATOR_VALUES: EVALUATION,
    PEER_BENCHMARKS: EVALUATION,
    SCORECARD: EVALUATION,
    FINDINGS: EVALUATION,
    FEEDBACK_FORM: REPORTS,
}
KINDS = {
    QUALITY_GATE: {"python"},
    INDICATOR_VALUES: {"duckdb", "parquet"},
    PEER_BENCHMARKS: {"parquet"},
    SCORECARD: {"parquet"},
    FINDINGS: {"json"},
    FEEDBACK_FORM: {"docx", "excel"},
}


def check_specs(
    contracts: dict[str, FeedContract], partitions: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            "contract",
            asset=feed_key(feed),
            blocking=True,
            partitions_def=partitions,
            description=f"{c.title}符合数据契约：无结构性问题（缺少必填列、文件无法读取、属于其他部门或年度、同一表来自多个文件）。"
            "逐行问题隔离并计数，元数据列出每条规则的行数与示例行。",
        )
        for feed, c in contracts.items()
    ]
    specs.append(
        dg.AssetCheckSpec(
            "all_feeds_usable",
            asset=QUALITY_GATE,
            blocking=True,
            partitions_def=partitions,
            description="该部门年度的全部必需数据源可用于评价；否则写明阻断原因。",
        )
    )
    return specs
