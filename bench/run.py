"""Benchmarks on this machine: ingest, retrieval, summary latency, pipeline overhead, memory, llama settings.

``python -m bench.run [--quick]`` writes ``bench/results.json`` and ``bench/results.md``; working
files go to ``bench/out/`` (git-ignored). Figures are medians over ``repeats`` runs; a ratio is
always taken within one run. ``--quick`` uses small sizes and the tiny model (tests, development).
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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.settings import PROJECT_ROOT, Settings, disable_telemetry

disable_telemetry()

from assistant.llm import LLM, load_llm  # noqa: E402 - after the telemetry switches
from assistant.pipeline import Assistant  # noqa: E402
from assistant.precompute import Precomputer  # noqa: E402
from assistant.schema import Passage  # noqa: E402
from bench.generate import corpus_sentences, invented_reports, write_generated  # noqa: E402
from vectorstore.embeddings import Embedder  # noqa: E402

TINY_MODEL = "smollm2-135m-instruct-q4"
DEMO = PROJECT_ROOT / "data" / "demo"
TARGETS = {
    "open_precomputed_case_s": ("opening a precomputed case (warm summary, default config)", "<", 1.0),
    "pipeline_overhead_ratio": ("pipeline time / direct llama-cpp-python time", "<=", 1.10),
    "retrieval_p95_ms_100k": ("retrieval p95 at the largest store", "<", 50.0),
    "ingest_generated_passages_per_s": ("ingest of the generated set", ">=", 100.0),
    "peak_rss_mb": ("peak memory of the app with the model loaded", "<", 4096.0),
}


@dataclass(frozen=True)
class Sizes:
    generated_reports: int
    retrieval_passages: tuple[int, ...]
    summary_reports: tuple[int, ...]  # children's sizes in the default config
    judge_reports: tuple[int, ...]  # children's sizes in judge mode (a cold run asks ~9 questions per report)
    judge_narrative: bool  # False: judge rows time the extraction only (the narrative is timed in the default rows)
    judge_switch: bool  # time the model switch in judge mode too
    replay_calls: int | None  # model calls of a cold run replayed directly (None: all)
    repeats: int
    retrieval_repeats: int
    llama_configs: tuple[tuple[int, int], ...]  # (n_ctx, n_batch)
    narrative_tokens_in_sweep: int
    narrative_max_tokens: int | None  # None: the configured length


# Cut to fit well under 30 minutes on 2 cores shared with other sessions (see the notes in results.md).
FULL = Sizes(
    generated_reports=1_000,
    retrieval_passages=(1_000, 10_000, 100_000),
    summary_reports=(5, 20),
    judge_reports=(2,),
    judge_narrative=False,
    judge_switch=False,
    replay_calls=8,
    repeats=3,
    retrieval_repeats=30,
    llama_configs=((4096, 128), (4096, 256), (4096, 512), (2048, 512)),
    narrative_tokens_in_sweep=16,
    narrative_max_tokens=None,
)
QUICK = Sizes(
    generated_reports=24,
    retrieval_passages=(200, 500, 1_000),
    summary_reports=(1, 2),
    judge_reports=(1,),
    judge_narrative=True,
    judge_switch=True,
    replay_calls=None,
    repeats=2,
    retrieval_repeats=5,
    llama_configs=((2048, 128), (2048, 512)),
    narrative_tokens_in_sweep=8,
    narrative_max_tokens=16,
)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_settings(home: Path, model: str, mode: str = "lexicon", narrative_max_tokens: int | None = None) -> Settings:
    settings = Settings(home=home)
    settings.llm.model = model
    settings.extractor.mode = mode
    if narrative_max_tokens:
        settings.llm.narrative_max_tokens = narrative_max_tokens
    return settings


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


# --- ingest -------------------------------------------------------------------------------


def bench_ingest(work: Path, sizes: Sizes, embedder: Embedder, model: str) -> dict:
    """Parse + split + embed + index (SQLite and Chroma); the embedding model is loaded beforehand."""
    generated = write_generated(fresh(work / "generated"), sizes.generated_reports)
    results = {}
    for name, paths in (("demo", [DEMO]), ("generated", generated)):
        assistant = Assistant(bench_settings(fresh(work / f"ingest-{name}"), model), embedder=embedder)
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


def bench_retrieval(work: Path, sizes: Sizes, embedder: Embedder, model: str) -> dict:
    """p50/p95 of ``HybridRetriever.select`` for one child while the index grows to each size.

    The queried child's passages have real embeddings; the other children's are real embeddings of
    a pool of invented passages, reused with small random perturbations (embedding every filler
    passage would take hours on 2 cores).
    """
    assistant = Assistant(bench_settings(fresh(work / "retrieval"), model), embedder=embedder)
    source = work / "retrieval-child.jsonl"
    sentences = corpus_sentences()
    rows = invented_reports("Q0001", max(sizes.summary_reports), sentences, seed=10_001)
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
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


# --- summary latency and pipeline overhead --------------------------------------------------


class RecordingLLM:
    """Passes every call to the real model and keeps what was asked and how long it took, to replay it directly."""

    def __init__(self, llm: LLM):
        self.llm = llm
        self.ref = llm.ref
        self.calls: list[tuple[str, list[dict], object, float]] = []

    def complete_json(self, messages: list[dict], schema: dict, max_tokens: int):
        started = time.perf_counter()
        completion = self.llm.complete_json(messages, schema, max_tokens)
        self.calls.append(("json", messages, (schema, max_tokens), time.perf_counter() - started))
        return completion

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        started = time.perf_counter()
        yield from self.llm.stream(messages, max_tokens)
        self.calls.append(("stream", messages, max_tokens, time.perf_counter() - started))

    def score_choices(self, messages: list[dict], choices: list[str]) -> list[float]:
        started = time.perf_counter()
        scores = self.llm.score_choices(messages, choices)
        self.calls.append(("score", messages, choices, time.perf_counter() - started))
        return scores


def direct_llama(settings: Settings, n_batch: int | None = None, n_ctx: int | None = None):
    """llama-cpp-python's ``Llama`` on the same file and settings, without anything of ours around it."""
    from llama_cpp import Llama

    from assistant.models import Registry

    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    entry = registry.entry(settings.llm.model)
    return Llama(
        model_path=str(registry.file_path(entry)),
        n_ctx=n_ctx or settings.llm.n_ctx,
        n_threads=settings.llm.n_threads,
        n_threads_batch=settings.llm.n_threads,
        n_batch=n_batch or settings.llm.n_batch,
        seed=settings.llm.seed,
        chat_format=entry.chat_format or None,
        verbose=False,
    )


