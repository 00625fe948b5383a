"""A passage classifier trained from annotated reports: the municipality's
annotate-then-train loop. One logistic regression per category on sentence
embeddings; each threshold is chosen by cross-validation on the training data.

``assistant train --gold FILE.jsonl`` writes the model file named in settings
(``classifier.path``); ``ClassifierExtractor`` uses it. The classifier says
which categories a passage carries; polarity comes from the lexicon's negation
and hedge scope, and the quote is the whole passage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import UserError
from assistant.extract import ExtractionStats
from assistant.passages import split_passages
from assistant.schema import Category, Finding, Passage, Polarity, Report
from vectorstore.embeddings import Embedder

MIN_POSITIVES = 4
FOLDS = 4


@dataclass
class TrainedClassifier:
    embedding_model: str
    dim: int
    categories: list[Category]
    weights: np.ndarray  # (categories, dim)
    bias: np.ndarray  # (categories,)
    thresholds: np.ndarray  # (categories,)
    trained_on: list[str] = field(default_factory=list)
    trained_at: str = ""
    cv_f1: dict[str, float] = field(default_factory=dict)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(vectors @ self.weights.T + self.bias)))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(
            partial,
            weights=self.weights,
            bias=self.bias,
            thresholds=self.thresholds,
            categories=np.array([c.value for c in self.categories]),
            meta=np.array([self.embedding_model, str(self.dim), self.trained_at]),
            trained_on=np.array(self.trained_on),
            cv_f1=np.array([f"{k}={v:.3f}" for k, v in self.cv_f1.items()]),
        )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> TrainedClassifier:
        if not path.exists():
            raise UserError(f"no trained classifier at {path}; run 'assistant train --gold FILE.jsonl'")
        data = np.load(path, allow_pickle=False)
        model, dim, trained_at = (str(x) for x in data["meta"])
        return cls(
            embedding_model=model,
            dim=int(dim),
            categories=[Category(c) for c in data["categories"]],
            weights=data["weights"],
            bias=data["bias"],
            thresholds=data["thresholds"],
            trained_on=[str(x) for x in data["trained_on"]],
            trained_at=trained_at,
            cv_f1=dict(str(x).split("=") for x in data["cv_f1"]),
        )


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


def train(examples: list[tuple[Passage, set[Category]]], embedder: Embedder, sources: list[str]) -> TrainedClassifier:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    vectors = np.asarray(embedder.embed([p.text for p, _ in examples]))
    categories, weights, biases, thresholds, cv_f1 = [], [], [], [], {}
    for category in Category:
        target = np.array([category in labels for _, labels in examples])
        if target.sum() < MIN_POSITIVES:
            continue
        model = LogisticRegression(class_weight="balanced", C=2.0, max_iter=2000)
        folds = StratifiedKFold(n_splits=min(FOLDS, int(target.sum())), shuffle=True, random_state=7)
        scores = cross_val_predict(model, vectors, target, cv=folds, method="predict_proba")[:, 1]
        threshold, best = _best_threshold(scores, target)
        model.fit(vectors, target)
        categories.append(category)
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
        thresholds.append(threshold)
        cv_f1[category.value] = best
    if not categories:
        raise UserError("too few annotated examples to train any category")
    return TrainedClassifier(
        embedding_model=embedder.name,
        dim=embedder.dim,
        categories=categories,
        weights=np.array(weights),
        bias=np.array(biases),
        thresholds=np.array(thresholds),
        trained_on=sources,
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        cv_f1=cv_f1,
    )


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


def lexicon_polarity(lexicon) -> Callable[[Passage, Category], Polarity]:
    """Polarity from the lexicon: its hits of that category if any, else any negation or hedge in the passage."""

    def polarity_of(passage: Passage, category: Category) -> Polarity:
        hits = lexicon.tag(passage.text)
        own = [h.polarity for h in hits if h.category == category] or [h.polarity for h in hits]
        for polarity in (Polarity.negated, Polarity.hedged):
            if polarity in own:
                return polarity
        return Polarity.affirmed

    return polarity_of


class ClassifierExtractor:
    def __init__(
        self, classifier: TrainedClassifier, embedder: Embedder, polarity_of: Callable[[Passage, Category], Polarity]
    ):
        if (classifier.embedding_model, classifier.dim) != (embedder.name, embedder.dim):
            raise UserError(
                f"the classifier was trained on '{classifier.embedding_model}' embeddings, "
                f"but settings name '{embedder.name}'; retrain with 'assistant train'"
            )
        self.classifier = classifier
        self.embedder = embedder
        self.polarity_of = polarity_of
        self.tag = f"classifier {classifier.trained_at}"

    def extract(
        self,
        passages: list[Passage],
        previous: dict[str, str],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], ExtractionStats]:
        findings: list[Finding] = []
        if passages:
            probabilities = self.classifier.probabilities(np.asarray(self.embedder.embed([p.text for p in passages])))
            for passage, row in zip(passages, probabilities, strict=True):
                for category, probability, threshold in zip(
                    self.classifier.categories, row, self.classifier.thresholds, strict=True
                ):
                    if probability >= threshold:
                        findings.append(
                            Finding(
                                passage_id=passage.passage_id,
                                category=category,
                                polarity=self.polarity_of(passage, category),
                                quote=passage.text,
                                method="classifier",
                                confidence=float(probability),
                            )
                        )
        if progress:
            progress(len(passages), len(passages))
        return findings, ExtractionStats(passages=len(passages))
