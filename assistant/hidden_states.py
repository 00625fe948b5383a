"""Passage features from a GGUF language model's own hidden states (llama-cpp-python embedding mode).

The default LLM reads Swedish far better than the English MiniLM: a linear classifier on its
mean-pooled last hidden states found indicators in reports by writers it had never seen, where
tuned cue phrases did not (README "Extraction"). The cost is one forward pass per passage, so the
classifier caches its probabilities per passage (``assistant/classifier.py``) and training may keep
the vectors in a ``FeatureCache``.
"""

from __future__ import annotations

import ctypes
import hashlib
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.models import Registry, verify

CONTEXT_TOKENS = 1024  # a passage is at most 400 characters


def encoder_name(model_name: str, sha256: str) -> str:
    """Recorded in a trained classifier: another model, or another file under the same name, differs."""
    return f"{model_name}@{sha256[:12]}+mean"


class FeatureCache:
    """Vectors by (encoder, text) in one SQLite file, so retraining does not run the model again."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    @staticmethod
    def _key(encoder: str, text: str) -> str:
        return hashlib.sha256(f"{encoder}\n{text}".encode()).hexdigest()

    def get(self, encoder: str, text: str) -> np.ndarray | None:
        row = self._db.execute("SELECT vector FROM vectors WHERE key = ?", (self._key(encoder, text),)).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32)

    def put(self, encoder: str, texts: list[str], vectors: np.ndarray) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                [(self._key(encoder, t), v.astype(np.float32).tobytes()) for t, v in zip(texts, vectors, strict=True)],
            )


class HiddenStateEncoder:
    """Mean-pooled last hidden states of a registry model (not normalised: the classifier standardises
    them); same interface as ``Embedder``.

    The weights are those of the loaded generator when it is the same file (``shared``), read through
    a small embedding context of its own: the app keeps one copy of the model in memory. Otherwise the
    encoder loads the file itself. The context comes from llama-cpp-python's ``_internals`` (the
    version is pinned in requirements.txt); ``tests/test_classifier_llm.py`` checks its vectors.
    """

    def __init__(
        self,
        registry: Registry,
        model_name: str | None,
        n_threads: int,
        cache: FeatureCache | None = None,
        shared: Callable[[], object | None] | None = None,
    ):
        self._entry = registry.entry(model_name)
        self._registry = registry
        self.name = encoder_name(self._entry.name, self._entry.sha256)
        self.model_name = self._entry.name
        self.sha256 = self._entry.sha256
        self._n_threads = n_threads
        self._cache = cache
        self._shared = shared  # returns a llama_cpp.Llama of this very file, or None
        self._llama = None
        self._context = None
        self._batch = None
        self._lock = threading.Lock()  # one llama.cpp context is not safe across threads
        self.passes = 0  # passages run through the model, for tests and benchmarks
        self.shares_weights = False

    def _open(self) -> None:
        import llama_cpp
        from llama_cpp import _internals

        llama = self._shared() if self._shared else None
        self.shares_weights = llama is not None
        if llama is None:  # weights of its own; the context below does the work
            llama = llama_cpp.Llama(str(verify(self._registry, self._entry)), n_ctx=64, n_batch=64, verbose=False)
        params = llama_cpp.llama_context_params()  # the loaded model's own, so the numerics match Llama.embed
        ctypes.memmove(ctypes.byref(params), ctypes.byref(llama.context_params), ctypes.sizeof(params))
        params.n_ctx = params.n_batch = params.n_ubatch = CONTEXT_TOKENS
        params.n_seq_max = 1
        params.n_threads = params.n_threads_batch = self._n_threads
        params.embeddings = True
        params.pooling_type = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        self._context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self._batch = _internals.LlamaBatch(n_tokens=CONTEXT_TOKENS, embd=0, n_seq_max=1, verbose=False)
        self._llama = llama

    def _run(self, texts: list[str]) -> list[np.ndarray]:
        """One passage per decode, as ``llama_cpp.Llama.embed`` runs them with its one sequence per
        context (the classifier was first trained on its vectors)."""
        import llama_cpp

        if self._context is None:
            self._open()
        dim = self._llama.n_embd()
        vectors = []
        for text in texts:
            self._batch.reset()
            self._batch.add_sequence(self._llama.tokenize(text.encode("utf-8"))[:CONTEXT_TOKENS], 0, True)
            self._context.kv_cache_clear()
            self._context.decode(self._batch)
            vectors.append(np.array(llama_cpp.llama_get_embeddings_seq(self._context.ctx, 0)[:dim], dtype=np.float32))
        self._context.kv_cache_clear()
        return vectors

    def embed(self, texts: list[str]) -> list[list[float]]:
        cached = [self._cache.get(self.name, t) if self._cache else None for t in texts]
        missing = list(dict.fromkeys(t for t, v in zip(texts, cached, strict=True) if v is None))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            with self._lock:
                fresh = dict(zip(missing, self._run(missing), strict=True))
                self.passes += len(missing)
            if self._cache:
                self._cache.put(self.name, missing, np.asarray([fresh[t] for t in missing]))
        return [(v if v is not None else fresh[t]).tolist() for t, v in zip(texts, cached, strict=True)]
