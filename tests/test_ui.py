"""The web page in a real browser: Debian's chromium driven by Playwright, against
`assistant ui` started as a subprocess on 127.0.0.1 with the tiny real model,
holding the demo reports (data/demo) and the test fixtures.

What stands in for the model: the tiny model (SmolLM2-135M) cannot find
indicators reliably, so before the app starts, the pipeline's own analysis
cache is seeded with known findings, under exactly the keys the extractor
computes (passage text, previous sentence, model sha256, prompt tag): for
demo child D01 its gold annotations from data/demo/reports.jsonl, for T1 the
findings in tests/test_ui_fixtures.py. The app runs with extractor mode
``llm`` (no lexicon findings mixed in) and otherwise the normal pipeline: it
reads the cached extraction, verifies every quote against the stored report,
builds the summary, and the tiny model writes the narrative for real. Child
T2 is not seeded, so in the queue test the tiny model extracts for real while
other sessions wait. Nothing in the browser or the app is replaced.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import expect

from tests.conftest import FIXTURES, TINY_MODEL, tiny_settings
from tests.test_ui_fixtures import DEMO_REPORTS, T1_FINDINGS, KnownFinding, demo_gold_findings, findings_by_passage

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
SUMMARY_TIMEOUT_MS = 240_000
USER = "test.testsson"  # a caseworker of unit "nord", which holds T1, T2 and D01; D02 is another unit's
PASSWORD = "ett långt testlösenord"
ADMIN, ADMIN_PASSWORD = "test.admin", "administratörens lösenord"


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


def seed_extraction_cache(assistant, child_id: str, known: list[KnownFinding]) -> None:
    """Store known findings as the extractor's cached output for every passage of a child.

    Uses the extractor's own cache key, so the app finds them exactly as if the model had answered.
    """
    from assistant.pipeline import previous_sentences

    passages = assistant.store.passages_for(child_id)
    previous = previous_sentences(passages)
    for passage_id, findings in findings_by_passage(passages, known).items():
        passage = next(p for p in passages if p.passage_id == passage_id)
        indicators = [
            {
                "quote": f.quote,
                "category": f.category.value,
                "polarity": f.polarity.value,
                "actor": f.actor.value,
                "victim": "child",
                "source": f.source.value,
            }
            for f in findings
        ]
        key = assistant.llm_extractor.cache_key(passage, previous.get(passage_id, ""))
        assistant.store.cache(key, "extract", {"valid": True, "indicators": indicators})


@dataclass(frozen=True)
class RunningApp:
    url: str
    expected: dict  # child id -> the Summary the seeded cache yields (made without the narrative)
    home: Path


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_llm):
    from assistant.pipeline import Assistant

    home = tmp_path_factory.mktemp("ui-home")
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_LLM__MODEL": TINY_MODEL,
        "ASSISTANT_LLM__MAX_TOKENS": "160",
        "ASSISTANT_LLM__NARRATIVE_MAX_TOKENS": "48",
        "ASSISTANT_EXTRACTOR__MODE": "llm",  # only the (seeded) model extraction; no lexicon findings mixed in
        "ASSISTANT_PRECOMPUTE__BACKGROUND": "false",  # the tests seed the cache themselves (test_precompute.py)
    }
    cli = [sys.executable, "-m", "assistant.cli"]
    subprocess.run(
        [*cli, "ingest", str(FIXTURES / "reports.jsonl"), str(DEMO_REPORTS)], env=env, check=True, capture_output=True
    )
    admin = [*cli, "--user", ADMIN]
    for command, password in (
        ([*cli, "users", "add", ADMIN, "--role", "admin", "--password-stdin"], ADMIN_PASSWORD),
        ([*admin, "users", "add", USER, "--role", "caseworker", "--unit", "nord", "--password-stdin"], PASSWORD),
    ):
        subprocess.run(command, env=env, check=True, capture_output=True, input=password + "\n", text=True)
    for child_id, unit in (("T1", "nord"), ("T2", "nord"), ("D01", "nord"), ("D02", "syd")):
        subprocess.run([*admin, "children", "set-unit", child_id, unit], env=env, check=True, capture_output=True)

    settings = tiny_settings(home)
    settings.extractor.mode = "llm"
    settings.narrative = False
    seeder = Assistant(settings, llm=tiny_llm)
    expected = {}
    for child_id, known in (("T1", T1_FINDINGS), ("D01", demo_gold_findings("D01"))):
        seed_extraction_cache(seeder, child_id, known)
        check = seeder.summarize(child_id)  # the seeded cache must cover every passage: no model call
        assert check.stats.model_calls == 0 and check.summary.indicators
        expected[child_id] = check.summary
    seeder.store.close()

    port = free_port()
    process = subprocess.Popen(
        [*cli, "ui", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_port(port, process)
        yield RunningApp(f"http://127.0.0.1:{port}/", expected, home)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def app_url(app):
    return app.url


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


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="sv-SE", accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def login(page, url: str, user: str = USER, password: str = PASSWORD) -> None:
    """Through the real login form Gradio shows before the app."""
    page.goto(url)
    page.get_by_label("Användarnamn").fill(user)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.get_by_text("Beslutsstöd, inte beslut.").first.wait_for()
    page.get_by_text(f"Inloggad som {user}").wait_for()


def pick_child(page, option: str) -> None:
    page.get_by_label("Barn").click()
    page.get_by_role("option", name=option).click()


def summarize(page, child_id: str) -> None:
    page.locator("#summarize").click()
    page.locator("#summary").get_by_text(f"Sammanställning inför möte: barn {child_id}").wait_for(
        timeout=SUMMARY_TIMEOUT_MS
    )
    page.locator("#summary .case-head").wait_for(timeout=SUMMARY_TIMEOUT_MS)


def test_pick_child_and_see_cited_summary(app_url, page, tmp_path):
    login(page, app_url)
    pick_child(page, "T1 (2 anmälningar")
    summarize(page, "T1")
    summary = page.locator("#summary")
    assert "Beslutsstöd, inte beslut" in summary.inner_text()
    assert "Varningssignaler" in summary.inner_text()
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)


def test_demo_child_citation_rejection_and_pdf(app, page, tmp_path):
    """Demo child D01 from the case list: summary, a cited source, a rejected indicator, a PDF with the quotes."""
    expected = app.expected["D01"]
    login(page, app.url)
    page.locator("#search textarea, #search input").first.fill("D01")
    page.locator("#case-list").get_by_role("button", name="Öppna ärende D01").click()
    summary = page.locator("#summary")
    summary.locator(".case-view").wait_for()
    summarize(page, "D01")
    text = summary.inner_text()
    assert "hot om att döda" in text and "strypgrepp" in text  # escalation flags on top
    assert text.index("Varningssignaler") < text.index("Våld och konflikt") < text.index("Skyddsfaktorer")
    assert "uppgift i andra hand" in text and "förnekas" in text

    quotes = [i.citations[0].quote for i in expected.indicators]
    number = quotes.index("Målsägande hade rodnader runt halsen") + 1
    summary.get_by_role("button", name=f"Visa källan till uppgift {number}").click()
    mark = page.locator("#source-view mark.cited")
    mark.wait_for()
    assert mark.inner_text() == "Målsägande hade rodnader runt halsen"
    source = page.locator("#source-view").inner_text()
    assert "D01-R4" in source and "2024-02-08" in source and "polis" in source
    assert "Polispatrull anlände" in source  # the report around the quote is shown too

    summary.locator("#item-1").get_by_role("button", name="Avvisa").click()
    summary.locator("#item-1.status-reject del").wait_for()
    assert f"Avvisad av {USER}" in summary.locator("#item-1").inner_text()

    page.locator("#export-pdf").click()
    link = page.locator("#export-file a").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    pdf_path = tmp_path / "brief.pdf"
    download.value.save_as(pdf_path)
    from pypdf import PdfReader

    pdf = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf_path).pages).split())
    for quote in quotes:
        assert f"”{' '.join(quote.split())}”" in pdf
    assert "Beslutsstöd, inte beslut" in pdf and f"Avvisad av {USER}" in pdf


def test_upload_good_and_bad_files(app_url, page, tmp_path):
    good_md = tmp_path / "brev.md"
    good_md.write_text(
        "---\nreport_id: U1-R1\nchild_id: U1\ndate: 2024-02-01\nreporter: anonym\n---\n"
        "Grannen hör att pappa skriker på barnen varje kväll.\n",
        encoding="utf-8",
    )
    good_jsonl = tmp_path / "fler.jsonl"
    record = {
        "report_id": "U1-R2",
        "child_id": "U1",
        "date": "2024-05-02",
        "reporter": "skola",
        "text": "Hon är ofta trött.",
    }
    good_jsonl.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    letter = Document()
    letter.add_paragraph("Skolsköterskan har sett blåmärken på armen.")
    letter.save(str(tmp_path / "brev-skola.docx"))
    (tmp_path / "brev-skola.yaml").write_text(
        "report_id: U1-R3\nchild_id: U1\ndate: 2024-06-03\nreporter: skola\n", encoding="utf-8"
    )
    bad = tmp_path / "utan-metadata.txt"
    bad.write_text("Bara text utan metadata.\n", encoding="utf-8")

    login(page, app_url)
    page.get_by_text("Lägg till anmälningar").first.click()
    uploads = [good_md, good_jsonl, tmp_path / "brev-skola.docx", tmp_path / "brev-skola.yaml", bad]
    page.locator("#upload-files input[type=file]").set_input_files([str(p) for p in uploads])
    expect(page.locator("#upload-files")).to_contain_text(
        "utan-metadata", timeout=60_000
    )  # the last file is uploaded too
    page.locator("#upload-button").click()
    result = page.locator("#upload-result table")
    result.wait_for(timeout=SUMMARY_TIMEOUT_MS)
    text = page.locator("#upload-result").inner_text()
    assert "4 av 5 filer lästes in" in text  # the sidecar counts as a file of its own
    assert re.search(r"utan-metadata\.txt\s+✖ Fel\s+metadata saknas överst i filen", text)
    assert "brev.md" in text and "fler.jsonl" in text and "U1-R3" in text and "sidofil med metadata" in text
    page.locator("#case-list").get_by_role("button", name="Öppna ärende U1").wait_for()


def test_three_sessions_wait_in_queue(app_url, browser):
    """One session makes the tiny model read T2 for real; two more ask meanwhile and are queued, not refused."""
    contexts = [browser.new_context(locale="sv-SE") for _ in range(3)]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:
            login(page, app_url)
        pick_child(pages[0], "T2 (1 anmälan,")
        for page in pages[1:]:
            pick_child(page, "T1 (2 anmälningar")
        for page in pages:
            page.locator("#summarize").click()
        pages[2].locator("#status").get_by_text(re.compile(r"queue: \d+/\d+")).wait_for(timeout=30_000)
        for page, child_id in zip(pages, ("T2", "T1", "T1"), strict=True):
            page.locator("#summary .case-head").get_by_text(f"barn {child_id}").wait_for(timeout=SUMMARY_TIMEOUT_MS)
    finally:
        for context in contexts:
            context.close()


DISTINCTIVE = "tryckt upp henne mot hallväggen med handen runt halsen"  # D01-R4's own words


def test_case_list_and_tabs_follow_the_role(app_url, page):
    """A caseworker of unit nord sees nord's children only, and the cases tab, not the admin or evaluation tabs."""
    login(page, app_url)
    listing = page.locator("#case-list")
    listing.get_by_role("button", name="Öppna ärende D01").wait_for()
    text = listing.inner_text()
    assert "T1" in text and "T2" in text
    assert "D02" not in text and "D03" not in text  # another unit's, and children without a unit
    page.get_by_label("Barn").click()
    options = " ".join(page.get_by_role("option").all_inner_texts())
    assert "D01" in options and "D02" not in options
    assert not page.get_by_role("tab", name="Administration").is_visible()
    assert not page.get_by_role("tab", name="Utvärdering").is_visible()


