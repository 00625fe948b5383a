"""Experiment (issue 3): one small network for all categories instead of a logistic regression each?

Not part of the product. The hidden-state vectors of the classifier (from the feature cache that
``eval/experiments/llm_features.py --context`` fills) with ``assistant.classifier.train`` under two
recipes: the regressions (C = 0.1) and one network with 256 hidden units (``RECIPES["llm"]``).
Thresholds are cross-validated by child inside the training data either way; micro-F1 (classifier
alone, and its union with the lexicon) at shifts 0.1-0.3, with the share of passages' gold labels found:

- out of fold on the extra writers' sets ``extra_c`` … ``extra_t`` (the sets the choice was made
  with), four folds holding out whole writers (``--by source``, the default) or whole children;
  train, dev and blind A always in training;
- on blind A, trained on train, dev and those extra sets (classifier alone: the lexicon was tuned on A).

    .venv/bin/python -m eval.experiments.network [--by child]
"""

import argparse
import dataclasses
import glob

import numpy as np

from assistant.classifier import RECIPES
from eval.experiments.more_data import BASE, cached_encoder, f1, fitted, found_by_report, oof, rows

RECIPES_COMPARED = {
    "regressions": dataclasses.replace(RECIPES["llm"], hidden=0, threshold_shift=0.0),
    "network": dataclasses.replace(RECIPES["llm"], hidden=256, threshold_shift=0.0),
}


def on_blind_a(training, blind_a, recipe):
    """Classifier-alone micro-F1 on blind A by shift."""
    classifier = fitted(training, recipe)
    probabilities = classifier.probabilities(np.asarray([r["v"] for r in blind_a], dtype=np.float64))
    scores = {}
    for shift in (0.1, 0.2, 0.3):
        hits = probabilities >= np.minimum(classifier.thresholds + shift, 0.99)
        scores[shift] = f1(found_by_report(blind_a, hits, classifier.categories), blind_a)[0]
    return scores


if __name__ == "__main__":  # a script: the model and the vectors are loaded only when run
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--by", choices=["source", "child"], default="source", help="what a fold holds out")
    args = parser.parse_args()
    enc, maxc = cached_encoder()
    train_dev = rows(BASE[:2], enc, maxc)
    blind_a = rows(BASE[2:], enc, maxc)
    extra = rows(sorted(glob.glob("eval/data/extra/extra_[c-t].jsonl")), enc, maxc)
    print(len(train_dev), len(blind_a), len(extra), flush=True)
    for name, recipe in RECIPES_COMPARED.items():
        print(name, "blind A, classifier alone, by shift:", on_blind_a(train_dev + extra, blind_a, recipe), flush=True)
        lexicon, by_shift = oof(extra, train_dev + blind_a, recipe, by=args.by)
        print(name, f"out of fold by {args.by}; lexicon alone {lexicon}", flush=True)
        for shift, (classifier, union, passages) in by_shift.items():
            print(f"   shift {shift}: classifier {classifier} union {union} passage labels found {passages}")
