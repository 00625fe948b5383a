"""Benchmarks on this machine: ingest, retrieval, summary latency, pipeline overhead, llama settings, memory.

``python -m bench.run [--quick] [--only SECTION[,SECTION]]`` writes ``bench/results.json`` and
``bench/results.md``; working files go to ``bench/out/`` (git-ignored). Figures are medians over
``repeats`` runs; a ratio is always taken within one run. ``--quick`` uses small sizes and the tiny
model (tests, development). ``--only`` re-measures the named sections and merges them into the
existing results (the other sections and a hand-written ``## Findings`` part of results.md are kept).
Each section records when it ran and the load average at its start and end: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from assistant.settings import PROJECT_ROOT, Settings, disable_telemetry

disable_telemetry()

from assistant.llm import LLM, load_llm  # noqa: E402 - after the telemetry switches
from assistant.pipeline import Assistant  # noqa: E402
from assistant.precompute import Precomputer  # noqa: E402
from assistant.schema import Passage  # noqa: E402
from bench.generate import corpus_sentences, invented_reports, write_generated, write_jsonl  # noqa: E402
from vectorstore.embeddings import Embedder  # noqa: E402

TINY_MODEL = "smollm2-135m-instruct-q4"
DEMO = PROJECT_ROOT / "data" / "demo"
FINDINGS_HEADING = "## Findings"  # hand-written part of results.md, kept when sections are merged
TARGETS = {
    "open_precomputed_case_s": ("opening a precomputed case (warm summary, default config)", "<", 1.0),
    "pipeline_overhead_ratio": ("pipeline time / direct llama-cpp-python time", "<=", 1.10),
    "retrieval_p95_ms_100k": ("retrieval p95 at the largest store", "<", 50.0),
    "ingest_generated_passages_per_s": ("ingest of the generated set", ">=", 100.0),
    "peak_rss_mb": ("peak memory of the app with the model loaded", "<", 4096.0),
    "report_cold_s": ("analysing a 10-sentence report, nothing cached (median)", "<", 20.0),
    "report_cached_s": ("the same report again, analyses cached (median)", "<", 1.0),
}
REPORT_SENTENCES = 10


@dataclass(frozen=True)
class Sizes:
    generated_reports: int
    retrieval_passages: tuple[int, ...]
    summary_reports: tuple[int, ...]  # children's sizes in the default config
    judge_reports: tuple[int, ...]  # children's sizes in judge mode (a cold run asks ~9 questions per report)
    judge_narrative: bool  # False: judge rows time the extraction only (the narrative is timed in the default rows)
    judge_switch: bool  # time the model switch in judge mode too
    overhead_calls: int | None  # an overhead run stops before its model call number overhead_calls + 1 (None: all)
    repeats: int
    retrieval_repeats: int
    overhead_pairs: int  # interleaved (pipeline, direct) pairs per config
    overhead_narrative_tokens: int  # the narrative's length in the overhead runs (short, so the pairs fit)
    llama_configs: tuple[tuple[int, int], ...]  # (n_ctx, n_batch)
    narrative_max_tokens: int | None  # None: the configured length
    memory_timeout_s: float
    memory_after_load_s: float


# Cut to fit under 30 minutes on 2 cores shared with other sessions (see the notes in results.md).
FULL = Sizes(
    generated_reports=10_000,
    retrieval_passages=(1_000, 10_000, 100_000),
    summary_reports=(5, 20),
    judge_reports=(1,),
    judge_narrative=False,
    judge_switch=False,
    overhead_calls=3,
    repeats=3,
    retrieval_repeats=20,
    overhead_pairs=3,
    overhead_narrative_tokens=48,
    llama_configs=((4096, 128), (4096, 512)),
    narrative_max_tokens=150,
    memory_timeout_s=420,
    memory_after_load_s=300,  # the first narrative, after the first child's reports went through both models
)
QUICK = Sizes(
    generated_reports=24,
    retrieval_passages=(200, 500, 1_000),
    summary_reports=(1, 2),
    judge_reports=(1,),
    judge_narrative=True,
    judge_switch=True,
    overhead_calls=None,
    repeats=2,
    retrieval_repeats=5,
    overhead_pairs=2,
    overhead_narrative_tokens=16,
    llama_configs=((2048, 128), (2048, 512)),
    narrative_max_tokens=16,
    memory_timeout_s=240,
    memory_after_load_s=20,
)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_settings(
    home: Path, model: str, mode: str | None = None, narrative_max_tokens: int | None = None
) -> Settings:
    """The default settings (extractor mode included, unless ``mode`` names another) on ``home``."""
    settings = Settings(home=home)
    settings.llm.model = model
    settings.extractor.mode = mode or settings.extractor.mode
    if narrative_max_tokens:
        settings.llm.narrative_max_tokens = narrative_max_tokens
    return settings


def fresh(folder: Path) -> Path:
    """An empty folder. Chroma keeps one client per path for the life of the process, and a store deleted
    under it turns read-only; its cache is dropped so a section can run twice in one process (tests)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def write_children(path: Path, counts: list[int]) -> Path:
    """One invented child per size (child id ``S<count>``), the same reports in every section."""
    sentences = corpus_sentences()
    rows = []
    for count in sorted(set(counts)):
        rows += invented_reports(f"S{count:02d}", count, sentences, seed=20_000 + count)
    return write_jsonl(path, rows)


