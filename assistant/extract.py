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
from typing import Protocol

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


class Extractor(Protocol):
    tag: str  # what produced the findings, stamped on every summary

    def extract(
        self,
        passages: list[Passage],
        previous: dict[str, str],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], ExtractionStats]: ...


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


def prompt_digest(prompt: Prompt, system_vars: dict) -> str:
    """Hash of the rendered fixed messages (instructions and examples) of a prompt."""
    fixed = prompt.messages(system_vars, {"passage": "", "previous": "", "question": ""})[:-1]
    return hashlib.sha256(json.dumps(fixed, ensure_ascii=False).encode("utf-8")).hexdigest()


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
        self.tag = prompt.tag
        # The taxonomy is rendered into the instructions: an edit to it must miss the cache too.
        self._instructions_digest = prompt_digest(prompt, self._system_vars)

    def cache_key(self, passage: Passage, previous: str) -> str:
        material = json.dumps(
            ["extract", passage.text, previous, self.llm.ref.sha256, self.prompt.tag, self._instructions_digest],
            ensure_ascii=False,
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
                self.store.cache(key, "extract", cached, passage.child_id)
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


class LexiconExtractor:
    """Rule-based findings from the Swedish lexicon: no model, milliseconds per passage.

    The quote is the clause around the cue, so a citation shows the words that carry it.
    """

    def __init__(self, taxonomy: Taxonomy):
        from assistant.lexicon import lexicon_for

        self.lexicon = lexicon_for(taxonomy)
        self.tag = f"lexicon v{taxonomy.version}"

    def extract(
        self,
        passages: list[Passage],
        previous: dict[str, str],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], ExtractionStats]:
        findings: list[Finding] = []
        for done, passage in enumerate(passages, start=1):
            for hit in self.lexicon.tag(passage.text):
                finding = hit.to_finding(passage.passage_id)
                clause = passage.text[hit.sentence_start : hit.sentence_end].strip()
                findings.append(finding.model_copy(update={"quote": clause or finding.quote}))
            if progress:
                progress(done, len(passages))
        return findings, ExtractionStats(passages=len(passages))


POLARITY_STRENGTH = {Polarity.negated: 0, Polarity.hedged: 1, Polarity.affirmed: 2}


class HybridExtractor:
    """Several extractors together, combined by a policy chosen by measurement (see README).

    - ``union``: every finding of every part; where the lexicon speaks of the same
      passage and category, its negation and hedge scope decides the polarity,
      since the small model confuses denials with findings, and a classifier's
      finding gives way to the lexicon's (which names actor and source and cites
      the cue's sentence, not the whole passage).
    - ``gated``: the LLM reads only the passages the other parts flagged; their
      findings are kept beside the LLM's, polarity as in ``union``.
    """

    def __init__(self, llm: LLMExtractor | None, others: list[Extractor], policy: str):
        self.llm = llm
        self.others = others
        self.policy = policy
        parts = ([llm] if llm else []) + others
        self.tag = " + ".join(part.tag for part in parts) + f" ({policy})"

    def extract(
        self,
        passages: list[Passage],
        previous: dict[str, str],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], ExtractionStats]:
        other_findings: list[Finding] = []
        for extractor in self.others:
            other_findings += extractor.extract(passages, previous)[0]
        stats = ExtractionStats(passages=len(passages))
        model_findings: list[Finding] = []
        if self.llm is not None:
            flagged = {f.passage_id for f in other_findings}
            asked = [p for p in passages if p.passage_id in flagged] if self.policy == "gated" else passages
            model_findings, stats = self.llm.extract(asked, previous, progress)
            stats.passages = len(passages)
        rule_findings = [f for f in other_findings if f.method == "lexicon"]
        found_by_rule = {(f.passage_id, f.category) for f in rule_findings}
        proposals = [
            f for f in other_findings if f.method != "lexicon" and (f.passage_id, f.category) not in found_by_rule
        ]
        return combine(model_findings + proposals, rule_findings), stats


def combine(model_findings: list[Finding], rule_findings: list[Finding]) -> list[Finding]:
    """Union of both; on the same (passage, category) the lexicon's polarity wins over the others'."""
    rule_polarity: dict[tuple[str, Category], Polarity] = {}
    for finding in rule_findings:
        key = (finding.passage_id, finding.category)
        current = rule_polarity.get(key)
        if current is None or POLARITY_STRENGTH[finding.polarity] < POLARITY_STRENGTH[current]:
            rule_polarity[key] = finding.polarity
    combined = [
        finding.model_copy(
            update={
                "polarity": rule_polarity.get((finding.passage_id, finding.category), finding.polarity),
                "method": "hybrid" if (finding.passage_id, finding.category) in rule_polarity else finding.method,
            }
        )
        for finding in model_findings
    ]
    covered = {(f.passage_id, f.category) for f in model_findings}
    combined += [f for f in rule_findings if (f.passage_id, f.category) not in covered]
    return combined
