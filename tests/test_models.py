"""The model registry as an administrator uses it: ``assistant models add | verify | use | remove``
in a subprocess, on a temporary copy of models/registry.toml (the repository's registry is never
written). The second model is a real GGUF: the tiny model rewritten by the gguf package's own
``gguf_new_metadata`` tool with another general.name, so it loads and runs but has its own sha256.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import UserError
from assistant.models import Registry, add_model, sha256_file
from assistant.settings import PROJECT_ROOT, Settings
from tests.conftest import TINY_MODEL
from vectorstore.embeddings import embedding_name

COPY = "smollm2-copy"


def tiny_model_file() -> Path:
    settings = Settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    return registry.file_path(registry.entry(TINY_MODEL))


def renamed_tiny_model(folder: Path) -> Path:
    source = tiny_model_file()
    target = folder / "smollm2-copy.gguf"
    subprocess.run(
        [sys.executable, "-m", "gguf.scripts.gguf_new_metadata", str(source), str(target), "--general-name", COPY],
        check=True,
        capture_output=True,
        input="y\n",
        text=True,
    )
    return target


@pytest.fixture(scope="module")
def second_model(tmp_path_factory) -> Path:
    return renamed_tiny_model(tmp_path_factory.mktemp("second-model"))


@pytest.fixture
def registry_file(tmp_path) -> Path:
    target = tmp_path / "registry.toml"
    shutil.copy(PROJECT_ROOT / "models" / "registry.toml", target)
    return target


def cli(registry: Path, *args: str, home: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environment.update(
        {
            "ASSISTANT_LLM__REGISTRY": str(registry),
            "ASSISTANT_LLM__MODELS_DIR": str(PROJECT_ROOT / "models"),
            "ASSISTANT_EXTRACTOR__MODE": "lexicon",
            "ASSISTANT_LLM__NARRATIVE_MAX_TOKENS": "24",
            **env,
        }
    )
    home_args = ["--home", str(home)] if home else []
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *home_args, *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=600,
    )


def test_add_records_sha256_and_gguf_metadata_keeping_comments(registry_file, second_model):
    added = cli(registry_file, "models", "add", str(second_model), "--name", COPY)
    assert added.returncode == 0, added.stderr

    text = registry_file.read_text()
    assert text.startswith("# Model registry: which GGUF files")
    assert "# Concatenated in this order" in text
    entry = Registry.load(registry_file).entry(COPY)
    assert entry.sha256 == sha256_file(second_model)
    assert entry.file == str(second_model.resolve())
    assert entry.source == "local"
    assert entry.chat_format == "chatml"
    assert entry.context_length == 8192
    assert entry.metadata["architecture"] == "llama"
    assert entry.metadata["quantisation"] == "Q4_1"
    assert entry.metadata["parameters"] == 134_515_008
    assert entry.metadata["name"] == COPY

    listing = cli(registry_file, "models", "list")
    assert f"{COPY}\tfinns" in listing.stdout and "quantisation=Q4_1" in listing.stdout
    twice = cli(registry_file, "models", "add", str(second_model), "--name", COPY)
    assert twice.returncode == 2 and "finns redan" in twice.stderr


def test_add_refuses_a_file_that_is_not_gguf(registry_file, tmp_path):
    fake = tmp_path / "modell.gguf"
    fake.write_text("inte en modell\n")
    before = registry_file.read_bytes()

    result = cli(registry_file, "models", "add", str(fake))

    assert result.returncode == 2
    assert str(fake) in result.stderr and "ingen GGUF-modell" in result.stderr
    assert registry_file.read_bytes() == before
    assert not list(registry_file.parent.glob("*.partial"))


def test_corrupted_model_fails_verify_and_cannot_be_activated(registry_file, tmp_path):
    copy = tmp_path / "skadad.gguf"
    shutil.copy(tiny_model_file(), copy)
    assert cli(registry_file, "models", "add", str(copy), "--name", "skadad").returncode == 0
    assert cli(registry_file, "models", "verify", "skadad").returncode == 0
    with copy.open("r+b") as handle:  # flip bytes in the tensor data, after registration
        handle.seek(copy.stat().st_size // 2)
        chunk = handle.read(64)
        handle.seek(copy.stat().st_size // 2)
        handle.write(bytes(b ^ 0xFF for b in chunk))

    verify = cli(registry_file, "models", "verify", "skadad")
    assert verify.returncode == 2 and "FEL  skadad" in verify.stdout and "corrupt" in verify.stdout
    use = cli(registry_file, "models", "use", "skadad")
    assert use.returncode == 2 and "corrupt" in use.stderr
    assert Registry.load(registry_file).active == "qwen2.5-coder-1.5b-instruct-q4"


def test_remove_keeps_the_file_unless_asked_and_never_removes_the_active_model(registry_file, tmp_path, second_model):
    copy = tmp_path / "copy.gguf"
    shutil.copy(second_model, copy)
    assert cli(registry_file, "models", "add", str(copy), "--name", COPY).returncode == 0

    active = cli(registry_file, "models", "remove", "qwen2.5-coder-1.5b-instruct-q4")
    assert active.returncode == 2 and "aktiv" in active.stderr

    kept = cli(registry_file, "models", "remove", COPY)
    assert kept.returncode == 0, kept.stderr
    assert COPY not in Registry.load(registry_file).models and copy.exists()

    assert cli(registry_file, "models", "add", str(copy), "--name", COPY).returncode == 0
    deleted = cli(registry_file, "models", "remove", COPY, "--delete-file")
    assert deleted.returncode == 0 and not copy.exists()


def test_models_use_changes_the_provenance_of_the_next_summary(registry_file, second_model, fixture_file, tmp_path):
    """Lexicon extraction, narrative by the model: each summary loads the active model and writes with it."""
    home = tmp_path / "home"
    assert cli(registry_file, "models", "add", str(second_model), "--name", COPY).returncode == 0
    assert cli(registry_file, "models", "use", TINY_MODEL).returncode == 0
    assert cli(registry_file, "ingest", str(fixture_file), home=home).returncode == 0

    first = cli(registry_file, "summarize", "T1", "--format", "json", home=home)
    assert first.returncode == 0, first.stderr
    used = cli(registry_file, "models", "use", COPY)
    assert used.returncode == 0 and f"{COPY} är nu aktiv" in used.stdout
    second = cli(registry_file, "summarize", "T1", "--format", "json", home=home)
    assert second.returncode == 0, second.stderr

    before, after = json.loads(first.stdout), json.loads(second.stdout)
    assert before["model"]["name"] == TINY_MODEL
    assert after["model"] == {"name": COPY, "sha256": sha256_file(second_model)}
    assert after["indicators"] and after["narrative"]
    assert after["settings"]["extractor.mode"] == "lexicon"
    assert after["embedding_model"] == embedding_name(Settings().embedding)


def test_add_refuses_a_truncated_gguf_naming_it(registry_file, tmp_path):
    truncated = tmp_path / "avbruten.gguf"
    with tiny_model_file().open("rb") as source:
        truncated.write_bytes(source.read(200_000))  # the header starts right, the tensors are missing
    registry = Registry.load(registry_file, PROJECT_ROOT / "models")
    before = registry_file.read_bytes()

    with pytest.raises(UserError, match=f"{truncated}: GGUF-filen är skadad"):
        add_model(registry, "avbruten", truncated)
    assert registry_file.read_bytes() == before and "avbruten" not in registry.models
