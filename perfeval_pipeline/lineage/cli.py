"""Lineage subcommands of `perfeval`: trace, sql, verify, manifest. Exit codes as in cli.py."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.feeds.files import safe_text
from perfeval_pipeline.store import Store

EXIT_OK, EXIT_DIFFERENT, EXIT_USAGE = 0, 1, 2


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _fail(command: str, message: str) -> int:
    print(f"perfeval: {command}: {safe_text(message, 4000)}", file=sys.stderr)
    return EXIT_USAGE


def cmd_follow_up(args, settings: Settings) -> int:
    """`perfeval trace D Y rectification` (every finding of the follow-up) or `… <finding id>`."""
    from perfeval_pipeline.lineage import text
    from perfeval_pipeline.lineage.trace import FOLLOW_UP, TraceError, follow_up_traces

    try:
        follow, traces = follow_up_traces(settings, args.department, args.year, args.what)
    except TraceError as exc:
        return _fail("trace", str(exc))
    ok = all(t.ok for t in traces)
    if args.format == "json":
        _print_json(
            {
                "query": args.what,
                "previous_year": follow["previous_year"],
                "section": follow.get("section"),
                "findings": [text.follow_up_dict(t, args.limit, args.all) for t in traces],
                "ok": ok,
            }
        )
        return EXIT_OK if ok else EXIT_DIFFERENT
    full = args.what != FOLLOW_UP
    out = [text.follow_up_summary(follow, args.department, args.year)]
    out += [text.follow_up_text(t, args.limit, args.all, full) for t in traces]
    if not full:
        out.append(
            f"one finding with both years' whole traces: perfeval trace {args.department} {args.year} <finding id>"
            f" (an indicator's own id: rectification:<id>)"
        )
    print("\n\n".join(out))
    return EXIT_OK if ok else EXIT_DIFFERENT


def cmd_trace(args, settings: Settings) -> int:
    from perfeval_pipeline.lineage import text
    from perfeval_pipeline.lineage.trace import Match, PartitionLineage, TraceError, is_follow_up_query

    if is_follow_up_query(args.what):
        return cmd_follow_up(args, settings)
    try:
        lineage = PartitionLineage(settings, args.department, args.year)
        if not args.what:
            total = lineage.total()
            _print_json(total) if args.format == "json" else print(text.total_text(total))
            return EXIT_OK if total["sum_matches"] else EXIT_DIFFERENT
        matches = lineage.resolve(args.what)
        if args.unit:
            matches = [Match("unit figure", m.indicator_id, args.unit) for m in matches if m.indicator_id]
        if not matches:
            raise TraceError(
                f"nothing of {args.department} {args.year} is printed as {args.what!r}: give a number as the form prints it "
                f"(489.93%, 3935.02, 3708.51万, 25.85万) or an indicator id; `perfeval trace {args.department} {args.year}` lists them"
            )
        traces, blocks, total = [], [], None
        for m in matches:
            if m.kind in ("total", "level"):
                total = lineage.total()
            elif m.kind == "quota":
                blocks.append(
                    f"{m.label}: from assets_config/departments.yaml, departments.{args.department}"
                )
            elif m.kind in ("target row", "target actual"):
                what = "目标值" if m.kind == "target row" else "实际完成值"
                blocks.append(
                    f"绩效目标表 “{m.label}”: {args.what} is its {what} (stored row {m.unit_key} of evaluation.targets)"
                )
            elif m.kind == "standard":
                t = lineage.trace(m.indicator_id)
                rule = t.score["rule"] if t.score else "—"
                blocks.append(
                    f"{m.label}: {args.what} is a parameter of the scoring rule of {m.indicator_id} "
                    f"({rule}), from assets_config/frameworks ({lineage.framework.origins.get(m.indicator_id, lineage.framework.name)}.yaml)"
                )
                traces.append(t)
            elif m.kind == "item figure":
                blocks.append(f"{m.label}: {args.what} is a listed item of {m.indicator_id}")
                traces.append(lineage.trace(m.indicator_id))
            elif m.kind in ("target", "peer mean"):
                t = lineage.trace(m.indicator_id)
                blocks.append(
                    f"{m.label}: {t.score['target'] if t.score else '—'} from {t.score['target_source'] if t.score else '—'}"
                )
                traces.append(t)
            else:
                traces.append(lineage.trace(m.indicator_id, m.unit_key))
    except TraceError as exc:
        return _fail("trace", str(exc))
    ok = all(t.recomputation.matches and not t.hash_mismatches for t in traces) and (
        total is None or total["sum_matches"]
    )
    if args.format == "json":
        _print_json(
            {
                "query": args.what,
                "matches": [m.__dict__ for m in matches],
                "total": total,
                "notes": blocks,
                "traces": [text.trace_dict(t, args.limit, args.all) for t in traces],
                "ok": ok,
            }
        )
        return EXIT_OK if ok else EXIT_DIFFERENT
    found = ", ".join(
        f"{m.kind}: {m.indicator_id or m.label}"
        + (f"[{m.unit_key}]" if m.unit_key and m.kind == "unit figure" else "")
        for m in matches
    )
    print(f"{args.what} → {found}\n")
    out = (
        ([text.total_text(total)] if total else [])
        + blocks
        + [text.trace_text(t, args.limit, args.all) for t in traces]
    )
    print("\n\n".join(out))
    return EXIT_OK if ok else EXIT_DIFFERENT


def cmd_sql(args, settings: Settings) -> int:
    import duckdb
    import pandas as pd

    from perfeval_pipeline.lineage import sql

    store = Store(settings.store_dir)
    if args.views or args.schema:
        if args.views:
            for v in sql.views(settings, store):
                print(f"{v.name:<44} {v.title}：{v.description}")
            return EXIT_OK
        for v, columns in sql.schema(settings, store):
            print(f"{v.name}  {v.title}")
            for name, kind, title in columns:
                print(f"    {name:<32} {kind:<12} {title}")
        return EXIT_OK
    if not args.query:
        return _fail("sql", "give a query, or --views / --schema to list what there is")
    try:
        frame = sql.query(settings, store, args.query).df()
    except (sql.ReadOnlyError, duckdb.Error) as exc:
        return _fail("sql", str(exc))
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    else:
        with pd.option_context(
            "display.unicode.east_asian_width", True, "display.float_format", "{:.2f}".format
        ):
            print(frame.head(args.max_rows).to_string(index=False))
        more = f", first {args.max_rows} shown (--max-rows)" if len(frame) > args.max_rows else ""
        print(f"({len(frame)} row{'s' if len(frame) != 1 else ''}{more})")
    return EXIT_OK


def cmd_verify(args, settings: Settings) -> int:
    from perfeval_pipeline.lineage import text
    from perfeval_pipeline.lineage.manifest import NoManifest, verify

    try:
        result = verify(settings, Path(args.report_dir))
    except NoManifest as exc:
        return _fail("verify", str(exc))
    _print_json(text.verification_dict(result)) if args.format == "json" else print(
        text.verification_text(result)
    )
    return EXIT_OK if result.clean else EXIT_DIFFERENT


def cmd_manifest(args, settings: Settings) -> int:
    from perfeval_pipeline.lineage.manifest import write_manifest

    settings.check_partition(args.department, args.year)
    print(write_manifest(settings, Store(settings.store_dir), args.department, args.year))
    return EXIT_OK


def register(sub) -> None:
    """Add the lineage subcommands to the `perfeval` parser."""
    import argparse

    def partition(p):
        p.add_argument("department", metavar="DEPARTMENT", help="department code, e.g. jdz-zwsjj")
        p.add_argument("year", type=int, metavar="YEAR", help="evaluation year, e.g. 2023")

    def command(name: str, help_text: str, description: str, epilog: str):
        return sub.add_parser(
            name,
            help=help_text,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=epilog,
        )

    def output_format(p, *choices: str) -> None:
        """--format, the first choice the default."""
        p.add_argument(
            "--format",
            choices=list(choices),
            default=choices[0],
            help=f"output format (default {choices[0]})",
        )

    p = command(
        "trace",
        "from a printed figure or a score back to its landing rows, recomputed",
        textwrap.fill(
            "Without WHAT: the total, every indicator's score, and the sum checked. With an indicator id or a "
            "number as the form prints it (489.93% or 489.93, 100%, 3708.51万, 3935.02万元, 25.85万, 65, 80%): score, "
            "rule, value, numerator/denominator (元 and 万元), the source rows with their raw cells, the value "
            "recomputed from those rows, and each row's hash checked against the landing file now.",
            100,
        )
        + "\n\n"
        + textwrap.fill(
            "With `rectification`: the 整改 follow-up of last year's problems, each finding's status and why, "
            "both years' figures and deductions (checked against each year's stored indicators) and their rows. "
            "With a finding id (asset_safety:no_label, procurement_overrun_rate@JDZ002, wp:illegal_expense; an "
            "indicator's own id as rectification:<id>): that finding with both years' whole traces.",
            100,
        ),
        "examples:\n  perfeval trace jdz-zwsjj 2023\n  perfeval trace jdz-zwsjj 2023 489.93%\n  "
        "perfeval trace jdz-zwsjj 2023 3708.51万\n  perfeval trace jdz-zwsjj 2023 asset_utilization_rate --unit JDZ002\n  "
        "perfeval trace jdz-zwsjj 2024 rectification\n  perfeval trace jdz-zwsjj 2024 asset_utilization_rate@JDZ002\n  "
        "perfeval trace jdz-zwsjj 2024 rectification:hq_budget_variance_rate",
    )
    partition(p)
    p.add_argument(
        "what",
        nargs="?",
        metavar="WHAT",
        help="indicator id, a number as printed in the form, `rectification` or a finding id",
    )
    p.add_argument("--unit", metavar="CODE", help="one budget unit's figure of the indicator (a unit code)")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="list the first N source rows (default: all up to 50, else the first 20)",
    )
    p.add_argument("--all", action="store_true", help="list every source row")
    output_format(p, "text", "json")
    p.set_defaults(func=cmd_trace)

    p = command(
        "sql",
        "read-only SQL (DuckDB) over every stored dataset",
        "One view per dataset (rows_/clean_/quarantine_ per feed table, indicator_values, evidence, scores, "
        "score_levels, peer_benchmarks, findings, rectification, quality_tables); department and year come from the "
        "partition path. --views lists them, --schema their columns with Chinese titles.",
        'examples:\n  perfeval sql --schema\n  perfeval sql "SELECT indicator_id, indicator_name, score FROM scores '
        "WHERE department = 'jdz-zwsjj' AND year = 2023\"",
    )
    p.add_argument("query", nargs="?", metavar="QUERY", help="one SELECT statement")
    p.add_argument("--views", action="store_true", help="list the views with a description")
    p.add_argument(
        "--schema", action="store_true", help="list every view's columns with their Chinese titles"
    )
    output_format(p, "table", "csv", "json")
    p.add_argument("--max-rows", type=int, default=100, help="rows printed in table format (default 100)")
    p.set_defaults(func=cmd_sql)

    p = command(
        "verify",
        "has anything changed since the report (landing rows, config, rendered files)?",
        "Compare a report folder with its manifest.json: landing files (rows aligned by content; inserted "
        "and removed rows named; the indicators and printed figures each change affects), config files, rendered "
        "files. Exit code 1 when something drifted.",
        "examples:\n  perfeval verify reports/2023/jdz-zwsjj",
    )
    p.add_argument("report_dir", metavar="REPORT_DIR", help="a report folder, e.g. reports/2023/jdz-zwsjj")
    output_format(p, "text", "json")
    p.set_defaults(func=cmd_verify)

    p = command(
        "manifest",
        "rewrite a report's manifest.json from the files as they are now",
        "Rewrite reports/YEAR/DEPARTMENT/manifest.json after an accepted correction.",
        "examples:\n  perfeval manifest jdz-zwsjj 2023",
    )
    partition(p)
    p.set_defaults(func=cmd_manifest)
