"""The command line as a user runs it, in a subprocess, on the tiny real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import TINY_MODEL


def run(home, *args):
    env = {
        **os.environ,
        "ASSISTANT_LLM__MODEL": TINY_MODEL,
        "ASSISTANT_EXTRACTOR__MODE": "judge",  # exercise the model path, not only the default lexicon
        "ASSISTANT_LLM__MAX_TOKENS": "160",
        "ASSISTANT_LLM__NARRATIVE_MAX_TOKENS": "48",
    }
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_ingest_then_summarize_json(tmp_path, fixture_file):
    home = tmp_path / "home"
    ingest = run(home, "ingest", str(fixture_file))
    assert ingest.returncode == 0, ingest.stderr
    assert "3 added" in ingest.stdout

    listing = run(home, "children")
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[0].startswith("T1\t2 anmälningar\t2022-03-14 – 2023-01-09")

    result = run(home, "summarize", "T1", "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["child_id"] == "T1"
    assert set(summary) >= {"generated_at", "model", "prompt_version", "reports", "indicators", "narrative", "warnings"}
    assert summary["model"]["name"] == TINY_MODEL
    assert [r["report_id"] for r in summary["reports"]] == ["T1-R1", "T1-R2"]
    for indicator in summary["indicators"]:
        assert set(indicator) >= {"category", "polarity", "actor", "date", "description", "citations"}
        for citation in indicator["citations"]:
            assert citation["verified"] is True
            assert citation["passage_id"].startswith("T1-")

    markdown = run(home, "summarize", "T1", "--format", "md")
    assert markdown.returncode == 0
    assert "Beslutsstöd, inte beslut" in markdown.stdout
    assert "0 modellanrop" in markdown.stderr  # everything came from the cache


def test_exit_codes(tmp_path, fixture_file):
    home = tmp_path / "home"
    assert run(home, "ingest", str(fixture_file)).returncode == 0
    unknown = run(home, "summarize", "NOPE")
    assert unknown.returncode == 2
    assert "no reports for child 'NOPE'" in unknown.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("no front matter here")
    result = run(home, "ingest", str(bad), str(fixture_file))
    assert result.returncode == 2
    assert f"{bad}: has no YAML front matter" in result.stderr
    assert "3 unchanged" in result.stdout
