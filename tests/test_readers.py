"""Files -> reports: every format, encodings, and clear errors naming file and problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.readers import collect_files, read_reports

META = {"report_id": "R1", "child_id": "C1", "date": "2023-04-19", "reporter": "polis"}
TEXT = "Pappan ska ha slagit Åsa. Hon är rädd för att gå hem efter skolan."


def front_matter(meta: dict, text: str) -> str:
    lines = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items())
    return f"---\n{lines}\n---\n{text}\n"


def write_sidecar(path: Path, meta: dict = META) -> None:
    path.with_suffix(".yaml").write_text(front_matter(meta, "").split("---")[1], encoding="utf-8")


def test_jsonl_reads_fields_and_ignores_extra_keys(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({**META, "text": TEXT, "gold": [{"quote": "x"}]}, ensure_ascii=False) + "\n\n")
    [report] = read_reports(path)
    assert (report.report_id, report.child_id, str(report.date), report.reporter) == ("R1", "C1", "2023-04-19", "polis")
    assert report.text == TEXT


@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_front_matter_text(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    path.write_text(front_matter(META, TEXT), encoding="utf-8")
    [report] = read_reports(path)
    assert report.text == TEXT and report.report_id == "R1"


def test_windows_1252_text_reads_swedish_letters(tmp_path):
    path = tmp_path / "r.txt"
    path.write_bytes(front_matter(META, TEXT).encode("cp1252"))
    assert read_reports(path)[0].text == TEXT


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "r.txt"
    path.write_bytes(b"\xef\xbb\xbf" + front_matter(META, TEXT).encode("utf-8"))
    assert read_reports(path)[0].text == TEXT


def test_mixed_encodings_are_refused(tmp_path):
    path = tmp_path / "r.txt"
    utf8_read_as_cp1252 = "Ã¥sa"  # what UTF-8 "åsa" looks like when saved again as Windows-1252
    path.write_bytes(
        front_matter(META, TEXT).encode("cp1252") + utf8_read_as_cp1252.encode("cp1252") + "ö".encode("cp1252")
    )
    with pytest.raises(InputError, match="mixes UTF-8 and Windows-1252"):
        read_reports(path)


def test_docx_with_sidecar(tmp_path):
    import docx

    path = tmp_path / "r.docx"
    document = docx.Document()
    for sentence in TEXT.split(". "):
        document.add_paragraph(sentence)
    document.save(path)
    write_sidecar(path)
    [report] = read_reports(path)
    assert "Åsa" in report.text and report.child_id == "C1"


def test_pdf_with_sidecar(tmp_path):
    from fpdf import FPDF

    path = tmp_path / "r.pdf"
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, TEXT)
    pdf.output(str(path))
    write_sidecar(path)
    [report] = read_reports(path)
    assert "rädd för att gå hem" in report.text


def test_docx_without_sidecar_names_the_missing_file(tmp_path):
    path = tmp_path / "r.docx"
    path.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(InputError, match=r"r\.docx: needs a sidecar file r\.yaml"):
        read_reports(path)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({**META, "text": TEXT, "date": "2023-13-01"}, "date: '2023-13-01' is not an ISO date"),
        ({**META, "text": TEXT, "date": "2999-01-01"}, "lies in the future"),
        ({k: v for k, v in META.items() if k != "child_id"} | {"text": TEXT}, "child_id: missing"),
        ({**META, "text": TEXT, "reporter": "rektor"}, "reporter: 'rektor' is not one of"),
        ({**META, "text": "   "}, "text: is empty"),
        ({**META, "report_id": "../etc/passwd", "text": TEXT}, "report_id: must be"),
    ],
)
def test_bad_fields_name_file_line_and_field(tmp_path, record, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**META, "report_id": "R0", "text": TEXT}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(InputError) as caught:
        read_reports(path)
    assert str(caught.value).startswith(f"{path}: line 2: ")
    assert problem in str(caught.value)


def test_broken_json_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"report_id": "R1", \n')
    with pytest.raises(InputError, match="line 1: not valid JSON"):
        read_reports(path)


def test_binary_and_empty_files(tmp_path):
    binary = tmp_path / "x.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    empty = tmp_path / "e.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="binary"):
        read_reports(binary)
    with pytest.raises(InputError, match="is empty"):
        read_reports(empty)


def test_duplicate_ids_within_a_file(tmp_path):
    path = tmp_path / "d.jsonl"
    line = json.dumps({**META, "text": TEXT})
    path.write_text(line + "\n" + line + "\n")
    with pytest.raises(InputError, match="report id used twice in the file: R1"):
        read_reports(path)


def test_size_limit(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({**META, "text": TEXT}) + "\n")
    with pytest.raises(InputError, match="above the limit"):
        read_reports(path, max_bytes=10)


def test_folders_expand_to_report_files_without_sidecars(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.jsonl", "sub/b.txt", "sub/c.pdf", "sub/c.yaml", "notes.csv", "README.md"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in collect_files([tmp_path])] == ["a.jsonl", "b.txt", "c.pdf"]
