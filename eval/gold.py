"""Gold-annotated reports (the JSONL format of shared/TAXONOMY.md) as typed records.

Any annotated set can be dropped into a suite, so a bad line is reported with
the file, the line and the problem instead of surfacing later as a wrong score.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from assistant.errors import UserError
from assistant.readers import ReportFields
from assistant.schema import Category, Passage, Polarity, Report

REQUIRED_FIELDS = ("report_id", "child_id", "date", "reporter", "text", "gold")
COUNTED = (Polarity.affirmed, Polarity.hedged)


class GoldError(UserError):
    """A gold file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class GoldItem:
    quote: str
    category: Category
    polarity: Polarity
    optional: bool = False
    start: int | None = None  # text.find(quote); None when the quote is not in the text
    end: int | None = None

    @property
    def is_positive(self) -> bool:
        """Required and flagged: the items recall is measured on."""
        return not self.optional and self.polarity in COUNTED


@dataclass(frozen=True)
class GoldReport:
    report_id: str
    child_id: str
    date: dt.date
    reporter: str
    text: str
    gold: tuple[GoldItem, ...] = ()

    @property
    def positive_categories(self) -> frozenset[Category]:
        """Categories a summary must find in this report."""
        return frozenset(i.category for i in self.gold if i.is_positive)

    @property
    def neutral_categories(self) -> frozenset[Category]:
        """Categories present only as optional or negated items: finding them is neither right nor wrong."""
        return frozenset(i.category for i in self.gold) - self.positive_categories

    def labelled_passages(self, max_chars: int) -> list[tuple[Passage, set[Category]]]:
        """The report cut as ingest cuts it, each passage with the affirmed/hedged categories it overlaps."""
        from assistant.classifier import passage_labels

        report = Report(
            report_id=self.report_id, child_id=self.child_id, date=self.date, reporter=self.reporter, text=self.text
        )
        spans = [(i.start, i.end, i.category, i.polarity) for i in self.gold if i.start is not None]
        return passage_labels(report, spans, max_chars)


def make_item(
    text: str, quote: str, category: Category | str, polarity: Polarity | str, optional: bool = False
) -> GoldItem:
    """A gold item with its span located in the report text (first occurrence, as TAXONOMY.md says)."""
    at = text.find(quote) if quote else -1
    span = (at, at + len(quote)) if at >= 0 else (None, None)
    return GoldItem(quote, Category(category), Polarity(polarity), optional, *span)


def make_report(
    report_id: str,
    child_id: str,
    text: str,
    items: list[tuple] | None = None,
    date: str = "2024-01-01",
    reporter: str = "skola",
) -> GoldReport:
    """Convenience for tests and generated data: items are (quote, category, polarity[, optional])."""
    gold = tuple(make_item(text, *item) for item in items or [])
    return GoldReport(report_id, child_id, dt.date.fromisoformat(date), reporter, text, gold)


def load_gold(path: Path) -> list[GoldReport]:
    """Read one gold JSONL file; raise GoldError naming the file and line on the first problem."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise GoldError(f"{path}: cannot read gold file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise GoldError(f"{path}: gold file is not UTF-8") from None
    reports: list[GoldReport] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            reports.append(_parse_line(path, number, line))
    if not reports:
        raise GoldError(f"{path}: gold file contains no reports")
    return reports


def _parse_line(path: Path, number: int, line: str) -> GoldReport:
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise GoldError(f"{where}: expected a JSON object")
    missing = [f for f in REQUIRED_FIELDS if f not in record]
    if missing:
        raise GoldError(f"{where}: missing field(s) {', '.join(missing)}")
    if not isinstance(record["gold"], list):
        raise GoldError(f"{where}: 'gold' must be a list")
    try:  # the pipeline's own checks of report fields, so a bad report is named here, not at ingest
        fields = ReportFields.model_validate({k: record[k] for k in REQUIRED_FIELDS if k != "gold"})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors()
        )
        raise GoldError(f"{where}: {problems}") from None
    text = fields.text
    items = []
    for index, raw in enumerate(record["gold"]):
        if not isinstance(raw, dict):
            raise GoldError(f"{where}: gold[{index}] is not an object")
        try:
            optional = bool(raw.get("optional", False))
            item = make_item(text, str(raw["quote"]), raw["category"], raw["polarity"], optional)
        except KeyError as exc:
            raise GoldError(f"{where}: gold[{index}] lacks {exc}") from None
        except ValueError as exc:
            raise GoldError(f"{where}: gold[{index}]: {exc}") from None
        if item.start is None:
            raise GoldError(f"{where}: gold[{index}] quote is not a substring of text: {item.quote!r}")
        items.append(item)
    return GoldReport(fields.report_id, fields.child_id, fields.date, fields.reporter, text, tuple(items))


def load_gold_files(paths: list[Path]) -> list[GoldReport]:
    """All reports of several files; a report id may appear once over all of them."""
    reports: list[GoldReport] = []
    seen: dict[str, Path] = {}
    for path in paths:
        for report in load_gold(path):
            if report.report_id in seen:
                raise GoldError(f"{path}: report id {report.report_id} also occurs in {seen[report.report_id]}")
            seen[report.report_id] = path
            reports.append(report)
    return reports


def children_of(reports: list[GoldReport]) -> dict[str, list[GoldReport]]:
    """Reports grouped by child in date order: one child is one evaluation case."""
    grouped: dict[str, list[GoldReport]] = {}
    for report in sorted(reports, key=lambda r: (r.child_id, r.date, r.report_id)):
        grouped.setdefault(report.child_id, []).append(report)
    return grouped


def input_hash(reports: list[GoldReport]) -> str:
    """What the pipeline reads of these reports (not the gold), so a gold fix keeps cached outputs."""
    material = [[r.report_id, r.child_id, r.date.isoformat(), r.reporter, r.text] for r in reports]
    return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode("utf-8")).hexdigest()
