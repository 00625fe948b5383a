"""The intake inbox end to end on real files: an e-mail with a PDF attachment and a plain text file
become proposals with the right child, date and reporter; confirming registers them through the
normal ingest path (stored, passages indexed in the real Chroma store); a forwarded copy is flagged
as a duplicate; an unreadable file lands in the rejected folder with its reason beside it."""

from __future__ import annotations

import datetime as dt
import io
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from assistant.audit import Action, AuditLog
from assistant.children import Child, find_personnummer, normalise_personnummer
from assistant.errors import UserError
from assistant.export import find_font
from assistant.intake import Incoming, Intake, normalised, propose, same_report

PNR = "201503020008"  # valid checksum; invented
POLICE_TEXT = (
    "Polisen, region Syd. Underrättelse om barn som far illa.\n"
    "Barnets namn: Ella Svensson, personnummer 150302-0008.\n"
    "En patrull kallades till lägenheten efter larm om bråk. Ella berättade att pappa hade slagit mamma "
    "i köket och att hon hade gömt sig i garderoben."
)
SCHOOL_TEXT = (
    "Barnets namn: Olle Berg\nFödd: 2016-05-04\n\n"
    "Jag är mentor för Olle i klass 3A. Den 4 mars 2025 kom han till skolan med ett blåmärke på kinden "
    "och sa att han inte ville gå hem. Han har varit trött och ledsen i flera veckor.\n\n"
    "Med vänlig hälsning\nKarin Lund\nMentor, Björkskolan"
)
SENT = "Tue, 11 Feb 2025 09:30:00 +0100"


def pdf_bytes(text: str) -> bytes:
    from fpdf import FPDF

    regular, _, _ = find_font()
    pdf = FPDF()
    pdf.add_font("Body", "", str(regular))
    pdf.set_font("Body", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, text, align="L")
    return bytes(pdf.output())


def police_email(path: Path) -> Path:
    message = EmailMessage()
    message["From"] = "Lars Ek <lars.ek@polisen.se>"
    message["To"] = "socialtjansten@kommun.se"
    message["Subject"] = "Underrättelse barn som far illa"
    message["Date"] = SENT
    message.set_content("Hej,\n\nSe bifogad underrättelse.\n\nLars Ek\nPolisen")
    message.add_attachment(pdf_bytes(POLICE_TEXT), maintype="application", subtype="pdf", filename="underrattelse.pdf")
    path.write_bytes(bytes(message))
    return path


@pytest.fixture
def intake(make_assistant):
    return Intake(make_assistant())


