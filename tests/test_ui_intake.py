"""The inbox and the letters in a real browser: Debian's chromium driven by Playwright against
`assistant ui` started as a subprocess with the tiny real model and the lexicon extractor.

A text file dropped in the inbox folder is picked up by the app's own background watcher, shown as a
proposal in the Inkorg tab, confirmed by the caseworker, and the new child appears in the case list
marked "ny". Then a decision letter for that child is filled, edited and saved as PDF and Word.
Nothing is replaced: the files are read, registered and written by the running app.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.conftest import TINY_MODEL
from tests.test_ui import browser, free_port, login, page, wait_for_port  # noqa: F401 - browser and page are fixtures

pytestmark = pytest.mark.browser
USER = "karin.handlaggare"
PASSWORD = "inkorg-lösenord-2025"
REPORT = (
    "Barnets namn: Olle Berg\nFödd: 2016-05-04\n\n"
    "Jag är mentor för Olle i klass 3A. Den 4 mars 2025 kom han till skolan med ett blåmärke på kinden "
    "och sa att han inte ville gå hem.\n\nMed vänlig hälsning\nKarin Lund, mentor, Björkskolan\n"
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("intake-home")
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_LLM__MODEL": TINY_MODEL,
        "ASSISTANT_EXTRACTOR__MODE": "lexicon",
        "ASSISTANT_INTAKE__POLL_SECONDS": "1",
        "ASSISTANT_INTAKE__SETTLE_SECONDS": "0.5",
    }
    cli = [sys.executable, "-m", "assistant.cli"]
    for command, password in (
        ([*cli, "users", "add", "admin", "--role", "admin", "--password-stdin"], "admin-lösenord-2025"),
        ([*cli, "--user", "admin", "users", "add", USER, "--role", "caseworker", "--password-stdin"], PASSWORD),
    ):
        subprocess.run(command, env=env, check=True, capture_output=True, input=password + "\n", text=True)
    process, port = start_app(env)
    try:
        yield f"http://127.0.0.1:{port}/", home
    finally:
        process.terminate()
        process.wait(timeout=30)


def start_app(env: dict, attempts: int = 3) -> tuple[subprocess.Popen, int]:
    """Start the app and wait until it serves its page. Gradio checks its own page with a 3-second
    timeout right after it starts listening and exits when that fails, which happens when many
    processes share the two cores; that start is then retried (the output names the cause)."""
    for attempt in range(1, attempts + 1):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "ui", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_for_port(port, process)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                    if response.status == 200:
                        time.sleep(5)  # past Gradio's self-check
                        if process.poll() is None:
                            return process, port
            except OSError:
                time.sleep(0.5)
        output = process.stdout.read() if process.poll() is not None else ""
        process.kill()
        process.wait(timeout=30)
        if attempt == attempts or "localhost is not accessible" not in output:
            raise RuntimeError(f"the app did not start:\n{output}")
    raise AssertionError("unreachable")


def choose(tab, label: str, option: str) -> None:
    tab.get_by_label(label, exact=True).click()
    tab.get_by_role("option", name=option).click()


def test_report_from_inbox_to_registration(app, page):  # noqa: F811 - the fixture from tests.test_ui
    url, home = app
    login(page, url, USER, PASSWORD)
    (home / "inkorg" / "mentor-olle.txt").write_text(REPORT, encoding="utf-8")

    page.get_by_role("tab", name="Inkorg").click()
    listing = page.locator("#intake-list")
    deadline = time.monotonic() + 60
    while "mentor-olle.txt" not in listing.inner_text() and time.monotonic() < deadline:
        page.locator("#intake-refresh").click()
        time.sleep(1)
    expect(listing).to_contain_text("mentor-olle.txt")
    expect(listing).to_contain_text("nytt barn: Olle Berg, född 2016-05-04")
    expect(listing).to_contain_text("skola")
    assert (home / "inkorg-behandlade" / "mentor-olle.txt").exists()  # the watcher moved it out of the inbox

    choose(page, "Förslag att granska", "1: mentor-olle.txt (nytt barn: Olle Berg, född 2016-05-04)")
    expect(page.locator("#intake-name textarea, #intake-name input").first).to_have_value("Olle Berg")
    expect(page.locator("#intake-date textarea, #intake-date input").first).to_have_value("2025-03-04")
    expect(page.locator("#intake-text")).to_contain_text("blåmärke på kinden")
    page.locator("#intake-confirm").click()

    expect(page.locator("#intake-message")).to_contain_text("registrerat som anmälan", timeout=120_000)
    expect(listing).to_contain_text("registrerad som INK-")
    page.get_by_role("tab", name="Ärenden").click()
    row = page.locator("#case-list tr[data-child='B0001']")
    expect(row).to_contain_text("ny")
    expect(row.locator(".badge-new")).to_be_visible()
    row.get_by_role("button", name="Öppna ärende B0001").click()
    expect(page.locator("#summary")).to_contain_text("Barn B0001")
    expect(page.locator("#summary .badge-new")).to_be_visible()


def test_letter_filled_edited_and_saved(app, page):  # noqa: F811 - the fixture from tests.test_ui
    """Runs after the registration above: the child B0001 exists in the app's store."""
    url, home = app
    login(page, url, USER, PASSWORD)
    page.get_by_role("tab", name="Brev").click()
    choose(page, "Ärende", "B0001")
    choose(page, "Brevmall", "Beslut att inleda utredning (SoL 11 kap. 1 §)")
    page.locator("#letter-dnr textarea, #letter-dnr input").first.fill("IFO 2025-0042")
    page.locator("#letter-guardians textarea, #letter-guardians input").first.fill("Eva Berg")
    page.locator("#letter-fill").click()
    letter = page.locator("#letter-text textarea").first
    page.wait_for_function(
        "() => document.querySelector('#letter-text textarea').value.includes('Olle Berg')", timeout=30_000
    )
    text = letter.input_value()
    assert "IFO 2025-0042" in text and "Till: Eva Berg" in text and USER in text and "blåmärke" not in text
    letter.fill(text.replace("Med vänlig hälsning", "Välkommen till ett möte den 3 mars.\n\nMed vänlig hälsning"))
    page.locator("#letter-export").click()
    expect(page.locator("#letter-message")).to_contain_text("sparat i utkorgen", timeout=60_000)
    saved = sorted((home / "utkorg").iterdir())
    assert [p.suffix for p in saved] == [".docx", ".pdf"]
    from pypdf import PdfReader

    pdf = " ".join(" ".join(p.extract_text() for p in PdfReader(saved[1]).pages).split())
    assert "Olle Berg" in pdf and "IFO 2025-0042" in pdf and "Välkommen till ett möte den 3 mars." in pdf
