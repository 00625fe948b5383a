"""Passage features from a GGUF language model's own hidden states (llama.cpp's eval callback).

The default LLM reads Swedish far better than the English MiniLM: a linear classifier on its
mean-pooled hidden states found indicators in reports by writers it had never seen, where tuned cue
phrases did not (README "Extraction"). The middle layers carry more of it than the last one (blind
set A: 0.65 against 0.53 micro-F1), so the encoder reads the residual stream after chosen layers
through llama.cpp's eval callback and stops the pass there. The cost is a (partial) forward pass
per passage (two with ``context``), so the classifier caches its probabilities per passage
(``assistant/classifier.py``) and training may keep the vectors in a ``FeatureCache``.

With ``context`` a passage is read twice: alone, and inside one pass over its report, where the
states of its own tokens have seen what came before ("han gjorde det igen"). The two pooled vectors
are averaged. With the extra writers' sets in training this lifted the classifier on blind set A
from 0.65 to 0.72 micro-F1 (README "Extraction").
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import UserError
from assistant.models import Registry, verify
from assistant.passages import by_report

if TYPE_CHECKING:
    from assistant.schema import Passage

STORE_EVERY = 64  # passages read alone between writes to the feature cache
CONTEXT_TOKENS = 2048  # a passage is at most 400 characters; a longer report is read in windows of this size


def encoder_name(model_name: str, sha256: str, layers: tuple[int, ...] = (), context: bool = False) -> str:
    """Recorded in a trained classifier: another model, another file under the same name, other
    layers or another reading differ. No layers: the model's final (normalised) output."""
    band = "-l" + "-".join(map(str, layers)) if layers else ""
    return f"{model_name}@{sha256[:12]}+mean{band}" + ("+report" if context else "")


def layers_at(registry: Registry, model_name: str | None, depths: tuple[float, ...]) -> tuple[int, ...]:
    """Layer numbers at fractions of a model's depth, so one recipe fits a model of any size.
    Reads the file's header and vocabulary only, not its weights."""
    import llama_cpp
    from llama_cpp import _internals

    if not depths:
        return ()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    path = verify(registry, registry.entry(model_name))
    header = _internals.LlamaModel(path_model=str(path), params=params, verbose=False)
    try:
        metadata = header.metadata()
        n_layer = int(metadata[f"{metadata['general.architecture']}.block_count"])
    finally:
        header.close()
    return tuple(sorted({min(n_layer - 1, round(depth * n_layer)) for depth in depths}))