def replay(llama, calls: list[tuple[str, list[dict], object, float]], seed: int) -> float:
    """The same prompts straight through llama-cpp-python: a label is one generated token."""
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


def forget_analyses(assistant: Assistant) -> None:
    """Empty the answer cache and the precomputation marks: the next summary starts cold."""
    with assistant.store.transaction() as db:
        db.execute("DELETE FROM analyses")
        db.execute("DELETE FROM precomputed")


def bench_summaries(
    work: Path, sizes: Sizes, embedder: Embedder, model: str, llm: LLM, other_llm: LLM | None
) -> tuple[dict, dict, dict]:
    """Summary latency cold / warm (precomputed) / after a model switch, per mode and child size.

    Returns the latencies, the pipeline-overhead comparison (cold runs replayed directly through
    llama-cpp-python, smallest child) and one judge and one narrative prompt for the sweep.
    """
    home = fresh(work / "summary")
    sentences = corpus_sentences()
    source = home / "children.jsonl"
    rows = []
    for count in sorted(set(sizes.summary_reports) | set(sizes.judge_reports)):
        rows += invented_reports(f"S{count:02d}", count, sentences, seed=20_000 + count)
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    recorder = RecordingLLM(llm)
    latencies: dict = {}
    overhead: dict = {}
    prompts: dict = {}
    direct = None
    for label, mode, counts in (("default", "lexicon", sizes.summary_reports), ("judge", "judge", sizes.judge_reports)):
        settings = bench_settings(home, model, mode, sizes.narrative_max_tokens)
        settings.narrative = mode != "judge" or sizes.judge_narrative
        assistant = Assistant(settings, llm=recorder, embedder=embedder)
        assistant.ingest([source])
        latencies[label] = {}
        for count in counts:
            child = f"S{count:02d}"
            forget_analyses(assistant)
            recorder.calls.clear()
            cold = timed(lambda assistant=assistant, child=child: assistant.summarize(child))
            calls = list(recorder.calls)
            for kind, messages, _, _ in calls:
                prompts.setdefault({"score": "judge"}.get(kind, "narrative" if kind == "stream" else kind), messages)
            Precomputer(assistant).run(child_id=child)
            warm = [
                timed(lambda assistant=assistant, child=child: assistant.summarize(child)) for _ in range(sizes.repeats)
            ]
            entry = {
                "passages": len(assistant.store.passages_for(child)),
                "model_calls_cold": len(calls),
                "cold_s": round(cold, 2),
                "warm_s": median(warm),
                "warm_runs": len(warm),
            }
            if count == min(counts):
                direct = direct or direct_llama(settings)
                overhead[label] = {"child_reports": count, **compare_direct(direct, calls, cold, sizes, settings)}
                if label == "default" or sizes.judge_switch:
                    entry["switch_s"] = round(model_switch(assistant, child, other_llm, settings, embedder), 2)
                    entry["switch_from"] = other_llm.ref.name if other_llm else "(none: cold)"
            latencies[label][str(count)] = entry
        assistant.store.close()
    return latencies, overhead, prompts


