"""The intake inbox: files dropped in a folder become proposals that a caseworker confirms.

A file (.eml with attachments, .txt, .md, .docx, .pdf, .jsonl) is read, and the
metadata it lacks is proposed from its text: the child (personnummer, or name
and birth date, matched against the child registry), the report date and the
reporter category. Nothing is registered until a caseworker confirms; a
confirmed report goes through the normal ingest path (``Assistant.ingest_file``),
so it is validated, split, stored and indexed like any other. A copy of a
report already known (the same text, or a forwarded copy) is marked as a
duplicate and never registered twice. Every file is kept: read files move to
the processed folder, unreadable ones to the rejected folder with a reason file.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import html
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel

from assistant.audit import Action, AuditLog, Outcome
from assistant.children import Child, ChildRegistry, birth_date_of, find_personnummer, normalise_personnummer
from assistant.errors import InputError, UserError
from assistant.pipeline import Assistant
from assistant.readers import ID_PATTERN, REPORT_SUFFIXES, SIDECAR_SUFFIXES, read_texts
from assistant.schema import REPORTER_CATEGORIES
from assistant.settings import Settings
from assistant.sqlitefile import SQLiteFile

INTAKE_SUFFIXES = REPORT_SUFFIXES | {".eml"}
DEFAULT_ROLE = "handläggare"
SYSTEM_USER = "system:inkorg"
MIN_CONTAINED_CHARS = 80  # a forwarded copy must share at least this much normalised text to count as one

Status = Literal["pending", "duplicate", "registered", "rejected"]
STATUS_WORDS = {"pending": "väntar", "duplicate": "dubblett", "registered": "registrerad", "rejected": "avvisad"}


@dataclass(frozen=True)
class Folders:
    inbox: Path
    processed: Path
    rejected: Path
    outbox: Path


def intake_folders(settings: Settings) -> Folders:
    config, home = settings.intake, settings.home
    return Folders(
        inbox=config.inbox or home / "inkorg",
        processed=config.processed or home / "inkorg-behandlade",
        rejected=config.rejected or home / "inkorg-avvisade",
        outbox=config.outbox or home / "utkorg",
    )


# --- reading a file ---------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """One report as read from the inbox, before anything is proposed."""

    file_name: str
    text: str
    meta: dict
    sent: dt.date | None = None  # the e-mail's Date header
    sender: str = ""
    subject: str = ""
    file_date: dt.date | None = None


def read_incoming(path: Path, max_bytes: int) -> list[Incoming]:
    """Read an inbox file into reports; raises ``InputError`` naming the file when it cannot be read."""
    file_date = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    if path.suffix.lower() == ".eml":
        return [_read_eml(path, max_bytes, file_date)]
    return [Incoming(path.name, text, meta, file_date=file_date) for meta, text in read_texts(path, max_bytes)]


def _read_eml(path: Path, max_bytes: int, file_date: dt.date) -> Incoming:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(path, "is empty")
    if len(raw) > max_bytes:
        raise InputError(path, f"is {len(raw):,} bytes, above the limit of {max_bytes:,}")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not (message["From"] or message["Date"] or message["Subject"]):
        raise InputError(path, "is not an e-mail message (no From, Date or Subject header)")
    parts = [_body_text(message)]
    with tempfile.TemporaryDirectory(prefix="bilagor-") as folder:
        for attachment in message.iter_attachments():
            parts.append(_attachment_text(path, attachment, Path(folder), max_bytes))
    text = "\n\n".join(p for p in parts if p.strip()).strip()
    if not text:
        raise InputError(path, "contains no text")
    sent = None
    if message["Date"]:
        try:
            sent = email.utils.parsedate_to_datetime(str(message["Date"])).date()
        except (TypeError, ValueError):
            sent = None
    sender = email.utils.parseaddr(str(message["From"] or ""))[1]
    return Incoming(path.name, text, {}, sent, sender, str(message["Subject"] or ""), file_date)


def _body_text(message) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if body.get_content_subtype() == "html":
        content = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))
    return content.strip()


def _attachment_text(path: Path, attachment, folder: Path, max_bytes: int) -> str:
    if attachment.get_content_type() == "message/rfc822":  # a report forwarded as an attached e-mail
        inner = attachment.get_content()
        return _body_text(inner)
    name = Path(attachment.get_filename() or "bilaga").name
    if Path(name).suffix.lower() not in REPORT_SUFFIXES:
        raise InputError(path, f"attachment '{name}' has an unsupported file type")
    target = folder / name
    target.write_bytes(attachment.get_payload(decode=True) or b"")
    try:
        texts = read_texts(target, max_bytes)
    except InputError as exc:
        raise InputError(path, f"attachment {name} {exc.problem}") from None
    return "\n\n".join(f"[Bilaga: {name}]\n{text}" for _, text in texts)


# --- proposing the metadata ---------------------------------------------------------------

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("januari", "jan"),
            ("februari", "feb"),
            ("mars", "mar"),
            ("april", "apr"),
            ("maj",),
            ("juni", "jun"),
            ("juli", "jul"),
            ("augusti", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "okt"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)")
SWEDISH_DATE = re.compile(
    r"(?i)(?<!\d)(\d{1,2})\s+(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+((?:19|20)\d\d)"
)
BIRTH = re.compile(r"(?i)(?:född|f\.|födelsedatum|födelsedag)\s*:?\s*")
NAME_WORD = r"[A-ZÅÄÖÉÜ][a-zåäöéüA-ZÅÄÖÉÜ\-]+"
NAME = re.compile(
    r"(?im)^\s*(?:barnets namn|barnet|barn|elev|elevens namn|namn|angående|gäller|ang\.?)\s*[:\-]\s*"
    rf"({NAME_WORD}(?:[ \t]+{NAME_WORD}){{1,3}})"
)
CALLED = re.compile(
    rf"(?i:barnet|flickan|pojken|dottern|sonen|eleven)\s+heter\s+({NAME_WORD}(?:[ \t]+{NAME_WORD}){{0,2}})"
)

# (category, pattern): words and sender domains that point to a reporter category, strongest first in each.
REPORTER_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("anonym", re.compile(r"(?i)\banonym\w*|vill inte (?:uppge|lämna) (?:mitt )?namn")),
    ("polis", re.compile(r"(?i)\bpolis\w*|\bpatrull\w*|\bpolismyndigheten|@polisen\.se")),
    ("förskola", re.compile(r"(?i)\bförskol\w*|\bförskollärare|\bbarnskötare")),
    (
        "skola",
        re.compile(
            r"(?i)\bmentor\w*|\brektor\w*|\bskolsköterska\w*|\bskolkurator\w*|\bkurator\w*|\blärare\w*|"
            r"\bklasslärare|\belevhälsa\w*|\bskola\b|\bskolan\b|\bgrundskola\w*|\bgymnasi\w*"
        ),
    ),
    (
        "hälso- och sjukvård",
        re.compile(
            r"(?i)\bbvc\b|\bvårdcentral\w*|\bsjukhus\w*|\bakuten\b|\bbarnmorsk\w*|\bdistriktssköterska\w*|"
            r"\bläkare\w*|\bbup\b|\bpsykiatri\w*|\bbarnklinik\w*|\bsjuksköterska\w*|\b1177\b|@regione?\w*\.se"
        ),
    ),
    ("socialtjänst", re.compile(r"(?i)\bsocialtjänst\w*|\bsocialsekreterare\w*|\bfamiljebehandlare\w*")),
    (
        "annan myndighet",
        re.compile(
            r"(?i)\bkriminalvården|\bmigrationsverket|\bförsäkringskassan|\barbetsförmedlingen|\bkronofogden|"
            r"\btullverket|\bkustbevakningen|\bfrivården"
        ),
    ),
    (
        "privatperson",
        re.compile(
            r"(?i)\bgrann\w*|\bmormor|\bmorfar|\bfarmor|\bfarfar|\bmoster|\bfaster|\bmorbror|\bfarbror|"
            r"\bsläkting\w*|\bprivatperson|@(?:gmail|hotmail|outlook|yahoo|icloud|live)\.\w+"
        ),
    ),
]
SIGNATURE_LINES = 6


class Proposal(BaseModel):
    """What the inbox proposes for one report, with the reason for each field, and what became of it."""

    proposal_id: int = 0
    file_name: str
    received_at: dt.datetime
    status: Status = "pending"
    text: str
    child_id: str = ""  # a known child; empty with a name or personnummer: a new child at registration
    child_name: str = ""
    birth_date: dt.date | None = None
    personnummer: str = ""
    child_reason: str = ""
    date: dt.date | None = None
    date_reason: str = ""
    reporter: str = "okänd"
    reporter_reason: str = ""
    sender: str = ""
    subject: str = ""
    duplicate_of: str = ""
    report_id: str = ""
    decided_by: str = ""
    decided_at: dt.datetime | None = None
    note: str = ""

    @property
    def child_label(self) -> str:
        if self.child_id:
            return self.child_id
        if self.child_name or self.personnummer:
            born = f", född {self.birth_date}" if self.birth_date else ""
            return f"nytt barn: {self.child_name or 'namn okänt'}{born}"
        return "okänt barn"


def propose(incoming: Incoming, children: ChildRegistry, today: dt.date | None = None) -> Proposal:
    today = today or dt.date.today()
    meta = incoming.meta
    proposal = Proposal(
        file_name=incoming.file_name,
        received_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        text=incoming.text,
        sender=incoming.sender,
        subject=incoming.subject,
    )
    _propose_child(proposal, meta, children, today)
    _propose_date(proposal, incoming, today)
    proposal.reporter, proposal.reporter_reason = _propose_reporter(meta, incoming)
    return proposal


def _propose_child(proposal: Proposal, meta: dict, children: ChildRegistry, today: dt.date) -> None:
    text = proposal.text
    given_id = str(meta.get("child_id") or "").strip()
    pnr = normalise_personnummer(str(meta.get("personnummer") or ""), today) or find_personnummer(text, today) or ""
    name_match = NAME.search(text) or CALLED.search(text)
    name = str(meta.get("namn") or meta.get("name") or (name_match.group(1) if name_match else "")).strip()
    birth = birth_date_of(pnr) if pnr else _birth_date(text, meta)
    proposal.child_name, proposal.birth_date, proposal.personnummer = name, birth, pnr
    if given_id and ID_PATTERN.match(given_id):
        proposal.child_id, proposal.child_reason = given_id, "barnets id stod i filens metadata"
        return
    known = children.match(pnr, name, birth)
    if known is not None:
        how = "personnumret" if pnr and known.personnummer == pnr else "namn och födelsedatum"
        proposal.child_id = known.child_id
        proposal.child_reason = f"{how} stämmer med {known.describe()}"
        if not proposal.child_name:
            proposal.child_name = known.name
        return
    if pnr or name:
        found = ", ".join(w for w in ("personnummer" if pnr else "", "namn" if name else "") if w)
        proposal.child_reason = f"inget känt barn matchar ({found} i texten): ett nytt barn skapas vid registrering"
    else:
        proposal.child_reason = "varken personnummer eller namn hittades: ange barnet"


def _birth_date(text: str, meta: dict) -> dt.date | None:
    given = meta.get("född") or meta.get("birth_date") or meta.get("födelsedatum")
    if isinstance(given, dt.date):
        return given
    for match in BIRTH.finditer(text):
        found = _dates(text[match.end() : match.end() + 30])
        if found and found[0][0] == 0:
            return found[0][1]
    return None


def _dates(text: str) -> list[tuple[int, dt.date]]:
    """(offset, date) for every ISO or Swedish written date ('3 mars 2024') in a text."""
    found = []
    for match in ISO_DATE.finditer(text):
        try:
            found.append((match.start(), dt.date(int(match[1]), int(match[2]), int(match[3]))))
        except ValueError:
            continue
    for match in SWEDISH_DATE.finditer(text):
        try:
            found.append((match.start(), dt.date(int(match[3]), MONTHS[match[2].lower()], int(match[1]))))
        except ValueError:
            continue
    return sorted(found)


def _propose_date(proposal: Proposal, incoming: Incoming, today: dt.date) -> None:
    given = incoming.meta.get("date")
    if isinstance(given, dt.date) or (isinstance(given, str) and ISO_DATE.fullmatch(given.strip())):
        proposal.date = given if isinstance(given, dt.date) else dt.date.fromisoformat(given.strip())
        proposal.date_reason = "datumet stod i filens metadata"
        return
    if incoming.sent and incoming.sent <= today:
        proposal.date, proposal.date_reason = incoming.sent, "e-postens datum (Date)"
        return
    in_text = [d for _, d in _dates(incoming.text) if d <= today and d != proposal.birth_date and d.year >= 1990]
    if in_text:
        proposal.date, proposal.date_reason = max(in_text), "senaste datum i texten"
        return
    proposal.date, proposal.date_reason = incoming.file_date or today, "filens ändringsdatum"


def _propose_reporter(meta: dict, incoming: Incoming) -> tuple[str, str]:
    given = str(meta.get("reporter") or "").strip().lower()
    if given in REPORTER_CATEGORIES:
        return given, "anmälaren stod i filens metadata"
    lines = [line for line in incoming.text.splitlines() if line.strip()]
    signature = "\n".join(lines[-SIGNATURE_LINES:])
    scores: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for category, pattern in REPORTER_CUES:
        for where, text, weight in (
            ("avsändaren", incoming.sender, 3.0),
            ("signaturen", signature, 2.0),
            ("texten", incoming.text, 1.0),
        ):
            hits = pattern.findall(text)
            if hits:
                scores[category] = scores.get(category, 0.0) + weight * min(len(hits), 3)
                reasons.setdefault(category, f"”{hits[0].strip()}” i {where}")
    if not scores:
        return "okänd", "inga ledtrådar om anmälaren hittades"
    best = max(scores, key=lambda c: (scores[c], -[c2 for c2, _ in REPORTER_CUES].index(c)))
    return best, reasons[best]


# --- duplicates ------------------------------------------------------------------------------

FORWARD_MARKER = re.compile(
    r"(?im)^[ \t>]*-{2,}\s*(?:vidarebefordrat meddelande|forwarded message|ursprungligt meddelande|"
    r"original message)\s*-{2,}[ \t]*$"
)
HEADER_LINE = re.compile(r"(?im)^[ \t>]*(?:från|from|skickat|sent|datum|date|till|to|kopia|cc|ämne|subject)\s*:.*$")
SUBJECT_PREFIX = re.compile(r"(?i)\b(?:fwd?|vb|vs|sv|re)\s*:")
ATTACHMENT_LINE = re.compile(r"(?im)^\[Bilaga: [^\]]*\]$")


def normalised(text: str) -> str:
    """Text to compare copies by: forwarding markers, mail headers, quote marks, case and punctuation gone."""
    text = FORWARD_MARKER.sub(" ", text)
    text = HEADER_LINE.sub(" ", text)
    text = ATTACHMENT_LINE.sub(" ", text)
    text = re.sub(r"(?m)^[ \t]*(?:>[ \t]?)+", "", text)
    text = SUBJECT_PREFIX.sub(" ", text)
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def fingerprint(text: str) -> str:
    return hashlib.sha256(normalised(text).encode("utf-8")).hexdigest()


def same_report(a: str, b: str) -> bool:
    """Equal after normalising, or one holds the other whole (a forwarded copy with a note added)."""
    if a == b:
        return bool(a)
    short, long = sorted((a, b), key=len)
    return len(short) >= MIN_CONTAINED_CHARS and short in long


# --- the queue ------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    proposal_id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    child_id TEXT NOT NULL DEFAULT '',
    report_id TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals (status);
"""


