"""Lineage subcommands of `perfeval`: trace, sql, verify, manifest.

Exit codes: 0 all good; 1 a recomputation or row hash does not match (trace) or drift (verify);
2 nothing to trace or verify (unknown indicator or number, no manifest, refused SQL).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from perfeval_pipeline.config import settings
from perfeval_pipeline.store import Store


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_trace(args) -> int:
    from perfeval_pipeline.lineage import text
    from perfeval_pipeline.lineage.trace import Match, PartitionLineage, TraceError

    try:
        lineage = PartitionLineage(args.department, args.year)
        if not args.what:
            total = lineage.total()
            if args.format == "json":
                _print_json(total)
            else:
                print(text.total_text(total))
            return 0
        matches = lineage.resolve(args.what)
        if args.unit:
            matches = [Match(m.indicator_id, m.matched, args.unit) for m in matches if m.indicator_id]
        if not matches:
            raise TraceError(
                f"no indicator of {args.department} {args.year} is {args.what!r}, displays it or scores "
                f"it; `perfeval trace {args.department} {args.year}` lists them"
            )
        traces, total = [], None
        for m in matches:
            if m.matched == "total":
                total = lineage.total()
            else:
                traces.append(lineage.trace(m.indicator_id, m.unit_key))
    except TraceError as exc:
        print(f"perfeval trace: {exc}", file=sys.stderr)
        return 2
    ok = all(t.recomputation.matches and not t.hash_mismatches for t in traces)
    if args.format == "json":
        _print_json(
            {
                "query": args.what,
                "matches": [m.__dict__ for m in matches],
                "total": total,
                "traces": [text.trace_dict(t, args.limit, args.all) for t in traces],
                "ok": ok,
            }
        )
        return 0 if ok else 1
    if args.what not in lineage.values.index:
        found = ", ".join(
            f"{m.indicator_id or 'total score'}"
            + (f"[{m.unit_key}]" if m.unit_key else "")
            + f" ({m.matched})"
            for m in matches
        )
        print(f"{args.what} → {found}\n")
    blocks = ([text.total_text(total)] if total else []) + [
        text.trace_text(t, args.limit, args.all) for t in traces
    ]
    print("\n\n".join(blocks))
    return 0 if ok else 1


def cmd_sql(args) -> int:
    import duckdb
    import pandas as pd

    from perfeval_pipeline.lineage import sql

    store = Store(settings().store_dir)
    if args.views:
        for v in sql.views(store):
            print(f"{v.name:<44} {v.description}")
        return 0
    if not args.query:
        print("perfeval sql: give a query, or --views to list the views", file=sys.stderr)
        return 2
    try:
        frame = sql.query(store, args.query).df()
    except (sql.ReadOnlyError, duckdb.Error) as exc:
        print(f"perfeval sql: {exc}", file=sys.stderr)
        return 2
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    else:
        # East-Asian width: Chinese cells take two columns, or the table's columns drift apart.
        with pd.option_context("display.unicode.east_asian_width", True):
            print(frame.head(args.max_rows).to_string(index=False))
        more = f", first {args.max_rows} shown (--max-rows)" if len(frame) > args.max_rows else ""
        print(f"({len(frame)} row{'s' if len(frame) != 1 else ''}{more})")
    return 0


def cmd_verify(args) -> int:
    from perfeval_pipeline.lineage import text
    from perfeval_pipeline.lineage.manifest import verify

    try:
        result = verify(Path(args.report_dir))
    except FileNotFoundError as exc:
        print(f"perfeval verify: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        _print_json(text.verification_dict(result))
    else:
        print(text.verification_text(result))
    return 0 if result.clean else 1


def cmd_manifest(args) -> int:
    from perfeval_pipeline.lineage.manifest import write_manifest

    print(write_manifest(args.department, args.year))
    return 0


def register(sub) -> None:
    """Add the lineage subcommands to the `perfeval` parser."""
    p = sub.add_parser(
        "trace",
        help="from a score or printed figure back to its landing rows, recomputed",
        description="Without INDICATOR: every indicator's score. With an indicator id or a number "
        "as the form prints it (489.93%%, 3935.02, 25.85万): score, rule, value, "
        "numerator/denominator, source rows with their raw cells, the value recomputed "
        "from those rows, and each row's hash checked against the landing file.",
    )
    p.add_argument("department")
    p.add_argument("year", type=int)
    p.add_argument("what", nargs="?", metavar="INDICATOR", help="indicator id or printed number")
    p.add_argument(
        "--unit", help="trace one budget unit's figure (a key of the indicator's by-unit breakdown)"
    )
    p.add_argument(
        "--limit", type=int, default=20, help="rows listed when there are more than 50 (default 20)"
    )
    p.add_argument("--all", action="store_true", help="list every source row")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser(
        "sql",
        help="read-only SQL (DuckDB) over every stage's stored tables",
        description="One view per stage and table, e.g. clean_financial_budget_lines, "
        "evidence_indicators, indicators_values, scores_indicators; department and "
        "year columns come from the partition path. --views lists them.",
    )
    p.add_argument("query", nargs="?", help="one SELECT statement")
    p.add_argument("--views", action="store_true", help="list the views with a description")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--max-rows", type=int, default=100, help="rows printed in table format (default 100)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser(
        "verify", help="has anything drifted since the report (landing rows, config, rendered files)?"
    )
    p.add_argument("report_dir", help="e.g. reports/2023/jdz-zwsjj (holding manifest.json)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "manifest", help="(re)write reports/YEAR/DEPT/manifest.json from the files as they are now"
    )
    p.add_argument("department")
    p.add_argument("year", type=int)
    p.set_defaults(func=cmd_manifest)
