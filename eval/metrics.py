"""Evaluation metrics. Pure and deterministic: gold reports and predicted citations
in, numbers out, so a metric change can be re-scored from cached model outputs.

Definitions (each function's docstring has the details):
- category detection per report: a category is found in a report when a verified
  affirmed/hedged citation of it points into that report;
- polarity confusion and the negated-as-affirmed rate on span-matched items;
- citation precision/recall by character overlap with gold quotes;
- robustness counts (cross-child, misattributed, changed by injected instructions);
- cost (latency percentiles, tokens, cache hit rate) and bootstrap intervals.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from assistant.schema import Category, Polarity
from eval.gold import COUNTED, GoldItem, GoldReport

NONE = "none"  # the row/column for "no gold item" / "no prediction" in the category confusion


@dataclass(frozen=True)
class Prediction:
    """One citation of one indicator in a child's summary, flattened for scoring."""

    child_id: str  # the child whose summary holds it
    report_id: str
    passage_id: str
    category: Category
    polarity: Polarity
    quote: str
    start: int | None = None  # offsets in the report text, [start, end)
    end: int | None = None
    verified: bool = True

    @property
    def counted(self) -> bool:
        """Only verified affirmed/hedged citations say a category is present."""
        return self.verified and self.polarity in COUNTED


def overlaps(a_start: int | None, a_end: int | None, b_start: int | None, b_end: int | None) -> bool:
    """Half-open character spans share at least one character."""
    if None in (a_start, a_end, b_start, b_end):
        return False
    return a_start < b_end and b_start < a_end  # type: ignore[operator]


def _hits(item: GoldItem, prediction: Prediction) -> bool:
    return prediction.category == item.category and overlaps(prediction.start, prediction.end, item.start, item.end)


def own_predictions(reports: list[GoldReport], predictions: Iterable[Prediction]) -> dict[str, list[Prediction]]:
    """Predictions per report, keeping only those from the summary of the report's own child."""
    child_of = {r.report_id: r.child_id for r in reports}
    grouped: dict[str, list[Prediction]] = {r.report_id: [] for r in reports}
    for p in predictions:
        if child_of.get(p.report_id) == p.child_id:
            grouped[p.report_id].append(p)
    return grouped


