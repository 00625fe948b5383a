"""Shared fixtures: the real tiny model (SmolLM2-135M-Instruct GGUF through
llama-cpp-python), the real embedding model and a real Chroma store in a
temporary home. A socket guard (tests/netguard) fails any connection off this machine."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from pathlib import Path

import pytest

from assistant.schema import Passage
from assistant.settings import Settings, disable_telemetry
from tests.netguard.sitecustomize import guarded_connect

disable_telemetry()

FIXTURES = Path(__file__).parent / "fixtures"
TINY_MODEL = "smollm2-135m-instruct-q4"
# The default classifier reads the 1.5B model's hidden states, which `make test` does not fetch;
# tests use the one on MiniLM features, and tests/test_classifier_llm.py trains one on the tiny model's.
MINILM_CLASSIFIER = Path(__file__).resolve().parents[1] / "models" / "classifier.npz"
NETGUARD = Path(__file__).parent / "netguard"


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Any non-loopback connection from the test process, or from a Python subprocess it starts, fails."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded_connect)
        patch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH")) if p))
        patch.setenv("ASSISTANT_EXTRACTOR__CLASSIFIER_PATH", str(MINILM_CLASSIFIER))
        yield


def make_passage(
    text: str, report_id: str = "R1", n: int = 1, child_id: str = "C1", date: dt.date = dt.date(2024, 1, 1)
) -> Passage:
    """A report's passage that spans its whole text (the report is the passage)."""
    return Passage(
        passage_id=f"{report_id}:{n}",
        report_id=report_id,
        child_id=child_id,
        n=n,
        start=0,
        end=len(text),
        text=text,
        date=date,
        reporter="skola",
    )


def tiny_settings(home: Path, **overrides) -> Settings:
    settings = Settings(home=home, **overrides)
    settings.llm.model = TINY_MODEL
    settings.extractor.mode = "judge"  # the tests exercise the model path, not only the default lexicon
    settings.llm.n_ctx = 4096
    settings.llm.max_tokens = 160
    settings.llm.narrative_max_tokens = 64
    return settings


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory):
    from assistant.llm import load_llm

    return load_llm(tiny_settings(tmp_path_factory.mktemp("llm")).llm)


@pytest.fixture(scope="session")
def embedder():
    from vectorstore.embeddings import Embedder

    return Embedder(Settings().embedding)


@pytest.fixture
def make_assistant(tmp_path, tiny_llm, embedder):
    """A factory for assistants on a fresh home, sharing the loaded models."""
    from assistant.pipeline import Assistant

    def make(home: Path | None = None, **overrides):
        return Assistant(tiny_settings(home or tmp_path / "home", **overrides), llm=tiny_llm, embedder=embedder)

    return make


@pytest.fixture
def fixture_file(tmp_path) -> Path:
    target = tmp_path / "reports.jsonl"
    shutil.copy(FIXTURES / "reports.jsonl", target)
    return target
