"""The admin tab's logic (ui/admin.py) on a real assistant: the tiny model and a real renamed copy
of it (see tests/test_models.py) in a temporary registry, lexicon extraction, the model writing
the narrative. The Gradio layout itself is only built here, not clicked in a browser."""

from __future__ import annotations

import shutil

import gradio as gr
import pytest

from assistant.models import Registry, add_model, sha256_file
from assistant.pipeline import Assistant
from assistant.settings import PROJECT_ROOT
from tests.conftest import TINY_MODEL, tiny_settings
from tests.test_models import COPY, renamed_tiny_model, tiny_model_file
from ui.admin import ModelAdmin, build_admin_tab, rss_bytes


@pytest.fixture
def admin_assistant(tmp_path, embedder, fixture_file):
    registry_file = tmp_path / "registry.toml"
    shutil.copy(PROJECT_ROOT / "models" / "registry.toml", registry_file)
    registry = Registry.load(registry_file, PROJECT_ROOT / "models")
    add_model(registry, COPY, renamed_tiny_model(tmp_path))
    settings = tiny_settings(tmp_path / "home")
    settings.llm.registry = registry_file
    settings.llm.models_dir = PROJECT_ROOT / "models"
    settings.extractor.mode = "lexicon"
    settings.llm.narrative_max_tokens = 24
    assistant = Assistant(settings, embedder=embedder)
    assistant.ingest([fixture_file])
    return assistant


def test_switch_applies_from_the_next_summary_not_to_one_in_flight(admin_assistant, tmp_path):
    admin = ModelAdmin(admin_assistant)
    assert [row[1] for row in admin.rows() if row[0]] == [TINY_MODEL]
    switched: list[str] = []

    def switch_while_writing(_text: str) -> None:
        if not switched:
            switched.append(admin.switch(COPY))

    in_flight = admin_assistant.summarize("T1", on_narrative=switch_while_writing).summary
    assert switched and switched[0].startswith(f"Aktiv modell är nu {COPY}")
    assert in_flight.model.name == TINY_MODEL and in_flight.narrative

    after = admin_assistant.summarize("T1").summary
    assert after.model.name == COPY
    assert after.model.sha256 == sha256_file(tmp_path / "smollm2-copy.gguf")
    assert Registry.load(admin_assistant.settings.llm.registry).active == COPY
    assert [row[1] for row in admin.rows() if row[0]] == [COPY]
    status = admin.status()
    assert f"Aktuell modell: {COPY}" in status and "inläst" in status and "token/s" in status
    assert "MB" in status and rss_bytes() > 50 * 2**20


def test_corrupted_model_is_refused_and_the_current_one_stays(admin_assistant, tmp_path):
    broken = tmp_path / "skadad.gguf"
    shutil.copy(tiny_model_file(), broken)
    add_model(admin_assistant.models.registry(), "skadad", broken)
    with broken.open("r+b") as handle:
        handle.seek(broken.stat().st_size // 2)
        chunk = handle.read(32)
        handle.seek(broken.stat().st_size // 2)
        handle.write(bytes(b ^ 0xFF for b in chunk))
    admin = ModelAdmin(admin_assistant)

    assert admin.verify("skadad").startswith("FEL: skadad")
    assert admin.verify(TINY_MODEL) == f"OK: {TINY_MODEL}"
    assert admin.switch("skadad").startswith("Modellen byttes inte")
    assert admin_assistant.summarize("T1").summary.model.name == TINY_MODEL


def test_tab_builds_inside_the_app(admin_assistant):
    from assistant.access import AccessPolicy

    with gr.Blocks() as page, gr.Tab("Administration") as tab:
        build_admin_tab(tab, admin_assistant, AccessPolicy.for_settings(admin_assistant.settings))
    ids = {block.elem_id for block in page.blocks.values()}
    assert {"admin-models", "admin-switch", "admin-verify", "admin-status"} <= ids
