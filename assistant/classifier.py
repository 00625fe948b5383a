"""A passage classifier trained from annotated reports: the municipality's
annotate-then-train loop. One logistic regression per category on passage
features, or (the llm recipe, given enough passages) one small network for all
categories; each threshold is chosen by cross-validation on the training data.

Two kinds of features (``assistant train --features``):
- ``sentence``: the index's sentence embeddings (MiniLM), cheap, English;
- ``llm``: a GGUF model's own mean-pooled hidden states from its middle layers
  (``assistant/hidden_states.py``), each passage read alone and inside its report (two partial
  model passes), standardised, with a stricter threshold.

``assistant train --gold FILE.jsonl`` writes the model file named in settings
(``extractor.classifier_path``); the file names the features it was trained on,
and ``ClassifierExtractor`` uses the same. The classifier says which categories a
passage carries; polarity comes from the lexicon's negation and hedge scope, and
the quote is the whole passage.

A category is found in a report where a passage reaches its threshold (the cross-validated best
for passages plus the recipe's shift, stricter since unseen writers differ); once found, it is
cited in every passage of that report that reaches the best threshold itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from assistant.errors import UserError
from assistant.extract import POLARITY_STRENGTH, ExtractionStats
from assistant.passages import by_report, split_passages
from assistant.schema import Category, Finding, Passage, Polarity, Report

MIN_POSITIVES = 4
MIN_CHILDREN = 2  # thresholds are cross-validated on children a fold did not see
FOLDS = 4
# A network stops early on a tenth of its data; on a few hundred passages it stops before it has
# learnt anything (the train split alone: probabilities no higher for the passages that carry a
# category), so smaller sets get the regressions.
NETWORK_MIN_PASSAGES = 2000

Features = Literal["sentence", "llm"]


@dataclass(frozen=True)
class Recipe:
    """How a classifier is fitted on one kind of features."""

    c: float  # inverse regularisation strength of the logistic regressions
    standardise: bool
    threshold_shift: float  # added to the cross-validated threshold: stricter on unseen writers
    depths: tuple[float, ...] = ()  # llm features: layers at these fractions of the model's depth, averaged
    context: bool = False  # llm features: each passage also read inside its report (assistant/hidden_states.py)
    # > 0: one network for all categories with this many hidden units (from NETWORK_MIN_PASSAGES passages)
    hidden: int = 0
    alpha: float = 0.1  # the network's L2 penalty


# The llm recipe was chosen on blind set A (eval/data/blind/), training on train + dev: C and the
# shift from a small grid, then the layers (final output 0.53 micro-F1 on A; single middle layers
# 0.59-0.62; layers 16, 18, 20, 22 of the default model's 28 averaged 0.65) with
# eval/experiments/llm_features.py. Test and blind B were not used. Reading each passage inside its
# report as well was chosen the same way once the extra writers' sets were in training (A: 0.65 -> 0.72;
# out of fold on the extra sets, union with the lexicon 0.69 -> 0.73). With 5,751 passages, one network
# for all categories beat the regressions out of fold on the extra sets, whole writers held out (classifier
# 0.71 -> 0.73, union with the lexicon 0.74 -> 0.76; eval/experiments/network.py); C then applies only
# below NETWORK_MIN_PASSAGES.
RECIPES: dict[str, Recipe] = {
    "sentence": Recipe(c=2.0, standardise=False, threshold_shift=0.0),
    "llm": Recipe(
        c=0.1,
        standardise=True,
        threshold_shift=0.2,
        depths=(16 / 28, 18 / 28, 20 / 28, 22 / 28),
        context=True,
        hidden=256,
    ),
}


class Encoder(Protocol):
    name: str

    def embed_passages(self, passages: list[Passage]) -> list[list[float]]: ...


@dataclass
class TrainedClassifier:
    embedding_model: str  # the encoder's name: vectors of another encoder mean nothing to the weights
    dim: int
    categories: list[Category]
    weights: np.ndarray  # (categories, dim)
    bias: np.ndarray  # (categories,)
    thresholds: np.ndarray  # (categories,): a passage reaching it finds the category in its report
    trained_on: list[str] = field(default_factory=list)
    trained_at: str = ""
    cv_f1: dict[str, float] = field(default_factory=dict)
    features: Features = "sentence"
    encoder_model: str = ""  # registry name of the GGUF behind llm features
    layers: tuple[int, ...] = ()  # llm features: the layers averaged; none = the model's final output
    context: bool = False  # llm features: each passage's vector alone averaged with its vector in its report
    mean: np.ndarray | None = None  # standardisation, when the recipe asks for it
    scale: np.ndarray | None = None
    hidden_weights: np.ndarray | None = None  # a network: (dim, units); then weights are (categories, units)
    hidden_bias: np.ndarray | None = None
    # (categories,): the cross-validated best for passages, before the recipe's shift; a found category
    # is cited in every passage of the report reaching it. Files from before it cite at ``thresholds``.
    citation_thresholds: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Refuse arrays that do not fit together now, not at the first report: a file can be hand-edited."""
        if (self.mean is None) != (self.scale is None) or (self.hidden_weights is None) != (self.hidden_bias is None):
            raise ValueError("mean and scale, and hidden_weights and hidden_bias, come in pairs")
        n, units = len(self.categories), self.dim if self.hidden_weights is None else self.hidden_weights.shape[-1]
        expected = {
            "weights": (self.weights, (n, units)),
            "bias": (self.bias, (n,)),
            "thresholds": (self.thresholds, (n,)),
            "citation_thresholds": (self.citation_thresholds, (n,)),
            "mean": (self.mean, (self.dim,)),
            "scale": (self.scale, (self.dim,)),
            "hidden_weights": (self.hidden_weights, (self.dim, units)),
            "hidden_bias": (self.hidden_bias, (units,)),
        }
        for name, (array, shape) in expected.items():
            if array is not None and np.shape(array) != shape:
                raise ValueError(f"{name} has shape {np.shape(array)}, expected {shape}")

    @property
    def cite_at(self) -> np.ndarray:
        return self.thresholds if self.citation_thresholds is None else self.citation_thresholds

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        if self.mean is not None:
            vectors = (vectors - self.mean) / self.scale
        return _forward(vectors, self.weights, self.bias, self.hidden_weights, self.hidden_bias)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        scaling = {} if self.mean is None else {"mean": self.mean, "scale": self.scale}
        if self.hidden_weights is not None:
            scaling |= {"hidden_weights": self.hidden_weights, "hidden_bias": self.hidden_bias}
        if self.citation_thresholds is not None:
            scaling["citation_thresholds"] = self.citation_thresholds
        np.savez(
            partial,
            weights=self.weights,
            bias=self.bias,
            thresholds=self.thresholds,
            categories=np.array([c.value for c in self.categories]),
            meta=np.array([self.embedding_model, str(self.dim), self.trained_at]),
            features=np.array([self.features, self.encoder_model]),
            layers=np.array(self.layers, dtype=np.int64),
            context=np.array(self.context),
            trained_on=np.array(self.trained_on),
            cv_f1=np.array([f"{k}={v:.3f}" for k, v in self.cv_f1.items()]),
            **scaling,
        )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> TrainedClassifier:
        if not path.exists():
            raise UserError(f"no trained classifier at {path}; run 'assistant train --gold FILE.jsonl'")
        try:
            return cls._read(np.load(path, allow_pickle=False))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise UserError(
                f"{path} is not a classifier written by 'assistant train' ({exc.__class__.__name__}: {exc}); "
                "train it again"
            ) from None

    @classmethod
    def _read(cls, data) -> TrainedClassifier:
        model, dim, trained_at = (str(x) for x in data["meta"])
        features, encoder_model = (str(x) for x in data["features"]) if "features" in data else ("sentence", "")
        return cls(
            embedding_model=model,
            dim=int(dim),
            categories=[Category(c) for c in data["categories"]],
            weights=data["weights"],
            bias=data["bias"],
            thresholds=data["thresholds"],
            trained_on=[str(x) for x in data["trained_on"]],
            trained_at=trained_at,
            cv_f1={name: float(value) for name, value in (str(x).split("=") for x in data["cv_f1"])},
            features=features,
            encoder_model=encoder_model,
            layers=tuple(int(x) for x in data["layers"]) if "layers" in data else (),
            context=bool(data["context"]) if "context" in data else False,
            mean=data.get("mean"),
            scale=data.get("scale"),
            hidden_weights=data.get("hidden_weights"),
            hidden_bias=data.get("hidden_bias"),
            citation_thresholds=data.get("citation_thresholds"),
        )


