"""Landing files (xlsx or csv; UTF-8, UTF-8 with BOM or GBK) → one raw text table per contract table.

Headers are found, not assumed: title rows above the header are skipped, a two-row header (a merged
group label over specific names) is read, and headers map to canonical columns through the
contract's Chinese aliases and unit markers (决算数（万元）). A header row that names the same column
twice is refused, naming the sheet, the row and both columns; unlabeled columns are ignored and
listed. Every data row keeps its source (file, sheet, the row number a spreadsheet shows) and a
content hash of its cells, so later stages cite rows and never re-derive them.

Rows a reader cannot take (a CSV line with the wrong number of fields) are *reported*: they are
counted and located, so rows in the file = kept + quarantined + reported.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import python_calamine

from perfeval_pipeline.config.models import LimitsConfig
from perfeval_pipeline.feeds.contracts import FeedContract, TableContract
from perfeval_pipeline.feeds.files import LandingFile, StructuralIssue, safe_text

SOURCE_COLUMNS = ["_source_file", "_source_sheet", "_source_row", "_row_hash"]
_UNIT_SUFFIX = re.compile(r"\((万元|元|%|％)\)$")


def column_letter(index: int) -> str:
    """0 → 'A', 27 → 'AB'."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def normalize_header(header: object) -> tuple[str, str | None]:
    """'决算数（万元）' → ('决算数', '万元'); strips BOM, spaces, line breaks, full-width brackets."""
    text = re.sub(r"[\s\u3000\ufeff]+", "", str(header))
    text = text.replace("（", "(").replace("）", ")")
    match = _UNIT_SUFFIX.search(text)
    if match:
        return text[: match.start()], match.group(1).replace("％", "%")
    return text, None


def alias_lookup(contract: TableContract) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for col in contract.columns.values():
        for alias in (col.name, *col.aliases):
            lookup[normalize_header(alias)[0].lower()] = col.name
    return lookup


def header_name(cell: str, lookup: dict[str, str]) -> tuple[str | None, str | None]:
    name, unit = normalize_header(cell)
    return lookup.get(name.lower()), unit


@dataclass
class SheetRows:
    """A sheet (or a CSV) as text columns (header rows included); `numbers[i]` is the spreadsheet
    row of row i. Blank rows are already gone."""

    file: LandingFile
    sheet: str  # '' for a CSV
    columns: list[pa.Array]
    numbers: np.ndarray
    reported: list[tuple[int, str]] = field(default_factory=list)  # (row, why) rows not taken

    @classmethod
    def from_rows(
        cls, file: LandingFile, sheet: str, rows: list[list[str]], numbers: list[int], reported=None
    ) -> SheetRows:
        width = max((len(r) for r in rows), default=0)
        columns = [
            pa.array([r[i] if i < len(r) else "" for r in rows], type=pa.string()) for i in range(width)
        ]
        return cls(file, sheet, columns, np.asarray(numbers, dtype="int64"), reported or [])

    def __len__(self) -> int:
        return len(self.numbers)

    def head(self, n: int) -> list[list[str]]:
        """The first n rows as lists of text (header detection reads only these)."""
        cols = [c.slice(0, n).to_pylist() for c in self.columns]
        return [list(r) for r in zip(*cols, strict=True)] if cols else []


@dataclass
class Header:
    row: int  # spreadsheet row of the (last) header row
    first_index: int  # index in SheetRows.rows of the first data row
    mapping: dict[int, str]  # column index → canonical name
    units: dict[str, str]
    headers: dict[str, str]  # canonical → the header text as the file shows it
    unmapped: list[str]


@dataclass
class RawTable:
    """One contract table as read: canonical column names, text cells, source columns."""

    contract: TableContract
    frame: pd.DataFrame
    file: LandingFile | None
    sheet: str
    header: Header | None = None
    reported: list[tuple[int, str]] = field(default_factory=list)
    blank_rows: int = 0

    @property
    def source_file(self) -> str:
        return self.file.rel if self.file else ""

    @property
    def header_units(self) -> dict[str, str]:
        return self.header.units if self.header else {}

    @property
    def unmapped_headers(self) -> list[str]:
        return self.header.unmapped if self.header else []


