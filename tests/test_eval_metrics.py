"""Evaluation metrics against values computed by hand (no model needed)."""

from __future__ import annotations

import pytest

from assistant.schema import Category, Polarity
from eval.gold import make_report
from eval.metrics import (
    NONE,
    Prediction,
    Score,
    bootstrap_f1,
    category_confusion,
    citation_overlap,
    cost,
    cross_child,
    detection,
    misattributed,
    overlaps,
    percentile,
    polarity,
    prf,
    report_latencies,
    report_outcome,
)

C = Category
P = Polarity


def cite(report, quote, category, pol=P.affirmed, child=None, passage=None):
    """A verified prediction citing ``quote`` where it stands in the report text."""
    start = report.text.find(quote)
    assert start >= 0, quote
    return Prediction(
        child or report.child_id,
        report.report_id,
        passage or f"{report.report_id}:1",
        C(category),
        P(pol),
        quote,
        start,
        start + len(quote),
    )


TEXT = "Elsa har blåmärken på armen efter att pappa slog henne. Hon är ofta hungrig och har smutsiga kläder."


def test_two_gold_categories_one_true_positive_one_false_alarm():
    report = make_report(
        "A-R1",
        "A",
        TEXT,
        [
            ("pappa slog henne", "physical_violence", "affirmed"),
            ("Hon är ofta hungrig", "neglect", "affirmed"),
        ],
    )
    predictions = [
        cite(report, "blåmärken på armen", "physical_violence"),  # right category, other quote: still found
        cite(report, "pappa slog henne", "psychological_violence"),  # a category gold does not have
    ]
    outcome = report_outcome(report, predictions)
    assert outcome.tp == {C.physical_violence}
    assert outcome.fp == {C.psychological_violence}
    assert outcome.fn == {C.neglect}
    result = detection([outcome])
    # micro: TP 1, FP 1, FN 1 -> P = 1/2, R = 1/2, F1 = 1/2
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (1, 1, 1)
    assert result.micro.precision == 0.5 and result.micro.recall == 0.5 and result.micro.f1 == 0.5
    # macro over the three active categories: physical 1.0, psychological 0.0, neglect 0.0
    assert result.macro_f1 == pytest.approx(1 / 3)
    assert result.per_category[C.physical_violence].as_dict() == {
        "tp": 1,
        "fp": 0,
        "fn": 0,
        "support": 1,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }
    assert result.per_category[C.neglect].support == 1 and result.per_category[C.neglect].f1 == 0.0
    assert result.per_category[C.sexual_abuse].support == 0  # inactive: not in the macro mean


def test_optional_and_negated_only_categories_are_neither_rewarded_nor_penalised():
    text = "Pappa slog Elsa. Hon verkar rädd ibland. Det finns inga tecken på att hon far illa av mamma."
    report = make_report(
        "A-R1",
        "A",
        text,
        [
            ("Pappa slog Elsa", "physical_violence", "affirmed"),
            ("Hon verkar rädd ibland", "latent_violence", "hedged", True),
            ("inga tecken på att hon far illa", "neglect", "negated"),
            ("Hon verkar rädd ibland", "psychological_violence", "affirmed", True),
        ],
    )
    predictions = [
        cite(report, "Hon verkar rädd", "latent_violence", P.hedged),
        cite(report, "inga tecken på att hon far illa", "neglect", P.affirmed),
    ]
    outcome = report_outcome(report, predictions)
    assert outcome.ignored == {C.latent_violence, C.neglect}
    assert outcome.tp == set() and outcome.fp == set()
    assert outcome.fn == {C.physical_violence}  # required and not found
    assert C.psychological_violence not in outcome.fn  # optional: not a miss
    result = detection([outcome])
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (0, 0, 1)
    assert result.micro.f1 == 0.0 and result.macro_f1 == 0.0  # only physical violence is active


