"""The LLM as judge of candidate passages.

The lexicon and the classifier propose (passage, category) candidates; the
model answers two questions about each, read as label probabilities from one
forward pass each (no text generated): does the passage describe the
category (Ja/Nej), and how is it presented (A affirmed, B hedged, C negated).
Where the lexicon found the category in the passage, its negation and hedge
scope decides the polarity instead. Answers are cached like extractions.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from assistant.extract import ExtractionStats, Extractor, prompt_digest
from assistant.prompts import Prompt
from assistant.schema import Category, Finding, Passage, Polarity
from assistant.store import Store
from assistant.taxonomy import Taxonomy

POLARITY_CHOICES = {"A": Polarity.affirmed, "B": Polarity.hedged, "C": Polarity.negated}


class LLMJudge:
    def __init__(
        self,
        llm,
        prompt: Prompt,
        taxonomy: Taxonomy,
        store: Store,
        candidates: list[Extractor],
        threshold: float,
    ):
        self.llm = llm
        self.prompt = prompt
        self.taxonomy = taxonomy
        self.store = store
        self.candidates = candidates
        self.threshold = threshold
        self._system_vars = {"categories": list(taxonomy.categories.values())}
        self._questions = prompt.card["questions"]
        self._instructions_digest = prompt_digest(prompt, self._system_vars)
        proposers = " + ".join(c.tag for c in candidates)
        self.tag = f"{prompt.tag} judging {proposers} (P(Ja) >= {threshold})"

    def _ask(
        self, passage: Passage, previous: str, question: str, choices: list[str], stats: ExtractionStats
    ) -> list[float]:
        material = json.dumps(
            [passage.text, previous, question, self.llm.ref.sha256, self.prompt.tag, self._instructions_digest],
            ensure_ascii=False,
        )
        key = hashlib.sha256(material.encode("utf-8")).hexdigest()
        cached = self.store.cached(key)
        if cached is not None:
            stats.cache_hits += 1
            return list(cached)
        started = time.perf_counter()
        messages = self.prompt.messages(
            self._system_vars, {"passage": passage.text, "previous": previous, "question": question}
        )
        probabilities = self.llm.score_choices(messages, choices)
        stats.model_calls += 1
        stats.model_seconds += time.perf_counter() - started
        self.store.cache(key, "judge", probabilities, passage.child_id)
        return probabilities

    def probability(self, passage: Passage, previous: str, category: Category, stats: ExtractionStats) -> float:
        question = self._questions["category"].format(label=self.taxonomy.label(category).lower())
        return self._ask(passage, previous, question, ["Ja", "Nej"], stats)[0]

    def polarity(self, passage: Passage, previous: str, category: Category, stats: ExtractionStats) -> Polarity:
        question = self._questions["polarity"].format(label=self.taxonomy.label(category).lower())
        scores = self._ask(passage, previous, question, list(POLARITY_CHOICES), stats)
        return list(POLARITY_CHOICES.values())[max(range(len(scores)), key=scores.__getitem__)]

    def extract(
        self,
        passages: list[Passage],
        previous: dict[str, str],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], ExtractionStats]:
        proposals: dict[tuple[str, Category], Finding] = {}
        for extractor in self.candidates:
            for finding in extractor.extract(passages, previous)[0]:
                key = (finding.passage_id, finding.category)
                if key not in proposals or finding.method == "lexicon":
                    proposals[key] = finding
        stats = ExtractionStats(passages=len(passages))
        findings: list[Finding] = []
        for done, passage in enumerate(passages, start=1):
            context = previous.get(passage.passage_id, "")
            for (passage_id, category), proposal in proposals.items():
                if passage_id != passage.passage_id:
                    continue
                probability = self.probability(passage, context, category, stats)
                if probability < self.threshold:
                    continue
                polarity = (
                    proposal.polarity
                    if proposal.method == "lexicon"
                    else self.polarity(passage, context, category, stats)
                )
                findings.append(
                    proposal.model_copy(update={"polarity": polarity, "method": "judge", "confidence": probability})
                )
            if progress:
                progress(done, len(passages))
        return findings, stats