@dataclass
class FeedRead:
    feed: str
    tables: dict[str, RawTable]
    issues: list[StructuralIssue]
    files: list[LandingFile]
    hidden_sheets: list[str] = field(default_factory=list)
    ignored_sheets: list[str] = field(default_factory=list)


# --- cells ---------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """An xlsx cell as the text a CSV export would hold: 2023.0 → '2023', dates ISO."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def row_hashes(columns: list[pa.Array] | list[list[str]]) -> pa.Array:
    """Stable content hash of each row: its cells in file column order joined by U+001F, sha256,
    16 hex digits. Vectorised: the join in Arrow, the hash in DuckDB (a per-row Python loop costs
    half a second per 25万 rows)."""
    arrays = [c if isinstance(c, pa.Array) else pa.array(c, type=pa.string()) for c in columns]
    if not arrays or len(arrays[0]) == 0:
        return pa.array([], type=pa.string())
    joined = pc.binary_join_element_wise(*arrays, "\x1f") if len(arrays) > 1 else arrays[0]
    con = _hasher()
    con.register("cells", pa.table({"s": joined}))
    try:
        out = con.sql("SELECT substr(sha256(s), 1, 16) AS h FROM cells").to_arrow_table()
    finally:
        con.unregister("cells")
    return out.column(0).combine_chunks()


