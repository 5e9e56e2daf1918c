"""perfeval — 部门整体支出绩效评价 (department-wide expenditure performance evaluation).

Turns each department's landing files into a scored 结果反馈表 (feedback form) and lets anyone trace
every printed figure back to the rows it came from.

Exit codes: 0 done; 1 a check found a difference (trace: a recomputation or row hash differs;
verify: something drifted); 2 a usage or configuration error (the message says what to fix);
3 some department-years were not evaluated (blocked by their data, or failed).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from pathlib import Path

from perfeval_pipeline import __version__
from perfeval_pipeline.config.errors import ConfigError, did_you_mean
from perfeval_pipeline.config.settings import Settings, load_settings
from perfeval_pipeline.feeds.files import safe_text

EXIT_OK, EXIT_DIFFERENT, EXIT_USAGE, EXIT_NOT_EVALUATED = 0, 1, 2, 3


class UsageError(Exception):
    """A problem with what the user asked for; printed as 'perfeval: …', exit code 2."""


def err(message: str) -> None:
    print(f"perfeval: {safe_text(message, 4000)}", file=sys.stderr, flush=True)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def select(
    settings: Settings, departments: list[str] | None, years: list[int] | None
) -> list[tuple[str, int]]:
    """The (department, year) partitions asked for; UsageError naming the valid choices otherwise."""
    for code in departments or []:
        if code not in settings.departments:
            guess = did_you_mean(code, settings.departments)
            guess = guess if guess.startswith(";") else ""  # else it lists the valid ones, as below
            raise UsageError(
                f"unknown department {code!r}{guess}; known: "
                f"{', '.join(sorted(settings.departments))} (assets_config/departments.yaml)"
            )
    for year in years or []:
        if year not in settings.years:
            raise UsageError(
                f"year {year} is not configured; years: {list(settings.years)} (assets_config/pipeline.yaml)"
            )
    chosen = [
        (d, y)
        for d, y in settings.partitions
        if (not departments or d in departments) and (not years or y in years)
    ]
    if not chosen:
        raise UsageError(
            "no department-year matches: "
            + "; ".join(
                f"{d} is evaluated for {list(settings.department_years(d))}" for d in departments or []
            )
        )
    return chosen


def cmd_demo(args, settings: Settings) -> int:
    from perfeval_pipeline.demo import generate_demo

    select(settings, args.department, args.year)  # unknown departments and years are usage errors
    started = time.perf_counter()
    written = generate_demo(
        settings, departments=args.department, years=args.year, overwrite=args.overwrite, progress=progress
    )
    progress(
        f"demo: {len(written)} files written under {settings.landing_dir} in {time.perf_counter() - started:.1f}s"
    )
    return EXIT_OK


def cmd_validate(args, settings: Settings) -> int:
    """Ingest and check landing data without Dagster and without storing anything."""
    from perfeval_pipeline.orchestration.sensors import unknown_folder
    from perfeval_pipeline.quality.stage import ingest

    chosen = select(settings, args.department, args.year)
    blocked = 0
    for year in sorted({y for _, y in chosen}):
        quality = ingest(settings, [p for p in chosen if p[1] == year])
        for (department, y), pq in quality.items():
            word = "ok" if pq.usable else "BLOCKED"
            print(f"{department} {y}: {word}")
            for feed, fq in pq.feeds.items():
                tables = fq.tables.values()
                print(
                    f"  {feed:15s} read {sum(t.rows_read for t in tables):>7} kept {sum(t.rows_kept for t in tables):>7} "
                    f"quarantined {sum(t.rows_quarantined for t in tables):>5} reported {sum(t.rows_reported for t in tables):>3}"
                )
                for t in tables:
                    for o in t.outcomes:
                        if not o.success:
                            print(
                                f"    {t.table}: {o.reason}: {o.rows_quarantined} row(s), e.g. {', '.join(o.samples[:2])}"
                            )
                    for row, why in t.reported[:3]:
                        print(f"    {t.table}: row {row} not read: {why}")
                for h in fq.hidden_sheets:
                    print(f"    hidden sheet ignored: {h}")
            for reason in pq.blocked_reasons:
                print(f"  blocked: {reason}")
            for name in pq.ignored_files:
                print(f"  not a feed file, ignored: {name}")
            blocked += not pq.usable
    if settings.landing_dir.is_dir():
        for year_dir in sorted(p for p in settings.landing_dir.iterdir() if p.is_dir()):
            for folder in sorted(p for p in year_dir.iterdir() if p.is_dir()):
                problem = unknown_folder(
                    settings, f"{year_dir.name}/{folder.name}", folder.name, year_dir.name
                )
                if problem:
                    print(problem)
    return EXIT_NOT_EVALUATED if blocked else EXIT_OK


def cmd_run(args, settings: Settings) -> int:
    from perfeval_pipeline.orchestration.definitions import build_definitions
    from perfeval_pipeline.orchestration.partitions import Partitions
    from perfeval_pipeline.orchestration.resources import perfeval_resource
    from perfeval_pipeline.orchestration.runner import dagster_log_to, init_instance, run_ranges, statuses

    chosen = select(settings, args.department, args.year)
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.paths.root / ".dagster_home")))
    ranges = Partitions(settings).ranges(chosen)
    plural = "s" if len(ranges) > 1 else ""
    progress(
        f"run: {len(chosen)} department-year(s) in {len(ranges)} Dagster run{plural}"
        + (
            " (partition keys are ordered year first; a run covers one contiguous range)"
            if len(ranges) > 1
            else ""
        )
        + ": "
        + ", ".join(a if a == b else f"{a} … {b}" for a, b in ranges)
    )
    log = (
        None
        if args.verbose
        else Path(args.log or home / "logs" / f"run-{time.strftime('%Y%m%d-%H%M%S')}.log")
    )
    if log:
        progress(f"run: Dagster's log → {log} (-v shows it here)")
    instance = init_instance(home)
    started = time.time()
    with dagster_log_to(log) as terminal:
        resource = perfeval_resource(progress_fd=terminal, workers=args.workers or 0)
        defs = build_definitions(settings, resource)
        evaluation = next(a for a in defs.assets if getattr(a, "node_def", None) is not None)
        results = run_ranges(settings, chosen, instance, resource, evaluation)
    table = statuses(settings, chosen, since=started - 1)
    progress("")
    progress(f"{'year':<5} {'department':<12} {'status':<10} {'total':>6} grade  reason")
    for s in table:
        total = f"{s.total:6.2f}" if s.total is not None else "     —"
        progress(
            f"{s.year:<5} {s.department:<12} {s.status:<10} {total} {s.grade or '—':<5}  {s.reason[:120]}"
        )
    done = sum(s.status == "evaluated" for s in table)
    progress(
        f"run: {done} of {len(table)} evaluated in {time.time() - started:.1f}s; reports under {settings.reports_dir}"
        + ("" if all(r.success for r in results) else f"; runs: {', '.join(r.run_id for r in results)}")
    )
    return EXIT_OK if done == len(table) else EXIT_NOT_EVALUATED


EXAMPLES = {
    "demo": "perfeval demo\n  perfeval demo -d jdz-zwsjj -y 2023 --overwrite",
    "validate": "perfeval validate                  # every department-year; exit code 3 if any is blocked\n"
    "  perfeval validate -d jjs-zwsjj -y 2024",
    "run": "perfeval run                       # every department-year\n  perfeval run -y 2024               # one year, one Dagster run\n  perfeval run -d jdz-zwsjj -y 2023 -v",
}


def _epilog(name: str) -> str:
    return "examples:\n  " + EXAMPLES[name]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfeval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  perfeval demo && perfeval run\n  perfeval trace jdz-zwsjj 2023 489.93%\n"
        "  perfeval trace jdz-zwsjj 2024 rectification\n  perfeval verify reports/2023/jdz-zwsjj\n\n"
        "`perfeval COMMAND --help` describes a command, with examples.",
    )
    parser.add_argument("--version", action="version", version=f"perfeval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def selection(p):
        p.add_argument(
            "--department",
            "-d",
            action="append",
            metavar="CODE",
            help="department code, e.g. jdz-zwsjj (repeatable; default: all)",
        )
        p.add_argument(
            "--year",
            "-y",
            action="append",
            type=int,
            metavar="YEAR",
            help="evaluation year, e.g. 2023 (repeatable; default: all)",
        )

    def command(name: str, help_text: str, description: str):
        return sub.add_parser(
            name,
            help=help_text,
            description=textwrap.fill(description, 100),
            epilog=_epilog(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command(
        "demo",
        "write the demo landing data",
        "Write deterministic demo landing files under data/landing/{year}/{department}/.",
    )
    selection(p)
    p.add_argument("--overwrite", action="store_true", help="rewrite department-years that already exist")
    p.set_defaults(func=cmd_demo)

    p = command(
        "validate",
        "check landing files against their contracts (nothing is stored)",
        "Read and check the landing files of department-years: rows kept, quarantined and why, structural "
        "problems that block a department-year, hidden sheets and files that are ignored, and landing folders "
        "that belong to no configured department or year. Exit code 3 when any is blocked.",
    )
    selection(p)
    p.set_defaults(func=cmd_validate)

    p = command(
        "run",
        "evaluate department-years (Dagster runs)",
        "Evaluate the selected department-years: one line per department-year as it finishes, a closing "
        "table, and exit code 3 when any is blocked or failed (its result.json says why).",
    )
    selection(p)
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (default: pipeline.yaml workers, 0 = one per CPU)",
    )
    p.add_argument(
        "--verbose", "-v", action="store_true", help="show Dagster's log here instead of writing it to a file"
    )
    p.add_argument(
        "--log", metavar="FILE", help="file for Dagster's log (default: $DAGSTER_HOME/logs/run-<time>.log)"
    )
    p.set_defaults(func=cmd_run)

    from perfeval_pipeline.lineage.cli import register as register_lineage

    register_lineage(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, load_settings())
    except (UsageError, KeyError) as exc:
        err(str(exc.args[0]) if exc.args else str(exc))
        return EXIT_USAGE
    except ConfigError as exc:
        err(f"configuration error:\n{exc}")
        return EXIT_USAGE
    except BrokenPipeError:  # `perfeval sql … | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
