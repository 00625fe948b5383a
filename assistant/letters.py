"""Decision letters: a Jinja2 template filled from the case, edited by the caseworker, written as PDF and DOCX.

A letter carries who and when (the child's name, the dates, the diarienummer,
the caseworker) and never the indicators or report text: those enter a letter
only when the caseworker writes them in. Nothing is sent; the files land in
the outbox folder for the caseworker to check, sign and send.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jinja2
import yaml
from pydantic import BaseModel, ValidationError

from assistant.audit import Action, AuditLog, Outcome
from assistant.children import ChildRegistry
from assistant.errors import UserError
from assistant.export import find_font
from assistant.settings import Settings
from assistant.store import Store

Decision = Literal["inleda", "inte_inleda", ""]
DECISION_WORDS = {"inleda": "Inleda utredning", "inte_inleda": "Inte inleda utredning"}
MISSING = "[{}]"  # a blank the caseworker fills in the preview
BLANKS = ("barnets namn", "vårdnadshavare", "diarienummer", "handläggarens namn")


class LetterTemplate(BaseModel):
    template_id: str
    title: str
    file: str
    heading: str = ""  # the letter's heading line, set in bold; the title when not given
    decision: Decision = ""

    @property
    def heading_line(self) -> str:
        return self.heading or self.title


class LetterCase(BaseModel):
    """Everything a template may use; nothing from the reports but their dates."""

    child_id: str
    child_name: str
    personnummer: str = ""
    guardians: str
    diarienummer: str
    report_date: str = ""
    decision_date: str
    decision: Decision = ""
    reason: str = ""
    caseworker: str
    organisation: str


def load_templates(folder: Path) -> dict[str, LetterTemplate]:
    index = folder / "index.yaml"
    try:
        entries = yaml.safe_load(index.read_text(encoding="utf-8")) or {}
        templates = {key: LetterTemplate(template_id=key, **value) for key, value in entries.items()}
    except FileNotFoundError:
        raise UserError(f"{index}: brevmallarnas förteckning saknas") from None
    except (yaml.YAMLError, TypeError, AttributeError, ValidationError) as exc:
        raise UserError(f"{index}: förteckningen över brevmallar går inte att läsa ({exc})") from None
    for template in templates.values():
        if not (folder / template.file).is_file():
            raise UserError(f"{folder / template.file}: brevmallen {template.template_id} saknas")
    return templates


def letter_case(
    store: Store,
    children: ChildRegistry,
    child_id: str,
    caseworker: str,
    organisation: str,
    diarienummer: str = "",
    guardians: str = "",
    decision: Decision = "",
    reason: str = "",
    today: dt.date | None = None,
) -> LetterCase:
    """The case data a letter is filled from; a value not known is left as a marked blank."""
    reports = store.reports_for(child_id)
    if not reports:
        raise UserError(f"inga anmälningar finns för barn '{child_id}'")
    child = children.get(child_id)
    pnr = child.personnummer if child else ""
    return LetterCase(
        child_id=child_id,
        child_name=(child.name if child and child.name else "") or MISSING.format("barnets namn"),
        personnummer=f"{pnr[:8]}-{pnr[8:]}" if pnr else "",
        guardians=guardians.strip() or MISSING.format("vårdnadshavare"),
        diarienummer=diarienummer.strip() or MISSING.format("diarienummer"),
        report_date=max(r.date for r in reports).isoformat(),
        decision_date=(today or dt.date.today()).isoformat(),
        decision=decision,
        reason=reason.strip(),
        caseworker=caseworker.strip() or MISSING.format("handläggarens namn"),
        organisation=organisation,
    )


def render_letter(folder: Path, template: LetterTemplate, case: LetterCase) -> str:
    """The filled letter as plain text; a fixed-decision template states its own decision."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - plain-text letters; the page escapes them before showing any
        keep_trailing_newline=True,
    )
    values = case.model_dump()
    if template.decision:
        values["decision"] = template.decision
    try:
        text = environment.get_template(template.file).render(**values)
    except jinja2.TemplateError as exc:
        raise UserError(f"{folder / template.file}: brevmallen går inte att fylla i ({exc})") from None
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


