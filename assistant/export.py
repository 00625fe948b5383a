"""The meeting brief: a reviewed summary as PDF, DOCX or Markdown, for the case file and the meeting.

The brief is built once (``build_brief``) and then laid out three ways, so
the formats cannot drift apart. It carries everything a reader needs to
check it without the tool: the decision-support notice, the timeline, every
indicator with its quote and source, the caseworkers' corrections, and the
model, prompt version and dates the summary was made with.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from assistant.errors import UserError
from assistant.feedback import Action, Correction, ReviewedIndicator, ReviewedSummary
from assistant.provenance import settings_line
from assistant.schema import Actor, Category, CategorySummary, Polarity
from assistant.taxonomy import Taxonomy

BriefFormat = Literal["pdf", "docx", "md"]
FORMATS: tuple[BriefFormat, ...] = ("pdf", "docx", "md")
NOTICE_TITLE = "Beslutsstöd, inte beslut."
FONT_CANDIDATES = (  # Unicode TrueType fonts with å, ä, ö and typographic quotes; the first found is used
    ("/usr/share/fonts/truetype/dejavu", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"),
    (
        "/usr/share/fonts/truetype/liberation",
        "LiberationSans-Regular.ttf",
        "LiberationSans-Bold.ttf",
        "LiberationSans-Italic.ttf",
    ),
    ("/usr/share/fonts/truetype/noto", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf"),
)


@dataclass(frozen=True)
class BriefItem:
    number: int
    date: dt.date
    report_id: str
    reporter: str
    category: str
    polarity: str
    actor: str
    source: str
    quote: str
    review: str = ""
    rejected: bool = False


@dataclass(frozen=True)
class BriefCategory:
    label: str
    count: int
    first_date: dt.date
    last_date: dt.date
    actors: str
    polarities: str
    items: list[BriefItem]


@dataclass(frozen=True)
class TimelineRow:
    date: dt.date
    report_id: str
    reporter: str
    categories: str


@dataclass(frozen=True)
class Brief:
    child_id: str
    title: str
    notice: str
    facts: list[tuple[str, str]]
    escalation: list[str]
    timeline: list[TimelineRow]
    narrative: str
    violence: list[BriefCategory]
    context: list[BriefCategory]
    protective: list[BriefCategory]
    rejected: list[BriefItem]
    warnings: list[str] = field(default_factory=list)


def local_time(moment: dt.datetime) -> str:
    """A timestamp as the reader's clock shows it, with the zone named."""
    local = moment.astimezone()
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip()


def describe_correction(correction: Correction, taxonomy: Taxonomy) -> str:
    """One line in Swedish: who did what to the indicator, and when."""
    who = f"{correction.user}, {local_time(correction.created_at)}"
    if correction.action == Action.confirm:
        text = f"Bekräftad av {who}"
    elif correction.action == Action.reject:
        text = f"Avvisad av {who}"
    else:
        changes = []
        if correction.new_category:
            changes.append(
                f"kategori {taxonomy.label(correction.category)} → {taxonomy.label(correction.new_category)}"
            )
        if correction.new_polarity:
            changes.append(
                f"{taxonomy.polarity_label(correction.polarity)} → {taxonomy.polarity_label(correction.new_polarity)}"
            )
        text = f"Ändrad av {who}: {'; '.join(changes)}"
    return f"{text} ({correction.note})" if correction.note else text


def polarity_counts(polarities: dict[str, int], taxonomy: Taxonomy) -> str:
    return ", ".join(f"{polarities[p.value]} {taxonomy.polarity_label(p)}" for p in Polarity if polarities.get(p.value))


def actor_names(actors: list[Actor], taxonomy: Taxonomy) -> str:
    return ", ".join(taxonomy.actor_label(a) for a in actors) or "ej angiven"


