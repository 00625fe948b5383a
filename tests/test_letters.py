"""Decision letters: every template fills from the case data, the edited text is written as a PDF and a
DOCX that open (text read back with pypdf and python-docx), no report text enters a letter by itself,
and each export is in the audit log."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from assistant.audit import Action, AuditLog
from assistant.children import Child
from assistant.errors import UserError
from assistant.letters import LetterDesk
from assistant.passages import split_passages
from assistant.schema import Report
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import Store

REPORT_TEXT = "Ella berättade att pappa slog mamma i köket. Hon gömde sig i garderoben."


@pytest.fixture
def letters(tmp_path):
    settings = Settings(home=tmp_path / "home")
    store = Store(settings.db_path)
    for report_id, day in (("R1", dt.date(2024, 11, 2)), ("R2", dt.date(2025, 2, 11))):
        report = Report(report_id=report_id, child_id="C7", date=day, reporter="polis", text=REPORT_TEXT)
        store.upsert_reports([(report, split_passages(report, 400))])
    desk = LetterDesk(settings, store)
    desk.children.add(Child("C7", "Ella Svensson", dt.date(2015, 3, 2), "201503020008"))
    return desk


def read_pdf(path) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def read_docx(path) -> str:
    from docx import Document

    return " ".join(" ".join(p.text for p in Document(str(path)).paragraphs).split())


def test_letter_is_filled_edited_and_written_as_pdf_and_docx(letters):
    text = letters.fill("C7", "inleda_utredning", "Anna Handläggare", "IFO 2025-0042", "Maria Svensson")
    for expected in (
        "Beslut att inleda utredning",
        "Ella Svensson, 20150302-0008",
        "Diarienummer: IFO 2025-0042",
        "Till: Maria Svensson",
        "2025-02-11",  # the latest report's date
        "11 kap. 1 § socialtjänstlagen",
        "Anna Handläggare",
        f"Handläggare, {letters.settings.letters.organisation}",
    ):
        assert expected in text, expected
    assert "pappa slog" not in text and "polis" not in text  # no report content unless the caseworker adds it
    edited = text.replace("Har du frågor", "Ni är välkomna till ett möte den 3 mars kl. 10.\n\nHar du frågor")

    files = letters.export("C7", "inleda_utredning", edited, "anna", "handläggare")

    assert files.pdf.parent == files.docx.parent == letters.outbox
    for content in (read_pdf(files.pdf), read_docx(files.docx)):
        for expected in ("Beslut att inleda utredning", "Ella Svensson", "IFO 2025-0042", "Anna Handläggare"):
            assert expected in content
        assert "Ni är välkomna till ett möte den 3 mars kl. 10." in content
    [entry] = AuditLog(letters.settings.audit_path).entries()
    assert (entry.action, entry.user, entry.child_id) == (Action.LETTER, "anna", "C7")
    assert entry.detail.startswith("inleda_utredning")


@pytest.mark.parametrize(
    ("decision", "sentence"),
    [
        ("inleda", "beslutat att inleda utredning"),
        ("inte_inleda", "beslutat att inte inleda utredning"),
        ("", "gör nu en förhandsbedömning"),
    ],
)
def test_information_letter_states_the_decision_picked(letters, decision, sentence):
    text = letters.fill("C7", "information_vardnadshavare", "Bo", decision=decision)
    assert sentence in text and "Information till vårdnadshavare" in text
    assert "[diarienummer]" in text and "[vårdnadshavare]" in text  # blanks are marked, not invented


def test_fixed_decision_templates_state_their_own_decision(letters):
    text = letters.fill("C7", "inte_inleda_utredning", "Bo", decision="inleda", reason="Uppgifterna är utredda.")
    assert "beslutat att inte inleda utredning" in text and "Skäl för beslutet: Uppgifterna är utredda." in text


def test_unknown_child_template_and_empty_or_unfilled_letter_are_refused(letters):
    with pytest.raises(UserError, match="inga anmälningar"):
        letters.fill("X9", "inleda_utredning", "Bo")
    with pytest.raises(UserError, match="finns inte"):
        letters.fill("C7", "okand_mall", "Bo")
    with pytest.raises(UserError, match="tomt"):
        letters.export("C7", "inleda_utredning", "  \n", "anna", "handläggare")
    unfilled = letters.fill("C7", "information_vardnadshavare", "Bo")
    with pytest.raises(UserError, match=r"tomma fält: \[vårdnadshavare\], \[diarienummer\]"):
        letters.export("C7", "information_vardnadshavare", unfilled, "anna", "handläggare")
    assert not letters.outbox.exists() or not list(letters.outbox.iterdir())


def test_a_template_with_an_unknown_variable_names_the_file(tmp_path, letters):
    folder = tmp_path / "mallar"
    shutil.copytree(PROJECT_ROOT / "letters", folder)
    (folder / "inleda_utredning.txt.j2").write_text("Hej {{ barnets_skonummer }}\n", encoding="utf-8")
    letters.settings.letters.templates_dir = folder
    desk = LetterDesk(letters.settings, letters.store)
    with pytest.raises(UserError, match=r"inleda_utredning\.txt\.j2"):
        desk.fill("C7", "inleda_utredning", "Bo")
