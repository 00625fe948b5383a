"""The page's marks for reports registered from the inbox: the "ny" badge in the case list and the
ringed dot in the timeline, and escaping of proposal text (pure HTML functions, no browser)."""

from __future__ import annotations

import datetime as dt

from assistant.intake import Proposal
from assistant.schema import ReportRef
from assistant.taxonomy import load_taxonomy
from ui.intake_tab import mark_new, proposal_text_html, proposals_html
from ui.views import CaseRow, case_list_html, timeline_svg


def test_case_list_marks_children_with_new_reports():
    rows = [
        CaseRow("A1", 2, dt.date(2024, 1, 1), dt.date(2024, 2, 1)),
        CaseRow("B2", 1, dt.date(2024, 3, 1), dt.date(2024, 3, 1)),
    ]
    html = case_list_html(mark_new(rows, {"B2": {"INK-1"}}))
    a_row, b_row = html.split('<tr data-child="A1">')[1].split('<tr data-child="B2">')
    assert "badge-new" not in a_row and '<span class="badge-new"' in b_row and ">ny</span>" in b_row


def test_timeline_rings_new_reports():
    reports = [
        ReportRef(report_id="R1", date=dt.date(2024, 1, 1), reporter="skola"),
        ReportRef(report_id="INK-1", date=dt.date(2024, 6, 1), reporter="polis"),
    ]
    svg = timeline_svg(reports, load_taxonomy(), new_reports=frozenset({"INK-1"}))
    assert svg.count('class="report-dot new"') == 1 and "<title>ny · 2024-06-01" in svg
    assert 'class="report-dot" data-report="R1"' in svg


def test_proposal_text_and_fields_are_escaped():
    proposal = Proposal(
        proposal_id=3,
        file_name="<b>x</b>.txt",
        received_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        text="<script>alert(1)</script>\nrad två",
        child_name="<i>Olle</i>",
        reporter="skola",
    )
    html = proposals_html([proposal], []) + proposal_text_html(proposal)
    assert "<script>" not in html and "<b>x</b>" not in html and "<i>Olle</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>rad två" in html
