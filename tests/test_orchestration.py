"""The annual schedule and the landing sensor, evaluated with Dagster's test contexts over
definitions built for temporary folders (the resource, not globals)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from test_dagster import resource_for

from perfeval_pipeline.orchestration.definitions import JOB, build_definitions
from perfeval_pipeline.orchestration.partitions import RANGE_END, RANGE_START, parse_key

SHANGHAI = ZoneInfo("Asia/Shanghai")
AN_HOUR_AGO = time.time() - 3600


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def defs(tmp_settings, instance):
    # Resolving definitions reads the current instance's definitions state; without an instance of
    # its own the test would see whatever an earlier test's instance left behind.
    return build_definitions(tmp_settings, resource_for(tmp_settings))


def schedule_tick(defs, instance, when: datetime):
    schedule = defs.resolve_schedule_def("annual_evaluation")
    resources = defs.get_repository_def().get_top_level_resources()
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, resources=resources)
    return schedule.evaluate_tick(context)


def test_schedule_evaluates_previous_year_for_all_departments_in_one_run(defs, instance, tmp_settings):
    data = schedule_tick(defs, instance, datetime(2024, 3, 1, 6, tzinfo=SHANGHAI))
    (request,) = data.run_requests
    assert request.run_key == "annual-2023"
    keys = defs.resolve_job_def(JOB).partitions_def.get_partition_keys()
    chosen = keys[keys.index(request.tags[RANGE_START]) : keys.index(request.tags[RANGE_END]) + 1]
    expected = sorted(d for d in tmp_settings.departments if 2023 in tmp_settings.department_years(d))
    assert sorted(parse_key(k)[0] for k in chosen) == expected
    assert {parse_key(k)[1] for k in chosen} == {2023}


def test_schedule_skips_a_year_not_configured(defs, instance):
    data = schedule_tick(defs, instance, datetime(2040, 3, 1, 6, tzinfo=SHANGHAI))
    assert data.run_requests == []
    assert "year 2039 is not in `years`" in data.skip_message and "pipeline.yaml" in data.skip_message


def test_schedule_runs_on_the_date_in_pipeline_yaml(defs, tmp_settings):
    configured = tmp_settings.pipeline.schedule
    schedule = defs.resolve_schedule_def("annual_evaluation")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (configured.cron, configured.timezone)
    assert schedule.job_name == JOB


class Landing:
    """A landing folder plus the sensor's cursor across ticks."""

    def __init__(self, settings, instance, defs):
        self.settings, self.instance, self.cursor, self.defs = settings, instance, None, defs
        self.sensor = defs.resolve_sensor_def("landing_sensor")

    def write(self, rel: str, content: bytes, mtime: float = AN_HOUR_AGO):
        path = self.settings.landing_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, (mtime, mtime))
        return path

    def complete(self, folder: str):
        for feed in self.settings.required_feeds:
            self.write(f"{folder}/{feed}.csv", feed.encode() + b"v1")

    def tick(self):
        repo = self.defs.get_repository_def()
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            repository_def=repo,
            resources=repo.get_top_level_resources(),
        )
        data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return data


@pytest.fixture
def landing(tmp_settings, instance, defs):
    return Landing(tmp_settings, instance, defs)


def test_sensor_runs_a_folder_once_when_its_last_required_feed_lands(landing):
    first, *rest = landing.settings.required_feeds
    for feed in rest:
        landing.write(f"2023/jdz-zwsjj/{feed}.csv", b"x")
    waiting = landing.tick()
    assert waiting.run_requests == []
    assert f"2023/jdz-zwsjj (missing {first})" in waiting.skip_message

    landing.write(f"2023/jdz-zwsjj/{first}.xlsx", b"x")
    ran = landing.tick()
    assert [r.partition_key for r in ran.run_requests] == ["2023-jdz-zwsjj"]
    assert ran.run_requests[0].run_key.startswith("2023-jdz-zwsjj:")
    assert landing.tick().run_requests == []


