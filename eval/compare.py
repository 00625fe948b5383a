"""Two runs -> what improved and what regressed, per metric and per case (Markdown)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import UserError
from eval.suite import METRIC_INFO

EPSILON = 1e-9


@dataclass(frozen=True)
class Change:
    config: str
    subject: str  # a metric name or "case <child>"
    before: float | None
    after: float | None
    better: bool | None  # None: unchanged or not comparable


def load_results(path: Path) -> tuple[Path, dict[str, Any]]:
    """Accept a run's out dir or its results.json."""
    file = path / "results.json" if path.is_dir() else path
    try:
        return file, json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{file}: cannot read results ({exc.strerror})") from None
    except ValueError as exc:
        raise UserError(f"{file}: not a results.json ({exc})") from None


def pair_configurations(a: dict, b: dict) -> list[tuple[str, dict, dict]]:
    """Same-named configurations; two single-configuration runs are compared whatever their names."""
    first = {c["name"]: c for c in a["configurations"]}
    second = {c["name"]: c for c in b["configurations"]}
    pairs = [(name, first[name], second[name]) for name in first if name in second]
    if not pairs and len(first) == 1 and len(second) == 1:
        (name_a, ca), (name_b, cb) = next(iter(first.items())), next(iter(second.items()))
        pairs = [(f"{name_a} → {name_b}", ca, cb)]
    return pairs


def changes(a: dict, b: dict) -> list[Change]:
    found: list[Change] = []
    for name, ca, cb in pair_configurations(a, b):
        for metric, info in METRIC_INFO.items():
            before, after = ca["metrics"].get(metric), cb["metrics"].get(metric)
            found.append(Change(name, metric, before, after, _better(before, after, info.higher_is_better)))
        cases_a = {c["child_id"]: c for c in ca["cases"]}
        for case in cb["cases"]:
            old = cases_a.get(case["child_id"])
            if old is None:
                continue
            before, after = old["metrics"]["micro_f1"], case["metrics"]["micro_f1"]
            changed_error = old["error"] != case["error"]
            better = (not case["error"]) if changed_error else _better(before, after, True)
            found.append(Change(name, f"case {case['child_id']}", before, after, better))
    return found


def _better(before: float | None, after: float | None, higher_is_better: bool) -> bool | None:
    if before is None or after is None or abs(after - before) <= EPSILON:
        return None
    return (after > before) == higher_is_better


def render_markdown(path_a: Path, a: dict, path_b: Path, b: dict) -> str:
    found = changes(a, b)
    lines = [
        f"# Comparison: {a['suite']['name']} → {b['suite']['name']}",
        "",
        f"- A: `{path_a}` ({a.get('finished_at', '?')})",
        f"- B: `{path_b}` ({b.get('finished_at', '?')})",
        "",
    ]
    if not pair_configurations(a, b):
        lines.append("No configuration occurs in both runs; nothing to compare.")
        return "\n".join(lines) + "\n"
    if a.get("pipeline") != b.get("pipeline"):
        lines += ["The pipeline's code or data files differ between the runs.", ""]
    for name, ca, cb in pair_configurations(a, b):
        if ca.get("settings_key") != cb.get("settings_key"):
            lines += [f"Configuration '{name}': model, prompt or settings differ between the runs.", ""]
    for title, verdict in (("Improved", True), ("Regressed", False)):
        rows = [c for c in found if c.better is verdict]
        lines += [f"## {title} ({len(rows)})", ""]
        if rows:
            lines += ["| configuration | metric / case | A | B | change |", "|---|---|---:|---:|---:|"]
            lines += [
                f"| {c.config} | {_name(c.subject)} | {_fmt(c.before)} | {_fmt(c.after)} | "
                f"{_delta(c.before, c.after)} |"
                for c in rows
            ]
        else:
            lines.append("Nothing.")
        lines.append("")
    for name, ca, cb in pair_configurations(a, b):
        status_a = {t["metric"]: t["passed"] for t in ca["thresholds"]}
        flips = [t for t in cb["thresholds"] if t["metric"] in status_a and status_a[t["metric"]] != t["passed"]]
        if flips:
            lines += [f"## Thresholds that changed verdict: {name}", ""]
            lines += [f"- {t['metric']} {t['rule']}: {'now passes' if t['passed'] else 'now FAILS'}" for t in flips]
            lines.append("")
    unchanged = sum(1 for c in found if c.better is None)
    lines.append(f"{unchanged} metric(s)/case(s) unchanged or not measured in both runs.")
    return "\n".join(lines) + "\n"


def _name(subject: str) -> str:
    return f"{METRIC_INFO[subject].label} (`{subject}`)" if subject in METRIC_INFO else subject


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def _delta(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "–"
    return f"{after - before:+.4g}"


def compare_runs(run_a: Path, run_b: Path, out: Path | None = None) -> tuple[str, Path]:
    """Render the comparison and write compare.md into ``out`` or B's directory."""
    path_a, a = load_results(run_a)
    path_b, b = load_results(run_b)
    for path, data in ((path_a, a), (path_b, b)):
        if "configurations" not in data or "suite" not in data:
            raise UserError(f"{path}: not a results.json written by `assistant eval run`")
    text = render_markdown(path_a, a, path_b, b)
    target_dir = out or path_b.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "compare.md"
    target.write_text(text, encoding="utf-8")
    return text, target
