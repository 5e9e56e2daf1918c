"""Materialize real demo partitions through the whole asset graph with Dagster (ephemeral instance,
temp store): ingestion with its GX checks, the quality gate, indicators, scores, findings, reports."""

import json

import dagster as dg
import pytest

from perfeval_pipeline.config import settings
from perfeval_pipeline.demo import generate_demo
from perfeval_pipeline.orchestration.definitions import ALL_ASSETS
from perfeval_pipeline.orchestration.partitions import RANGE_END, RANGE_START, partition_key
from perfeval_pipeline.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.gx]


def _checks(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def test_one_partition_end_to_end():
    cfg = settings()
    generate_demo(cfg.landing_dir, departments=["xys-zwsjj"], years=[2022])
    result = dg.materialize(
        ALL_ASSETS,
        partition_key=str(partition_key("xys-zwsjj", 2022)),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    checks = _checks(result)
    assert all(checks[(f"{f}_feed", "contract")].passed for f in cfg.required_feeds)
    hotline = result.asset_materializations_for_node("hotline_feed")[0].metadata
    assert hotline["rows_read"].value == hotline["rows_kept"].value + hotline["rows_quarantined"].value > 0
    report = cfg.reports_dir / "2022" / "xys-zwsjj"
    saved = json.loads((report / "result.json").read_text(encoding="utf-8"))
    assert saved["status"] == "evaluated" and 0 < saved["total_score"] <= 100
    assert (report / "feedback_form.docx").exists() and (report / "feedback_form.xlsx").exists()
    assert Store(cfg.store_dir).read("indicators", "values", "xys-zwsjj", 2022)["id"].is_unique


def test_structural_failure_blocks_only_its_partition_in_a_shared_run():
    """srs-zwsjj 2024 lacks the required 原值 column; 2023 only has quarantinable row defects.
    One run covers both: 2024 stops at the gate and says why, 2023 is evaluated."""
    cfg = settings()
    generate_demo(cfg.landing_dir, departments=["srs-zwsjj"], years=[2023, 2024])
    result = dg.materialize(
        ALL_ASSETS,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags={
            RANGE_START: str(partition_key("srs-zwsjj", 2023)),
            RANGE_END: str(partition_key("srs-zwsjj", 2024)),
        },
    )
    assert result.success
    contract = _checks(result)[("asset_register_feed", "contract")]
    assert not contract.passed and contract.severity == dg.AssetCheckSeverity.WARN
    issues = contract.metadata["structural_issues"].value
    assert "2024/srs-zwsjj/asset_register.xlsx" in issues and "original_value" in issues and "row 1" in issues
    blocked = json.loads((cfg.reports_dir / "2024" / "srs-zwsjj" / "result.json").read_text(encoding="utf-8"))
    assert blocked["status"] == "blocked" and any("original_value" in r for r in blocked["blocked_reasons"])
    evaluated = json.loads(
        (cfg.reports_dir / "2023" / "srs-zwsjj" / "result.json").read_text(encoding="utf-8")
    )
    assert evaluated["status"] == "evaluated"
    quarantined = Store(cfg.store_dir).read("quarantine", "hotline.tickets", "srs-zwsjj", 2023)
    assert len(quarantined) > 0 and quarantined["_reason"].notna().all()


def test_single_blocked_partition_fails_its_check_and_stops_downstream():
    cfg = settings()
    generate_demo(cfg.landing_dir, departments=["srs-zwsjj"], years=[2024])
    result = dg.materialize(
        ALL_ASSETS,
        partition_key=str(partition_key("srs-zwsjj", 2024)),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    contract = _checks(result)[("asset_register_feed", "contract")]
    assert not contract.passed and contract.severity == dg.AssetCheckSeverity.ERROR
    assert not result.asset_materializations_for_node("indicator_values")
