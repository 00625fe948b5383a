"""``assistant eval`` as a user runs it, in a subprocess, on the tiny real model.

The smoke suite runs once (module fixture); the other runs share its cache dir,
so they re-score cached case outputs instead of calling the model again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.conftest import TINY_MODEL

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "eval" / "suites" / "smoke.yaml"
SMOKE_GOLD = ROOT / "eval" / "suites" / "smoke.jsonl"


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The CLI from a folder of its own, so a stray write to ./data would show."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=900,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval")


@pytest.fixture(scope="module")
def smoke(workspace) -> tuple[subprocess.CompletedProcess, Path]:
    out = workspace / "smoke-out"
    result = run_cli(workspace, "run", str(SMOKE), "--out", str(out), "--cache-dir", str(workspace / "cache"))
    return result, out


def test_smoke_suite_writes_report_results_and_junit(smoke, workspace):
    result, out = smoke
    assert result.returncode == 0, result.stdout + result.stderr
    assert "micro-F1" in result.stdout and "citations: verified" in result.stdout
    assert not (workspace / "data").exists()  # never the caseworkers' folder

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    [config] = results["configurations"]
    assert config["model"] == TINY_MODEL and len(config["model_sha256"]) == 64
    assert config["prompt"].startswith("extract.v1#")
    assert [c["child_id"] for c in config["cases"]] == ["S1", "S2", "S3"]
    assert config["counts"]["reports"] == 5 and config["counts"]["passages"] > 0
    assert config["metrics"]["cross_child_citations"] == 0
    assert config["metrics"]["misattributed_citations"] == 0
    assert config["metrics"]["injection_changed_reports"] is not None
    assert config["metrics"]["latency_p50_s"] > 0
    low, high = config["intervals"]["micro_f1"]
    assert low <= config["metrics"]["micro_f1"] <= high
    assert all(t["passed"] for t in config["thresholds"]) and results["passed"]

    junit = ET.parse(out / "junit.xml").getroot()
    names = [case.get("name") for case in junit.iter("testcase")]
    assert names[:3] == ["case S1", "case S2", "case S3"]
    assert sum(n.startswith("threshold ") for n in names) == len(config["thresholds"])
    assert junit.get("failures") == "0" and junit.get("errors") == "0"

    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<table class="matrix">' in page and "<details" in page and "<svg" in page
    assert "Fysiskt våld" in page  # Swedish category labels
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_rerun_is_served_from_the_cache_and_a_threshold_above_the_score_fails(smoke, workspace):
    _, out = smoke
    achieved = json.loads((out / "results.json").read_text(encoding="utf-8"))["configurations"][0]["metrics"]
    strict = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))  # same configuration, so the cache serves it
    strict.update(
        name="strict",
        gold=[str(SMOKE_GOLD)],
        thresholds={
            "micro_f1": {"min": round(achieved["micro_f1"] + 0.01, 4)},
            "cross_child_citations": {"max": 0},
        },
    )
    suite = workspace / "strict.yaml"
    suite.write_text(yaml.safe_dump(strict, allow_unicode=True), encoding="utf-8")
    strict_out = workspace / "strict-out"
    result = run_cli(workspace, "run", str(suite), "--out", str(strict_out), "--cache-dir", str(workspace / "cache"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL micro_f1" in result.stdout and "PASS cross_child_citations" in result.stdout
    results = json.loads((strict_out / "results.json").read_text(encoding="utf-8"))
    [config] = results["configurations"]
    first = json.loads((out / "results.json").read_text(encoding="utf-8"))
    unchanged = first["configurations"][0]["settings_key"] == config["settings_key"]
    if unchanged and first["pipeline"] == results["pipeline"]:
        # nothing changed in between (someone editing the pipeline meanwhile would change these)
        assert config["counts"]["cases_from_eval_cache"] == 3, result.stdout
        assert config["metrics"]["micro_f1"] == achieved["micro_f1"]
    testcases = ET.parse(strict_out / "junit.xml").getroot().iter("testcase")
    failures = [c for c in testcases if c.find("failure") is not None]
    assert [c.get("name").split(" ")[1] for c in failures] == ["micro_f1"]

    compared = run_cli(workspace, "compare", str(out), str(strict_out / "results.json"))
    assert compared.returncode == 0, compared.stderr
    assert (strict_out / "compare.md").read_text(encoding="utf-8") in compared.stdout
    assert "## Regressed" in compared.stdout


def test_gold_file_runs_the_default_configuration_without_a_suite(workspace):
    gold = workspace / "one.jsonl"
    gold.write_text(
        json.dumps(
            {
                "report_id": "G9-R1",
                "child_id": "G9",
                "date": "2023-06-01",
                "reporter": "skola",
                "text": "Noah säger att mamma slog honom med en sko.",
                "gold": [
                    {
                        "quote": "mamma slog honom med en sko",
                        "category": "physical_violence",
                        "polarity": "affirmed",
                        "optional": False,
                    }
                ],
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    out = workspace / "gold-out"
    result = run_cli(
        workspace,
        "run",
        "--gold",
        str(gold),
        "--model",
        TINY_MODEL,
        "--out",
        str(out),
        "--no-cache",
        "--no-progress",
        ASSISTANT_LLM__MAX_TOKENS="64",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "micro-F1" in result.stdout and "macro-F1" in result.stdout
    assert "citations: verified" in result.stdout and "recall" in result.stdout
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["configurations"][0]["counts"]["cases_from_eval_cache"] == 0
    assert results["configurations"][0]["metrics"]["case_errors"] == 0, result.stdout
    assert results["configurations"][0]["settings"]["llm"]["max_tokens"] == 64
    assert list((out / ".tmp-homes").iterdir()) == []  # the throwaway home is gone


def test_bad_suite_exits_2_naming_the_file(workspace):
    suite = workspace / "bad.yaml"
    suite.write_text(f"gold: [{SMOKE_GOLD}]\nextractor: {{llm: {{no_such_key: 1}}}}\n", encoding="utf-8")
    result = run_cli(workspace, "run", str(suite), "--out", str(workspace / "bad-out"))
    assert result.returncode == 2
    assert str(suite) in result.stderr and "llm.no_such_key" in result.stderr
    neither = run_cli(workspace, "run")
    assert neither.returncode == 2 and "--gold" in neither.stderr