@functools.cache
def _ggml() -> ctypes.CDLL:
    """The ggml library llama-cpp-python loaded, with the signatures the eval callback needs
    (a handle of our own, so llama_cpp's bindings stay as they are)."""
    from llama_cpp import _ggml as bundled

    ggml = ctypes.CDLL(bundled.libggml._name)
    ggml.ggml_get_name.restype, ggml.ggml_get_name.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
    ggml.ggml_nbytes.restype, ggml.ggml_nbytes.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
    ggml.ggml_backend_tensor_get.restype = None
    ggml.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    return ggml


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
    """Mean-pooled hidden states of a registry model, averaged over ``layers`` (none: the final output);
    not normalised, the classifier standardises them. Same interface as ``Embedder``; with ``context``,
    ``embed_passages`` also reads each passage inside its report (the module docstring says why).

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
        layers: tuple[int, ...] = (),
        context: bool = False,
    ):
        self._entry = registry.entry(model_name)
        self._registry = registry
        self.layers = tuple(sorted(layers))
        self.context = context
        if context and not self.layers:
            raise ValueError("reading passages in their report needs layers to capture")
        self._wanted = {f"l_out-{layer}": layer for layer in self.layers}  # llama.cpp's node names
        self._alone_name = encoder_name(self._entry.name, self._entry.sha256, self.layers)  # cache key of `embed`
        self.name = encoder_name(self._entry.name, self._entry.sha256, self.layers, context)
        self.model_name = self._entry.name
        self.sha256 = self._entry.sha256
        self._n_threads = n_threads
        self._cache = cache
        self._shared = shared  # returns a llama_cpp.Llama of this very file, or None
        self._llama = None
        self._context = None
        self._batch = None
        self._captured: dict[int, np.ndarray] = {}
        self._tokens = 0  # of the passage in the running decode
        self._callback = None  # kept referenced: llama.cpp calls it during every decode
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
        if self.layers:
            self._callback = llama_cpp.ggml_backend_sched_eval_callback(self._capture)
            params.cb_eval = self._callback
        self._context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self._batch = _internals.LlamaBatch(n_tokens=CONTEXT_TOKENS, embd=0, n_seq_max=1, verbose=False)
        self._llama = llama

    def _capture(self, tensor: int, ask: bool, _user_data) -> bool:
        """llama.cpp's eval callback: asked about each graph node, then handed the ones we wanted.
        The output of layer N is the node "l_out-N"; returning False after the deepest one stops the pass."""
        ggml = _ggml()
        layer = self._wanted.get(ggml.ggml_get_name(tensor).decode(errors="replace"))
        if layer is None:
            return not ask  # not wanted; and when handed one anyway, go on
        if ask:
            return True
        size = ggml.ggml_nbytes(tensor)
        if size != self._tokens * self._llama.n_embd() * 4:  # (tokens, n_embd) float32 on the CPU backend
            return False  # not the shape we know: stop, and _run reports the layer missing
        states = np.empty(size // 4, dtype=np.float32)
        ggml.ggml_backend_tensor_get(tensor, states.ctypes.data, 0, size)
        self._captured[layer] = states.reshape(self._tokens, -1)
        return layer != self.layers[-1]

    def _decode(self, tokens: list[int]) -> np.ndarray | None:
        """One pass over ``tokens``: the captured layers' states averaged, (tokens, n_embd); None without layers."""
        if self._context is None:
            self._open()
        self._captured.clear()
        self._tokens = len(tokens)
        self._batch.reset()
        self._batch.add_sequence(tokens, 0, True)
        self._context.kv_cache_clear()
        self._context.decode(self._batch)
        if not self.layers:
            return None
        missing = [layer for layer in self.layers if layer not in self._captured]
        if missing:
            raise UserError(
                f"{self.model_name} gave no float32 output of layer(s) {missing} ('l_out-N' in llama.cpp's "
                "graph); retrain the classifier with 'assistant train --features llm' on a model that does"
            )
        return np.mean([self._captured[layer] for layer in self.layers], axis=0)

    def _run(self, texts: list[str]) -> list[np.ndarray]:
        """One passage per decode, as ``llama_cpp.Llama.embed`` runs them with its one sequence per
        context (the classifier was first trained on its vectors)."""
        import llama_cpp

        if self._context is None:
            self._open()
        vectors = []
        for text in texts:
            states = self._decode(self._llama.tokenize(text.encode("utf-8"))[:CONTEXT_TOKENS])
            if states is not None:
                vectors.append(states.mean(axis=0))
            else:  # the model's final, pooled output
                dim = self._llama.n_embd()
                vectors.append(
                    np.array(llama_cpp.llama_get_embeddings_seq(self._context.ctx, 0)[:dim], dtype=np.float32)
                )
        self._context.kv_cache_clear()
        return vectors

    def _run_report(self, texts: list[str]) -> list[np.ndarray]:
        """The passages of one report read in one pass (a window of ``CONTEXT_TOKENS`` at most), each
        pooled over its own tokens."""
        if self._context is None:
            self._open()
        pieces = [
            self._llama.tokenize((" " if i else "").encode() + text.encode("utf-8"), add_bos=not i)[:CONTEXT_TOKENS]
            for i, text in enumerate(texts)
        ]
        vectors: list[np.ndarray] = []
        while len(vectors) < len(pieces):
            window, spans = [], []
            for piece in pieces[len(vectors) :]:
                if spans and len(window) + len(piece) > CONTEXT_TOKENS:
                    break
                spans.append((len(window), len(window) + len(piece)))
                window += piece
            states = self._decode(window)
            vectors += [states[start:end].mean(axis=0) for start, end in spans]
        self._context.kv_cache_clear()
        return vectors

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Each text read alone."""
        return self._embed_cached(self._alone_name, texts, self._run, STORE_EVERY).tolist()

    def _embed_cached(
        self, name: str, keys: list[str], run: Callable[[list[str]], list[np.ndarray]], store_every: int | None = None
    ) -> np.ndarray:
        """Vectors by key from the cache, the missing ones from ``run`` (called with those keys, in order;
        with ``store_every``, that many at a time, each lot cached before the next, so an interrupted
        training keeps what it has read)."""
        cached = [self._cache.get(name, k) if self._cache else None for k in keys]
        missing = list(dict.fromkeys(k for k, v in zip(keys, cached, strict=True) if v is None))
        fresh: dict[str, np.ndarray] = {}
        step = store_every or len(missing) or 1
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            with self._lock:
                read = run(chunk)
                self.passes += len(chunk)
            fresh.update(zip(chunk, read, strict=True))
            if self._cache:
                self._cache.put(name, chunk, np.asarray(read))
        return np.asarray([v if v is not None else fresh[k] for k, v in zip(keys, cached, strict=True)])

    def embed_passages(self, passages: list[Passage]) -> list[list[float]]:
        """Vectors of passages (``assistant.schema.Passage``). With ``context``, each passage's vector
        alone is averaged with its vector read among the passages given of its report, in their order."""
        alone = self._embed_cached(self._alone_name, [p.text for p in passages], self._run, STORE_EVERY)
        if not self.context:
            return alone.tolist()
        in_report: dict[str, np.ndarray] = {}
        for members in by_report(passages).values():
            texts = [p.text for p in members]
            keys = [json.dumps([texts, i], ensure_ascii=False) for i in range(len(texts))]

            def run(missing: list[str], keys=keys, texts=texts) -> list[np.ndarray]:
                read = dict(zip(keys, self._run_report(texts), strict=True))  # the context is the whole report
                return [read[key] for key in missing]

            vectors = self._embed_cached(self.name, keys, run)
            in_report.update({p.passage_id: v for p, v in zip(members, vectors, strict=True)})
        return [((a + in_report[p.passage_id]) / 2).tolist() for p, a in zip(passages, alone, strict=True)]
