"""Shared fixtures: settings over temporary folders (and, when a test adds departments, a temporary
copy of assets_config), running partitions through the stages without Dagster, the demo seed
evaluated once per session; and helpers several test files use: `perfeval` in-process over a
settings' folders, the text lines of a Word form."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from docx import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from hostile.corpus import write_xlsx

from perfeval_pipeline.config.settings import Paths, Settings, load_settings, package_root

CONFIG = package_root() / "assets_config"
SEED = ("jdz-zwsjj", 2023)
# The seed's peer group (四小地市): its mean is the target of 户均发布率.
SEED_PEERS = ("jdz-zwsjj", "pxs-zwsjj", "xys-zwsjj", "yts-zwsjj")
PATH_VARIABLES = (
    "PERFEVAL_HOME",
    "PERFEVAL_CONFIG",
    "PERFEVAL_LANDING",
    "PERFEVAL_STORE",
    "PERFEVAL_REPORTS",
)


@pytest.fixture(scope="session", autouse=True)
def no_environment_paths():
    """No test reads or writes the repo's data/ or reports/ through PERFEVAL_* variables."""
    saved = {v: os.environ.pop(v, None) for v in PATH_VARIABLES}
    yield
    for var, value in saved.items():
        if value is not None:
            os.environ[var] = value


def make_settings(
    root: Path, departments: dict | None = None, peer_groups: dict | None = None, edit=None
) -> Settings:
    """Settings whose landing, store and reports live under `root`. With `departments` (code →
    departments.yaml entry) or `edit(config_dir)`, a copy of assets_config under `root` is used."""
    config = CONFIG
    if departments or peer_groups or edit:
        config = root / "assets_config"
        if config.exists():
            shutil.rmtree(config)
        shutil.copytree(CONFIG, config)
        raw = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
        raw["departments"].update(departments or {})
        raw.setdefault("peer_groups", {}).update(peer_groups or {})
        (config / "departments.yaml").write_text(
            yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        if edit:
            edit(config)
    return load_settings(
        Paths.resolve(
            root=package_root(),
            config_dir=config,
            landing_dir=root / "landing",
            store_dir=root / "store",
            reports_dir=root / "reports",
        )
    )


def evaluate(settings: Settings, partitions, workers: int = 1):
    """Every phase for `partitions` (plain Python, as a Dagster run's steps call them); the batch result."""
    from perfeval_pipeline.batch.engine import Batch

    with Batch(settings, partitions, workers) as batch:
        return batch.run()


def result_of(settings: Settings, department: str, year: int) -> dict:
    return json.loads((settings.report_folder(department, year) / "result.json").read_text(encoding="utf-8"))


@pytest.fixture
def tmp_settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory) -> Settings:
    """Settings over a session-wide folder for demo data (the repo's own config)."""
    return make_settings(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def seed_evaluation(demo_settings):
    """The demo's 2023 peer group generated and evaluated once per session; the seed's result."""
    from perfeval_pipeline.demo import generate_demo

    generate_demo(demo_settings, departments=list(SEED_PEERS), years=[SEED[1]])
    evaluate(demo_settings, [(d, SEED[1]) for d in SEED_PEERS], workers=2)
    return result_of(demo_settings, *SEED)


@pytest.fixture
def xlsx():
    return write_xlsx


def use_folders(monkeypatch, settings: Settings) -> None:
    """Point the PERFEVAL_* variables at `settings`' folders, as a user of the command line would."""
    for var, path in (
        ("PERFEVAL_CONFIG", settings.config_dir),
        ("PERFEVAL_LANDING", settings.landing_dir),
        ("PERFEVAL_STORE", settings.store_dir),
        ("PERFEVAL_REPORTS", settings.reports_dir),
    ):
        monkeypatch.setenv(var, str(path))


def perfeval_over(capsys, monkeypatch, settings: Settings, *argv: str) -> tuple[int, str]:
    """Exit code and output (stdout, then stderr) of `perfeval argv` over `settings`' folders."""
    from perfeval_pipeline import cli

    use_folders(monkeypatch, settings)
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def docx_lines(path: Path) -> list[str]:
    """Paragraph texts in reading order, table cells included once even when merged."""
    doc = Document(path)
    lines = []
    for el in doc.element.body.iterchildren():
        if el.tag == qn("w:p"):
            lines.append(Paragraph(el, doc).text)
        elif el.tag == qn("w:tbl"):
            seen = set()
            for row in Table(el, doc).rows:
                for cell in row.cells:
                    if cell._tc not in seen:
                        seen.add(cell._tc)
                        lines += [p.text for p in cell.paragraphs]
    return lines