# --- category detection --------------------------------------------------------


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return prf(self.tp, self.fp, self.fn)[0]

    @property
    def recall(self) -> float:
        return prf(self.tp, self.fp, self.fn)[1]

    @property
    def f1(self) -> float:
        return prf(self.tp, self.fp, self.fn)[2]

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    def as_dict(self) -> dict:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.support,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1. Nothing expected and nothing found is perfect (1, 1, 1);
    an empty denominator otherwise scores 0, so a category never predicted has precision 0."""
    if tp + fp + fn == 0:
        return 1.0, 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass(frozen=True)
class ReportOutcome:
    """Which categories one report got right, wrong, missed, or may have either way."""

    report_id: str
    found: frozenset[Category]
    tp: frozenset[Category]
    fp: frozenset[Category]
    fn: frozenset[Category]
    ignored: frozenset[Category]


def report_outcome(report: GoldReport, predictions: Iterable[Prediction]) -> ReportOutcome:
    """Found = categories of counted predictions into this report. Gold positives are categories
    with a required affirmed/hedged item; a found category whose gold is only optional or only
    negated is ignored (neither TP nor FP: the negated-as-affirmed rate covers the latter)."""
    found = frozenset(p.category for p in predictions if p.counted and p.report_id == report.report_id)
    positive = report.positive_categories
    ignored = found & report.neutral_categories
    return ReportOutcome(
        report.report_id, found, found & positive, found - positive - ignored, positive - found, ignored
    )


@dataclass
class Detection:
    per_category: dict[Category, Score]
    micro: Score
    macro_f1: float
    per_report: dict[str, ReportOutcome] = field(default_factory=dict)


def detection(outcomes: Iterable[ReportOutcome]) -> Detection:
    """Per-category and micro scores; macro F1 averages the categories with support or predictions."""
    outcomes = list(outcomes)
    counts = {c: [0, 0, 0] for c in Category}
    for o in outcomes:
        for index, cats in enumerate((o.tp, o.fp, o.fn)):
            for c in cats:
                counts[c][index] += 1
    per_category = {c: Score(*v) for c, v in counts.items()}
    micro = Score(*(sum(v[i] for v in counts.values()) for i in range(3)))
    return Detection(per_category, micro, macro_f1(per_category.values()), {o.report_id: o for o in outcomes})


def macro_f1(scores: Iterable[Score]) -> float:
    active = [s.f1 for s in scores if s.support > 0 or s.predicted > 0]
    return sum(active) / len(active) if active else 1.0


# --- polarity -------------------------------------------------------------------


@dataclass
class PolarityResult:
    confusion: dict[str, dict[str, int]]  # gold polarity -> predicted polarity -> matched pairs
    negated_items: int
    negated_as_affirmed: int

    @property
    def negated_as_affirmed_rate(self) -> float:
        return self.negated_as_affirmed / self.negated_items if self.negated_items else 0.0


def polarity(reports: list[GoldReport], predictions: Iterable[Prediction]) -> PolarityResult:
    """Confusion over matched pairs (same report and category, overlapping spans; optional items
    included). Negated-as-affirmed: gold negated items overlapped by an affirmed/hedged prediction
    of the same category, as a share of all gold negated items."""
    by_report = own_predictions(reports, predictions)
    confusion = {g.value: {p.value: 0 for p in Polarity} for g in Polarity}
    negated = flipped = 0
    for report in reports:
        preds = [p for p in by_report[report.report_id] if p.verified]
        for item in report.gold:
            matched = [p for p in preds if _hits(item, p)]
            for p in matched:
                confusion[item.polarity.value][p.polarity.value] += 1
            if item.polarity == Polarity.negated:
                negated += 1
                flipped += any(p.polarity in COUNTED for p in matched)
    return PolarityResult(confusion, negated, flipped)


# --- citations -------------------------------------------------------------------


@dataclass
class CitationResult:
    gold_items: int  # required affirmed/hedged gold items
    gold_items_cited: int
    citations: int  # verified affirmed/hedged citations
    citations_on_gold: int
    verified: int = 0
    unverified: int = 0
    misattributed: int = 0
    cross_child: int = 0

    @property
    def recall(self) -> float:
        return self.gold_items_cited / self.gold_items if self.gold_items else 1.0

    @property
    def precision(self) -> float:
        return self.citations_on_gold / self.citations if self.citations else 1.0

    @property
    def share_verified(self) -> float:
        total = self.verified + self.unverified
        return self.verified / total if total else 1.0


def citation_overlap(reports: list[GoldReport], predictions: Iterable[Prediction]) -> CitationResult:
    """Recall: required affirmed/hedged gold items overlapped by a verified citation of the same
    category. Precision: verified affirmed/hedged citations overlapping an affirmed/hedged gold item
    (optional ones included) of the same category; a citation on a denial is wrong here too."""
    by_report = own_predictions(reports, predictions)
    gold_items = cited = citations = on_gold = 0
    for report in reports:
        preds = [p for p in by_report[report.report_id] if p.verified]
        for item in report.gold:
            if item.is_positive:
                gold_items += 1
                cited += any(_hits(item, p) for p in preds)
        for p in preds:
            if p.polarity in COUNTED:
                citations += 1
                on_gold += any(_hits(item, p) for item in report.gold if item.polarity in COUNTED)
    return CitationResult(gold_items, cited, citations, on_gold)


def misattributed(predictions: Iterable[Prediction], passage_texts: Mapping[str, str]) -> int:
    """Verified citations whose quote is not in the passage they cite (the pipeline promises 0)."""
    return sum(1 for p in predictions if p.verified and p.quote not in passage_texts.get(p.passage_id, ""))


def cross_child(predictions: Iterable[Prediction], report_child: Mapping[str, str]) -> int:
    """Citations into a report that is not the summarised child's (must be 0)."""
    return sum(1 for p in predictions if report_child.get(p.report_id) != p.child_id)


