"""Indicator frameworks (assets_config/frameworks/{name}.yaml): typed, merged along `extends:`, and
checked against the feed contracts at load, so a typo in a table, a column or a name in a `where`
fails with the file, the key path and the nearest valid name, never mid-run.

A framework lists scored indicators (points > 0, with a scoring rule) and statistics (printed, not
scored). Each has a measure over the partition's tables (see measures.py):
- ratio: numerator side / denominator side (+ offset), optionally per budget unit (`by`);
- total: one side's sum or row count; count: rows matching `where`;
- rule_hits: several named row rules, the value is how many found at least one row;
- target_completion: the department's own 绩效目标表 rows (年度指标值 vs 实际完成值) of a category.
A side is {table, sum: col | [cols], count: rows, where, distinct} or {quota: staffing}. `where` is
a SQL condition (DuckDB) over the table's columns, e.g. "status = '已办结' AND closed_at <= deadline_at".

`extends: common` starts from another framework: `remove` drops inherited indicators, `points`
re-weights them, `indicators`/`statistics` add new ones; levels and totals are checked after merging.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import duckdb
import pydantic

from perfeval_pipeline.config.errors import ConfigError, Strict, did_you_mean, load_yaml, parse_model
from perfeval_pipeline.formatting import DISPLAYS
from perfeval_pipeline.numbers import Quantity, parse_quantity

DisplayKind = Literal[tuple(DISPLAYS)]  # type: ignore[valid-type]


class Condition(Strict):
    """'≥ 1', '= 0', '< 0.6': a comparison of an indicator value with a number."""

    text: str

    @pydantic.model_validator(mode="after")
    def _parses(self):
        q = parse_quantity(self.text)
        if q is None or q.comparator is None:
            raise ValueError(f"condition {self.text!r} must be a comparator and a number, e.g. '≥ 1'")
        return self

    @property
    def quantity(self) -> Quantity:
        return parse_quantity(self.text)  # type: ignore[return-value]

    def holds(self, value: float | None) -> bool:
        if value is None:
            return False
        q = self.quantity
        return {
            "≥": value >= q.value - 1e-12,
            "≤": value <= q.value + 1e-12,
            ">": value > q.value + 1e-12,
            "<": value < q.value - 1e-12,
            "=": abs(value - q.value) <= 1e-12,
        }[q.comparator]  # type: ignore[index]


def _condition(value):
    return {"text": str(value)} if isinstance(value, str | int | float) else value


ConditionField = Annotated[Condition, pydantic.BeforeValidator(_condition)]


class Side(Strict):
    table: str | None = None
    sum: str | tuple[str, ...] | None = None
    count: Literal["rows"] | None = None
    where: str | None = None
    distinct: str | None = None
    quota: Literal["staffing"] | None = None

    @pydantic.model_validator(mode="after")
    def _shape(self):
        if self.quota:
            if self.table or self.sum or self.where:
                raise ValueError("a quota side takes no table, sum or where")
        elif not self.table:
            raise ValueError("a side needs a table (or quota: staffing)")
        if self.sum and self.count:
            raise ValueError("give sum or count, not both")
        return self

    @property
    def sum_columns(self) -> tuple[str, ...]:
        if self.sum is None:
            return ()
        return (self.sum,) if isinstance(self.sum, str) else tuple(self.sum)


class RatioMeasure(Strict):
    kind: Literal["ratio"]
    numerator: Side
    denominator: Side
    offset: float = 0.0
    by: str | None = None
    # Budget units whose own value meets this condition are listed as items (e.g. '> 0' overruns).
    flag_units: ConditionField | None = None
    # Per unit, break the denominator rows outside the numerator down by this column (what makes
    # a low rate low, e.g. asset status: 待处置 vs 闲置).
    explain_by: str | None = None
    # Rows of the denominator table listed as items (e.g. unfinished tasks), with `items` columns.
    item_rows: str | None = None
    items: tuple[str, ...] = ()


class TotalMeasure(Side):
    kind: Literal["total"]
    by: str | None = None
    empty_table: Literal["zero", "not_computable"] = "not_computable"


class CountMeasure(Strict):
    kind: Literal["count"]
    table: str
    where: str | None = None
    distinct: str | None = None
    items: tuple[str, ...] = ()
    # An empty table: 0 when counting every row (no complaints = 0), not computable when judging
    # rows by a condition (no windows listed = nothing to judge). Override here.
    empty_table: Literal["zero", "not_computable"] | None = None


class RowRuleSpec(Strict):
    table: str
    where: str | None = None
    distinct: str | None = None
    items: tuple[str, ...] = ()
    title: str = ""


class RuleHitsMeasure(Strict):
    kind: Literal["rule_hits"]
    rules: dict[str, RowRuleSpec]


class TargetCompletionMeasure(Strict):
    """绩效目标表 rows of one category (e.g. level2 = '数量指标'), each scored by its completion:
    实际完成值 against 年度指标值 under the row's comparator, capped at 1; qualitative targets count
    as met when the actual value says so. Rows whose target another indicator scores are left out."""

    kind: Literal["target_completion"]
    where: str
    items: tuple[str, ...] = ("name", "value", "actual")


Measure = Annotated[
    RatioMeasure | TotalMeasure | CountMeasure | RuleHitsMeasure | TargetCompletionMeasure,
    pydantic.Field(discriminator="kind"),
]


class Band(Strict):
    max: float | None = None
    score: float


class ProportionalRule(Strict):
    kind: Literal["proportional"]
    target: float | None = None
    # The department's own 绩效目标表 row whose 指标名称 contains this text.
    target_from_targets: str | None = None
    # The mean of the department's peer group (departments.yaml peer_groups).
    target_peer_mean: bool = False

    @pydantic.model_validator(mode="after")
    def _one_target(self):
        given = [self.target is not None, bool(self.target_from_targets), self.target_peer_mean]
        if sum(given) != 1:
            raise ValueError("give exactly one of target, target_from_targets, target_peer_mean")
        return self


class BandsRule(Strict):
    kind: Literal["bands"]
    abs: bool = False
    bands: tuple[Band, ...]

    @pydantic.model_validator(mode="after")
    def _last_open(self):
        if not self.bands or self.bands[-1].max is not None:
            raise ValueError("the last band must have no max (it takes every larger value)")
        return self


class DeductPerPointRule(Strict):
    kind: Literal["deduct_per_point"]
    standard: float
    direction: Literal["above", "below"] = "above"
    per_point: float = pydantic.Field(gt=0)


class DeductPerItemRule(Strict):
    kind: Literal["deduct_per_item"]
    per_item: float = pydantic.Field(gt=0)


class BooleanRule(Strict):
    kind: Literal["boolean"]
    when: ConditionField


class WorkpaperRule(Strict):
    kind: Literal["workpaper"]


Rule = Annotated[
    ProportionalRule | BandsRule | DeductPerPointRule | DeductPerItemRule | BooleanRule | WorkpaperRule,
    pydantic.Field(discriminator="kind"),
]


class IndicatorSpec(Strict):
    id: str
    name: str
    measure: Measure
    display: DisplayKind = "decimal"  # type: ignore[valid-type]
    unit: str = ""
    level1: str = ""
    level2: str = ""
    points: float = 0.0
    rule: Rule | None = None
    description: str = ""

    @property
    def scored(self) -> bool:
        return self.points > 0


class LevelSpec(Strict):
    id: str
    points: float


class FrameworkFile(Strict):
    name: str
    extends: str | None = None
    total_points: float | None = None
    levels: dict[str, LevelSpec] | None = None
    remove: tuple[str, ...] = ()
    points: dict[str, float] = {}
    indicators: tuple[IndicatorSpec, ...] = ()
    statistics: tuple[IndicatorSpec, ...] = ()


class Framework(Strict):
    name: str  # the file stem: what departments.yaml names
    title: str
    chain: tuple[str, ...]  # this framework and the ones it extends, most specific first
    origins: dict[str, str] = {}  # indicator id → the file (stem) that defines it
    total_points: float
    levels: dict[str, LevelSpec]
    indicators: tuple[IndicatorSpec, ...]
    statistics: tuple[IndicatorSpec, ...]

    @property
    def all(self) -> tuple[IndicatorSpec, ...]:
        return self.indicators + self.statistics

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.all)

    def get(self, indicator_id: str) -> IndicatorSpec:
        for spec in self.all:
            if spec.id == indicator_id:
                return spec
        raise KeyError(
            f"no indicator {indicator_id!r} in framework {self.name}{did_you_mean(indicator_id, self.ids)}"
        )


class FrameworkError(ConfigError):
    """The framework config is malformed; the message names the file and the indicator."""


def _check_spec(spec: IndicatorSpec, statistic: bool, source: str) -> None:
    where = f"{source}: {'statistics' if statistic else 'indicators'}[{spec.id}]"
    if statistic:
        if spec.rule is not None or spec.points:
            raise FrameworkError(f"{where}: a statistic has no rule and no points")
    else:
        if spec.rule is None:
            raise FrameworkError(f"{where}.rule: a scored indicator needs a rule")
        if spec.points <= 0:
            raise FrameworkError(f"{where}.points: a scored indicator needs points > 0")
        if not spec.level1:
            raise FrameworkError(f"{where}.level1: a scored indicator needs its 一级指标")


def _merge(folder: Path, name: str, seen: tuple[str, ...] = ()) -> Framework:
    path = folder / f"{name}.yaml"
    source = str(path)
    if name in seen:
        raise FrameworkError(f"{source}: extends loops: {' → '.join((*seen, name))}")
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        by = f"{folder / seen[-1]}.yaml: extends: " if seen else ""
        raise FrameworkError(f"{by}no framework file {path}{did_you_mean(name, known)}")
    raw = parse_model(FrameworkFile, load_yaml(path), source)
    if raw.extends:
        parent = _merge(folder, raw.extends, (*seen, name))
        unknown = [i for i in (*raw.remove, *raw.points) if i not in parent.ids]
        if unknown:
            raise FrameworkError(
                f"{source}: remove/points name {unknown[0]!r}, not an indicator of {raw.extends}"
                f"{did_you_mean(unknown[0], parent.ids)}"
            )
        indicators = (
            tuple(
                s.model_copy(update={"points": raw.points.get(s.id, s.points)})
                for s in parent.indicators
                if s.id not in raw.remove
            )
            + raw.indicators
        )
        statistics = tuple(s for s in parent.statistics if s.id not in raw.remove) + raw.statistics
        levels = raw.levels if raw.levels is not None else parent.levels
        total = raw.total_points if raw.total_points is not None else parent.total_points
        chain = (name, *parent.chain)
        origins = {**parent.origins, **{s.id: name for s in raw.indicators + raw.statistics}}
    else:
        if raw.remove or raw.points:
            raise FrameworkError(f"{source}: remove/points need extends:")
        if raw.levels is None:
            raise FrameworkError(f"{source}: levels: required key missing")
        indicators, statistics, levels = raw.indicators, raw.statistics, raw.levels
        total, chain = raw.total_points or 100.0, (name,)
        origins = {s.id: name for s in indicators + statistics}
    for spec in indicators:
        _check_spec(spec, False, source)
    for spec in statistics:
        _check_spec(spec, True, source)
    ids = [s.id for s in indicators + statistics]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise FrameworkError(f"{source}: duplicate indicator ids {dupes} (remove the inherited one first)")
    return Framework(
        name=name,
        title=raw.name,
        chain=chain,
        total_points=total,
        levels=levels,
        indicators=indicators,
        statistics=statistics,
        origins=origins,
    )


def _check_points(framework: Framework, source: str) -> None:
    unknown = sorted({s.level1 for s in framework.indicators} - set(framework.levels))
    if unknown:
        raise FrameworkError(
            f"{source}: level1 {unknown[0]!r} is not declared under levels{did_you_mean(unknown[0], framework.levels)}"
        )
    for lname, level in framework.levels.items():
        total = sum(s.points for s in framework.indicators if s.level1 == lname)
        if abs(total - level.points) > 1e-9:
            raise FrameworkError(
                f"{source}: levels.{lname}.points is {level.points:g} but its indicators sum to {total:g}"
            )
    total = sum(s.points for s in framework.indicators)
    if abs(total - framework.total_points) > 1e-9:
        raise FrameworkError(
            f"{source}: indicator points sum to {total:g}, not total_points {framework.total_points:g}"
        )


@cache
def _load(folder: Path, name: str, stamp: tuple) -> Framework:
    framework = _merge(folder, name)
    _check_points(framework, str(folder / f"{name}.yaml"))
    return framework


def load_framework(folder: Path, name: str, stamp: tuple = ()) -> Framework:
    """The merged framework `name` from assets_config/frameworks/ (points checked, not references:
    `check_references` needs the contracts and runs when settings load). `stamp` identifies the
    files' state, so an edited file is read again."""
    return _load(Path(folder), name, stamp)


