"""HTML for the page, as pure functions of typed data: easy to test without a browser.

Everything that comes from a report (text, ids, reporter) or from a person
(names, notes) goes through ``esc`` before it is placed in markup; the page
must never run or render what a report contains. Clickable parts carry
``data-*`` attributes that the page's small scripts turn into Gradio events.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.export import actor_names, describe_correction, local_time, polarity_counts
from assistant.feedback import Action, ReviewedIndicator, ReviewedSummary
from assistant.schema import Category, CategorySummary, Citation, Passage, Polarity, Report, ReportRef
from assistant.taxonomy import Taxonomy

NOTICE_TITLE = "Beslutsstöd, inte beslut."
NOTICE_TEXT = (
    "Verktyget sammanställer vad tidigare anmälningar säger och visar källan till varje uppgift. "
    "Det gör ingen bedömning. Du som handläggare läser källorna och fattar beslutet."
)
REVIEW_LABELS = {Action.confirm: "Bekräfta", Action.reject: "Avvisa"}
GROUP_TITLES = {"violence": "Våld och konflikt", "context": "Övriga riskfaktorer", "protective": "Skyddsfaktorer"}
GROUP_COLOURS = {"violence": "#b3261e", "context": "#6750a4", "protective": "#2e7d32"}
_CITE = re.compile(r"\[(\d+)\]")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def text_html(text: str) -> str:
    """Report text as HTML: escaped, line breaks kept."""
    return esc(text).replace("\n", "<br>")


def notice_html() -> str:
    return f'<div class="notice" role="note"><strong>{NOTICE_TITLE}</strong> {NOTICE_TEXT}</div>'


def message_html(text: str, kind: str = "info") -> str:
    """A short status line; ``kind`` is info, ok or error."""
    return f'<div class="msg msg-{esc(kind)}" role="status">{esc(text)}</div>'


# --- case list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    child_id: str
    reports: int
    first_date: dt.date
    last_date: dt.date
    categories: list[str] = field(default_factory=list)  # labels from the last summary, corrections applied
    summarized_at: dt.datetime | None = None
    unseen: int = 0  # reports added or changed since the last summary
    new: int = 0  # reports registered from the intake inbox lately (intake.new_days)

    @property
    def status(self) -> str:
        if self.summarized_at is None:
            return "Ingen sammanställning ännu"
        if self.unseen:
            return f"{self.unseen} ny(a) anmälan/anmälningar sedan senaste sammanställningen"
        return "Sammanställningen är aktuell"


def filter_rows(rows: list[CaseRow], query: str) -> list[CaseRow]:
    query = query.strip().casefold()
    return [r for r in rows if query in r.child_id.casefold()] if query else rows


def case_list_html(rows: list[CaseRow], query: str = "") -> str:
    shown = filter_rows(rows, query)
    if not rows:
        return message_html("Inga anmälningar har lagts in ännu. Lägg till anmälningar nedan.")
    if not shown:
        return message_html(f"Inget ärende-id innehåller ”{query.strip()}”.")
    body = []
    for row in shown:
        categories = ", ".join(row.categories) if row.categories else ("–" if row.summarized_at else "")
        summarized = local_time(row.summarized_at) if row.summarized_at else ""
        status_class = "fresh" if row.summarized_at and not row.unseen else ("stale" if row.unseen else "none")
        body.append(
            f'<tr data-child="{esc(row.child_id)}">'
            f'<td><button type="button" class="link" data-child="{esc(row.child_id)}" '
            f'aria-label="Öppna ärende {esc(row.child_id)}">{esc(row.child_id)}</button>{new_badge(row.new)}</td>'
            f"<td>{row.reports}</td><td>{row.first_date}</td><td>{row.last_date}</td>"
            f"<td>{esc(categories)}</td><td>{esc(summarized)}</td>"
            f'<td class="case-status {status_class}">{esc(row.status)}</td></tr>'
        )
    return (
        '<table class="case-list"><thead><tr><th>Barn</th><th>Anmälningar</th><th>Första</th><th>Senaste</th>'
        "<th>Kategorier (senaste sammanställning)</th><th>Sammanställd</th><th>Status</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
        f'<p class="hint">{len(shown)} av {len(rows)} barn. Klicka på ett id för att öppna ärendet.</p>'
    )


def new_badge(count: int) -> str:
    if not count:
        return ""
    return f' <span class="badge-new" title="{count} anmälan/anmälningar registrerade från inkorgen nyligen">ny</span>'


# --- progress while a summary is made ---------------------------------------------------


STEP_LABELS = {"extract": "Läser passagerna", "narrative": "Skriver sammanfattningen"}


def progress_html(child_id: str, step: str, done: int, total: int, narrative: str = "") -> str:
    label = STEP_LABELS.get(step, step)
    bar = (
        f'<progress value="{done}" max="{total}"></progress> <span>{label}: {done} av {total} passager</span>'
        if total and step == "extract"
        else f"<progress></progress> <span>{esc(label)} …</span>"
    )
    streamed = f'<div class="streaming"><h4>Sammanfattning (skrivs nu)</h4><p>{text_html(narrative)}</p></div>'
    return (
        f'<div class="case-view working"><h2>Sammanställning inför möte: barn {esc(child_id)}</h2>'
        f"{notice_html()}"
        f'<div class="progress" role="progressbar" aria-label="{esc(label)}">{bar}</div>'
        f"{streamed if narrative else ''}</div>"
    )


# --- the case view ------------------------------------------------------------------------


def case_view_html(
    reviewed: ReviewedSummary, taxonomy: Taxonomy, unseen: int = 0, new_reports: frozenset[str] = frozenset()
) -> str:
    summary = reviewed.summary
    count = len(summary.indicators)
    dates = [r.date for r in summary.reports]
    span = f"{min(dates)} – {max(dates)}" if dates else ""
    unseen_note = (
        f'<p class="unseen" role="alert">{unseen} anmälan/anmälningar har kommit till eller ändrats sedan '
        "sammanställningen gjordes. Klicka på Sammanställ för att ta med dem.</p>"
        if unseen
        else ""
    )
    reviewed_count = len(reviewed.corrections)
    head = (
        f'<div class="case-head"><h2>Sammanställning inför möte: barn {esc(summary.child_id)}</h2>'
        f"<p>{len(summary.reports)} anmälningar {esc(span)} · {count} verifierade uppgifter"
        f"{f' · {reviewed_count} granskade av handläggare' if reviewed_count else ''}</p>"
        f'<p class="meta">Sammanställd {esc(local_time(summary.generated_at))} · modell {esc(summary.model.name)} '
        f"(sha256 {esc(summary.model.sha256[:12])}…) · prompt {esc(summary.prompt_version)}</p>{unseen_note}</div>"
    )
    parts = [f'<div class="case-view">{notice_html()}{head}']
    if reviewed.escalation:
        flags = "".join(f"<li>{esc(flag)}</li>" for flag in reviewed.escalation)
        parts.append(f'<section class="escalation"><h3>Varningssignaler</h3><ul>{flags}</ul></section>')
    parts.append(
        '<section class="timeline"><h3>Tidslinje</h3>'
        f"{timeline_svg(reviewed.reports, taxonomy, new_reports=new_reports)}"
        '<p class="hint">Varje anmälan är en punkt; klicka på den för att läsa anmälan. '
        "Raderna visar vilka kategorier som hittades i den.</p></section>"
    )
    if summary.narrative:
        parts.append(
            '<section class="narrative"><h3>Sammanfattning</h3>'
            f"<p>{narrative_html(summary.narrative, count)}</p>"
            '<p class="hint">Siffrorna hänvisar till uppgifterna nedan; klicka för att se källan.</p></section>'
        )
    stats = {c.category: c for c in reviewed.categories}
    for group, codes in category_groups(taxonomy).items():
        items_by_category = {
            code: [i for i in reviewed.items if i.indicator.category == code]
            for code in codes
            if any(i.indicator.category == code for i in reviewed.items)
        }
        blocks = [category_html(code, stats.get(code), items, taxonomy) for code, items in items_by_category.items()]
        empty = '<p class="empty">Inga verifierade uppgifter.</p>'
        parts.append(
            f'<section class="group group-{group}"><h3>{GROUP_TITLES[group]}</h3>{"".join(blocks) or empty}</section>'
        )
    if summary.warnings:
        warnings = "".join(f"<li>{esc(w)}</li>" for w in summary.warnings)
        parts.append(f'<section class="warnings"><h3>Att känna till</h3><ul>{warnings}</ul></section>')
    parts.append(f"{notice_html()}</div>")
    return "".join(parts)


def empty_case_html(child_id: str, reports: list[Report], new_reports: frozenset[str] = frozenset()) -> str:
    """A child before the first summary: the reports are listed, nothing is claimed."""
    rows = "".join(
        f'<li><button type="button" class="link" data-report="{esc(r.report_id)}">{esc(r.report_id)}</button> '
        f"{r.date} · {esc(r.reporter)}{new_badge(int(r.report_id in new_reports))}</li>"
        for r in reports
    )
    return (
        f'<div class="case-view"><h2>Barn {esc(child_id)}</h2>{notice_html()}'
        f'<p class="empty">Ingen sammanställning ännu. Klicka på <strong>Sammanställ</strong>.</p>'
        f"<h3>Anmälningar ({len(reports)})</h3><ul>{rows}</ul></div>"
    )


def category_groups(taxonomy: Taxonomy) -> dict[str, list[Category]]:
    """Violence first, then the other risk factors, protective factors apart."""
    return {
        "violence": list(taxonomy.violence_categories),
        "context": [c for c in taxonomy.context_categories if c != Category.protective_factor],
        "protective": [Category.protective_factor],
    }


def category_html(
    code: Category, stats: CategorySummary | None, items: list[ReviewedIndicator], taxonomy: Taxonomy
) -> str:
    if stats is None:
        facts = "alla uppgifter avvisade av handläggare"
    elif stats.count:
        facts = (
            f"{stats.count} uppgift(er) · {stats.first_date} – {stats.last_date} · "
            f"utövare: {actor_names(stats.actors, taxonomy)} · {polarity_counts(stats.polarities, taxonomy)}"
        )
    else:
        facts = f"endast uppgifter som förnekas · {polarity_counts(stats.polarities, taxonomy)}"
    entries = "".join(item_html(item, taxonomy) for item in items)
    return (
        f'<details class="category" open data-category="{esc(code.value)}">'
        f'<summary><strong>{esc(taxonomy.label(code))}</strong> <span class="facts">{esc(facts)}</span></summary>'
        f'<ol class="items">{entries}</ol></details>'
    )


def polarity_badge(polarity: Polarity, taxonomy: Taxonomy) -> str:
    return f'<span class="pol pol-{polarity.value}">{esc(taxonomy.polarity_label(polarity))}</span>'


def item_html(item: ReviewedIndicator, taxonomy: Taxonomy) -> str:
    indicator = item.indicator
    citation = indicator.citations[0]
    facts = [f"{indicator.date}", esc(citation.report_id), polarity_badge(indicator.polarity, taxonomy)]
    if indicator.actor.value != "unknown":
        facts.append(f"utövare: {esc(taxonomy.actor_label(indicator.actor))}")
    facts.append(f"källa: {esc(taxonomy.source_label(indicator.source))}")
    quote = f"”{esc(citation.quote)}”"
    if item.rejected:
        quote = f"<del>{quote}</del>"
    note = (
        f'<div class="review-note review-{item.status}">{esc(describe_correction(item.correction, taxonomy))}</div>'
        if item.correction
        else ""
    )
    number = item.number
    actions = "".join(
        f'<button type="button" class="review" data-review="{action.value}" data-number="{number}">{label}</button>'
        for action, label in REVIEW_LABELS.items()
        if not (item.correction and item.correction.action == action)
    )
    actions += f'<button type="button" class="review" data-review="edit" data-number="{number}">Ändra …</button>'
    return (
        f'<li class="item status-{item.status}" id="item-{number}" value="{number}">'
        f'<div class="item-head"><span class="num">[{number}]</span> {" · ".join(facts)}</div>'
        f'<button type="button" class="cite quote" data-cite="{number}" '
        f'title="Visa källan" aria-label="Visa källan till uppgift {number}">{quote}</button>'
        f'{note}<div class="review-actions">{actions}</div></li>'
    )


def narrative_html(narrative: str, count: int) -> str:
    """The narrative escaped, each valid [n] a button that opens that citation's source."""

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 1 <= number <= count:
            return match.group(0)
        return (
            f'<button type="button" class="cite ref" data-cite="{number}" '
            f'aria-label="Källhänvisning {number}">[{number}]</button>'
        )

    return _CITE.sub(link, esc(narrative))


