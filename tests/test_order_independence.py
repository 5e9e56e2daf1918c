"""What lands on disk does not depend on how the runs were split: one run over every partition,
one run per partition in reverse order (a later year before the year it follows up), and runs of
pairs give byte-identical result.json files, stored scores and findings. A later year evaluated
before its previous year is refreshed when that year is evaluated (or later blocked)."""

from __future__ import annotations

import shutil

import pytest
from conftest import SEED_PEERS, evaluate, make_settings, result_of

from perfeval_pipeline.catalog import FINDINGS, RECTIFICATION, SCORES
from perfeval_pipeline.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.gx]
# The two smallest of the seed's peer group; the other two peers' values come from their landing.
DEPARTMENTS = ("pxs-zwsjj", "yts-zwsjj")
YEARS = (2022, 2023)
PARTITIONS = [(d, y) for y in YEARS for d in DEPARTMENTS]


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    from perfeval_pipeline.demo import generate_demo

    root = tmp_path_factory.mktemp("order")
    settings = make_settings(root / "demo")
    generate_demo(settings, departments=list(SEED_PEERS), years=list(YEARS))
    return settings.landing_dir


def run(tmp_path_factory, landing, name, splits):
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(landing, root / "landing")
    settings = make_settings(root)
    for split in splits:
        evaluate(settings, split, workers=2 if len(split) > 1 else 1)
    return settings


@pytest.fixture(scope="module")
def one_run(tmp_path_factory, landing):
    return run(tmp_path_factory, landing, "one", [PARTITIONS])


@pytest.fixture(scope="module")
def reversed_singles(tmp_path_factory, landing):
    return run(tmp_path_factory, landing, "singles", [[p] for p in reversed(PARTITIONS)])


@pytest.fixture(scope="module")
def mixed_pairs(tmp_path_factory, landing):
    pairs = [
        [(DEPARTMENTS[1], 2023), (DEPARTMENTS[0], 2022)],
        [(DEPARTMENTS[0], 2023), (DEPARTMENTS[1], 2022)],
    ]
    return run(tmp_path_factory, landing, "pairs", pairs)


def outputs(settings):
    store = Store(settings.store_dir)
    out = {}
    for d, y in PARTITIONS:
        out[(d, y, "result.json")] = (settings.report_folder(d, y) / "result.json").read_bytes()
        for dataset in (SCORES, FINDINGS, RECTIFICATION):
            out[(d, y, dataset.name)] = store.read(dataset, d, y).to_csv(index=False)
    return out


def test_every_split_gives_the_same_bytes(one_run, reversed_singles, mixed_pairs):
    expected = outputs(one_run)
    for other in (reversed_singles, mixed_pairs):
        got = outputs(other)
        differ = [k for k in expected if expected[k] != got[k]]
        assert not differ, differ


def test_the_later_year_follows_up_the_earlier_one(one_run):
    for d in DEPARTMENTS:
        later = result_of(one_run, d, 2023)
        assert later["status"] == "evaluated"
        assert later["rectification"]["available"], later["rectification"]["reason"]


def test_blocking_the_earlier_year_refreshes_the_later_one(mixed_pairs):
    # Runs last: it changes the landing of the pairs' copy.
    d, settings = DEPARTMENTS[0], mixed_pairs
    assert result_of(settings, d, 2023)["rectification"]["available"]
    for f in settings.landing_folder(d, 2022).glob("financial*"):
        f.unlink()
    batch = evaluate(settings, [(d, 2022)], workers=1)
    assert result_of(settings, d, 2022)["status"] == "blocked"
    assert list(batch.refresh) == [(d, 2023)]
    after = result_of(settings, d, 2023)
    assert after["status"] == "evaluated" and not after["rectification"]["available"]
    assert "2022年评价未完成" in after["rectification"]["reason"]
    again = evaluate(settings, [(d, 2022)], workers=1)
    assert again.refresh == {}, "nothing changed: the later year is current"
