"""The benchmark's arithmetic (bench/province.py) and the CPU accounting it reads (costs.py)."""

from __future__ import annotations

import time

import pytest

from perfeval_pipeline import costs
from perfeval_pipeline.bench.province import Fit, average, fit, targets


def run(name: str, partitions: int, cpu: float, wall: float, home: int = 0, rss: float = 500.0) -> dict:
    return {
        "name": name,
        "partitions": partitions,
        "cpu": cpu,
        "wall": wall,
        "dagster_home": home,
        "rss_mb": rss,
        "store_reports": 0,
    }


def test_fit_separates_the_fixed_cost_from_the_cost_per_partition():
    # 20 s to start, then 3 s per partition; two workers halve the wall per partition.
    small, large = (
        run("dagster", 4, 20 + 4 * 3, 12 + 4 * 1.5, 300_000),
        run("dagster", 8, 20 + 8 * 3, 12 + 8 * 1.5, 420_000),
    )
    f = fit(small, large)
    assert f.cpu_fixed == pytest.approx(20)
    assert f.cpu_per_partition == pytest.approx(3)
    assert f.wall_per_partition == pytest.approx(1.5)
    assert f.wall_at(660) == pytest.approx(12 + 660 * 1.5)
    assert f.dagster_home_per_partition == pytest.approx(30_000)  # growth, not the fixed files


def test_fit_needs_two_sizes():
    with pytest.raises(ValueError, match="differ"):
        fit(run("dagster", 8, 10, 10), run("dagster", 8, 11, 11))


def test_targets_judge_the_fitted_figures():
    # fixed CPU, CPU per partition, fixed wall, wall per partition, DAGSTER_HOME bytes per partition
    d, b = Fit(30, 2.0, 10, 0.5, 40_000), Fit(20, 1.6, 8, 0.4, 0)
    runs = [
        run("dagster", 4, 38, 12, rss=900),
        run("dagster", 8, 46, 14, rss=1100),
        run("baseline", 8, 33, 11),
    ]
    runs[1]["store_reports"] = 600
    rows = {
        what: (value, limit)
        for what, value, limit, _ in targets({"dagster": d, "baseline": b}, runs, 1000, 7.5)
    }
    assert rows["CPU per partition"] == (2.0, 1.8)
    assert rows["660 partitions, wall"][0] == pytest.approx((10 + 660 * 0.5) / 60)
    assert rows["Dagster CPU / baseline CPU"][0] == pytest.approx(1.25)
    assert rows["peak RSS"][0] == pytest.approx(1100 / 1024)
    assert rows["store + reports / landing"][0] == pytest.approx(0.6)  # the larger run's store
    assert rows["DAGSTER_HOME per partition"][0] == pytest.approx(40)
    assert rows["seed partition cold"] == (7.5, 5.0)
    alone = {what for what, *_ in targets({"dagster": d}, runs[:2], 1000, None)}
    assert "Dagster CPU / baseline CPU" not in alone and "seed partition cold" not in alone


def test_costs_count_each_steps_own_cpu_and_start_again_when_taken():
    costs.take()
    with costs.step("busy"):
        deadline = time.process_time() + 0.05
        while time.process_time() < deadline:
            pass
    with costs.step("idle"):
        time.sleep(0.05)  # waiting is not work
    with pytest.raises(RuntimeError), costs.step("failing"):
        raise RuntimeError("a step that raises still counts")
    spent = costs.take()
    assert spent["busy"] >= 0.05
    assert spent["idle"] < 0.02
    assert "failing" in spent
    assert costs.take() == {}


def test_a_step_inside_another_counts_once():
    def burn(seconds: float) -> None:
        deadline = time.process_time() + seconds
        while time.process_time() < deadline:
            pass

    costs.take()
    with costs.step("outer"):
        burn(0.03)
        with costs.step("inner"):
            burn(0.05)
    spent = costs.take()
    assert spent["inner"] >= 0.05
    assert 0.03 <= spent["outer"] < 0.05  # its own work, not the inner step's


def test_a_line_that_slopes_down_is_not_taken_for_a_cost():
    # The larger run barely cost more: noise, not a partition costing 0.25 s.
    small, large = run("dagster", 2, 39.3, 31.3, 948_000), run("dagster", 4, 40.8, 30.3, 1_359_000)
    assert fit(small, large).plausible is False
    upper = average(large)
    assert upper.plausible
    assert upper.cpu_per_partition == pytest.approx(40.8 / 4)
    assert upper.wall_at(660) == pytest.approx(660 * 30.3 / 4)
    assert upper.dagster_home_per_partition == pytest.approx(1_359_000 / 4)
    assert fit(run("d", 4, 32, 18), run("d", 8, 44, 24)).plausible
