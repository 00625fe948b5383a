"""Caseworkers' corrections of indicators and the history of summaries, kept beside the reports.

A correction confirms, rejects or changes (category, polarity) one indicator as
the caseworker saw it. Corrections are never applied to the pipeline's output
in place: they are laid over a summary when it is shown or exported
(``review_summary``), so the model's own finding stays visible next to the
human's. They are stored with who and when, and can be exported as gold
annotations (the JSONL format of shared/TAXONOMY.md) to measure and improve
the extractor.

The store is its own SQLite file (``<home>/feedback.sqlite3``) with its own
connection, so it never contends with the pipeline's transactions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel

from assistant.errors import UserError
from assistant.schema import Category, CategorySummary, Indicator, Polarity, Report, ReportRef, Summary
from assistant.store import Store, sha256_text
from assistant.summary import category_summaries, escalation_flags, report_refs
from assistant.taxonomy import Taxonomy

FEEDBACK_DB = "feedback.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_key TEXT NOT NULL,
    child_id TEXT NOT NULL,
    report_id TEXT NOT NULL,
    passage_id TEXT NOT NULL,
    quote TEXT NOT NULL,
    start INTEGER,
    end INTEGER,
    category TEXT NOT NULL,
    polarity TEXT NOT NULL,
    action TEXT NOT NULL,
    new_category TEXT,
    new_polarity TEXT,
    note TEXT NOT NULL DEFAULT '',
    user TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_child ON corrections (child_id, indicator_key, id);
CREATE TABLE IF NOT EXISTS summary_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    child_id TEXT NOT NULL,
    generated_at TEXT NOT NULL,
    report_versions TEXT NOT NULL,
    categories TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    summary_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS summary_history_child ON summary_history (child_id, id);
"""


class Action(StrEnum):
    confirm = "confirm"
    reject = "reject"
    change = "change"


ACTION_LABELS = {Action.confirm: "bekräftad", Action.reject: "avvisad", Action.change: "ändrad"}


class Correction(BaseModel):
    """One caseworker's verdict on one indicator; the latest verdict per indicator counts."""

    indicator_key: str
    child_id: str
    report_id: str
    passage_id: str
    quote: str
    start: int | None = None
    end: int | None = None
    category: Category  # as the pipeline found it
    polarity: Polarity
    action: Action
    new_category: Category | None = None
    new_polarity: Polarity | None = None
    note: str = ""
    user: str
    created_at: dt.datetime

    @property
    def final_category(self) -> Category:
        return self.new_category or self.category

    @property
    def final_polarity(self) -> Polarity:
        return self.new_polarity or self.polarity


class SummaryRecord(BaseModel):
    """What the last summary of a child covered, to show it again at once and to notice new reports."""

    child_id: str
    generated_at: dt.datetime
    report_versions: dict[str, str]  # report_id -> sha256 of the text the summary read
    categories: list[Category]
    model: str
    prompt_version: str
    summary_json: str

    @property
    def summary(self) -> Summary:
        return Summary.model_validate_json(self.summary_json)

    def unseen_reports(self, reports: list[Report]) -> list[str]:
        """Report ids added or changed since this summary was made."""
        return [r.report_id for r in reports if self.report_versions.get(r.report_id) != sha256_text(r.text)]


def indicator_key(indicator: Indicator) -> str:
    """Names exactly the finding the caseworker saw: passage, category, polarity and quote.

    A later run that finds something different (another quote, another
    category) is a different finding and is not silently covered by an old verdict.
    """
    citation = indicator.citations[0]
    digest = hashlib.sha256(citation.quote.encode("utf-8")).hexdigest()[:10]
    return f"{citation.passage_id}|{indicator.category.value}|{indicator.polarity.value}|{digest}"


