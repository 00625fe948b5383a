"""The page's HTML as pure functions: escaping, highlighting, the timeline, the case list, uploads.
No browser and no model: summaries are built from known findings (tests/test_ui_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from assistant.feedback import Action, FeedbackStore, review_summary
from assistant.passages import split_passages
from assistant.pipeline import Assistant
from assistant.schema import Category, Polarity
from assistant.settings import Settings
from assistant.taxonomy import load_taxonomy
from tests.test_ui_fixtures import T1_FINDINGS, KnownFinding, fixture_reports, make_summary
from ui.service import CaseDesk, stage_uploads, swedish_error
from ui.views import (
    CaseRow,
    UploadOutcome,
    case_list_html,
    case_view_html,
    narrative_html,
    progress_html,
    report_view_html,
    source_view_html,
    timeline_svg,
    upload_results_html,
)

HOSTILE = 'Hon sa <script>alert("x")</script> & att pappa slog henne med en <b>sko</b>.'


@pytest.fixture
def taxonomy():
    return load_taxonomy()


@pytest.fixture
def desk(tmp_path):
    """A desk on a real store with the fixture reports; no model is loaded for any of this."""
    assistant = Assistant(Settings(home=tmp_path / "home"))
    assistant.store.upsert_reports([(r, split_passages(r, 400)) for r in fixture_reports()])
    return CaseDesk(assistant)


def test_report_text_is_escaped_everywhere(taxonomy):
    report = fixture_reports("T1")[0].model_copy(update={"text": HOSTILE, "report_id": "H-R1", "child_id": "H"})
    summary = make_summary(
        [report],
        [KnownFinding("pappa slog henne med en <b>sko</b>", Category.physical_violence, Polarity.affirmed)],
        narrative="Hon <i>sa</i> [1].",
    )
    citation = summary.indicators[0].citations[0]
    views = [
        case_view_html(review_summary(summary, {}, taxonomy), taxonomy),
        source_view_html(report, citation, 1, None, taxonomy),
        report_view_html(report, [(1, citation)]),
    ]
    for view in views:
        assert "<script>" not in view and "<b>sko</b>" not in view and "<i>" not in view
    assert "&lt;script&gt;" in views[1] and "&lt;b&gt;sko&lt;/b&gt;" in views[1]


def test_source_view_marks_the_quote_inside_its_passage(desk, taxonomy):
    summary = make_summary()
    indicator = summary.indicators[1]
    citation = indicator.citations[0]
    report = desk.assistant.store.report(citation.report_id)
    passage = desk.passage_of(citation.report_id, citation.passage_id)
    view = source_view_html(report, citation, 2, passage, taxonomy)
    assert '<span class="passage">Hon berättade att <mark class="cited" data-ref="2">pappa slog henne</mark>' in view
    assert "Elsa kom till skolan" in view  # the whole report gives the context
    assert "2022-03-14" in view and "skola" in view and "Källa [2]: anmälan T1-R1" in view


def test_case_view_groups_flags_and_shows_polarity_plainly(tmp_path, taxonomy):
    known = [
        *T1_FINDINGS,
        KnownFinding("Mentor har pratat med mamma", Category.protective_factor, Polarity.affirmed),
    ]
    summary = make_summary(known=known)
    store = FeedbackStore(tmp_path)
    store.correct("T1", summary.indicators[0], Action.reject, "Anna")
    view = case_view_html(review_summary(summary, store.latest("T1"), taxonomy), taxonomy, unseen=2)
    assert view.index("Varningssignaler") < view.index("Tidslinje") < view.index("Våld och konflikt")
    assert view.index("Våld och konflikt") < view.index("Skyddsfaktorer") < view.index("Mentor har pratat")
    assert "uppgift i andra hand" not in view and ">förnekas<" in view and "barnets egna ord" in view
    assert 'class="item status-reject"' in view and "<del>”blåmärken på båda armarna”</del>" in view
    assert "Avvisad av Anna" in view and "2 anmälan/anmälningar har kommit till" in view
    assert view.count("Beslutsstöd, inte beslut.") == 2
    assert 'data-cite="2"' in view and 'data-review="reject" data-number="2"' in view


def test_narrative_numbers_become_source_buttons_only_when_they_exist():
    html = narrative_html("Slag [1] och hot [7] <b>x</b>.", count=2)
    assert 'data-cite="1"' in html and "[7]" in html and 'data-cite="7"' not in html and "<b>" not in html


def test_timeline_is_valid_svg_with_one_dot_per_report_and_category_rows(taxonomy):
    summary = make_summary()
    svg = timeline_svg(summary.reports, taxonomy)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    dots = root.findall(f"{ns}circle")
    assert [d.get("data-report") for d in dots] == ["T1-R1", "T1-R2"]
    labels = [t.text for t in root.findall(f"{ns}text")]
    assert {"Anmälningar", "Fysiskt våld", "Barn som upplever våld", "2023"} <= set(labels)
    assert len(root.findall(f"{ns}rect")) == 2
    one = timeline_svg(summary.reports[:1], taxonomy)
    ET.fromstring(one)  # a single report still draws


def test_case_list_shows_summary_status_and_filters(desk, tmp_path):
    summary = make_summary()
    desk.record(summary)
    rows = {r.child_id: r for r in desk.case_rows()}
    assert rows["T1"].categories == ["Fysiskt våld", "Barn som upplever våld"] and rows["T1"].unseen == 0
    assert rows["T2"].summarized_at is None
    html = case_list_html(list(rows.values()), "t1")
    assert "Öppna ärende T1" in html and "Öppna ärende T2" not in html and "Sammanställningen är aktuell" in html
    stale = CaseRow("T3", 3, dt.date(2024, 1, 1), dt.date(2025, 1, 1), [], dt.datetime(2025, 2, 1, tzinfo=dt.UTC), 1)
    assert "1 ny(a) anmälan/anmälningar" in case_list_html([stale])
    assert "Inget ärende-id" in case_list_html([stale], "zz")


def test_open_case_is_instant_from_history_and_counts_unseen_reports(desk):
    assert desk.open_case("T1").summary is None
    summary = make_summary()
    desk.record(summary)
    case = desk.open_case("T1")
    assert case.summary == summary and case.unseen == 0
    report = fixture_reports("T1")[0].model_copy(update={"report_id": "T1-R9", "date": dt.date(2024, 1, 1)})
    desk.assistant.store.upsert_reports([(report, split_passages(report, 400))])
    assert desk.open_case("T1").unseen == 1


def test_correct_through_the_desk_shows_in_the_next_view(desk, taxonomy):
    summary = make_summary()
    desk.correct(summary, 3, "change", "Bo", new_polarity="hedged")
    reviewed = desk.review(summary)
    assert reviewed.items[2].indicator.polarity == Polarity.hedged
    assert "Ändrad av Bo" in case_view_html(reviewed, taxonomy)
    with pytest.raises(IndexError):
        desk.correct(summary, 9, "reject", "Bo")


def test_upload_errors_are_said_in_swedish():
    assert swedish_error("has no YAML front matter (a block between '---' lines at the top)").startswith(
        "metadata saknas överst i filen"
    )
    assert swedish_error("needs a sidecar file brev.yaml with report_id, child_id, date, reporter").startswith(
        "sidofilen brev.yaml"
    )
    assert swedish_error("line 3: not valid JSON (Expecting value)") == "rad 3: inte giltig JSON (Expecting value)"
    assert swedish_error("something new") == "filen kunde inte läsas: something new"
    html = upload_results_html([UploadOutcome("a.md", True, "1 ny"), UploadOutcome("<b>.txt", False, "fel")])
    assert "1 av 2 filer lästes in" in html and "&lt;b&gt;.txt" in html


def test_uploads_are_staged_together_so_sidecars_are_found(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "brev.docx").write_bytes(b"x")
    (second / "brev.yaml").write_text("report_id: X", encoding="utf-8")
    (second / "brev.docx").write_bytes(b"y")
    staged = stage_uploads([first / "brev.docx", second / "brev.yaml", second / "brev.docx"], tmp_path / "s")
    assert [p.name for p in staged] == ["brev.docx", "brev.yaml", "brev-2.docx"]
    assert all(p.parent == tmp_path / "s" for p in staged)


def test_progress_frame_streams_the_narrative_escaped():
    frame = progress_html("T1", "narrative", 0, 1, "Elsa <b>berättar</b>")
    assert "<progress" in frame and "Skriver sammanfattningen" in frame and "&lt;b&gt;" in frame


def test_stage_folder_is_created(tmp_path):
    (tmp_path / "x.md").write_text("x", encoding="utf-8")
    assert stage_uploads([tmp_path / "x.md"], tmp_path / "new" / "folder")[0].exists()


def test_exports_get_their_own_folders_and_old_ones_are_removed(desk):
    import os

    summary = make_summary()
    first = desk.export(summary, "md")
    second = desk.export(summary, "md")
    assert first.name == second.name and first.parent != second.parent
    old = first.parent
    os.utime(old, (0, 0))
    desk.export(summary, "pdf")
    assert not old.exists() and second.exists()