@cache
def _hasher() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection per process for row hashes (a connection costs tens of ms)."""
    return duckdb.connect(":memory:", config={"threads": 1})


# --- parsing files into rows ---------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 or GBK text") from None


def csv_rows(file: LandingFile, limits: LimitsConfig) -> SheetRows:
    """Every physical line of a CSV as text cells. Lines whose field count differs from the header's
    are reported (located, not quoted); blank lines are dropped like blank spreadsheet rows."""
    import csv

    csv.field_size_limit(2**31 - 1)  # a giant cell is flagged by typing, not a reason to refuse the file
    text = _decode(file.data)
    head = list(
        csv.reader(
            io.StringIO(
                "\n".join(text.split("\n", limits.header_search_rows + 2)[: limits.header_search_rows + 2])
            )
        )
    )
    widths = [len(r) for r in head if any(c.strip() for c in r)]
    if not widths:
        return SheetRows(file, "", [], np.zeros(0, dtype="int64"))
    # The header's width is the usual width of the first lines: title lines are narrower and a
    # malformed line is the odd one out.
    counts = Counter(w for w in widths if w > 1) or Counter(widths)
    width = max(counts, key=lambda w: (counts[w], w))
    newlines = np.flatnonzero(np.frombuffer(file.data, np.uint8) == 10)
    longest = int(np.diff(newlines, prepend=-1).max(initial=0))
    reported: list[tuple[int, str]] = []
    unknown_line = False

    def invalid(row) -> str:
        nonlocal unknown_line
        if row.number is None:
            unknown_line = True
        else:
            reported.append(
                (row.number, f"has {row.actual_columns} fields, the header has {row.expected_columns}")
            )
        return "skip"

    first_width = len(next(csv.reader(io.StringIO(text.split("\n", 1)[0]))))
    if first_width == width:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            # One thread: pyarrow numbers the lines it skips only when it reads them in order.
            read_options=pacsv.ReadOptions(
                autogenerate_column_names=True,
                block_size=max(MB_BLOCK, 2 * longest + 1024),
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                ignore_empty_lines=False, invalid_row_handler=invalid, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if not unknown_line:
            skipped = {n for n, _ in reported}
            total = table.num_rows + len(skipped)
            numbers = np.asarray([n for n in range(1, total + 1) if n not in skipped], dtype="int64")
            columns = [c.combine_chunks() for c in table.columns]
            # Blank lines come back as rows of empty cells: dropped, like blank spreadsheet rows.
            empty = np.ones(table.num_rows, dtype=bool)
            for c in columns:
                empty &= pc.equal(pc.utf8_trim_whitespace(c), "").to_numpy(zero_copy_only=False)
            keep = np.flatnonzero(~empty)
            if len(keep) < len(numbers):
                columns = [c.take(pa.array(keep)) for c in columns]
                numbers = numbers[keep]
            return SheetRows(file, "", columns, numbers, sorted(reported))
    # Title lines narrower than the header (or line numbers unknown): the csv module reads every line.
    rows = list(csv.reader(io.StringIO(text)))
    keep = [i for i, r in enumerate(rows) if any(c.strip() for c in r)]
    short = [
        (i + 1, f"has {len(rows[i])} fields, the header has {width}") for i in keep if len(rows[i]) != width
    ]
    return SheetRows.from_rows(file, "", [rows[i] for i in keep], [i + 1 for i in keep], short)


MB_BLOCK = 1 << 20


def xlsx_sheets(file: LandingFile) -> tuple[list[SheetRows], list[str]]:
    """Visible sheets as text rows, and the names of hidden sheets (ignored, listed)."""
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(file.data))
    out, hidden = [], []
    for meta in wb.sheets_metadata:
        if meta.visible != python_calamine.SheetVisibleEnum.Visible:
            hidden.append(meta.name)
            continue
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            continue
        sheet = wb.get_sheet_by_name(meta.name)
        values = sheet.to_python(skip_empty_area=False)
        start_row = 0
        rows, numbers = [], []
        for i, row in enumerate(values):
            cells = [cell_text(v) for v in row]
            if any(c.strip() for c in cells):
                rows.append(cells)
                numbers.append(start_row + i + 1)
        out.append(SheetRows.from_rows(file, meta.name, rows, numbers))
    return out, hidden


# --- header detection ----------------------------------------------------------------------------


def _score(cells: list[str], lookup: dict[str, str]) -> int:
    return len({header_name(c, lookup)[0] for c in cells if c.strip()} - {None})


def find_header(sheet: SheetRows, contract: TableContract, limits: LimitsConfig) -> Header | StructuralIssue:
    """The header row (or two rows) that names the most contract columns within the first
    `limits.header_search_rows` rows."""
    lookup = alias_lookup(contract)
    where = dict(file=sheet.file.rel, sheet=sheet.sheet or None)
    best: tuple[int, int, list[str]] | None = None  # (score, index, header cells)
    head = sheet.head(limits.header_search_rows + 1)
    top = min(len(head), limits.header_search_rows)
    for i in range(top):
        single = head[i]
        candidates = [(single, i)]
        if i + 1 < len(head):
            upper, lower = head[i], head[i + 1]
            width = max(len(upper), len(lower))
            upper = upper + [""] * (width - len(upper))
            lower = lower + [""] * (width - len(lower))
            # A two-row header: a group label above (merged across its columns) and the names
            # below; where the lower cell is blank the upper one names the column.
            combined = [lo if lo.strip() else up for up, lo in zip(upper, lower, strict=True)]
            candidates.append((combined, i + 1))
        for cells, index in candidates:
            score = _score(cells, lookup)
            if best is None or score > best[0]:
                best = (score, index, cells)
    if best is None or best[0] == 0:
        expected = ", ".join(c.header for c in list(contract.columns.values())[:6])
        return StructuralIssue(
            message=f"no header row found in the first {limits.header_search_rows} rows "
            f"(expected headers such as {expected}; limits.header_search_rows)",
            code="no_header",
            **where,
        )
    _, index, cells = best
    mapping, units, headers, unmapped = {}, {}, {}, []
    seen: dict[str, int] = {}
    data_width = len(sheet.columns)
    for col, cell in enumerate(cells + [""] * max(0, data_width - len(cells))):
        if not cell.strip():
            sample = (
                sheet.columns[col].slice(index + 1, 200) if col < data_width else pa.array([], pa.string())
            )
            has_data = bool(pc.any(pc.not_equal(pc.utf8_trim_whitespace(sample), "")).as_py() or False)
            if has_data:
                unmapped.append(f"column {column_letter(col)} (no header)")
            continue
        canonical, unit = header_name(cell, lookup)
        if canonical is None:
            unmapped.append(safe_text(cell, 40))
            continue
        if canonical in seen:
            first = seen[canonical]
            return StructuralIssue(
                message=f"the header names {contract.columns[canonical].header} twice (columns "
                f"{column_letter(first)} and {column_letter(col)}): keep one",
                row=sheet.numbers[index],
                column=f"{column_letter(first)}, {column_letter(col)}",
                code="duplicate_header",
                **where,
            )
        seen[canonical] = col
        mapping[col] = canonical
        headers[canonical] = cell
        if unit:
            units[canonical] = unit
    return Header(sheet.numbers[index], index + 1, mapping, units, headers, unmapped)


def text_series(column: pa.Array) -> pd.Series:
    """An Arrow text column as a pandas string column without a copy through Python objects."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([column.cast(pa.large_string())])))


