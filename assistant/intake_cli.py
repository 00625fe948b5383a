"""``assistant intake run|list|confirm|reject``: the inbox from the command line.

The acting user is ``--user`` (default: the operating-system user) until login
arrives; every decision is written to the audit log under that name.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

intake_app = typer.Typer(no_args_is_help=True, help="Inkorgen: läs in, lista, bekräfta eller avvisa förslag.")

UserOption = Annotated[str, typer.Option("--user", help="Who decides (default: the OS user)")]


def _intake(ctx: typer.Context):
    from assistant.intake import Intake
    from assistant.pipeline import Assistant
    from assistant.settings import load_settings

    home = ctx.find_root().params.get("home")
    return Intake(Assistant(load_settings(**({"home": Path(home)} if home else {}))))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "okänd"


@intake_app.command("run")
def run_inbox(ctx: typer.Context, user: UserOption = "") -> None:
    """Read every file in the inbox once into proposals (files move to processed/ or rejected/)."""
    intake = _intake(ctx)
    results = intake.run_once(user or _os_user(), "handläggare")
    if not results:
        typer.echo(f"Inkorgen {intake.folders.inbox} är tom.")
    for result in results:
        if result.outcome == "rejected":
            typer.echo(f"AVVISAD  {result.file_name}: {result.message} (se {intake.folders.rejected})", err=True)
        else:
            ids = ", ".join(str(i) for i in result.proposals)
            word = "DUBBLETT" if result.outcome == "duplicate" else "FÖRSLAG "
            typer.echo(f"{word} {result.file_name}: förslag {ids}")


@intake_app.command("list")
def list_proposals(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Also registered and rejected proposals")] = False,
) -> None:
    """Proposals waiting for a caseworker (and duplicates), with the reason behind each proposed field."""
    from assistant.intake import STATUS_WORDS

    intake = _intake(ctx)
    statuses = ("pending", "duplicate", "registered", "rejected") if all_ else ("pending", "duplicate")
    proposals = intake.queue.list(statuses)
    if not proposals:
        typer.echo("Inga förslag.")
    for p in proposals:
        extra = f" av {p.duplicate_of}" if p.duplicate_of else (f" som {p.report_id}" if p.report_id else "")
        typer.echo(f"{p.proposal_id}\t{STATUS_WORDS[p.status]}{extra}\t{p.file_name}")
        typer.echo(f"\tbarn: {p.child_label} ({p.child_reason})")
        typer.echo(f"\tdatum: {p.date} ({p.date_reason})")
        typer.echo(f"\tanmälare: {p.reporter} ({p.reporter_reason})")


@intake_app.command("confirm")
def confirm(
    ctx: typer.Context,
    proposal_id: int,
    child: Annotated[str | None, typer.Option("--child", help="The child's id (overrides the proposal)")] = None,
    reporter: Annotated[str | None, typer.Option("--reporter", help="Reporter category")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Report date, YYYY-MM-DD")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The child's name (for a new child)")] = None,
    born: Annotated[str | None, typer.Option("--born", help="The child's birth date, YYYY-MM-DD")] = None,
    user: UserOption = "",
) -> None:
    """Register a proposal, corrected where options are given, through the normal ingest path."""
    proposal = _intake(ctx).confirm(proposal_id, user or _os_user(), "handläggare", child, reporter, date, name, born)
    typer.echo(f"Registrerad: förslag {proposal_id} är anmälan {proposal.report_id} för barn {proposal.child_id}")


@intake_app.command("reject")
def reject(
    ctx: typer.Context,
    proposal_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why the proposal is not registered")],
    user: UserOption = "",
) -> None:
    """Set a proposal aside without registering it (the file stays in processed/)."""
    _intake(ctx).reject(proposal_id, user or _os_user(), reason)
    typer.echo(f"Förslag {proposal_id} avvisat.")
