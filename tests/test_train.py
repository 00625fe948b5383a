"""`assistant train`, the annotate-then-train loop, on the real embedding model and the train split."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from assistant.classifier import TrainedClassifier, train
from assistant.schema import Category
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


def run_train(tmp_path: Path, gold: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """`assistant train --gold GOLD` in a fresh home, as an annotator runs it."""
    out = tmp_path / "classifier.npz"
    command = [sys.executable, "-m", "assistant.cli", "--home", str(tmp_path / "home"), "train"]
    result = subprocess.run(
        [*command, "--gold", str(gold), "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    return result, out


def test_train_writes_a_classifier_that_loads(tmp_path):
    result, out = run_train(tmp_path, TRAIN)
    classifier = TrainedClassifier.load(out)
    assert len(classifier.categories) >= 10
    assert classifier.trained_on == [str(TRAIN)]
    assert classifier.weights.shape == (len(classifier.categories), classifier.dim)
    assert "korsvaliderad F1" in result.stdout


def _train_examples():
    return [example for report in load_gold_files([TRAIN]) for example in report.labelled_passages(400)]


def test_thresholds_are_cross_validated_on_children_the_fold_did_not_see(embedder):
    """Each passage twice under the same child: a fold that let one copy judge the other would score near 1."""
    examples = _train_examples()
    once = train(examples, embedder, [])
    twice = train(examples + examples, embedder, [])
    assert once.categories == twice.categories
    for category, f1 in once.cv_f1.items():
        assert abs(twice.cv_f1[category] - f1) < 0.1, category


def test_a_category_seen_in_one_child_only_is_not_learnt(embedder):
    """Cross-validation by child cannot judge it, and a caseworker's next child is never the same child."""
    examples = _train_examples()
    per_child = Counter(p.child_id for p, labels in examples if Category.neglect in labels)
    child, count = per_child.most_common(1)[0]
    assert count >= 4
    only_one = [(p, labels if p.child_id == child else labels - {Category.neglect}) for p, labels in examples]
    assert Category.neglect in train(examples, embedder, []).categories
    assert Category.neglect not in train(only_one, embedder, []).categories


def test_train_names_the_categories_it_could_not_learn(tmp_path):
    """A caseworker's trainer must see what the file cannot find, not only what it can."""
    few = tmp_path / "few.jsonl"
    few.write_text("".join(TRAIN.read_text(encoding="utf-8").splitlines(keepends=True)[:8]), encoding="utf-8")
    result, out = run_train(tmp_path, few)
    learnt = TrainedClassifier.load(out).categories
    missing = [c for c in Category if c not in learnt]
    assert missing
    for category in Category:
        assert (f"{category.value}: inte inlärd" in result.stdout) == (category in missing)