def to_raw_table(
    sheet: SheetRows, contract: TableContract, limits: LimitsConfig
) -> tuple[RawTable | None, list[StructuralIssue]]:
    found = find_header(sheet, contract, limits)
    if isinstance(found, StructuralIssue):
        return None, [found]
    header = found
    issues = [
        StructuralIssue(
            sheet.file.rel,
            f"required column {contract.columns[c].header} missing (expected a header "
            f"{' or '.join([contract.columns[c].header, *contract.columns[c].aliases[1:3]])})",
            sheet=sheet.sheet or None,
            row=header.row,
            column=c,
            code="missing_column",
        )
        for c in contract.required_columns
        if c not in header.mapping.values()
    ]
    first = header.first_index
    numbers = sheet.numbers[first:]
    columns = [c.slice(first) for c in sheet.columns]
    frame = pd.DataFrame(
        {name: text_series(columns[i]) for i, name in header.mapping.items() if i < len(columns)},
        index=pd.RangeIndex(len(numbers)),
    )
    for name in header.mapping.values():
        if name not in frame:
            frame[name] = pd.Series([""] * len(numbers), dtype="string")
    frame["_source_file"] = sheet.file.rel
    frame["_source_sheet"] = sheet.sheet
    frame["_source_row"] = numbers
    frame["_row_hash"] = text_series(row_hashes(columns))
    # Lines above the header (titles) are not data: only rows below it count as reported.
    reported = [(n, why) for n, why in sheet.reported if n > header.row]
    if reported and len(sheet.reported) != len(reported):
        drop = {n for n, _ in reported}
        keep = ~frame["_source_row"].isin(drop)
        frame = frame.loc[keep].reset_index(drop=True)
    return RawTable(contract, frame, sheet.file, sheet.sheet, header, reported), issues


def _match_sheet(names: list[str], contract: TableContract) -> list[str]:
    wanted = {normalize_header(a)[0].lower() for a in contract.names}
    return [s for s in names if normalize_header(s)[0].lower() in wanted]