@dataclass
class Bench:
    """What the sections share in one process; the models are loaded by the first section that needs them."""

    work: Path
    sizes: Sizes
    model: str
    switch_from: str | None
    embedder: Embedder
    prompts: dict = field(default_factory=dict)  # a narrative prompt of a real run, for the llama sweep

    @cached_property
    def settings(self) -> Settings:
        return bench_settings(self.work / "summary", self.model)

    @cached_property
    def llm(self) -> LLM:
        return load_llm(self.settings.llm)

    def other_llm(self) -> LLM | None:
        """The model whose cache is present in the switch case (loaded only for that section)."""
        if not self.switch_from or self.switch_from == self.model:
            return None
        return load_llm(self.settings.llm, self.switch_from)


# --- ingest -------------------------------------------------------------------------------


def bench_ingest(bench: Bench) -> dict:
    """Parse + split + embed + index (SQLite and Chroma); the embedding model is loaded beforehand."""
    generated = write_generated(fresh(bench.work / "generated"), bench.sizes.generated_reports)
    results = {}
    for name, paths in (("demo", [DEMO]), ("generated", generated)):
        assistant = Assistant(
            bench_settings(fresh(bench.work / f"ingest-{name}"), bench.model), embedder=bench.embedder
        )
        assistant.index  # noqa: B018 - open Chroma before the clock starts
        seconds = timed(lambda assistant=assistant, paths=paths: assistant.ingest(paths))
        counts = assistant.store.counts()
        results[name] = {
            "reports": counts["reports"],
            "passages": counts["passages"],
            "files": len(paths) if name == "generated" else 1,
            "seconds": round(seconds, 2),
            "reports_per_s": round(counts["reports"] / seconds, 1),
            "passages_per_s": round(counts["passages"] / seconds, 1),
        }
        assistant.store.close()
    return results


# --- retrieval ----------------------------------------------------------------------------


def bench_retrieval(bench: Bench) -> dict:
    """p50/p95 of ``HybridRetriever.select`` for one child while the index grows to each size.

    The queried child's passages have real embeddings; the other children's are real embeddings of
    a pool of invented passages, reused with small random perturbations (embedding every filler
    passage would take hours on 2 cores).
    """
    sizes, embedder = bench.sizes, bench.embedder
    assistant = Assistant(bench_settings(fresh(bench.work / "retrieval"), bench.model), embedder=embedder)
    sentences = corpus_sentences()
    rows = invented_reports("Q0001", max(sizes.summary_reports), sentences, seed=10_001)
    source = write_jsonl(bench.work / "retrieval-child.jsonl", rows)
    assistant.ingest([source])
    own = assistant.store.passages_for("Q0001")
    pool_texts = [" ".join(sentences[i : i + 2]) for i in range(0, min(len(sentences), 2 * 400), 2)]
    pool = np.asarray(embedder.embed(pool_texts), dtype=np.float32)
    rng = np.random.default_rng(7)
    queries = assistant.category_queries()
    assistant.retriever.select("Q0001", own, queries)  # query vectors embedded once per process
    results: dict = {"child_passages": len(own), "pool_of_real_vectors": len(pool)}
    filled = len(own)
    for target in sizes.retrieval_passages:
        while filled < target:
            count = min(5_000, target - filled)
            numbers = range(filled, filled + count)
            vectors = pool[[n % len(pool) for n in numbers]] + rng.normal(0, 0.02, (count, pool.shape[1]))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            fillers = [
                Passage(
                    passage_id=f"F{n:06d}",
                    report_id=f"F{n // 4:06d}",
                    child_id=f"F{n // 40:05d}",
                    n=n % 4 + 1,
                    start=0,
                    end=1,
                    text="-",
                    date=dt.date(2022, 1, 1),
                    reporter="skola",
                )
                for n in numbers
            ]
            assistant.index.upsert(fillers, vectors.tolist())
            filled += count
        latencies = [
            1000 * timed(lambda: assistant.retriever.select("Q0001", own, queries))
            for _ in range(sizes.retrieval_repeats)
        ]
        results[str(target)] = {
            "index_size": assistant.index.count(),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "runs": len(latencies),
        }
    assistant.store.close()
    return results


# --- one report -----------------------------------------------------------------------------


