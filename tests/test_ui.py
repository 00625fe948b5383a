"""The web page in a real browser: Debian's chromium driven by Playwright, against
`assistant ui` started as a subprocess on 127.0.0.1 with the tiny real model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import TINY_MODEL

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{process.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the app did not listen on port {port}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from tests.conftest import FIXTURES

    home = tmp_path_factory.mktemp("ui-home")
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_LLM__MODEL": TINY_MODEL,
        "ASSISTANT_LLM__MAX_TOKENS": "160",
        "ASSISTANT_LLM__NARRATIVE_MAX_TOKENS": "48",
    }
    cli = [sys.executable, "-m", "assistant.cli"]
    subprocess.run([*cli, "ingest", str(FIXTURES / "reports.jsonl")], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [*cli, "ui", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: run 'make browser' (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def test_pick_child_and_see_cited_summary(app_url, browser, tmp_path):
    page = browser.new_page()
    page.goto(app_url)
    page.get_by_text("Beslutsstöd, inte beslut.").first.wait_for()
    page.get_by_label("Barn").click()
    page.get_by_role("option", name="T1 (2 anmälningar").click()
    page.locator("#summarize").click()
    summary = page.locator("#summary")
    summary.get_by_text("Sammanställning inför möte: barn T1").wait_for(timeout=300_000)
    assert "Beslutsstöd, inte beslut" in summary.inner_text()
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