def compare_direct(direct, calls: list, cold: float, sizes: Sizes, settings: Settings) -> dict:
    """Pipeline time against the same prompts through llama-cpp-python, in the same run.

    When only the first ``replay_calls`` calls are replayed, the pipeline's time outside the model
    is attributed to them pro rata.
    """
    replayed = calls[: sizes.replay_calls]
    outside_model = cold - sum(call[3] for call in calls)
    pipeline = sum(call[3] for call in replayed) + outside_model * len(replayed) / max(1, len(calls))
    seconds = replay(direct, replayed, settings.llm.seed)
    return {
        "model_calls": len(calls),
        "replayed_calls": len(replayed),
        "pipeline_s": round(pipeline, 2),
        "outside_model_s": round(outside_model, 3),
        "direct_llama_cpp_s": round(seconds, 2),
        "ratio": round(pipeline / seconds, 3) if seconds else None,
    }


def model_switch(assistant: Assistant, child: str, other_llm: LLM | None, settings: Settings, embedder) -> float:
    """Cold summary while the cache holds another model's answers for the same child (none of this model's)."""
    forget_analyses(assistant)
    if other_llm is not None:
        previous = Assistant(settings, llm=other_llm, embedder=embedder)
        Precomputer(previous).run(child_id=child)
    return timed(lambda: assistant.summarize(child))


# --- llama settings sweep -------------------------------------------------------------------


def bench_llama_settings(settings: Settings, sizes: Sizes, prompts: dict) -> dict:
    """Time one judge prompt (full evaluation, one token) and one narrative prompt (a few tokens) per setting."""
    results: dict = {}
    for n_ctx, n_batch in sizes.llama_configs:
        llama = direct_llama(settings, n_batch=n_batch, n_ctx=n_ctx)
        row = {}
        for name, max_tokens in (("judge", 1), ("narrative", sizes.narrative_tokens_in_sweep)):
            if name not in prompts:
                continue
            runs = []
            for _ in range(max(1, sizes.repeats - 2)):
                llama.reset()
                runs.append(
                    timed(
                        lambda llama=llama, name=name, max_tokens=max_tokens: llama.create_chat_completion(
                            messages=prompts[name], temperature=0.0, max_tokens=max_tokens
                        )
                    )
                )
            row[f"{name}_s"] = median(runs)
        results[f"n_ctx={n_ctx} n_batch={n_batch}"] = row
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


