"""存在问题 and 相关建议 as composed for every demo partition of 2023 of both sectors (two 政务服务
departments, two 交通运输 ones, generated and evaluated once for the module), checked as properties
rather than as text: every item cites indicators and every figure it quotes traces to a stored
figure; every deduction at or above the findings threshold is stated; an item about an indicator
with no deduction states the data fact that made it fire; numbering is consecutive; recommendations
answer the problem groups one to one; sentences end with 。.

The rules encoded (findings/config.py, findings/compose.py): an indicator part fires when its `when`
holds (a data condition its text states) or, without `when`, when the indicator's rule deduction
(workpaper deductions excluded) reaches `threshold`; every deduction reaching it that no part
mentions gets a generic item; every workpaper row is stated. A unit test composes a hand-built
result (no demo) to pin `when` against the threshold."""

from __future__ import annotations

import functools
import re

import pandas as pd
import pytest
from conftest import evaluate, make_settings, result_of

from perfeval_pipeline.catalog import rows_dataset
from perfeval_pipeline.lineage.trace import PartitionLineage
from perfeval_pipeline.store import Store

PARTITIONS = [("pxs-zwsjj", 2023), ("yts-zwsjj", 2023), ("jdz-jtysj", 2023), ("pxs-jtysj", 2023)]
CN = "一二三四五六七八九十"
EPS = 1e-9
# A figure as the items print it: a percentage or an amount in 万元 (a space may sit before 万元),
# with a rate's unit when it has one (0.8万元/公里).
FIGURE = re.compile(r"(?<![\d.])(-?\d+(?:\.\d+)?)\s*(%|万元(?:/[^\s，。；、：）)]+)?)")


def on_demo(test):
    """Tests over the evaluated demo partitions: minutes, and Great Expectations."""
    return pytest.mark.gx(pytest.mark.slow(test))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from perfeval_pipeline.demo import generate_demo

    settings = make_settings(tmp_path_factory.mktemp("findings"))
    generate_demo(settings, departments=[d for d, _ in PARTITIONS], years=[2023], workers=2)
    evaluate(settings, PARTITIONS, workers=2)
    results = {d: result_of(settings, d, y) for d, y in PARTITIONS}
    assert all(r["status"] == "evaluated" for r in results.values()), {
        d: r.get("blocked_reasons") or r.get("failure") for d, r in results.items()
    }
    return settings, results


def items(result: dict):
    for group in result["problems"]:
        for item in group["items"]:
            yield group, item


def scored(result: dict) -> dict[str, dict]:
    return {i["id"]: i for i in result["indicators"] if not i["statistic"]}


def rule_deduction(indicator: dict) -> float:
    return indicator["deduction"] - indicator["workpaper_deduction"]


def threshold(settings, result: dict) -> float:
    return settings.findings[result["framework"]["name"]].threshold


def about(item: dict) -> list[str]:
    """The indicators an item is about: those of its finding identities (not workpaper codes)."""
    out = []
    for fid in item["finding_ids"]:
        if not fid.startswith("wp:"):
            out.append(fid.split("@")[0].split(":")[0])
    return list(dict.fromkeys(out))


def config_item(settings, result: dict, item_id: str):
    config = settings.findings[result["framework"]["name"]]
    return next((it for g in config.groups for it in g.items if it.id == item_id), None)


@on_demo
def test_the_partitions_have_problems_of_every_kind(demo):
    """The properties below check something: specific, generic and workpaper items all occur."""
    _, results = demo
    all_items = [it for r in results.values() for _, it in items(r)]
    assert sum(not it["generic"] for it in all_items) >= 8
    assert any(it["generic"] for it in all_items)
    assert any(it["workpaper_refs"] for it in all_items)
    assert {r["framework"]["name"] for r in results.values()} == {"zwsj", "jtys"}


