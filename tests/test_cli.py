"""The `perfeval` command line, in-process (perfeval_pipeline.cli.main) over temporary folders:
every subcommand's help carries an example that names real departments and years; usage errors
start with "perfeval:" and exit 2 with the valid choices; `validate` names landing folders that
belong to nothing, with the fix; a run with a blocked department-year exits 3 and names it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_settings, use_folders
from hostile.corpus import YEAR, department, write_base

from perfeval_pipeline import __version__, cli

GOOD, BLOCKED = "cli-a-good", "cli-b-blocked"
SUBCOMMANDS = ("demo", "validate", "run", "trace", "sql", "verify", "manifest")


def perfeval(capfd, *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `perfeval argv` run in this process (argparse's exits too)."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out = capfd.readouterr()
    return code, out.out, out.err


def as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two hand-built departments of the hostile corpus for YEAR; the second lacks a required feed."""
    root = tmp_path_factory.mktemp("cli")
    settings = make_settings(root, {code: department(code) for code in (GOOD, BLOCKED)})
    for code in (GOOD, BLOCKED):
        write_base(settings.landing_folder(code, YEAR), settings, code)
    for f in settings.landing_folder(BLOCKED, YEAR).glob("transactions*"):
        f.unlink()
    return settings


@pytest.fixture
def project(corpus, monkeypatch):
    use_folders(monkeypatch, corpus)
    return corpus


# --------------------------------------------------------------------------------------------- help
def test_the_parser_has_the_subcommands_this_file_tests():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(SUBCOMMANDS)


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help_exits_0_and_shows_runnable_examples(command, capfd, project):
    code, out, err = perfeval(capfd, *([command] if command else []), "--help")
    assert code == 0 and not err
    assert "%%" not in out, "an escaped percent sign shows as '%%'"
    examples = out.split("examples:\n", 1)[1].splitlines()
    commands = [line.split("#")[0].strip() for line in examples if line.strip().startswith("perfeval ")]
    assert commands, out
    if command:
        assert all(c.split()[1] == command for c in commands), commands
    parser = cli.build_parser()
    for line in commands:
        for one in line.split("&&"):
            argv = shlex.split(one)[1:]
            args = parser.parse_args(argv)  # an example that does not parse exits here
            # Departments and years an example names exist in the shipped configuration.
            for code in as_list(getattr(args, "department", None)):
                assert code in project.departments, (line, code)
            for year in as_list(getattr(args, "year", None)):
                assert year in project.years, (line, year)
            path = getattr(args, "report_dir", None)
            if path:
                _, year, code = path.rsplit("/", 2)
                assert code in project.departments and int(year) in project.years, line


def test_version(capfd):
    code, out, _ = perfeval(capfd, "--version")
    assert code == 0 and out.strip() == f"perfeval {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_the_console_script_runs_the_same_main():
    script = Path(sys.executable).parent / "perfeval"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"perfeval {__version__}"


def test_a_command_is_required(capfd):
    code, out, err = perfeval(capfd)
    assert code == 2 and "COMMAND" in err and not out


# ------------------------------------------------------------------------------------ usage errors
@pytest.mark.parametrize("command", ["demo", "validate", "run"])
def test_unknown_department_says_did_you_mean_and_lists_the_valid_ones(command, capfd, project):
    code, out, err = perfeval(capfd, command, "-d", f"{GOOD[:-1]}", "-y", str(YEAR))
    assert code == 2 and not out
    assert err.startswith("perfeval: ") and err.count("\n") == 1
    assert f"did you mean '{GOOD}'?" in err
    known = err.split("known: ", 1)[1]
    assert all(code in known for code in (GOOD, BLOCKED, "jdz-zwsjj", "pxs-jtysj"))


def test_unknown_department_with_no_close_name_lists_the_valid_ones_once(capfd, project):
    code, _, err = perfeval(capfd, "validate", "-d", "qqqqqqqq")
    assert code == 2 and err.startswith("perfeval: unknown department 'qqqqqqqq'")
    assert "did you mean" not in err and err.count(GOOD) == 1


@pytest.mark.parametrize("command", ["demo", "validate", "run"])
def test_unknown_year_lists_the_valid_years(command, capfd, project):
    code, out, err = perfeval(capfd, command, "-y", "2019")
    assert code == 2 and not out
    assert err.startswith("perfeval: year 2019 is not configured")
    assert "[2022, 2023, 2024]" in err and "pipeline.yaml" in err
    assert not project.landing_dir.joinpath("2019").exists()


