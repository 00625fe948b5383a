"""Shared fixtures: the real tiny model (SmolLM2-135M-Instruct GGUF through
llama-cpp-python), the real embedding model and a real Chroma store in a
temporary home. A socket guard fails any connection off this machine."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from pathlib import Path

import pytest

from assistant.settings import Settings, disable_telemetry

disable_telemetry()

FIXTURES = Path(__file__).parent / "fixtures"
TINY_MODEL = "smollm2-135m-instruct-q4"
_real_connect = socket.socket.connect


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(sock, address):
    if not _is_local(address):
        raise RuntimeError(f"test tried to connect off this machine: {address!r}")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Any non-loopback connection from the test process fails the test that makes it."""
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


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
