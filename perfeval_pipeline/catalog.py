"""The catalog: every artifact perfeval stores, declared once with where it lives, which asset
produces it and what it holds. Stages, lineage and the SQL views read and write through it; a path
or a table name written anywhere else is a bug.

Store tables (Parquet, zstd, one file per partition under Hive folders):
  {store}/{dataset}/department={code}/year={year}/data.parquet
Report files: reports/{year}/{department}/{file}, and reports/{year}/summary.xlsx.
"""

from __future__ import annotations

from dataclasses import dataclass

from perfeval_pipeline.feeds.contracts import FeedContract


@dataclass(frozen=True)
class Dataset:
    """A stored table family: one Parquet file per partition."""

    name: str  # folder under the store, e.g. 'rows/financial.budget_lines'
    asset: str  # the Dagster asset whose materialization writes it
    view: str  # the SQL view over all partitions (`perfeval sql`)
    description: str


@dataclass(frozen=True)
class ReportFile:
    name: str  # file name in reports/{year}/{department}/ (or reports/{year}/ for a year file)
    asset: str
    description: str
    per_year: bool = False


QUALITY = Dataset(
    "quality",
    "quality_gate",
    "quality_tables",
    "one row per contract table of a partition: rows read / kept / quarantined / reported, whether it passed, "
    "structural issues, and the landing file it came from with its sha256",
)
INDICATOR_VALUES = Dataset(
    "indicator_values",
    "indicator_values",
    "indicator_values",
    "one row per indicator and statistic: indicator_id, indicator_name, value, display, numerator, "
    "denominator, reason (why not computable), evidence_rows, by_unit and items (JSON text)",
)
EVIDENCE = Dataset(
    "evidence",
    "indicator_values",
    "evidence",
    "every source row behind every indicator as a reference into the stored rows: indicator_id, role "
    "(numerator, denominator, value, item, or a rule id), source_table, row_ordinal, amount (what the row "
    "contributed); the view joins file, sheet and row",
)
PEER_BENCHMARKS = Dataset(
    "peer_benchmarks",
    "peer_benchmarks",
    "peer_benchmarks",
    "per department-year and peer-scored indicator: the peer group, each member's value (or why it has none) "
    "and the group mean used as the target",
)
SCORES = Dataset(
    "scores",
    "scorecard",
    "scores",
    "one row per scored indicator: indicator_id, points, score, deduction, reasons (JSON), rule and rule_text, "
    "target, target_source, workpaper deduction and refs",
)
LEVELS = Dataset(
    "levels",
    "scorecard",
    "score_levels",
    "subtotals per 一级指标 (level 1) and 二级指标 (level 2), and the total (level 0, with grade)",
)
FINDINGS = Dataset(
    "findings",
    "findings",
    "findings",
    "the form's 存在问题 items and 相关建议 sentences, each with its stable finding_id and the indicators it cites",
)
RECTIFICATION = Dataset(
    "rectification",
    "findings",
    "rectification",
    "each of last year's problems with its status this year (resolved, improved, unchanged, worse) "
    "and both years' figures; new problems marked new",
)
PARTITION_DATASETS = (
    QUALITY,
    INDICATOR_VALUES,
    EVIDENCE,
    PEER_BENCHMARKS,
    SCORES,
    LEVELS,
    FINDINGS,
    RECTIFICATION,
)

RESULT = ReportFile(
    "result.json", "findings", "everything the form shows, with status evaluated | blocked | failed"
)
FORM_DOCX = ReportFile("feedback_form.docx", "feedback_form", "the 结果反馈表 in Word")
FORM_XLSX = ReportFile("feedback_form.xlsx", "feedback_form", "the scoring workbook (评分表, 统计指标, 图表)")
MANIFEST = ReportFile(
    "manifest.json", "feedback_form", "sha256 of every input, config file and output; row-hash digests"
)
SUMMARY = ReportFile(
    "summary.xlsx", "province_summary", "every department of a year: totals, grades, trends", per_year=True
)
PARTITION_FILES = (RESULT, FORM_DOCX, FORM_XLSX, MANIFEST)
# Files a blocked or failed partition must not keep from an earlier run (moved to superseded/).
FORM_FILES = (
    FORM_DOCX,
    FORM_XLSX,
    MANIFEST,
    ReportFile("feedback_form.pdf", "feedback_form", "PDF of the form"),
)


def rows_dataset(table: str) -> Dataset:
    """The stored rows of one contract table, e.g. 'financial.budget_lines'."""
    feed = table.split(".", 1)[0]
    return Dataset(
        f"rows/{table}",
        f"{feed}_feed",
        "rows_" + table.replace(".", "_"),
        f"every landed row of {table}: typed columns, the raw text of non-text and identity cells (_raw_*), source file, "
        "sheet and row, row hash, row_ordinal, and _status kept | quarantined with _reason",
    )


def all_datasets(contracts: dict[str, FeedContract]) -> list[Dataset]:
    tables = [t.qualified_name for c in contracts.values() for t in c.tables.values()]
    return [rows_dataset(t) for t in tables] + list(PARTITION_DATASETS)
