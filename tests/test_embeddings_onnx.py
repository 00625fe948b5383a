"""The ONNX Runtime embedding backend: exported from the local model files, close to torch, named apart.

Real models on both sides: the installed all-MiniLM-L6-v2 run by torch (sentence-transformers) and
its int8 ONNX export run by ONNX Runtime (exported on first use beside the model, then reused).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from assistant.errors import UserError
from assistant.pipeline import Assistant
from assistant.settings import EmbeddingSettings
from bench.generate import corpus_sentences
from tests.conftest import tiny_settings
from vectorstore.embeddings import Embedder, model_folder
from vectorstore.onnx_embedding import export_key, exported_files


@pytest.fixture(scope="module")
def torch_embedder():
    return Embedder(EmbeddingSettings(backend="torch"))


def test_onnx_vectors_are_unit_length_and_close_to_torch(embedder, torch_embedder):
    sentences = corpus_sentences()
    random.Random(3).shuffle(sentences)
    texts = [*sentences[:40], "Kort.", "ett " * 300]  # also a one-word passage and one cut at max_seq_length
    assert embedder.name == "all-MiniLM-L6-v2+onnx-int8" and torch_embedder.name == "all-MiniLM-L6-v2"
    onnx_vectors = np.asarray(embedder.embed(texts))
    torch_vectors = np.asarray(torch_embedder.embed(texts))
    assert onnx_vectors.shape == torch_vectors.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    cosines = (onnx_vectors * torch_vectors).sum(axis=1)  # row by row: a text mixed up by the batching fails here
    assert cosines.min() > 0.97 and cosines.mean() > 0.985
    alone = np.asarray(embedder.embed(texts[:1]))[0]
    np.testing.assert_allclose(alone, onnx_vectors[0], atol=1e-6)  # a vector does not depend on its neighbours


def test_export_is_reused_and_keyed_by_model_files_and_variant(embedder, tmp_path):
    settings = EmbeddingSettings()
    model, meta = exported_files(model_folder(settings), settings)
    stamp = model.stat().st_mtime_ns
    Embedder(settings)
    assert model.stat().st_mtime_ns == stamp and meta.exists()
    assert not list(model.parent.glob(".export-*"))  # no half-written export left behind

    (tmp_path / "config.json").write_text("{}")
    key = export_key(tmp_path, settings)
    assert export_key(tmp_path, EmbeddingSettings(quantize=False)) != key
    (tmp_path / "config.json").write_text('{"changed": 1}')
    assert export_key(tmp_path, settings) != key


def test_index_records_the_backend_and_refuses_the_other(embedder, torch_embedder, fixture_file, tmp_path):
    home = tmp_path / "home"
    onnx_assistant = Assistant(tiny_settings(home), embedder=embedder)
    assert not any(r.error for r in onnx_assistant.ingest([fixture_file]))
    assert onnx_assistant.index._collection.metadata["embedding_model"] == "all-MiniLM-L6-v2+onnx-int8"
    onnx_assistant.store.close()

    settings = tiny_settings(home)
    settings.embedding.backend = "torch"
    with pytest.raises(UserError, match=r"all-MiniLM-L6-v2\+onnx-int8.*assistant reindex"):
        Assistant(settings, embedder=torch_embedder).index  # noqa: B018 - opening the index is the check
