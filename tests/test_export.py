"""The meeting brief: the PDF opens and carries the cited quotes, and all three formats say the same."""

from __future__ import annotations

import datetime as dt

import pytest
from docx import Document
from pypdf import PdfReader

from assistant.export import FORMATS, build_brief, to_markdown, write_brief
from assistant.feedback import Action, FeedbackStore, review_summary
from assistant.schema import Category
from assistant.taxonomy import load_taxonomy
from tests.test_ui_fixtures import T1_FINDINGS, KnownFinding, fixture_reports, make_summary


@pytest.fixture
def taxonomy():
    return load_taxonomy()


@pytest.fixture
def reviewed(tmp_path, taxonomy):
    """The T1 summary with one rejection and one category change by a named caseworker."""
    summary = make_summary()
    store = FeedbackStore(tmp_path / "home")
    store.correct("T1", summary.indicators[0], Action.reject, "Åsa Öberg", note="fel barn")
    store.correct("T1", summary.indicators[2], Action.change, "Åsa Öberg", new_category=Category.parental_conflict)
    return review_summary(summary, store.latest("T1"), taxonomy)


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_text(path) -> str:
    return flat(" ".join(page.extract_text() for page in PdfReader(path).pages))


def test_pdf_opens_and_contains_quotes_notice_and_provenance(reviewed, taxonomy, tmp_path):
    path = write_brief(reviewed, taxonomy, "pdf", tmp_path)
    assert path.read_bytes().startswith(b"%PDF")
    text = pdf_text(path)
    for finding in T1_FINDINGS:
        assert f"”{finding.quote}”" in text  # åäö and typographic quotes survive the font
    assert "Beslutsstöd, inte beslut." in text and "handläggaren läser källorna och fattar beslutet" in text
    assert "testmodell" in text and "extract.v1#12345678" in text
    assert "Tidslinje" in text and "2022-03-14 T1-R1 skola" in text
    assert "Avvisad av Åsa Öberg" in text and "(fel barn)" in text
    assert "Ändrad av Åsa Öberg" in text and "Barn som upplever våld → Konflikt mellan vårdnadshavare" in text
    assert "Varningssignaler" in text and "strypgrepp" in text


def test_docx_carries_the_same_content(reviewed, taxonomy, tmp_path):
    path = write_brief(reviewed, taxonomy, "docx", tmp_path)
    document = Document(str(path))
    text = flat(" ".join(p.text for p in document.paragraphs))
    table = [[c.text for c in row.cells] for row in document.tables[0].rows]
    for finding in T1_FINDINGS:
        assert f"”{finding.quote}”" in text
    assert "Beslutsstöd, inte beslut." in text and "testmodell" in text
    assert table[0] == ["Datum", "Anmälan", "Anmälare", "Indikatorer"]
    assert table[1][:3] == ["2022-03-14", "T1-R1", "skola"]
    struck = [r for p in document.paragraphs for r in p.runs if r.font.strike]
    assert struck and "blåmärken på båda armarna" in struck[0].text


def test_markdown_sections_and_escaping(taxonomy, tmp_path):
    report = fixture_reports("T1")[0].model_copy(
        update={"text": "Pappa skrev *hot* | <b>och</b> slog sönder [1] dörren.", "report_id": "X-R1"}
    )
    summary = make_summary(
        [report], [KnownFinding("slog sönder [1] dörren", Category.material_violence, "affirmed")], "Dörren [1]."
    )
    text = to_markdown(build_brief(review_summary(summary, {}, taxonomy), taxonomy))
    assert "”slog sönder \\[1\\] dörren”" in text  # report text cannot become Markdown links or HTML
    assert "<b>" not in text
    assert text.index("## Våld och konflikt") < text.index("## Övriga riskfaktorer") < text.index("## Skyddsfaktorer")
    assert text.rstrip().endswith("fattar beslutet.")


def test_all_formats_are_written_with_a_safe_name(reviewed, taxonomy, tmp_path):
    day = dt.date.today().isoformat()
    for fmt in FORMATS:
        path = write_brief(reviewed, taxonomy, fmt, tmp_path)
        assert path.name == f"motesunderlag-T1-{day}.{fmt}" and path.stat().st_size > 0