@on_demo
def test_every_item_cites_indicators_of_its_framework(demo):
    _, results = demo
    for department, result in results.items():
        ids = {i["id"] for i in result["indicators"]}
        for group, item in items(result):
            where = (department, group["no"], item["no"], item["title"])
            assert item["cites"], where
            assert set(item["cites"]) <= ids, (where, set(item["cites"]) - ids)
            assert item["finding_ids"], where
            # What the item is about is among what it cites.
            assert set(about(item)) <= set(item["cites"]), where


@on_demo
def test_every_figure_an_item_quotes_traces_to_a_stored_figure(demo):
    settings, results = demo
    store = Store(settings.store_dir)
    checked = 0
    for department, result in results.items():
        lineage = PartitionLineage(settings, department, 2023)
        workpaper = store.read_optional(rows_dataset("evaluation.workpaper"), department, 2023)
        evaluator_text = "".join(workpaper["finding"].astype(str)) if workpaper is not None else ""
        for group, item in items(result):
            for number, unit in FIGURE.findall(item["text"]):
                printed = f"{number}{unit}"
                checked += 1
                if lineage.resolve(printed):
                    continue
                # The evaluator's own words (a workpaper row, stored) may quote figures of their own.
                assert item["workpaper_refs"] and re.search(
                    rf"{re.escape(number)}\s*{unit}", evaluator_text
                ), (
                    department,
                    group["no"],
                    item["no"],
                    printed,
                    item["text"],
                )
    assert checked >= 20


@on_demo
def test_every_deduction_at_the_threshold_is_stated(demo):
    settings, results = demo
    for department, result in results.items():
        limit = threshold(settings, result)
        cited = {c for _, it in items(result) for c in it["cites"]}
        refs = {r for _, it in items(result) for r in it["workpaper_refs"]}
        for iid, ind in scored(result).items():
            if rule_deduction(ind) >= limit - EPS:
                assert iid in cited, (department, iid, ind["deduction_reason"])
            # Every workpaper row behind a deduction is stated by some item.
            assert set(ind["workpaper_refs"]) <= refs, (department, iid, ind["workpaper_refs"])


@on_demo
def test_an_item_below_the_threshold_fires_on_a_data_fact_it_states(demo):
    """An item about an indicator whose rule deduction is under the threshold comes from a part with
    a `when` condition (never a generic item); with no deduction at all, its text states the figure
    or the listed thing that made the condition hold."""
    settings, results = demo
    seen_zero = 0
    for department, result in results.items():
        limit = threshold(settings, result)
        indicators = {i["id"]: i for i in result["indicators"]}
        for group, item in items(result):
            for iid in about(item):
                ind = indicators[iid]
                if ind["statistic"] or rule_deduction(ind) >= limit - EPS:
                    continue
                where = (department, group["no"], item["no"], iid, item["text"])
                assert not item["generic"], where
                spec = config_item(settings, result, item["id"])
                assert spec is not None, where
                assert any(p.indicator == iid and p.when for p in spec.parts), where
                if rule_deduction(ind) > EPS:
                    continue
                seen_zero += 1
                facts = {ind["display"]} | {
                    str(v)
                    for it in ind["items"]
                    for k, v in it.items()
                    if isinstance(v, str) and v and not k.startswith("_")
                }
                facts |= {u["name"] for u in ind["by_unit"] if u.get("name")}
                assert any(f and f in item["text"] for f in facts), where
    assert seen_zero, "no partition has an item on a data fact without deduction: the check checked nothing"


@on_demo
def test_numbering_is_consecutive(demo):
    _, results = demo
    for department, result in results.items():
        groups = result["problems"]
        assert [g["no"] for g in groups] == [f"({CN[i]})" for i in range(len(groups))], department
        for g in groups:
            assert [it["no"] for it in g["items"]] == [f"({k + 1})" for k in range(len(g["items"]))]
            for it in g["items"]:
                assert_ordinals(it["text"], (department, g["no"], it["no"]))
        for rec in result["recommendations"]:
            assert_ordinals(rec["text"], (department, rec["no"]))


