"""Files -> reports. Every format ends in the same validated ``Report``.

Supported: ``.jsonl`` (one report per line), ``.txt``/``.md`` with a YAML front
matter block, ``.docx``/``.pdf`` with a sidecar ``<name>.yaml``. A file that
cannot be read raises ``InputError`` naming the file and the problem; a file
is read whole before anything is stored, so a bad file leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError, field_validator

from assistant.errors import InputError
from assistant.schema import REPORTER_CATEGORIES, Report

REPORT_SUFFIXES = {".jsonl", ".txt", ".md", ".docx", ".pdf"}
SIDECAR_SUFFIXES = (".yaml", ".yml")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MAX_TEXT_CHARS = 200_000
ISO_DATE_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SURROGATE = re.compile("[\ud800-\udfff]")
# UTF-8 read as Windows-1252 leaves these pairs behind ("Ã¤" for "ä").
MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u02c6\u02dc]")


class ReportFields(BaseModel):
    """The metadata every report must carry, whatever its file format."""

    report_id: str
    child_id: str
    date: dt.date
    reporter: str
    text: str

    @field_validator("report_id", "child_id", mode="before")
    @classmethod
    def _id(cls, value: object) -> str:
        value = str(value).strip() if isinstance(value, (str, int)) else value
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise ValueError("must be 1-64 characters of letters, digits, '.', '_' or '-'")
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: object) -> dt.date:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, str):
            value = _parse_date(value.strip())
        if not isinstance(value, dt.date):
            raise ValueError("must be an ISO date (YYYY-MM-DD)")
        if value > dt.date.today():
            raise ValueError(f"{value} lies in the future")
        if value.year < 1900:
            raise ValueError(f"{value} is before 1900")
        return value

    @field_validator("reporter", mode="before")
    @classmethod
    def _reporter(cls, value: object) -> str:
        text = str(value or "").strip().lower()
        if text not in REPORTER_CATEGORIES:
            raise ValueError(f"'{value}' is not one of: {', '.join(REPORTER_CATEGORIES)}")
        return text

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty")
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"is longer than {MAX_TEXT_CHARS} characters")
        if "\x00" in value:
            raise ValueError("contains NUL bytes (binary data?)")
        if SURROGATE.search(value):
            raise ValueError("contains an invalid character (an unpaired UTF-16 surrogate escape such as \\ud800)")
        return value


def _parse_date(text: str) -> dt.date:
    """An ISO date, or the date of an ISO date-time; an impossible day (2024-02-30) is named as such."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        pass
    if ISO_DATE_SHAPE.match(text):
        raise ValueError(f"'{text}' is not an ISO date (YYYY-MM-DD): no such day")
    raise ValueError(f"'{text}' is not an ISO date (YYYY-MM-DD)")


def collect_files(paths: list[Path]) -> list[Path]:
    """Expand folders into the report files inside them, sorted; sidecars and READMEs left out."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and _is_report_file(p))
        else:
            files.append(path)
    return files


def _is_report_file(path: Path) -> bool:
    return path.suffix.lower() in REPORT_SUFFIXES and not path.name.upper().startswith("README")


def read_reports(path: Path, max_bytes: int = 20 * 1024 * 1024) -> list[Report]:
    """Read one file into reports, or raise ``InputError`` naming it."""
    suffix = path.suffix.lower()
    raw = _checked_bytes(path, max_bytes)
    if suffix == ".jsonl":
        return _read_jsonl(path, raw)
    if suffix in (".txt", ".md"):
        return [_read_front_matter(path, raw)]
    meta = _read_sidecar(path)
    text = _read_docx(path, raw) if suffix == ".docx" else _read_pdf(path, raw)
    return [_validated(path, {**meta, "text": text})]


def _checked_bytes(path: Path, max_bytes: int) -> bytes:
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise InputError(path, f"unsupported file type '{suffix}' (use {', '.join(sorted(REPORT_SUFFIXES))})")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot be read: {exc.strerror}") from None
    if size == 0:
        raise InputError(path, "is empty")
    if size > max_bytes:
        raise InputError(path, f"is {size:,} bytes, above the limit of {max_bytes:,}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot be read: {exc.strerror}") from None


def read_texts(path: Path, max_bytes: int = 20 * 1024 * 1024) -> list[tuple[dict, str]]:
    """The text of a file with whatever metadata it carries, none required: for the intake inbox,
    where metadata that is missing is proposed from the text. One (metadata, text) pair per report."""
    suffix = path.suffix.lower()
    raw = _checked_bytes(path, max_bytes)
    if suffix == ".jsonl":
        pairs = []
        for number, record in _jsonl_objects(path, raw):
            if not str(record.get("text") or "").strip():
                raise InputError(path, f"line {number}: expected a JSON object with a text")
            text = str(record.pop("text"))
            pairs.append((record, text))
        if not pairs:
            raise InputError(path, "contains no reports")
        return pairs
    if suffix in (".txt", ".md"):
        text = decode_text(path, raw)
        match = FRONT_MATTER.match(text)
        meta = _yaml_mapping(path, match.group(1)) if match else {}
        body = text[match.end() :].strip() if match else text.strip()
        if not body:
            raise InputError(path, "contains no text")
        return [(meta, body)]
    sidecar = next((path.with_suffix(s) for s in SIDECAR_SUFFIXES if path.with_suffix(s).exists()), None)
    meta = _read_sidecar(path) if sidecar else {}
    return [(meta, _read_docx(path, raw) if suffix == ".docx" else _read_pdf(path, raw))]


def decode_text(path: Path, raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; refuse binaries and mixed encodings."""
    if b"\x00" in raw[:8192]:
        raise InputError(path, "looks like a binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = raw.decode("cp1252", errors="replace")
    if MOJIBAKE.search(text):
        raise InputError(path, "mixes UTF-8 and Windows-1252 encodings; save it in one encoding (UTF-8)")
    if "\ufffd" in text:
        raise InputError(path, "is neither UTF-8 nor Windows-1252 text")
    return text


def _validated(path: Path, fields: dict, where: str = "") -> Report:
    try:
        valid = ReportFields.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'fields'}: {_reason(err)}" for err in exc.errors()
        )
        raise InputError(path, f"{where}{problems}") from None
    return Report(**valid.model_dump(), source_file=path.name)