def test_email_with_pdf_and_text_file_are_proposed_and_registered(intake):
    from pypdf import PdfReader

    assert "patrull kallades" in " ".join(PdfReader(io.BytesIO(pdf_bytes(POLICE_TEXT))).pages[0].extract_text().split())
    intake.children.add(Child("C7", "Ella Svensson", dt.date(2015, 3, 2), PNR))
    police_email(intake.folders.inbox / "polisen.eml")
    (intake.folders.inbox / "mentor.txt").write_text(SCHOOL_TEXT, encoding="utf-8")

    results = intake.run_once("anna", "handläggare")

    assert sorted((r.file_name, r.outcome) for r in results) == [
        ("mentor.txt", "proposed"),
        ("polisen.eml", "proposed"),
    ]
    mail, school = sorted(intake.queue.list(("pending",)), key=lambda p: p.file_name != "polisen.eml")
    assert (mail.child_id, mail.reporter, mail.date) == ("C7", "polis", dt.date(2025, 2, 11))
    assert "personnumret" in mail.child_reason and "patrull kallades" in " ".join(mail.text.split())
    assert (school.child_id, school.child_name, school.birth_date) == ("", "Olle Berg", dt.date(2016, 5, 4))
    assert (school.reporter, school.date) == ("skola", dt.date(2025, 3, 4))
    assert not [p for p in intake.folders.inbox.rglob("*") if p.is_file()]
    assert sorted(p.name for p in intake.folders.processed.iterdir()) == ["mentor.txt", "polisen.eml"]
    store = intake.assistant.store
    assert store.children() == []  # nothing is registered before a caseworker confirms

    registered_mail = intake.confirm(mail.proposal_id, "anna")
    registered_school = intake.confirm(school.proposal_id, "anna", reporter="skola")

    assert registered_school.child_id == "B0001"
    assert intake.children.get("B0001").name == "Olle Berg"
    for proposal in (registered_mail, registered_school):
        [report] = [r for r in store.reports_for(proposal.child_id) if r.report_id == proposal.report_id]
        assert report.reporter == proposal.reporter and report.date == proposal.date
        passages = {p.passage_id for p in store.passages_of_report(report.report_id)}
        assert passages and set(intake.assistant.index.ids_for_report(report.report_id)) == passages
    assert store.unindexed_report_ids() == []
    hits = intake.assistant.retriever.select("C7", store.passages_for("C7"), ["pappa slog mamma"])
    assert hits.passages  # the registered report is found by retrieval, restricted to its child
    entries = [e for e in AuditLog(intake.settings.audit_path).entries() if e.action == Action.INTAKE_CONFIRM]
    assert [(e.user, e.child_id) for e in entries] == [("anna", "C7"), ("anna", "B0001")]
    assert not any("patrull" in e.detail or "blåmärke" in e.detail for e in entries)


def test_forwarded_copy_is_flagged_not_registered(intake):
    (intake.folders.inbox / "mentor.txt").write_text(SCHOOL_TEXT, encoding="utf-8")
    intake.run_once("anna")
    [first] = intake.queue.list(("pending",))
    registered = intake.confirm(first.proposal_id, "anna")

    forward = EmailMessage()
    forward["From"] = "rektor@bjorkskolan.se"
    forward["Subject"] = "Fwd: Oro för elev"
    forward["Date"] = SENT
    quoted = "\n".join(f"> {line}" for line in SCHOOL_TEXT.splitlines())
    forward.set_content(
        "Skickar vidare, ifall den inte kommit fram.\n\n---------- Vidarebefordrat meddelande ---------\n"
        f"Från: Karin Lund <karin@bjorkskolan.se>\nDatum: 4 mars 2025 15:02\nÄmne: Oro för elev\n"
        f"Till: socialtjansten@kommun.se\n\n{quoted}\n"
    )
    (intake.folders.inbox / "vidarebefordrat.eml").write_bytes(bytes(forward))
    (intake.folders.inbox / "samma-igen.txt").write_text(SCHOOL_TEXT, encoding="utf-8")

    results = intake.run_once("anna")

    assert {r.outcome for r in results} == {"duplicate"}
    duplicates = intake.queue.list(("duplicate",))
    assert {p.duplicate_of for p in duplicates} == {f"anmälan {registered.report_id}"}
    with pytest.raises(UserError, match="dubblett"):
        intake.confirm(duplicates[0].proposal_id, "anna")
    assert len(intake.assistant.store.reports_for(registered.child_id)) == 1
    rejects = [e for e in AuditLog(intake.settings.audit_path).entries() if e.action == Action.INTAKE_REJECT]
    assert len(rejects) == 2 and all("dubblett" in e.detail for e in rejects)