# --- references against the contracts ---------------------------------------------------------


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


@cache
def sql_columns(where: str) -> list[str]:
    """Column names a SQL condition reads; ValueError for a syntax error, a subquery, or more
    than one statement."""
    sql = f"SELECT * FROM t WHERE ({where})"
    tree = json.loads(_parser().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if tree.get("error"):
        raise ValueError(f"not a valid SQL condition: {tree.get('error_message')}")
    if len(tree["statements"]) != 1:
        raise ValueError("one condition only")
    refs: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF":
                refs.append(node["column_names"][-1])
            if node.get("class") in ("SUBQUERY", "TABLE_FUNCTION") or node.get("type") == "SUBQUERY":
                raise ValueError("subqueries and table functions are not allowed in a condition")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree["statements"][0]["node"].get("where_clause"))
    return list(dict.fromkeys(refs))


def check_references(framework: Framework, tables: dict[str, set[str]], folder: Path) -> None:
    """Every table, column and `where` name of every measure exists (`tables`: table name → its
    columns, contract tables plus views). Raises FrameworkError naming the file that defines the
    indicator, the indicator and the key."""

    def table_columns(where: str, table: str | None) -> set[str]:
        if table not in tables:
            raise FrameworkError(f"{where}.table: unknown table {table!r}{did_you_mean(str(table), tables)}")
        return tables[table]

    def column(where: str, columns: set[str], name: str | None) -> None:
        if name is not None and name not in columns:
            raise FrameworkError(f"{where}: unknown column {name!r}{did_you_mean(name, columns)}")

    def condition(where: str, columns: set[str], sql: str | None) -> None:
        if not sql:
            return
        try:
            names = sql_columns(sql)
        except ValueError as exc:
            raise FrameworkError(f"{where}: {exc}: {sql!r}") from None
        for name in names:
            if name not in columns:
                raise FrameworkError(
                    f"{where}: {sql!r} names unknown column {name!r}{did_you_mean(name, columns)}"
                )

    def side(where: str, s: Side, by: str | None = None) -> set[str]:
        if s.quota:
            return set()
        cols = table_columns(where, s.table)
        for c in s.sum_columns:
            column(f"{where}.sum", cols, c)
        column(f"{where}.distinct", cols, s.distinct)
        column(f"{where}.by", cols, by)
        condition(f"{where}.where", cols, s.where)
        return cols

    for spec in framework.all:
        at = f"{folder / (framework.origins.get(spec.id, framework.name) + '.yaml')}: indicator {spec.id}: measure"
        m = spec.measure
        if isinstance(m, RatioMeasure):
            side(f"{at}.numerator", m.numerator)
            den = side(f"{at}.denominator", m.denominator, m.by)
            condition(f"{at}.item_rows", den, m.item_rows)
            column(f"{at}.explain_by", den, m.explain_by)
            for item in m.items:
                column(f"{at}.items", den, item)
            if m.by:
                side(f"{at}.numerator", m.numerator, m.by)
        elif isinstance(m, TotalMeasure):
            side(at, m, m.by)
        elif isinstance(m, CountMeasure):
            cols = table_columns(at, m.table)
            condition(f"{at}.where", cols, m.where)
            column(f"{at}.distinct", cols, m.distinct)
            for item in m.items:
                column(f"{at}.items", cols, item)
        elif isinstance(m, RuleHitsMeasure):
            for rid, rule in m.rules.items():
                cols = table_columns(f"{at}.rules.{rid}", rule.table)
                condition(f"{at}.rules.{rid}.where", cols, rule.where)
                column(f"{at}.rules.{rid}.distinct", cols, rule.distinct)
                for item in rule.items:
                    column(f"{at}.rules.{rid}.items", cols, item)
        elif isinstance(m, TargetCompletionMeasure):
            cols = table_columns(at, "evaluation.targets")
            condition(f"{at}.where", cols, m.where)
            for item in m.items:
                column(f"{at}.items", cols, item)
