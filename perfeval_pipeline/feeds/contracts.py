"""Feed contracts (assets_config/feeds/*.yaml): canonical columns, types, Chinese header aliases,
keys, allowed values and the plausibility rules every landed row must meet."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pydantic

from perfeval_pipeline.config.errors import ConfigError, Strict, did_you_mean, load_yaml, parse_model

ColumnType = Literal["string", "int", "float", "money", "rate", "date", "datetime", "bool"]
NUMERIC_TYPES = frozenset({"int", "float", "money", "rate"})


class Plausible(Strict):
    """Magnitude a non-zero value must have (in the stored unit: 元 for money). A 决算数（万元）
    header over 元 values, or 万元 values under a 元 header, lands outside and is quarantined."""

    min: float | None = None
    max: float | None = None


class ColumnContract(Strict):
    name: str = ""  # the mapping key
    type: ColumnType = "string"
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    plausible: Plausible | None = None
    # department / year: must equal the partition's folder (structural); unit: one of the
    # department's budget unit codes (row level).
    identity: Literal["department", "year", "unit"] | None = None
    # The value must fall inside the evaluation year.
    within_year: bool = False
    # An identifier (codes, keys): invisible characters make the row unusable.
    code: bool = False
    description: str = ""

    @property
    def header(self) -> str:
        """The header evaluators know: the first alias, else the canonical name."""
        return self.aliases[0] if self.aliases else self.name

    @property
    def label(self) -> str:
        """'决算数 (final_amount)'."""
        return f"{self.aliases[0]} ({self.name})" if self.aliases else self.name


class RowRule(Strict):
    """A comparison between two columns of one row, e.g. closed_at >= received_at."""

    left: str
    op: Literal[">=", ">", "<=", "<", "=="]
    right: str
    reason: str


class TableContract(Strict):
    feed: str = ""
    name: str = ""
    title: str
    columns: dict[str, ColumnContract]
    key: tuple[str, ...] = ()
    sheet_aliases: tuple[str, ...] = ()
    # The feed may come without this table at all.
    optional: bool = False
    # The table may be present with no rows (e.g. 交易投诉 of a year without complaints).
    may_be_empty: bool = False
    rules: tuple[RowRule, ...] = ()
    description: str = ""

    @pydantic.model_validator(mode="after")
    def _references(self):
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"key names unknown columns {missing}{did_you_mean(missing[0], self.columns)}")
        for rule in self.rules:
            for col in (rule.left, rule.right):
                if col not in self.columns:
                    raise ValueError(
                        f"rule {rule.reason!r} names unknown column {col!r}{did_you_mean(col, self.columns)}"
                    )
        return self

    @property
    def qualified_name(self) -> str:
        return f"{self.feed}.{self.name}"

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this table answers to as a sheet: canonical, title and sheet aliases."""
        return (self.name, self.title, *self.sheet_aliases)


class FeedContract(Strict):
    feed: str
    title: str = ""
    description: str = ""
    tables: dict[str, TableContract]

    @property
    def name(self) -> str:
        return self.feed

    @property
    def main_table(self) -> TableContract:
        return next(iter(self.tables.values()))


def _with_names(contract: FeedContract) -> FeedContract:
    """Fill in the names the YAML gives as mapping keys (table and column names, the feed)."""
    tables = {}
    for tname, table in contract.tables.items():
        columns = {c: col.model_copy(update={"name": c}) for c, col in table.columns.items()}
        tables[tname] = table.model_copy(update={"feed": contract.feed, "name": tname, "columns": columns})
    return contract.model_copy(update={"tables": tables, "title": contract.title or contract.feed})


def parse_feed_contract(raw: dict, source: str = "<dict>") -> FeedContract:
    return _with_names(parse_model(FeedContract, raw, source))


def load_contracts(folder: Path) -> dict[str, FeedContract]:
    """Every contract in a folder, by feed name. The file name must be the feed name."""
    contracts = {}
    for path in sorted(folder.glob("*.yaml")):
        contract = parse_feed_contract(load_yaml(path), str(path))
        if contract.feed != path.stem:
            raise ConfigError(f"{path}: feed: {contract.feed!r} must match the file name {path.stem!r}")
        contracts[contract.feed] = contract
    if not contracts:
        raise ConfigError(f"no feed contracts in {folder}")
    return contracts


def table_contract(contracts: dict[str, FeedContract], qualified_name: str) -> TableContract:
    feed, _, table = qualified_name.partition(".")
    if feed not in contracts:
        raise KeyError(f"no feed {feed!r}{did_you_mean(feed, contracts)}")
    if table not in contracts[feed].tables:
        raise KeyError(f"no table {qualified_name!r}{did_you_mean(table, contracts[feed].tables)}")
    return contracts[feed].tables[table]


def all_tables(contracts: dict[str, FeedContract]) -> list[TableContract]:
    return [t for c in contracts.values() for t in c.tables.values()]