class IntakeQueue(SQLiteFile):
    """Proposals persisted in SQLite under the home: one connection per call, safe from several threads."""

    schema = SCHEMA

    def add(self, proposal: Proposal) -> Proposal:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO proposals (status, fingerprint, data) VALUES (?, ?, '{}')",
                (proposal.status, fingerprint(proposal.text)),
            )
            proposal.proposal_id = int(cursor.lastrowid or 0)
        return self.save(proposal)

    def save(self, proposal: Proposal) -> Proposal:
        with self._connect() as db:
            db.execute(
                "UPDATE proposals SET status = ?, child_id = ?, report_id = ?, decided_at = ?, data = ? "
                "WHERE proposal_id = ?",
                (
                    proposal.status,
                    proposal.child_id,
                    proposal.report_id,
                    proposal.decided_at.isoformat() if proposal.decided_at else "",
                    proposal.model_dump_json(),
                    proposal.proposal_id,
                ),
            )
        return proposal

    def get(self, proposal_id: int) -> Proposal:
        with self._connect() as db:
            row = db.execute("SELECT data FROM proposals WHERE proposal_id = ?", (proposal_id,)).fetchone()
        if row is None:
            raise UserError(f"förslag {proposal_id} finns inte i inkorgen")
        return Proposal.model_validate_json(row["data"])

    def list(self, statuses: tuple[Status, ...] = ("pending", "duplicate", "registered", "rejected")) -> list[Proposal]:
        marks = ", ".join("?" for _ in statuses)
        with self._connect() as db:
            rows = db.execute(
                f"SELECT data FROM proposals WHERE status IN ({marks}) ORDER BY proposal_id",  # noqa: S608 - placeholders
                statuses,
            ).fetchall()
        return [Proposal.model_validate_json(r["data"]) for r in rows]

    def registered_since(self, since: dt.datetime) -> list[Proposal]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT data FROM proposals WHERE status = 'registered' AND decided_at >= ?", (since.isoformat(),)
            ).fetchall()
        return [Proposal.model_validate_json(r["data"]) for r in rows]


