"""Summary -> a Swedish meeting brief in Markdown, with numbered citations."""

from __future__ import annotations

from assistant.provenance import settings_line
from assistant.schema import Polarity, Summary
from assistant.taxonomy import Taxonomy


def to_markdown(summary: Summary, taxonomy: Taxonomy) -> str:
    lines = [
        f"# Sammanställning inför möte: barn {summary.child_id}",
        "",
        f"> **Beslutsstöd, inte beslut.** {summary.notice}",
        "",
        f"Skapad {summary.generated_at:%Y-%m-%d %H:%M} UTC med modell {summary.model.name} "
        f"(sha256 {summary.model.sha256[:12]}…), prompt {summary.prompt_version}, "
        f"inbäddningsmodell {summary.embedding_model or 'okänd'}.",
        "",
    ]
    if summary.settings:
        lines += [f"Inställningar: {settings_line(summary.settings)}.", ""]
    if summary.escalation:
        lines += ["## Varningssignaler", ""] + [f"- {flag}" for flag in summary.escalation] + [""]
    lines += ["## Anmälningar", "", "| Datum | Anmälan | Anmälare | Indikatorer |", "|---|---|---|---|"]
    for ref in summary.reports:
        found = ", ".join(taxonomy.label(c) for c in ref.categories) or "–"
        lines.append(f"| {ref.date} | {ref.report_id} | {ref.reporter} | {found} |")
    lines.append("")
    if summary.narrative:
        lines += ["## Sammanfattning", "", summary.narrative, ""]
    lines += ["## Indikatorer per kategori", ""]
    if not summary.categories:
        lines += ["Inga verifierade indikatorer hittades.", ""]
    for cat in summary.categories:
        actors = ", ".join(taxonomy.actor_label(a) for a in cat.actors) or "okänd"
        lines.append(
            f"- **{cat.label}**: {cat.count} uppgift(er), {cat.first_date} – {cat.last_date}; utövare: {actors}"
            + (f"; förnekas {cat.polarities['negated']} gång(er)" if cat.polarities.get("negated") else "")
        )
    lines += ["", "## Källhänvisningar", ""]
    for number, ind in enumerate(summary.indicators, start=1):
        citation = ind.citations[0]
        marker = "" if ind.polarity == Polarity.affirmed else f" ({taxonomy.polarity_label(ind.polarity)})"
        lines.append(
            f'{number}. {ind.date} {ind.label}{marker}: "{citation.quote}" '
            f"({citation.passage_id}{', verifierad' if citation.verified else ''})"
        )
    if summary.warnings:
        lines += ["", "## Att känna till", ""] + [f"- {w}" for w in summary.warnings]
    return "\n".join(lines) + "\n"
