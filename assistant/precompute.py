"""Precomputation: every report is analysed when it arrives, so opening a case only reads the cache.

Work items are the reports (their passages through the configured extractor) and, per child,
the narrative (``Assistant.summarize``, which caches it). Which items are finished is kept in
the store (``precomputed`` table) under an *analysis tag*: a hash of the model's sha256, the
prompt tags, the extractor settings and the taxonomy. Changing any of these changes the tag,
so earlier work counts as stale and is done again; a report whose text changes is a new item.
Nothing lives only in memory, so a stopped or crashed worker resumes where it left off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from assistant.pipeline import Assistant, previous_sentences
from assistant.prompts import addresses_system, load_prompt
from assistant.store import sha256_text
from assistant.taxonomy import DEFAULT_TAXONOMY_PATH
from vectorstore.embeddings import embedding_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkItem:
    kind: Literal["report", "narrative"]
    child_id: str
    target: str  # the report id, or the child id for a narrative
    item: str  # the key recorded in the store when done


@dataclass(frozen=True)
class PrecomputeStatus:
    done: int
    total: int
    stale: int  # items finished under another model, prompt or setting, waiting to be redone
    tag: str

    @property
    def pending(self) -> int:
        return self.total - self.done


@dataclass
class PrecomputeRun:
    """What one run did: ``analyses_written`` counts model answers added to the cache."""

    items: int = 0
    analyses_written: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)


def _file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


class Precomputer:
    """Finds the work the store lacks for the current configuration and does it, report by report."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.failed: set[str] = set()  # items that raised in this process; skipped until restart

    @cached_property
    def tag(self) -> str:
        """Everything a cached analysis depends on, without loading the model."""
        settings = self.assistant.settings
        extractor = settings.extractor
        used = {extractor.mode} | (set(extractor.parts) if extractor.mode in ("hybrid", "judge") else set())
        prompts = []
        if "llm" in used:
            prompts.append(load_prompt(settings.prompts_dir, settings.extract_prompt).tag)
        if extractor.mode == "judge":
            prompts.append(load_prompt(settings.prompts_dir, extractor.judge_prompt).tag)
        if settings.narrative:
            prompts.append(load_prompt(settings.prompts_dir, settings.narrative_prompt).tag)
        material = [
            self.assistant.model_ref.sha256,
            prompts,
            extractor.model_dump(mode="json"),
            _file_digest(extractor.classifier_path) if "classifier" in used else "",
            _file_digest(DEFAULT_TAXONOMY_PATH),
            settings.retrieval.model_dump(mode="json"),
            settings.verification.model_dump(mode="json"),
            [settings.llm.max_tokens, settings.llm.narrative_max_tokens, settings.narrative],
            embedding_name(settings.embedding),
        ]
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]

    def items(self) -> list[WorkItem]:
        """Every item the current reports call for, child by child: its reports, then its narrative."""
        by_child: dict[str, list[tuple[str, str]]] = {}
        for child_id, report_id, digest in self.assistant.store.report_digests():
            by_child.setdefault(child_id, []).append((report_id, digest))
        work: list[WorkItem] = []
        for child_id, reports in by_child.items():
            work += [WorkItem("report", child_id, r, f"report:{r}:{d[:16]}") for r, d in reports]
            if self.assistant.settings.narrative:
                digest = sha256_text(json.dumps(sorted(reports)))[:16]
                work.append(WorkItem("narrative", child_id, child_id, f"narrative:{child_id}:{digest}"))
        return work

    def _finished(self) -> tuple[set[str], set[str]]:
        """Items finished under the current tag, and under any other tag."""
        current: set[str] = set()
        other: set[str] = set()
        for item, tag in self.assistant.store.precomputed():
            (current if tag == self.tag else other).add(item)
        return current, other

    def plan(self, child_id: str | None = None) -> list[WorkItem]:
        """Pending items in order; only one child's when ``child_id`` is given."""
        current, _ = self._finished()
        return [
            w
            for w in self.items()
            if w.item not in current and w.item not in self.failed and child_id in (None, w.child_id)
        ]

    def status(self) -> PrecomputeStatus:
        items = {w.item for w in self.items()}
        current, other = self._finished()
        done = items & current
        return PrecomputeStatus(len(done), len(items), len((items & other) - done), self.tag)

    def run(
        self,
        stop: threading.Event | None = None,
        limit: int | None = None,
        progress: Callable[[PrecomputeStatus], None] | None = None,
        child_id: str | None = None,
    ) -> PrecomputeRun:
        """Do pending items (of one child, if given) until none is left, ``stop`` is set or ``limit`` items are done."""
        started = time.perf_counter()
        run = PrecomputeRun()
        written_before = self.assistant.store.counts()["analyses"]
        for work in self.plan(child_id)[:limit]:
            if stop is not None and stop.is_set():
                break
            try:
                self._do(work)
            except Exception:  # one bad item must not stop the others; the log has the trace
                log.exception("precomputing %s failed", work.item)
                self.failed.add(work.item)
                run.failed.append(work.item)
                continue
            self.assistant.store.mark_precomputed(work.item, self.tag)
            run.items += 1
            if progress:
                progress(self.status())
        run.analyses_written = self.assistant.store.counts()["analyses"] - written_before
        run.seconds = time.perf_counter() - started
        return run

    def _do(self, work: WorkItem) -> None:
        if work.kind == "report":
            passages = self.assistant.store.passages_of_report(work.target)
            analysed = [p for p in passages if not addresses_system(p.text)]
            self.assistant.extractor.extract(analysed, previous_sentences(passages))
        else:
            self.assistant.summarize(work.child_id)


class BackgroundPrecompute:
    """A daemon thread that keeps the cache current: runs the pending work, then looks again every ``poll_s``."""

    def __init__(self, assistant: Assistant, poll_s: float):
        self.precomputer = Precomputer(assistant)
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="precompute", daemon=True)

    def start(self) -> BackgroundPrecompute:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.precomputer.run(self._stop)
            except Exception:  # e.g. the model file went missing: try again at the next poll
                log.exception("background precomputation failed")
            self._stop.wait(self.poll_s)
