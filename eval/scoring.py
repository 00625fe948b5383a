"""Raw case runs + gold -> the results document (plain JSON-ready dicts).

Everything downstream (report.html, junit.xml, compare) reads only this
document, so a stored results.json can be rendered or compared again later.
"""

from __future__ import annotations

from typing import Any

from assistant.schema import Category, Polarity
from assistant.settings import EmbeddingSettings
from eval import metrics as m
from eval.gold import GoldReport, children_of
from eval.runner import CaseRun, ConfigRuns
from eval.suite import Suite, Threshold
from vectorstore.embeddings import embedding_name


def predictions_of(run: CaseRun) -> list[m.Prediction]:
    """Every citation of every indicator in the child's summary."""
    found = []
    for indicator in run.summary.get("indicators", []):
        for c in indicator.get("citations", []):
            found.append(
                m.Prediction(
                    run.child_id,
                    c["report_id"],
                    c["passage_id"],
                    Category(indicator["category"]),
                    Polarity(indicator["polarity"]),
                    c["quote"],
                    c.get("start"),
                    c.get("end"),
                    bool(c["verified"]),
                )
            )
    return found


def found_by_report(reports: list[GoldReport], run: CaseRun | None) -> dict[str, frozenset[Category]]:
    predictions = predictions_of(run) if run and not run.error else []
    own = m.own_predictions(reports, predictions)
    return {r.report_id: m.report_outcome(r, own[r.report_id]).found for r in reports}


def score_configuration(plan: ConfigRuns, reports: list[GoldReport], suite: Suite) -> dict[str, Any]:
    cases = children_of(reports)
    report_child = {r.report_id: r.child_id for r in reports}
    predictions = [p for run in plan.base.values() if not run.error for p in predictions_of(run)]
    own = m.own_predictions(reports, predictions)
    outcomes = [m.report_outcome(r, own[r.report_id]) for r in reports]
    detection = m.detection(outcomes)
    polarity = m.polarity(reports, predictions)
    citations = m.citation_overlap(reports, predictions)
    citations.verified = sum(1 for p in predictions if p.verified)
    citations.unverified = sum(run.unverified for run in plan.base.values()) + sum(
        1 for p in predictions if not p.verified
    )
    passage_texts = {p["passage_id"]: p["text"] for run in plan.base.values() for p in run.passages}
    citations.misattributed = m.misattributed(predictions, passage_texts)
    citations.cross_child = m.cross_child(predictions, report_child)

    latencies: dict[str, float] = {}
    totals = {"prompt_tokens": 0, "completion_tokens": 0, "model_seconds": 0.0, "cache_hits": 0, "passages": 0}
    for run in plan.base.values():
        n = min(len(run.passages), len(run.passage_seconds))
        latencies.update(m.report_latencies([p["report_id"] for p in run.passages[:n]], run.passage_seconds[:n]))
        for key in totals:
            totals[key] += run.stats.get(key, 0)
    cost = m.cost(latencies.values(), **totals)

    changed: list[str] | None = None
    injected_found: dict[str, frozenset[Category]] = {}
    if plan.injected:
        for child, child_reports in cases.items():
            injected_run = plan.injected.get(child)
            if injected_run and not injected_run.error:  # a failed run is reported, not counted as a change
                injected_found.update(found_by_report(child_reports, injected_run))
        base_found = {o.report_id: o.found for o in outcomes if o.report_id in injected_found}
        changed = m.changed_reports(base_found, injected_found)

    intervals = m.bootstrap_f1(outcomes, suite.bootstrap.resamples, suite.bootstrap.seed)
    errors = sum(1 for run in plan.base.values() if run.error)
    metrics = {
        "micro_precision": detection.micro.precision,
        "micro_recall": detection.micro.recall,
        "micro_f1": detection.micro.f1,
        "macro_f1": detection.macro_f1,
        "negated_as_affirmed_rate": polarity.negated_as_affirmed_rate,
        "share_verified": citations.share_verified,
        "citation_precision": citations.precision,
        "citation_recall": citations.recall,
        "misattributed_citations": citations.misattributed,
        "cross_child_citations": citations.cross_child,
        "schema_invalid_outputs": sum(run.stats.get("invalid_outputs", 0) for run in plan.base.values()),
        "injection_changed_reports": len(changed) if changed is not None else None,
        "latency_p50_s": cost.latency_p50_s,
        "latency_p95_s": cost.latency_p95_s,
        "prompt_tokens": cost.prompt_tokens,
        "completion_tokens": cost.completion_tokens,
        "tokens_per_s": cost.tokens_per_s,
        "cache_hit_rate": cost.cache_hit_rate,
        "case_errors": errors,
    }
    thresholds = [threshold_result(name, t, metrics.get(name)) for name, t in suite.thresholds.items()]
    outcome_by_report = {o.report_id: o for o in outcomes}
    case_results = [
        case_result(
            child,
            child_reports,
            plan.base.get(child),
            own,
            outcome_by_report,
            latencies,
            injected_found if plan.injected else None,
            plan.injected.get(child),
            passage_texts,
            report_child,
        )
        for child, child_reports in cases.items()
    ]
    config = plan.configuration
    return {
        "name": config.name,
        "model": plan.model_name,
        "model_sha256": plan.model_sha256,
        "prompt": plan.prompt_tag,
        "embedding_model": embedding_name(EmbeddingSettings(**plan.effective_settings["embedding"])),
        "provenance": plan.provenance,
        "overrides": config.overrides,
        "settings_key": plan.settings_key,
        "settings": plan.effective_settings,
        "metrics": metrics,
        "intervals": {
            "micro_f1": [intervals[0].low, intervals[0].high] if intervals else None,
            "macro_f1": [intervals[1].low, intervals[1].high] if intervals else None,
            "level": 0.95,
            "resamples": suite.bootstrap.resamples,
            "seed": suite.bootstrap.seed,
        },
        "counts": {
            "reports": len(reports),
            "cases": len(cases),
            "tp": detection.micro.tp,
            "fp": detection.micro.fp,
            "fn": detection.micro.fn,
            "gold_items_required": citations.gold_items,
            "gold_items_cited": citations.gold_items_cited,
            "citations_counted": citations.citations,
            "citations_on_gold": citations.citations_on_gold,
            "citations_verified": citations.verified,
            "citations_unverified": citations.unverified,
            "negated_items": polarity.negated_items,
            "negated_as_affirmed": polarity.negated_as_affirmed,
            "model_seconds": totals["model_seconds"],
            "passages": totals["passages"],
            "cases_from_eval_cache": sum(r.from_cache for r in plan.base.values()),
        },
        "per_category": {c.value: s.as_dict() for c, s in detection.per_category.items()},
        "polarity_confusion": polarity.confusion,
        "category_confusion": [[g, p, n] for (g, p), n in sorted(m.category_confusion(reports, predictions).items())],
        "injection_changed": changed,
        "thresholds": thresholds,
        "passed": all(t["passed"] for t in thresholds),
        "cases": case_results,
    }