def test_session_is_logged_for_its_user_and_child_without_report_text(app, page):
    """View D01's case and summary, open a citation and export: each is in the audit log under the logged-in
    user and child D01, the chain verifies, and no file of the log holds a sentence of the reports."""
    from assistant.audit import AuditLog

    log = AuditLog(app.home / "audit.sqlite3")
    before = len(log.entries())
    login(page, app.url)
    pick_child(page, "D01 (5 anmälningar")
    summarize(page, "D01")
    page.locator("#summary").get_by_role("button", name="Visa källan till uppgift 1", exact=True).click()
    page.locator("#source-view mark.cited").wait_for()
    page.locator("#export-md").click()
    page.locator("#export-file a").first.wait_for()

    new = log.entries()[before:]
    mine = {(e.action, e.child_id, e.outcome) for e in new if e.user == USER and e.role == "caseworker"}
    assert ("login", "", "ok") in mine
    for action in ("view_case", "view_summary", "open_citation", "export"):
        assert (action, "D01", "ok") in mine, action
    assert not [e for e in new if e.outcome != "ok"]
    check = log.verify()
    assert check.ok, check.problem
    for path in app.home.glob("audit*"):
        assert DISTINCTIVE.encode() not in path.read_bytes(), path
        assert b"Polispatrull" not in path.read_bytes(), path


