"""The line under the title that says how far the background analysis has come."""

from __future__ import annotations

import gradio as gr

from assistant.precompute import Precomputer, PrecomputeStatus
from ui.views import esc

REFRESH_S = 5.0


def precompute_status_html(status: PrecomputeStatus) -> str:
    if status.total == 0:
        text = "Inga anmälningar att förbereda ännu."
    elif status.pending == 0:
        text = f"Alla analyser är klara ({status.done} av {status.total}): ärendena öppnas direkt."
    else:
        stale = f"; {status.stale} görs om efter byte av modell eller prompt" if status.stale else ""
        text = f"Analyserar anmälningar i bakgrunden: {status.done} av {status.total} klara{stale}."
    return f'<p class="precompute-status" role="status">{esc(text)}</p>'


def mount_precompute_status(precomputer: Precomputer) -> gr.HTML:
    """A status line refreshed every few seconds from the store (inside a ``gr.Blocks`` context)."""
    line = gr.HTML(precompute_status_html(precomputer.status()), elem_id="precompute-status", js_on_load=None)
    gr.Timer(REFRESH_S).tick(
        lambda: precompute_status_html(precomputer.status()), outputs=line, show_progress="hidden", queue=False
    )
    return line