# --- timeline -----------------------------------------------------------------------------


def timeline_svg(
    reports: list[ReportRef], taxonomy: Taxonomy, width: int = 640, new_reports: frozenset[str] = frozenset()
) -> str:
    """Reports over time (top row) and, below, one row per category marking the reports it was found in;
    reports registered from the inbox lately are ringed and titled "ny"."""
    if not reports:
        return '<p class="empty">Inga anmälningar.</p>'
    groups = category_groups(taxonomy)
    group_of = {code: group for group, codes in groups.items() for code in codes}
    present = [c for c in taxonomy.categories if any(c in r.categories for r in reports)]
    label_width, right, top, lane, axis = 180, 36, 14, 24, 30
    height = top + lane * (1 + len(present)) + axis
    first, last = min(r.date for r in reports), max(r.date for r in reports)
    days = max((last - first).days, 1)
    plot = width - label_width - right

    def x(day: dt.date) -> float:
        if first == last:
            return label_width + plot / 2
        return label_width + plot * (day - first).days / days

    out = [
        f'<svg class="timeline-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Tidslinje: {len(reports)} anmälningar {first} – {last}" xmlns="http://www.w3.org/2000/svg">'
    ]
    lanes = ["Anmälningar", *(taxonomy.label(c) for c in present)]
    for index, name in enumerate(lanes):
        y = top + lane * index + lane / 2
        out.append(f'<line x1="{label_width}" x2="{width - right}" y1="{y}" y2="{y}" class="lane"/>')
        out.append(f'<text x="{label_width - 8}" y="{y + 4}" text-anchor="end" class="lane-label">{esc(name)}</text>')
    bottom = top + lane * len(lanes)
    for year in range(first.year, last.year + 2):
        tick = dt.date(year, 1, 1)
        if first <= tick <= last or (first == last and year == first.year):
            tx = x(tick) if first != last else x(first)
            out.append(f'<line x1="{tx}" x2="{tx}" y1="{top}" y2="{bottom}" class="tick"/>')
            out.append(f'<text x="{tx}" y="{bottom + 16}" text-anchor="middle" class="year">{year}</text>')
    out.append(f'<text x="{label_width}" y="{bottom + 28}" class="date">{first}</text>')
    if first != last:
        out.append(f'<text x="{width - right}" y="{bottom + 28}" text-anchor="end" class="date">{last}</text>')
    for report in reports:
        rx = x(report.date)
        found = ", ".join(taxonomy.label(c) for c in report.categories) or "inga kategorier"
        out.append(
            f'<circle cx="{rx:.1f}" cy="{top + lane / 2}" r="7" '
            f'class="report-dot{" new" if report.report_id in new_reports else ""}" '
            f'data-report="{esc(report.report_id)}" '
            f'tabindex="0" role="button" aria-label="Öppna anmälan {esc(report.report_id)}">'
            f"<title>{'ny · ' if report.report_id in new_reports else ''}"
            f"{report.date} · {esc(report.reporter)} · {esc(report.report_id)}: {esc(found)}</title></circle>"
        )
        for index, code in enumerate(present, start=1):
            if code in report.categories:
                y = top + lane * index + lane / 2
                colour = GROUP_COLOURS[group_of.get(code, "context")]
                out.append(
                    f'<rect x="{rx - 6:.1f}" y="{y - 6}" width="12" height="12" rx="2" fill="{colour}" '
                    f'data-report="{esc(report.report_id)}" class="mark">'
                    f"<title>{esc(taxonomy.label(code))} · {report.date} · {esc(report.report_id)}</title></rect>"
                )
    out.append("</svg>")
    return "".join(out)


