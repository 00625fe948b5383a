"""The annotated data the classifier is trained and judged on: valid, and the held-out sets kept apart."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "eval" / "data"
HELD_OUT = [DATA / "corpus" / "test.jsonl", DATA / "blind" / "blind_b.jsonl"]
GOLD_FILES = sorted(path for split in ("corpus", "blind", "extra") for path in (DATA / split).glob("*.jsonl"))
SHINGLE = 12


def test_every_gold_file_validates_together():
    """One run over all files, so that a report id or child shared by two files is caught too."""
    result = subprocess.run(
        [sys.executable, str(DATA / "validate_gold.py"), *map(str, GOLD_FILES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"checked in {len(GOLD_FILES)} file(s): 0 error(s)" in result.stderr


def _shingles(path: Path) -> set[tuple[str, ...]]:
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        words = re.findall(r"\w+", json.loads(line)["text"].lower())
        found |= {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    return found


def test_no_training_text_repeats_a_held_out_report():
    """Twelve words in a row shared with test or blind B would mean a held-out report was copied into training data.

    Independent writers do share shorter runs (up to ten words, e.g. "för depression och har svårt att komma upp
    på morgnarna"), which is why the run is twelve words long.
    """
    held_out = set().union(*map(_shingles, HELD_OUT))
    for path in GOLD_FILES:
        if path not in HELD_OUT:
            shared = _shingles(path) & held_out
            assert not shared, f"{path.name} shares text with a held-out set: {' '.join(next(iter(shared)))}"