def test_sensor_reruns_a_partition_when_content_changes_not_when_touched(landing):
    landing.complete("2024/pxs-zwsjj")
    (first,) = landing.tick().run_requests

    hotline = landing.write("2024/pxs-zwsjj/hotline.csv", b"hotlinev1", mtime=AN_HOUR_AGO + 60)
    assert landing.tick().run_requests == [], "same bytes, new mtime: no run"

    landing.write("2024/pxs-zwsjj/hotline.csv", b"hotlinev2", mtime=AN_HOUR_AGO + 120)
    (second,) = landing.tick().run_requests
    assert second.partition_key == "2024-pxs-zwsjj" and second.run_key != first.run_key

    # Back to the first content: a change again, with a run key Dagster has not seen.
    hotline.write_bytes(b"hotlinev1")
    os.utime(hotline, (AN_HOUR_AGO + 180, AN_HOUR_AGO + 180))
    (third,) = landing.tick().run_requests
    assert third.run_key not in (first.run_key, second.run_key)


def test_sensor_waits_for_files_still_being_written(landing):
    landing.complete("2023/jdz-zwsjj")
    landing.write("2023/jdz-zwsjj/hotline.csv", b"partial", mtime=time.time())
    data = landing.tick()
    assert data.run_requests == [] and "still being written" in data.skip_message
    os.utime(landing.settings.landing_dir / "2023/jdz-zwsjj/hotline.csv", (AN_HOUR_AGO, AN_HOUR_AGO))
    assert [r.partition_key for r in landing.tick().run_requests] == ["2023-jdz-zwsjj"]


def test_sensor_ignores_files_that_are_not_feeds(landing):
    landing.complete("2023/jdz-zwsjj")
    landing.tick()
    landing.write("2023/jdz-zwsjj/~$financial.xlsx", b"excel lock file")
    landing.write("2023/jdz-zwsjj/notes.txt", b"hello")
    assert landing.tick().run_requests == []


def test_sensor_warns_about_unknown_department_or_year_and_runs_nothing(landing, capfd):
    landing.complete("2023/nowhere-zwsjj")
    landing.complete("2031/jdz-zwsjj")
    assert landing.tick().run_requests == []
    # context.log writes to a console handler of its own (no propagation to pytest's caplog).
    warnings = " ".join(line for line in capfd.readouterr().err.splitlines() if " - WARNING - " in line)
    assert (
        "department 'nowhere-zwsjj' is unknown" in warnings
        and "add it to" in warnings
        and "departments.yaml" in warnings
    )
    assert "year '2031' is not in `years`" in warnings and "pipeline.yaml" in warnings
    assert landing.tick().run_requests == []
    assert " - WARNING - " not in capfd.readouterr().err, "warned once per content"


def test_sensor_without_landing_folder_skips(landing):
    data = landing.tick()
    assert data.run_requests == [] and "does not exist" in data.skip_message


def test_every_definition_has_a_description(defs, instance):
    for spec in defs.resolve_all_asset_specs():
        assert spec.description and spec.kinds and spec.owners, spec.key
    graph = defs.resolve_asset_graph()
    assert graph.asset_check_keys
    for check in graph.asset_check_keys:
        assert graph.get_check_spec(check).description, check
    named = [
        *defs.resolve_all_job_defs(),
        defs.resolve_schedule_def("annual_evaluation"),
        defs.resolve_sensor_def("landing_sensor"),
    ]
    for definition in named:
        # __ASSET_JOB is Dagster's implicit job for ad-hoc materializations.
        assert definition.name.startswith("__") or definition.description, definition.name


def test_sensor_starts_nothing_for_files_already_evaluated(landing):
    """Switching the sensor on over evaluated data runs nothing: the files equal the manifest's hashes."""
    import hashlib
    import json

    landing.complete("2023/jdz-zwsjj")
    folder = landing.settings.report_folder("jdz-zwsjj", 2023)
    folder.mkdir(parents=True)
    files = sorted((landing.settings.landing_dir / "2023/jdz-zwsjj").iterdir())
    hashes = [
        {"path": f"2023/jdz-zwsjj/{f.name}", "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
        for f in files
    ]
    (folder / "manifest.json").write_text(json.dumps({"landing": hashes}), encoding="utf-8")
    (folder / "result.json").write_text(json.dumps({"status": "evaluated"}), encoding="utf-8")
    assert landing.tick().run_requests == []
    landing.write("2023/jdz-zwsjj/hotline.csv", b"changed")
    assert [r.partition_key for r in landing.tick().run_requests] == ["2023-jdz-zwsjj"]