def test_a_department_not_evaluated_that_year_says_which_years_it_has(capfd, project):
    code, _, err = perfeval(capfd, "validate", "-d", GOOD, "-y", "2024")
    assert code == 2 and err.startswith("perfeval: no department-year matches")
    assert f"{GOOD} is evaluated for [{YEAR}]" in err


def test_lineage_usage_errors_start_with_perfeval_and_exit_2(capfd, project):
    code, _, err = perfeval(capfd, "trace", "jdz-zwsj", "2023")
    assert code == 2 and err.startswith("perfeval: trace: unknown department 'jdz-zwsj'")
    assert "did you mean 'jdz-zwsjj'" in err
    code, _, err = perfeval(capfd, "trace", GOOD, str(YEAR))
    assert code == 2 and f"perfeval run -d {GOOD} -y {YEAR}" in err  # not evaluated yet: what to run
    code, _, err = perfeval(capfd, "sql")
    assert code == 2 and err.startswith("perfeval: sql: ")
    code, _, err = perfeval(capfd, "verify", str(project.reports_dir / "nowhere"))
    assert code == 2 and err.startswith("perfeval: verify: ")


def test_a_broken_configuration_is_a_usage_error_naming_the_file(capfd, monkeypatch, tmp_path):
    settings = make_settings(tmp_path, edit=lambda config: None)  # a copy of the configuration
    path = settings.config_dir / "pipeline.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("years:", "yeers:"), encoding="utf-8")
    use_folders(monkeypatch, settings)
    code, out, err = perfeval(capfd, "validate")
    assert code == 2 and not out and err.startswith("perfeval: configuration error")
    assert "pipeline.yaml" in err and "did you mean 'years'" in err


# ---------------------------------------------------------------------------- validate and run
@pytest.mark.gx
def test_validate_reports_blocked_partitions_and_unknown_landing_folders_with_the_fix(capfd, project):
    stray = [
        project.landing_dir / str(YEAR) / f"{GOOD}x",  # a typo of a configured code
        project.landing_dir / "2019" / GOOD,  # a year not in pipeline.yaml
        project.landing_dir / "2024" / GOOD,  # a year the department is not evaluated for
    ]
    for folder in stray:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        code, out, err = perfeval(capfd, "validate", "-d", GOOD, "-d", BLOCKED, "-y", str(YEAR))
    finally:
        for folder in stray:
            folder.rmdir()
    assert code == 3, err
    lines = out.splitlines()
    assert f"{GOOD} {YEAR}: ok" in lines and f"{BLOCKED} {YEAR}: BLOCKED" in lines
    blocked = out.split(f"{BLOCKED} {YEAR}: BLOCKED", 1)[1]
    assert "blocked:" in blocked and "transactions" in blocked
    typo = next(line for line in lines if f"{YEAR}/{GOOD}x" in line)
    assert "is ignored" in typo and f"did you mean '{GOOD}'" in typo
    assert f"add it to {project.config_dir / 'departments.yaml'}" in typo
    year = next(line for line in lines if f"2019/{GOOD}" in line)
    assert "year '2019' is not in `years` [2022, 2023, 2024]" in year
    assert f"add it to {project.config_dir / 'pipeline.yaml'}" in year
    other = next(line for line in lines if f"2024/{GOOD}" in line)
    assert f"{GOOD} is not evaluated for 2024" in other and f"[{YEAR}]" in other
    assert not project.store_dir.exists() or not any(project.store_dir.rglob("*.parquet"))


@pytest.mark.gx
def test_validate_of_clean_data_exits_0(capfd, project):
    code, out, _ = perfeval(capfd, "validate", "-d", GOOD, "-y", str(YEAR))
    assert code == 0 and f"{GOOD} {YEAR}: ok" in out and "BLOCKED" not in out


@pytest.mark.slow
@pytest.mark.gx
def test_run_with_a_blocked_partition_exits_3_and_names_it(capfd, monkeypatch, project, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    log = tmp_path / "run.log"
    code, out, err = perfeval(
        capfd, "run", "-d", GOOD, "-d", BLOCKED, "-y", str(YEAR), "--workers", "1", "--log", str(log)
    )
    assert code == 3, err
    rows = {line.split()[1]: line.split() for line in err.splitlines() if line.startswith(f"{YEAR} ")}
    assert rows[GOOD][2] == "evaluated" and rows[BLOCKED][2] == "blocked"
    assert "transactions" in " ".join(rows[BLOCKED][3:])  # the reason names the missing feed
    assert "run: 1 of 2 evaluated" in err
    # The progress line of the blocked partition names it with its Chinese name.
    assert f"{YEAR} {BLOCKED} {department(BLOCKED)['name']}: 已阻断 blocked" in err
    assert f"run: Dagster's log → {log}" in err and log.is_file()
