"""Gradio page in Swedish: the case list, one child's cited summary, the sources, corrections,
the meeting brief and uploads.

The page sits behind Gradio's login, checked against the users store; what
each user may see and every logged event is decided in ``assistant.access``.
The page never shows anything the pipeline did not verify, and report text
is HTML-escaped before it is shown (``ui.views``). Model-bound work (a
summary, an upload that is embedded) runs one at a time under a shared
concurrency id; other sessions wait in Gradio's queue and see their place.
Each session keeps its own summary in ``gr.State``; nothing is kept in
module globals.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from assistant.access import AccessPolicy, User, record_ingest
from assistant.audit import Action as Audit
from assistant.audit import Outcome
from assistant.errors import UserError
from assistant.export import BriefFormat
from assistant.feedback import Action
from assistant.intake import Intake
from assistant.letters import LetterDesk
from assistant.pipeline import Assistant, SummaryRun
from assistant.precompute import BackgroundPrecompute, Precomputer
from assistant.schema import Summary
from ui.admin import build_admin_tab
from ui.intake_tab import build_intake_tab, mark_new, start_inbox_watcher
from ui.letters_tab import build_letters_tab
from ui.precompute_status import mount_precompute_status
from ui.service import CaseDesk, indicator_number
from ui.views import (
    CSS,
    case_list_html,
    case_view_html,
    empty_case_html,
    message_html,
    notice_html,
    progress_html,
    report_view_html,
    source_placeholder_html,
    source_view_html,
    upload_results_html,
)

log = logging.getLogger(__name__)
TITLE = "Stöd inför möte: tidigare orosanmälningar"
MODEL_QUEUE = "model"  # one model-bound job at a time over all sessions
UPLOAD_TYPES = [".jsonl", ".txt", ".md", ".docx", ".pdf", ".yaml", ".yml"]
STREAM_INTERVAL_S = 0.3  # at most this often a new frame of progress and streamed text

# Clicks inside the HTML views become one Gradio "click" event with what was clicked.
CLICK_JS = """
const fire = (target) => trigger('click', {
  cite: target.dataset.cite || '', report: target.dataset.report || '',
  review: target.dataset.review || '', number: target.dataset.number || '', child: target.dataset.child || ''
});
element.addEventListener('click', (event) => {
  const target = event.target.closest('[data-cite],[data-report],[data-review],[data-child]');
  if (!target || !element.contains(target)) return;
  event.preventDefault();
  fire(target);
});
element.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' && event.key !== ' ') return;
  const target = event.target.closest('svg [data-report]');
  if (!target) return;
  event.preventDefault();
  fire(target);
});
"""
SOURCE_JS = """
watch('value', () => {
  const mark = element.querySelector('mark.cited');
  if (mark) mark.scrollIntoView({block: 'center', behavior: 'smooth'});
});
"""


@dataclass
class _Progress:
    """What the worker thread has reported so far; read by the generator between frames."""

    step: str = "extract"
    done: int = 0
    total: int = 0
    narrative: str = ""
    finished: bool = False
    run: SummaryRun | None = None
    error: str = ""
    events: queue.Queue = field(default_factory=queue.Queue)


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


REFUSED = "Du har inte behörighet till det ärendet. Försöket har loggats."
SIGNED_OUT = "Du är inte inloggad längre. Ladda om sidan och logga in igen."
TAB_IDS = ("cases", "intake", "letters", "evaluation", "admin")  # which a role sees: assistant.access.ROLE_TABS
EVALUATION_NOTE = (
    "Utvärderingen körs på den annoterade korpusen med `assistant eval run` (se eval/README.md). "
    "Rollen utvärderare ser inga ärenden om inte en administratör har tilldelat ett."
)
ADMIN_NOTE = (
    "Användare, enheter, tilldelningar och skyddade personuppgifter hanteras med `assistant users …` och "
    "`assistant children …`; revisionsloggen granskas med `assistant audit verify` och `assistant audit export`."
)


def build_app(assistant: Assistant, policy: AccessPolicy) -> gr.Blocks:
    """Every event asks ``policy`` who is logged in (from Gradio's login) and what they may see."""
    desk = CaseDesk(assistant)
    intake = Intake(assistant)
    taxonomy = assistant.taxonomy

    def who(request: gr.Request | None) -> User | None:
        return policy.current(getattr(request, "username", None))

    def visible(user: User | None) -> set[str]:
        return set(policy.visible_children(user, [c.child_id for c in assistant.store.children()]))

    def child_choices(user: User | None) -> list[tuple[str, str]]:
        allowed = visible(user)
        return [choice for choice in desk.child_choices() if choice[1] in allowed]

    category_choices = [(info.label, code.value) for code, info in taxonomy.categories.items()]
    polarity_choices = [(label, polarity.value) for polarity, label in taxonomy.polarity_labels.items()]

    # --- rendering helpers (closures over the shared desk, no session data) -----------------

    def case_view(summary: Summary, unseen: int = 0) -> str:
        new_reports = frozenset(intake.new_reports().get(summary.child_id, ()))
        return case_view_html(policy.shown_review(desk.review(summary)), taxonomy, unseen, new_reports)

    def indicator_choices(summary: Summary | None) -> list[tuple[str, str]]:
        if summary is None:
            return []
        reviewed = policy.shown_review(desk.review(summary))
        return [
            (
                f"[{item.number}] {item.indicator.label} · {item.indicator.date} · "
                f"”{item.indicator.citations[0].quote[:60]}”",
                str(item.number),
            )
            for item in reviewed.items
        ]

    def case_list(query: str = "", request: gr.Request = None) -> str:
        allowed = visible(who(request))
        rows = mark_new([row for row in desk.case_rows() if row.child_id in allowed], intake.new_reports())
        return case_list_html(rows, query or "")

    # --- events -----------------------------------------------------------------------------

    def on_load(query: str, request: gr.Request):
        """Show the logged-in user their own tabs and only the children they may see."""
        user = who(request)
        tabs = policy.tabs(user)
        if user is not None:
            policy.record(user, Audit.VIEW_CASE_LIST, detail="webb")
        signed_in = f"Inloggad som **{user.label}** · [Logga ut](logout)" if user else SIGNED_OUT
        return (
            case_list(query, request),
            gr.Dropdown(choices=child_choices(user), value=None),
            signed_in,
            gr.Tabs(selected=next((t for t in TAB_IDS if t in tabs), None)),
            *(gr.Tab(visible=tab in tabs) for tab in TAB_IDS),
        )

    def on_case_list_click(evt: gr.EventData, request: gr.Request):
        """The clicked id comes from the browser, so it is checked (a crafted id is refused and logged)."""
        child_id = str(getattr(evt, "child", ""))[:64]
        if not child_id:
            return gr.skip(), gr.skip()
        user = who(request)
        if not policy.can_view(user, child_id):
            policy.record(user, Audit.VIEW_CASE, child_id, Outcome.DENIED, detail="ärendelistan")
            return gr.skip(), message_html(REFUSED, "error")
        return gr.Dropdown(value=child_id), gr.skip()

    def open_case(child_id: str | None, request: gr.Request):
        if not child_id:
            hint = message_html("Välj ett barn i ärendelistan eller i rutan Barn.")
            return hint, None, "", gr.Dropdown(choices=[], value=None), source_placeholder_html()
        if not policy.check(who(request), child_id, Audit.VIEW_CASE):
            refused = message_html(REFUSED, "error")
            return refused, None, refused, gr.Dropdown(choices=[], value=None), source_placeholder_html()
        case = desk.open_case(child_id)
        if case.summary is None:
            status = message_html("Ingen sammanställning finns ännu för barnet. Klicka på Sammanställ.")
            return (
                empty_case_html(child_id, case.reports, frozenset(intake.new_reports().get(child_id, ()))),
                None,
                status,
                gr.Dropdown(choices=[], value=None),
                source_placeholder_html(),
            )
        policy.record(who(request), Audit.VIEW_SUMMARY, child_id, detail="sparad")
        status = message_html(
            "Visar den senast sparade sammanställningen."
            + (" Nya anmälningar har kommit: klicka på Sammanställ." if case.unseen else ""),
            "info",
        )
        return (
            case_view(case.summary, case.unseen),
            case.summary,
            status,
            gr.Dropdown(choices=indicator_choices(case.summary), value=None),
            source_placeholder_html(),
        )

    def summarize(child_id: str | None, query: str, request: gr.Request, progress=gr.Progress()) -> Iterator[tuple]:  # noqa: B008 - Gradio injects progress
        """Run the pipeline in a thread and stream frames: a progress bar, then the narrative as it is written."""
        skip = gr.skip()
        if not child_id:
            yield message_html("Välj ett barn i listan först.", "error"), skip, skip, skip, skip, skip
            return
        if not policy.check(who(request), child_id, Audit.VIEW_SUMMARY, detail="ny"):
            yield message_html(REFUSED, "error"), None, message_html(REFUSED, "error"), skip, skip, skip
            return
        if not assistant.store.has_child(child_id):
            yield message_html(f"Inga anmälningar finns för barn {child_id}.", "error"), skip, skip, skip, skip, skip
            return
        state = _Progress()

        def report(step: str, done: int, total: int) -> None:
            state.step, state.done, state.total = step, done, total
            state.events.put(None)

        def stream(text: str) -> None:
            state.step, state.narrative = "narrative", text
            state.events.put(None)

        def work() -> None:
            try:
                state.run = assistant.summarize(child_id, progress=report, on_narrative=stream)
            except UserError as exc:
                state.error = str(exc)
            except Exception as exc:  # shown in plain words; the trace goes to the log
                log.exception("summary of %s failed", child_id)
                state.error = f"Något gick fel ({exc.__class__.__name__}). Försök igen eller kontakta support."
            finally:  # the page must never wait for a thread that has ended
                state.finished = True
                state.events.put(None)

        threading.Thread(target=work, name=f"summary-{child_id}", daemon=True).start()
        yield skip, skip, message_html("Sammanställer …"), skip, skip, skip
        last_frame = 0.0
        while not state.finished:
            state.events.get()
            while not state.events.empty():  # coalesce bursts (cached passages report quickly)
                state.events.get_nowait()
            if state.finished or time.monotonic() - last_frame < STREAM_INTERVAL_S:
                continue
            last_frame = time.monotonic()
            if state.step == "extract" and state.total:
                progress((state.done, state.total), desc="Läser passagerna", unit="passager")
            elif state.step == "narrative":
                progress(None, desc="Skriver sammanfattningen")
            frame = progress_html(child_id, state.step, state.done, state.total, state.narrative)
            yield frame, skip, skip, skip, skip, skip
        if state.run is None:
            yield (
                message_html(f"Fel: {state.error}", "error"),
                skip,
                message_html(state.error, "error"),
                skip,
                skip,
                skip,
            )
            return
        summary = state.run.summary
        desk.record(summary)
        stats = state.run.stats
        done = message_html(
            f"Klar: {stats.passages} passager lästa, {stats.cache_hits} från cache, {stats.model_calls} "
            f"modellanrop ({stats.model_seconds:.1f} s).",
            "ok",
        )
        yield (
            case_view(summary),
            summary,
            done,
            gr.Dropdown(choices=indicator_choices(summary), value=None),
            case_list(query, request),
            source_placeholder_html(),
        )

    def on_case_view_click(
        summary: Summary | None, child_id: str | None, query: str, evt: gr.EventData, request: gr.Request
    ):
        """A citation opens its source; a report dot opens the report; review buttons store a verdict."""
        skip = gr.skip()
        user = who(request)
        cite, report_id = _number(getattr(evt, "cite", "")), getattr(evt, "report", "")
        review, number = getattr(evt, "review", ""), _number(getattr(evt, "number", ""))
        owner = summary.child_id if summary is not None else child_id
        if cite and summary is not None:
            if not policy.check(user, summary.child_id, Audit.OPEN_CITATION, detail=f"uppgift {cite}"):
                return message_html(REFUSED, "error"), skip, skip, skip, skip, skip
            return show_citation(summary, cite), skip, skip, skip, skip, skip
        if report_id:
            if not policy.check(user, owner or "", Audit.VIEW_REPORT, detail=report_id[:64]):
                return message_html(REFUSED, "error"), skip, skip, skip, skip, skip
            report = desk.report_of(owner or "", report_id)
            if report is None:
                return message_html("Anmälan hittades inte.", "error"), skip, skip, skip, skip, skip
            shown = policy.shown_summary(summary) if summary else None
            cited = [(n, i.citations[0]) for n, i in enumerate(shown.indicators, start=1)] if shown else []
            return report_view_html(policy.shown_report(report), cited), skip, skip, skip, skip, skip
        if review == "edit" and number and summary is not None:
            return skip, skip, skip, gr.Dropdown(value=str(number)), gr.Accordion(open=True), skip
        if review in (Action.confirm, Action.reject) and number and summary is not None:
            if not policy.check(user, summary.child_id, Audit.CORRECTION, detail=f"{review} uppgift {number}"):
                return skip, skip, message_html(REFUSED, "error"), skip, skip, skip
            try:
                desk.correct(summary, number, review, user.username)
            except (UserError, IndexError) as exc:
                return skip, skip, message_html(str(exc), "error"), skip, skip, skip
            word = "bekräftad" if review == Action.confirm else "avvisad"
            return (
                skip,
                case_view(summary, desk.open_case(summary.child_id).unseen),
                message_html(f"Uppgift [{number}] är {word} och sparad med ditt namn.", "ok"),
                skip,
                skip,
                case_list(query, request),
            )
        return skip, skip, skip, skip, skip, skip

    def show_citation(summary: Summary, number: int) -> str:
        try:
            indicator = indicator_number(summary, number)
        except IndexError:
            return message_html(f"Uppgift {number} finns inte.", "error")
        citation = indicator.citations[0]
        report = desk.report_of(summary.child_id, citation.report_id)
        if report is None:
            return message_html(f"Anmälan {citation.report_id} finns inte längre.", "error")
        passage = policy.shown_passage(desk.passage_of(citation.report_id, citation.passage_id))
        label = f"{indicator.label} · {taxonomy.polarity_label(indicator.polarity)}"
        shown_citation = policy.shown_summary(summary).indicators[number - 1].citations[0]
        return source_view_html(policy.shown_report(report), shown_citation, number, passage, taxonomy, label)

    def save_correction(
        summary: Summary | None,
        picked: str | None,
        action: str | None,
        new_category: str | None,
        new_polarity: str | None,
        note: str,
        query: str,
        request: gr.Request,
    ):
        skip = gr.skip()
        if summary is None:
            return skip, message_html("Öppna eller gör en sammanställning först.", "error"), skip
        number = _number(picked)
        if number is None or not action:
            return skip, message_html("Välj en uppgift och en åtgärd.", "error"), skip
        user = who(request)
        if not policy.check(user, summary.child_id, Audit.CORRECTION, detail=f"{action} uppgift {number}"):
            return skip, message_html(REFUSED, "error"), skip
        try:
            desk.correct(summary, number, action, user.username, new_category, new_polarity, note)
        except (UserError, IndexError) as exc:
            return skip, message_html(str(exc), "error"), skip
        return (
            case_view(summary, desk.open_case(summary.child_id).unseen),
            message_html(f"Rättelsen av uppgift [{number}] är sparad.", "ok"),
            case_list(query, request),
        )

    def export(summary: Summary | None, fmt: BriefFormat, request: gr.Request | None):
        if summary is None:
            return gr.File(value=None, visible=False), message_html(
                "Öppna eller gör en sammanställning först.", "error"
            )
        if not policy.check(who(request), summary.child_id, Audit.EXPORT, detail=fmt):
            return gr.File(value=None, visible=False), message_html(REFUSED, "error")
        path = desk.export(summary, fmt, shown=policy.shown_review)
        return gr.File(value=str(path), visible=True), message_html(f"Mötesunderlaget är klart: {path.name}", "ok")

    def exporter(fmt: BriefFormat):
        def run(summary: Summary | None, request: gr.Request):
            return export(summary, fmt, request)

        return run

    def upload(files: list[str] | None, query: str, child_id: str | None, request: gr.Request):
        user = who(request)
        try:
            policy.require_upload(user, "webb")
        except UserError as exc:
            return message_html(str(exc), "error"), gr.File(value=None), gr.skip(), gr.skip()
        outcomes = desk.ingest_uploads(
            list(files or []),
            admit=policy.admission(user, assistant.store),
            after=lambda results: record_ingest(policy, user, assistant.store, results, "webb"),
        )
        return (
            upload_results_html(outcomes),
            gr.File(value=None),
            case_list(query, request),
            gr.Dropdown(choices=child_choices(user), value=child_id),  # without a value Gradio picks the first
        )

    # --- layout -------------------------------------------------------------------------------

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(1800, 3600)) as app:
        summary_state = gr.State(None)
        gr.Markdown(f"# {TITLE}")
        gr.HTML(notice_html(), elem_id="notice", js_on_load=None)
        signed_in = gr.Markdown(elem_id="signed-in")
        mount_precompute_status(Precomputer(assistant))
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Ärenden", id="cases", elem_id="tab-cases", visible=False) as cases_tab:
                with gr.Accordion("Ärenden", open=True, elem_id="cases"):
                    search = gr.Textbox(label="Sök ärende (id)", elem_id="search", max_lines=1, placeholder="t.ex. D01")
                    cases = gr.HTML(elem_id="case-list", js_on_load=CLICK_JS)
                with gr.Accordion("Lägg till anmälningar", open=False, elem_id="upload-section"):
                    gr.Markdown(
                        "Filer: `.jsonl` (en anmälan per rad), `.txt`/`.md` med metadata överst, "
                        "`.docx`/`.pdf` tillsammans med en sidofil `.yaml` med samma namn. "
                        "En fil som inte går att läsa rapporteras; de andra läses in ändå."
                    )
                    files = gr.File(
                        label="Filer",
                        file_count="multiple",
                        file_types=UPLOAD_TYPES,
                        elem_id="upload-files",
                        type="filepath",
                    )
                    add = gr.Button("Lägg till anmälningar", elem_id="upload-button")
                    upload_result = gr.HTML(elem_id="upload-result", js_on_load=None)
                with gr.Row(equal_height=True):
                    child = gr.Dropdown(
                        choices=desk.child_choices(), value=None, label="Barn", elem_id="child-select", scale=3
                    )
                    run = gr.Button("Sammanställ", variant="primary", elem_id="summarize", scale=1)
                status = gr.HTML(elem_id="status", js_on_load=None, min_height=40)
                with gr.Row():
                    with gr.Column(scale=3):
                        view = gr.HTML(elem_id="summary", js_on_load=CLICK_JS)
                    with gr.Column(scale=2):
                        gr.Markdown("### Källa")
                        source = gr.HTML(
                            source_placeholder_html(), elem_id="source-view", js_on_load=SOURCE_JS, max_height=640
                        )
                        feedback_message = gr.HTML(elem_id="feedback-message", js_on_load=None)
                        with gr.Accordion("Rätta en uppgift", open=False, elem_id="correct") as correct_box:
                            picked = gr.Dropdown(label="Uppgift", choices=[], value=None, elem_id="correct-item")
                            action = gr.Radio(
                                choices=[
                                    ("Bekräfta", Action.confirm.value),
                                    ("Avvisa", Action.reject.value),
                                    ("Ändra kategori eller polaritet", Action.change.value),
                                ],
                                label="Åtgärd",
                                elem_id="correct-action",
                            )
                            new_category = gr.Dropdown(
                                label="Ny kategori", choices=category_choices, value=None, elem_id="correct-category"
                            )
                            new_polarity = gr.Dropdown(
                                label="Ny polaritet", choices=polarity_choices, value=None, elem_id="correct-polarity"
                            )
                            note = gr.Textbox(label="Kommentar (valfri)", max_lines=3, elem_id="correct-note")
                            save = gr.Button("Spara rättelse", elem_id="correct-save")
                        gr.Markdown("### Mötesunderlag")
                        with gr.Row():
                            pdf = gr.Button("PDF", size="sm", elem_id="export-pdf")
                            docx = gr.Button("Word (DOCX)", size="sm", elem_id="export-docx")
                            markdown = gr.Button("Markdown", size="sm", elem_id="export-md")
                        export_file = gr.File(
                            label="Hämta mötesunderlaget",
                            elem_id="export-file",
                            interactive=False,
                            visible=False,
                            height=80,
                        )
                        export_message = gr.HTML(elem_id="export-message", js_on_load=None)
            with gr.Tab("Inkorg", id="intake", elem_id="intake-tab", visible=False) as intake_tab:
                build_intake_tab(
                    intake_tab, intake, policy, search, cases, child, case_list, child_choices, MODEL_QUEUE
                )
            with gr.Tab("Brev", id="letters", elem_id="letters-tab", visible=False) as letters_tab:
                build_letters_tab(letters_tab, LetterDesk(assistant.settings, assistant.store), policy)
            with gr.Tab("Utvärdering", id="evaluation", elem_id="tab-evaluation", visible=False) as evaluation_tab:
                gr.Markdown(EVALUATION_NOTE)
            with gr.Tab("Administration", id="admin", elem_id="tab-admin", visible=False) as admin_tab:
                gr.Markdown(ADMIN_NOTE)
                build_admin_tab(admin_tab, assistant, policy)

        app.load(
            on_load,
            inputs=search,
            outputs=[cases, child, signed_in, tabs, cases_tab, intake_tab, letters_tab, evaluation_tab, admin_tab],
        )
        search.input(case_list, inputs=search, outputs=cases, show_progress="hidden")
        cases.click(on_case_list_click, outputs=[child, status])
        child.change(open_case, inputs=child, outputs=[view, summary_state, status, picked, source])
        run.click(
            lambda: message_html(
                "Väntar på modellen … Om någon annan sammanställer just nu står du i kö; "
                "platsen visas till höger (queue: plats/antal).",
            ),
            outputs=status,
            queue=False,
            show_progress="hidden",
            trigger_mode="once",
        ).then(
            summarize,
            inputs=[child, search],
            outputs=[view, summary_state, status, picked, cases, source],
            concurrency_limit=1,
            concurrency_id=MODEL_QUEUE,
            show_progress_on=status,
        )
        view.click(
            on_case_view_click,
            inputs=[summary_state, child, search],
            outputs=[source, view, feedback_message, picked, correct_box, cases],
            show_progress="hidden",
        )
        save.click(
            save_correction,
            inputs=[summary_state, picked, action, new_category, new_polarity, note, search],
            outputs=[view, feedback_message, cases],
        )
        for button, fmt in ((pdf, "pdf"), (docx, "docx"), (markdown, "md")):
            button.click(
                exporter(fmt),
                inputs=summary_state,
                outputs=[export_file, export_message],
            )
        add.click(
            upload,
            inputs=[files, search, child],
            outputs=[upload_result, files, cases, child],
            concurrency_limit=1,
            concurrency_id=MODEL_QUEUE,
        )
    return app


def serve(assistant: Assistant, policy: AccessPolicy, host: str | None = None, port: int | None = None) -> None:
    """Serve on 127.0.0.1 unless told otherwise, behind Gradio's login checked against the users store;
    light events run four at a time, model-bound ones one. Background threads read the inbox and analyse
    new reports meanwhile (``assistant.precompute``), so a case opens from the cache."""
    app = build_app(assistant, policy)
    start_inbox_watcher(Intake(assistant))
    if assistant.settings.precompute.background:
        BackgroundPrecompute(assistant, assistant.settings.precompute.poll_s).start()
    app.queue(default_concurrency_limit=4, max_size=64).launch(
        auth=policy.login,
        auth_message="Logga in med ditt användarnamn och lösenord. Varje inloggning och visat ärende loggas.",
        server_name=host or assistant.settings.ui.host,
        server_port=port or assistant.settings.ui.port,
        share=False,
        show_error=False,
        inbrowser=False,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        footer_links=[],
        blocked_paths=[str(assistant.settings.home.resolve())],
        css=CSS,
    )
