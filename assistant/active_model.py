"""The model requests use, switchable while the app runs.

A request takes ``ModelHolder.current()`` once at its start and keeps that
handle to the end, so a switch never changes the model under a request in
flight: the next request gets the new one. A handle loads its model on first
use (listing children or a lexicon-only summary never loads one) and keeps
the speed of its recent calls for the admin tab.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.llm import LLM, Completion, load_llm
from assistant.models import Registry, use_model
from assistant.schema import ModelRef
from assistant.settings import LLMSettings

RECENT_CALLS = 20


@dataclass(frozen=True)
class CallTiming:
    kind: str  # complete_json, stream, score_choices
    tokens: int  # tokens generated (streamed pieces count one each); 0 for label scoring
    seconds: float


class ModelHandle:
    """One registry model behind the LLM interface, loaded on first use, timing every call."""

    def __init__(self, settings: LLMSettings, ref: ModelRef, loaded: LLM | None = None):
        self.ref = ref
        self._settings = settings
        self._llm = loaded
        self._load_lock = threading.Lock()
        self.recent: deque[CallTiming] = deque(maxlen=RECENT_CALLS)

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def model(self) -> LLM:
        with self._load_lock:
            if self._llm is None:
                self._llm = load_llm(self._settings, self.ref.name)
            return self._llm

    def complete_json(self, messages: list[dict], schema: dict, max_tokens: int) -> Completion:
        completion = self.model().complete_json(messages, schema, max_tokens)
        self.recent.append(CallTiming("complete_json", completion.completion_tokens, completion.seconds))
        return completion

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        started, pieces = time.perf_counter(), 0
        for piece in self.model().stream(messages, max_tokens):
            pieces += 1
            yield piece
        self.recent.append(CallTiming("stream", pieces, time.perf_counter() - started))

    def score_choices(self, messages: list[dict], choices: list[str]) -> list[float]:
        started = time.perf_counter()
        scores = self.model().score_choices(messages, choices)
        self.recent.append(CallTiming("score_choices", 0, time.perf_counter() - started))
        return scores

    def tokens_per_second(self) -> float | None:
        """Generated tokens per second over the recent calls that generated text; None before any."""
        generating = [c for c in self.recent if c.tokens]
        seconds = sum(c.seconds for c in generating)
        return sum(c.tokens for c in generating) / seconds if seconds else None


class ModelHolder:
    """Holds the current model handle; ``switch`` verifies the new file before anything changes."""

    def __init__(self, settings: LLMSettings, llm: LLM | None = None):
        self._settings = settings
        self._lock = threading.Lock()
        self._current = ModelHandle(settings, llm.ref, llm) if llm is not None else None

    def registry(self) -> Registry:
        return Registry.load(self._settings.registry, self._settings.models_dir)

    def current(self) -> ModelHandle:
        with self._lock:
            if self._current is None:
                entry = self.registry().entry(self._settings.model)
                self._current = ModelHandle(self._settings, ModelRef(name=entry.name, sha256=entry.sha256))
            return self._current

    def switch(self, name: str) -> ModelHandle:
        """Make ``name`` the registry's active model and point new requests at it, once its file
        passes a full sha256 check; it is loaded on first use."""
        entry = use_model(self.registry(), name)
        handle = ModelHandle(self._settings, ModelRef(name=entry.name, sha256=entry.sha256))
        with self._lock:
            self._current = handle
        return handle
