"""Runs a suite: every configuration × case (one child) through the real pipeline,
in homes of its own under the cache dir (or a temp dir), never the caseworkers'.

Two caches make a re-run cheap. Each configuration keeps a persistent home whose
SQLite store caches the model's answer per passage; on top, the raw output of a
whole case is kept as JSON keyed by model sha256, prompt tag, settings, inputs
and pipeline code, so re-scoring after a metric change loads no model at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import UserError
from assistant.provenance import result_settings
from assistant.settings import PROJECT_ROOT, Settings
from eval.gold import GoldReport, children_of, input_hash, load_gold_files
from eval.suite import Configuration, Suite, SuiteError, settings_key

CASE_FORMAT = 1  # bump when CaseRun changes shape
UNVERIFIED_WARNING = "Ej verifierad uppgift borttagen"  # pipeline.py's warning for a dropped citation
DEFAULT_CACHE_DIR = PROJECT_ROOT / "eval" / ".cache"
CODE_FILES = ("assistant/*.py", "vectorstore/*.py")
DATA_FILES = ("assistant/*.yaml",)  # taxonomy and lexicon: they shape prompts and findings


@dataclass
class CaseRun:
    """What the pipeline produced for one child: all that scoring needs, nothing recomputed."""

    child_id: str
    summary: dict[str, Any] = field(default_factory=dict)
    passages: list[dict[str, Any]] = field(default_factory=list)  # selected passages, in order
    passage_seconds: list[float] = field(default_factory=list)
    selection_mode: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    from_cache: bool = False

    @property
    def unverified(self) -> int:
        return sum(1 for w in self.summary.get("warnings", []) if w.startswith(UNVERIFIED_WARNING))


@dataclass
class ConfigRuns:
    configuration: Configuration
    model_name: str
    model_sha256: str
    prompt_tag: str
    settings_key: str
    effective_settings: dict[str, Any]
    base: dict[str, CaseRun] = field(default_factory=dict)
    injected: dict[str, CaseRun] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)  # assistant.provenance.result_settings


class CaseCache:
    """Case outputs as JSON files; disabled (never read or written) when ``root`` is None."""

    def __init__(self, root: Path | None):
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / "cases" / key[:2] / f"{key}.json"  # type: ignore[operator]

    def get(self, key: str) -> CaseRun | None:
        if self.root is None or not self._path(key).is_file():
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            return CaseRun(**{**data, "from_cache": True})
        except (ValueError, TypeError):
            return None  # a damaged or outdated entry is recomputed

    def put(self, key: str, run: CaseRun) -> None:
        if self.root is None or run.error:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(run), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


@dataclass(frozen=True)
class PipelineVersion:
    """Hashes of the pipeline's source and data files. A code change re-runs cases (the home's
    passage cache still serves the model); a data change also starts fresh homes, since the
    taxonomy is rendered into the prompt but not into the pipeline's own cache key."""

    code: str
    data: str

    @classmethod
    def current(cls) -> PipelineVersion:
        return cls(_hash_files(CODE_FILES), _hash_files(DATA_FILES))