def _reason(err: dict) -> str:
    if err["type"] == "missing":
        return "missing"
    return str(err["msg"]).removeprefix("Value error, ")


def _jsonl_objects(path: Path, raw: bytes) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is refused."""
    for number, line in enumerate(decode_text(path, raw).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"line {number}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise InputError(path, f"line {number}: not valid JSON (nested too deeply)") from None
        if not isinstance(record, dict):
            raise InputError(path, f"line {number}: expected a JSON object")
        yield number, record


def _read_jsonl(path: Path, raw: bytes) -> list[Report]:
    reports = [_validated(path, record, where=f"line {number}: ") for number, record in _jsonl_objects(path, raw)]
    if not reports:
        raise InputError(path, "contains no reports")
    ids = [r.report_id for r in reports]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(path, f"report id used twice in the file: {', '.join(duplicates)}")
    return reports


FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _read_front_matter(path: Path, raw: bytes) -> Report:
    text = decode_text(path, raw)
    match = FRONT_MATTER.match(text)
    if not match:
        raise InputError(path, "has no YAML front matter (a block between '---' lines at the top)")
    meta = _yaml_mapping(path, match.group(1))
    return _validated(path, {**meta, "text": text[match.end() :].strip()})


def _read_sidecar(path: Path) -> dict:
    for suffix in SIDECAR_SUFFIXES:
        sidecar = path.with_suffix(suffix)
        if sidecar.exists():
            return _yaml_mapping(sidecar, decode_text(sidecar, sidecar.read_bytes()))
    raise InputError(
        path, f"needs a sidecar file {path.with_suffix('.yaml').name} with report_id, child_id, date, reporter"
    )


class MetadataLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so the date check (not the YAML library) judges
    ``2024-02-30`` and names the field."""


MetadataLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_mapping(path: Path, text: str) -> dict:
    try:
        data = yaml.load(text, Loader=MetadataLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InputError(path, f"metadata is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except RecursionError:
        raise InputError(path, "metadata is not valid YAML (nested too deeply)") from None
    if not isinstance(data, dict):
        raise InputError(path, "metadata must be a YAML mapping of report_id, child_id, date, reporter")
    data.pop("text", None)
    return data


def _read_docx(path: Path, raw: bytes) -> str:
    import io

    import docx

    if raw[:4] != b"PK\x03\x04":
        if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise InputError(path, "is password-protected or an old .doc file; save it as an unprotected .docx")
        raise InputError(path, "is not a .docx file (not a ZIP package)")
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - zipfile, lxml and python-docx raise many kinds on damaged files
        raise InputError(path, f"is a damaged .docx file ({exc.__class__.__name__})") from None
    text = "\n\n".join(p.text for p in document.paragraphs if p.text.strip())
    if not text.strip():
        raise InputError(path, "contains no text")
    return text


def _read_pdf(path: Path, raw: bytes) -> str:
    import io
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not raw.startswith(b"%PDF"):
        raise InputError(path, "is not a PDF file")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not _opens_without_password(reader):
            raise InputError(path, "is password-protected; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on truncated files
        raise InputError(path, f"is a damaged PDF ({exc.__class__.__name__})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise InputError(path, "contains no extractable text (a scanned image?)")
    return text


def _opens_without_password(reader) -> bool:
    """A PDF with only an owner password (against printing, copying) opens in any viewer without asking."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - pypdf raises its own kinds, and DependencyError without an AES library
        return False