def build_brief(reviewed: ReviewedSummary, taxonomy: Taxonomy, exported_at: dt.datetime | None = None) -> Brief:
    summary = reviewed.summary
    exported_at = exported_at or dt.datetime.now(dt.UTC)
    reporters = {r.report_id: r.reporter for r in summary.reports}
    items = [_item(entry, reporters, taxonomy) for entry in reviewed.items]
    kept_by_category: dict[Category, list[BriefItem]] = {}
    for entry, item in zip(reviewed.items, items, strict=True):
        if not entry.rejected:
            kept_by_category.setdefault(entry.indicator.category, []).append(item)

    def section(codes: list[Category]) -> list[BriefCategory]:
        return [
            _category(c, kept_by_category.get(c.category, []), taxonomy)
            for c in reviewed.categories
            if c.category in codes
        ]

    protective = [Category.protective_factor]
    context = [c for c in taxonomy.context_categories if c not in protective]
    reviewed_count = len(reviewed.corrections)
    facts = [
        ("Barn", summary.child_id),
        ("Sammanställningen skapad", local_time(summary.generated_at)),
        ("Underlaget utskrivet", local_time(exported_at)),
        ("Modell", f"{summary.model.name} (sha256 {summary.model.sha256[:12]}…)"),
        ("Promptversion", summary.prompt_version),
        ("Anmälningar", str(len(summary.reports))),
        ("Granskade uppgifter", f"{reviewed_count} av {len(summary.indicators)}"),
    ]
    if summary.embedding_model:
        facts.insert(5, ("Inbäddningsmodell", summary.embedding_model))
    if summary.settings:
        facts.append(("Inställningar", settings_line(summary.settings)))
    return Brief(
        child_id=summary.child_id,
        title=f"Mötesunderlag: tidigare orosanmälningar om barn {summary.child_id}",
        notice=summary.notice or "Handläggaren läser källorna och fattar beslutet.",
        facts=facts,
        escalation=list(reviewed.escalation),
        timeline=[
            TimelineRow(r.date, r.report_id, r.reporter, ", ".join(taxonomy.label(c) for c in r.categories) or "–")
            for r in reviewed.reports
        ],
        narrative=summary.narrative,
        violence=section(taxonomy.violence_categories),
        context=section(context),
        protective=section(protective),
        rejected=[item for entry, item in zip(reviewed.items, items, strict=True) if entry.rejected],
        warnings=list(summary.warnings),
    )


def _item(entry: ReviewedIndicator, reporters: dict[str, str], taxonomy: Taxonomy) -> BriefItem:
    indicator = entry.indicator
    citation = indicator.citations[0]
    return BriefItem(
        number=entry.number,
        date=indicator.date,
        report_id=citation.report_id,
        reporter=reporters.get(citation.report_id, ""),
        category=indicator.label,
        polarity=taxonomy.polarity_label(indicator.polarity),
        actor=taxonomy.actor_label(indicator.actor) if indicator.actor != Actor.unknown else "",
        source=taxonomy.source_label(indicator.source),
        quote=citation.quote,
        review=describe_correction(entry.correction, taxonomy) if entry.correction else "",
        rejected=entry.rejected,
    )


def _category(summary: CategorySummary, items: list[BriefItem], taxonomy: Taxonomy) -> BriefCategory:
    return BriefCategory(
        label=summary.label,
        count=summary.count,
        first_date=summary.first_date,
        last_date=summary.last_date,
        actors=actor_names(summary.actors, taxonomy),
        polarities=polarity_counts(summary.polarities, taxonomy),
        items=items,
    )


def category_line(category: BriefCategory) -> str:
    if category.count:
        span = f"{category.first_date} – {category.last_date}"
        head = f"{category.count} uppgift(er), {span}"
    else:
        head = "endast uppgifter som förnekas"
    return f"{head}; utövare: {category.actors}; {category.polarities}"


def item_line(item: BriefItem) -> str:
    """The item's facts without the quote: [n] date, report, reporter, polarity, actor, source."""
    parts = [f"[{item.number}] {item.date}", f"{item.report_id} ({item.reporter})", item.polarity]
    if item.actor:
        parts.append(f"utövare: {item.actor}")
    parts.append(item.source)
    return " · ".join(parts)


def quoted(text: str) -> str:
    return f"”{text}”"


# --- Markdown -------------------------------------------------------------------------