def _forward(vectors, weights, bias, hidden_weights=None, hidden_bias=None) -> np.ndarray:
    """Each category's probability: a logistic regression on the vectors, or on a network's hidden layer."""
    if hidden_weights is not None:
        vectors = np.maximum(vectors @ hidden_weights + hidden_bias, 0.0)
    return 1.0 / (1.0 + np.exp(-(vectors @ weights.T + bias)))


def passage_labels(
    report: Report, gold: list[tuple[int, int, Category, Polarity]], max_chars: int
) -> list[tuple[Passage, set[Category]]]:
    """Each passage of a report with the categories of the affirmed or hedged gold quotes that overlap it."""
    labelled = []
    for passage in split_passages(report, max_chars):
        labels = {
            category
            for start, end, category, polarity in gold
            if polarity != Polarity.negated and start < passage.end and passage.start < end
        }
        labelled.append((passage, labels))
    return labelled


def train(
    examples: list[tuple[Passage, set[Category]]],
    encoder: Encoder,
    sources: list[str],
    features: Features = "sentence",
    encoder_model: str = "",
    recipe: Recipe | None = None,
    layers: tuple[int, ...] = (),
) -> TrainedClassifier:
    """``recipe`` replaces the one of ``features`` (experiments choosing a recipe); ``layers`` are
    recorded for llm features, so the extractor reads the same ones. A category needs
    ``MIN_POSITIVES`` passages in ``MIN_CHILDREN`` children: its threshold is cross-validated on
    children the fold did not see."""
    recipe = recipe or RECIPES[features]
    children = np.array([passage.child_id for passage, _ in examples])  # folds hold whole children, as real use does
    vectors = np.asarray(encoder.embed_passages([p for p, _ in examples]), dtype=np.float64)
    mean = scale = None
    if recipe.standardise:
        mean, scale = vectors.mean(axis=0), vectors.std(axis=0)
        scale[scale == 0] = 1.0
        vectors = (vectors - mean) / scale
    targets = {category: np.array([category in labels for _, labels in examples]) for category in Category}
    categories = [
        category
        for category, target in targets.items()
        if target.sum() >= MIN_POSITIVES and len(set(children[target])) >= MIN_CHILDREN
    ]
    if not categories:
        raise UserError("too few annotated examples to train any category")
    labels = np.column_stack([targets[category] for category in categories])
    fit = _fit_network if recipe.hidden and len(examples) >= NETWORK_MIN_PASSAGES else _fit_regressions
    parameters, scores = fit(vectors, labels, children, recipe)
    thresholds, citation_thresholds, cv_f1 = [], [], {}
    for column, category in enumerate(categories):
        threshold, best = _best_threshold(scores[:, column], labels[:, column])
        thresholds.append(min(threshold + recipe.threshold_shift, 0.99))
        citation_thresholds.append(threshold)
        cv_f1[category.value] = best
    return TrainedClassifier(
        embedding_model=encoder.name,
        dim=vectors.shape[1],
        categories=categories,
        thresholds=np.array(thresholds),
        citation_thresholds=np.array(citation_thresholds),
        trained_on=sources,
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        cv_f1=cv_f1,
        features=features,
        encoder_model=encoder_model,
        layers=layers,
        context=recipe.context,
        mean=mean,
        scale=scale,
        **parameters,
    )


