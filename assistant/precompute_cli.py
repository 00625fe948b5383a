"""``assistant precompute [--status] [--limit N]``: analyse what the cache lacks, or show how far it is."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.settings import load_settings


def precompute_command(
    ctx: typer.Context,
    status: Annotated[bool, typer.Option("--status", help="Only show done/total, analyse nothing")] = False,
    limit: Annotated[int | None, typer.Option(help="Stop after this many items (reports or narratives)")] = None,
    child: Annotated[str | None, typer.Option(help="Only this child's reports and narrative")] = None,
):
    """Analyse every report (and each child's narrative) not yet analysed with the current model and prompts."""
    from assistant.pipeline import Assistant
    from assistant.precompute import Precomputer, PrecomputeStatus

    home = ctx.find_root().params.get("home")
    precomputer = Precomputer(Assistant(load_settings(**({"home": Path(home)} if home else {}))))
    if status:
        typer.echo(_describe(precomputer.status()))
        return

    def show(current: PrecomputeStatus) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\rförberäknar: {current.done}/{current.total}   ")

    run = precomputer.run(limit=limit, progress=show, child_id=child)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    typer.echo(
        f"{run.items} klara på {run.seconds:.1f} s, {run.analyses_written} nya modellsvar i cachen. "
        + _describe(precomputer.status())
    )
    for item in run.failed:
        typer.echo(f"FEL  {item} (se loggen)", err=True)
    if run.failed:
        raise typer.Exit(1)


def _describe(status) -> str:
    stale = f", {status.stale} görs om (annan modell eller prompt)" if status.stale else ""
    return f"Förberäknat: {status.done} av {status.total}{stale} [analys {status.tag}]"
