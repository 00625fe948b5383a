"""The same ingest and summary through the embedded backends (llama-cpp-python in-process,
persistent Chroma) and through real servers (``python -m llama_cpp.server`` with the tiny
model, ``chroma run``), both started once for this module on 127.0.0.1.

The summary runs in judge mode, so the server path exercises label scoring by completion
logprobs, and with a small context budget, so passages are retrieved through the index.
"""

from __future__ import annotations

import uuid

import pytest

from assistant.pipeline import Assistant
from tests.conftest import TINY_MODEL, tiny_settings
from tests.servers import chroma_server, llama_server

MESSAGES = [
    {"role": "system", "content": "Svara bara Ja eller Nej."},
    {"role": "user", "content": "Passage: Pappa slog barnet med handen. Beskriver passagen fysiskt våld?"},
]
RESULTS: dict[str, tuple] = {}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("servers")
    with chroma_server(folder) as chroma_port, llama_server(folder) as llama_port:
        yield {"chroma": chroma_port, "llama": llama_port}


def server_settings(home, servers):
    settings = tiny_settings(home)
    settings.llm.backend = "openai"
    settings.llm.base_url = f"http://127.0.0.1:{servers['llama']}/v1"
    settings.vectorstore.backend = "chroma_http"
    settings.vectorstore.port = servers["chroma"]
    settings.vectorstore.collection = f"passages-{uuid.uuid4().hex[:8]}"
    return settings


def test_openai_backend_scores_labels_as_in_process(servers, tiny_llm, tmp_path):
    """Label probabilities from the server's logprobs equal the in-process forward pass (up to the
    float differences of evaluating a prompt in other batches: measured below 1e-3)."""
    from assistant.llm import load_llm

    remote = load_llm(server_settings(tmp_path, servers).llm)
    for choices in (["Ja", "Nej"], ["A", "B", "C"]):
        assert remote.score_choices(MESSAGES, choices) == pytest.approx(
            tiny_llm.score_choices(MESSAGES, choices), abs=2e-3
        )


def test_openai_backend_json_follows_schema(servers, tmp_path):
    from assistant.extract import OUTPUT_SCHEMA, parse_output
    from assistant.llm import load_llm

    remote = load_llm(server_settings(tmp_path, servers).llm)
    completion = remote.complete_json(MESSAGES, OUTPUT_SCHEMA, 120)
    parse_output(completion.text)  # raises when the server ignored the schema
    assert completion.completion_tokens > 0


@pytest.mark.parametrize("backend", ["embedded", "servers"])
def test_ingest_and_summary_through_backend(backend, request, make_assistant, embedder, fixture_file, tmp_path):
    if backend == "embedded":
        assistant = make_assistant(tmp_path / "home")
    else:
        servers = request.getfixturevalue("servers")
        assistant = Assistant(server_settings(tmp_path / "home", servers), embedder=embedder)
    assistant.settings.retrieval.context_budget_tokens = 40  # T1 does not fit: retrieval goes through Chroma
    assistant.settings.extractor.parts = ["lexicon"]  # fewer candidates to judge: a quicker test

    results = assistant.ingest([fixture_file])
    assert not any(r.error for r in results)
    run = assistant.summarize("T1")

    assert run.selection.mode == "retrieved"
    assert run.stats.model_calls > 0
    summary = run.summary
    assert summary.model.name == TINY_MODEL
    assert summary.settings["extractor.mode"] == "judge"
    passages = len(assistant.store.passage_ids())
    if backend == "servers":
        import chromadb

        client = chromadb.HttpClient(host="127.0.0.1", port=assistant.settings.vectorstore.port)
        assert client.get_collection(assistant.settings.vectorstore.collection).count() == passages
        assert not (assistant.settings.home / "chroma").exists()
        assert summary.settings["llm.backend"] == "openai"
    else:
        assert assistant.index.count() == passages
        assert (assistant.settings.home / "chroma").is_dir()
        assert summary.settings["llm.backend"] == "llama_cpp"
    RESULTS[backend] = (
        [p.passage_id for p in run.selection.passages],
        [(i.category, i.polarity, [c.passage_id for c in i.citations]) for i in summary.indicators],
    )


def test_backends_agree():
    """Same prompts, same retrieval, same label scores: both backends find the same indicators."""
    if len(RESULTS) < 2:
        pytest.skip("needs both runs of test_ingest_and_summary_through_backend")
    assert RESULTS["embedded"] == RESULTS["servers"]
