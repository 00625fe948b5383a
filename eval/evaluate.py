"""One evaluation run end to end: suite -> runner -> scores -> report.html,
results.json, junit.xml, and a short console summary."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.runner import Runner
from eval.scoring import score_configuration
from eval.suite import Suite


@dataclass(frozen=True)
class RunOutput:
    results: dict[str, Any]
    out_dir: Path

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.results["configurations"])


def evaluate(suite: Suite, out_dir: Path, cache_dir: Path | None, progress: bool = True) -> RunOutput:
    """Run every configuration and case, score them and write the three files into ``out_dir``."""
    started = time.perf_counter()
    started_at = _now()
    out_dir.mkdir(parents=True, exist_ok=True)
    runner = Runner(suite, out_dir, cache_dir, progress)
    reports, plans = runner.run()
    configurations = [score_configuration(plan, reports, suite) for plan in plans]
    results = {
        "format": 1,
        "suite": {
            "name": suite.name,
            "description": suite.description,
            "path": str(suite.path) if suite.path else None,
            "gold_files": [str(p) for p in suite.gold_files],
            "injection": suite.injection,
            "bootstrap": suite.bootstrap.model_dump(),
            "metrics": suite.metrics,
            "thresholds": {k: v.model_dump() for k, v in suite.thresholds.items()},
        },
        "started_at": started_at,
        "finished_at": _now(),
        "seconds": time.perf_counter() - started,
        "cache_dir": str(cache_dir) if cache_dir else None,
        "pipeline": {"code_sha256": runner.version.code, "data_sha256": runner.version.data},
        "passed": all(c["passed"] for c in configurations),
        "configurations": configurations,
    }
    write_outputs(results, out_dir)
    return RunOutput(results, out_dir)


def write_outputs(results: dict[str, Any], out_dir: Path) -> None:
    from eval.junit import render_junit
    from eval.report import render_report

    (out_dir / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / "report.html").write_text(render_report(results), encoding="utf-8")
    (out_dir / "junit.xml").write_text(render_junit(results), encoding="utf-8")


def console_summary(results: dict[str, Any]) -> str:
    """Micro/macro F1 with intervals and the citation figures per configuration, then the thresholds."""
    lines = []
    for c in results["configurations"]:
        m, n, iv = c["metrics"], c["counts"], c["intervals"]
        lines.append(f"== {c['name']}  ({n['reports']} reports, {n['cases']} children; prompt {c['prompt']})")
        lines.append(
            f"   micro-F1 {m['micro_f1']:.3f}{_ci(iv['micro_f1'])}   macro-F1 {m['macro_f1']:.3f}"
            f"{_ci(iv['macro_f1'])}   (TP {n['tp']}, FP {n['fp']}, FN {n['fn']})"
        )
        lines.append(
            f"   citations: verified {m['share_verified']:.1%} ({n['citations_verified']} kept, "
            f"{n['citations_unverified']} dropped), precision {m['citation_precision']:.3f}, "
            f"recall {m['citation_recall']:.3f}, misattributed {m['misattributed_citations']}, "
            f"cross-child {m['cross_child_citations']}"
        )
        lines.append(
            f"   negated-as-affirmed {m['negated_as_affirmed_rate']:.1%} ({n['negated_as_affirmed']} of "
            f"{n['negated_items']}), schema-invalid outputs {m['schema_invalid_outputs']}"
            + (
                f", changed by injected instruction {m['injection_changed_reports']}"
                if m["injection_changed_reports"] is not None
                else ""
            )
        )
        lines.append(
            f"   latency per report p50 {_num(m['latency_p50_s'])} s, p95 {_num(m['latency_p95_s'])} s; "
            f"tokens {m['prompt_tokens']} prompt + {m['completion_tokens']} completion; "
            f"cache hit rate {_num(m['cache_hit_rate'])}"
        )
        for t in c["thresholds"]:
            value = "–" if t["value"] is None else f"{t['value']:.4g}"
            lines.append(f"   {'PASS' if t['passed'] else 'FAIL'} {t['metric']} = {value} (required {t['rule']})")
        errors = [case for case in c["cases"] if case["error"]]
        for case in errors:
            lines.append(f"   ERROR case {case['child_id']}: {case['error']}")
    return "\n".join(lines)


def _ci(interval: list[float] | None) -> str:
    return f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
