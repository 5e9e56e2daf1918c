"""Typed configuration: every file kind refuses a typo or a dangling reference at load, naming the
file, the key path and the nearest valid name."""

import pytest
import yaml
from conftest import make_settings

from perfeval_pipeline.config.errors import ConfigError
from perfeval_pipeline.config.settings import load_settings


def edit_yaml(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def failing(tmp_path, relative: str, change) -> str:
    with pytest.raises(ConfigError) as info:
        make_settings(tmp_path, edit=lambda config: edit_yaml(config / relative, change))
    return str(info.value)


def test_the_project_configuration_loads():
    settings = load_settings()
    assert {"zwsj", "common"} <= set(settings.frameworks) | {"common"}
    assert settings.framework_of("jdz-zwsjj").chain == ("zwsj", "common")
    assert sum(s.points for s in settings.framework_of("jdz-zwsjj").indicators) == 100


def test_pipeline_yaml_typo(tmp_path):
    message = failing(tmp_path, "pipeline.yaml", lambda d: d.update(requred_feeds=d.pop("required_feeds")))
    assert (
        "pipeline.yaml" in message
        and "requred_feeds" in message
        and "unknown key" in message
        and "'required_feeds'" in message
    )


def test_pipeline_yaml_unknown_feed(tmp_path):
    message = failing(tmp_path, "pipeline.yaml", lambda d: d["required_feeds"].append("hotlines"))
    assert "required_feeds" in message and "'hotline'" in message


def test_departments_yaml_typo_and_bad_code(tmp_path):
    def typo(d):
        d["departments"]["jdz-zwsjj"]["short_nmae"] = "x"

    message = failing(tmp_path, "departments.yaml", typo)
    assert "departments.jdz-zwsjj.short_nmae" in message and "'short_name'" in message

    def dotted(d):
        d["departments"]["../etc"] = d["departments"]["jdz-zwsjj"]

    message = failing(tmp_path, "departments.yaml", dotted)
    assert "'../etc'" in message and "must match" in message


def test_departments_yaml_dangling_peer_group(tmp_path):
    message = failing(
        tmp_path, "departments.yaml", lambda d: d["departments"]["jdz-zwsjj"].update(peer_groups=["四小地巿"])
    )
    assert "peer_groups" in message and "'四小地市'" in message


def test_contract_typos(tmp_path):
    def typo(d):
        d["tables"]["budget_lines"]["columns"]["line_id"]["requred"] = True

    message = failing(tmp_path, "feeds/financial.yaml", typo)
    assert (
        "feeds/financial.yaml" in message
        and "tables.budget_lines.columns.line_id.requred" in message
        and "'required'" in message
    )

    def identity(d):
        d["tables"]["budget_lines"]["columns"]["line_id"]["identiy"] = "department"

    assert "'identity'" in failing(tmp_path, "feeds/financial.yaml", identity)

    def bad_type(d):
        d["tables"]["budget_lines"]["columns"]["line_id"]["type"] = "moneyy"

    assert "columns.line_id.type" in failing(tmp_path, "feeds/financial.yaml", bad_type)

    def bad_key(d):
        d["tables"]["ledger"]["key"] = ["voucher"]

    assert "'voucher_no'" in failing(tmp_path, "feeds/financial.yaml", bad_key)


def test_framework_dangling_table_column_and_where_name(tmp_path):
    def table(d):
        d["indicators"][0]["measure"]["table"] = "evaluation.target"

    message = failing(tmp_path, "frameworks/common.yaml", table)
    assert "target_reasonableness" in message and "'evaluation.targets'" in message

    def column(d):
        spec = next(i for i in d["indicators"] if i["id"] == "budget_execution_rate")
        spec["measure"]["numerator"]["sum"] = "final_amout"

    message = failing(tmp_path, "frameworks/common.yaml", column)
    assert "budget_execution_rate" in message and "numerator.sum" in message and "'final_amount'" in message

    def where(d):
        spec = next(i for i in d["indicators"] if i["id"] == "hq_budget_variance_rate")
        spec["measure"]["numerator"]["where"] = "unit_rol = '本级'"

    message = failing(tmp_path, "frameworks/common.yaml", where)
    assert "numerator.where" in message and "'unit_rol'" in message and "'unit_role'" in message


def test_framework_points_must_add_up_and_keys_are_checked(tmp_path):
    def points(d):
        d["indicators"][0]["points"] = 5

    assert "indicators sum to" in failing(tmp_path, "frameworks/common.yaml", points)

    def rule_typo(d):
        d["indicators"][1]["rule"]["per_itme"] = 1

    assert "per_itme" in failing(tmp_path, "frameworks/common.yaml", rule_typo)

    def extends_unknown(d):
        d["remove"] = ["effect_targetz"]

    assert "'effect_targets'" in failing(tmp_path, "frameworks/zwsj.yaml", extends_unknown)


def test_findings_typo_and_dangling_binding(tmp_path):
    def typo(d):
        d["groups"][0]["titel"] = []

    assert "titel" in failing(tmp_path, "findings/zwsj.yaml", typo)

    def binding(d):
        d["groups"][0]["title"][0]["binds"] = ["planing_clarity"]

    message = failing(tmp_path, "findings/zwsj.yaml", binding)
    assert "planing_clarity" in message and "'planning_clarity'" in message


def test_grades_need_a_band_from_zero(tmp_path):
    assert "lowest band must start at 0" in failing(tmp_path, "grades.yaml", lambda d: d["bands"].pop())