# --- the inbox as a whole ---------------------------------------------------------------------


@dataclass(frozen=True)
class InboxResult:
    file_name: str
    outcome: Literal["proposed", "duplicate", "rejected"]
    proposals: tuple[int, ...] = ()
    message: str = ""


class Intake:
    """The inbox, the proposal queue and the child registry, registering through ``assistant``."""

    def __init__(self, assistant: Assistant, audit: AuditLog | None = None):
        self.assistant = assistant
        self.settings = assistant.settings
        self.folders = intake_folders(self.settings)
        self.queue = IntakeQueue(self.settings.home / "intake.sqlite3")
        self.children = ChildRegistry(self.settings.home / "children.sqlite3")
        self.audit = audit or AuditLog(self.settings.audit_path)
        self.folders.inbox.mkdir(parents=True, exist_ok=True)

    # --- reading the inbox ---

    def waiting_files(self, settle_seconds: float = 0.0) -> list[Path]:
        """Files ready in the inbox: not hidden or partial, not a sidecar of a document beside it, settled."""
        now = time.time()
        files = []
        for path in sorted(self.folders.inbox.iterdir()):
            if not path.is_file() or path.name.startswith((".", "~$")) or path.suffix in (".part", ".tmp"):
                continue
            if path.suffix.lower() in SIDECAR_SUFFIXES and any(
                path.with_suffix(s).exists() for s in (".docx", ".pdf", ".DOCX", ".PDF")
            ):
                continue
            try:
                if now - path.stat().st_mtime < settle_seconds:
                    continue
            except FileNotFoundError:
                continue
            files.append(path)
        return files

    def run_once(self, user: str = SYSTEM_USER, role: str = "system", settle_seconds: float = 0.0) -> list[InboxResult]:
        """Read every file waiting in the inbox into proposals, then move it out of the inbox."""
        results = [self._take(path, user, role) for path in self.waiting_files(settle_seconds)]
        return [r for r in results if r is not None]

    @property
    def claims(self) -> Path:
        """Where a file is moved while it is read: one rename, so the app and the CLI never take the same file."""
        return self.folders.inbox / ".behandlas"

    def recover_claims(self) -> None:
        """Files left in the claim folder by a process that stopped midway go back to the inbox (at app start)."""
        if not self.claims.is_dir():
            return
        for path in self.claims.iterdir():
            try:
                os.replace(path, _free_name(self.folders.inbox / path.name))
            except FileNotFoundError:
                continue

    def _take(self, path: Path, user: str, role: str) -> InboxResult | None:
        self.claims.mkdir(parents=True, exist_ok=True)
        original = path.name
        sidecars = [path.with_suffix(s) for s in SIDECAR_SUFFIXES if path.with_suffix(s).exists()]
        try:
            claimed = _free_name(self.claims / original)
            os.replace(path, claimed)
        except FileNotFoundError:
            return None  # another process took it
        for sidecar in sidecars:
            try:
                os.replace(sidecar, claimed.with_suffix(sidecar.suffix))
            except FileNotFoundError:
                continue
        sidecars = [claimed.with_suffix(s.suffix) for s in sidecars if claimed.with_suffix(s.suffix).exists()]
        path = claimed
        try:
            if path.suffix.lower() not in INTAKE_SUFFIXES:
                kinds = ", ".join(sorted(INTAKE_SUFFIXES))
                raise InputError(path, f"unsupported file type '{path.suffix}' (the inbox takes {kinds})")
            incoming = read_incoming(path, self.settings.ingest.max_file_bytes)
        except InputError as exc:
            self._move(path, self.folders.rejected, sidecars, reason=f"{original}: {exc.problem}")
            return InboxResult(original, "rejected", message=exc.problem)
        except OSError as exc:
            self._move(path, self.folders.rejected, sidecars, reason=f"{original}: cannot be read ({exc})")
            return InboxResult(original, "rejected", message=str(exc))
        known = self._known_texts()
        ids, duplicates = [], []
        for item in incoming:
            proposal = propose(item, self.children)
            twin = _twin(normalised(proposal.text), known)
            if twin:
                proposal.status, proposal.duplicate_of = "duplicate", twin
                proposal.decided_by, proposal.decided_at = user, dt.datetime.now(dt.UTC)
            proposal = self.queue.add(proposal)
            ids.append(proposal.proposal_id)
            known.append((f"förslag {proposal.proposal_id}", normalised(proposal.text)))
            if twin:
                duplicates.append(proposal.proposal_id)
                self._log_duplicate(user, role, proposal, twin)
        self._move(path, self.folders.processed, sidecars)
        outcome = "duplicate" if duplicates and len(duplicates) == len(ids) else "proposed"
        return InboxResult(original, outcome, tuple(ids))

    def _known_texts(self) -> list[tuple[str, str]]:
        """Normalised texts of every stored report and every proposal still waiting or registered."""
        store = self.assistant.store
        known = [
            (f"anmälan {r.report_id}", normalised(r.text))
            for child in store.children()
            for r in store.reports_for(child.child_id)
        ]
        known += [(f"förslag {p.proposal_id}", normalised(p.text)) for p in self.queue.list(("pending",))]
        return known

    @staticmethod
    def _move(path: Path, folder: Path, sidecars: list[Path], reason: str = "") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = _free_name(folder / path.name)
        shutil.move(str(path), target)
        for sidecar in sidecars:
            shutil.move(str(sidecar), _free_name(folder / (target.stem + sidecar.suffix)))
        if reason:
            stamp = dt.datetime.now().isoformat(timespec="seconds")
            target.with_name(target.name + ".reason.txt").write_text(
                f"Filen kunde inte läsas in ({stamp}):\n{reason}\n", encoding="utf-8"
            )
        return target

    def _log_duplicate(self, user: str, role: str, proposal: Proposal, twin: str) -> None:
        detail = f"förslag {proposal.proposal_id}: dubblett av {twin}"
        self.audit.record(user, role, Action.INTAKE_REJECT, proposal.child_id, Outcome.OK, detail)

    # --- the caseworker's decisions ---

    def confirm(
        self,
        proposal_id: int,
        user: str,
        role: str = DEFAULT_ROLE,
        child_id: str | None = None,
        reporter: str | None = None,
        date: dt.date | str | None = None,
        child_name: str | None = None,
        birth_date: dt.date | str | None = None,
    ) -> Proposal:
        """Register a waiting proposal, with the caseworker's corrections, through the normal ingest path."""
        proposal = self.queue.get(proposal_id)
        if proposal.status != "pending":
            raise UserError(f"förslag {proposal_id} är {STATUS_WORDS[proposal.status]} och kan inte registreras")
        corrected = []
        for field, value in (
            ("child_id", (child_id or "").strip()),
            ("reporter", (reporter or "").strip().lower()),
            ("date", _as_date(date, "datum")),
            ("child_name", (child_name or "").strip()),
            ("birth_date", _as_date(birth_date, "födelsedatum")),
        ):
            if value and value != getattr(proposal, field):
                setattr(proposal, field, value)
                corrected.append(field)
        if proposal.reporter not in REPORTER_CATEGORIES:
            raise UserError(f"'{proposal.reporter}' är ingen anmälarkategori (välj {', '.join(REPORTER_CATEGORIES)})")
        if proposal.date is None:
            raise UserError(f"förslag {proposal_id} saknar datum; ange det")
        twin = _twin(normalised(proposal.text), [k for k in self._known_texts() if k[0] != f"förslag {proposal_id}"])
        if twin.startswith("anmälan"):
            proposal.status, proposal.duplicate_of = "duplicate", twin
            proposal.decided_by, proposal.decided_at = user, dt.datetime.now(dt.UTC)
            self.queue.save(proposal)
            self._log_duplicate(user, role, proposal, twin)
            raise UserError(f"förslag {proposal_id} är en dubblett av {twin} och registreras inte")
        child = self._child_for(proposal)
        proposal.child_id = child.child_id
        proposal.report_id = f"INK-{proposal.received_at:%Y%m%d}-{fingerprint(proposal.text)[:10]}"
        result = self._ingest(proposal)
        if result.error:
            self.audit.record(
                user, role, Action.INTAKE_CONFIRM, child.child_id, Outcome.FAILED, f"förslag {proposal_id}"
            )
            raise UserError(result.error)
        proposal.status, proposal.decided_by, proposal.decided_at = "registered", user, dt.datetime.now(dt.UTC)
        self.queue.save(proposal)
        detail = f"förslag {proposal_id} -> {proposal.report_id}" + (
            f"; rättat: {', '.join(corrected)}" if corrected else ""
        )
        self.audit.record(user, role, Action.INTAKE_CONFIRM, child.child_id, Outcome.OK, detail)
        return proposal

    def _child_for(self, proposal: Proposal) -> Child:
        if proposal.child_id:
            if not ID_PATTERN.match(proposal.child_id):
                raise UserError(f"'{proposal.child_id}' är inget giltigt barn-id (bokstäver, siffror, '.', '_', '-')")
            return self.children.get(proposal.child_id) or Child(proposal.child_id, proposal.child_name)
        if not (proposal.child_name or proposal.personnummer):
            raise UserError(f"förslag {proposal.proposal_id} saknar barn; ange barnets id, eller namn och födelsedatum")
        known = self.children.match(proposal.personnummer, proposal.child_name, proposal.birth_date)
        if known is not None:
            return known
        taken = {c.child_id for c in self.assistant.store.children()}
        return self.children.create(proposal.child_name, proposal.birth_date, proposal.personnummer, taken)

    def _ingest(self, proposal: Proposal):
        """Hand the confirmed report to the normal ingest path as a file with complete front matter."""
        meta = {
            "report_id": proposal.report_id,
            "child_id": proposal.child_id,
            "date": proposal.date.isoformat() if proposal.date else "",
            "reporter": proposal.reporter,
        }
        with tempfile.TemporaryDirectory(prefix="inkorg-") as folder:
            staged = Path(folder) / f"{proposal.file_name}.md"
            front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
            staged.write_text(f"---\n{front}---\n{proposal.text}\n", encoding="utf-8")
            return self.assistant.ingest_file(staged)

    def reject(self, proposal_id: int, user: str, reason: str, role: str = DEFAULT_ROLE) -> Proposal:
        proposal = self.queue.get(proposal_id)
        if proposal.status == "registered":
            raise UserError(f"förslag {proposal_id} är redan registrerat som {proposal.report_id}")
        if not reason.strip():
            raise UserError("ange ett skäl för att avvisa förslaget")
        proposal.status, proposal.note = "rejected", reason.strip()
        proposal.decided_by, proposal.decided_at = user, dt.datetime.now(dt.UTC)
        self.queue.save(proposal)
        self.audit.record(user, role, Action.INTAKE_REJECT, proposal.child_id, Outcome.OK, f"förslag {proposal_id}")
        return proposal

    # --- what is new ---

    def new_reports(self, days: int | None = None) -> dict[str, set[str]]:
        """Report ids registered from the inbox in the last ``days`` days (``intake.new_days``), by child."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=self.settings.intake.new_days if days is None else days)
        new: dict[str, set[str]] = {}
        for proposal in self.queue.registered_since(since):
            new.setdefault(proposal.child_id, set()).add(proposal.report_id)
        return new


def _free_name(target: Path) -> Path:
    """``target``, or ``name-2.ext``, ``name-3.ext`` … when a file of that name is already there."""
    counter = 2
    free = target
    while free.exists():
        free = target.with_name(f"{target.stem}-{counter}{target.suffix}")
        counter += 1
    return free


def _twin(text: str, known: list[tuple[str, str]]) -> str:
    return next((name for name, other in known if same_report(text, other)), "")


def _as_date(value: dt.date | str | None, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"'{value}' är inget {what} (ÅÅÅÅ-MM-DD)") from None