def bench_report(bench: Bench) -> dict:
    """Median seconds to analyse a 10-sentence report with the default settings (narrative off): cold, with
    the models loaded but nothing cached, then again with its analyses cached (issue 3's speed figure)."""
    home = fresh(bench.work / "report")
    sentences = corpus_sentences()
    runs = bench.sizes.repeats + 1  # the first report warms the models up, untimed
    rows = [
        {
            "report_id": f"T{i}-R1",
            "child_id": f"T{i}",
            "date": "2024-03-01",
            "reporter": "skola",
            "text": " ".join(sentences[REPORT_SENTENCES * i : REPORT_SENTENCES * (i + 1)]),
        }
        for i in range(runs)
    ]
    source = write_jsonl(home / "reports.jsonl", rows)
    settings = bench_settings(home, bench.model)
    settings.narrative = False
    assistant = Assistant(settings, llm=bench.llm, embedder=bench.embedder)
    assistant.ingest([source])
    assistant.summarize("T0")
    cold, cached = [], []
    for i in range(1, runs):
        cold.append(timed(lambda i=i: assistant.summarize(f"T{i}")))
        cached.append(timed(lambda i=i: assistant.summarize(f"T{i}")))
    passages = [len(assistant.store.passages_for(f"T{i}")) for i in range(1, runs)]
    assistant.store.close()
    return {
        "extractor": assistant.extractor.tag,
        "sentences": REPORT_SENTENCES,
        "passages": passages,
        "cold_s": median(cold),
        "cached_s": median(cached),
        "cold_runs_s": [round(t, 2) for t in cold],
        "cached_runs_s": [round(t, 3) for t in cached],
    }


# --- summary latency ------------------------------------------------------------------------


def forget_analyses(assistant: Assistant) -> None:
    """Empty the answer cache and the precomputation marks: the next summary starts cold."""
    with assistant.store.transaction() as db:
        db.execute("DELETE FROM analyses")
        db.execute("DELETE FROM precomputed")


def bench_summaries(bench: Bench) -> dict:
    """Summary latency cold / warm (precomputed) / after a model switch, per mode and child size."""
    sizes = bench.sizes
    home = fresh(bench.work / "summary")
    source = write_children(home / "children.jsonl", [*sizes.summary_reports, *sizes.judge_reports])
    other_llm = bench.other_llm()
    latencies: dict = {}
    for label, mode, counts in (("default", None, sizes.summary_reports), ("judge", "judge", sizes.judge_reports)):
        settings = bench_settings(home, bench.model, mode, sizes.narrative_max_tokens)
        settings.narrative = mode != "judge" or sizes.judge_narrative
        recorder = RecordingLLM(bench.llm)
        assistant = Assistant(settings, llm=recorder, embedder=bench.embedder)
        assistant.ingest([source])
        latencies[label] = {}
        for count in counts:
            child = f"S{count:02d}"
            cold, _ = cold_run(assistant, recorder, child, limit=None)
            calls = len(recorder.calls)
            Precomputer(assistant).run(child_id=child)
            warm = [
                timed(lambda assistant=assistant, child=child: assistant.summarize(child)) for _ in range(sizes.repeats)
            ]
            entry = {
                "passages": len(assistant.store.passages_for(child)),
                "model_calls_cold": calls,
                "cold_s": round(cold, 2),
                "warm_s": median(warm),
                "warm_runs": len(warm),
            }
            if count == min(counts) and (label == "default" or sizes.judge_switch):
                entry["switch_s"] = round(model_switch(assistant, child, other_llm, settings, bench.embedder), 2)
                entry["switch_from"] = other_llm.ref.name if other_llm else "(none: cold)"
            latencies[label][str(count)] = entry
        assistant.store.close()
    return latencies


def model_switch(assistant: Assistant, child: str, other_llm: LLM | None, settings: Settings, embedder) -> float:
    """Cold summary while the cache holds another model's answers for the same child (none of this model's)."""
    forget_analyses(assistant)
    if other_llm is not None:
        previous = Assistant(settings, llm=other_llm, embedder=embedder)
        Precomputer(previous).run(child_id=child)
    return timed(lambda: assistant.summarize(child))


# --- pipeline overhead ----------------------------------------------------------------------


Call = tuple[str, list[dict], object, float]  # kind, messages, arguments, seconds inside the model


class StopRun(Exception):
    """Raised instead of a model call beyond ``RecordingLLM.limit``; carries that call's messages."""

    def __init__(self, messages: list[dict]):
        super().__init__("model call limit reached")
        self.messages = messages


class RecordingLLM:
    """Passes every call to the real model and keeps what was asked and how long it took, to replay it directly.

    With ``limit`` set, the call after the first ``limit`` ones raises ``StopRun`` instead: a timed
    overhead run can end after a few judge calls, and ``limit = 0`` yields the first call's messages.
    """

    def __init__(self, llm: LLM):
        self.llm = llm
        self.ref = llm.ref
        self.calls: list[Call] = []
        self.limit: int | None = None

    def _before(self, messages: list[dict]) -> float:
        if self.limit is not None and len(self.calls) >= self.limit:
            raise StopRun(messages)
        return time.perf_counter()

    def complete_json(self, messages: list[dict], schema: dict, max_tokens: int):
        started = self._before(messages)
        completion = self.llm.complete_json(messages, schema, max_tokens)
        self.calls.append(("json", messages, (schema, max_tokens), time.perf_counter() - started))
        return completion

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        started = self._before(messages)
        yield from self.llm.stream(messages, max_tokens)
        self.calls.append(("stream", messages, max_tokens, time.perf_counter() - started))

    def score_choices(self, messages: list[dict], choices: list[str]) -> list[float]:
        started = self._before(messages)
        scores = self.llm.score_choices(messages, choices)
        self.calls.append(("score", messages, choices, time.perf_counter() - started))
        return scores