def threshold_result(name: str, threshold: Threshold, value: float | None) -> dict[str, Any]:
    return {
        "metric": name,
        "min": threshold.min,
        "max": threshold.max,
        "value": value,
        "passed": threshold.passes(value),
        "rule": threshold.describe(),
    }


def case_result(
    child: str,
    reports: list[GoldReport],
    run: CaseRun | None,
    own: dict[str, list[m.Prediction]],
    outcomes: dict[str, m.ReportOutcome],
    latencies: dict[str, float],
    injected_found: dict[str, frozenset[Category]] | None,
    injected_run: CaseRun | None,
    passage_texts: dict[str, str],
    report_child: dict[str, str],
) -> dict[str, Any]:
    """One child's drill-down: per report, gold items beside predicted citations."""
    run = run or CaseRun(child, error="not run")
    all_predictions = predictions_of(run) if not run.error else []
    report_rows = []
    for report in reports:
        outcome = outcomes[report.report_id]
        preds = own[report.report_id]
        gold_rows = []
        for item in report.gold:
            hit = any(
                p.verified and p.category == item.category and m.overlaps(p.start, p.end, item.start, item.end)
                for p in preds
            )
            flipped = item.polarity == Polarity.negated and any(
                p.counted and p.category == item.category and m.overlaps(p.start, p.end, item.start, item.end)
                for p in preds
            )
            gold_rows.append(
                {
                    "quote": item.quote,
                    "category": item.category.value,
                    "polarity": item.polarity.value,
                    "optional": item.optional,
                    "start": item.start,
                    "end": item.end,
                    "cited": hit,
                    "missed": item.is_positive and item.category in outcome.fn,
                    "flipped": flipped,
                }
            )
        pred_rows = []
        for p in preds:
            verdict = (
                "true_positive"
                if p.category in outcome.tp and p.counted
                else "false_alarm"
                if p.category in outcome.fp and p.counted
                else "ignored"
                if p.category in outcome.ignored and p.counted
                else "not_counted"
            )
            pred_rows.append(
                {
                    "quote": p.quote,
                    "category": p.category.value,
                    "polarity": p.polarity.value,
                    "passage_id": p.passage_id,
                    "start": p.start,
                    "end": p.end,
                    "verified": p.verified,
                    "on_gold": any(
                        p.category == i.category and m.overlaps(p.start, p.end, i.start, i.end) for i in report.gold
                    ),
                    "verdict": verdict,
                }
            )
        row = {
            "report_id": report.report_id,
            "date": report.date.isoformat(),
            "reporter": report.reporter,
            "text": report.text,
            "latency_s": latencies.get(report.report_id),
            "found": sorted(c.value for c in outcome.found),
            "tp": sorted(c.value for c in outcome.tp),
            "fp": sorted(c.value for c in outcome.fp),
            "fn": sorted(c.value for c in outcome.fn),
            "ignored": sorted(c.value for c in outcome.ignored),
            "gold": gold_rows,
            "predictions": pred_rows,
        }
        if injected_found is not None and report.report_id in injected_found:
            row["injected_found"] = sorted(c.value for c in injected_found.get(report.report_id, frozenset()))
            row["injection_changed"] = injected_found.get(report.report_id, frozenset()) != outcome.found
        report_rows.append(row)
    score = m.Score(
        sum(len(outcomes[r.report_id].tp) for r in reports),
        sum(len(outcomes[r.report_id].fp) for r in reports),
        sum(len(outcomes[r.report_id].fn) for r in reports),
    )
    return {
        "child_id": child,
        "error": run.error,
        "from_cache": run.from_cache,
        "selection_mode": run.selection_mode,
        "stats": run.stats,
        "warnings": run.summary.get("warnings", []),
        "injected_error": injected_run.error if injected_run else "",
        "metrics": {
            "tp": score.tp,
            "fp": score.fp,
            "fn": score.fn,
            "micro_f1": score.f1,
            "cross_child_citations": m.cross_child(all_predictions, report_child),
            "misattributed_citations": m.misattributed(all_predictions, passage_texts),
            "unverified_citations": run.unverified,
            "schema_invalid_outputs": run.stats.get("invalid_outputs", 0),
        },
        "reports": report_rows,
    }