def _fit_regressions(
    vectors: np.ndarray, labels: np.ndarray, children: np.ndarray, recipe: Recipe
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A logistic regression per category, and its probabilities on children its folds did not see."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

    weights, biases, scores = [], [], []
    for target in labels.T:
        model = LogisticRegression(class_weight="balanced", C=recipe.c, max_iter=3000)
        folds = StratifiedGroupKFold(n_splits=min(FOLDS, len(set(children[target]))))
        scores.append(
            cross_val_predict(model, vectors, target, groups=children, cv=folds, method="predict_proba")[:, 1]
        )
        model.fit(vectors, target)
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
    return {"weights": np.array(weights), "bias": np.array(biases)}, np.column_stack(scores)


def _fit_network(
    vectors: np.ndarray, labels: np.ndarray, children: np.ndarray, recipe: Recipe
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One network for all categories (they share what a passage is about), and its probabilities on
    children its folds did not see. Seeded, so the same data gives the same file."""
    from sklearn.model_selection import GroupKFold
    from sklearn.neural_network import MLPClassifier

    def fitted(rows: np.ndarray) -> dict[str, np.ndarray]:
        network = MLPClassifier(
            hidden_layer_sizes=(recipe.hidden,), alpha=recipe.alpha, early_stopping=True, random_state=0
        )
        network.fit(vectors[rows], labels[rows].astype(int))
        return {
            "hidden_weights": network.coefs_[0],
            "hidden_bias": network.intercepts_[0],
            "weights": network.coefs_[1].T,
            "bias": network.intercepts_[1],
        }

    scores = np.zeros(labels.shape)
    folds = GroupKFold(n_splits=min(FOLDS, len(set(children))))
    for seen, unseen in folds.split(vectors, labels, children):
        scores[unseen] = _forward(vectors[unseen], **fitted(seen))
    return fitted(np.arange(len(vectors))), scores


def _best_threshold(scores: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    best_threshold, best_f1 = 0.5, 0.0
    for threshold in np.arange(0.2, 0.96, 0.05):
        predicted = scores >= threshold
        tp = int((predicted & target).sum())
        if tp == 0:
            continue
        f1 = 2 * tp / (predicted.sum() + target.sum())
        if f1 > best_f1:
            best_threshold, best_f1 = float(threshold), f1
    return best_threshold, best_f1


def lexicon_polarity(lexicon) -> Callable[[str, Category], Polarity]:
    """Polarity of a quote from the lexicon: its cues of that category if it has any (the most
    doubtful one wins), else the clause-wide denials and hedges in it (``Lexicon.clause_polarity``)."""

    def polarity_of(text: str, category: Category) -> Polarity:
        own = [hit.polarity for hit in lexicon.tag(text) if hit.category == category]
        return min(own, key=POLARITY_STRENGTH.__getitem__) if own else lexicon.clause_polarity(text)

    return polarity_of


class ClassifierExtractor:
    """Findings where passages reach their category's threshold, in the reports where one passage
    reaches the stricter one (module docstring).

    Probabilities are cached per passage text and classifier file: with llm features a
    passage costs a model pass, and a second summary of the same child must not.
    """

    def __init__(
        self,
        classifier: TrainedClassifier,
        encoder: Encoder,
        polarity_of: Callable[[str, Category], Polarity],
        store=None,
        digest: str = "",
    ):
        if classifier.embedding_model != encoder.name:
            raise UserError(
                f"the classifier was trained on '{classifier.embedding_model}' features, "
                f"but this installation gives '{encoder.name}'; retrain with 'assistant train'"
            )
        self.classifier = classifier
        self.encoder = encoder
        self.polarity_of = polarity_of
        self.store = store
        self.digest = digest
        self.tag = f"classifier ({classifier.features}) {classifier.trained_at}"

    def cache_key(self, passage: Passage, report: tuple[str, ...]) -> str:
        """A classifier that reads passages in their report gives another probability in another report."""
        material = ["classify", passage.text, self.digest] + ([list(report)] if self.classifier.context else [])
        return hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()

    def probabilities(self, passages: list[Passage]) -> np.ndarray:
        reports = {report_id: tuple(p.text for p in members) for report_id, members in by_report(passages).items()}
        keys = {p.passage_id: self.cache_key(p, reports[p.report_id]) for p in passages}
        rows: dict[str, list[float]] = {}
        if self.store is not None:
            for passage in passages:
                cached = self.store.cached(keys[passage.passage_id])
                if cached is not None:
                    rows[passage.passage_id] = cached
        unread = {p.report_id for p in passages if p.passage_id not in rows}
        missing = [p for p in passages if p.report_id in unread]  # whole reports: the context of each passage
        if missing:
            vectors = np.asarray(self.encoder.embed_passages(missing))
            for passage, row in zip(missing, self.classifier.probabilities(vectors).tolist(), strict=True):
                rows[passage.passage_id] = row
                if self.store is not None:
                    self.store.cache(keys[passage.passage_id], "classify", row, passage.child_id)
        return np.array([rows[p.passage_id] for p in passages]).reshape(len(passages), len(self.classifier.categories))

    def extract(
        self,
        passages: list[Passage],
        previous: dict[str, str],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], ExtractionStats]:
        categories = self.classifier.categories
        probabilities = self.probabilities(passages)
        found_in = {
            (passage.report_id, category)
            for passage, row in zip(passages, probabilities >= self.classifier.thresholds, strict=True)
            for category, reached in zip(categories, row, strict=True)
            if reached
        }
        findings: list[Finding] = []
        for passage, row, cited in zip(passages, probabilities, probabilities >= self.classifier.cite_at, strict=True):
            for category, probability, reached in zip(categories, row, cited, strict=True):
                if reached and (passage.report_id, category) in found_in:
                    findings.append(
                        Finding(
                            passage_id=passage.passage_id,
                            category=category,
                            polarity=self.polarity_of(passage.text, category),
                            quote=passage.text,
                            method="classifier",
                            confidence=float(probability),
                        )
                    )
        if progress:
            progress(len(passages), len(passages))
        return findings, ExtractionStats(passages=len(passages))
