"""The benchmark script end to end in --quick mode: tiny model, small sizes, real parts throughout.

The figures depend on the machine and are not checked here; that every key is there and holds a number is,
and that ``--only`` re-measures one section and keeps the others."""

from __future__ import annotations

import json

import pytest

from bench.run import SECTIONS, TARGETS, main

RESULT_KEYS = {
    "meta",
    "sections",
    "ingest",
    "retrieval",
    "summary",
    "report",
    "overhead",
    "llama_settings",
    "memory",
    "targets",
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One full quick run shared by the tests below (it takes minutes on the shared cores)."""
    out = tmp_path_factory.mktemp("bench")
    main(["--quick", "--out", str(out), "--work", str(out / "work")])
    return out


def read(out) -> dict:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_bench_quick_writes_results_with_every_key(quick_run):
    results = read(quick_run)
    assert set(results) == RESULT_KEYS
    assert results["meta"]["quick"]
    assert set(results["sections"]) == set(SECTIONS)
    for run in results["sections"].values():
        assert len(run["load_start"]) == 3 and len(run["load_end"]) == 3 and run["seconds"] >= 0
    assert {"demo", "generated"} <= set(results["ingest"])
    assert results["ingest"]["generated"]["reports"] == 24 and results["ingest"]["generated"]["passages_per_s"] > 0
    assert [k for k in results["retrieval"] if k.isdigit()] == ["200", "500", "1000"]
    assert results["retrieval"]["1000"]["index_size"] == 1000 and results["retrieval"]["1000"]["p95_ms"] > 0
    for mode, sizes in (("default", {"1", "2"}), ("judge", {"1"})):
        children = results["summary"][mode]
        assert set(children) == sizes
        assert all(row["cold_s"] > 0 and row["warm_s"] > 0 for row in children.values())
        assert children["1"]["switch_s"] > 0
    assert results["summary"]["judge"]["1"]["model_calls_cold"] > 0
    report = results["report"]
    assert report["sentences"] == 10 and min(report["passages"]) >= 1 and len(report["cold_runs_s"]) == 2
    assert report["cold_s"] > 0 and report["cached_s"] > 0
    assert set(results["llama_settings"]) == {"n_ctx=2048 n_batch=128", "n_ctx=2048 n_batch=512"}
    assert all(row["prompt_tokens"] > 0 and row["narrative_prompt_s"] > 0 for row in results["llama_settings"].values())
    assert results["memory"]["peak_rss_mb"] > 100 and results["memory"]["model_loaded"]
    assert set(results["targets"]) == set(TARGETS)
    assert all(isinstance(t["met"], bool) for t in results["targets"].values())
    markdown = (quick_run / "results.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Benchmarks") and markdown.count("load average (1/5/15 min) at start") == 7


def test_overhead_is_interleaved_pairs_with_the_time_outside_the_model(quick_run):
    overhead = read(quick_run)["overhead"]
    assert set(overhead) == {"default", "judge"}
    for row in overhead.values():
        assert row["model_calls"] > 0
        assert [pair["first"] for pair in row["pairs"]] == ["pipeline", "direct"]
        for pair in row["pairs"]:
            assert pair["pipeline_s"] > 0 and pair["direct_s"] > 0
            assert pair["ratio"] == pytest.approx(pair["pipeline_s"] / pair["direct_s"], abs=1e-3)
            assert 0 <= pair["outside_model_s"] < pair["pipeline_s"]
        assert row["ratio"] == pytest.approx(row["pipeline_s"] / row["direct_llama_cpp_s"], abs=1e-3)


def test_only_remeasures_one_section_and_keeps_the_rest(quick_run):
    before = read(quick_run)
    findings = "## Findings (written by hand)\n\n- kept across merges\n"
    markdown = quick_run / "results.md"
    markdown.write_text(markdown.read_text(encoding="utf-8") + "\n" + findings, encoding="utf-8")

    main(["--quick", "--only", "retrieval", "--out", str(quick_run), "--work", str(quick_run / "work")])

    after = read(quick_run)
    assert set(after) == RESULT_KEYS
    for key in ("ingest", "summary", "overhead", "llama_settings", "memory"):
        assert after[key] == before[key]
    assert {name: run for name, run in after["sections"].items() if name != "retrieval"} == {
        name: run for name, run in before["sections"].items() if name != "retrieval"
    }
    assert after["sections"]["retrieval"]["started"] >= before["sections"]["memory"]["started"]
    assert after["sections"]["retrieval"]["command"] == "python -m bench.run --quick --only retrieval"
    assert after["meta"]["command"] == "python -m bench.run --quick --only retrieval"
    assert set(after["targets"]) == set(TARGETS)
    rendered = markdown.read_text(encoding="utf-8")
    assert rendered.startswith("# Benchmarks") and rendered.endswith(findings)
    assert "--only retrieval" in rendered and "## Memory" in rendered


def test_only_refuses_unknown_sections_and_results_of_another_setup(quick_run):
    before = (quick_run / "results.json").read_text(encoding="utf-8")
    with pytest.raises(SystemExit, match="unknown section"):
        main(["--quick", "--only", "retrieval,speed", "--out", str(quick_run), "--work", str(quick_run / "work")])
    with pytest.raises(SystemExit, match="holds results for model"):
        main(["--only", "retrieval", "--out", str(quick_run), "--work", str(quick_run / "work")])
    assert (quick_run / "results.json").read_text(encoding="utf-8") == before