def test_crafted_click_on_another_units_child_is_refused_and_logged(app, page):
    """The case list's click carries the child id from the browser: a forged one (D02, unit syd) is refused,
    nothing of D02 is shown, and the attempt is logged as denied."""
    from assistant.audit import AuditLog

    login(page, app.url)
    page.locator("#case-list").get_by_role("button", name="Öppna ärende D01").wait_for()
    page.locator("#case-list").evaluate(
        "el => { const b = document.createElement('button'); b.dataset.child = 'D02'; b.id = 'forged';"
        " b.textContent = 'D02'; el.querySelector('table').parentElement.appendChild(b); }"
    )
    page.locator("#forged").dispatch_event("click")  # as a click on it would send
    page.locator("#status").get_by_text("Du har inte behörighet").wait_for()
    assert "D02" not in page.locator("#summary").inner_text()
    denied = [e for e in AuditLog(app.home / "audit.sqlite3").entries("D02") if e.user == USER]
    assert denied and denied[-1].action == "view_case" and denied[-1].outcome == "denied"


def test_wrong_password_is_refused_and_logged_without_the_password(app, page):
    from assistant.audit import AuditLog

    wrong = "helt-fel-lösenord-4711"
    log = AuditLog(app.home / "audit.sqlite3")
    page.goto(app.url)
    page.get_by_label("Användarnamn").fill(USER)
    page.get_by_label("Lösenord").fill(wrong)
    page.get_by_role("button", name="Logga in").click()
    deadline = time.monotonic() + 30
    while not (failed := [e for e in log.entries() if e.action == "login_failed"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert failed and failed[-1].user == USER and failed[-1].outcome == "failed"
    assert page.get_by_label("Lösenord").is_visible()  # still on the login form
    assert not page.get_by_text("Beslutsstöd, inte beslut.").count()
    for path in app.home.glob("audit*"):
        assert wrong.encode() not in path.read_bytes()