def cold_run(assistant: Assistant, recorder: RecordingLLM, child: str, limit: int | None) -> tuple[float, list[dict]]:
    """Seconds of a cold summary of ``child``, ended before model call ``limit + 1``, and that call's messages."""
    forget_analyses(assistant)
    recorder.calls.clear()
    recorder.limit = limit
    stopped_at: list[dict] = []
    started = time.perf_counter()
    try:
        assistant.summarize(child)
    except StopRun as stop:
        stopped_at = stop.messages
    finally:
        recorder.limit = None
    return time.perf_counter() - started, stopped_at


def direct_llama(settings: Settings, n_batch: int | None = None, n_ctx: int | None = None):
    """llama-cpp-python's ``Llama`` on the same file and settings as ``LlamaCppLLM``, without anything of ours."""
    from llama_cpp import Llama

    from assistant.models import Registry

    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    entry = registry.entry(settings.llm.model)
    return Llama(
        model_path=str(registry.file_path(entry)),
        n_ctx=n_ctx or min(settings.llm.n_ctx, entry.context_length),  # as LlamaCppLLM
        n_threads=settings.llm.n_threads,
        n_threads_batch=settings.llm.n_threads,
        n_batch=n_batch or settings.llm.n_batch,
        seed=settings.llm.seed,
        chat_format=entry.chat_format or None,
        verbose=False,
    )


def replay(llama, calls: list[Call], seed: int) -> float:
    """The same prompts straight through llama-cpp-python at temperature 0: a label is one generated token."""
    started = time.perf_counter()
    for kind, messages, extra, _ in calls:
        if kind == "stream":
            for _ in llama.create_chat_completion(
                messages=messages, temperature=0.0, max_tokens=extra, stream=True, seed=seed
            ):
                pass
        elif kind == "score":
            llama.create_chat_completion(messages=messages, temperature=0.0, max_tokens=1, seed=seed)
        else:
            schema, max_tokens = extra
            llama.create_chat_completion(
                messages=messages,
                response_format={"type": "json_object", "schema": schema},
                temperature=0.0,
                max_tokens=max_tokens,
                seed=seed,
            )
    return time.perf_counter() - started


def warm_up_messages(messages: list[dict]) -> list[dict]:
    """The fixed messages of a call (instructions, examples) with a one-character question in place of its own."""
    return [*messages[:-1], {"role": "user", "content": "."}]


def warm_up_pipeline(llm: LLM, messages: list[dict]) -> None:
    """Untimed: the pipeline model's KV cache holds the fixed messages (from its prefix states), not the question."""
    for _ in llm.stream(warm_up_messages(messages), 1):
        pass


def warm_up_direct(llama, messages: list[dict]) -> None:
    """Untimed: llama-cpp-python's KV cache holds the same fixed messages, which its next call reuses."""
    llama.create_chat_completion(messages=warm_up_messages(messages), temperature=0.0, max_tokens=1)


def pipeline_run(assistant: Assistant, recorder: RecordingLLM, child: str, limit: int | None) -> dict:
    """One cold summary, up to its ``limit``-th model call, with the time spent outside the model."""
    seconds, _ = cold_run(assistant, recorder, child, limit)
    calls = list(recorder.calls)
    return {"calls": calls, "seconds": seconds, "outside_model_s": seconds - sum(call[3] for call in calls)}


def overhead_pairs(bench: Bench, assistant: Assistant, recorder: RecordingLLM, direct, child: str) -> dict:
    """``overhead_pairs`` interleaved pairs of a cold pipeline summary and the same calls straight through
    llama-cpp-python, alternating which goes first, so a change of load hits both sides alike.

    Before every timed run each side answers one untimed short prompt after the first call's fixed
    messages: both start with those messages in their KV cache (the pipeline from its prefix states,
    llama-cpp-python by its reuse of the previous call's prefix) and neither with the call's own part.
    """
    sizes, seed = bench.sizes, bench.settings.llm.seed
    _, fixed = cold_run(assistant, recorder, child, limit=0)
    if not fixed:
        raise RuntimeError(f"a cold summary of {child} made no model call: nothing to compare")
    calls: list[Call] = []
    pairs = []
    for index in range(sizes.overhead_pairs):
        pair: dict = {"first": "pipeline" if index % 2 == 0 else "direct"}
        for side in ("pipeline", "direct") if index % 2 == 0 else ("direct", "pipeline"):
            if side == "pipeline":
                warm_up_pipeline(recorder.llm, fixed)
                run = pipeline_run(assistant, recorder, child, sizes.overhead_calls)
                calls = calls or run["calls"]
                pair["pipeline_s"] = round(run["seconds"], 3)
                pair["outside_model_s"] = round(run["outside_model_s"], 3)
            else:
                warm_up_direct(direct, fixed)
                pair["direct_s"] = round(replay(direct, calls, seed), 3)
        pair["ratio"] = round(pair["pipeline_s"] / pair["direct_s"], 3)
        pairs.append(pair)
    pipeline, direct_s = median([p["pipeline_s"] for p in pairs]), median([p["direct_s"] for p in pairs])
    bench.prompts.setdefault("narrative", next((c[1] for c in calls if c[0] == "stream"), None))
    return {
        "model_calls": len(calls),
        "pairs": pairs,
        "pipeline_s": pipeline,
        "direct_llama_cpp_s": direct_s,
        "outside_model_s": median([p["outside_model_s"] for p in pairs]),
        "ratio": round(pipeline / direct_s, 3),
    }


