"""Changing the embedding model: refused until ``assistant reindex``, which keeps every report.

Only one embedding model is installed (all-MiniLM-L6-v2, 384 dimensions). The second one is a
real sentence-transformers model built here from it: the same modules plus a Dense layer
(384 -> 32, weights from a fixed seed) saved to a temporary folder and named by
``embedding.path``; it embeds differently and in another dimension, which is what a swap changes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assistant.errors import UserError
from assistant.pipeline import Assistant
from assistant.settings import PROJECT_ROOT, EmbeddingSettings
from tests.conftest import tiny_settings
from vectorstore.embeddings import embedding_name

SECOND = "minilm-dense32"


@pytest.fixture(scope="module")
def second_embedding(tmp_path_factory):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    from vectorstore.embeddings import model_folder

    torch.manual_seed(0)
    base = SentenceTransformer(str(model_folder(EmbeddingSettings())), device="cpu", local_files_only=True)
    dense = Dense(in_features=384, out_features=32, bias=False, activation_function=torch.nn.Identity())
    model = SentenceTransformer(modules=[*base, dense], device="cpu")
    folder = tmp_path_factory.mktemp("embedding") / SECOND
    model.save(str(folder))
    return folder


def swapped_settings(home, folder):
    settings = tiny_settings(home)
    settings.embedding.model = SECOND
    settings.embedding.path = folder
    settings.extractor.mode = "lexicon"
    settings.narrative = False
    settings.retrieval.context_budget_tokens = 40  # T1 does not fit: the summary needs the index
    return settings


def test_swap_is_refused_until_reindex(make_assistant, second_embedding, fixture_file, tmp_path):
    home = tmp_path / "home"
    first = make_assistant(home)
    assert not any(r.error for r in first.ingest([fixture_file]))
    reports_before = [(c.child_id, c.reports) for c in first.store.children()]

    swapped = Assistant(swapped_settings(home, second_embedding))
    assert swapped.embedder.dim == 32
    with pytest.raises(UserError) as refusal:
        swapped.summarize("T1")
    message = str(refusal.value)
    assert "all-MiniLM-L6-v2" in message and SECOND in message and "(384 dimensions)" in message
    assert "assistant reindex" in message

    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environment |= {"ASSISTANT_EMBEDDING__MODEL": SECOND, "ASSISTANT_EMBEDDING__PATH": str(second_embedding)}
    reindex = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--home", str(home), "reindex"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=600,
    )
    assert reindex.returncode == 0, reindex.stderr
    assert f"3 anmälningar indexerade med {SECOND}" in reindex.stdout

    again = Assistant(swapped_settings(home, second_embedding))
    run = again.summarize("T1")
    assert run.selection.mode == "retrieved"
    assert run.summary.embedding_model == embedding_name(again.settings.embedding) == again.embedder.name
    assert run.summary.embedding_model.startswith(SECOND) and run.summary.indicators
    assert [(c.child_id, c.reports) for c in again.store.children()] == reports_before
    assert again.index.count() == len(again.store.passage_ids())
    old = make_assistant(home)
    old.settings.retrieval.context_budget_tokens = 40
    with pytest.raises(UserError, match="assistant reindex"):
        old.summarize("T1")  # and now the old model is the one refused
