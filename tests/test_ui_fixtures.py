"""Known findings for the fixture reports, and a Summary built from them by the pipeline's own
pure steps (passages, verification, indicators, counts, escalation), with no model.

The UI, export and feedback tests need indicators; the tiny test model cannot
produce them reliably, so these findings stand in for its output. The browser
test seeds the same findings into the pipeline's analysis cache.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from assistant.passages import split_passages
from assistant.schema import Actor, Category, Finding, ModelRef, Passage, Polarity, Report, Source, Summary
from assistant.summary import DECISION_NOTICE, build_indicators, category_summaries, escalation_flags, report_refs
from assistant.taxonomy import load_taxonomy
from assistant.verify import verify

FIXTURE_REPORTS = Path(__file__).parent / "fixtures" / "reports.jsonl"
DEMO_REPORTS = Path(__file__).parent.parent / "data" / "demo" / "reports.jsonl"
MAX_PASSAGE_CHARS = 400  # settings.ingest.max_passage_chars


@dataclass(frozen=True)
class KnownFinding:
    quote: str
    category: Category
    polarity: Polarity
    actor: Actor = Actor.unknown
    source: Source = Source.reporter


T1_FINDINGS = [
    KnownFinding("blåmärken på båda armarna", Category.physical_violence, Polarity.affirmed),
    KnownFinding("pappa slog henne", Category.physical_violence, Polarity.affirmed, Actor.father, Source.child),
    KnownFinding("såg när pappa tog mamma om halsen", Category.witnessed_violence, Polarity.affirmed, Actor.father),
    KnownFinding(
        "Pappan förnekar att han har slagit någon", Category.physical_violence, Polarity.negated, Actor.father
    ),
]


def demo_gold_findings(child_id: str) -> list[KnownFinding]:
    """The demo file's own gold annotations of one child, as findings (actor and source left unknown)."""
    found = []
    for line in DEMO_REPORTS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["child_id"] == child_id:
            found += [
                KnownFinding(g["quote"], Category(g["category"]), Polarity(g["polarity"])) for g in record["gold"]
            ]
    return found


def fixture_reports(child_id: str | None = None) -> list[Report]:
    reports = [Report(**json.loads(line)) for line in FIXTURE_REPORTS.read_text(encoding="utf-8").splitlines()]
    return [r for r in reports if child_id is None or r.child_id == child_id]


def passages_of(reports: list[Report]) -> list[Passage]:
    return [p for r in reports for p in split_passages(r, MAX_PASSAGE_CHARS)]


def findings_by_passage(passages: list[Passage], known: list[KnownFinding]) -> dict[str, list[KnownFinding]]:
    """Each known finding under the passage that holds its quote; every passage gets an entry."""
    placed: dict[str, list[KnownFinding]] = {p.passage_id: [] for p in passages}
    for finding in known:
        holder = next(p for p in passages if finding.quote in p.text)
        placed[holder.passage_id].append(finding)
    return placed


def make_summary(
    reports: list[Report] | None = None,
    known: list[KnownFinding] | None = None,
    narrative: str = "Elsa berättade att pappa slog henne [2]. Hon såg när pappa tog mamma om halsen [3].",
) -> Summary:
    reports = reports if reports is not None else fixture_reports("T1")
    known = known if known is not None else T1_FINDINGS
    taxonomy = load_taxonomy()
    passages = passages_of(reports)
    findings = [
        Finding(
            passage_id=passage_id,
            category=f.category,
            polarity=f.polarity,
            actor=f.actor,
            source=f.source,
            quote=f.quote,
        )
        for passage_id, placed in findings_by_passage(passages, known).items()
        for f in placed
    ]
    given = {p.passage_id: p for p in passages}
    child_id = reports[0].child_id
    indicators = build_indicators(verify(findings, given, child_id, 90.0), given, taxonomy)
    return Summary(
        child_id=child_id,
        generated_at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
        model=ModelRef(name="testmodell", sha256="ab" * 32),
        prompt_version="extract.v1#12345678",
        embedding_model="all-MiniLM-L6-v2",
        reports=report_refs(reports, indicators),
        indicators=indicators,
        categories=category_summaries(indicators, taxonomy),
        escalation=escalation_flags(indicators, reports, taxonomy),
        narrative=narrative,
        warnings=["1 mening(ar) utan giltig källhänvisning togs bort ur sammanfattningen"],
        notice=DECISION_NOTICE,
    )


def test_demo_gold_quotes_each_lie_in_one_passage():
    """The browser test seeds D01's gold as model output; each quote must fit a passage to be cited."""
    reports = [Report(**json.loads(line)) for line in DEMO_REPORTS.read_text(encoding="utf-8").splitlines()]
    placed = findings_by_passage(passages_of([r for r in reports if r.child_id == "D01"]), demo_gold_findings("D01"))
    assert sum(len(found) for found in placed.values()) == len(demo_gold_findings("D01")) > 20


def test_known_findings_are_verified_and_flag_strangling():
    summary = make_summary()
    assert len(summary.indicators) == len(T1_FINDINGS)
    assert all(c.verified for i in summary.indicators for c in i.citations)
    assert any("hals" in flag for flag in summary.escalation)
    report = {r.report_id: r for r in fixture_reports("T1")}
    for indicator in summary.indicators:
        citation = indicator.citations[0]
        assert report[citation.report_id].text[citation.start : citation.end] == citation.quote
