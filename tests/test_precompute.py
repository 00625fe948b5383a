"""Precomputation with the real tiny model in judge mode (the model path), real Chroma and SQLite."""

from __future__ import annotations

import shutil
import threading

from assistant.precompute import Precomputer
from assistant.settings import PROJECT_ROOT


def test_precompute_fills_the_cache_so_a_summary_calls_no_model(make_assistant, fixture_file):
    assistant = make_assistant()
    assistant.ingest([fixture_file])
    precomputer = Precomputer(assistant)
    before = precomputer.status()
    assert (before.done, before.total) == (0, 5)  # 3 reports + 2 narratives

    run = precomputer.run()
    assert run.items == 5 and run.failed == [] and run.analyses_written > 0
    assert precomputer.status().done == 5 and precomputer.plan() == []

    cached = assistant.store.counts()["analyses"]
    for child_id in ("T1", "T2"):
        summary = assistant.summarize(child_id)
        assert summary.stats.model_calls == 0 and summary.stats.cache_hits > 0
    assert assistant.store.counts()["analyses"] == cached  # the narratives were cached too


def test_precompute_resumes_after_being_stopped(make_assistant, fixture_file):
    """Without narratives, to keep it short: the state is the same whatever the work is."""
    assistant = make_assistant(narrative=False)
    assistant.ingest([fixture_file])
    stop = threading.Event()
    first = Precomputer(assistant).run(stop=stop, progress=lambda status: stop.set())
    assert first.items == 1

    resumed = Precomputer(make_assistant(assistant.settings.home, narrative=False))  # as a new process would
    assert resumed.status().done == 1
    assert [w.item for w in resumed.plan()] == [w.item for w in resumed.items()][1:]
    second = resumed.run()
    assert second.items == 2 and resumed.status().done == resumed.status().total == 3


def test_a_prompt_change_makes_analyses_stale_and_the_worker_redoes_them(make_assistant, fixture_file, tmp_path):
    """Judge answers only (no narratives), to keep it short."""
    assistant = make_assistant(narrative=False)
    assistant.ingest([fixture_file])
    Precomputer(assistant).run()

    prompts = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", prompts)
    judge = prompts / "judge.v1.yaml"
    judge.write_text(judge.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    changed = make_assistant(assistant.settings.home, prompts_dir=prompts, narrative=False)
    precomputer = Precomputer(changed)
    status = precomputer.status()
    assert (status.done, status.stale, status.total) == (0, 3, 3)

    redo = precomputer.run()
    assert redo.items == 3 and redo.analyses_written > 0  # the judge's answers are keyed by prompt: asked again
    assert precomputer.status().done == 3 and precomputer.status().stale == 0
    assert changed.summarize("T1").stats.model_calls == 0


def test_status_line_says_how_far_the_background_work_is():
    from assistant.precompute import PrecomputeStatus
    from ui.precompute_status import precompute_status_html

    assert "3 av 5 klara" in precompute_status_html(PrecomputeStatus(3, 5, 0, "t"))
    assert "2 görs om" in precompute_status_html(PrecomputeStatus(3, 5, 2, "t"))
    assert "Alla analyser är klara (5 av 5)" in precompute_status_html(PrecomputeStatus(5, 5, 0, "t"))
