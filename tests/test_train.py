"""`assistant train`, the annotate-then-train loop, on the real embedding model and the train split."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant.classifier import NETWORK_MIN_PASSAGES, Recipe, TrainedClassifier, _forward, train
from assistant.errors import UserError
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


def test_a_network_recipe_is_saved_whole_and_repeatable(embedder, tmp_path):
    """The llm recipe's network (here on MiniLM vectors of enough passages): the file gives the
    probabilities the trained object gave, and the same data gives the same network (a caseworker's
    classifier must not change by chance)."""
    examples = [
        example
        for path in [TRAIN, *sorted((ROOT / "eval" / "data" / "extra").glob("extra_[c-k].jsonl"))]
        for report in load_gold_files([path])
        for example in report.labelled_passages(400)
    ]
    assert len(examples) >= NETWORK_MIN_PASSAGES
    recipe = Recipe(c=1.0, standardise=True, threshold_shift=0.0, hidden=32)
    network = train(examples, embedder, [], recipe=recipe)
    assert network.hidden_weights.shape == (network.dim, 32)
    assert network.weights.shape == (len(network.categories), 32)
    network.save(tmp_path / "network.npz")
    loaded = TrainedClassifier.load(tmp_path / "network.npz")
    vectors = np.asarray(embedder.embed_passages([p for p, _ in examples]))
    probabilities = network.probabilities(vectors)
    assert np.allclose(loaded.probabilities(vectors), probabilities)
    assert np.allclose(train(examples, embedder, [], recipe=recipe).probabilities(vectors), probabilities)
    for column, category in enumerate(network.categories):
        carries = np.array([category in labels for _, labels in examples])
        assert probabilities[carries, column].mean() > probabilities[~carries, column].mean() + 0.1, category


def test_a_small_set_gets_regressions_even_when_the_recipe_names_a_network(embedder):
    examples = _train_examples()
    assert len(examples) < NETWORK_MIN_PASSAGES
    classifier = train(examples, embedder, [], recipe=Recipe(c=1.0, standardise=True, threshold_shift=0.0, hidden=32))
    assert classifier.hidden_weights is None
    assert classifier.weights.shape == (len(classifier.categories), classifier.dim)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # any weights will do
def test_the_network_reads_as_scikit_learn_computes_it():
    """The file keeps the network's weights, not the scikit-learn object: the forward pass must be its own."""
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 12))
    labels = np.column_stack([vectors[:, 0] > 0, vectors[:, 1] + vectors[:, 2] > 0.5, vectors[:, 3] < -1])
    network = MLPClassifier(hidden_layer_sizes=(8,), max_iter=500, random_state=0).fit(vectors, labels.astype(int))
    ours = _forward(vectors, network.coefs_[1].T, network.intercepts_[1], network.coefs_[0], network.intercepts_[0])
    assert np.allclose(ours, network.predict_proba(vectors))


@pytest.mark.parametrize(
    ("field", "edit"),
    [
        ("citation_thresholds", lambda data: data["thresholds"][:-1]),
        ("hidden_bias", lambda data: data["hidden_bias"][:10]),
        ("weights", lambda data: data["weights"][:, :100]),
    ],
)
def test_a_hand_edited_classifier_is_refused_when_loaded_with_the_file_and_the_field_named(tmp_path, field, edit):
    """Not at the first report the case view analyses: the administrator who edited it is told at once."""
    shipped = ROOT / "models" / "classifier-llm.npz"
    assert TrainedClassifier.load(shipped).hidden_weights is not None
    with np.load(shipped, allow_pickle=False) as stored:
        data = dict(stored)
    data[field] = edit(data)
    edited = tmp_path / "edited.npz"
    np.savez(edited, **data)
    with pytest.raises(UserError, match=rf"{re.escape(str(edited))}.*{field} has shape"):
        TrainedClassifier.load(edited)
