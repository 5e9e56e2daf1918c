"""The Dagster UI (1.13) in headless Chromium over a batch with a blocked department-year.

Three hand-built departments of the hostile corpus (Chinese names in their departments.yaml
entries), the second with a required feed deleted, are evaluated by `perfeval run` (one Dagster
run, exit code 3) on a temporary DAGSTER_HOME while `dagster-webserver` starts on a free loopback
port over the same instance and folders. The UI must show: the blocked partition failed and the
others materialized in the asset's partitions view; each partition's metadata naming its own
department; each partition's check result on its own page; the Chinese department names (the
partition label table and the descriptions). Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import make_settings, result_of
from hostile.corpus import YEAR, department, write_base

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BIN = Path(sys.executable).parent
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DEFS_MODULE = "perfeval_pipeline.orchestration.definitions"
GOOD, BLOCKED, OTHER = "ui-a-good", "ui-b-blocked", "ui-c-good"
CODES = (GOOD, BLOCKED, OTHER)
RUN_TIMEOUT, SERVER_TIMEOUT, UI_TIMEOUT_MS = 150, 90, 20_000


def key(code: str) -> str:
    return f"{YEAR}-{code}"


def name(code: str) -> str:
    return department(code)["name"]  # 测试市文化广电旅游局<code>


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webserver:
    """dagster-webserver in its own process group (it starts a code server), stopped with it."""

    def __init__(self, env: dict, log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-m", DEFS_MODULE, "-h", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster-webserver exited; see {self.log.name}")
            try:
                urllib.request.urlopen(f"{self.base}/server_info", timeout=2).close()
                return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"{self.base} not ready after {timeout}s; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the code server it started, if still there
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """The batch evaluated by `perfeval run` and the webserver serving its instance."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from perfeval_pipeline.orchestration.runner import init_instance

    root = tmp_path_factory.mktemp("ui")

    def only_these(config):  # the UI lists these three partitions and nothing else
        raw = {"departments": {code: department(code) for code in CODES}, "peer_groups": {}}
        (config / "departments.yaml").write_text(
            yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )

    settings = make_settings(root, edit=only_these)
    for code in CODES:
        write_base(settings.landing_folder(code, YEAR), settings, code)
    for f in settings.landing_folder(BLOCKED, YEAR).glob("transactions*"):
        f.unlink()
    home = root / "dagster_home"
    (home / ".nux").mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # Marks Dagster's first-visit "join the community" modal as seen; it would cover the page.
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    init_instance(home).dispose()  # storage created once, before two processes open it
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PERFEVAL_CONFIG": str(settings.config_dir),
        "PERFEVAL_LANDING": str(settings.landing_dir),
        "PERFEVAL_STORE": str(settings.store_dir),
        "PERFEVAL_REPORTS": str(settings.reports_dir),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    server = Webserver(env, ARTIFACTS / "dagster-webserver.log")
    try:
        # The run and the webserver's start overlap; the UI reads the run's events when it is done.
        run = subprocess.run(
            [str(BIN / "perfeval"), "run", "-y", str(YEAR), "--workers", "1", "--log", str(root / "run.log")],
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        server.wait_ready(SERVER_TIMEOUT)
        yield settings, server, run
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(ui):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.set_default_timeout(UI_TIMEOUT_MS)
        yield page
        browser.close()


def panel(page, partition: str, *texts: str):
    """The innermost element showing one partition's details (its key and all of `texts`)."""
    found = page.locator("div").filter(has=page.locator(f'[title="{partition}"]'))
    for text in texts:
        found = found.filter(has=page.get_by_text(text, exact=True))
    return found.last


def test_the_run_exits_3_naming_the_blocked_partition(ui):
    settings, _, run = ui
    assert run.returncode == 3, run.stderr[-2000:]
    assert f"{YEAR} {BLOCKED} {name(BLOCKED)}: 已阻断 blocked" in run.stderr
    assert "run: 2 of 3 evaluated" in run.stderr
    assert [result_of(settings, c, YEAR)["status"] for c in CODES] == ["evaluated", "blocked", "evaluated"]


@pytest.mark.parametrize("asset", ["quality_gate", "feedback_form"])  # the first and the last
def test_the_partitions_view_shows_the_blocked_one_failed_and_the_others_materialized(ui, page, asset):
    from playwright.sync_api import expect

    _, server, _ = ui
    page.goto(f"{server.base}/assets/{asset}?view=partitions")
    expect(page.get_by_text("Failed (1)", exact=True)).to_be_visible()
    expect(page.get_by_text("Materialized (2)", exact=True)).to_be_visible()
    # Each partition row ends with a status dot: red failed, green materialized.
    colours = {}
    for code in CODES:
        dot = page.locator(f'div[data-tooltip="{key(code)}"] + div')
        expect(dot).to_have_count(1)
        colours[code] = re.search(r"--color-accent-(\w+)", dot.get_attribute("style") or "").group(1)
    assert colours == {GOOD: "green", BLOCKED: "red", OTHER: "green"}
    page.screenshot(path=ARTIFACTS / f"ui-partitions-{asset}.png")
    # The blocked partition's own page: failed run, nothing materialized.
    page.goto(f"{server.base}/assets/{asset}?view=partitions&partition={key(BLOCKED)}")
    details = panel(page, key(BLOCKED), "Latest materialization")
    expect(details).to_contain_text("failed, and did not materialize this asset")
    expect(details).to_contain_text("No metadata entries")


def test_each_partition_metadata_names_its_own_department(ui, page):
    from playwright.sync_api import expect

    settings, server, _ = ui
    for code, other in ((GOOD, OTHER), (OTHER, GOOD)):
        page.goto(f"{server.base}/assets/scorecard?view=partitions&partition={key(code)}")
        details = panel(page, key(code), "Latest materialization", "Metadata")
        expect(details).to_contain_text(f"{name(code)}（{code}）")
        expect(details).not_to_contain_text(name(other))
        expect(details).to_contain_text(f"{result_of(settings, code, YEAR)['total_score']:.2f}")
        expect(details).to_contain_text(f"perfeval trace {code} {YEAR}")
    page.screenshot(path=ARTIFACTS / "ui-scorecard-partition.png")


def test_each_partitions_check_result_is_on_its_own_page(ui, page):
    from playwright.sync_api import expect

    _, server, _ = ui
    page.goto(f"{server.base}/assets/quality_gate?view=checks")
    page.locator('button[role="tab"]#partitions').click()
    for code, verdict in ((BLOCKED, "Failed"), (GOOD, "Passed"), (OTHER, "Passed")):
        page.locator(f'[title="{key(code)}"]').last.click()
        details = panel(page, key(code), "Latest execution", "Target materialization")
        expect(details).to_contain_text(verdict)
        expect(details).not_to_contain_text("Passed" if verdict == "Failed" else "Failed")
        for other in CODES:  # nothing of another partition
            if other != code:
                expect(details).not_to_contain_text(name(other))
        if code == BLOCKED:
            # A failed check says whose and why (a passing one may carry no metadata at all).
            expect(details).to_contain_text(f"{name(code)}（{code}）")
            expect(details).to_contain_text("交易与采购 (transactions) not found")
            page.screenshot(path=ARTIFACTS / "ui-check-blocked-partition.png")
        else:
            expect(details).not_to_contain_text("not found")


def test_chinese_department_names_and_descriptions_are_shown(ui, page):
    from playwright.sync_api import expect

    _, server, _ = ui
    page.goto(f"{server.base}/assets/quality_gate")
    expect(page.get_by_text("分区与部门 partitions")).to_be_visible()
    for code in CODES:
        row = page.locator("tr").filter(has=page.get_by_text(key(code), exact=True)).last  # innermost
        expect(row).to_contain_text(name(code))
    expect(page.get_by_text(re.compile("^质量闸门：每个必需数据源"))).to_be_visible()
    page.screenshot(path=ARTIFACTS / "ui-quality-gate-overview.png", full_page=True)
