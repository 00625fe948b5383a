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

from assistant.active_model import ModelHandle, ModelHolder
from assistant.classifier import ClassifierExtractor, Encoder, TrainedClassifier, lexicon_polarity
from assistant.errors import UserError
from assistant.extract import ExtractionStats, Extractor, HybridExtractor, LexiconExtractor, LLMExtractor
from assistant.hidden_states import HiddenStateEncoder
from assistant.judge import LLMJudge
from assistant.llm import LLM
from assistant.models import Registry, sha256_file
from assistant.narrative import (
    NarrativeWriter,
    echoes_input,
    fallback_narrative,
    keep_cited_sentences,
    narrative_items,
)
from assistant.passages import split_passages
from assistant.prompts import Prompt, addresses_system, load_prompt
from assistant.provenance import result_settings
from assistant.readers import collect_files, read_reports
from assistant.redact import VERSION as REDACTION_VERSION
from assistant.redact import Pseudonyms, pseudonymised_passages
from assistant.schema import ModelRef, Passage, Report, Summary
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
from vectorstore.embeddings import Embedder, embedding_name
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
    so that several assistants (UI sessions, eval runs, tests) share one model in memory;
    ``feature_encoders`` shares the classifier's hidden-state encoders (by encoder name) the same way."""

    def __init__(
        self,
        settings: Settings,
        llm: LLM | None = None,
        embedder: Embedder | None = None,
        feature_encoders: dict[str, HiddenStateEncoder] | None = None,
    ):
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self._feature_encoders = {} if feature_encoders is None else feature_encoders
        if llm is not None:
            self.__dict__["models"] = ModelHolder(settings.llm, llm)
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
    def models(self) -> ModelHolder:
        return ModelHolder(self.settings.llm)

    @property
    def llm(self) -> ModelHandle:
        """The current model (loaded on first use). A summary takes it once at its start, so a
        switch in the admin tab never changes the model under a request in flight."""
        return self.models.current()

    @property
    def model_ref(self) -> ModelRef:
        """The current model's name and sha256, without loading it."""
        return self.llm.ref

    def _for_model(self, llm: ModelHandle, part: str, build: Callable[[], object]):
        """A component bound to a model, built again once the current model has changed."""
        bound = self.__dict__.setdefault("_model_bound", {})
        held = bound.get(part)
        if held is None or held[0] is not llm:
            held = bound[part] = (llm, build())
        return held[1]

    @cached_property
    def extract_prompt(self) -> Prompt:
        return load_prompt(self.settings.prompts_dir, self.settings.extract_prompt)

    @cached_property
    def narrative_prompt(self) -> Prompt:
        return load_prompt(self.settings.prompts_dir, self.settings.narrative_prompt)

    @property
    def llm_extractor(self) -> LLMExtractor:
        return self.llm_extractor_for(self.llm)

    def llm_extractor_for(self, llm: ModelHandle) -> LLMExtractor:
        return self._for_model(
            llm,
            "llm_extractor",
            lambda: LLMExtractor(llm, self.extract_prompt, self.taxonomy, self.store, self.settings.llm.max_tokens),
        )

    @cached_property
    def lexicon_extractor(self) -> LexiconExtractor:
        return LexiconExtractor(self.taxonomy)

    @cached_property
    def classifier_extractor(self) -> ClassifierExtractor:
        path = self.settings.extractor.classifier_path
        classifier = TrainedClassifier.load(path)
        encoder = self.feature_encoder(classifier)
        polarity_of = lexicon_polarity(self.lexicon_extractor.lexicon)
        return ClassifierExtractor(classifier, encoder, polarity_of, self.store, sha256_file(path))

    def feature_encoder(self, classifier: TrainedClassifier) -> Encoder:
        """What the classifier was trained on: the index's embedder, or a registry model's hidden states."""
        if classifier.features == "sentence":
            return self.embedder
        name, key = classifier.encoder_model, classifier.embedding_model
        if key not in self._feature_encoders:
            registry = Registry.load(self.settings.llm.registry, self.settings.llm.models_dir)
            try:
                sha256 = registry.entry(name).sha256
            except UserError as missing:
                raise UserError(
                    f"{missing}; the classifier {self.settings.extractor.classifier_path} reads that model's "
                    "hidden states: add the model again, or retrain with 'assistant train --features llm'"
                ) from None
            self._feature_encoders[key] = HiddenStateEncoder(
                registry,
                name,
                self.settings.llm.n_threads,
                shared=lambda: self._generator_weights(sha256),
                layers=classifier.layers,
                context=classifier.context,
            )
        return self._feature_encoders[key]

    def _generator_weights(self, sha256: str):
        """The loaded generator's ``llama_cpp.Llama`` when it is that very file, so one copy is in memory."""
        handle = self.models.current()
        return getattr(handle.model(), "llama", None) if handle.ref.sha256 == sha256 else None

    @property
    def extractor(self) -> Extractor:
        return self.extractor_for(self.llm)

    def extractor_for(self, llm: ModelHandle) -> Extractor:
        return self._for_model(llm, "extractor", lambda: self._build_extractor(llm))

    def _build_extractor(self, llm: ModelHandle) -> Extractor:
        config = self.settings.extractor
        parts = {"lexicon": "lexicon_extractor", "classifier": "classifier_extractor"}
        if config.mode == "judge":
            candidates = [getattr(self, parts[p]) for p in config.parts if p != "llm"]
            prompt = load_prompt(self.settings.prompts_dir, config.judge_prompt)
            return LLMJudge(llm, prompt, self.taxonomy, self.store, candidates, config.judge_threshold)
        if config.mode == "llm":
            return self.llm_extractor_for(llm)
        if config.mode != "hybrid":
            return getattr(self, parts[config.mode])
        others = [getattr(self, parts[p]) for p in config.parts if p != "llm"]
        model_part = self.llm_extractor_for(llm) if "llm" in config.parts else None
        return HybridExtractor(model_part, others, config.policy)

    @property
    def narrator(self) -> NarrativeWriter:
        return self.narrator_for(self.llm)

    def narrator_for(self, llm: ModelHandle) -> NarrativeWriter:
        return self._for_model(
            llm,
            "narrator",
            lambda: NarrativeWriter(llm, self.narrative_prompt, self.store, self.settings.llm.narrative_max_tokens),
        )

    # --- ingest ---------------------------------------------------------------

    def ingest(
        self,
        paths: list[Path],
        on_file: Callable[[FileResult], None] | None = None,
        admit: Callable[[list[Report]], str] | None = None,
    ) -> list[FileResult]:
        """Ingest files and folders; a bad file is reported and skipped, the others go in.
        ``admit`` names why a file's reports may not go in (the uploader's access), or returns ''."""
        self.reconcile()
        results = []
        for path in collect_files(paths):
            result = self.ingest_file(path, admit)
            results.append(result)
            if on_file:
                on_file(result)
        return results

    def ingest_file(self, path: Path, admit: Callable[[list[Report]], str] | None = None) -> FileResult:
        result = FileResult(str(path))
        try:
            reports = read_reports(path, self.settings.ingest.max_file_bytes)
            if admit is not None and (refusal := admit(reports)):
                raise UserError(refusal)
            batch, pseudonyms = self.cut(reports)
            result.outcomes = self.store.upsert_reports(batch, self.redaction, pseudonyms)
        except UserError as exc:
            result.error = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            return result
        self.index_reports([r for r, outcome in result.outcomes.items() if outcome != "unchanged"])
        return result

    @property
    def redaction(self) -> str:
        """How passages are made under the current settings: the pseudonymisation version, or '' for off."""
        return REDACTION_VERSION if self.settings.ingest.pseudonymise else ""

    def cut(self, reports: list[Report]) -> tuple[list[tuple[Report, list[Passage]]], list[tuple[str, str, str, int]]]:
        """Reports -> passages, pseudonymised when ``ingest.pseudonymise`` is on, and the new placeholder numbers."""
        max_chars = self.settings.ingest.max_passage_chars
        if not self.settings.ingest.pseudonymise:
            return [(r, split_passages(r, max_chars)) for r in reports], []
        books: dict[str, Pseudonyms] = {}
        batch = []
        for report in reports:
            book = books.setdefault(report.child_id, Pseudonyms(self.store.pseudonyms(report.child_id)))
            batch.append((report, pseudonymised_passages(report, max_chars, book)))
        added = [(child, kind, digest, n) for child, book in books.items() for (kind, digest), n in book.added.items()]
        return batch, added

    def recut(self, child_id: str | None = None) -> int:
        """Re-cut the passages of reports stored under another pseudonymisation (an older store, a changed
        switch) and re-index them; cached answers go too, since they may quote the old passages."""
        ids = self.store.reports_redacted_otherwise(self.redaction, child_id)
        stale = [r for r in map(self.store.report, ids) if r]
        if not stale:
            return 0
        batch, pseudonyms = self.cut(stale)
        self.store.upsert_reports(batch, self.redaction, pseudonyms)
        self.store.forget_analyses()
        self.index_reports([report.report_id for report in stale])
        return len(stale)

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
        self.recut()
        self.index_reports(self.store.unindexed_report_ids())
        known = self.store.passage_ids()
        self.index.delete([i for i in self.index.all_ids() if i not in known])

    def reindex(self, progress: Progress | None = None) -> int:
        """Rebuild every vector with the configured embedding model; reports stay as they are."""
        self.__dict__["index"] = VectorIndex(self.settings, self.embedder.name, self.embedder.dim, fresh=True)
        self.__dict__.pop("retriever", None)  # it held the index just replaced
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
        self.recut(child_id)
        llm = self.llm  # taken once: a model switch meanwhile applies from the next summary on
        extractor = self.extractor_for(llm)
        reports = self.store.reports_for(child_id)
        passages = self.store.passages_for(child_id)
        selection = self.select(child_id, passages)
        previous = previous_sentences(passages)
        steering = [p.passage_id for p in selection.passages if addresses_system(p.text)]
        analysed = [p for p in selection.passages if p.passage_id not in steering]
        findings, stats = extractor.extract(
            analysed, previous, (lambda d, t: progress("extract", d, t)) if progress else None
        )
        given = {p.passage_id: p for p in analysed}
        verdicts = verify(findings, given, child_id, self.settings.verification.fuzzy_threshold)
        indicators = build_indicators(verdicts, given, self.taxonomy)
        categories = category_summaries(indicators, self.taxonomy)
        warnings = [
            f"Ej verifierad uppgift borttagen ({v.citation.passage_id}): {v.reason}"
            for v in verdicts
            if not v.citation.verified
        ]
        warnings += [f"Modellens svar följde inte formatet för passage {pid}" for pid in stats.invalid_passages]
        if steering:
            warnings.append(
                f"{len(steering)} passage(r) vänder sig till systemet i stället för att beskriva barnets situation "
                f"och analyserades inte; läs dem i anmälan: {', '.join(steering)}"
            )
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
            narrator = self.narrator_for(llm)
            items = narrative_items(indicators, reporters, self.taxonomy)
            items = narrator.fitting(child_id, items, self.settings.llm.n_ctx)
            if len(items) < len(indicators):
                warnings.append(
                    f"Den skrivna sammanfattningen bygger på {len(items)} av {len(indicators)} uppgifter "
                    "(förnekade och äldre uppgifter fick inte plats); alla uppgifter finns i listan"
                )
            try:
                raw = narrator.write(child_id, items, on_narrative)
            except ValueError as exc:  # llama.cpp's words when a prompt exceeds the context after all
                if "context window" not in str(exc):
                    raise
                raw = ""
                warnings.append("Den skrivna sammanfattningen fick inte plats i modellens kontext")
            echoed = echoes_input(raw)
            narrative, dropped = ("", 0) if echoed else keep_cited_sentences(raw, {i["number"] for i in items})
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
            model=llm.ref,
            prompt_version=extractor.tag,
            embedding_model=embedding_name(self.settings.embedding),
            settings=result_settings(self.settings),
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
    """The sentence before each passage, as context for the model; a passage addressed to the system
    is never given as context (it would speak to the model about its neighbour)."""
    previous: dict[str, str] = {}
    for before, passage in pairwise(passages):
        if before.report_id == passage.report_id and not addresses_system(before.text):
            previous[passage.passage_id] = before.text
    return previous
