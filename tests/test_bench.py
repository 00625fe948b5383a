"""The benchmark script end to end in --quick mode: tiny model, small sizes, real parts throughout.

The figures depend on the machine and are not checked here; that every key is there and holds a number is."""

from __future__ import annotations

import json

from bench.run import TARGETS, main


def test_bench_quick_writes_results_with_every_key(tmp_path):
    main(["--quick", "--out", str(tmp_path), "--work", str(tmp_path / "out")])
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert set(results) == {"meta", "ingest", "retrieval", "summary", "overhead", "llama_settings", "memory", "targets"}
    assert results["meta"]["quick"] and len(results["meta"]["load_start"]) == 3
    assert {"demo", "generated"} <= set(results["ingest"])
    assert results["ingest"]["generated"]["reports"] == 24 and results["ingest"]["generated"]["passages_per_s"] > 0
    assert [k for k in results["retrieval"] if k.isdigit()] == ["200", "500", "1000"]
    assert results["retrieval"]["1000"]["index_size"] == 1000 and results["retrieval"]["1000"]["p95_ms"] > 0
    for mode, sizes in (("default", {"1", "2"}), ("judge", {"1"})):
        children = results["summary"][mode]
        assert set(children) == sizes
        assert all(row["cold_s"] > 0 and row["warm_s"] > 0 for row in children.values())
        assert children["1"]["switch_s"] > 0
        assert results["overhead"][mode]["ratio"] > 0
    assert results["summary"]["judge"]["1"]["model_calls_cold"] > 0
    assert set(results["llama_settings"]) == {"n_ctx=2048 n_batch=128", "n_ctx=2048 n_batch=512"}
    assert results["memory"]["peak_rss_mb"] > 100 and results["memory"]["model_loaded"]
    assert set(results["targets"]) == set(TARGETS)
    assert all(isinstance(t["met"], bool) for t in results["targets"].values())
    assert (tmp_path / "results.md").read_text(encoding="utf-8").startswith("# Benchmarks")
