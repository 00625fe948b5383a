"""Gradio page in Swedish: pick a child, get the cited summary, open each source.

The page never shows anything the pipeline did not verify; report text is
HTML-escaped before it is shown.
"""

from __future__ import annotations

import html
import queue
import threading

import gradio as gr

from assistant.errors import UserError
from assistant.pipeline import Assistant
from assistant.render import to_markdown
from assistant.schema import Summary

TITLE = "Stöd inför möte: tidigare orosanmälningar"
NOTICE = (
    "**Beslutsstöd, inte beslut.** Verktyget sammanställer vad tidigare anmälningar säger och visar "
    "källan till varje uppgift. Du som handläggare läser källorna och fattar beslutet."
)


def source_html(assistant: Assistant, summary: Summary) -> str:
    """Each cited report with the cited spans highlighted, numbered as in the summary."""
    spans: dict[str, list[tuple[int, int, int]]] = {}
    for number, indicator in enumerate(summary.indicators, start=1):
        for citation in indicator.citations:
            if citation.verified and citation.start is not None:
                spans.setdefault(citation.report_id, []).append((citation.start, citation.end, number))
    parts = []
    for report_id in sorted(spans):
        report = assistant.store.report(report_id)
        if report is None or report.child_id != summary.child_id:
            continue
        parts.append(
            f'<section class="source" id="source-{html.escape(report_id)}">'
            f"<h4>{html.escape(report_id)} · {report.date} · {html.escape(report.reporter)}</h4>"
            f"<p>{highlight(report.text, spans[report_id])}</p></section>"
        )
    return "\n".join(parts) or "<p>Inga citerade källor.</p>"


def highlight(text: str, spans: list[tuple[int, int, int]]) -> str:
    """Escape ``text`` and wrap each (start, end, number) span in <mark>; overlaps merge into the first."""
    out, cursor = [], 0
    for start, end, number in sorted(spans):
        if start < cursor:
            continue
        out.append(html.escape(text[cursor:start]))
        out.append(
            f'<mark data-ref="{number}" title="[{number}]">{html.escape(text[start:end])}</mark><sup>[{number}]</sup>'
        )
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out).replace("\n", "<br>")


def build_app(assistant: Assistant) -> gr.Blocks:
    def child_choices() -> list[tuple[str, str]]:
        return [
            (f"{c.child_id} ({c.reports} anmälningar, {c.first_date} – {c.last_date})", c.child_id)
            for c in assistant.store.children()
        ]

    def summarize(child_id: str | None, progress=gr.Progress()):  # noqa: B008 - Gradio injects progress this way
        if not child_id:
            yield "Välj ett barn i listan.", ""
            return
        updates: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work():
            try:
                outcome["run"] = assistant.summarize(
                    child_id,
                    progress=lambda step, done, total: updates.put(("progress", step, done, total)),
                    on_narrative=lambda text: updates.put(("text", text)),
                )
            except UserError as exc:
                outcome["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - shown to the user in plain words, not a traceback
                outcome["error"] = f"Något gick fel: {exc.__class__.__name__}"
            updates.put(("done",))

        threading.Thread(target=work, daemon=True).start()
        while True:
            item = updates.get()
            if item[0] == "done":
                break
            if item[0] == "progress":
                _, step, done, total = item
                label = {"extract": "Läser passager", "narrative": "Skriver sammanfattning"}.get(step, step)
                progress((done, total) if total else None, desc=label)
            elif item[0] == "text":
                yield f"*Skriver sammanfattning …*\n\n{item[1]}", ""
        if "error" in outcome:
            yield f"**Fel:** {outcome['error']}", ""
            return
        summary = outcome["run"].summary
        yield to_markdown(summary, assistant.taxonomy), source_html(assistant, summary)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}")
        gr.Markdown(NOTICE, elem_id="notice")
        with gr.Row():
            child = gr.Dropdown(choices=child_choices(), label="Barn", elem_id="child-select")
            refresh = gr.Button("Uppdatera listan", size="sm")
            run = gr.Button("Sammanställ", variant="primary", elem_id="summarize")
        with gr.Row():
            with gr.Column(scale=3):
                summary_md = gr.Markdown(elem_id="summary")
            with gr.Column(scale=2):
                gr.Markdown("### Källor (citerat markerat)")
                sources = gr.HTML(elem_id="sources")
        refresh.click(lambda: gr.Dropdown(choices=child_choices()), outputs=child)
        run.click(summarize, inputs=child, outputs=[summary_md, sources], concurrency_id="model")
    return app


def serve(assistant: Assistant, host: str | None = None, port: int | None = None) -> None:
    app = build_app(assistant)
    app.queue(default_concurrency_limit=1, max_size=32).launch(
        server_name=host or assistant.settings.ui.host,
        server_port=port or assistant.settings.ui.port,
        share=False,
        show_error=False,
        inbrowser=False,
    )