def test_unreadable_files_go_to_rejected_with_a_reason(intake):
    (intake.folders.inbox / "trasig.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<")
    (intake.folders.inbox / "bild.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (intake.folders.inbox / "tom.txt").write_bytes(b"")

    results = intake.run_once("anna")

    assert {r.outcome for r in results} == {"rejected"} and len(results) == 3
    assert intake.queue.list() == []
    rejected = intake.folders.rejected
    assert sorted(p.name for p in rejected.iterdir()) == [
        "bild.png",
        "bild.png.reason.txt",
        "tom.txt",
        "tom.txt.reason.txt",
        "trasig.pdf",
        "trasig.pdf.reason.txt",
    ]
    assert "damaged PDF" in (rejected / "trasig.pdf.reason.txt").read_text(encoding="utf-8")
    assert "unsupported file type '.png'" in (rejected / "bild.png.reason.txt").read_text(encoding="utf-8")
    assert not [p for p in intake.folders.inbox.rglob("*") if p.is_file()]


def test_reject_and_correct_are_audited(intake):
    (intake.folders.inbox / "a.txt").write_text(SCHOOL_TEXT, encoding="utf-8")
    (intake.folders.inbox / "b.md").write_text("Grannen hör skrik från lägenheten varje natt.\n", encoding="utf-8")
    intake.run_once("anna")
    school, neighbour = intake.queue.list(("pending",))
    assert neighbour.reporter == "privatperson" and neighbour.child_reason.startswith("varken")
    with pytest.raises(UserError, match="saknar barn"):
        intake.confirm(neighbour.proposal_id, "anna")
    with pytest.raises(UserError, match="skäl"):
        intake.reject(neighbour.proposal_id, "anna", " ")
    intake.reject(neighbour.proposal_id, "anna", "gäller inget barn i kommunen")
    confirmed = intake.confirm(school.proposal_id, "bo", child_id="K12", reporter="skola", date="2025-03-05")
    assert (confirmed.child_id, confirmed.date) == ("K12", dt.date(2025, 3, 5))
    with pytest.raises(UserError, match="registrerad"):
        intake.confirm(school.proposal_id, "bo")
    entries = AuditLog(intake.settings.audit_path).entries()
    assert [(e.action, e.user) for e in entries] == [(Action.INTAKE_REJECT, "anna"), (Action.INTAKE_CONFIRM, "bo")]
    assert "rättat: child_id, date" in entries[1].detail


@pytest.mark.parametrize(
    ("text", "sender", "expected"),
    [
        ("Jag är rektor på skolan och oroar mig.", "", "skola"),
        ("Vid besök på BVC såg sköterskan blåmärken.", "", "hälso- och sjukvård"),
        ("Patienten kom till vårdcentralen med mamma.", "", "hälso- och sjukvård"),
        ("Polisen ingrep efter larm.", "", "polis"),
        ("Personalen på förskolan har sett att hon är rädd.", "", "förskola"),
        ("Jag vill vara anonym men måste berätta.", "", "anonym"),
        ("Jag hör bråk genom väggen varje kväll.", "nisse@gmail.com", "privatperson"),
        ("Barnet verkar ledset.", "", "okänd"),
    ],
)
def test_reporter_is_proposed_from_wording_and_sender(text, sender, expected, intake):
    proposal = propose(Incoming("x.txt", text, {}, sender=sender, file_date=dt.date(2025, 1, 2)), intake.children)
    assert proposal.reporter == expected
    assert proposal.date == dt.date(2025, 1, 2) and proposal.date_reason == "filens ändringsdatum"


def test_personnummer_checksum_century_and_samordningsnummer():
    today = dt.date(2026, 1, 1)
    assert normalise_personnummer("150302-0008", today) == PNR
    assert normalise_personnummer("150302-0009", today) is None  # wrong check digit
    assert normalise_personnummer("150302+0008", today) == "191503020008"  # '+' means 100 years or older
    assert find_personnummer("pnr 20150362-0005 (samordningsnummer)", today) == "201503620005"
    assert find_personnummer("telefon 070-123 45 67", today) is None


def test_forwarding_headers_and_quotes_are_ignored_when_comparing():
    original = "Hon berättade att pappa slår henne när han har druckit. Hon är rädd att gå hem efter skolan idag."
    forwarded = (
        "VB: Oro\n-----Ursprungligt meddelande-----\nFrån: a@b.se\nSkickat: den 3 mars 2025 10:00\nTill: c@d.se\n"
        "Ämne: Oro\n\n> " + original.replace(". ", ".\n> ")
    )
    assert same_report(normalised(original), normalised(forwarded))
    assert not same_report(normalised(original), normalised(original.replace("pappa", "mamma")))


def test_a_file_is_taken_once_and_a_stopped_run_gives_it_back(intake):
    """The app's watcher and 'assistant intake run' may look at the inbox at the same moment: a file is
    claimed by one rename, and the loser skips it. A file left claimed by a stopped process returns."""
    waiting = intake.folders.inbox / "a.txt"
    waiting.write_text(SCHOOL_TEXT, encoding="utf-8")
    other = Intake(intake.assistant)
    [path] = other.waiting_files()
    intake.run_once("anna")
    assert other._take(path, "bo", "handläggare") is None
    assert len(intake.queue.list()) == 1

    intake.claims.mkdir(exist_ok=True)
    (intake.claims / "b.txt").write_text(SCHOOL_TEXT.replace("Olle", "Nils"), encoding="utf-8")
    intake.recover_claims()
    assert [p.name for p in intake.waiting_files()] == ["b.txt"]


def test_command_line_run_list_reject_with_user(tmp_path):
    """`assistant intake …` in a subprocess: the acting user given with --user reaches the audit log."""
    from tests.test_cli import run

    home = tmp_path / "home"
    (home / "inkorg").mkdir(parents=True)
    (home / "inkorg" / "mentor.txt").write_text(SCHOOL_TEXT, encoding="utf-8")
    (home / "inkorg" / "trasig.docx").write_bytes(b"not a zip")

    ran = run(home, "intake", "run", "--user", "cecilia")
    assert ran.returncode == 0, ran.stderr
    assert "FÖRSLAG  mentor.txt: förslag 1" in ran.stdout and "AVVISAD  trasig.docx" in ran.stderr
    listed = run(home, "intake", "list")
    assert "nytt barn: Olle Berg, född 2016-05-04" in listed.stdout and "anmälare: skola" in listed.stdout
    wrong = run(home, "intake", "confirm", "1", "--reporter", "brevbärare", "--user", "cecilia")
    assert wrong.returncode == 2 and "'brevbärare' är ingen anmälarkategori" in wrong.stderr
    rejected = run(home, "intake", "reject", "1", "--reason", "fel kommun", "--user", "cecilia")
    assert rejected.returncode == 0 and "avvisat" in rejected.stdout
    audit = [json.loads(line) for line in run(home, "audit", "export").stdout.splitlines()]
    assert [(e["action"], e["user"]) for e in audit] == [("intake_reject", "cecilia")]
    assert run(home, "intake", "list").stdout.strip() == "Inga förslag."


def test_jsonl_lines_and_a_docx_without_metadata_become_proposals(intake):
    from docx import Document

    lines = [
        {"text": "Grannen hör att pappa skriker på barnen varje kväll.", "date": "2024-02-01"},
        {"text": "Vid besöket på BVC hade barnet ett blåmärke.", "child_id": "K3", "reporter": "hälso- och sjukvård"},
    ]
    (intake.folders.inbox / "flera.jsonl").write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8"
    )
    letter = Document()
    letter.add_paragraph("Barnets namn: Nils Ek\nRektor på Ekskolan har sett att Nils är rädd för sin styvpappa.")
    letter.save(str(intake.folders.inbox / "rektor.docx"))

    intake.run_once("anna")

    by_text = {p.text[:12]: p for p in intake.queue.list(("pending",))}
    neighbour, clinic, school = by_text["Grannen hör "], by_text["Vid besöket "], by_text["Barnets namn"]
    assert (neighbour.reporter, neighbour.date, neighbour.date_reason) == (
        "privatperson",
        dt.date(2024, 2, 1),
        "datumet stod i filens metadata",
    )
    assert (clinic.child_id, clinic.reporter) == ("K3", "hälso- och sjukvård")
    assert (school.child_name, school.reporter, school.file_name) == ("Nils Ek", "skola", "rektor.docx")
