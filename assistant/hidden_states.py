"""Passage features from a GGUF language model's own hidden states (llama-cpp-python embedding mode).

The default LLM reads Swedish far better than the English MiniLM: a linear classifier on its
mean-pooled last hidden states found indicators in reports by writers it had never seen, where
tuned cue phrases did not (README "Extraction"). The cost is one forward pass per passage, so the
classifier caches its probabilities per passage (``assistant/classifier.py``) and training may keep
the vectors in a ``FeatureCache``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from assistant.models import Registry, verify

BATCH = 16  # passages per llama.cpp batch; 16 passages of <= 400 characters fit 1,024 tokens
CONTEXT_TOKENS = 1024


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
    them); same interface as ``Embedder``."""

    def __init__(self, registry: Registry, model_name: str | None, n_threads: int, cache: FeatureCache | None = None):
        self._entry = registry.entry(model_name)
        self._registry = registry
        self.name = encoder_name(self._entry.name, self._entry.sha256)
        self.model_name = self._entry.name
        self.sha256 = self._entry.sha256
        self._n_threads = n_threads
        self._cache = cache
        self._llama = None
        self._lock = threading.Lock()  # one llama.cpp context is not safe across threads
        self.passes = 0  # passages run through the model, for tests and benchmarks

    def _model(self):
        if self._llama is None:
            import llama_cpp

            self._llama = llama_cpp.Llama(
                str(verify(self._registry, self._entry)),
                embedding=True,
                pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                n_ctx=CONTEXT_TOKENS,
                n_batch=CONTEXT_TOKENS,
                n_ubatch=CONTEXT_TOKENS,
                n_threads=self._n_threads,
                n_threads_batch=self._n_threads,
                verbose=False,
            )
        return self._llama

    def embed(self, texts: list[str]) -> list[list[float]]:
        cached = [self._cache.get(self.name, t) if self._cache else None for t in texts]
        missing = [t for t, v in zip(texts, cached, strict=True) if v is None]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            with self._lock:
                llama = self._model()
                for start in range(0, len(missing), BATCH):
                    batch = missing[start : start + BATCH]
                    fresh.update(zip(batch, np.asarray(llama.embed(batch), dtype=np.float32), strict=True))
                    self.passes += len(batch)
            if self._cache:
                self._cache.put(self.name, list(fresh), np.asarray(list(fresh.values())))
        return [(v if v is not None else fresh[t]).tolist() for t, v in zip(texts, cached, strict=True)]