class FeedbackStore:
    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        self.path = home / FEEDBACK_DB
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- corrections ------------------------------------------------------------

    def correct(
        self,
        child_id: str,
        indicator: Indicator,
        action: Action,
        user: str,
        new_category: Category | None = None,
        new_polarity: Polarity | None = None,
        note: str = "",
    ) -> Correction:
        """Store one verdict. A change must change something; every verdict names its author."""
        user = user.strip()
        if not user:
            raise UserError("Skriv ditt namn innan du rättar en uppgift.")
        action = Action(action)
        new_category = Category(new_category) if new_category else None
        new_polarity = Polarity(new_polarity) if new_polarity else None
        if action == Action.change:
            new_category = new_category if new_category and new_category != indicator.category else None
            new_polarity = new_polarity if new_polarity and new_polarity != indicator.polarity else None
            if new_category is None and new_polarity is None:
                raise UserError("Välj en ny kategori eller polaritet som skiljer sig från den nuvarande.")
        else:
            new_category = new_polarity = None
        citation = indicator.citations[0]
        correction = Correction(
            indicator_key=indicator_key(indicator),
            child_id=child_id,
            report_id=citation.report_id,
            passage_id=citation.passage_id,
            quote=citation.quote,
            start=citation.start,
            end=citation.end,
            category=indicator.category,
            polarity=indicator.polarity,
            action=action,
            new_category=new_category,
            new_polarity=new_polarity,
            note=note.strip(),
            user=user,
            created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO corrections (indicator_key, child_id, report_id, passage_id, quote, start, end, "
                "category, polarity, action, new_category, new_polarity, note, user, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    correction.indicator_key,
                    child_id,
                    correction.report_id,
                    correction.passage_id,
                    correction.quote,
                    correction.start,
                    correction.end,
                    correction.category.value,
                    correction.polarity.value,
                    action.value,
                    new_category.value if new_category else None,
                    new_polarity.value if new_polarity else None,
                    correction.note,
                    user,
                    correction.created_at.isoformat(),
                ),
            )
        return correction

    def history(self, child_id: str | None = None) -> list[Correction]:
        """Every verdict in the order given (an audit trail: nothing is overwritten)."""
        where, params = ("WHERE child_id = ?", (child_id,)) if child_id else ("", ())
        return [_correction(r) for r in self._rows(f"SELECT * FROM corrections {where} ORDER BY id", params)]  # noqa: S608 - fixed SQL

    def latest(self, child_id: str | None = None) -> dict[str, Correction]:
        """The verdict that counts for each indicator: the latest one."""
        return {c.indicator_key: c for c in self.history(child_id)}

    # --- summary history --------------------------------------------------------

    def record_summary(self, summary: Summary, reports: list[Report]) -> SummaryRecord:
        covered = {ref.report_id for ref in summary.reports}
        record = SummaryRecord(
            child_id=summary.child_id,
            generated_at=summary.generated_at,
            report_versions={r.report_id: sha256_text(r.text) for r in reports if r.report_id in covered},
            categories=[c.category for c in summary.categories if c.count],
            model=summary.model.name,
            prompt_version=summary.prompt_version,
            summary_json=summary.model_dump_json(),
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO summary_history (child_id, generated_at, report_versions, categories, model, "
                "prompt_version, summary_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.child_id,
                    record.generated_at.isoformat(),
                    json.dumps(record.report_versions, ensure_ascii=False),
                    json.dumps([c.value for c in record.categories]),
                    record.model,
                    record.prompt_version,
                    record.summary_json,
                ),
            )
        return record

    def last_summary(self, child_id: str) -> SummaryRecord | None:
        rows = self._rows("SELECT * FROM summary_history WHERE child_id = ? ORDER BY id DESC LIMIT 1", (child_id,))
        return _record(rows[0]) if rows else None

    def last_summaries(self) -> dict[str, SummaryRecord]:
        rows = self._rows(
            "SELECT * FROM summary_history WHERE id IN (SELECT MAX(id) FROM summary_history GROUP BY child_id)"
        )
        return {r["child_id"]: _record(r) for r in rows}


