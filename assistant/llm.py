"""LLM backends behind one small interface, chosen by ``settings.llm.backend``.

``LlamaCppLLM`` runs the GGUF in-process (the default); ``OpenAICompatibleLLM``
talks to any OpenAI-compatible server (llama.cpp's server, vLLM). Both take
the same messages and the same JSON schema, and both are used under a lock:
one model, one request at a time, others wait their turn.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.errors import UserError
from assistant.models import Registry, verify
from assistant.schema import ModelRef
from assistant.settings import LLMSettings


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float


class LLM(Protocol):
    ref: ModelRef

    def complete_json(self, messages: list[dict], schema: dict, max_tokens: int) -> Completion: ...

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]: ...


class LlamaCppLLM:
    """The GGUF loaded in this process with llama-cpp-python (portable CPU build).

    The fixed part of a prompt (instructions, few-shot turns) is evaluated once
    and its KV state kept in memory and on disk (``models/prefix-cache``), so a
    passage costs only its own tokens, even in a fresh process. The state holds
    prompt text only, never report text.
    """

    def __init__(self, settings: LLMSettings, registry: Registry, name: str | None = None):
        from llama_cpp import Llama

        entry = registry.entry(name)
        path = verify(registry, entry)
        self.ref = ModelRef(name=entry.name, sha256=entry.sha256)
        self._lock = threading.Lock()
        self._seed = settings.seed
        self._chat_format = entry.chat_format
        self._states = PrefixStates(settings.models_dir / "prefix-cache", self.ref.sha256, settings)
        self._llama = Llama(
            model_path=str(path),
            n_ctx=min(settings.n_ctx, entry.context_length),
            n_threads=settings.n_threads,
            n_threads_batch=settings.n_threads,
            n_batch=settings.n_batch,
            seed=settings.seed,
            chat_format=entry.chat_format or None,
            verbose=False,
        )

    @property
    def llama(self):
        """The loaded ``llama_cpp.Llama``, for parts that read the same weights (the classifier's encoder)."""
        return self._llama

    def _prime(self, fixed_messages: list[dict]) -> None:
        """Make the model's KV cache hold the fixed messages, loading a saved state when there is one."""
        if self._chat_format != "chatml" or not fixed_messages:
            return  # llama-cpp-python still reuses the common prefix with the previous call
        from llama_cpp.llama_chat_format import format_chatml

        text = format_chatml(fixed_messages).prompt.removesuffix("<|im_start|>assistant\n")
        tokens = self._llama.tokenize(text.encode("utf-8"), special=True)
        if self._llama.n_tokens >= len(tokens) and list(self._llama.input_ids[: len(tokens)]) == tokens:
            return
        state = self._states.get(text)
        if state is None:
            self._llama.reset()
            self._llama.eval(tokens)
            state = self._llama.save_state()
            self._states.put(text, state)
        else:
            state.scores = np.zeros(
                (min(state.n_tokens, self._llama.scores.shape[0]), self._llama.n_vocab()), np.single
            )
            self._llama.load_state(state)

    def complete_json(self, messages: list[dict], schema: dict, max_tokens: int) -> Completion:
        started = time.perf_counter()
        with self._lock:
            self._prime(messages[:-1])
            response = self._llama.create_chat_completion(
                messages=messages,
                response_format={"type": "json_object", "schema": schema},
                temperature=0.0,
                max_tokens=max_tokens,
                seed=self._seed,
            )
        return _completion(response, started)

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        with self._lock:
            self._prime(messages[:-1])
            for chunk in self._llama.create_chat_completion(
                messages=messages, temperature=0.0, max_tokens=max_tokens, stream=True, seed=self._seed
            ):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def score_choices(self, messages: list[dict], choices: list[str]) -> list[float]:
        """Probability of each choice as the answer's first token, from one forward pass (no generation).

        Only the tokens after the longest prefix already in the KV cache are evaluated.
        """
        from llama_cpp.llama_chat_format import format_chatml

        if self._chat_format != "chatml":
            raise UserError(f"label scoring needs a chatml model; {self.ref.name} uses {self._chat_format}")
        with self._lock:
            self._prime(messages[:-1])
            tokens = self._llama.tokenize(format_chatml(messages).prompt.encode("utf-8"), special=True)
            cached = self._llama.input_ids[: self._llama.n_tokens]
            common = 0
            for have, want in zip(cached, tokens, strict=False):
                if have != want:
                    break
                common += 1
            self._llama.n_tokens = min(common, len(tokens) - 1)
            self._llama.eval(tokens[self._llama.n_tokens :])
            logits = np.ctypeslib.as_array(self._llama._ctx.get_logits(), shape=(self._llama.n_vocab(),))
            ids = [self._llama.tokenize(choice.encode("utf-8"), add_bos=False, special=False)[0] for choice in choices]
            chosen = logits[ids].astype(np.float64)
        weights = np.exp(chosen - chosen.max())
        return (weights / weights.sum()).tolist()


class PrefixStates:
    """KV states of fixed prompt prefixes, in memory and as files, keyed by model, settings and text."""

    def __init__(self, folder: Path, model_sha256: str, settings: LLMSettings):
        self.folder = folder
        self._salt = f"{model_sha256}|{settings.n_ctx}|{settings.n_batch}"
        self._memory: dict[str, object] = {}

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._salt}|{text}".encode()).hexdigest()

    def get(self, text: str):
        key = self._key(text)
        if key in self._memory:
            return self._memory[key]
        path = self.folder / f"{key}.state"
        if not path.exists():
            return None
        try:
            with path.open("rb") as handle:
                state = pickle.load(handle)  # noqa: S301 - our own file, written below from prompt text only
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            path.unlink(missing_ok=True)
            return None
        self._memory[key] = state
        return state

    def put(self, text: str, state) -> None:
        key = self._key(text)
        state.scores = np.zeros((0, 0), np.single)  # logits are recomputed from the next token on
        self._memory[key] = state
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f"{key}.partial"
        with partial.open("wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(self.folder / f"{key}.state")


class OpenAICompatibleLLM:
    """A model behind an OpenAI-compatible HTTP server; the registry entry names it for provenance.

    Same prompts and schema as in-process; the answer is validated again by the
    extractor whatever the server did with the schema.
    """

    def __init__(self, settings: LLMSettings, registry: Registry, name: str | None = None):
        entry = registry.entry(name)
        self.ref = ModelRef(name=entry.name, sha256=entry.sha256)
        self._settings = settings
        self._lock = threading.Lock()
        self._token_ids: dict[str, int] = {}  # choice -> first token id; "" -> leading tokens

    def _post(self, payload: dict, endpoint: str = "/chat/completions") -> urllib.request.Request:
        headers = {"Content-Type": "application/json"}
        if self._settings.api_key:
            headers["Authorization"] = f"Bearer {self._settings.api_key}"
        if not self._settings.base_url.startswith(("http://", "https://")):
            raise UserError(f"llm.base_url must be an http(s) address, not '{self._settings.base_url}'")
        return urllib.request.Request(  # noqa: S310 - scheme checked above
            self._settings.base_url.rstrip("/") + endpoint,
            data=json.dumps(
                {"model": self.ref.name, "temperature": 0.0, "seed": self._settings.seed, **payload}
            ).encode(),
            headers=headers,
        )

    def _call(self, request: urllib.request.Request) -> dict:
        try:
            with urllib.request.urlopen(request, timeout=self._settings.timeout_s) as reply:  # noqa: S310
                return json.load(reply)
        except OSError as exc:
            raise UserError(f"the LLM server at {self._settings.base_url} did not answer: {exc}") from None

    def _response_format(self, schema: dict) -> dict:
        if self._settings.json_format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
        return {"type": "json_object", "schema": schema}

    def complete_json(self, messages: list[dict], schema: dict, max_tokens: int) -> Completion:
        started = time.perf_counter()
        request = self._post(
            {"messages": messages, "max_tokens": max_tokens, "response_format": self._response_format(schema)}
        )
        with self._lock:
            response = self._call(request)
        return _completion(response, started)

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        request = self._post({"messages": messages, "max_tokens": max_tokens, "stream": True})
        with self._lock:
            try:
                reply = urllib.request.urlopen(request, timeout=self._settings.timeout_s)  # noqa: S310
            except OSError as exc:
                raise UserError(f"the LLM server at {self._settings.base_url} did not answer: {exc}") from None
            with reply:
                for raw in reply:
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:") or line == "data: [DONE]":
                        continue
                    piece = json.loads(line[5:])["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece

    def score_choices(self, messages: list[dict], choices: list[str]) -> list[float]:
        """Each choice's probability as the answer's first token, as in-process, from completion logprobs.

        The server is asked for one token per choice with that choice's token forced by
        ``logit_bias``; its reported logprob is the model's own (llama.cpp reports logprobs
        before the bias), and the server's prefix cache makes every request after the first
        cost one token. Needs llama-cpp-python's server (``/extras/tokenize``, logprobs on
        ``/v1/completions``) and a chatml model; other servers are refused with a message.
        """
        from llama_cpp.llama_chat_format import format_chatml

        prompt = format_chatml(messages).prompt
        with self._lock:
            ids = self._choice_token_ids(choices)
            logprobs = []
            for token_id in ids:
                response = self._call(
                    self._post(
                        {
                            "prompt": prompt,
                            "max_tokens": 1,
                            "logprobs": 1,
                            "logit_bias": {str(token_id): 100.0},
                        },
                        "/completions",
                    )
                )
                reported = (response["choices"][0].get("logprobs") or {}).get("token_logprobs") or [None]
                if reported[0] is None:
                    raise UserError(
                        f"the LLM server at {self._settings.base_url} returns no logprobs; "
                        "extractor mode judge needs them (use mode lexicon or llm, or backend llama_cpp)"
                    )
                logprobs.append(float(reported[0]))
        weights = np.exp(np.array(logprobs) - max(logprobs))
        return (weights / weights.sum()).tolist()

    def _choice_token_ids(self, choices: list[str]) -> list[int]:
        """The first token of each choice, by the server's own tokenizer (without its BOS); asked once."""
        root = self._settings.base_url.rstrip("/").removesuffix("/v1")
        if "" not in self._token_ids:
            self._token_ids[""] = len(self._tokenize(root, ""))
        for choice in choices:
            if choice not in self._token_ids:
                self._token_ids[choice] = self._tokenize(root, choice)[self._token_ids[""]]
        return [self._token_ids[choice] for choice in choices]

    def _tokenize(self, root: str, text: str) -> list[int]:
        request = urllib.request.Request(  # noqa: S310 - base_url's scheme is checked in _post
            root + "/extras/tokenize",
            data=json.dumps({"input": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._settings.timeout_s) as reply:  # noqa: S310
                return list(json.load(reply)["tokens"])
        except (OSError, KeyError) as exc:
            raise UserError(
                f"the LLM server at {root} has no /extras/tokenize (llama-cpp-python's server has); "
                f"extractor mode judge cannot score labels there: {exc}"
            ) from None


def _completion(response: dict, started: float) -> Completion:
    usage = response.get("usage") or {}
    return Completion(
        text=response["choices"][0]["message"]["content"] or "",
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        seconds=time.perf_counter() - started,
    )


def load_llm(settings: LLMSettings, name: str | None = None) -> LLM:
    registry = Registry.load(settings.registry, settings.models_dir)
    backend = {"llama_cpp": LlamaCppLLM, "openai": OpenAICompatibleLLM}[settings.backend]
    return backend(settings, registry, name or settings.model)
