"""``assistant config show``: the effective settings after defaults, TOML file and environment.

``assistant config`` alone prints the same, as it did before the group existed.
"""

from __future__ import annotations

import typer

config_app = typer.Typer(help="Inställningar: show skriver ut de gällande värdena.")


def _show() -> None:
    from assistant.cli import _settings

    typer.echo(_settings().model_dump_json(indent=2))


@config_app.callback(invoke_without_command=True)
def config_main(context: typer.Context):
    """Print the effective settings (same as 'config show')."""
    if context.invoked_subcommand is None:
        _show()


@config_app.command("show")
def config_show():
    """Print the effective settings: defaults, then $ASSISTANT_HOME/assistant.toml, then ASSISTANT_* variables."""
    _show()
