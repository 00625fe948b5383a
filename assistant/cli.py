"""Command line: ``assistant [--home DIR] ingest|summarize|children|models|reindex|ui``.

Exit codes: 0 success, 2 bad input (unknown child, bad file), 1 internal error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.config_cli import config_app
from assistant.errors import UserError
from assistant.feedback import feedback_app
from assistant.intake_cli import intake_app
from assistant.models_cli import models_app
from assistant.precompute_cli import precompute_command
from assistant.settings import disable_telemetry, load_settings
from assistant.users_cli import children_app, users_app
from eval.cli import eval_app

disable_telemetry()

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Lokal assistent för orosanmälningar.")
app.add_typer(models_app, name="models")
app.add_typer(config_app, name="config")
app.add_typer(eval_app, name="eval", help="Evaluation suites: run, compare.")
app.add_typer(feedback_app, name="feedback", help="Caseworkers' corrections: export as gold data.")
audit_app = typer.Typer(no_args_is_help=True, help="Audit log: verify the chain, export for a log review.")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(children_app, name="children")
app.add_typer(intake_app, name="intake")
app.command("precompute")(precompute_command)


class State:
    home: Path | None = None
    user: str | None = None


def _settings():
    return load_settings(**({"home": State.home} if State.home else {}))


def _assistant():
    from assistant.pipeline import Assistant

    return Assistant(_settings())


def _acting():
    """The access policy and who runs the command (see assistant/access.py)."""
    from assistant.access import AccessPolicy

    policy = AccessPolicy.for_settings(_settings())
    return policy, policy.cli_user(State.user)


def _err(message: str) -> None:
    typer.echo(message, err=True)


@app.callback()
def main(
    home: Annotated[Path | None, typer.Option(help="Folder for all state (default $ASSISTANT_HOME or ./data)")] = None,
    user: Annotated[
        str | None, typer.Option("--user", envvar="ASSISTANT_USER", help="Who runs the command (once users exist)")
    ] = None,
):
    State.home, State.user = home, user


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Files or folders")]):
    """Add reports from .jsonl, .txt/.md (front matter), .docx/.pdf (sidecar .yaml)."""
    from assistant.access import record_ingest

    policy, user = _acting()
    policy.require_upload(user, "cli")
    assistant = _assistant()
    results = assistant.ingest(
        paths,
        on_file=lambda r: typer.echo(_describe(r), err=bool(r.error)),
        admit=policy.admission(user, assistant.store),
    )
    record_ingest(policy, user, assistant.store, results, via="cli")
    if not results:
        _err("no report files found in the given paths")
        raise typer.Exit(2)
    if any(r.error for r in results):
        raise typer.Exit(2)


def _describe(result) -> str:
    if result.error:
        return f"FEL  {result.error}"
    counts: dict[str, int] = {}
    for outcome in result.outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return f"OK   {result.path}: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))


@app.command()
def summarize(
    child_id: str,
    format: Annotated[str, typer.Option("--format", "-f", help="json or md")] = "md",
    narrative: Annotated[bool, typer.Option(help="Write the short narrative with the LLM")] = True,
):
    """Print the indicator summary for one child."""
    if format not in ("json", "md"):
        _err("--format must be json or md")
        raise typer.Exit(2)
    from assistant.audit import Action
    from assistant.pipeline import Assistant

    policy, user = _acting()
    policy.require(user, child_id, Action.VIEW_SUMMARY, detail=f"cli {format}")
    settings = _settings()
    settings.narrative = narrative
    assistant = Assistant(settings)
    run = assistant.summarize(child_id, progress=_progress_printer())
    summary = policy.shown_summary(run.summary)
    if format == "json":
        typer.echo(json.dumps(summary.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        from assistant.render import to_markdown

        typer.echo(to_markdown(summary, assistant.taxonomy))
    stats = run.stats
    _err(
        f"{stats.passages} passager, {stats.cache_hits} från cache, {stats.model_calls} modellanrop "
        f"({stats.model_seconds:.1f} s)"
    )


def _progress_printer():
    if not sys.stderr.isatty():
        return None

    def show(step: str, done: int, total: int) -> None:
        sys.stderr.write(f"\r{step}: {done}/{total}   ")
        if done == total:
            sys.stderr.write("\n")

    return show


@app.command()
def train(
    gold: Annotated[list[Path], typer.Option("--gold", help="Annotated JSONL files (gold format)")],
    out: Annotated[Path | None, typer.Option(help="Where to write the classifier (default: settings)")] = None,
    features: Annotated[
        str, typer.Option(help="sentence: the index's embeddings; llm: a GGUF model's hidden states (slower, Swedish)")
    ] = "sentence",
    model: Annotated[str | None, typer.Option(help="llm features: registry model (default: the active one)")] = None,
    feature_cache: Annotated[
        Path | None, typer.Option(help="llm features: keep passage vectors here, so retraining is quick")
    ] = None,
):
    """Train the passage classifier from annotated reports (train split only, never test)."""
    from assistant.classifier import MIN_CHILDREN, MIN_POSITIVES, NETWORK_MIN_PASSAGES, RECIPES
    from assistant.classifier import train as train_classifier
    from assistant.schema import Category
    from eval.gold import load_gold_files

    if features not in RECIPES:
        raise UserError(f"--features must be one of {', '.join(RECIPES)}, not '{features}'")
    settings = _settings()
    examples = [
        example
        for report in load_gold_files(gold)
        for example in report.labelled_passages(settings.ingest.max_passage_chars)
    ]
    if features == "llm":
        from assistant.hidden_states import FeatureCache, HiddenStateEncoder, layers_at
        from assistant.models import Registry

        registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
        cache = FeatureCache(feature_cache) if feature_cache else None
        layers = layers_at(registry, model, RECIPES[features].depths)
        encoder = HiddenStateEncoder(
            registry, model, settings.llm.n_threads, cache, layers=layers, context=RECIPES[features].context
        )
        encoder_model = encoder.model_name
    else:
        from vectorstore.embeddings import Embedder

        encoder, encoder_model, layers = Embedder(settings.embedding), "", ()
    classifier = train_classifier(examples, encoder, [str(p) for p in gold], features, encoder_model, layers=layers)
    target = out or settings.extractor.classifier_path
    classifier.save(target)
    kind = "ett nätverk för alla kategorier" if classifier.hidden_weights is not None else "en regression per kategori"
    typer.echo(f"{len(examples)} passager, {len(classifier.categories)} kategorier, {kind} ({encoder.name})")
    typer.echo(f"-> {target}")
    if RECIPES[features].hidden and classifier.hidden_weights is None:
        typer.echo(f"  (nätverket kräver minst {NETWORK_MIN_PASSAGES} passager)")
    for category, f1 in classifier.cv_f1.items():
        typer.echo(f"  {category}: korsvaliderad F1 {float(f1):.2f}")
    for category in (c for c in Category if c not in classifier.categories):
        typer.echo(
            f"  {category.value}: inte inlärd (kräver minst {MIN_POSITIVES} passager hos minst {MIN_CHILDREN} barn)"
        )


@app.command()
def reindex():
    """Rebuild all vectors with the configured embedding model (reports are kept)."""
    assistant = _assistant()
    count = assistant.reindex(progress=_progress_printer())
    typer.echo(f"{count} anmälningar indexerade med {assistant.embedder.name}")


@app.command()
def delete(child: Annotated[str, typer.Option("--child", help="The child whose reports are erased")]):
    """Erase a child: reports, passages, vectors, cached analyses, corrections, inbox proposals (administrator)."""
    from assistant.audit import Action
    from assistant.erase import erase_child

    policy, user = _acting()
    policy.require_admin(user, f"delete {child}")
    erased = erase_child(_assistant(), child)
    policy.record(user, Action.DELETE_CHILD, child, detail=f"{erased.reports} anmälningar, {erased.passages} passager")
    typer.echo(
        f"Barn {child}: {erased.reports} anmälningar, {erased.passages} passager och {erased.inbox_files} "
        "inkorgsfiler raderade, med vektorer, analyser och rättelser"
    )


@app.command()
def ui(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
):
    """Start the web interface (bound to 127.0.0.1 unless told otherwise)."""
    from assistant.access import AccessPolicy
    from ui.app import serve

    policy = AccessPolicy.for_settings(_settings())
    if not policy.users.has_users():
        raise UserError("inga användare finns: skapa en administratör först med 'assistant users init'")
    serve(_assistant(), policy, host=host, port=port)


@audit_app.command("verify")
def audit_verify():
    """Check that no audit entry was edited or removed (exit 2 if one was)."""
    from assistant.audit import Action, AuditLog

    policy, user = _acting()
    policy.require_admin(user, "audit verify")
    check = AuditLog(_settings().audit_path).verify()  # before logging this review, which moves the head
    policy.record(user, Action.AUDIT_REVIEW, detail=f"verify {'ok' if check.ok else 'FEL'} {check.entries}")
    if not check.ok:
        _err(f"FEL  revisionsloggen är inte intakt: {check.problem}")
        raise typer.Exit(2)
    typer.echo(f"OK   {check.entries} poster, senaste kontrollsumma {check.head}")


@audit_app.command("export")
def audit_export(
    child: Annotated[str | None, typer.Option("--child", help="Only entries about this child")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD")] = None,
):
    """Print entries as JSON lines for a log review (user, role, action, child, time, outcome)."""
    from assistant.audit import Action, AuditLog, entry_as_dict

    for value in (start, end):
        if value:
            _check_day(value)
    policy, user = _acting()
    policy.require_admin(user, "audit export")
    for entry in AuditLog(_settings().audit_path).entries(child, start, end):
        typer.echo(json.dumps(entry_as_dict(entry), ensure_ascii=False))
    policy.record(user, Action.AUDIT_REVIEW, child or "", detail=f"export {start or ''}..{end or ''}")


def _check_day(value: str) -> None:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"'{value}' är inget datum (ÅÅÅÅ-MM-DD)") from None


def run() -> None:
    try:
        code = app(standalone_mode=False)  # returns typer.Exit's code instead of exiting
    except UserError as exc:
        _err(f"Fel: {exc}")
        sys.exit(2)
    except (typer.BadParameter, typer.Abort) as exc:
        _err(str(exc))
        sys.exit(2)
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument
        exc.show()
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - last resort: plain message, exit 1
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        _err(f"Internt fel: {exc.__class__.__name__}: {exc}")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