# --- the source view -----------------------------------------------------------------------


def source_view_html(
    report: Report, citation: Citation, number: int, passage: Passage | None, taxonomy: Taxonomy, label: str = ""
) -> str:
    """One citation in context: the whole report, its passage shaded, the quote marked."""
    start, end = quote_span(report.text, citation, passage)
    text = report.text
    if start is None or end is None:
        body = text_html(text)
        missing = '<p class="msg msg-error">Citatet hittades inte längre i anmälans text.</p>'
    else:
        missing = ""
        p_start, p_end = (passage.start, passage.end) if passage else (start, end)
        if not (p_start <= start and end <= p_end):
            p_start, p_end = start, end
        body = (
            text_html(text[:p_start])
            + '<span class="passage">'
            + text_html(text[p_start:start])
            + f'<mark class="cited" data-ref="{number}">{text_html(text[start:end])}</mark>'
            + text_html(text[end:p_end])
            + "</span>"
            + text_html(text[p_end:])
        )
    about = f'<p class="about">{esc(label)}</p>' if label else ""
    return (
        f'<article class="source-view" data-report="{esc(report.report_id)}">'
        f"<h3>Källa [{number}]: anmälan {esc(report.report_id)}</h3>"
        f'<p class="meta">Datum {report.date} · anmälare: {esc(report.reporter)}'
        f"{f' · fil: {esc(report.source_file)}' if report.source_file else ''}</p>"
        f"{about}"
        f'<blockquote class="quote">”{esc(citation.quote)}”</blockquote>{missing}'
        f'<div class="report-text">{body}</div></article>'
    )