def bench_memory(work: Path, model: str, timeout_s: float, after_load_s: float) -> dict:
    """Peak RSS of the real app (``assistant ui``) while its background worker uses the model.

    Read when the worker has written a narrative, or ``after_load_s`` after the model file was mapped
    (by then the first prompt has gone through every layer), or at ``timeout_s``.
    """
    home = fresh(work / "memory")
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_LLM__MODEL": model,
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
    store = Assistant(bench_settings(home, model)).store
    process = subprocess.Popen(
        [*cli, "ui", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + timeout_s
        mapped_at = None
        narrated = False
        while time.monotonic() < deadline and process.poll() is None:
            narrated = any(item.startswith("narrative:") for item, _ in store.precomputed())
            if mapped_at is None and ".gguf" in Path(f"/proc/{process.pid}/maps").read_text():
                mapped_at = time.monotonic()
            if narrated or (mapped_at is not None and time.monotonic() - mapped_at > after_load_s):
                break
            time.sleep(1)
        if process.poll() is not None:
            raise RuntimeError(f"'assistant ui' exited with {process.returncode} before its memory was read")
        memory = proc_status(process.pid)
        return {
            "peak_rss_mb": memory.get("VmHWM"),
            "rss_mb": memory.get("VmRSS"),
            "model_loaded": mapped_at is not None,
            "narrative_written": narrated,
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
        store.close()


# --- report -------------------------------------------------------------------------------


def target_values(results: dict) -> dict:
    largest = str(max(int(k) for k in results["retrieval"] if k.isdigit()))
    default = results["summary"]["default"]
    values = {
        "open_precomputed_case_s": max(entry["warm_s"] for entry in default.values()),
        "pipeline_overhead_ratio": max(entry["ratio"] for entry in results["overhead"].values() if entry["ratio"]),
        "retrieval_p95_ms_100k": results["retrieval"][largest]["p95_ms"],
        "ingest_generated_passages_per_s": results["ingest"]["generated"]["passages_per_s"],
        "peak_rss_mb": results["memory"]["peak_rss_mb"],
    }
    checks = {"<": lambda v, t: v < t, "<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t}
    return {
        key: {"what": what, "target": f"{op} {limit}", "value": values[key], "met": checks[op](values[key], limit)}
        for key, (what, op, limit) in TARGETS.items()
    }


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [
        "# Benchmarks",
        "",
        f"Run {meta['started']} – {meta['finished']} ({meta['wall_s']:.0f} s) with `{meta['command']}`, "
        f"model `{meta['model']}`, {meta['cpus']} CPUs. Load average (1/5/15 min) at start {meta['load_start']}, "
        f"at end {meta['load_end']}: other sessions shared the two cores, so every figure is pessimistic.",
        "",
        "## Targets",
        "",
        "| target | value | wanted | met |",
        "|---|---|---|---|",
    ]
    for target in results["targets"].values():
        met = "yes" if target["met"] else "**no**"
        lines.append(f"| {target['what']} | {target['value']} | {target['target']} | {met} |")
    lines += [
        "",
        "## Ingest (parse + split + embed + index)",
        "",
        "| set | reports | passages | s | reports/s | passages/s |",
    ]
    lines.append("|---|---|---|---|---|---|")
    for name, row in results["ingest"].items():
        lines.append(
            f"| {name} | {row['reports']} | {row['passages']} | {row['seconds']} | {row['reports_per_s']} | "
            f"{row['passages_per_s']} |"
        )
    retrieval = results["retrieval"]
    lines += [
        "",
        f"## Retrieval for one child ({retrieval['child_passages']} passages, real embeddings)",
        "",
        f"Other children's vectors: {retrieval['pool_of_real_vectors']} real embeddings of invented passages, "
        "reused with small random perturbations.",
        "",
        "| passages in the index | p50 ms | p95 ms | runs |",
        "|---|---|---|---|",
    ]
    for key, row in retrieval.items():
        if key.isdigit():
            lines.append(f"| {row['index_size']} | {row['p50_ms']} | {row['p95_ms']} | {row['runs']} |")
    lines += [
        "",
        "## Summary latency (s)",
        "",
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
    lines += ["", "## Pipeline overhead (cold summary vs the same prompts through llama-cpp-python)", ""]
    lines += [
        "| config | model calls (replayed) | pipeline s | of which outside the model | direct s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for label, row in results["overhead"].items():
        lines.append(
            f"| {label} | {row['model_calls']} ({row['replayed_calls']}) | {row['pipeline_s']} | "
            f"{row['outside_model_s']} | {row['direct_llama_cpp_s']} | {row['ratio']} |"
        )
    lines += ["", "## llama.cpp context and batch size (direct, prompt from a cold run)", ""]
    lines += ["| setting | judge prompt s | narrative prompt s |", "|---|---|---|"]
    for key, row in results["llama_settings"].items():
        lines.append(f"| {key} | {row.get('judge_s', '–')} | {row.get('narrative_s', '–')} |")
    memory = results["memory"]
    lines += [
        "",
        "## Memory",
        "",
        f"Peak RSS of `assistant ui` with the model loaded: {memory['peak_rss_mb']} MB "
        f"(RSS {memory['rss_mb']} MB when measured; model loaded: {memory['model_loaded']}, "
        f"a narrative written: {memory['narrative_written']}).",
        "",
        "## Notes",
        "",
        *[f"- {note}" for note in meta["notes"]],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and the tiny model (development, tests)")
    parser.add_argument("--model", help="model name in the registry (default: settings; --quick: the tiny model)")
    parser.add_argument("--switch-from", help="the other model whose cache is present in the switch case")
    parser.add_argument("--generated-reports", type=int, help="size of the generated ingest set")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench", help="where results.json/.md go")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "bench" / "out", help="working files")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.generated_reports:
        sizes = replace(sizes, generated_reports=args.generated_reports)
    defaults = Settings()
    model = args.model or (TINY_MODEL if args.quick else defaults.llm.model or _active_model(defaults))
    switch_from = args.switch_from or (None if args.quick else TINY_MODEL)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = time.perf_counter()
    load_start = load_average()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    notes = [
        "Medians over several runs where runs are repeated; cold summaries and model switches are single runs "
        "(each costs a full model pass on 2 shared cores).",
        "Retrieval latency is `HybridRetriever.select` (BM25 over the child's passages + Chroma query filtered "
        "by child, fused); the category query vectors are embedded once per process.",
    ]
    if sizes.generated_reports < 10_000:
        notes.append(
            f"Generated ingest set: {sizes.generated_reports} reports instead of 10,000, to keep the run short on "
            "shared cores; ingest throughput is per passage and the store grows without per-report cost."
        )
    if sizes.judge_reports != sizes.summary_reports:
        notes.append(
            f"Judge mode timed on the {', '.join(map(str, sizes.judge_reports))}-report child only: a cold judge "
            "run asks about nine questions per report (a 20-report child takes many minutes here)."
        )
    if not sizes.judge_narrative:
        notes.append("Judge rows time the extraction only (no narrative); the narrative costs as in the default rows.")
    if sizes.replay_calls:
        notes.append(
            f"Overhead: at most the first {sizes.replay_calls} model calls of a cold run are replayed directly; the "
            "pipeline's time outside the model is attributed to them pro rata."
        )
    if not sizes.judge_switch:
        notes.append("Model switch timed in the default config only.")
    if sizes.narrative_max_tokens:
        notes.append(f"Narratives capped at {sizes.narrative_max_tokens} tokens (quick run).")
    notes.append(
        f"llama.cpp settings: {len(sizes.llama_configs)} (n_ctx, n_batch) pairs, "
        f"{max(1, sizes.repeats - 2)} run(s) each, the model's KV cache reset before every prompt."
    )

    def step(name: str) -> None:
        print(f"[{time.perf_counter() - clock:7.1f} s] {name}", file=sys.stderr, flush=True)

    embedder = Embedder(defaults.embedding)
    step("ingest")
    ingest = bench_ingest(work, sizes, embedder, model)
    step("retrieval")
    retrieval = bench_retrieval(work, sizes, embedder, model)
    step("summaries")
    settings = bench_settings(work / "summary", model)
    llm = load_llm(settings.llm)
    other = load_llm(settings.llm, switch_from) if switch_from and switch_from != model else None
    summary, overhead, prompts = bench_summaries(work, sizes, embedder, model, llm, other)
    del other
    step("llama settings")
    llama_settings = bench_llama_settings(settings, sizes, prompts)
    step("memory")
    memory = bench_memory(work, model, timeout_s=240 if args.quick else 420, after_load_s=20 if args.quick else 90)
    step("done")
    results = {
        "meta": {
            "started": started.isoformat(),
            "finished": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "wall_s": round(time.perf_counter() - clock, 1),
            "command": "python -m bench.run" + (" --quick" if args.quick else ""),
            "quick": args.quick,
            "model": model,
            "cpus": os.cpu_count(),
            "load_start": load_start,
            "load_end": load_average(),
            "sizes": sizes.__dict__,
            "notes": notes,
        },
        "ingest": ingest,
        "retrieval": retrieval,
        "summary": summary,
        "overhead": overhead,
        "llama_settings": llama_settings,
        "memory": memory,
    }
    results["targets"] = target_values(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(markdown(results), encoding="utf-8")
    return results


def _active_model(settings: Settings) -> str:
    from assistant.models import Registry

    return Registry.load(settings.llm.registry, settings.llm.models_dir).active


if __name__ == "__main__":
    main()
