"""The Dagster shell with real partitions (`dg.materialize` with the resource, no globals): each
partition's events carry its own metadata; a blocked partition is not materialized past its quality
gate, its checks fail on its own partition, and the run fails naming it, alone or in a batch; a
later good run does not overwrite its check results. Landing folders: the hostile corpus's clean
base, one department with a required feed missing."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from conftest import make_settings, result_of
from hostile.corpus import YEAR, department, write_base

from perfeval_pipeline.orchestration import specs
from perfeval_pipeline.orchestration.definitions import build_definitions
from perfeval_pipeline.orchestration.partitions import RANGE_END, RANGE_START, key, parse_key
from perfeval_pipeline.orchestration.resources import PerfevalResource

pytestmark = [pytest.mark.slow, pytest.mark.gx]
GOOD, BLOCKED, OTHER = "dg-a-good", "dg-b-blocked", "dg-c-good"
SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def resource_for(settings, **kw) -> PerfevalResource:
    return PerfevalResource(
        config_dir=str(settings.config_dir),
        landing_dir=str(settings.landing_dir),
        store_dir=str(settings.store_dir),
        reports_dir=str(settings.reports_dir),
        workers=1,
        **kw,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("dagster")
    settings = make_settings(root, {code: department(code) for code in (GOOD, BLOCKED, OTHER)})
    for code in (GOOD, BLOCKED, OTHER):
        write_base(settings.landing_folder(code, YEAR), settings, code)
    for f in settings.landing_folder(BLOCKED, YEAR).glob("transactions*"):
        f.unlink()
    resource = resource_for(settings)
    defs = build_definitions(settings, resource)
    evaluation = next(a for a in defs.assets if isinstance(a, dg.AssetsDefinition))
    return settings, resource, defs, evaluation


def materialize(project, instance, partitions: list[str]):
    settings, resource, _, evaluation = project
    one = len(partitions) == 1
    return dg.materialize(
        [evaluation],
        instance=instance,
        resources={"perfeval": resource},
        partition_key=partitions[0] if one else None,
        tags={} if one else {RANGE_START: partitions[0], RANGE_END: partitions[-1]},
        raise_on_error=False,
    )


def materializations(instance, asset: dg.AssetKey) -> dict[str, dict]:
    records = instance.fetch_materializations(asset, limit=1000).records
    out = {}
    for r in sorted(records, key=lambda r: r.storage_id):
        m = r.asset_materialization
        out[m.partition] = {k: v.value for k, v in m.metadata.items()}
    return out


def check_results(instance, asset: dg.AssetKey, check: str) -> dict[str, list[bool]]:
    events = instance.get_event_records(
        dg.EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=10000
    )
    out: dict[str, list[bool]] = {}
    for e in sorted(events, key=lambda e: e.storage_id):
        evaluation = e.event_log_entry.dagster_event.event_specific_data
        if evaluation.asset_key == asset and evaluation.check_name == check:
            out.setdefault(evaluation.partition, []).append(evaluation.passed)
    return out


@pytest.fixture(scope="module")
def batch_run(project):
    with dg.instance_for_test() as instance:
        result = materialize(project, instance, [key(c, YEAR) for c in (GOOD, BLOCKED, OTHER)])
        yield project, instance, result


def test_a_batch_with_a_blocked_partition_fails_naming_it(batch_run):
    (settings, *_), _, result = batch_run
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    text = failure.event_specific_data.error.message
    assert BLOCKED in text and GOOD not in text
    assert result_of(settings, BLOCKED, YEAR)["status"] == "blocked"
    assert result_of(settings, GOOD, YEAR)["status"] == "evaluated"


def test_only_partitions_that_got_there_are_materialized(batch_run):
    _, instance, _ = batch_run
    good = {key(GOOD, YEAR), key(OTHER, YEAR)}
    for asset in (
        specs.QUALITY_GATE,
        specs.INDICATOR_VALUES,
        specs.SCORECARD,
        specs.FINDINGS,
        specs.FEEDBACK_FORM,
    ):
        assert set(materializations(instance, asset)) == good, asset
    # The feeds the blocked partition did land are materialized for it; the missing one is not.
    assert key(BLOCKED, YEAR) in materializations(instance, specs.feed_key("hotline"))
    assert key(BLOCKED, YEAR) not in materializations(instance, specs.feed_key("transactions"))


def test_each_partition_carries_its_own_metadata(batch_run):
    (settings, *_), instance, _ = batch_run
    for code in (GOOD, OTHER):
        pk = key(code, YEAR)
        result = result_of(settings, code, YEAR)
        card = materializations(instance, specs.SCORECARD)[pk]
        assert card["总分 total"] == result["total_score"] and card["评价结论 grade"] == result["grade"]
        assert card["溯源 trace"] == f"perfeval trace {code} {YEAR}"
        assert code in card["部门 department"]
        form = materializations(instance, specs.FEEDBACK_FORM)[pk]
        assert f"/{YEAR}/{code}/feedback_form.docx" in form["反馈表 docx"]
        feed = materializations(instance, specs.feed_key("hotline"))[pk]
        rows = result["quality"]["feeds"]["hotline"]["rows_kept"]
        assert feed["dagster/row_count"] == rows and code in feed["部门 department"]


def test_check_results_are_per_partition_and_survive_later_runs(batch_run):
    project, instance, _ = batch_run
    gate = check_results(instance, specs.QUALITY_GATE, "all_feeds_usable")
    assert gate == {key(GOOD, YEAR): [True], key(BLOCKED, YEAR): [False], key(OTHER, YEAR): [True]}
    contract = check_results(instance, specs.feed_key("transactions"), "contract")
    assert contract == {key(GOOD, YEAR): [True], key(BLOCKED, YEAR): [False], key(OTHER, YEAR): [True]}
    assert materialize(project, instance, [key(GOOD, YEAR)]).success
    again = check_results(instance, specs.QUALITY_GATE, "all_feeds_usable")
    assert again[key(BLOCKED, YEAR)] == [False] and again[key(GOOD, YEAR)] == [True, True]


def test_check_evaluations_point_at_the_materialization_they_checked(batch_run):
    """The UI counts a partition's check against the partition's latest materialization: the
    evaluation names the one this run recorded, and none where this run recorded none."""
    _, instance, result = batch_run
    run_id = result.run_id
    for feed, expect_target in (("hotline", {GOOD, BLOCKED, OTHER}), ("transactions", {GOOD, OTHER})):
        asset = specs.feed_key(feed)
        stored = {
            r.asset_materialization.partition: r.storage_id
            for r in instance.fetch_materializations(asset, limit=1000).records
            if r.run_id == run_id
        }
        events = instance.get_event_records(
            dg.EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=10000
        )
        for e in events:
            evaluation = e.event_log_entry.dagster_event.event_specific_data
            if e.run_id != run_id or evaluation.asset_key != asset:
                continue
            code = parse_key(evaluation.partition)[0]
            target = evaluation.target_materialization_data
            if code in expect_target:
                assert target is not None and target.storage_id == stored[evaluation.partition], (feed, code)
                assert target.run_id == run_id
            else:
                assert target is None, (feed, code)


def test_a_blocked_partition_alone_behaves_as_in_a_batch(project):
    settings, *_ = project
    with dg.instance_for_test() as instance:
        result = materialize(project, instance, [key(BLOCKED, YEAR)])
        assert not result.success
        failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        assert len(failures) == 1 and BLOCKED in failures[0].event_specific_data.error.message
        assert "Traceback" not in failures[0].event_specific_data.error.message
        assert materializations(instance, specs.FEEDBACK_FORM) == {}
        assert check_results(instance, specs.QUALITY_GATE, "all_feeds_usable") == {
            key(BLOCKED, YEAR): [False]
        }
    result = result_of(settings, BLOCKED, YEAR)
    assert result["status"] == "blocked" and any("transactions" in r for r in result["blocked_reasons"])
    assert not (settings.report_folder(BLOCKED, YEAR) / "feedback_form.docx").exists()


def graph_snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for k in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(k)
        assets[k.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "partitioned": type(node.partitions_def).__name__ if node.partitions_def else None,
            "checks": sorted(c.name for c in node.check_keys),
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
    }


def test_the_asset_graph_matches_its_snapshot(project):
    """An intended change of the graph: rerun with PERFEVAL_UPDATE_SNAPSHOT=1 and commit the file."""
    import os

    now = graph_snapshot(project[2])
    if os.environ.get("PERFEVAL_UPDATE_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(
            json.dumps(now, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    assert SNAPSHOT.exists(), f"no snapshot: run PERFEVAL_UPDATE_SNAPSHOT=1 pytest {__file__}"
    assert now == json.loads(SNAPSHOT.read_text(encoding="utf-8"))