def quote_span(text: str, citation: Citation, passage: Passage | None) -> tuple[int | None, int | None]:
    """Where the quote lies in the report: the verified offsets, else a search inside the passage."""
    if citation.start is not None and citation.end is not None and text[citation.start : citation.end]:
        return citation.start, citation.end
    if passage is not None:
        at = text.find(citation.quote, passage.start, passage.end)
        if at >= 0:
            return at, at + len(citation.quote)
    at = text.find(citation.quote) if citation.quote else -1
    return (at, at + len(citation.quote)) if at >= 0 else (None, None)


def report_view_html(report: Report, cited: Iterable[tuple[int, Citation]]) -> str:
    """A whole report with every citation of the summary in it marked and numbered."""
    spans = sorted(
        (c.start, c.end, n) for n, c in cited if c.report_id == report.report_id and c.start is not None and c.end
    )
    out, cursor = [], 0
    for start, end, number in spans:
        if start < cursor:
            continue
        out.append(text_html(report.text[cursor:start]))
        out.append(f'<mark data-ref="{number}">{text_html(report.text[start:end])}</mark><sup>[{number}]</sup>')
        cursor = end
    out.append(text_html(report.text[cursor:]))
    return (
        f'<article class="source-view" data-report="{esc(report.report_id)}">'
        f"<h3>Anmälan {esc(report.report_id)}</h3>"
        f'<p class="meta">Datum {report.date} · anmälare: {esc(report.reporter)}'
        f"{f' · fil: {esc(report.source_file)}' if report.source_file else ''}</p>"
        f'<div class="report-text">{"".join(out)}</div></article>'
    )


