"""`assistant train`, the annotate-then-train loop, on the real embedding model and the train split."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from assistant.classifier import TrainedClassifier
from eval.gold import load_gold_files

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "eval" / "data" / "corpus" / "train.jsonl"


def test_gold_passages_carry_the_categories_of_the_quotes_they_overlap():
    reports = load_gold_files([TRAIN])
    for report in reports:
        labelled = report.labelled_passages(400)
        flagged = {i.category for i in report.gold if i.polarity.value != "negated"}
        assert report.positive_categories <= set().union(*(labels for _, labels in labelled)), report.report_id
        assert all(labels <= flagged for _, labels in labelled), report.report_id
    assert sum(bool(labels) for r in reports for _, labels in r.labelled_passages(400)) > 50


def test_train_writes_a_classifier_that_loads(tmp_path):
    out = tmp_path / "classifier.npz"
    command = [sys.executable, "-m", "assistant.cli", "--home", str(tmp_path / "home"), "train"]
    result = subprocess.run(
        [*command, "--gold", str(TRAIN), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    classifier = TrainedClassifier.load(out)
    assert len(classifier.categories) >= 10
    assert classifier.trained_on == [str(TRAIN)]
    assert classifier.weights.shape == (len(classifier.categories), classifier.dim)
    assert "korsvaliderad F1" in result.stdout