def bench_overhead(bench: Bench) -> dict:
    """Pipeline time against the same prompts through llama-cpp-python, default and judge config, smallest child.

    The narrative is capped at ``overhead_narrative_tokens`` and the judge runs without one (its
    calls then share one set of fixed messages), so the pairs fit in the time budget. "default" is
    the default's narrative path on lexicon findings: the classifier's hidden-state passes are model
    work with no chat call to replay; the summary section's cold times include them.
    """
    sizes = bench.sizes
    home = fresh(bench.work / "overhead")
    configs = (("default", "lexicon", min(sizes.summary_reports)), ("judge", "judge", min(sizes.judge_reports)))
    source = write_children(home / "children.jsonl", [count for _, _, count in configs])
    direct = direct_llama(bench.settings)
    results = {}
    for label, mode, count in configs:
        settings = bench_settings(home, bench.model, mode, sizes.overhead_narrative_tokens)
        settings.narrative = mode != "judge"
        recorder = RecordingLLM(bench.llm)
        assistant = Assistant(settings, llm=recorder, embedder=bench.embedder)
        assistant.ingest([source])
        results[label] = {"child_reports": count, **overhead_pairs(bench, assistant, recorder, direct, f"S{count:02d}")}
        assistant.store.close()
    return results


# --- llama settings sweep -------------------------------------------------------------------


def narrative_prompt(bench: Bench) -> list[dict]:
    """The narrative prompt of a real cold summary of the smallest child (from the overhead runs if they ran)."""
    if bench.prompts.get("narrative"):
        return bench.prompts["narrative"]
    home = fresh(bench.work / "prompt")
    count = min(bench.sizes.summary_reports)
    source = write_children(home / "children.jsonl", [count])
    recorder = RecordingLLM(bench.llm)
    assistant = Assistant(
        bench_settings(home, bench.model, narrative_max_tokens=1), llm=recorder, embedder=bench.embedder
    )
    assistant.ingest([source])
    assistant.summarize(f"S{count:02d}")
    assistant.store.close()
    bench.prompts["narrative"] = next(call[1] for call in recorder.calls if call[0] == "stream")
    return bench.prompts["narrative"]


def bench_llama_settings(bench: Bench) -> dict:
    """Prompt evaluation (one generated token) of the narrative prompt per (n_ctx, n_batch), from an empty cache.

    One prompt, and one token, because n_batch and n_ctx change how the prompt is evaluated, not
    how fast tokens are generated.
    """
    messages = narrative_prompt(bench)
    results: dict = {}
    for n_ctx, n_batch in bench.sizes.llama_configs:
        llama = direct_llama(bench.settings, n_batch=n_batch, n_ctx=n_ctx)
        runs, prompt_tokens = [], 0
        for _ in range(max(1, bench.sizes.repeats - 2)):
            llama.reset()
            started = time.perf_counter()
            response = llama.create_chat_completion(messages, temperature=0.0, max_tokens=1)
            runs.append(time.perf_counter() - started)
            prompt_tokens = response["usage"]["prompt_tokens"]
        results[f"n_ctx={n_ctx} n_batch={n_batch}"] = {
            "prompt_tokens": prompt_tokens,
            "narrative_prompt_s": median(runs),
        }
        del llama
    return results


# --- memory ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            key, value = line.split(":")
            values[key] = int(value.split()[0]) // 1024
    return values


def gguf_mappings(pid: int) -> int:
    """Mappings of GGUF files: llama.cpp maps its file once per loaded model instance (the generator,
    the classifier's encoder)."""
    return sum(1 for line in Path(f"/proc/{pid}/maps").read_text().splitlines() if line.endswith(".gguf"))


