"""The Dagster UI end to end in headless Chromium: a backfill of two department-year partitions
launched with the UI's own controls runs as ONE run and succeeds, the report asset shows its
metadata, and the read-only webserver offers no way to launch anything.

Real processes on a free loopback port, with a temporary DAGSTER_HOME and data folders; screenshots
go to test-artifacts/. About 2 minutes on a quiet 2-core machine, most of it the run itself."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

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
# Two small demo partitions next to each other in both dimensions: one rectangle, so one run.
DEPARTMENTS, YEAR = ("jdz-zwsjj", "jjs-zwsjj"), 2022
BACKFILL_TIMEOUT = 420


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


class Server:
    """A Dagster process in its own process group (dagster dev starts children), stopped with it."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [*args, "-h", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.proc.args[0]} exited; see {self.log.name}")
            try:
                urllib.request.urlopen(f"{self.base}/server_info", timeout=2).close()
                return
            except OSError:
                time.sleep(1)
        raise TimeoutError(f"{self.base} not ready after {timeout}s; see {self.log.name}")

    def stop(self) -> None:
        # Ctrl-C for the leader (dagster dev then stops its webserver, daemon and code server);
        # whatever is left after a grace period, e.g. a run worker's helper, is killed with the group.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """`dagster dev` (webserver + daemon) and a read-only webserver on one temporary instance, over
    demo data for the two partitions. The servers start while the demo data is being written."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not installed at {CHROMIUM} (apt-get install chromium; .ci/run does it)")
    root = tmp_path_factory.mktemp("ui")
    home = root / "dagster_home"
    (home / ".nux").mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # Marks Dagster's first-visit "join the community" modal as seen; it would cover the page.
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PERFEVAL_LANDING": str(root / "landing"),
        "PERFEVAL_STORE": str(root / "store"),
        "PERFEVAL_REPORTS": str(root / "reports"),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    dev = Server([str(BIN / "dagster"), "dev", "-m", DEFS_MODULE], env, ARTIFACTS / "dagster-dev.log")
    read_only = Server(
        [str(BIN / "dagster-webserver"), "-m", DEFS_MODULE, "--read-only"],
        env,
        ARTIFACTS / "dagster-webserver-read-only.log",
    )
    try:
        demo = [str(BIN / "perfeval"), "demo", "-y", str(YEAR)]
        for department in DEPARTMENTS:
            demo += ["-d", department]
        subprocess.run(demo, env=env, check=True, capture_output=True, timeout=120)
        dev.wait_ready()
        read_only.wait_ready()
        yield dev, read_only
    finally:
        dev.stop()
        read_only.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _wait_for_backfill(base: str, backfill_id: str) -> dict:
    """Poll the webserver's GraphQL API (what the UI polls) until the backfill is done."""
    query = (
        f'{{ partitionBackfillOrError(backfillId: "{backfill_id}") {{ '
        "... on PartitionBackfill { status runs(limit: 10) { runId status } } } }"
    )
    deadline = time.monotonic() + BACKFILL_TIMEOUT
    while True:
        backfill = _graphql(base, query)["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "IN_PROGRESS") or time.monotonic() > deadline:
            return backfill
        time.sleep(3)


def test_ui_backfill_runs_once_and_read_only_cannot_launch(servers, browser):
    from playwright.sync_api import expect

    dev, read_only = servers
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(30_000)

    page.goto(f"{dev.base}/asset-groups")
    materialize = page.get_by_role("button", name="Materialize all…")
    materialize.wait_for()
    # The lineage opens with groups collapsed; the canvas' context menu expands them.
    page.mouse.click(1000, 250, button="right")
    page.get_by_role("menuitem", name="Expand all groups").click()
    expect(page.get_by_text("hotline_feed").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "ui-0-asset-graph.png")

    materialize.click()
    dialog = page.get_by_role("dialog")
    # One multi-select per dimension (department, then year); a picker with a value loses its
    # placeholder, so the next empty one is always the first placeholder left.
    dialog.get_by_text("Select a partition or create one").first.click()
    for department in DEPARTMENTS:
        page.get_by_role("menu").get_by_text(department, exact=True).first.click()
    page.keyboard.press("Escape")
    dialog.get_by_text("Select a partition or create one").first.click()
    page.get_by_role("menu").get_by_text(str(YEAR), exact=True).first.click()
    page.keyboard.press("Escape")
    expect(dialog.get_by_text("2 partitions")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "ui-1-launch-backfill.png")
    dialog.get_by_role("button", name="Launch backfill").click()

    link = page.locator("a[href^='/runs/b/']").first
    link.wait_for()
    backfill_id = link.get_attribute("href").rsplit("/", 1)[1]
    backfill = _wait_for_backfill(dev.base, backfill_id)
    page.goto(f"{dev.base}/runs/b/{backfill_id}")
    status = page.get_by_text("Status", exact=True).first.locator("xpath=..")
    status.wait_for()
    page.screenshot(path=ARTIFACTS / "ui-2-backfill.png", full_page=True)
    assert backfill["status"] == "COMPLETED_SUCCESS", f"{backfill}; see {ARTIFACTS}/dagster-dev.log"
    assert [r["status"] for r in backfill["runs"]] == ["SUCCESS"], "two partitions, one run"
    expect(status).to_contain_text("Succeeded")

    page.goto(f"{dev.base}/assets/feedback_form")
    # Its materialization metadata: the `forms` table lists both partitions with total, grade, files.
    page.get_by_text("forms", exact=True).wait_for()
    for department in DEPARTMENTS:
        expect(page.get_by_text(f"{department}|{YEAR}").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "ui-3-feedback-form-metadata.png", full_page=True)

    permissions = _graphql(read_only.base, "{ permissions { permission value } }")["permissions"]
    assert {p["permission"]: p["value"] for p in permissions}["launch_pipeline_execution"] is False
    for path in ("/asset-groups", "/assets/feedback_form"):
        page.goto(f"{read_only.base}{path}")
        buttons = page.get_by_role("button").filter(has_text="Materialize")
        buttons.first.wait_for()
        # Read-only keeps the buttons in the layout, disabled: nothing can be launched.
        assert not any(buttons.nth(i).is_enabled() for i in range(buttons.count())), path
    page.screenshot(path=ARTIFACTS / "ui-4-read-only.png", full_page=True)