def assert_ordinals(text: str, where) -> None:
    """一是、二是… and ①②… inside a text each count up from the first without a gap."""
    said = re.findall(rf"(?:^|[。：；])([{CN}]+)是", text)
    assert said == [CN[i] for i in range(len(said))], (where, said, text)
    circled = re.findall(r"[①-⑳]", text)
    assert circled == [chr(ord("①") + i) for i in range(len(circled))], (where, circled)


@on_demo
def test_recommendations_answer_the_problem_groups_one_to_one(demo):
    _, results = demo
    for department, result in results.items():
        problems = [(g["no"], g["id"]) for g in result["problems"]]
        answers = [(r["no"], r["problem_id"]) for r in result["recommendations"]]
        assert answers == problems, department
        assert all(r["title"] and r["text"] for r in result["recommendations"])


@on_demo
def test_every_sentence_ends_with_a_full_stop(demo):
    _, results = demo
    for department, result in results.items():
        texts = [it["text"] for _, it in items(result)] + [r["text"] for r in result["recommendations"]]
        texts += [result["narrative"]["basic_situation"], *result["narrative"]["performance"]]
        for text in texts:
            assert text.endswith("。"), (department, text[-40:])
            assert not re.search(r"[。；，、：][。；，、]|。：", text), (department, text)
        for g in result["problems"]:
            assert not g["title"].endswith(("。", "，", "；")), (department, g["title"])


# -------------------------------------------------------------- compose on a hand-built result
def compose_with(deductions: dict[str, tuple[float, float]], values: dict[str, float]) -> dict:
    """Compose findings over the zwsj framework with a small hand-written config: `deductions`
    maps an indicator to (deduction, of which workpaper), `values` its value."""
    from hostile.corpus import department

    from perfeval_pipeline.config.models import Department
    from perfeval_pipeline.findings.compose import build_context, compose_findings
    from perfeval_pipeline.findings.config import FindingsConfig
    from perfeval_pipeline.indicators.compute import IndicatorResults, IndicatorValue
    from perfeval_pipeline.scoring.score import IndicatorScore, Scorecard

    settings = shipped_settings()
    framework = settings.frameworks["zwsj"]
    config = FindingsConfig.model_validate(
        {
            "framework": "zwsj",
            "chain": ["zwsj", "common"],
            "threshold": 0.5,
            "rectification_section": False,
            "repeated": "",
            "narrative": {},
            "generic": {
                "title": {k: "{{ i.name }}未达标准" for k in KINDS},
                "text": {k: "{{ i.name }}扣{{ s.rule_deduction|pts2 }}分。" for k in KINDS},
            },
            "groups": [
                {
                    "id": "only",
                    "covers": ["*"],
                    "title": [
                        {"text": "执行偏低", "binds": ["low_execution"]},
                        {"text": "差异偏大", "binds": ["variance"]},
                        {"text": "其他", "binds": ["generic"]},
                    ],
                    "items": [
                        {
                            "id": "low_execution",
                            "title": "预算执行率偏低",
                            "parts": [
                                {
                                    "indicator": "budget_execution_rate",
                                    "when": "ind.budget_execution_rate.value < 0.9",
                                    "text": "预算执行率为{{ ind.budget_execution_rate.display }}。",
                                }
                            ],
                        },
                        {
                            "id": "variance",
                            "title": "预决算差异率偏高",
                            "parts": [
                                {
                                    "indicator": "hq_budget_variance_rate",
                                    "text": "差异率为{{ ind.hq_budget_variance_rate.display }}。",
                                }
                            ],
                        },
                    ],
                    "recommendation": {
                        "title": "加强预算管理",
                        "sentences": [
                            {"text": "提高执行率。", "binds": ["low_execution"]},
                            {"text": "控制差异。", "binds": ["variance"]},
                        ],
                    },
                }
            ],
        }
    )
    # Both indicators the config names exist (its conditions read them), by default met.
    values = {"budget_execution_rate": 0.95, "hq_budget_variance_rate": 0.05, **values}
    ids = sorted(set(deductions) | set(values))
    indicators = IndicatorResults(
        [
            IndicatorValue(
                iid,
                framework.get(iid).name,
                "",
                "",
                framework.get(iid).points,
                "",
                "percent",
                values.get(iid),
                f"{values.get(iid, 0) * 100:.2f}%",
                None,
                None,
                None,
                0,
            )
            for iid in ids
        ],
        pd.DataFrame(),
    )
    card = Scorecard(
        [
            IndicatorScore(
                iid,
                framework.get(iid).points,
                framework.get(iid).points - deductions.get(iid, (0, 0))[0],
                deductions.get(iid, (0, 0))[0],
                [],
                framework.get(iid).rule.kind,
                "",
                workpaper_deduction=deductions.get(iid, (0, 0))[1],
            )
            for iid in ids
        ],
        [],
        [],
        0.0,
        "",
        100.0,
    )
    dept = Department.model_validate({**department("unit-t"), "code": "unit-t"})
    ctx = build_context(dept, 2023, framework, config, indicators, card, None, {})
    return compose_findings(ctx)


