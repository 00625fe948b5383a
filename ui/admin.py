"""The administration tab: registered models with their metadata, switching the active model
without a restart, verifying model files, and the current model's memory use and speed.

``ModelAdmin`` holds the logic (testable without Gradio); ``build_admin_tab`` lays out the
tab and wires its events inside an open ``gr.Blocks``. A switch takes effect from the next
request: a summary in progress keeps the model it started with (see assistant.active_model).
"""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from assistant.access import AccessPolicy, Role
from assistant.audit import Action, Outcome
from assistant.errors import UserError
from assistant.models import verify
from assistant.pipeline import Assistant

REFUSED = "Bara en administratör får se och byta modeller. Försöket har loggats."
MODEL_COLUMNS = ["Aktiv", "Namn", "Fil", "sha256", "Arkitektur", "Parametrar", "Kvantisering", "Kontext", "Beskrivning"]


def rss_bytes(status: Path = Path("/proc/self/status")) -> int | None:
    """This process's resident memory (Linux); None where /proc is absent."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class ModelAdmin:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def model_names(self) -> list[str]:
        return list(self.assistant.models.registry().models)

    def rows(self) -> list[list]:
        registry = self.assistant.models.registry()
        current = self.assistant.models.current().ref.name
        rows = []
        for name, entry in registry.models.items():
            facts = entry.metadata
            present = "finns" if registry.file_path(entry).exists() else "saknas"
            rows.append(
                [
                    "●" if name == current else "",
                    name,
                    present,
                    entry.sha256[:12],
                    facts.get("architecture", ""),
                    _millions(facts.get("parameters")),
                    facts.get("quantisation", ""),
                    facts.get("context_length", entry.context_length),
                    entry.description,
                ]
            )
        return rows

    def switch(self, name: str | None) -> str:
        if not name:
            return "Välj en modell först."
        try:
            handle = self.assistant.models.switch(name)
        except UserError as exc:
            return f"Modellen byttes inte: {exc}"
        return (
            f"Aktiv modell är nu {handle.ref.name} (sha256 {handle.ref.sha256[:12]}…); "
            "nästa sammanställning använder den."
        )

    def verify(self, name: str | None) -> str:
        """Re-hash one model file, or every registered one when none is chosen."""
        registry = self.assistant.models.registry()
        lines = []
        for model in [name] if name else list(registry.models):
            try:
                verify(registry, registry.entry(model), force=True)
                lines.append(f"OK: {model}")
            except UserError as exc:
                lines.append(f"FEL: {model}: {exc}")
        return "\n".join(lines)

    def status(self) -> str:
        handle = self.assistant.models.current()
        memory = rss_bytes()
        speed = handle.tokens_per_second()
        loaded = "inläst" if handle.loaded else "inte inläst ännu (läses in vid första anropet)"
        return "\n".join(
            [
                f"Aktuell modell: {handle.ref.name} (sha256 {handle.ref.sha256[:12]}…), {loaded}",
                f"Minne (RSS för processen): {memory / 2**20:.0f} MB" if memory else "Minne: okänt",
                f"Hastighet: {speed:.1f} token/s över de senaste {len(handle.recent)} anropen"
                if speed
                else "Hastighet: inga genererande anrop ännu",
            ]
        )


def _millions(value) -> str:
    return f"{int(value) / 1e6:.0f} M" if value else ""


def _pre(text: str) -> str:
    return f"<pre class='admin-text'>{html.escape(text)}</pre>"


def build_admin_tab(tab: gr.Tab, assistant: Assistant, policy: AccessPolicy) -> None:
    """The admin tab's components, inside the open ``gr.Tab``; its events are wired here. The page shows
    the tab to administrators only, and every event checks the role again (a crafted request is refused
    and logged); a switch of the model is logged as an admin change."""
    admin = ModelAdmin(assistant)
    gr.Markdown("### Modeller")
    table = gr.Dataframe(headers=MODEL_COLUMNS, interactive=False, elem_id="admin-models", wrap=True)
    with gr.Row():
        chosen = gr.Dropdown(label="Modell", choices=[], value=None, elem_id="admin-model-select", scale=3)
        switch = gr.Button("Gör till aktiv modell", variant="primary", elem_id="admin-switch", scale=1)
        check = gr.Button("Verifiera (sha256)", elem_id="admin-verify", scale=1)
        refresh = gr.Button("Uppdatera", elem_id="admin-refresh", scale=1)
    message = gr.HTML(elem_id="admin-message")
    status = gr.HTML(elem_id="admin-status")

    def administrator(request: gr.Request | None, what: str):
        user = policy.current(getattr(request, "username", None))
        if user is None or user.role != Role.admin:
            policy.record(user, Action.ADMIN_CHANGE, outcome=Outcome.DENIED, detail=what)
            return None
        return user

    def show(request: gr.Request) -> tuple:
        if administrator(request, "visa modeller") is None:
            return gr.skip(), gr.skip(), _pre(REFUSED)
        names = admin.model_names()
        return admin.rows(), gr.Dropdown(choices=names), _pre(admin.status())

    def on_switch(name: str | None, request: gr.Request) -> tuple:
        user = administrator(request, f"byt modell {name or ''}")
        if user is None:
            return _pre(REFUSED), gr.skip(), gr.skip(), gr.skip()
        result = admin.switch(name)
        switched = result.startswith("Aktiv modell")
        policy.record(
            user, Action.ADMIN_CHANGE, outcome=Outcome.OK if switched else Outcome.FAILED, detail=f"modell {name}"
        )
        return (_pre(result), *show(request))

    def on_verify(name: str | None, request: gr.Request) -> str:
        if administrator(request, "verifiera modeller") is None:
            return _pre(REFUSED)
        return _pre(admin.verify(name))

    outputs = [table, chosen, status]
    tab.select(show, outputs=outputs)
    refresh.click(show, outputs=outputs)
    switch.click(on_switch, inputs=chosen, outputs=[message, *outputs])
    check.click(on_verify, inputs=chosen, outputs=message)
