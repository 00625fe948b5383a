"""What the page asks of the pipeline and the feedback store, without Gradio.

One ``CaseDesk`` serves every browser session: it holds no per-session data
(that lives in each session's ``gr.State``), only the shared assistant and
feedback store, which are safe to use from several threads.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.export import BriefFormat, write_brief
from assistant.feedback import Action, FeedbackStore, ReviewedSummary, SummaryRecord, review_summary
from assistant.pipeline import Assistant, FileResult
from assistant.readers import REPORT_SUFFIXES, SIDECAR_SUFFIXES
from assistant.schema import Category, Indicator, Polarity, Report, Summary
from ui.views import CaseRow, UploadOutcome

EXPORT_TTL_S = 3600
OUTCOME_WORDS = {"added": "ny", "replaced": "ersatt (ändrad text)", "unchanged": "oförändrad (fanns redan)"}

# The readers name problems in English for the log and the CLI; the page says them in Swedish.
ERROR_TRANSLATIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^unsupported file type '(.*)' \(use (.*)\)$"), r"filtypen '\1' stöds inte (använd \2)"),
    (re.compile(r"^cannot be read: (.*)$"), r"kunde inte läsas (\1)"),
    (re.compile(r"^is empty$"), "filen är tom"),
    (re.compile(r"^is ([\d,]+) bytes, above the limit of ([\d,]+)$"), r"filen är \1 byte, över gränsen \2"),
    (re.compile(r"^looks like a binary file, not text$"), "filen ser ut att vara binär, inte text"),
    (
        re.compile(r"^mixes UTF-8 and Windows-1252 encodings.*$"),
        "filen blandar teckenkodningarna UTF-8 och Windows-1252; spara den som UTF-8",
    ),
    (re.compile(r"^is neither UTF-8 nor Windows-1252 text$"), "filen är varken UTF-8- eller Windows-1252-text"),
    (re.compile(r"^line (\d+): not valid JSON \((.*)\)$"), r"rad \1: inte giltig JSON (\2)"),
    (re.compile(r"^line (\d+): expected a JSON object$"), r"rad \1: ett JSON-objekt förväntades"),
    (re.compile(r"^contains no reports$"), "filen innehåller inga anmälningar"),
    (re.compile(r"^report id used twice in the file: (.*)$"), r"samma anmälnings-id förekommer två gånger: \1"),
    (
        re.compile(r"^has no YAML front matter.*$"),
        "metadata saknas överst i filen: ett YAML-block mellan '---'-rader med report_id, child_id, date och reporter",
    ),
    (
        re.compile(r"^needs a sidecar file (\S+) with .*$"),
        r"sidofilen \1 med report_id, child_id, date och reporter saknas; ladda upp den tillsammans med dokumentet",
    ),
    (re.compile(r"^metadata is not valid YAML \((.*)\)$"), r"metadata är inte giltig YAML (\1)"),
    (re.compile(r"^metadata must be a YAML mapping.*$"), "metadata måste vara report_id, child_id, date och reporter"),
    (re.compile(r"^is password-protected.*$"), "filen är lösenordsskyddad eller en gammal .doc; spara som .docx/.pdf"),
    (re.compile(r"^is not a \.docx file.*$"), "filen är ingen riktig .docx-fil"),
    (re.compile(r"^is a damaged \.docx file.*$"), "filen är en skadad .docx-fil"),
    (re.compile(r"^is not a PDF file$"), "filen är ingen PDF"),
    (re.compile(r"^is a damaged PDF.*$"), "filen är en skadad PDF"),
    (re.compile(r"^contains no extractable text.*$"), "filen innehåller ingen läsbar text (en inskannad bild?)"),
    (re.compile(r"^contains no text$"), "filen innehåller ingen text"),
    (
        re.compile(r"^report (\S+) already belongs to child (\S+), not (\S+); use a new report id$"),
        r"anmälan \1 hör redan till barn \2, inte \3; använd ett nytt anmälnings-id",
    ),
]


SIDECAR_PROBLEM = re.compile(r"^([^/:]+\.ya?ml): (.+)$", re.DOTALL)


def swedish_error(problem: str) -> str:
    """The reader's reason in Swedish when it is a known one; otherwise as given, behind a Swedish lead."""
    sidecar = SIDECAR_PROBLEM.match(problem)
    if sidecar:
        return f"sidofilen {sidecar[1]}: {swedish_error(sidecar[2]).removeprefix('filen ')}"
    for pattern, replacement in ERROR_TRANSLATIONS:
        if pattern.match(problem):
            return pattern.sub(replacement, problem)
    return f"filen kunde inte läsas: {problem}"


