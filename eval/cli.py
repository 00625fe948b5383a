"""``assistant eval run SUITE.yaml | --gold FILE.jsonl`` and ``assistant eval compare A B``.

Exit codes: 0 all thresholds met, 1 a threshold failed, 2 a bad suite or gold
file (UserError, mapped by the main CLI). Importing this module is cheap: the
runner, the pipeline and the models are imported only inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.errors import UserError

eval_app = typer.Typer(no_args_is_help=True, help="Evaluation suites: run, compare.")


def _fail(code: int) -> None:
    """SystemExit, not typer.Exit: the main CLI runs typer with standalone_mode=False, where
    typer.Exit is returned as a value rather than ending the process with its code."""
    raise SystemExit(code)


@eval_app.command("run")
def run(
    suite: Annotated[Path | None, typer.Argument(help="Suite file (YAML), e.g. eval/suites/smoke.yaml")] = None,
    gold: Annotated[
        Path | None, typer.Option("--gold", help="Run the default configuration on this gold JSONL file")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (default eval/out/<suite>)")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not write cached model outputs")] = False,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Cache folder (default eval/.cache)")] = None,
    model: Annotated[str | None, typer.Option("--model", help="With --gold: a model name from the registry")] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="With --gold: an extract prompt, e.g. extract@1")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr")] = True,
):
    """Run a suite (or one gold file) and write report.html, results.json and junit.xml."""
    from assistant.settings import PROJECT_ROOT, disable_telemetry
    from eval.suite import gold_only_suite, load_suite

    disable_telemetry()
    if (suite is None) == (gold is None):
        raise UserError("give either a suite file or --gold FILE.jsonl (not both)")
    if suite is not None and (model or prompt):
        raise UserError("--model and --prompt go with --gold; a suite file names its own models and prompts")
    loaded = load_suite(suite) if suite is not None else gold_only_suite(gold, model, prompt)  # type: ignore[arg-type]
    from eval.evaluate import console_summary, evaluate
    from eval.runner import DEFAULT_CACHE_DIR

    default_name = loaded.name if suite is not None else f"gold-{loaded.name}"
    out_dir = out or PROJECT_ROOT / "eval" / "out" / default_name
    output = evaluate(loaded, out_dir, None if no_cache else (cache_dir or DEFAULT_CACHE_DIR), progress)
    for name in ("report.html", "results.json", "junit.xml"):
        typer.echo(f"Wrote {out_dir / name}")
    typer.echo(console_summary(output.results))
    if not output.passed:
        typer.echo("Some thresholds were not met.", err=True)
        _fail(1)


@eval_app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="Earlier run: its out folder or results.json")],
    run_b: Annotated[Path, typer.Argument(help="Later run: its out folder or results.json")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for compare.md (default: B's folder)")] = None,
):
    """Print and write what improved and what regressed between two runs."""
    from eval.compare import compare_runs

    text, target = compare_runs(run_a, run_b, out)
    typer.echo(text)
    typer.echo(f"Written to {target}", err=True)


def main() -> None:
    """Standalone entry (``python -m eval.cli``) with the main CLI's exit codes."""
    try:
        code = eval_app(standalone_mode=False)
    except UserError as exc:
        typer.echo(f"Fel: {exc}", err=True)
        sys.exit(2)
    except typer.TyperException as exc:  # usage errors (typer vendors click: not click.ClickException)
        show = getattr(exc, "show", None)
        show() if show else typer.echo(str(exc), err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