def read_feed(
    files: list[LandingFile], contract: FeedContract, limits: LimitsConfig, folder_rel: str
) -> FeedRead:
    """Read one feed of one department-year from its landing files. Never raises for bad data:
    problems are returned as structural issues naming file, sheet, row and column."""
    read = FeedRead(contract.feed, {}, [], list(files))
    if not files:
        read.issues.append(
            StructuralIssue(
                f"{folder_rel}/{contract.feed}.xlsx",
                f"feed {contract.title} ({contract.feed}) not found: expected {contract.feed}.xlsx or {contract.feed}.csv",
                code="feed_missing",
            )
        )
        return read
    sources: dict[str, list[tuple[LandingFile, str]]] = {t: [] for t in contract.tables}
    parsed: dict[tuple[str, str], SheetRows] = {}
    unreadable = False
    for file in files:
        try:
            if file.suffix == ".xlsx":
                sheets, hidden = xlsx_sheets(file)
                read.hidden_sheets += [f"{file.rel} sheet {safe_text(h)}" for h in hidden]
                names = [s.sheet for s in sheets]
                claimed: set[str] = set()
                for tname, table in contract.tables.items():
                    if file.table not in (None, tname):
                        continue
                    matches = _match_sheet(names, table) if file.table is None else names[:1]
                    for name in matches:
                        sources[tname].append((file, name))
                        claimed.add(name)
                for s in sheets:
                    parsed[(file.rel, s.sheet)] = s
                read.ignored_sheets += [f"{file.rel} sheet {safe_text(n)}" for n in names if n not in claimed]
            else:
                tname = file.table or contract.main_table.name
                if tname not in contract.tables:
                    read.issues.append(
                        StructuralIssue(
                            file.rel,
                            f"names table {safe_text(tname)!r}, which feed {contract.feed} does not have "
                            f"(tables: {', '.join(contract.tables)})",
                            code="unknown_table",
                        )
                    )
                    continue
                parsed[(file.rel, "")] = csv_rows(file, limits)
                sources[tname].append((file, ""))
        except Exception as exc:  # an unreadable file is a structural failure, reported, not raised
            unreadable = True
            read.issues.append(StructuralIssue(file.rel, _unreadable(exc), code="unreadable"))
    for tname, table in contract.tables.items():
        found = sources[tname]
        if len(found) > 1:
            names = "; ".join(f"{f.rel}" + (f" sheet {safe_text(s)}" if s else "") for f, s in found)
            read.issues.append(
                StructuralIssue(
                    found[0][0].rel,
                    f"table {table.title} ({table.qualified_name}) comes from {len(found)} places: {names}. "
                    "Keep one (merge the rows into it) so that no row is counted twice or dropped",
                    code="duplicate_source",
                )
            )
            continue
        if found:
            file, sheet = found[0]
            raw, issues = to_raw_table(parsed[(file.rel, sheet)], table, limits)
            read.issues += issues
            if raw is not None:
                read.tables[tname] = raw
        elif not table.optional and not unreadable:
            hidden = [h for h in read.hidden_sheets if any(normalize_header(n)[0] in h for n in table.names)]
            why = f"; hidden sheets are ignored: {', '.join(hidden)}" if hidden else ""
            read.issues.append(
                StructuralIssue(
                    files[0].rel,
                    f"table {table.title} ({table.qualified_name}) not found: expected a sheet named one of "
                    f"{list(dict.fromkeys(table.names[1:] or table.names))} or a file {contract.feed}.{tname}.csv{why}",
                    code="table_missing",
                )
            )
    return read


def _unreadable(exc: Exception) -> str:
    """Why a file could not be read, without quoting its content (parsers echo lines back)."""
    kind = type(exc).__name__
    text = str(exc)
    if isinstance(exc, ValueError) and "not UTF-8 or GBK" in text:
        return "unreadable: not UTF-8 or GBK text"
    if isinstance(exc, python_calamine.CalamineError | python_calamine.ZipError | python_calamine.XmlError):
        return f"unreadable: not a valid xlsx workbook ({kind})"
    if isinstance(exc, pa.ArrowInvalid):
        numbers = re.findall(r"row (\d+)|line (\d+)", text)
        where = f" near line {next(n for n in numbers[0] if n)}" if numbers else ""
        return f"unreadable: the CSV cannot be parsed{where} ({kind})"
    return f"unreadable ({kind})"
