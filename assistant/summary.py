"""Verified findings -> the structured summary a caseworker reads.

Only verified citations become indicators. Indicators are grouped by
category with counts and dates; escalation is flagged by fixed rules, never
by the model: strangling and threats to kill always, new kinds of harm, and
more frequent violence in the latest year than in the year before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

from assistant.schema import (
    Category,
    CategorySummary,
    Indicator,
    Passage,
    Polarity,
    Report,
    ReportRef,
)
from assistant.taxonomy import Taxonomy
from assistant.verify import Verdict

RED_FLAGS = {
    "strypgrepp eller grepp om halsen": re.compile(
        r"strypt|stryptag|strypgrepp|struptag|runt halsen|om halsen|kring halsen|kvävde|kväva", re.IGNORECASE
    ),
    "hot om att döda": re.compile(r"\b(döda|ta livet av|mörda|slå ihjäl|ha ihjäl)\b", re.IGNORECASE),
}
COUNTED = (Polarity.affirmed, Polarity.hedged)
DECISION_NOTICE = (
    "Detta är ett beslutsstöd som sammanställer tidigare anmälningar. Det är inte en bedömning "
    "och inte ett beslut: handläggaren läser källorna och fattar beslutet."
)


def build_indicators(verdicts: list[Verdict], passages: dict[str, Passage], taxonomy: Taxonomy) -> list[Indicator]:
    """One indicator per (passage, category, polarity); only verified citations count."""
    merged: dict[tuple[str, Category, Polarity], Indicator] = {}
    for verdict in verdicts:
        if not verdict.citation.verified:
            continue
        finding = verdict.finding
        passage = passages[finding.passage_id]
        key = (finding.passage_id, finding.category, finding.polarity)
        if key in merged:
            continue
        merged[key] = Indicator(
            category=finding.category,
            label=taxonomy.label(finding.category),
            polarity=finding.polarity,
            actor=finding.actor,
            victim=finding.victim,
            source=finding.source,
            date=passage.date,
            description=_describe(finding, taxonomy),
            citations=[verdict.citation],
            method=finding.method,
        )
    return sorted(merged.values(), key=lambda i: (i.date, i.citations[0].passage_id, i.category.value))


def _describe(finding, taxonomy: Taxonomy) -> str:
    parts = [taxonomy.label(finding.category), taxonomy.polarity_label(finding.polarity)]
    if finding.actor.value != "unknown":
        parts.append(f"utövare: {taxonomy.actor_label(finding.actor)}")
    return "; ".join(parts)


def category_summaries(indicators: list[Indicator], taxonomy: Taxonomy) -> list[CategorySummary]:
    grouped: dict[Category, list[Indicator]] = defaultdict(list)
    for indicator in indicators:
        grouped[indicator.category].append(indicator)
    summaries = []
    for category in taxonomy.categories:
        items = grouped.get(category)
        if not items:
            continue
        counted = [i for i in items if i.polarity in COUNTED] or items
        polarities: dict[str, int] = defaultdict(int)
        for item in items:
            polarities[item.polarity.value] += 1
        summaries.append(
            CategorySummary(
                category=category,
                label=taxonomy.label(category),
                count=sum(1 for i in items if i.polarity in COUNTED),
                first_date=min(i.date for i in counted),
                last_date=max(i.date for i in counted),
                actors=sorted({i.actor for i in counted if i.actor.value != "unknown"}, key=lambda a: a.value),
                polarities=dict(polarities),
            )
        )
    return summaries


def escalation_flags(indicators: list[Indicator], reports: list[Report], taxonomy: Taxonomy) -> list[str]:
    flags: list[str] = []
    harmful = [i for i in indicators if i.polarity in COUNTED and taxonomy.categories[i.category].group == "violence"]
    for name, pattern in RED_FLAGS.items():
        hits = [i for i in harmful if any(pattern.search(c.quote) for c in i.citations)]
        if hits:
            dates = ", ".join(sorted({h.date.isoformat() for h in hits}))
            flags.append(f"Allvarlig signal: {name} ({dates})")
    if len(reports) >= 2:
        latest = reports[-1]
        earlier = {i.category for i in harmful if i.date < latest.date}
        new = sorted({i.category for i in harmful if i.date == latest.date} - earlier, key=lambda c: c.value)
        if new and earlier:
            labels = ", ".join(taxonomy.label(c) for c in new)
            flags.append(f"Nya former av utsatthet i senaste anmälan ({latest.date.isoformat()}): {labels}")
        year = dt.timedelta(days=365)
        recent = sum(1 for i in harmful if i.date > latest.date - year)
        before = sum(1 for i in harmful if latest.date - 2 * year < i.date <= latest.date - year)
        has_history = reports[0].date <= latest.date - year
        if has_history and recent >= 2 and recent > before:
            flags.append(f"Tätare uppgifter om våld: {recent} det senaste året mot {before} året före")
    return flags


def report_refs(reports: list[Report], indicators: list[Indicator]) -> list[ReportRef]:
    by_report: dict[str, set[Category]] = defaultdict(set)
    for indicator in indicators:
        if indicator.polarity in COUNTED:
            by_report[indicator.citations[0].report_id].add(indicator.category)
    return [
        ReportRef(
            report_id=r.report_id,
            date=r.date,
            reporter=r.reporter,
            categories=sorted(by_report.get(r.report_id, set()), key=lambda c: c.value),
        )
        for r in reports
    ]
