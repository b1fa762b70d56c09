"""End to end in a real headless Chromium (Debian's, installed by scripts/install_browser.sh): start
`retinavlm view` on the demo run, open a case, check what a clinician must see, rate one case."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from viewer_testing import reference_ids

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: run `bash scripts/install_browser.sh`"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(own_run):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RETINAVLM_VIEW_ARGS"}
    process = subprocess.Popen(
        [sys.executable, "-m", "retinavlm.cli", "view", str(own_run), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the viewer did not start: {process.stdout.read().decode()[-2000:]}") from None
                time.sleep(0.2)
        yield url, own_run
    finally:
        process.terminate()
        process.wait(timeout=20)


def settle(page) -> None:
    """Wait until streamlit has finished running the page script."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]') && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=60_000,
    )


def test_open_a_case_and_rate_it_in_chromium(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, run = server
    case_id = reference_ids(run)[1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1600})
            page.goto(f"{url}/case?id={case_id}")
            expect(page.get_by_role("heading", name=f"Case {case_id}")).to_be_visible(timeout=60_000)
            settle(page)
            expect(page.locator("mark.finding-present").first).to_be_visible()
            expect(page.locator("mark.finding-absent").first).to_be_visible()
            expect(page.get_by_text("Rubric score").first).to_be_visible()
            expect(page.get_by_text("Extracted findings").first).to_be_visible()
            rubric = page.locator("[data-testid='stTable']").nth(1)  # findings first, then the rubric
            expect(rubric.get_by_text("consistency")).to_be_visible()
            expect(rubric.get_by_text("1.00").first).to_be_visible()
            page.screenshot(path=str(tmp_path / "viewer_case.png"), full_page=True)

            page.goto(f"{url}/study?rater=rater_1")
            expect(page.get_by_role("heading", name="Report A")).to_be_visible(timeout=60_000)
            settle(page)
            for group in page.get_by_role("radiogroup").all():
                group.get_by_role("radio").nth(3).check(force=True)  # score 4 on every question
            page.get_by_role("button", name="Submit ratings").click()
            expect(page.get_by_text("1 of")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(tmp_path / "viewer_study.png"), full_page=True)
        finally:
            browser.close()

    with sqlite3.connect(next((run / "reader_study").glob("*.sqlite"))) as db:
        rows = db.execute(
            "SELECT rater, system, score FROM ratings JOIN scores ON scores.rating_id = ratings.id"
        ).fetchall()
    assert {r[0] for r in rows} == {"rater_1"} and {r[2] for r in rows} == {4} and len(rows) == 2 * 3
    assert (tmp_path / "viewer_case.png").stat().st_size > 10_000