def to_markdown(brief: Brief) -> str:
    lines = [f"# {brief.title}", "", f"> **{NOTICE_TITLE}** {brief.notice}", ""]
    lines += [f"- **{name}:** {_md(value)}" for name, value in brief.facts] + [""]
    if brief.escalation:
        lines += ["## Varningssignaler", ""] + [f"- {flag}" for flag in brief.escalation] + [""]
    lines += ["## Tidslinje", "", "| Datum | Anmälan | Anmälare | Indikatorer |", "|---|---|---|---|"]
    lines += [f"| {r.date} | {_md(r.report_id)} | {_md(r.reporter)} | {_md(r.categories)} |" for r in brief.timeline]
    lines.append("")
    if brief.narrative:
        lines += ["## Sammanfattning", "", _md(brief.narrative), ""]
    for title, categories in _sections(brief):
        lines += [f"## {title}", ""]
        if not categories:
            lines += ["Inga verifierade uppgifter.", ""]
        for category in categories:
            lines += [f"### {category.label}", "", category_line(category), ""]
            for item in category.items:
                lines.append(f"- {_md(item_line(item))}: {_md(quoted(item.quote))}")
                if item.review:
                    lines.append(f"  - *{_md(item.review)}*")
            lines.append("")
    if brief.rejected:
        lines += ["## Avvisade av handläggare", ""]
        for item in brief.rejected:
            lines.append(f"- ~~{_md(item_line(item))}: {_md(quoted(item.quote))}~~ *{_md(item.review)}*")
        lines.append("")
    if brief.warnings:
        lines += ["## Att känna till", ""] + [f"- {_md(w)}" for w in brief.warnings] + [""]
    lines += ["---", "", f"**{NOTICE_TITLE}** {brief.notice}"]
    return "\n".join(lines) + "\n"


def _sections(brief: Brief) -> list[tuple[str, list[BriefCategory]]]:
    return [
        ("Våld och konflikt", brief.violence),
        ("Övriga riskfaktorer", brief.context),
        ("Skyddsfaktorer", brief.protective),
    ]


def _md(text: str) -> str:
    """Report text must not turn into Markdown structure (tables, emphasis, links, HTML)."""
    return re.sub(r"([\\`*_\[\]|<>~])", r"\\\1", text).replace("\n", " ")


# --- PDF ------------------------------------------------------------------------------


def find_font() -> tuple[Path, Path, Path]:
    for folder, regular, bold, italic in FONT_CANDIDATES:
        paths = tuple(Path(folder) / name for name in (regular, bold, italic))
        if all(p.exists() for p in paths):
            return paths  # type: ignore[return-value]
    raise UserError(
        "Ingen Unicode-font hittades för PDF-exporten; installera Debian-paketet fonts-dejavu-core "
        "(apt-get install fonts-dejavu-core)"
    )


