"""Experiment (issue 3): does more annotated data help the hidden-state classifier on writers it has not seen?

Not part of the product. Out of fold on the extra writers' sets (``eval/data/extra/``), folds holding
whole children out, train + dev + blind A always in training: the first six sets (c-h) scored with
and without the later twelve (i-n) in training, and the other way round. Prints report-level
micro-F1 (precision, recall) of the classifier alone and of its union with the lexicon, and the
share of passages' gold labels found, at shifts 0.1-0.3. Reads the vectors from the feature cache
that ``eval/experiments/llm_features.py --context`` filled (they are computed if missing).

    .venv/bin/python -m eval.experiments.more_data
"""

import glob
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from assistant.classifier import RECIPES, Recipe, train
from assistant.hidden_states import FeatureCache, HiddenStateEncoder, layers_at
from assistant.lexicon import tag
from assistant.models import Registry
from assistant.schema import Polarity
from assistant.settings import Settings
from eval.experiments.llm_features import report_f1
from eval.gold import load_gold_files


def rows(paths, enc, max_chars):
    """Each passage of the files with its labels and vector; ``source``: the file, i.e. the writer."""
    out = []
    for path in map(Path, paths):
        for report in load_gold_files([path]):
            lp = report.labelled_passages(max_chars)
            vecs = enc.embed_passages([p for p, _ in lp])
            for (p, labels), v in zip(lp, vecs, strict=True):
                out.append(
                    dict(
                        rid=report.report_id,
                        source=path.stem,
                        p=p,
                        labels=labels,
                        v=np.asarray(v),
                        pos=report.positive_categories,
                        neu=report.neutral_categories,
                    )
                )
    return out


BASE = ["eval/data/corpus/train.jsonl", "eval/data/corpus/dev.jsonl", "eval/data/blind/blind_a.jsonl"]


def cached_encoder():
    """The product's reading of the active model, from the feature cache; and the passage length."""
    settings = Settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    layers = layers_at(registry, None, RECIPES["llm"].depths)
    cache = FeatureCache(Path("eval/.cache/features.sqlite"))
    encoder = HiddenStateEncoder(registry, None, settings.llm.n_threads, cache, layers=layers, context=True)
    return encoder, settings.ingest.max_passage_chars


class Fixed:
    name = "fixed"

    def __init__(self, m):
        self.m = m

    def embed_passages(self, ps):
        assert len(ps) == len(self.m)
        return self.m


def f1(found, test):
    """``report_f1`` of llm_features on these rows, with precision and recall beside it."""
    score = report_f1(found, [(r["rid"], None, None, r["pos"], r["neu"]) for r in test])
    tp, fp, fn = score["tp"], score["fp"], score["fn"]
    return score["micro_f1"], round(tp / max(1, tp + fp), 2), round(tp / max(1, tp + fn), 2)


def fitted(training, recipe):
    """``assistant.classifier.train`` on these rows' cached vectors."""
    examples = [(r["p"], r["labels"]) for r in training]
    return train(examples, Fixed(np.asarray([r["v"] for r in training])), [], "llm", "", recipe)


def found_by_report(scored, hits, categories):
    """The categories each report's passages reached (``hits``: passages x categories)."""
    found = defaultdict(set)
    for r, row in zip(scored, hits, strict=True):
        found[r["rid"]] |= {category for category, hit in zip(categories, row, strict=True) if hit}
    return found


REGRESSIONS = Recipe(c=0.1, standardise=True, threshold_shift=0.0)  # the shifts are applied when scoring


def oof(target, always, recipe=REGRESSIONS, by="child"):
    """Out of fold on ``target``, four folds holding out whole children (or with ``by="source"`` whole writers)."""
    groups = [r["p"].child_id if by == "child" else r[by] for r in target]
    P = T = cats = None
    for tri, tei in GroupKFold(4).split(target, groups=groups):
        tr = always + [target[i] for i in tri]
        clf = fitted(tr, recipe)
        Pi = clf.probabilities(np.asarray([target[i]["v"] for i in tei], dtype=np.float64))
        if P is None:
            cats = list(clf.categories)
            P = np.zeros((len(target), len(cats)))
            T = np.ones((len(target), len(cats)))
        for j, c_ in enumerate(clf.categories):
            k = cats.index(c_) if c_ in cats else None
            if k is None:
                continue
            P[tei, k] = Pi[:, j]
            T[tei, k] = clf.thresholds[j]
    lex = defaultdict(set)
    for r in target:
        lex[r["rid"]] |= {h.category for h in tag(r["p"].text) if h.polarity != Polarity.negated}
    res = {}
    for s in (0.1, 0.2, 0.3):
        hits = np.minimum(T + s, 0.99) <= P
        found = found_by_report(target, hits, cats)
        lab = sum(len(r["labels"]) for r in target)
        got = [{c_ for c_, x in zip(cats, h, strict=True) if x} for h in hits]
        hit = sum(len(r["labels"] & passage_got) for r, passage_got in zip(target, got, strict=True))
        uni = {rid: found[rid] | lex[rid] for rid in {r["rid"] for r in target}}
        res[s] = (f1(found, target), f1(uni, target), round(hit / max(1, lab), 3))
    return f1(lex, target), res


if __name__ == "__main__":  # a script: the model and the vectors are loaded only when run
    enc, maxc = cached_encoder()
    base = rows(BASE, enc, maxc)
    old = rows(sorted(glob.glob("eval/data/extra/extra_[c-h].jsonl")), enc, maxc)
    new = rows(sorted(glob.glob("eval/data/extra/extra_[i-n].jsonl")), enc, maxc)
    print(len(base), len(old), len(new), flush=True)
    for name, target, always in [
        ("old OOF, base", old, base),
        ("old OOF, base+new", old, base + new),
        ("new OOF, base", new, base),
        ("new OOF, base+old", new, base + old),
    ]:
        lexf, res = oof(target, always)
        print(name, "lexicon", lexf, flush=True)
        for s, (c_, u, pr) in res.items():
            print(f"   shift {s}: classifier {c_} union {u} passage-recall {pr}", flush=True)
