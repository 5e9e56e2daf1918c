"""The hostile corpus end to end: every defective landing folder through `perfeval run` (Dagster,
worker processes) in one command. For each: no stack trace, the expected status, a message naming
the file (sheet, row, column where it applies), strict JSON, rows in the file = kept + quarantined +
reported, nothing an unreadable file holds quoted anywhere, and the memory of every process bounded."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_settings

from hostile.corpus import YEAR, build

# Runs a command and records the peak RSS (KB) of its process tree: this process's own children
# only, not those of earlier tests in the same pytest process.
MEASURED = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(code)"
)

pytestmark = [pytest.mark.slow, pytest.mark.gx]
MEMORY_LIMIT_MB = 1024


def strict_json(path: Path) -> dict:
    def refuse(token):
        raise ValueError(f"{path}: non-standard JSON token {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    settings, cases = build(root, lambda departments: make_settings(root, departments))
    env = {
        **os.environ,
        "PERFEVAL_CONFIG": str(settings.config_dir),
        "PERFEVAL_LANDING": str(settings.landing_dir),
        "PERFEVAL_STORE": str(settings.store_dir),
        "PERFEVAL_REPORTS": str(settings.reports_dir),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    peak_file = root / "peak_rss_kb"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURED,
            str(peak_file),
            str(Path(sys.executable).parent / "perfeval"),
            "run",
            "-y",
            str(YEAR),
            "--workers",
            "2",
            *[a for c in cases for a in ("-d", c.code)],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    peak_mb = int(peak_file.read_text()) / 1024
    return settings, cases, done, peak_mb


def test_the_run_names_every_partition_exits_3_and_shows_no_stack_trace(corpus):
    settings, cases, done, _ = corpus
    terminal = done.stdout + done.stderr
    assert done.returncode == 3, terminal[-3000:]
    assert "Traceback" not in terminal and "\x1b" not in terminal
    for case in cases:
        assert f"{YEAR} {case.code} " in terminal, case.code
    assert f"of {len(cases)} evaluated" in terminal


def test_memory_stays_bounded(corpus):
    *_, peak_mb = corpus
    assert peak_mb < MEMORY_LIMIT_MB, f"a process of the run peaked at {peak_mb:.0f} MB"


def strings_of(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *strings_of(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    return [str(value)]


def form_text(folder: Path) -> str:
    """Every text a person sees in the partition's forms, plus the province summary."""
    from docx import Document
    from openpyxl import load_workbook

    parts = []
    if (folder / "feedback_form.docx").exists():
        doc = Document(folder / "feedback_form.docx")
        parts += [p.text for p in doc.paragraphs]
        parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    for book in (folder / "feedback_form.xlsx", folder.parent / "summary.xlsx"):
        if book.exists():
            wb = load_workbook(book, read_only=True)
            parts += [
                str(v)
                for ws in wb.worksheets
                for row in ws.iter_rows(values_only=True)
                for v in row
                if v is not None
            ]
    return "\n".join(parts)


def csv_data_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().decode("utf-8", "replace").split("\n") if line.strip()) - 1


@pytest.mark.parametrize("index", range(46))
def test_case(corpus, index):
    settings, cases, _, _ = corpus
    if index >= len(cases):
        pytest.skip("fewer cases")
    case = cases[index]
    folder = settings.report_folder(case.code, YEAR)
    result = strict_json(folder / "result.json")
    assert result["status"] == case.status, (
        case.what,
        result.get("blocked_reasons") or result.get("failure"),
    )
    text = "\n".join(strings_of(result))
    for expected in case.expect:
        assert expected in text, (case.what, expected)
    seen = text + form_text(folder)
    for secret in case.never:
        assert secret not in seen, (case.what, secret[:40])
    if result["status"] == "blocked":
        assert any(f"{YEAR}/{case.code}" in r for r in result["blocked_reasons"]), result["blocked_reasons"]
        assert not (folder / "feedback_form.docx").exists()
    for feed in (result.get("quality") or {}).get("feeds", {}).values():
        for table in feed["tables"].values():
            assert (
                table["rows_read"] == table["rows_kept"] + table["rows_quarantined"] + table["rows_reported"]
            ), (case.what, table["table"])
        # A feed read from one CSV holding one table: every non-blank data line is accounted for.
        csvs = [settings.landing_dir / f["path"] for f in feed["files"] if f["path"].endswith(".csv")]
        present = [t for t in feed["tables"].values() if t["present"]]
        if len(feed["files"]) == 1 and len(csvs) == 1 and len(present) == 1 and not csvs[0].is_symlink():
            if not present[0]["structural_issues"] and present[0]["rows_reported"] == 0:
                assert present[0]["rows_read"] == csv_data_lines(csvs[0]), (case.what, present[0]["table"])