def _correction(row: sqlite3.Row) -> Correction:
    return Correction(
        indicator_key=row["indicator_key"],
        child_id=row["child_id"],
        report_id=row["report_id"],
        passage_id=row["passage_id"],
        quote=row["quote"],
        start=row["start"],
        end=row["end"],
        category=Category(row["category"]),
        polarity=Polarity(row["polarity"]),
        action=Action(row["action"]),
        new_category=Category(row["new_category"]) if row["new_category"] else None,
        new_polarity=Polarity(row["new_polarity"]) if row["new_polarity"] else None,
        note=row["note"],
        user=row["user"],
        created_at=dt.datetime.fromisoformat(row["created_at"]),
    )


def _record(row: sqlite3.Row) -> SummaryRecord:
    return SummaryRecord(
        child_id=row["child_id"],
        generated_at=dt.datetime.fromisoformat(row["generated_at"]),
        report_versions=json.loads(row["report_versions"]),
        categories=[Category(c) for c in json.loads(row["categories"])],
        model=row["model"],
        prompt_version=row["prompt_version"],
        summary_json=row["summary_json"],
    )


# --- corrections laid over a summary ----------------------------------------------


@dataclass(frozen=True)
class ReviewedIndicator:
    """An indicator as shown: ``indicator`` carries the corrected category and polarity,
    ``original`` what the pipeline found; ``number`` is its citation number in the summary."""

    number: int
    indicator: Indicator
    original: Indicator
    correction: Correction | None = None

    @property
    def status(self) -> str:
        return self.correction.action.value if self.correction else "unreviewed"

    @property
    def rejected(self) -> bool:
        return self.correction is not None and self.correction.action == Action.reject


@dataclass(frozen=True)
class ReviewedSummary:
    """A summary with the caseworkers' verdicts applied; counts, escalation and the timeline
    are recomputed from the indicators that were not rejected."""

    summary: Summary
    items: list[ReviewedIndicator]
    categories: list[CategorySummary]
    escalation: list[str]
    reports: list[ReportRef]

    @property
    def kept(self) -> list[ReviewedIndicator]:
        return [item for item in self.items if not item.rejected]

    @property
    def corrections(self) -> list[Correction]:
        return [item.correction for item in self.items if item.correction]


def review_summary(summary: Summary, corrections: dict[str, Correction], taxonomy: Taxonomy) -> ReviewedSummary:
    """Apply the latest verdicts to a summary; with none, the pipeline's own figures are kept as they are."""
    items: list[ReviewedIndicator] = []
    for number, original in enumerate(summary.indicators, start=1):
        correction = corrections.get(indicator_key(original))
        shown = original
        if correction and correction.action == Action.change:
            category, polarity = correction.final_category, correction.final_polarity
            shown = original.model_copy(
                update={
                    "category": category,
                    "label": taxonomy.label(category),
                    "polarity": polarity,
                    "description": f"{taxonomy.label(category)}; {taxonomy.polarity_label(polarity)}",
                }
            )
        items.append(ReviewedIndicator(number, shown, original, correction))
    if not any(item.correction for item in items):
        return ReviewedSummary(summary, items, summary.categories, summary.escalation, summary.reports)
    kept = [item.indicator for item in items if not item.rejected]
    reports = [
        Report(report_id=r.report_id, child_id=summary.child_id, date=r.date, reporter=r.reporter, text="-")
        for r in summary.reports
    ]
    return ReviewedSummary(
        summary,
        items,
        category_summaries(kept, taxonomy),
        escalation_flags(kept, reports, taxonomy),
        report_refs(reports, kept),
    )


# --- export as gold annotations ---------------------------------------------------


@dataclass(frozen=True)
class FeedbackExport:
    reports: int
    items: int
    rejected: int
    skipped: list[str]  # report ids no longer in the store, or quotes no longer in their text
    children: list[str] = field(default_factory=list)  # whose reports were written