KINDS = (
    "proportional",
    "bands",
    "deduct_per_point",
    "deduct_per_item",
    "boolean",
    "workpaper",
    "not_computable",
)


@functools.cache
def shipped_settings():
    from perfeval_pipeline.config.settings import load_settings

    return load_settings()


def fired(findings: dict) -> dict[str, str]:
    return {it["id"]: it["text"] for g in findings["problems"] for it in g["items"]}


def test_compose_a_when_part_fires_on_its_condition_whatever_the_deduction():
    # 执行率 85% without any deduction: the condition (< 90%) holds, the item states the figure.
    out = compose_with({}, {"budget_execution_rate": 0.85})
    assert fired(out) == {"low_execution": "预算执行率偏低。预算执行率为85.00%。"}
    assert out["problems"][0]["title"] == "执行偏低"
    assert out["recommendations"][0]["text"] == "提高执行率。"
    # 执行率 92% with 1.5 deducted: the condition fails, so the specific item stays silent, and the
    # deduction, at the threshold or above, is stated by a generic item instead.
    out = compose_with({"budget_execution_rate": (1.5, 0.0)}, {"budget_execution_rate": 0.92})
    assert fired(out) == {"generic:budget_execution_rate": "预算执行率未达标准。预算执行率扣1.50分。"}
    assert out["problems"][0]["title"] == "其他"


def test_compose_a_part_without_when_fires_from_the_threshold_of_the_rule_deduction():
    assert (
        fired(compose_with({"hq_budget_variance_rate": (0.49, 0.0)}, {"hq_budget_variance_rate": 0.2})) == {}
    )
    at = compose_with({"hq_budget_variance_rate": (0.5, 0.0)}, {"hq_budget_variance_rate": 0.2})
    assert fired(at) == {"variance": "预决算差异率偏高。差异率为20.00%。"}
    assert at["problems"][0]["items"][0]["finding_ids"] == ["hq_budget_variance_rate"]
    assert at["recommendations"] == [
        {"no": "(一)", "problem_id": "only", "title": "加强预算管理", "text": "控制差异。", "cites": []}
    ]
    # A deduction that is all the evaluator's workpaper is not the rule's: no rule item fires.
    assert (
        fired(compose_with({"hq_budget_variance_rate": (2.0, 2.0)}, {"hq_budget_variance_rate": 0.2})) == {}
    )
    # Both items in one group: numbered (1) (2) in config order, one recommendation for the group.
    both = compose_with(
        {"hq_budget_variance_rate": (1.0, 0.0)},
        {"hq_budget_variance_rate": 0.4, "budget_execution_rate": 0.5},
    )
    group = both["problems"][0]
    assert [(it["no"], it["id"]) for it in group["items"]] == [("(1)", "low_execution"), ("(2)", "variance")]
    assert group["title"] == "执行偏低，差异偏大"
    assert [r["text"] for r in both["recommendations"]] == ["提高执行率。控制差异。"]