def source_placeholder_html() -> str:
    return '<p class="empty">Klicka på ett citat eller en siffra i sammanställningen för att läsa källan här.</p>'


# --- upload results ---------------------------------------------------------------------


@dataclass(frozen=True)
class UploadOutcome:
    name: str
    ok: bool
    message: str


def upload_results_html(outcomes: list[UploadOutcome]) -> str:
    if not outcomes:
        return message_html("Välj en eller flera filer först.", "error")
    failed = sum(1 for o in outcomes if not o.ok)
    rows = "".join(
        f'<tr class="{"ok" if o.ok else "error"}"><td>{esc(o.name)}</td>'
        f"<td>{'✔ Inläst' if o.ok else '✖ Fel'}</td><td>{esc(o.message)}</td></tr>"
        for o in outcomes
    )
    summary = f"{len(outcomes) - failed} av {len(outcomes)} filer lästes in." + (
        f" {failed} fil(er) kunde inte läsas; de andra lades in ändå." if failed else ""
    )
    return (
        f'<div class="upload-result"><p>{esc(summary)}</p><table><thead><tr><th>Fil</th><th>Resultat</th>'
        f"<th>Detaljer</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


CSS = """
.notice { background: #fff3cd; border: 1px solid #e0c36a; border-radius: 6px; padding: 8px 12px; margin: 6px 0;
  color: #3d3000; }
.msg { padding: 6px 10px; border-radius: 6px; margin: 4px 0; }
.msg-error { background: #fde7e9; color: #8a1020; border: 1px solid #f1aeb5; }
.msg-ok { background: #e6f4ea; color: #1e4620; border: 1px solid #a8d5b5; }
.msg-info { background: #eef2f7; color: #1f2d3d; }
.case-list { width: 100%; border-collapse: collapse; font-size: 0.95em; }
.case-list th, .case-list td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
.case-list tbody tr { cursor: pointer; }
.case-list tbody tr:hover { background: #f3f6fa; }
.case-status.stale { color: #8a4b00; font-weight: 600; }
.case-status.fresh { color: #1e4620; }
button.link { background: none; border: none; color: #1a56db; text-decoration: underline; cursor: pointer;
  padding: 0; font: inherit; }
.hint { color: #555; font-size: 0.85em; }
.case-view h2 { margin: 4px 0; }
.case-head .meta { color: #555; font-size: 0.85em; }
.unseen { background: #fff0e0; border-left: 4px solid #d97706; padding: 4px 8px; }
.escalation { background: #fde7e9; border-left: 5px solid #b3261e; padding: 6px 12px; margin: 8px 0; }
.escalation h3 { color: #8a1020; margin: 0 0 4px 0; }
.group { margin: 10px 0; }
.group-violence > h3 { color: #8a1020; }
.group-protective { background: #eef7ef; border-left: 5px solid #2e7d32; padding: 4px 12px; }
.group-protective > h3 { color: #1e4620; }
details.category { border: 1px solid #ddd; border-radius: 6px; padding: 4px 10px; margin: 6px 0; }
details.category > summary { cursor: pointer; }
details.category .facts { color: #444; font-size: 0.9em; }
ol.items { list-style: none; padding-left: 0; }
li.item { border-top: 1px dashed #ddd; padding: 6px 0; }
.item-head { font-size: 0.88em; color: #333; }
.num { font-weight: 700; }
.pol { border-radius: 4px; padding: 0 5px; font-size: 0.9em; }
.pol-affirmed { background: #e8eaf6; }
.pol-hedged { background: #fff3cd; }
.pol-negated { background: #e0e0e0; font-weight: 600; }
button.cite { background: none; border: none; padding: 0; font: inherit; color: #1a56db; cursor: pointer;
  text-align: left; }
button.cite.quote { display: block; margin: 3px 0; font-style: italic; }
button.cite:hover, button.cite:focus { text-decoration: underline; }
button.cite.ref { font-weight: 600; }
.status-reject .quote, .status-reject .item-head { color: #888; }
.status-reject del { text-decoration: line-through; }
.review-note { font-size: 0.85em; color: #444; }
.review-note.review-reject { color: #8a1020; }
.review-note.review-change { color: #6750a4; }
.review-note.review-confirm { color: #1e4620; }
.review-actions button { font-size: 0.8em; margin-right: 6px; padding: 1px 8px; border: 1px solid #bbb;
  border-radius: 4px; background: #fafafa; cursor: pointer; }
.timeline-chart .lane { stroke: #e2e2e2; }
.timeline-chart .tick { stroke: #cfcfcf; stroke-dasharray: 3 3; }
.timeline-chart text { font-size: 12px; fill: #333; }
.timeline-chart .report-dot { fill: #1f2d3d; cursor: pointer; }
.timeline-chart .report-dot:hover, .timeline-chart .report-dot:focus { fill: #1a56db; }
.timeline-chart .mark { cursor: pointer; }
.source-view .meta { color: #555; font-size: 0.9em; }
.source-view .quote { border-left: 3px solid #e0c36a; margin: 6px 0; padding-left: 8px; font-style: italic; }
.source-view .report-text { line-height: 1.55; }
.source-view .passage { background: #eef2f7; }
.source-view mark { background: #ffe066; padding: 1px 0; }
.progress progress { width: 60%; height: 14px; vertical-align: middle; }
.streaming { border-left: 3px solid #1a56db; padding-left: 8px; }
.upload-result table { border-collapse: collapse; }
.upload-result td, .upload-result th { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left; }
.upload-result tr.error td { color: #8a1020; }
.upload-result tr.ok td { color: #1e4620; }
.badge-new { background: #d97706; color: #fff; border-radius: 8px; padding: 0 6px; font-size: 0.8em; font-weight: 700; }
.timeline-chart .report-dot.new { stroke: #d97706; stroke-width: 3; }
.intake-list { width: 100%; border-collapse: collapse; font-size: 0.92em; }
.intake-list th, .intake-list td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd;
  vertical-align: top; }
.intake-list .why { color: #555; font-size: 0.85em; }
.intake-list tr.status-duplicate td { color: #8a4b00; }
.intake-list tr.status-rejected td, .intake-list tr.status-registered td { color: #777; }
.intake-text { border-left: 3px solid #ccc; padding-left: 8px; max-height: 320px; overflow: auto; }
"""
