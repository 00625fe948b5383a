"""Experiment (issue 3): does a classifier on the default LLM's own hidden states find what the lexicon misses?

Not part of the product. Each passage (as ``assistant train`` cuts it) is run once through the GGUF
(mean-pooled hidden states of the layers under test, averaged; "final" = the model's normalised
output, as llama-cpp-python's embedding mode gives it); one logistic regression per
category is fitted on standardised vectors of the training sets, with its threshold from 4-fold
cross-validation (``assistant.classifier.train`` with the recipe under test); a category counts as
found in a report when a passage's probability reaches the threshold plus ``shift``. Scored report-level like the eval's
category detection, polarity ignored (the classifier takes polarity from the lexicon), against the
lexicon's own findings from an eval run (``results.json``) and the union of both.

    .venv/bin/python -m eval.experiments.llm_features \
        --train eval/data/corpus/train.jsonl eval/data/corpus/dev.jsonl eval/data/blind/blind_a.jsonl \
        --test eval/data/corpus/test.jsonl --lexicon-results eval/out/test-lexicon/results.json

The recipe (C, shift, layers) was chosen with ``--train`` train and dev, ``--test`` blind A and
``--layers final 16 20 16,18,20,22 ...``, reading the classifier's own figures (the lexicon was
tuned on A, so the union says little there). Adding ``eval/data/extra/*.jsonl`` to ``--train`` is
how the extra writers' sets were judged on A before the shipped classifier was retrained with them;
``--context`` (each passage also read inside its report) was judged the same way, with the extra sets.

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

from assistant.classifier import RECIPES, Recipe, train
from assistant.hidden_states import FeatureCache, HiddenStateEncoder, layers_at
from assistant.models import Registry
from assistant.schema import Category, Passage
from assistant.settings import Settings
from eval.gold import load_gold_files


def labelled_passages(path: Path, max_chars: int) -> list[tuple[str, Passage, set[Category], frozenset, frozenset]]:
    """(report id, passage, passage labels, categories to find in the report, neutral categories)."""
    return [
        (report.report_id, passage, labels, report.positive_categories, report.neutral_categories)
        for report in load_gold_files([path])
        for passage, labels in report.labelled_passages(max_chars)
    ]


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
    parser.add_argument(
        "--layers", nargs="+", help="layer sets to compare, e.g. 20 16,18,20,22 final (default: the recipe's)"
    )
    parser.add_argument(
        "--context", action="store_true", help="also read each passage inside its report (the recipe's reading)"
    )
    parser.add_argument("--cache", type=Path, default=Path("eval/.cache/features.sqlite"))
    args = parser.parse_args(argv)

    settings = Settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    if args.layers:
        layer_sets = [() if spec == "final" else tuple(int(x) for x in spec.split(",")) for spec in args.layers]
    else:
        layer_sets = [layers_at(registry, args.model, RECIPES["llm"].depths)]
    max_chars = settings.ingest.max_passage_chars
    examples = [example for report in load_gold_files(args.train) for example in report.labelled_passages(max_chars)]
    test_rows = labelled_passages(args.test, max_chars)
    lexicon = lexicon_found(args.lexicon_results)
    print(f"lexicon alone: {report_f1(lexicon, test_rows)}")
    cache = FeatureCache(args.cache)
    for layers in layer_sets:
        encoder = HiddenStateEncoder(
            registry, args.model, settings.llm.n_threads, cache, layers=layers, context=args.context
        )
        test_vectors = np.asarray(encoder.embed_passages([r[1] for r in test_rows]))
        for c in args.c:
            recipe = Recipe(c=c, standardise=True, threshold_shift=0.0, context=args.context)  # shifts: below
            classifier = train(examples, encoder, [], "llm", encoder.model_name, recipe, layers)
            probabilities = classifier.probabilities(test_vectors)
            for shift in args.shift:
                hits = probabilities >= np.minimum(classifier.thresholds + shift, 0.99)
                found: dict[str, set] = defaultdict(set)
                for row, row_hits in zip(test_rows, hits, strict=True):
                    found[row[0]] |= {
                        category for category, hit in zip(classifier.categories, row_hits, strict=True) if hit
                    }
                union = {r: found[r] | lexicon.get(r, set()) for r in {row[0] for row in test_rows}}
                print(
                    f"layers={','.join(map(str, layers)) or 'final'} C={c} shift={shift}: "
                    f"classifier {report_f1(found, test_rows)}; union {report_f1(union, test_rows)}"
                )


if __name__ == "__main__":
    main()