def export_feedback(home: Path, out_path: Path, include: Callable[[str], bool] | None = None) -> FeedbackExport:
    """Write the caseworkers' verdicts as gold JSONL (shared/TAXONOMY.md), one line per reviewed report.

    ``gold`` holds the confirmed and changed indicators with the human's
    category and polarity; rejected ones go to ``rejected`` (a key the gold
    reader ignores) as known false alarms. Only reviewed indicators appear,
    so a line is partial gold: good for measuring precision, not recall.
    ``include`` says which children's reports may be written (the reader's access).
    """
    feedback_path = home / FEEDBACK_DB
    verdicts = FeedbackStore(home).latest() if feedback_path.exists() else {}
    by_report: dict[str, list[Correction]] = {}
    for correction in verdicts.values():
        by_report.setdefault(correction.report_id, []).append(correction)
    store = Store(_db_path(home))
    lines: list[str] = []
    items = rejected = 0
    skipped: list[str] = []
    try:
        for report_id in sorted(by_report):
            report = store.report(report_id)
            if report is None:
                skipped.append(report_id)
                continue
            if include is not None and not include(report.child_id):
                continue
            gold, false_alarms = [], []
            for correction in sorted(by_report[report_id], key=lambda c: (c.start or 0, c.indicator_key)):
                quote = _exact_quote(report.text, correction)
                if quote is None:
                    skipped.append(f"{report_id}: {correction.quote}")
                    continue
                item = {
                    "quote": quote,
                    "category": correction.final_category.value,
                    "polarity": correction.final_polarity.value,
                    "optional": False,
                }
                if correction.action == Action.reject:
                    false_alarms.append({**item, "user": correction.user, "at": correction.created_at.isoformat()})
                else:
                    gold.append(item)
            if not gold and not false_alarms:
                continue
            items += len(gold)
            rejected += len(false_alarms)
            lines.append(
                json.dumps(
                    {
                        "report_id": report.report_id,
                        "child_id": report.child_id,
                        "date": report.date.isoformat(),
                        "reporter": report.reporter,
                        "text": report.text,
                        "gold": gold,
                        "rejected": false_alarms,
                        "reviewed_by": sorted({c.user for c in by_report[report_id]}),
                    },
                    ensure_ascii=False,
                )
            )
    finally:
        store.close()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    children = sorted({json.loads(line)["child_id"] for line in lines})
    return FeedbackExport(len(lines), items, rejected, skipped, children)


def _db_path(home: Path) -> Path:
    from assistant.settings import Settings

    return Settings(home=home).db_path


def _exact_quote(text: str, correction: Correction) -> str | None:
    """The quote as an exact substring of the report (gold requires it); None if the text has changed."""
    start, end = correction.start, correction.end
    if start is not None and end is not None and text[start:end] == correction.quote:
        return correction.quote
    return correction.quote if correction.quote and correction.quote in text else None


# --- command line: assistant feedback export --out FILE ----------------------------

feedback_app = typer.Typer(no_args_is_help=True, help="Handläggarnas rättelser: export som guldannoteringar.")


@feedback_app.callback()
def feedback_group() -> None:
    """Caseworkers' corrections (a group, so that 'export' stays a subcommand when more are added)."""


@feedback_app.command("export")
def export_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write (gold format of TAXONOMY.md)")],
    home: Annotated[Path | None, typer.Option("--home", help="Home folder (default: the main --home)")] = None,
) -> None:
    """Export confirmed, changed and rejected indicators as gold JSONL."""
    from assistant.access import AccessPolicy
    from assistant.audit import Action as Audit
    from assistant.settings import load_settings

    home = home or ctx.find_root().params.get("home") or _default_home()
    policy = AccessPolicy.for_settings(load_settings(home=Path(home)))
    user = policy.cli_user(ctx.find_root().params.get("user"))
    result = export_feedback(Path(home), out, include=lambda child_id: policy.can_view(user, child_id))
    for child_id in result.children:
        policy.record(user, Audit.EXPORT, child_id, detail="feedback jsonl")
    typer.echo(
        f"{result.reports} anmälningar, {result.items} bekräftade/ändrade och {result.rejected} avvisade "
        f"uppgifter skrevs till {out}"
    )
    for item in result.skipped:
        typer.echo(f"Hoppade över (anmälan saknas eller texten har ändrats): {item}", err=True)


def _default_home() -> Path:
    from assistant.settings import load_settings

    return load_settings().home