def test_negated_predictions_and_unverified_citations_do_not_count_as_found():
    report = make_report("A-R1", "A", TEXT, [("pappa slog henne", "physical_violence", "affirmed")])
    unverified = Prediction("A", "A-R1", "A-R1:1", C.neglect, P.affirmed, "hungrig", 70, 77, verified=False)
    outcome = report_outcome(report, [cite(report, "pappa slog henne", "physical_violence", P.negated), unverified])
    assert outcome.found == set() and outcome.fn == {C.physical_violence}


def test_nothing_expected_and_nothing_found_is_perfect():
    report = make_report("A-R1", "A", "Mötet hölls i skolan.", [])
    result = detection([report_outcome(report, [])])
    assert result.micro.f1 == 1.0 and result.macro_f1 == 1.0
    assert prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert prf(0, 2, 0) == (0.0, 0.0, 0.0)
    assert prf(3, 1, 2) == (0.75, 0.6, pytest.approx(2 * 0.75 * 0.6 / 1.35))


def test_polarity_confusion_and_negated_as_affirmed_rate():
    first = make_report(
        "A-R1",
        "A",
        "Pappan förnekar att han slagit Elsa. Mamma dricker alkohol varje kväll.",
        [
            ("förnekar att han slagit Elsa", "physical_violence", "negated"),
            ("Mamma dricker alkohol varje kväll", "parental_substance_abuse", "affirmed"),
        ],
    )
    second = make_report(
        "A-R2",
        "A",
        "Skolan ser inga tecken på försummelse. Han är glad.",
        [
            ("inga tecken på försummelse", "neglect", "negated"),
        ],
    )
    predictions = [
        cite(first, "han slagit Elsa", "physical_violence", P.affirmed),  # flips a denial
        cite(first, "Mamma dricker alkohol", "parental_substance_abuse", P.hedged),
        cite(second, "inga tecken på försummelse", "neglect", P.negated),  # right
        cite(second, "inga tecken", "physical_violence", P.affirmed),  # other category: not a match
    ]
    result = polarity([first, second], predictions)
    assert result.confusion["negated"] == {"affirmed": 1, "hedged": 0, "negated": 1}
    assert result.confusion["affirmed"] == {"affirmed": 0, "hedged": 1, "negated": 0}
    assert result.confusion["hedged"] == {"affirmed": 0, "hedged": 0, "negated": 0}
    assert (result.negated_items, result.negated_as_affirmed) == (2, 1)
    assert result.negated_as_affirmed_rate == 0.5


def test_citation_overlap_precision_and_recall():
    text = "Elsa berättar att pappa slog henne i ansiktet. Mamma var berusad. Mormor stöttar Elsa."
    report = make_report(
        "A-R1",
        "A",
        text,
        [
            ("pappa slog henne i ansiktet", "physical_violence", "affirmed"),
            ("Mamma var berusad", "parental_substance_abuse", "affirmed"),
            ("Mormor stöttar Elsa", "protective_factor", "affirmed", True),
        ],
    )
    start = text.find("pappa slog")
    predictions = [
        # one character of overlap is enough: "Elsa berättar att p" ends inside the gold quote
        Prediction("A", "A-R1", "A-R1:1", C.physical_violence, P.affirmed, text[: start + 1], 0, start + 1),
        # touching the span but not inside it ([0, start) ends where the quote starts): no overlap
        Prediction("A", "A-R1", "A-R1:1", C.physical_violence, P.hedged, text[:start], 0, start),
        cite(report, "Mamma var berusad", "neglect"),  # right place, wrong category
        cite(report, "Mormor stöttar", "protective_factor"),  # optional gold: counts for precision
        cite(report, "Mamma var berusad", "parental_substance_abuse", P.negated),  # cited, not a counted citation
    ]
    result = citation_overlap([report], predictions)
    # recall: 2 required items, both overlapped by a citation of their category -> 1.0
    assert (result.gold_items, result.gold_items_cited) == (2, 2)
    assert result.recall == 1.0
    # precision: 4 affirmed/hedged citations, 2 on a gold item of their category -> 0.5
    assert (result.citations, result.citations_on_gold) == (4, 2)
    assert result.precision == 0.5
    assert overlaps(0, 5, 4, 9) and not overlaps(0, 5, 5, 9) and not overlaps(None, 5, 0, 9)