@dataclass(frozen=True)
class LetterFiles:
    pdf: Path
    docx: Path


def letter_stem(template_id: str, child_id: str, moment: dt.datetime | None = None) -> str:
    moment = moment or dt.datetime.now()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", child_id) or "barn"
    return f"{template_id}-{safe}-{moment:%Y-%m-%d-%H%M%S}"


def write_letter(text: str, title: str, out_dir: Path, stem: str) -> LetterFiles:
    """The (edited) letter text as PDF and DOCX; the line equal to ``title`` is set as the heading."""
    if not text.strip():
        raise UserError("brevet är tomt")
    out_dir.mkdir(parents=True, exist_ok=True)
    return LetterFiles(
        _write_pdf(text, title, out_dir / f"{stem}.pdf"), _write_docx(text, title, out_dir / f"{stem}.docx")
    )


class LetterDesk:
    """Templates, case data, the outbox and the audit log together: what the page and tests ask of letters."""

    def __init__(self, settings: Settings, store: Store, audit: AuditLog | None = None):
        from assistant.intake import intake_folders

        self.settings = settings
        self.store = store
        self.folder = settings.letters.templates_dir
        self.templates = load_templates(self.folder)
        self.children = ChildRegistry(settings.home / "children.sqlite3")
        self.audit = audit or AuditLog(settings.audit_path)
        self.outbox = intake_folders(settings).outbox

    def template(self, template_id: str) -> LetterTemplate:
        if template_id not in self.templates:
            raise UserError(f"brevmallen '{template_id}' finns inte (finns: {', '.join(self.templates)})")
        return self.templates[template_id]

    def fill(
        self,
        child_id: str,
        template_id: str,
        caseworker: str,
        diarienummer: str = "",
        guardians: str = "",
        decision: Decision = "",
        reason: str = "",
    ) -> str:
        case = letter_case(
            self.store,
            self.children,
            child_id,
            caseworker,
            self.settings.letters.organisation,
            diarienummer,
            guardians,
            decision,
            reason,
        )
        return render_letter(self.folder, self.template(template_id), case)

    def export(self, child_id: str, template_id: str, text: str, user: str, role: str) -> LetterFiles:
        """Write the letter as the caseworker left it into the outbox, and log that it was written."""
        template = self.template(template_id)
        blanks = [MISSING.format(b) for b in BLANKS if MISSING.format(b) in text]
        if blanks:
            raise UserError(f"brevet har tomma fält: {', '.join(blanks)}; fyll i dem innan brevet sparas")
        try:
            files = write_letter(text, template.heading_line, self.outbox, letter_stem(template_id, child_id))
        except UserError:
            self.audit.record(user, role, Action.LETTER, child_id, Outcome.FAILED, template_id)
            raise
        self.audit.record(user, role, Action.LETTER, child_id, Outcome.OK, f"{template_id}: {files.pdf.stem}.pdf/.docx")
        return files


def _paragraphs(text: str) -> list[str]:
    return [block.strip("\n") for block in re.split(r"\n[ \t]*\n", text.strip())]


def _write_pdf(text: str, title: str, path: Path) -> Path:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    regular, bold, _ = find_font()
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("Orosanmälan-assistenten")
    pdf.add_font("Letter", "", str(regular))
    pdf.add_font("Letter", "B", str(bold))
    pdf.set_margins(25, 20, 25)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    for paragraph in _paragraphs(text):
        heading = paragraph.strip() == title.strip()
        pdf.set_font("Letter", "B" if heading else "", 14 if heading else 11)
        pdf.multi_cell(0, 7 if heading else 5.5, paragraph, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)
    pdf.output(str(path))
    return path


def _write_docx(text: str, title: str, path: Path) -> Path:
    from docx import Document

    document = Document()
    document.core_properties.title = title
    for paragraph in _paragraphs(text):
        if paragraph.strip() == title.strip():
            document.add_heading(paragraph.strip(), level=1)
            continue
        lines = paragraph.split("\n")
        block = document.add_paragraph(lines[0])
        for line in lines[1:]:
            run = block.add_run()
            run.add_break()
            run.add_text(line)
    document.save(str(path))
    return path
