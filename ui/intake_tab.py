"""The "Inkorg" tab: proposals from the watched inbox, confirmed or rejected by a caseworker,
and the background thread that reads the inbox while the app runs.

Proposal text is shown HTML-escaped, like every report text on the page.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

import gradio as gr

from assistant.access import AccessPolicy, User
from assistant.audit import Action, Outcome
from assistant.errors import UserError
from assistant.intake import STATUS_WORDS, SYSTEM_USER, Intake, Proposal
from assistant.schema import REPORTER_CATEGORIES
from ui.views import CaseRow, esc, message_html, text_html

log = logging.getLogger(__name__)
REFUSED = "Du har inte behörighet till det barnet. Försöket har loggats."
RECENT_DECIDED = 10  # registered or rejected proposals shown below the waiting ones


def acting_user(policy: AccessPolicy, request: gr.Request | None) -> User | None:
    """The logged-in user, as the users store knows them now."""
    return policy.current(getattr(request, "username", None))


def proposals_html(waiting: list[Proposal], decided: list[Proposal]) -> str:
    if not waiting and not decided:
        return message_html("Inga förslag. Filer som läggs i inkorgen visas här.")
    rows = []
    for p in [*waiting, *decided]:
        status = STATUS_WORDS[p.status] + (f" av {p.duplicate_of}" if p.duplicate_of else "")
        status += f" som {p.report_id}" if p.report_id else ""
        rows.append(
            f'<tr class="proposal status-{esc(p.status)}" data-proposal="{p.proposal_id}">'
            f"<td>{p.proposal_id}</td><td>{esc(p.file_name)}</td><td>{esc(status)}</td>"
            f'<td>{esc(p.child_label)}<div class="why">{esc(p.child_reason)}</div></td>'
            f'<td>{esc(p.date or "")}<div class="why">{esc(p.date_reason)}</div></td>'
            f'<td>{esc(p.reporter)}<div class="why">{esc(p.reporter_reason)}</div></td></tr>'
        )
    return (
        '<table class="intake-list"><thead><tr><th>Nr</th><th>Fil</th><th>Status</th><th>Barn</th>'
        f"<th>Datum</th><th>Anmälare</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<p class="hint">Inget registreras förrän du bekräftar. Dubbletter registreras aldrig.</p>'
    )


def proposal_text_html(proposal: Proposal) -> str:
    head = f"Förslag {proposal.proposal_id} · {proposal.file_name}"
    if proposal.sender or proposal.subject:
        head += f" · från {proposal.sender or 'okänd'} · ämne: {proposal.subject or '–'}"
    return (
        f'<article class="intake-text"><p class="meta">{esc(head)}</p><div>{text_html(proposal.text)}</div></article>'
    )


def mark_new(rows: list[CaseRow], new_reports: dict[str, set[str]]) -> list[CaseRow]:
    """Case rows with the number of reports registered from the inbox lately (the 'ny' badge)."""
    return [dataclasses.replace(r, new=len(new_reports.get(r.child_id, ()))) for r in rows]


def start_inbox_watcher(intake: Intake, stop: threading.Event | None = None) -> threading.Thread:
    """Read the inbox every ``intake.poll_seconds`` until ``stop`` is set; a failure is logged, never fatal."""
    stop = stop or threading.Event()
    config = intake.settings.intake

    def watch() -> None:
        intake.recover_claims()
        while not stop.is_set():
            try:
                for result in intake.run_once(SYSTEM_USER, "system", config.settle_seconds):
                    log.info("inkorg: %s %s %s", result.file_name, result.outcome, result.proposals or result.message)
            except Exception:  # the watcher must outlive one bad poll
                log.exception("reading the inbox failed")
            stop.wait(config.poll_seconds)

    thread = threading.Thread(target=watch, name="inbox-watcher", daemon=True)
    thread.start()
    return thread


def build_intake_tab(
    tab: gr.Tab,
    intake: Intake,
    policy: AccessPolicy,
    search: gr.Textbox,
    cases: gr.HTML,
    child: gr.Dropdown,
    case_list: Callable[[str, gr.Request], str],
    child_choices: Callable[[User | None], list[tuple[str, str]]],
    model_queue: str,
) -> None:
    """The tab's components and events; called inside ``gr.Tab`` in ``ui.app``.

    Registering needs the upload right; a report for an existing child the user may not see is
    refused and logged, and a new child is placed in the registering user's unit (or assigned to them)."""
    not_allowed = "Din roll får inte registrera anmälningar."

    def may_register(user: User | None, child_id: str) -> bool:
        if not policy.can_upload(user):
            return False
        if child_id and intake.assistant.store.has_child(child_id) and not policy.can_view(user, child_id):
            policy.record(user, Action.INTAKE_CONFIRM, child_id, Outcome.DENIED, detail="barnet är inte ditt")
            return False
        return True

    def listing():
        waiting = intake.queue.list(("pending", "duplicate"))
        decided = intake.queue.list(("registered", "rejected"))[-RECENT_DECIDED:][::-1]
        pending = [
            (f"{p.proposal_id}: {p.file_name} ({p.child_label})", str(p.proposal_id))
            for p in waiting
            if p.status == "pending"
        ]
        return proposals_html(waiting, decided), pending

    def refresh():
        html, pending = listing()
        return html, gr.Dropdown(choices=pending, value=None)

    def read_now(request: gr.Request):
        user = acting_user(policy, request)
        if not policy.can_upload(user):
            return gr.skip(), gr.skip(), message_html(not_allowed, "error")
        results = intake.run_once(user.username, user.role)
        html, pending = listing()
        rejected = [r for r in results if r.outcome == "rejected"]
        text = f"{len(results)} fil(er) lästes från inkorgen." + (
            f" {len(rejected)} kunde inte läsas och ligger i {intake.folders.rejected}." if rejected else ""
        )
        return html, gr.Dropdown(choices=pending, value=None), message_html(text, "error" if rejected else "ok")

    def pick(proposal_id: str | None):
        if not proposal_id:
            return "", "", "", "", gr.Dropdown(value=None), ""
        p = intake.queue.get(int(proposal_id))
        return (
            p.child_id,
            p.child_name,
            str(p.birth_date or ""),
            str(p.date or ""),
            gr.Dropdown(value=p.reporter),
            proposal_text_html(p),
        )

    def confirm(proposal_id, child_id, child_name, born, date, reporter, query, current, request: gr.Request):
        skip = gr.skip()
        user = acting_user(policy, request)
        if not proposal_id:
            return message_html("Välj ett förslag först.", "error"), skip, skip, skip, skip
        target = (child_id or "").strip() or intake.queue.get(int(proposal_id)).child_id
        if not may_register(user, target):
            return message_html(not_allowed if not policy.can_upload(user) else REFUSED, "error"), *[skip] * 4
        try:
            proposal = intake.confirm(
                int(proposal_id), user.username, user.role, child_id, reporter, date, child_name, born
            )
            policy.claim_new_children(user, [proposal.child_id])
        except UserError as exc:
            html, pending = listing()
            return message_html(str(exc), "error"), html, gr.Dropdown(choices=pending, value=None), skip, skip
        html, pending = listing()
        done = message_html(
            f"Förslag {proposal.proposal_id} är registrerat som anmälan {proposal.report_id} för barn "
            f"{proposal.child_id}.",
            "ok",
        )
        return (
            done,
            html,
            gr.Dropdown(choices=pending, value=None),
            case_list(query, request),
            gr.Dropdown(choices=child_choices(user), value=current),
        )

    def reject(proposal_id, reason, request: gr.Request):
        skip = gr.skip()
        user = acting_user(policy, request)
        if not policy.can_upload(user):
            return message_html(not_allowed, "error"), skip, skip
        if not proposal_id:
            return message_html("Välj ett förslag först.", "error"), skip, skip
        try:
            intake.reject(int(proposal_id), user.username, reason, user.role)
        except UserError as exc:
            return message_html(str(exc), "error"), skip, skip
        html, pending = listing()
        return message_html(f"Förslag {proposal_id} är avvisat.", "ok"), html, gr.Dropdown(choices=pending, value=None)

    gr.Markdown(
        f"Filer som läggs i inkorgen `{intake.folders.inbox}` (`.eml`, `.txt`, `.md`, `.docx`, `.pdf`, `.jsonl`) "
        "läses automatiskt. Barn, datum och anmälare föreslås ur texten; kontrollera, rätta och bekräfta."
    )
    with gr.Row():
        run_button = gr.Button("Läs inkorgen nu", size="sm", elem_id="intake-run")
        refresh_button = gr.Button("Uppdatera", size="sm", elem_id="intake-refresh")
    status = gr.HTML(elem_id="intake-message", js_on_load=None)
    table = gr.HTML(elem_id="intake-list", js_on_load=None)
    picked = gr.Dropdown(label="Förslag att granska", choices=[], value=None, elem_id="intake-pick")
    gr.Markdown("Barnet (lämna id tomt för ett nytt barn):")  # no label here says "Barn": that names the child picker
    with gr.Row():
        child_id = gr.Textbox(label="Id", max_lines=1, elem_id="intake-child")
        child_name = gr.Textbox(label="Namn", max_lines=1, elem_id="intake-name")
        born = gr.Textbox(label="Född (ÅÅÅÅ-MM-DD)", max_lines=1, elem_id="intake-born")
    with gr.Row():
        date = gr.Textbox(label="Anmälans datum (ÅÅÅÅ-MM-DD)", max_lines=1, elem_id="intake-date")
        reporter = gr.Dropdown(
            label="Anmälare", choices=list(REPORTER_CATEGORIES), value=None, elem_id="intake-reporter"
        )
    with gr.Row():
        confirm_button = gr.Button("Bekräfta och registrera", variant="primary", elem_id="intake-confirm")
        reason = gr.Textbox(label="Skäl att avvisa", max_lines=1, elem_id="intake-reason")
        reject_button = gr.Button("Avvisa", elem_id="intake-reject")
    text = gr.HTML(elem_id="intake-text", js_on_load=None)

    refresh_button.click(refresh, outputs=[table, picked])
    run_button.click(read_now, outputs=[table, picked, status])
    picked.change(pick, inputs=picked, outputs=[child_id, child_name, born, date, reporter, text])
    confirm_button.click(
        confirm,
        inputs=[picked, child_id, child_name, born, date, reporter, search, child],
        outputs=[status, table, picked, cases, child],
        concurrency_limit=1,
        concurrency_id=model_queue,  # registering embeds the passages
    )
    reject_button.click(reject, inputs=[picked, reason], outputs=[status, table, picked])
    tab.select(refresh, outputs=[table, picked])