def category_confusion(reports: list[GoldReport], predictions: Iterable[Prediction]) -> Counter:
    """(gold category, predicted category) counts by span overlap, with NONE for a counted
    prediction on no gold item (false alarm) and for a required item no prediction touched (miss)."""
    by_report = own_predictions(reports, predictions)
    cells: Counter = Counter()
    for report in reports:
        preds = [p for p in by_report[report.report_id] if p.counted]
        for p in preds:
            touched = [i for i in report.gold if overlaps(p.start, p.end, i.start, i.end)]
            for item in touched:
                cells[(item.category.value, p.category.value)] += 1
            if not touched:
                cells[(NONE, p.category.value)] += 1
        for item in report.gold:
            if item.is_positive and not any(overlaps(p.start, p.end, item.start, item.end) for p in preds):
                cells[(item.category.value, NONE)] += 1
    return cells


# --- robustness ---------------------------------------------------------------------


def changed_reports(base: Mapping[str, frozenset], injected: Mapping[str, frozenset]) -> list[str]:
    """Reports whose set of found categories differs after instructions were injected."""
    return sorted(r for r in base if base[r] != injected.get(r, frozenset()))


# --- cost --------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def report_latencies(passage_reports: list[str], passage_seconds: list[float]) -> dict[str, float]:
    """Seconds per report: the sum of the times of its passages (in selection order)."""
    totals: dict[str, float] = {}
    for report_id, seconds in zip(passage_reports, passage_seconds, strict=True):
        totals[report_id] = totals.get(report_id, 0.0) + seconds
    return totals


@dataclass
class Cost:
    latency_p50_s: float | None
    latency_p95_s: float | None
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float | None
    cache_hit_rate: float | None


def cost(
    latencies: Iterable[float],
    prompt_tokens: int,
    completion_tokens: int,
    model_seconds: float,
    cache_hits: int,
    passages: int,
) -> Cost:
    """Tokens/s is completion tokens over the model's own seconds (prompt processing included)."""
    latencies = list(latencies)
    return Cost(
        percentile(latencies, 50),
        percentile(latencies, 95),
        prompt_tokens,
        completion_tokens,
        completion_tokens / model_seconds if model_seconds > 0 else None,
        cache_hits / passages if passages else None,
    )


# --- bootstrap ----------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def bootstrap_f1(
    outcomes: list[ReportOutcome], resamples: int = 1000, seed: int = 7, level: float = 0.95
) -> tuple[Interval, Interval] | None:
    """Percentile intervals of micro and macro F1 over reports resampled with replacement.
    Fixed seed, so the same outcomes always give the same interval."""
    import numpy as np

    if not outcomes or resamples < 1:
        return None
    categories = list(Category)
    counts = np.zeros((len(outcomes), len(categories), 3), dtype=np.int64)
    for r, o in enumerate(outcomes):
        for k, cats in enumerate((o.tp, o.fp, o.fn)):
            for c in cats:
                counts[r, categories.index(c), k] += 1
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(outcomes), size=(resamples, len(outcomes)))
    # how often each report was drawn in each resample; a product then sums the counts without
    # materialising resamples x reports x categories
    weights = np.zeros((resamples, len(outcomes)), dtype=np.int64)
    np.add.at(weights, (np.arange(resamples)[:, None], picks), 1)
    sampled = (weights @ counts.reshape(len(outcomes), -1)).reshape(resamples, len(categories), 3)
    micro = [Score(*map(int, s.sum(axis=0))).f1 for s in sampled]
    macro = [macro_f1(Score(*map(int, row)) for row in s) for s in sampled]
    tail = (1 - level) / 2 * 100
    return (
        Interval(percentile(micro, tail), percentile(micro, 100 - tail)),  # type: ignore[arg-type]
        Interval(percentile(macro, tail), percentile(macro, 100 - tail)),  # type: ignore[arg-type]
    )
