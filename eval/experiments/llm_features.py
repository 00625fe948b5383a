"""Experiment (issue 3): does a classifier on the default LLM's own hidden states find what the lexicon misses?

Not part of the product. Each passage (as ``assistant train`` cuts it) is run once through the GGUF in
llama-cpp-python's embedding mode (mean-pooled last hidden state); one logistic regression per
category is fitted on standardised vectors of the training sets, with its threshold from 4-fold
cross-validation (as ``assistant/classifier.py`` does); a category counts as found in a report when
a passage's probability reaches the threshold plus ``shift``. Scored report-level like the eval's
category detection, polarity ignored (the classifier takes polarity from the lexicon), against the
lexicon's own findings from an eval run (``results.json``) and the union of both.

    .venv/bin/python -m eval.experiments.llm_features \
        --train eval/data/corpus/train.jsonl eval/data/corpus/dev.jsonl eval/data/blind/blind_a.jsonl \
        --test eval/data/corpus/test.jsonl --lexicon-results eval/out/test-lexicon/results.json

Vectors are computed by ``assistant/hidden_states.py`` (as ``assistant train --features llm`` does) and
kept in ``--cache`` (default eval/.cache/features.sqlite): the 1.5B model reads about one passage a
second on two cores.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from assistant.classifier import FOLDS, MIN_POSITIVES, _best_threshold
from assistant.hidden_states import FeatureCache, HiddenStateEncoder
from assistant.models import Registry
from assistant.schema import Category
from assistant.settings import Settings
from eval.gold import load_gold_files


def labelled_passages(path: Path, max_chars: int) -> list[tuple[str, str, set[Category], frozenset, frozenset]]:
    """(report id, passage text, passage labels, categories to find in the report, neutral categories)."""
    return [
        (report.report_id, passage.text, labels, report.positive_categories, report.neutral_categories)
        for report in load_gold_files([path])
        for passage, labels in report.labelled_passages(max_chars)
    ]


def fit(vectors: np.ndarray, rows: list, c: float) -> dict[Category, tuple]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    models = {}
    for category in Category:
        target = np.array([category in row[2] for row in rows])
        if target.sum() < MIN_POSITIVES:
            continue
        model = LogisticRegression(class_weight="balanced", C=c, max_iter=3000)
        folds = StratifiedKFold(n_splits=min(FOLDS, int(target.sum())), shuffle=True, random_state=7)
        scores = cross_val_predict(model, vectors, target, cv=folds, method="predict_proba")[:, 1]
        threshold, _ = _best_threshold(scores, target)
        models[category] = (model.fit(vectors, target), threshold)
    return models


def report_f1(found: dict[str, set], rows: list) -> dict:
    required = {row[0]: row[3] for row in rows}
    ignorable = {row[0]: row[4] for row in rows}
    tp = fp = fn = 0
    for report_id, gold in required.items():
        got = found.get(report_id, set())
        tp += len(got & gold)
        fn += len(gold - got)
        fp += len(got - gold - ignorable[report_id])
    return {"micro_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 3), "tp": tp, "fp": fp, "fn": fn}


def lexicon_found(results: Path) -> dict[str, set[Category]]:
    config = json.loads(results.read_text(encoding="utf-8"))["configurations"][0]
    return {
        report["report_id"]: {Category(c) for c in report["found"]}
        for case in config["cases"]
        for report in case["reports"]
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, nargs="+", required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--lexicon-results", type=Path, required=True, help="results.json of a lexicon eval run")
    parser.add_argument("--model", help="registry name (default: the active model)")
    parser.add_argument("--c", type=float, nargs="+", default=[0.1])
    parser.add_argument("--shift", type=float, nargs="+", default=[0.2])
    parser.add_argument("--cache", type=Path, default=Path("eval/.cache/features.sqlite"))
    args = parser.parse_args(argv)

    from sklearn.preprocessing import StandardScaler

    settings = Settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    encoder = HiddenStateEncoder(registry, args.model, settings.llm.n_threads, FeatureCache(args.cache))
    max_chars = settings.ingest.max_passage_chars
    train_rows = [row for path in args.train for row in labelled_passages(path, max_chars)]
    test_rows = labelled_passages(args.test, max_chars)
    embed = lambda rows: np.asarray(encoder.embed([r[1] for r in rows]))  # noqa: E731
    scaler = StandardScaler().fit(embed(train_rows))
    train_x, test_x = scaler.transform(embed(train_rows)), scaler.transform(embed(test_rows))
    lexicon = lexicon_found(args.lexicon_results)
    print(f"lexicon alone: {report_f1(lexicon, test_rows)}")
    for c in args.c:
        models = fit(train_x, train_rows, c)
        for shift in args.shift:
            found: dict[str, set] = defaultdict(set)
            for vector, row in zip(test_x, test_rows, strict=True):
                for category, (model, threshold) in models.items():
                    if model.predict_proba(vector[None])[0, 1] >= min(threshold + shift, 0.99):
                        found[row[0]].add(category)
            union = {r: found[r] | lexicon.get(r, set()) for r in {row[0] for row in test_rows}}
            print(f"C={c} shift={shift}: classifier {report_f1(found, test_rows)}; union {report_f1(union, test_rows)}")


if __name__ == "__main__":
    main()