def test_share_verified_misattribution_and_cross_child():
    good = Prediction("A", "A-R1", "A-R1:1", C.neglect, P.affirmed, "hungrig", 0, 7)
    moved = Prediction("A", "A-R1", "A-R1:2", C.neglect, P.affirmed, "hungrig", 0, 7)
    foreign = Prediction("A", "B-R1", "B-R1:1", C.neglect, P.affirmed, "hungrig", 0, 7)
    passages = {"A-R1:1": "Han är hungrig.", "A-R1:2": "Han är glad.", "B-R1:1": "Hon är hungrig."}
    assert misattributed([good, moved, foreign], passages) == 1
    assert cross_child([good, moved, foreign], {"A-R1": "A", "B-R1": "B"}) == 1
    result = citation_overlap([], [])
    result.verified, result.unverified = 3, 1
    assert result.share_verified == 0.75


def test_category_confusion_counts_misses_and_false_alarms():
    report = make_report(
        "A-R1",
        "A",
        TEXT,
        [
            ("pappa slog henne", "physical_violence", "affirmed"),
            ("Hon är ofta hungrig", "neglect", "affirmed"),
        ],
    )
    predictions = [
        cite(report, "pappa slog henne", "witnessed_violence"),
        cite(report, "Elsa har blåmärken", "physical_violence"),
    ]
    cells = category_confusion([report], predictions)
    assert cells == {
        ("physical_violence", "witnessed_violence"): 1,
        (NONE, "physical_violence"): 1,
        ("neglect", NONE): 1,
    }


def test_latency_percentiles_and_cost():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([], 50) is None
    per_report = report_latencies(["A-R1", "A-R1", "A-R2"], [0.5, 0.25, 2.0])
    assert per_report == {"A-R1": 0.75, "A-R2": 2.0}
    figures = cost(
        per_report.values(), prompt_tokens=900, completion_tokens=60, model_seconds=3.0, cache_hits=1, passages=4
    )
    assert figures.latency_p50_s == pytest.approx(1.375)
    assert figures.tokens_per_s == 20.0 and figures.cache_hit_rate == 0.25
    assert cost([], 0, 0, 0.0, 0, 0).tokens_per_s is None


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    reports = [
        make_report(f"A-R{i}", "A", TEXT, [("pappa slog henne", "physical_violence", "affirmed")]) for i in range(8)
    ]
    predictions = [cite(r, "pappa slog henne", "physical_violence") for r in reports[:5]]
    predictions += [cite(r, "hungrig", "neglect") for r in reports[5:7]]
    outcomes = [report_outcome(r, predictions) for r in reports]
    first = bootstrap_f1(outcomes, resamples=1000, seed=7)
    again = bootstrap_f1(outcomes, resamples=1000, seed=7)
    assert first == again
    micro, macro = first
    point = detection(outcomes)
    assert micro.low <= point.micro.f1 <= micro.high
    assert macro.low <= point.macro_f1 <= macro.high
    assert micro.low < micro.high  # the reports differ, so resampling moves the score
    perfect = [report_outcome(r, [cite(r, "pappa slog henne", "physical_violence")]) for r in reports]
    (p_micro, p_macro) = bootstrap_f1(perfect, resamples=200, seed=1)
    assert (p_micro.low, p_micro.high, p_macro.low, p_macro.high) == (1.0, 1.0, 1.0, 1.0)
    assert bootstrap_f1([], 100, 1) is None


def test_score_properties():
    score = Score(tp=2, fp=2, fn=0)
    assert (score.precision, score.recall, score.support, score.predicted) == (0.5, 1.0, 2, 4)
    assert score.f1 == pytest.approx(2 / 3)