@dataclass(frozen=True)
class CaseState:
    """What one session needs to show a child: the summary, if any, and what is new since."""

    child_id: str
    summary: Summary | None
    reports: list[Report]
    unseen: int


class CaseDesk:
    def __init__(self, assistant: Assistant, feedback: FeedbackStore | None = None):
        self.assistant = assistant
        self.feedback = feedback or FeedbackStore(assistant.settings.home)
        self.export_root = Path(tempfile.mkdtemp(prefix="motesunderlag-"))

    @property
    def taxonomy(self):
        return self.assistant.taxonomy

    # --- case list -------------------------------------------------------------------

    def case_rows(self) -> list[CaseRow]:
        records = self.feedback.last_summaries()
        rows = []
        for child in self.assistant.store.children():
            record = records.get(child.child_id)
            categories: list[str] = []
            unseen = 0
            if record is not None:
                reviewed = self.review(record.summary)
                categories = [c.label for c in reviewed.categories if c.count]
                unseen = len(record.unseen_reports(self.assistant.store.reports_for(child.child_id)))
            rows.append(
                CaseRow(
                    child.child_id,
                    child.reports,
                    child.first_date,
                    child.last_date,
                    categories,
                    record.generated_at if record else None,
                    unseen,
                )
            )
        return rows

    def child_choices(self) -> list[tuple[str, str]]:
        return [
            (f"{c.child_id} ({reports_word(c.reports)}, {c.first_date} – {c.last_date})", c.child_id)
            for c in self.assistant.store.children()
        ]

    # --- one child ---------------------------------------------------------------------

    def open_case(self, child_id: str) -> CaseState:
        """The last summary of a child, at once and without the model, and how many reports are new."""
        reports = self.assistant.store.reports_for(child_id)
        record: SummaryRecord | None = self.feedback.last_summary(child_id)
        if record is None:
            return CaseState(child_id, None, reports, len(reports))
        return CaseState(child_id, record.summary, reports, len(record.unseen_reports(reports)))

    def record(self, summary: Summary) -> None:
        self.feedback.record_summary(summary, self.assistant.store.reports_for(summary.child_id))

    def review(self, summary: Summary) -> ReviewedSummary:
        return review_summary(summary, self.feedback.latest(summary.child_id), self.taxonomy)

    def report_of(self, summary_child: str, report_id: str) -> Report | None:
        """A report, only if it belongs to the child on screen (one child's data per view)."""
        report = self.assistant.store.report(report_id)
        return report if report is not None and report.child_id == summary_child else None

    def passage_of(self, report_id: str, passage_id: str):
        return next((p for p in self.assistant.store.passages_of_report(report_id) if p.passage_id == passage_id), None)

    # --- corrections ---------------------------------------------------------------------

    def correct(
        self,
        summary: Summary,
        number: int,
        action: Action | str,
        user: str,
        new_category: Category | str | None = None,
        new_polarity: Polarity | str | None = None,
        note: str = "",
    ) -> Indicator:
        indicator = indicator_number(summary, number)
        self.feedback.correct(
            summary.child_id, indicator, Action(action), user, new_category or None, new_polarity or None, note
        )
        return indicator

    # --- export --------------------------------------------------------------------------

    def export(
        self,
        summary: Summary,
        fmt: BriefFormat,
        shown: Callable[[ReviewedSummary], ReviewedSummary] | None = None,
    ) -> Path:
        """Write a brief into a folder of its own (two sessions may export the same child at once);
        briefs older than an hour are removed, since Gradio has served its own copy by then.
        ``shown`` masks what the reader may not see (protected personal data)."""
        self._prune_exports()
        out_dir = Path(tempfile.mkdtemp(dir=self.export_root))
        reviewed = self.review(summary)
        return write_brief(shown(reviewed) if shown else reviewed, self.taxonomy, fmt, out_dir)

    def _prune_exports(self) -> None:
        cutoff = time.time() - EXPORT_TTL_S
        for folder in self.export_root.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)

    # --- upload ----------------------------------------------------------------------------

    def ingest_uploads(
        self,
        uploaded: list[str],
        admit: Callable[[list[Report]], str] | None = None,
        after: Callable[[list[FileResult]], None] | None = None,
    ) -> list[UploadOutcome]:
        """Ingest uploaded files by their own names, with sidecars beside their documents.
        ``admit`` may refuse a file's reports (the uploader's access, see ``Assistant.ingest``);
        ``after`` gets the pipeline's results (the audit log and unit of new children).

        Gradio keeps each upload in its own folder; a .docx or .pdf finds its
        sidecar .yaml only in the same folder, so all are copied into one.
        """
        with tempfile.TemporaryDirectory(prefix="uppladdning-") as folder:
            staged = stage_uploads([Path(p) for p in uploaded], Path(folder))
            documents = [p for p in staged if p.suffix.lower() in REPORT_SUFFIXES]
            sidecars = [p for p in staged if p.suffix.lower() in SIDECAR_SUFFIXES]
            others = [p for p in staged if p not in documents and p not in sidecars]
            results = self.assistant.ingest(documents, admit=admit) if documents else []
            if after is not None:
                after(results)
            outcomes = [self._outcome(r, Path(folder)) for r in results]
        stems = {p.stem for p in documents}
        outcomes += [
            UploadOutcome(
                p.name, p.stem in stems, "sidofil med metadata" if p.stem in stems else "sidofil utan dokument"
            )
            for p in sidecars
        ]
        outcomes += [
            UploadOutcome(p.name, False, swedish_error(f"unsupported file type '{p.suffix}' (use {_suffixes()})"))
            for p in others
        ]
        return outcomes

    @staticmethod
    def _outcome(result: FileResult, folder: Path) -> UploadOutcome:
        name = Path(result.path).name
        if result.error:
            problem = result.error
            prefix = f"{result.path}: "
            if problem.startswith(prefix):
                problem = problem[len(prefix) :]
            return UploadOutcome(name, False, swedish_error(problem.replace(str(folder) + "/", "")))
        counts: dict[str, int] = {}
        for outcome in result.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        described = ", ".join(f"{n} {OUTCOME_WORDS.get(o, o)}" for o, n in sorted(counts.items()))
        report_ids = ", ".join(sorted(result.outcomes))
        return UploadOutcome(name, True, f"{len(result.outcomes)} anmälan/anmälningar: {described} ({report_ids})")


def reports_word(count: int) -> str:
    return f"{count} anmälan" if count == 1 else f"{count} anmälningar"


def _suffixes() -> str:
    return ", ".join(sorted(REPORT_SUFFIXES))


def stage_uploads(paths: list[Path], folder: Path) -> list[Path]:
    """Copy uploads into one folder under their own names; a repeated name gets a number."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = []
    for path in paths:
        target = folder / path.name
        counter = 2
        while target.exists():
            target = folder / f"{path.stem}-{counter}{path.suffix}"
            counter += 1
        shutil.copyfile(path, target)
        staged.append(target)
    return staged


def indicator_number(summary: Summary, number: int) -> Indicator:
    if not 1 <= number <= len(summary.indicators):
        raise IndexError(f"uppgift {number} finns inte i sammanställningen")
    return summary.indicators[number - 1]