def _hash_files(patterns: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(PROJECT_ROOT.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def case_key(config_key: str, reports: list[GoldReport], injection: str | None, version: PipelineVersion) -> str:
    material = json.dumps([CASE_FORMAT, config_key, input_hash(reports), injection or "", version.code, version.data])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def inject(reports: list[GoldReport], instruction: str) -> list[GoldReport]:
    """The same reports with an instruction to the model appended to each text."""
    from dataclasses import replace

    return [replace(r, text=f"{r.text.rstrip()} {instruction}") for r in reports]


def write_reports_jsonl(reports: list[GoldReport], path: Path) -> Path:
    """Reports in the ingest format (no gold), so the pipeline reads exactly what was scored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps(
            {
                "report_id": r.report_id,
                "child_id": r.child_id,
                "date": r.date.isoformat(),
                "reporter": r.reporter,
                "text": r.text,
            },
            ensure_ascii=False,
        )
        for r in reports
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Progress:
    """A progress bar on stderr (rich), or nothing when disabled."""

    def __init__(self, total: int, enabled: bool = True):
        self._bar = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._cases = self._bar.add_task("fall", total=total)
            self._passages = self._bar.add_task("passager", total=1, visible=False)
            self._bar.start()

    def case(self, description: str) -> None:
        if self._bar:
            self._bar.update(self._cases, description=description)
            self._bar.reset(self._passages, total=1, visible=False)

    def passage(self, done: int, total: int) -> None:
        if self._bar:
            self._bar.update(self._passages, completed=done, total=total, visible=True, description="  passager")

    def case_done(self) -> None:
        if self._bar:
            self._bar.advance(self._cases)

    def close(self) -> None:
        if self._bar:
            self._bar.stop()


class Runner:
    """Executes a suite. Models are loaded once and shared between configurations that use them."""

    def __init__(self, suite: Suite, work_dir: Path, cache_dir: Path | None, progress: bool = True):
        self.suite = suite
        self.work_dir = work_dir
        self.cache = CaseCache(cache_dir)
        self.cache_dir = cache_dir
        self.show_progress = progress
        self.version = PipelineVersion.current()
        self._llms: dict[str, Any] = {}
        self._embedders: dict[str, Any] = {}
        self._feature_encoders: dict[str, Any] = {}

    def run(self) -> tuple[list[GoldReport], list[ConfigRuns]]:
        reports = load_gold_files(self.suite.gold_files)
        cases = children_of(reports)
        plans = [self._plan(c) for c in self.suite.configurations]
        passes = 2 if self.suite.injection else 1
        progress = Progress(len(plans) * len(cases) * passes, self.show_progress)
        try:
            for plan in plans:
                with self._homes(plan, reports) as (base_home, injected_home):
                    plan.base = self._run_cases(plan, cases, reports, None, progress, base_home)
                    if self.suite.injection:
                        plan.injected = self._run_cases(
                            plan,
                            cases,
                            inject(reports, self.suite.injection),
                            self.suite.injection,
                            progress,
                            injected_home,
                            seed=base_home,
                        )
        finally:
            progress.close()
        return reports, plans

    def _plan(self, configuration: Configuration) -> ConfigRuns:
        """Resolve model and prompt without loading either, so a bad suite fails fast."""
        from assistant.models import Registry
        from assistant.prompts import load_prompt

        where = str(self.suite.path) if self.suite.path else "eval"
        try:
            settings = configuration.settings(self.work_dir / "unused-home")
            registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
            entry = registry.entry(settings.llm.model)
            prompt = load_prompt(settings.prompts_dir, settings.extract_prompt)
        except UserError as exc:
            raise SuiteError(f"{where}: configuration '{configuration.name}': {exc}") from None
        key = settings_key(settings, entry.sha256, prompt.tag)
        dumped = settings.model_dump(mode="json", exclude={"home"})
        dumped["llm"].pop("api_key", None)
        return ConfigRuns(
            configuration, entry.name, entry.sha256, prompt.tag, key, dumped, provenance=result_settings(settings)
        )

    def _run_cases(
        self,
        plan: ConfigRuns,
        cases: dict[str, list[GoldReport]],
        inputs: list[GoldReport],
        injection: str | None,
        progress: Progress,
        home: Path,
        seed: Path | None = None,
    ) -> dict[str, CaseRun]:
        """Cases from the case cache where possible; the rest through the pipeline in ``home``."""
        keys = {
            child: case_key(plan.settings_key, reports, injection, self.version) for child, reports in cases.items()
        }
        runs = {child: run for child in cases if (run := self.cache.get(keys[child])) is not None}
        label = plan.configuration.name + (" · med inskjuten instruktion" if injection else "")
        for child in runs:
            progress.case(f"{label} · {child} (cache)")
            progress.case_done()
        missing = [c for c in cases if c not in runs]
        if missing:
            if seed is not None:
                seed_passage_cache(plan.configuration.settings(seed).db_path, home)
            assistant = self._assistant(plan, home)
            self._ingest(assistant, inputs, home)
            for child in missing:
                progress.case(f"{label} · {child}")
                runs[child] = summarize_case(assistant, child, progress.passage)
                self.cache.put(keys[child], runs[child])
                progress.case_done()
        return dict(sorted(runs.items()))

    @contextmanager
    def _homes(self, plan: ConfigRuns, reports: list[GoldReport]) -> Iterator[tuple[Path, Path]]:
        """A home for the plain run and one for the injected run: kept under the cache dir,
        or throwaway ones under the out dir with --no-cache."""
        name = f"{plan.settings_key[:16]}-{self.version.data[:8]}-{input_hash(reports)[:12]}"
        if self.cache_dir is not None:
            yield self.cache_dir / "homes" / name, self.cache_dir / "homes" / f"{name}-injected"
            return
        root = self.work_dir / ".tmp-homes"
        root.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f"{name[:8]}-", dir=root))
        try:
            yield temporary / "base", temporary / "injected"
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def _assistant(self, plan: ConfigRuns, home: Path):
        from assistant.llm import load_llm
        from assistant.pipeline import Assistant
        from vectorstore.embeddings import Embedder

        settings: Settings = plan.configuration.settings(home)
        llm_key = settings.llm.model_dump_json()
        if llm_key not in self._llms:
            self._llms[llm_key] = load_llm(settings.llm)
        embedding_key = settings.embedding.model_dump_json()
        if embedding_key not in self._embedders:
            self._embedders[embedding_key] = Embedder(settings.embedding)
        return Assistant(
            settings,
            llm=self._llms[llm_key],
            embedder=self._embedders[embedding_key],
            feature_encoders=self._feature_encoders,
        )

    def _ingest(self, assistant, inputs: list[GoldReport], home: Path) -> None:
        source = write_reports_jsonl(inputs, home / "eval-input.jsonl")
        for result in assistant.ingest([source]):
            if result.error:
                raise UserError(f"gold reports could not be ingested: {result.error}")


def seed_passage_cache(source_db: Path, home: Path) -> None:
    """Start the injected run's home from a copy of the plain run's store. Its per-passage answers
    are keyed by passage text, so only passages the instruction changed go to the model; the
    reports themselves are all replaced by the injected texts on ingest."""
    import sqlite3

    target_db = home / source_db.name
    if target_db.exists() or not source_db.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_db)
    target = sqlite3.connect(target_db)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def summarize_case(assistant, child_id: str, on_passage: Callable[[int, int], None] | None = None) -> CaseRun:
    """Summarise one child, timing each passage through the progress callback."""
    marks: list[float] = []

    def progress(step: str, done: int, total: int) -> None:
        if step == "extract":
            marks.append(time.perf_counter())
            if on_passage:
                on_passage(done, total)

    started = time.perf_counter()
    try:
        run = assistant.summarize(child_id, progress=progress)
    except Exception as exc:  # noqa: BLE001 - one failed case is reported, the others still run
        return CaseRun(child_id, error=f"{exc.__class__.__name__}: {exc}")
    times = [b - a for a, b in zip([started, *marks], marks, strict=False)]
    return CaseRun(
        child_id=child_id,
        summary=run.summary.model_dump(mode="json"),
        passages=[
            {"passage_id": p.passage_id, "report_id": p.report_id, "start": p.start, "end": p.end, "text": p.text}
            for p in run.selection.passages
        ],
        passage_seconds=times,
        selection_mode=run.selection.mode,
        stats={k: v for k, v in asdict(run.stats).items()},
    )
