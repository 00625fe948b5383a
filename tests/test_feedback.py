"""Corrections: stored with who and when, laid over summaries, exported as gold JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.errors import UserError
from assistant.feedback import Action, FeedbackStore, export_feedback, feedback_app, indicator_key, review_summary
from assistant.passages import split_passages
from assistant.schema import Category, Polarity
from assistant.settings import Settings
from assistant.store import Store
from assistant.taxonomy import load_taxonomy
from eval.gold import load_gold
from tests.test_ui_fixtures import T1_FINDINGS, fixture_reports, make_summary


@pytest.fixture
def taxonomy():
    return load_taxonomy()


@pytest.fixture
def home(tmp_path):
    """A home whose report store holds the fixture reports (SQLite only: no model, no vectors)."""
    home = tmp_path / "home"
    store = Store(Settings(home=home).db_path)
    store.upsert_reports([(r, split_passages(r, 400)) for r in fixture_reports()])
    store.close()
    return home


def test_correction_is_stored_with_who_and_when_and_latest_wins(tmp_path):
    summary = make_summary()
    store = FeedbackStore(tmp_path)
    first = summary.indicators[0]
    store.correct("T1", first, Action.reject, "Anna")
    store.correct("T1", first, Action.confirm, "  Bo  ")
    history = store.history("T1")
    assert [(c.action, c.user) for c in history] == [(Action.reject, "Anna"), (Action.confirm, "Bo")]
    assert history[0].created_at.tzinfo is not None
    latest = store.latest("T1")
    assert list(latest) == [indicator_key(first)] and latest[indicator_key(first)].user == "Bo"
    assert FeedbackStore(tmp_path).latest("T1") == latest  # survives a new connection


def test_a_correction_needs_a_name_and_a_real_change(tmp_path):
    summary = make_summary()
    store = FeedbackStore(tmp_path)
    indicator = summary.indicators[0]
    with pytest.raises(UserError, match="namn"):
        store.correct("T1", indicator, Action.reject, "  ")
    with pytest.raises(UserError, match="ny kategori"):
        store.correct("T1", indicator, Action.change, "Anna", indicator.category, indicator.polarity)
    assert store.history() == []


def test_review_applies_rejections_and_changes_and_recounts(tmp_path, taxonomy):
    summary = make_summary()
    store = FeedbackStore(tmp_path)
    by_quote = {i.citations[0].quote: i for i in summary.indicators}
    store.correct("T1", by_quote["blåmärken på båda armarna"], Action.reject, "Anna")
    store.correct("T1", by_quote["pappa slog henne"], Action.change, "Anna", new_polarity=Polarity.hedged)
    seen = by_quote["såg när pappa tog mamma om halsen"]
    store.correct("T1", seen, Action.change, "Bo", new_category=Category.parental_conflict)
    reviewed = review_summary(summary, store.latest("T1"), taxonomy)

    assert [i.number for i in reviewed.items] == [1, 2, 3, 4]  # numbering stays as the narrative cites it
    status = {i.original.citations[0].quote: i.status for i in reviewed.items}
    assert status["blåmärken på båda armarna"] == "reject" and status["Pappan förnekar att han har slagit någon"] == (
        "unreviewed"
    )
    counts = {c.category: c for c in reviewed.categories}
    assert counts[Category.physical_violence].count == 1  # one rejected, the hedged one still counts
    assert counts[Category.physical_violence].polarities == {"hedged": 1, "negated": 1}
    assert Category.witnessed_violence not in counts and counts[Category.parental_conflict].count == 1
    assert any("hals" in flag for flag in reviewed.escalation)  # still a violence category: the flag stays
    assert summary.categories != reviewed.categories  # the pipeline's own figures are untouched

    store.correct("T1", by_quote["såg när pappa tog mamma om halsen"], Action.reject, "Bo")
    rejected = review_summary(summary, store.latest("T1"), taxonomy)
    assert not any("hals" in flag for flag in rejected.escalation)  # the flag rested on the rejected finding
    assert [r.categories for r in rejected.reports] == [[Category.physical_violence], []]


def test_without_corrections_the_summary_is_shown_as_made(taxonomy):
    summary = make_summary()
    reviewed = review_summary(summary, {}, taxonomy)
    assert reviewed.categories == summary.categories and reviewed.escalation == summary.escalation


def test_summary_history_notices_new_and_changed_reports(tmp_path):
    summary = make_summary()
    store = FeedbackStore(tmp_path)
    reports = fixture_reports("T1")
    store.record_summary(summary, reports)
    record = store.last_summary("T1")
    assert record is not None and record.summary == summary
    assert set(record.report_versions) == {"T1-R1", "T1-R2"}
    assert record.categories == [Category.physical_violence, Category.witnessed_violence]
    assert record.unseen_reports(reports) == []
    changed = [reports[0].model_copy(update={"text": "Ny text."}), reports[1]]
    added = [*reports, reports[0].model_copy(update={"report_id": "T1-R3"})]
    assert record.unseen_reports(changed) == ["T1-R1"]
    assert record.unseen_reports(added) == ["T1-R3"]
    assert set(store.last_summaries()) == {"T1"}


def test_export_writes_gold_jsonl_that_the_gold_reader_accepts(home, tmp_path):
    summary = make_summary()
    store = FeedbackStore(home)
    by_quote = {i.citations[0].quote: i for i in summary.indicators}
    store.correct("T1", by_quote["pappa slog henne"], Action.confirm, "Anna")
    store.correct("T1", by_quote["blåmärken på båda armarna"], Action.reject, "Bo")
    seen = by_quote["såg när pappa tog mamma om halsen"]
    store.correct("T1", seen, Action.change, "Bo", new_category=Category.physical_violence)
    out = tmp_path / "out" / "feedback.jsonl"
    result = export_feedback(home, out)
    assert (result.reports, result.items, result.rejected, result.skipped) == (2, 2, 1, [])

    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    first = next(line for line in lines if line["report_id"] == "T1-R1")
    assert first["gold"] == [
        {"quote": "pappa slog henne", "category": "physical_violence", "polarity": "affirmed", "optional": False}
    ]
    assert first["rejected"][0]["quote"] == "blåmärken på båda armarna" and first["rejected"][0]["user"] == "Bo"
    assert first["reviewed_by"] == ["Anna", "Bo"]
    gold = {r.report_id: r for r in load_gold(out)}
    assert [(i.quote, i.category) for i in gold["T1-R2"].gold] == [
        ("såg när pappa tog mamma om halsen", Category.physical_violence)
    ]
    assert all(i.start is not None for r in gold.values() for i in r.gold)


def test_export_command(home, tmp_path):
    summary = make_summary()
    FeedbackStore(home).correct("T1", summary.indicators[1], Action.confirm, "Anna")
    out = tmp_path / "f.jsonl"
    result = CliRunner().invoke(feedback_app, ["export", "--out", str(out), "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "1 anmälningar, 1 bekräftade/ändrade och 0 avvisade" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["gold"][0]["quote"] == T1_FINDINGS[1].quote


def test_export_without_feedback_writes_an_empty_file(home, tmp_path):
    out = tmp_path / "empty.jsonl"
    assert export_feedback(home, out).reports == 0
    assert out.read_text(encoding="utf-8") == ""


def test_export_command_reads_home_from_the_main_cli(home, tmp_path):
    """Mounted as ``assistant --home DIR feedback export``, the command takes the main --home."""
    import typer

    main = typer.Typer()

    @main.callback()
    def root(home: Path | None = typer.Option(None)) -> None:  # noqa: B008 - as in assistant/cli.py
        pass

    main.add_typer(feedback_app, name="feedback")
    FeedbackStore(home).correct("T1", make_summary().indicators[0], Action.reject, "Anna")
    out = tmp_path / "via-main.jsonl"
    result = CliRunner().invoke(main, ["--home", str(home), "feedback", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["rejected"][0]["user"] == "Anna"
