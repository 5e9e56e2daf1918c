"""Feed contracts: canonical columns, types, Chinese header aliases, keys, allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from perfeval_pipeline.config import config_dir, load_yaml

COLUMN_TYPES = {"string", "int", "float", "money", "rate", "date", "datetime", "bool"}


@dataclass(frozen=True)
class ColumnContract:
    name: str
    type: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    # "department" / "year": the column must equal the partition's folder (structural rule).
    identity: str | None = None


@dataclass(frozen=True)
class TableContract:
    feed: str
    name: str
    title: str
    columns: dict[str, ColumnContract]
    key: tuple[str, ...] = ()
    sheet_aliases: tuple[str, ...] = ()
    optional: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.feed}.{self.name}"

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]


@dataclass(frozen=True)
class FeedContract:
    name: str
    title: str
    tables: dict[str, TableContract]

    @property
    def main_table(self) -> TableContract:
        return next(iter(self.tables.values()))


class ContractError(ValueError):
    """A feed contract file is malformed."""


def _parse_column(feed: str, table: str, name: str, raw: dict) -> ColumnContract:
    ctype = raw.get("type", "string")
    if ctype not in COLUMN_TYPES:
        raise ContractError(f"{feed}.{table}.{name}: unknown type {ctype!r} (one of {sorted(COLUMN_TYPES)})")
    allowed = raw.get("allowed")
    return ColumnContract(
        name=name,
        type=ctype,
        required=bool(raw.get("required", False)),
        aliases=tuple(str(a) for a in raw.get("aliases", [])),
        allowed=tuple(str(a) for a in allowed) if allowed is not None else None,
        min=float(raw["min"]) if raw.get("min") is not None else None,
        identity=raw.get("identity"),
    )


def parse_feed_contract(raw: dict, source: str = "<dict>") -> FeedContract:
    try:
        feed = raw["feed"]
        tables = {}
        for tname, traw in raw["tables"].items():
            columns = {
                cname: _parse_column(feed, tname, cname, craw or {})
                for cname, craw in traw["columns"].items()
            }
            key = tuple(traw.get("key", []))
            missing = [k for k in key if k not in columns]
            if missing:
                raise ContractError(f"{source}: {feed}.{tname} key names unknown columns {missing}")
            tables[tname] = TableContract(
                feed=feed,
                name=tname,
                title=traw.get("title", tname),
                columns=columns,
                key=key,
                sheet_aliases=tuple(traw.get("sheet_aliases", [])),
                optional=bool(traw.get("optional", False)),
            )
    except KeyError as exc:
        raise ContractError(f"{source}: missing field {exc}") from None
    return FeedContract(name=feed, title=raw.get("title", feed), tables=tables)


@cache
def _load_contracts(folder: Path) -> dict[str, FeedContract]:
    contracts = {}
    for path in sorted(folder.glob("*.yaml")):
        contract = parse_feed_contract(load_yaml(path), source=str(path))
        contracts[contract.name] = contract
    if not contracts:
        raise ContractError(f"no feed contracts in {folder}")
    return contracts


def load_contracts() -> dict[str, FeedContract]:
    return _load_contracts(config_dir() / "feeds")


def table_contract(qualified_name: str) -> TableContract:
    feed, table = qualified_name.split(".", 1)
    return load_contracts()[feed].tables[table]
