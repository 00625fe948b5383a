"""The admin tab in a real browser (Debian's chromium through Playwright) against ``assistant ui``
started as a subprocess: a summary, a switch of the active model in the tab, and the next summary
on the page naming the new model. The registry is a temporary copy holding the tiny model and a
real renamed copy of it (see tests/test_models.py); extraction is the lexicon and the narrative is
off, so neither model has to run for the provenance to show which one is active."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from assistant.audit import AuditLog
from assistant.models import Registry, add_model, use_model
from assistant.settings import PROJECT_ROOT
from tests.conftest import FIXTURES, TINY_MODEL
from tests.test_models import COPY, renamed_tiny_model
from tests.test_ui import (  # noqa: F401 - browser and page are fixtures
    SUMMARY_TIMEOUT_MS,
    browser,
    free_port,
    login,
    page,
    pick_child,
    summarize,
    wait_for_port,
)

pytestmark = pytest.mark.browser
ADMIN = "sara.admin"
PASSWORD = "admin-lösenord-2025"


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("admin-ui")
    registry_file = folder / "registry.toml"
    shutil.copy(PROJECT_ROOT / "models" / "registry.toml", registry_file)
    registry = Registry.load(registry_file, PROJECT_ROOT / "models")
    add_model(registry, COPY, renamed_tiny_model(folder))
    use_model(registry, TINY_MODEL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "ASSISTANT_HOME": str(folder / "home"),
        "ASSISTANT_LLM__REGISTRY": str(registry_file),
        "ASSISTANT_LLM__MODELS_DIR": str(PROJECT_ROOT / "models"),
        "ASSISTANT_EXTRACTOR__MODE": "lexicon",
        "ASSISTANT_NARRATIVE": "false",
        "ASSISTANT_PRECOMPUTE__BACKGROUND": "false",  # the switch must be the only thing that changes the model
    }
    cli = [sys.executable, "-m", "assistant.cli"]
    subprocess.run([*cli, "ingest", str(FIXTURES / "reports.jsonl")], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "users", "add", ADMIN, "--role", "admin", "--password-stdin"],
        env=env,
        check=True,
        capture_output=True,
        input=PASSWORD + "\n",
        text=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [*cli, "ui", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/", registry_file
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_switch_model_in_admin_tab_changes_next_summary(admin_app, page):  # noqa: F811 - the page fixture
    url, registry_file = admin_app
    login(page, url, ADMIN, PASSWORD)
    pick_child(page, "T1 (2 anmälningar")
    summarize(page, "T1")
    assert f"{TINY_MODEL} (sha256" in page.locator("#summary").inner_text()

    page.get_by_role("tab", name="Administration").click()
    table = page.locator("#admin-models")
    table.get_by_text(COPY, exact=True).first.wait_for()
    assert "Q4_1" in table.inner_text() and "135 M" in table.inner_text()
    page.locator("#admin-model-select input").click()
    page.get_by_role("option", name=COPY).click()
    page.locator("#admin-switch").click()
    page.locator("#admin-message").get_by_text(f"Aktiv modell är nu {COPY}").wait_for()
    assert f"Aktuell modell: {COPY}" in page.locator("#admin-status").inner_text()

    page.locator("#admin-verify").click()
    page.locator("#admin-message").get_by_text(f"OK: {COPY}").wait_for()

    page.get_by_role("tab", name="Ärenden").click()
    summarize(page, "T1")
    page.locator("#summary").get_by_text(f"{COPY} (sha256").wait_for(timeout=SUMMARY_TIMEOUT_MS)
    assert Registry.load(registry_file).active == COPY
    log = AuditLog(registry_file.parent / "home" / "audit.sqlite3").entries()
    switches = [(e.user, e.outcome) for e in log if e.action == "admin_change" and e.detail == f"modell {COPY}"]
    assert switches == [(ADMIN, "ok")]
