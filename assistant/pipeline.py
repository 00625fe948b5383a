"""The one way through the data, wired from settings:
files -> reports -> passages -> index -> retrieval -> extraction -> verification -> summary.

Components are built on first use, so listing children never loads torch
and summarising a child that fits the context budget never loads the embedder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path

from assistant.classifier import ClassifierExtractor, TrainedClassifier, lexicon_polarity
from assistant.errors import UserError
from assistant.extract import ExtractionStats, Extractor, HybridExtractor, LexiconExtractor, LLMExtractor
from assistant.judge import LLMJudge
from assistant.llm import LLM, load_llm
from assistant.models import Registry
from assistant.narrative import (
    NarrativeWriter,
    echoes_input,
    fallback_narrative,
    keep_cited_sentences,
    narrative_items,
)
from assistant.passages import split_passages
from assistant.prompts import Prompt, load_prompt
from assistant.readers import collect_files, read_reports
from assistant.schema import ModelRef, Passage, Summary
from assistant.settings import Settings
from assistant.store import IngestOutcome, Store
from assistant.summary import (
    DECISION_NOTICE,
    build_indicators,
    category_summaries,
    escalation_flags,
    report_refs,
)
from assistant.taxonomy import Taxonomy, load_taxonomy
from assistant.verify import verify
from vectorstore.embeddings import Embedder
from vectorstore.index import VectorIndex
from vectorstore.retrieval import HybridRetriever, Selection, fits_budget

Progress = Callable[[str, int, int], None]
REINDEX_BATCH = 200  # reports embedded and written together


@dataclass
class FileResult:
    path: str
    outcomes: dict[str, IngestOutcome] = field(default_factory=dict)
    error: str = ""


@dataclass
class SummaryRun:
    """A summary and what it cost: the stats feed the CLI, evaluation and benchmarks."""

    summary: Summary
    selection: Selection
    stats: ExtractionStats


class Assistant:
    """Builds each component on first use. A loaded ``llm`` or ``embedder`` may be passed in
    so that several assistants (UI sessions, eval runs, tests) share one model in memory."""

    def __init__(self, settings: Settings, llm: LLM | None = None, embedder: Embedder | None = None):
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        if llm is not None:
            self.__dict__["llm"] = llm
        if embedder is not None:
            self.__dict__["embedder"] = embedder

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.db_path)

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy()

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedding)

    @cached_property
    def index(self) -> VectorIndex:
        return VectorIndex(self.settings, self.embedder.name, self.embedder.dim)

    @cached_property
    def retriever(self) -> HybridRetriever:
        r = self.settings.retrieval
        return HybridRetriever(self.embedder, self.index, r.context_budget_tokens, r.top_k, r.rrf_k)

    @cached_property
    def llm(self) -> LLM:
        return load_llm(self.settings.llm)

    @property
    def model_ref(self) -> ModelRef:
        """The configured model's name and sha256, without loading it."""
        if "llm" in self.__dict__:
            return self.llm.ref
        registry = Registry.load(self.settings.llm.registry, self.settings.llm.models_dir)
        entry = registry.entry(self.settings.llm.model)
        return ModelRef(name=entry.name, sha256=entry.sha256)

    @cached_property
    def extract_prompt(self) -> Prompt:
        return load_prompt(self.settings.prompts_dir, self.settings.extract_prompt)

    @cached_property
    def narrative_prompt(self) -> Prompt:
        return load_prompt(self.settings.prompts_dir, self.settings.narrative_prompt)

    @cached_property
    def llm_extractor(self) -> LLMExtractor:
        return LLMExtractor(self.llm, self.extract_prompt, self.taxonomy, self.store, self.settings.llm.max_tokens)

    @cached_property
    def lexicon_extractor(self) -> LexiconExtractor:
        return LexiconExtractor(self.taxonomy)

    @cached_property
    def classifier_extractor(self) -> ClassifierExtractor:
        classifier = TrainedClassifier.load(self.settings.extractor.classifier_path)
        return ClassifierExtractor(classifier, self.embedder, lexicon_polarity(self.lexicon_extractor.lexicon))

    @cached_property
    def extractor(self) -> Extractor:
        config = self.settings.extractor
        parts = {"llm": "llm_extractor", "lexicon": "lexicon_extractor", "classifier": "classifier_extractor"}
        if config.mode == "judge":
            candidates = [getattr(self, parts[p]) for p in config.parts if p != "llm"]
            prompt = load_prompt(self.settings.prompts_dir, config.judge_prompt)
            return LLMJudge(self.llm, prompt, self.taxonomy, self.store, candidates, config.judge_threshold)
        if config.mode != "hybrid":
            return getattr(self, parts[config.mode])
        others = [getattr(self, parts[p]) for p in config.parts if p != "llm"]
        llm = self.llm_extractor if "llm" in config.parts else None
        return HybridExtractor(llm, others, config.policy)

    @cached_property
    def narrator(self) -> NarrativeWriter:
        return NarrativeWriter(self.llm, self.narrative_prompt, self.store, self.settings.llm.narrative_max_tokens)

    # --- ingest ---------------------------------------------------------------

    def ingest(self, paths: list[Path], on_file: Callable[[FileResult], None] | None = None) -> list[FileResult]:
        """Ingest files and folders; a bad file is reported and skipped, the others go in."""
        self.reconcile()
        results = []
        for path in collect_files(paths):
            result = self.ingest_file(path)
            results.append(result)
            if on_file:
                on_file(result)
        return results

    def ingest_file(self, path: Path) -> FileResult:
        result = FileResult(str(path))
        try:
            reports = read_reports(path, self.settings.ingest.max_file_bytes)
            batch = [(r, split_passages(r, self.settings.ingest.max_passage_chars)) for r in reports]
            result.outcomes = self.store.upsert_reports(batch)
        except UserError as exc:
            result.error = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            return result
        self.index_reports([r for r, outcome in result.outcomes.items() if outcome != "unchanged"])
        return result

    def index_reports(self, report_ids: list[str]) -> None:
        """Bring reports' vectors in line with their stored passages, then mark them indexed.

        One embedding batch, one vector upsert and one transaction for all of them: per-report
        calls made ingest of many small reports several times slower (see bench/results.md).
        """
        if not report_ids:
            return
        passages = [p for report_id in report_ids for p in self.store.passages_of_report(report_id)]
        self.index.upsert(passages, self.embedder.embed([p.text for p in passages]))
        current = {p.passage_id for p in passages}
        self.index.delete([i for i in self.index.ids_for_reports(report_ids) if i not in current])
        self.store.mark_indexed(report_ids)

    def reconcile(self) -> None:
        """Repair what an interrupted run left: reports without vectors, vectors without passages."""
        self.index_reports(self.store.unindexed_report_ids())
        known = self.store.passage_ids()
        self.index.delete([i for i in self.index.all_ids() if i not in known])

    def reindex(self, progress: Progress | None = None) -> int:
        """Rebuild every vector with the configured embedding model; reports stay as they are."""
        self.index.recreate()
        self.store.mark_all_unindexed()
        pending = self.store.unindexed_report_ids()
        for start in range(0, len(pending), REINDEX_BATCH):
            self.index_reports(pending[start : start + REINDEX_BATCH])
            if progress:
                progress("reindex", min(start + REINDEX_BATCH, len(pending)), len(pending))
        return len(pending)

    def delete_child(self, child_id: str) -> int:
        self.require_child(child_id)
        removed = self.store.delete_child(child_id)
        self.index.delete(removed)
        return len(removed)

    # --- summary --------------------------------------------------------------

    def require_child(self, child_id: str) -> None:
        if not self.store.has_child(child_id):
            raise UserError(f"no reports for child '{child_id}'")

    def category_queries(self) -> list[str]:
        return [f"{c.label}. {c.definition} {' '.join(c.plain_cues[:12])}" for c in self.taxonomy.categories.values()]

    def select(self, child_id: str, passages: list[Passage]) -> Selection:
        if fits_budget(passages, self.settings.retrieval.context_budget_tokens):
            return Selection(passages, "all", len(passages))
        return self.retriever.select(child_id, passages, self.category_queries())

    def summarize(
        self,
        child_id: str,
        progress: Progress | None = None,
        on_narrative: Callable[[str], None] | None = None,
    ) -> SummaryRun:
        self.require_child(child_id)
        reports = self.store.reports_for(child_id)
        passages = self.store.passages_for(child_id)
        selection = self.select(child_id, passages)
        previous = previous_sentences(passages)
        findings, stats = self.extractor.extract(
            selection.passages, previous, (lambda d, t: progress("extract", d, t)) if progress else None
        )
        given = {p.passage_id: p for p in selection.passages}
        verdicts = verify(findings, given, child_id, self.settings.verification.fuzzy_threshold)
        indicators = build_indicators(verdicts, given, self.taxonomy)
        categories = category_summaries(indicators, self.taxonomy)
        warnings = [
            f"Ej verifierad uppgift borttagen ({v.citation.passage_id}): {v.reason}"
            for v in verdicts
            if not v.citation.verified
        ]
        warnings += [f"Modellens svar följde inte formatet för passage {pid}" for pid in stats.invalid_passages]
        if selection.mode == "retrieved":
            warnings.append(
                f"Barnet har fler passager än ryms: {len(selection.passages)} av {selection.total} "
                "valdes ut med sökning och analyserades"
            )
        narrative = ""
        if self.settings.narrative and indicators:
            if progress:
                progress("narrative", 0, 1)
            reporters = {r.report_id: r.reporter for r in reports}
            raw = self.narrator.write(child_id, narrative_items(indicators, reporters, self.taxonomy), on_narrative)
            echoed = echoes_input(raw)
            narrative, dropped = ("", 0) if echoed else keep_cited_sentences(raw, len(indicators))
            if echoed:
                warnings.append(
                    "Språkmodellen upprepade underlaget i stället för att sammanfatta; en enkel sammanställning visas"
                )
            if dropped:
                warnings.append(f"{dropped} mening(ar) utan giltig källhänvisning togs bort ur sammanfattningen")
            if not narrative:
                narrative = fallback_narrative(categories, indicators)
        summary = Summary(
            child_id=child_id,
            generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            model=self.model_ref,
            prompt_version=self.extractor.tag,
            embedding_model=self.settings.embedding.model,
            reports=report_refs(reports, indicators),
            indicators=indicators,
            categories=categories,
            escalation=escalation_flags(indicators, reports, self.taxonomy),
            narrative=narrative,
            warnings=warnings,
            notice=DECISION_NOTICE,
        )
        return SummaryRun(summary, selection, stats)


def previous_sentences(passages: list[Passage]) -> dict[str, str]:
    previous: dict[str, str] = {}
    for before, passage in pairwise(passages):
        if before.report_id == passage.report_id:
            previous[passage.passage_id] = before.text
    return previous