def write_pdf(brief: Brief, path: Path) -> Path:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    regular, bold, italic = find_font()
    notice_line = f"{NOTICE_TITLE} Handläggaren läser källorna och fattar beslutet."

    class BriefPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Brief", "I", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, f"{notice_line}   Sida {self.page_no()}/{{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = BriefPDF(format="A4")
    pdf.set_title(brief.title)
    pdf.set_creator("Orosanmälan-assistenten")
    pdf.add_font("Brief", "", str(regular))
    pdf.add_font("Brief", "B", str(bold))
    pdf.add_font("Brief", "I", str(italic))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    def text(body: str, size: float = 10, style: str = "", height: float = 5, fill: bool = False) -> None:
        pdf.set_font("Brief", style, size)
        pdf.multi_cell(0, height, body, fill=fill, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(body: str, size: float = 13) -> None:
        pdf.ln(3)
        text(body, size, "B", height=7)
        pdf.ln(1)

    text(brief.title, 16, "B", height=8)
    pdf.ln(2)
    pdf.set_fill_color(255, 243, 205)
    text(f"{NOTICE_TITLE} {brief.notice}", 10, "B", height=5.5, fill=True)
    pdf.ln(2)
    for name, value in brief.facts:
        text(f"{name}: {value}", 9, height=4.5)
    if brief.escalation:
        heading("Varningssignaler")
        pdf.set_text_color(160, 20, 20)
        for flag in brief.escalation:
            text(f"• {flag}", 10, "B")
        pdf.set_text_color(0, 0, 0)
    heading("Tidslinje")
    pdf.set_font("Brief", "", 9)
    with pdf.table(col_widths=(22, 24, 38, 96), text_align="LEFT", line_height=5) as table:
        header = table.row()
        for title in ("Datum", "Anmälan", "Anmälare", "Indikatorer"):
            header.cell(title)
        for row in brief.timeline:
            cells = table.row()
            for value in (str(row.date), row.report_id, row.reporter, row.categories):
                cells.cell(value)
    if brief.narrative:
        heading("Sammanfattning")
        text(brief.narrative, 10)
    for title, categories in _sections(brief):
        heading(title)
        if not categories:
            text("Inga verifierade uppgifter.", 10, "I")
        for category in categories:
            text(category.label, 11, "B", height=6)
            text(category_line(category), 9, "I", height=4.5)
            for item in category.items:
                pdf.ln(1)
                text(item_line(item), 9, "B", height=4.5)
                text(quoted(item.quote), 10, height=5)
                if item.review:
                    text(item.review, 9, "I", height=4.5)
            pdf.ln(2)
    if brief.rejected:
        heading("Avvisade av handläggare")
        pdf.set_text_color(110, 110, 110)
        for item in brief.rejected:
            text(item_line(item), 9, "B", height=4.5)
            text(quoted(item.quote), 10, height=5)
            text(item.review, 9, "I", height=4.5)
            pdf.ln(1)
        pdf.set_text_color(0, 0, 0)
    if brief.warnings:
        heading("Att känna till")
        for warning in brief.warnings:
            text(f"• {warning}", 9, height=4.5)
    pdf.ln(4)
    text(f"{NOTICE_TITLE} {brief.notice}", 10, "B", height=5.5, fill=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


# --- DOCX -----------------------------------------------------------------------------


def write_docx(brief: Brief, path: Path) -> Path:
    from docx import Document
    from docx.shared import Pt, RGBColor

    document = Document()
    document.core_properties.title = brief.title
    document.add_heading(brief.title, level=1)
    notice = document.add_paragraph()
    notice.add_run(f"{NOTICE_TITLE} ").bold = True
    notice.add_run(brief.notice)
    for name, value in brief.facts:
        fact = document.add_paragraph(style="List Bullet")
        fact.add_run(f"{name}: ").bold = True
        fact.add_run(value)
    if brief.escalation:
        document.add_heading("Varningssignaler", level=2)
        for flag in brief.escalation:
            run = document.add_paragraph(style="List Bullet").add_run(flag)
            run.bold = True
            run.font.color.rgb = RGBColor(0xA0, 0x14, 0x14)
    document.add_heading("Tidslinje", level=2)
    table = document.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, ("Datum", "Anmälan", "Anmälare", "Indikatorer"), strict=True):
        cell.text = title
    for row in brief.timeline:
        cells = table.add_row().cells
        for cell, value in zip(cells, (str(row.date), row.report_id, row.reporter, row.categories), strict=True):
            cell.text = value
    if brief.narrative:
        document.add_heading("Sammanfattning", level=2)
        document.add_paragraph(brief.narrative)
    for title, categories in _sections(brief):
        document.add_heading(title, level=2)
        if not categories:
            document.add_paragraph("Inga verifierade uppgifter.")
        for category in categories:
            document.add_heading(category.label, level=3)
            document.add_paragraph(category_line(category)).runs[0].italic = True
            for item in category.items:
                entry = document.add_paragraph(style="List Bullet")
                entry.add_run(item_line(item) + ": ").bold = True
                entry.add_run(quoted(item.quote))
                if item.review:
                    entry.add_run(f" ({item.review})").italic = True
    if brief.rejected:
        document.add_heading("Avvisade av handläggare", level=2)
        for item in brief.rejected:
            entry = document.add_paragraph(style="List Bullet")
            struck = entry.add_run(f"{item_line(item)}: {quoted(item.quote)}")
            struck.font.strike = True
            entry.add_run(f" ({item.review})").italic = True
    if brief.warnings:
        document.add_heading("Att känna till", level=2)
        for warning in brief.warnings:
            document.add_paragraph(warning, style="List Bullet")
    closing = document.add_paragraph()
    closing.add_run(f"{NOTICE_TITLE} {brief.notice}").bold = True
    footer = document.sections[0].footer.paragraphs[0]
    footer.text = f"{NOTICE_TITLE} Handläggaren läser källorna och fattar beslutet."
    footer.runs[0].font.size = Pt(8)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


# --- one entry point ------------------------------------------------------------------


def brief_filename(child_id: str, fmt: BriefFormat, day: dt.date | None = None) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", child_id) or "barn"
    return f"motesunderlag-{safe}-{(day or dt.date.today()).isoformat()}.{fmt}"


def write_brief(reviewed: ReviewedSummary, taxonomy: Taxonomy, fmt: BriefFormat, out_dir: Path) -> Path:
    """Write the brief in one format into ``out_dir``; returns the file written."""
    if fmt not in FORMATS:
        raise UserError(f"okänt format '{fmt}' (välj {', '.join(FORMATS)})")
    brief = build_brief(reviewed, taxonomy)
    path = out_dir / brief_filename(brief.child_id, fmt)
    if fmt == "pdf":
        return write_pdf(brief, path)
    if fmt == "docx":
        return write_docx(brief, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(brief), encoding="utf-8")
    return path
