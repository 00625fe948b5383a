"""The "Brev" tab: pick a child, a template and the decision, fill the letter from the case data,
edit it, and write it as PDF and Word into the outbox. Nothing is sent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import gradio as gr

from assistant.access import AccessPolicy
from assistant.audit import Action, Outcome
from assistant.errors import UserError
from assistant.letters import DECISION_WORDS, LetterDesk
from ui.intake_tab import REFUSED, acting_user
from ui.views import message_html


def build_letters_tab(tab: gr.Tab, letters: LetterDesk, policy: AccessPolicy) -> None:
    """The tab's components and events; called inside ``gr.Tab`` in ``ui.app``. Only children the
    logged-in user may see can be picked, and the choice is checked again when the letter is made."""
    downloads = Path(tempfile.mkdtemp(prefix="brev-"))  # the outbox lies under the home, which Gradio may not serve
    template_choices = [(t.title, t.template_id) for t in letters.templates.values()]
    decision_choices = [*((word, code) for code, word in DECISION_WORDS.items()), ("Inget beslut ännu", "")]

    def child_choices(request: gr.Request) -> list[str]:
        user = acting_user(policy, request)
        return policy.visible_children(user, [c.child_id for c in letters.store.children()])

    def on_select(request: gr.Request):
        return gr.Dropdown(choices=child_choices(request))

    def allowed(child_id: str, request: gr.Request):
        user = acting_user(policy, request)
        if policy.can_view(user, child_id):
            return user
        policy.record(user, Action.LETTER, child_id, Outcome.DENIED)
        return None

    def on_template(template_id: str | None):
        if template_id and letters.templates[template_id].decision:
            return gr.Radio(value=letters.templates[template_id].decision)
        return gr.skip()

    def fill(child_id, template_id, decision, diarienummer, guardians, reason, request: gr.Request):
        if not child_id or not template_id:
            return gr.skip(), message_html("Välj barn och brevmall först.", "error")
        user = allowed(child_id, request)
        if user is None:
            return gr.skip(), message_html(REFUSED, "error")
        try:
            text = letters.fill(child_id, template_id, user.username, diarienummer, guardians, decision or "", reason)
        except UserError as exc:
            return gr.skip(), message_html(str(exc), "error")
        return text, message_html(
            "Brevet är ifyllt. Läs det, ändra det som behövs i rutan och spara det sedan. Inget skickas.", "info"
        )

    def export(child_id, template_id, text, request: gr.Request):
        if not child_id or not template_id:
            return gr.File(value=None, visible=False), message_html("Välj barn och brevmall först.", "error")
        user = allowed(child_id, request)
        if user is None:
            return gr.File(value=None, visible=False), message_html(REFUSED, "error")
        try:
            files = letters.export(child_id, template_id, text or "", user.username, user.role)
        except UserError as exc:
            return gr.File(value=None, visible=False), message_html(str(exc), "error")
        folder = Path(tempfile.mkdtemp(dir=downloads))
        copies = [str(shutil.copy(path, folder)) for path in (files.pdf, files.docx)]
        return gr.File(value=copies, visible=True), message_html(
            f"Brevet är sparat i utkorgen {letters.outbox}: {files.pdf.name} och {files.docx.name}. "
            "Det skickas inte automatiskt.",
            "ok",
        )

    gr.Markdown(
        "Brevet fylls i med barnets namn, datum, diarienummer och ditt namn. Uppgifter ur anmälningarna "
        "kommer aldrig med i brevet om du inte själv skriver in dem."
    )
    with gr.Row():
        child = gr.Dropdown(label="Ärende", choices=[], value=None, elem_id="letter-child")
        template = gr.Dropdown(label="Brevmall", choices=template_choices, value=None, elem_id="letter-template")
        decision = gr.Radio(label="Beslut", choices=decision_choices, value="", elem_id="letter-decision")
    with gr.Row():
        diarienummer = gr.Textbox(label="Diarienummer", max_lines=1, elem_id="letter-dnr")
        guardians = gr.Textbox(label="Vårdnadshavare (mottagare)", max_lines=1, elem_id="letter-guardians")
    reason = gr.Textbox(label="Skäl för beslutet (valfritt)", lines=2, elem_id="letter-reason")
    fill_button = gr.Button("Fyll i brevet", elem_id="letter-fill")
    text = gr.Textbox(label="Brevet (redigera här)", lines=18, elem_id="letter-text")
    export_button = gr.Button("Spara som PDF och Word", variant="primary", elem_id="letter-export")
    message = gr.HTML(elem_id="letter-message", js_on_load=None)
    files = gr.File(
        label="Hämta brevet", file_count="multiple", interactive=False, visible=False, elem_id="letter-files"
    )

    tab.select(on_select, outputs=child)
    template.change(on_template, inputs=template, outputs=decision)
    fill_button.click(
        fill, inputs=[child, template, decision, diarienummer, guardians, reason], outputs=[text, message]
    )
    export_button.click(export, inputs=[child, template, text], outputs=[files, message])
