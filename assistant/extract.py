"""Extraction: the LLM reads one passage at a time and proposes indicators.

Output is constrained by a flat JSON schema (llama.cpp grammar) and validated
again with pydantic, since the grammar can silently fall back. Results are
cached by (passage text, previous sentence, model sha256, prompt tag), so a
second summary of the same child does not call the model again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, ValidationError

from assistant.llm import LLM
from assistant.prompts import Prompt
from assistant.schema import Actor, Category, Finding, Passage, Polarity, Source, Victim
from assistant.store import Store
from assistant.taxonomy import Taxonomy

MAX_INDICATORS_PER_PASSAGE = 3
MAX_QUOTE_CHARS = 200


class RawIndicator(BaseModel):
    quote: str = Field(max_length=MAX_QUOTE_CHARS)
    category: Category
    polarity: Polarity
    actor: Actor = Actor.unknown
    victim: Victim = Victim.child
    source: Source = Source.reporter


class ExtractionOutput(BaseModel):
    indicators: list[RawIndicator] = Field(max_length=MAX_INDICATORS_PER_PASSAGE)


def _enum(values) -> dict:
    return {"type": "string", "enum": [v.value for v in values]}


OUTPUT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "indicators": {
            "type": "array",
            "maxItems": MAX_INDICATORS_PER_PASSAGE,
            "items": {
                "type": "object",
                "properties": {
                    "quote": {"type": "string", "maxLength": MAX_QUOTE_CHARS},
                    "category": _enum(Category),
                    "polarity": _enum(Polarity),
                    "actor": _enum(Actor),
                    "victim": _enum(Victim),
                    "source": _enum(Source),
                },
                "required": ["quote", "category", "polarity", "actor", "victim", "source"],
            },
        }
    },
    "required": ["indicators"],
}


@dataclass
class ExtractionStats:
    passages: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    invalid_outputs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    invalid_passages: list[str] = field(default_factory=list)


def parse_output(text: str) -> ExtractionOutput:
    """Validate model output against the schema; raises ValueError when it does not hold."""
    try:
        return ExtractionOutput.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(f"model output does not match the schema: {exc.error_count()} problem(s)") from None


class LLMExtractor:
    def __init__(self, llm: LLM, prompt: Prompt, taxonomy: Taxonomy, store: Store, max_tokens: int):
        self.llm = llm
        self.prompt = prompt
        self.store = store
        self.max_tokens = max_tokens
        self._system_vars = {"categories": list(taxonomy.categories.values())}

    def cache_key(self, passage: Passage, previous: str) -> str:
        material = json.dumps(
            ["extract", passage.text, previous, self.llm.ref.sha256, self.prompt.tag], ensure_ascii=False
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def extract(
        self,
        passages: list[Passage],
        previous: dict[str, str],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], ExtractionStats]:
        findings: list[Finding] = []
        stats = ExtractionStats(passages=len(passages))
        for done, passage in enumerate(passages, start=1):
            context = previous.get(passage.passage_id, "")
            key = self.cache_key(passage, context)
            cached = self.store.cached(key)
            if cached is None:
                cached = self._ask(passage, context, stats)
                self.store.cache(key, "extract", cached)
            else:
                stats.cache_hits += 1
            if not cached["valid"]:
                stats.invalid_outputs += 1
                stats.invalid_passages.append(passage.passage_id)
            findings.extend(Finding(passage_id=passage.passage_id, method="llm", **raw) for raw in cached["indicators"])
            if progress:
                progress(done, len(passages))
        return findings, stats

    def _ask(self, passage: Passage, previous: str, stats: ExtractionStats) -> dict:
        messages = self.prompt.messages(self._system_vars, {"passage": passage.text, "previous": previous})
        completion = self.llm.complete_json(messages, OUTPUT_SCHEMA, self.max_tokens)
        stats.model_calls += 1
        stats.prompt_tokens += completion.prompt_tokens
        stats.completion_tokens += completion.completion_tokens
        stats.model_seconds += completion.seconds
        try:
            output = parse_output(completion.text)
        except ValueError:
            return {"valid": False, "indicators": [], "raw": completion.text[:2000]}
        return {"valid": True, "indicators": [i.model_dump(mode="json") for i in output.indicators]}