def bench_memory(bench: Bench) -> dict:
    """Peak RSS of the real app (``assistant ui``) while its background worker uses the model.

    Read when the worker has written a narrative, or ``memory_after_load_s`` after the model file was
    mapped (by then the first prompt has gone through every layer), or at ``memory_timeout_s``.
    """
    home = fresh(bench.work / "memory")
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_LLM__MODEL": bench.model,
        "ASSISTANT_PRECOMPUTE__POLL_S": "1",
    }
    cli = [sys.executable, "-m", "assistant.cli"]
    subprocess.run([*cli, "ingest", str(DEMO)], env=env, check=True, capture_output=True, cwd=PROJECT_ROOT)
    subprocess.run(  # the app does not start without a user to log in
        [*cli, "users", "add", "bench", "--role", "admin", "--password-stdin"],
        env=env,
        check=True,
        capture_output=True,
        input="bench-lösenord-2025\n",
        text=True,
        cwd=PROJECT_ROOT,
    )
    store = Assistant(bench_settings(home, bench.model)).store
    process = subprocess.Popen(
        [*cli, "ui", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + bench.sizes.memory_timeout_s
        mapped_at = None
        narrated = False
        while time.monotonic() < deadline and process.poll() is None:
            narrated = any(item.startswith("narrative:") for item, _ in store.precomputed())
            if mapped_at is None and ".gguf" in Path(f"/proc/{process.pid}/maps").read_text():
                mapped_at = time.monotonic()
            if narrated or (mapped_at is not None and time.monotonic() - mapped_at > bench.sizes.memory_after_load_s):
                break
            time.sleep(1)
        if process.poll() is not None:
            raise RuntimeError(f"'assistant ui' exited with {process.returncode} before its memory was read")
        memory = proc_status(process.pid)
        return {
            "peak_rss_mb": memory.get("VmHWM"),
            "rss_mb": memory.get("VmRSS"),
            "model_loaded": mapped_at is not None,
            "gguf_mappings": gguf_mappings(process.pid),
            "narrative_written": narrated,
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
        store.close()


# --- sections -------------------------------------------------------------------------------

# section name on the command line -> (key in results.json, function)
SECTIONS: dict[str, tuple[str, Callable[[Bench], dict]]] = {
    "ingest": ("ingest", bench_ingest),
    "retrieval": ("retrieval", bench_retrieval),
    "summaries": ("summary", bench_summaries),
    "report": ("report", bench_report),
    "overhead": ("overhead", bench_overhead),
    "llama": ("llama_settings", bench_llama_settings),
    "memory": ("memory", bench_memory),
}


def run_section(name: str, bench: Bench, command: str, log: Callable[[str], None]) -> tuple[dict, dict]:
    """The section's figures and when and under which load they were taken."""
    log(name)
    started, load_start, clock = now(), load_average(), time.perf_counter()
    figures = SECTIONS[name][1](bench)
    run = {
        "started": started,
        "seconds": round(time.perf_counter() - clock, 1),
        "load_start": load_start,
        "load_end": load_average(),
        "command": command,
    }
    return figures, run


def parse_only(text: str | None) -> list[str]:
    """Sections in the order they always run (ingest first, memory last), whatever order they were named in."""
    if not text:
        return list(SECTIONS)
    named = {part.strip() for part in text.split(",") if part.strip()}
    unknown = named - set(SECTIONS)
    if unknown:
        raise SystemExit(f"--only: unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    return [name for name in SECTIONS if name in named]


def previous_results(path: Path, quick: bool, model: str) -> dict | None:
    """The results an ``--only`` run merges into; refused before anything runs if they are for another setup."""
    if not path.exists():
        return None
    previous = json.loads(path.read_text(encoding="utf-8"))
    old = previous["meta"]
    if (old.get("quick"), old.get("model")) != (quick, model):
        raise SystemExit(
            f"--only: {path} holds results for model {old.get('model')} (quick: {old.get('quick')}), this run is "
            f"for {model} (quick: {quick}); run all sections or use another --out"
        )
    return previous


def merge(previous: dict | None, fresh_results: dict) -> dict:
    """The new sections replace their namesakes in the previous results; the rest, and their run records, stay."""
    if previous is None:
        return fresh_results
    merged = {**previous, **fresh_results}
    merged["sections"] = {**previous.get("sections", {}), **fresh_results["sections"]}
    return merged


# --- report -------------------------------------------------------------------------------


def target_values(results: dict) -> dict:
    """The targets whose sections are present in the results."""
    values = {}
    if "summary" in results:
        values["open_precomputed_case_s"] = max(entry["warm_s"] for entry in results["summary"]["default"].values())
    if "overhead" in results:
        values["pipeline_overhead_ratio"] = max(entry["ratio"] for entry in results["overhead"].values())
    if "retrieval" in results:
        largest = str(max(int(k) for k in results["retrieval"] if k.isdigit()))
        values["retrieval_p95_ms_100k"] = results["retrieval"][largest]["p95_ms"]
    if "ingest" in results:
        values["ingest_generated_passages_per_s"] = results["ingest"]["generated"]["passages_per_s"]
    if "memory" in results:
        values["peak_rss_mb"] = results["memory"]["peak_rss_mb"]
    if "report" in results:
        values["report_cold_s"] = results["report"]["cold_s"]
        values["report_cached_s"] = results["report"]["cached_s"]
    checks = {"<": lambda v, t: v < t, "<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t}
    return {
        key: {"what": what, "target": f"{op} {limit}", "value": values[key], "met": checks[op](values[key], limit)}
        for key, (what, op, limit) in TARGETS.items()
        if key in values
    }


def section_line(results: dict, key: str) -> list[str]:
    """When the section ran and under which load: the machine is shared, so readers need both."""
    name = next(name for name, (result_key, _) in SECTIONS.items() if result_key == key)
    run = results.get("sections", {}).get(name)
    if not run:
        return []
    return [
        f"Measured {run['started']} ({run['seconds']:.0f} s, `{run['command']}`); load average (1/5/15 min) "
        f"at start {run['load_start']}, at end {run['load_end']}.",
        "",
    ]


def ingest_lines(results: dict) -> list[str]:
    lines = ["## Ingest (parse + split + embed + index)", "", *section_line(results, "ingest")]
    lines += ["| set | reports | passages | s | reports/s | passages/s |", "|---|---|---|---|---|---|"]
    for name, row in results["ingest"].items():
        lines.append(
            f"| {name} | {row['reports']} | {row['passages']} | {row['seconds']} | {row['reports_per_s']} | "
            f"{row['passages_per_s']} |"
        )
    return lines


def retrieval_lines(results: dict) -> list[str]:
    retrieval = results["retrieval"]
    lines = [
        f"## Retrieval for one child ({retrieval['child_passages']} passages, real embeddings)",
        "",
        *section_line(results, "retrieval"),
        f"Other children's vectors: {retrieval['pool_of_real_vectors']} real embeddings of invented passages, "
        "reused with small random perturbations.",
        "",
        "| passages in the index | p50 ms | p95 ms | runs |",
        "|---|---|---|---|",
    ]
    for key, row in retrieval.items():
        if key.isdigit():
            lines.append(f"| {row['index_size']} | {row['p50_ms']} | {row['p95_ms']} | {row['runs']} |")
    return lines


def summary_lines(results: dict) -> list[str]:
    lines = [
        "## Summary latency (s)",
        "",
        *section_line(results, "summary"),
        "Cold: nothing cached (one run). Warm: after `Precomputer.run()` (median). Switch: cold while the cache "
        "holds the other model's answers for the child (one run, smallest child only).",
        "",
        "| config | reports | passages | model calls cold | cold | warm | after switch |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, children in results["summary"].items():
        for count, row in children.items():
            switch = f"{row['switch_s']} (from {row['switch_from']})" if "switch_s" in row else "–"
            lines.append(
                f"| {label} | {count} | {row['passages']} | {row['model_calls_cold']} | {row['cold_s']} | "
                f"{row['warm_s']} | {switch} |"
            )
    return lines


def report_lines(results: dict) -> list[str]:
    report = results["report"]
    return [
        f"## One report of {report['sentences']} sentences (default settings, narrative off)",
        "",
        *section_line(results, "report"),
        f"Extractor `{report['extractor']}`; passages per report {report['passages']}. Median cold (nothing "
        f"cached, models loaded) {report['cold_s']} s, runs {report['cold_runs_s']}; median cached "
        f"{report['cached_s']} s, runs {report['cached_runs_s']}.",
    ]


def overhead_lines(results: dict) -> list[str]:
    lines = [
        "## Pipeline overhead (cold summary vs the same prompts through llama-cpp-python)",
        "",
        *section_line(results, "overhead"),
        "Medians over interleaved pairs; ratio = median pipeline / median direct. Per pair: which side ran first, "
        "pipeline s / direct s = ratio, and the pipeline's time outside the model.",
        "",
        "| config | reports | model calls timed | pipeline s | outside the model s | direct s | ratio | pairs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, row in results["overhead"].items():
        pairs = "; ".join(
            f"{p['first']} first: {p['pipeline_s']} / {p['direct_s']} = {p['ratio']} ({p['outside_model_s']} outside)"
            for p in row.get("pairs", [])
        )
        lines.append(
            f"| {label} | {row.get('child_reports', '–')} | {row['model_calls']} | "
            f"{row['pipeline_s']} | {row['outside_model_s']} | {row['direct_llama_cpp_s']} | {row['ratio']} | "
            f"{pairs} |"
        )
    return lines


def llama_lines(results: dict) -> list[str]:
    lines = [
        "## llama.cpp context and batch size (direct, narrative prompt of a cold run, empty cache, one token)",
        "",
        *section_line(results, "llama_settings"),
        "| setting | prompt tokens | s |",
        "|---|---|---|",
    ]
    for key, row in results["llama_settings"].items():
        lines.append(f"| {key} | {row.get('prompt_tokens', '–')} | {row.get('narrative_prompt_s', '–')} |")
    return lines


def memory_lines(results: dict) -> list[str]:
    memory = results["memory"]
    return [
        "## Memory",
        "",
        *section_line(results, "memory"),
        f"Peak RSS of `assistant ui` with the model loaded: {memory['peak_rss_mb']} MB "
        f"(RSS {memory['rss_mb']} MB when measured; model loaded: {memory['model_loaded']}, "
        f"GGUF files mapped: {memory.get('gguf_mappings', '–')}, a narrative written: {memory['narrative_written']}).",
    ]


RENDERERS = {
    "ingest": ingest_lines,
    "retrieval": retrieval_lines,
    "summary": summary_lines,
    "report": report_lines,
    "overhead": overhead_lines,
    "llama_settings": llama_lines,
    "memory": memory_lines,
}


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [
        "# Benchmarks",
        "",
        f"Last run {meta['started']} – {meta['finished']} ({meta['wall_s']:.0f} s) with `{meta['command']}`, "
        f"model `{meta['model']}`, {meta['cpus']} CPUs. Each section below says when it was measured and the "
        "load average (1/5/15 min) then: other sessions share the two cores, so every figure is pessimistic.",
        "",
        "## Targets",
        "",
        "| target | value | wanted | met |",
        "|---|---|---|---|",
    ]
    for target in results["targets"].values():
        met = "yes" if target["met"] else "**no**"
        lines.append(f"| {target['what']} | {target['value']} | {target['target']} | {met} |")
    for key, render in RENDERERS.items():
        if key in results:
            lines += ["", *render(results)]
    lines += ["", "## Notes", "", *[f"- {note}" for note in meta["notes"]], ""]
    return "\n".join(lines)


def hand_written(path: Path) -> str:
    """The ``## Findings`` part of an existing results.md, which a merge must not drop."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find(f"\n{FINDINGS_HEADING}")
    return text[start + 1 :] if start >= 0 else ""


def run_notes(sizes: Sizes) -> list[str]:
    """What was cut or capped, and how the comparisons were made fair."""
    notes = [
        "Medians over several runs where runs are repeated; cold summaries and model switches are single runs "
        "(each costs a full model pass on 2 shared cores).",
        "Retrieval latency is `HybridRetriever.select` (BM25 over the child's passages + exact search over the "
        "child's vectors, fused); the category query vectors are embedded once per process.",
        f"Overhead: {sizes.overhead_pairs} interleaved pairs per config on the smallest child, the first pair "
        "pipeline first, then alternating; a pipeline run is a cold summary (answer cache emptied), a direct run "
        "replays its recorded calls through a separate `Llama` on the same file and settings; temperature 0 on "
        "both sides. Before every timed run each side answers one untimed one-character question after the "
        "first call's fixed messages (instructions, examples): both then start with those messages in the KV "
        "cache (the pipeline loads them from its prefix states, llama-cpp-python reuses its previous call's "
        "prefix), neither with the call's own part, and the weights are paged in.",
        f"Overhead runs cap the narrative at {sizes.overhead_narrative_tokens} tokens; judge-mode overhead runs "
        "have no narrative (all their calls share one set of fixed messages).",
        f"Judge mode timed on the {', '.join(map(str, sizes.judge_reports))}-report child only: a cold judge "
        "run asks about nine questions per report.",
        f"llama.cpp settings: {len(sizes.llama_configs)} (n_ctx, n_batch) pairs, {max(1, sizes.repeats - 2)} "
        "run(s) each, the narrative prompt of the smallest child from an empty KV cache, one generated token "
        "(n_batch and n_ctx change prompt evaluation, not generation).",
    ]
    if sizes.overhead_calls:
        notes.append(
            f"Overhead: a pipeline run ends when it is about to make model call {sizes.overhead_calls + 1} (the "
            "judge config makes more); its time up to there is compared with the replay of those calls."
        )
    if sizes.generated_reports < 10_000:
        notes.append(f"Generated ingest set: {sizes.generated_reports} reports instead of 10,000 (quick run).")
    if not sizes.judge_narrative:
        notes.append("Judge rows time the extraction only (no narrative); the narrative costs as in the default rows.")
    if not sizes.judge_switch:
        notes.append("Model switch timed in the default config only.")
    if sizes.narrative_max_tokens:
        notes.append(
            f"Summary rows cap the narrative at {sizes.narrative_max_tokens} tokens (configured: "
            f"{Settings().llm.narrative_max_tokens}) to fit the time budget: a cold summary with a longer narrative "
            "takes longer by the extra tokens' generation time."
        )
    return notes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and the tiny model (development, tests)")
    parser.add_argument("--only", help=f"comma-separated sections to re-measure and merge: {', '.join(SECTIONS)}")
    parser.add_argument("--model", help="model name in the registry (default: settings; --quick: the tiny model)")
    parser.add_argument("--switch-from", help="the other model whose cache is present in the switch case")
    parser.add_argument("--generated-reports", type=int, help="size of the generated ingest set")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench", help="where results.json/.md go")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "bench" / "out", help="working files")
    args = parser.parse_args(argv)
    sections = parse_only(args.only)
    sizes = QUICK if args.quick else FULL
    if args.generated_reports:
        sizes = replace(sizes, generated_reports=args.generated_reports)
    defaults = Settings()
    model = args.model or (TINY_MODEL if args.quick else defaults.llm.model or _active_model(defaults))
    command = "python -m bench.run" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "")
    json_path, md_path = args.out / "results.json", args.out / "results.md"
    previous = previous_results(json_path, args.quick, model) if args.only else None
    started, clock = now(), time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    bench = Bench(
        work=args.work,
        sizes=sizes,
        model=model,
        switch_from=args.switch_from or (None if args.quick else TINY_MODEL),
        embedder=Embedder(defaults.embedding),
    )

    def log(name: str) -> None:
        print(f"[{time.perf_counter() - clock:7.1f} s] {name}", file=sys.stderr, flush=True)

    results: dict = {"sections": {}}
    for name in sections:
        results[SECTIONS[name][0]], results["sections"][name] = run_section(name, bench, command, log)
    log("done")
    results["meta"] = {
        "started": started,
        "finished": now(),
        "wall_s": round(time.perf_counter() - clock, 1),
        "command": command,
        "quick": args.quick,
        "model": model,
        "cpus": os.cpu_count(),
        "sizes": sizes.__dict__,
        "notes": run_notes(sizes),
    }
    results = merge(previous, results)
    results["targets"] = target_values(results)
    findings = hand_written(md_path) if args.only else ""
    args.out.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(results) + ("\n" + findings if findings else ""), encoding="utf-8")
    return results


def _active_model(settings: Settings) -> str:
    from assistant.models import Registry

    return Registry.load(settings.llm.registry, settings.llm.models_dir).active


if __name__ == "__main__":
    main()
