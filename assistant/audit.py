"""Audit log: who did what with which child's case, when, and with what outcome.

Append-only and hash-chained, in its own SQLite file beside the report store so
that deleting a child's reports never touches the record that it was done.
Each entry carries the hash of the previous one; editing or deleting any entry
breaks the chain, and ``verify`` names the first entry that no longer fits.
Removing entries from the end leaves a valid chain, so every append also
writes the head (count and last hash) to ``audit.head``; a log review compares
it, or a head noted at an earlier review, with what ``verify`` reports.

Entries hold identifiers only (user, role, action, child id, outcome and a short
detail such as a report id or an export format), never report text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

GENESIS = "0" * 64
MAX_DETAIL_CHARS = 200

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    child_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_child ON audit (child_id, at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class Action(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    VIEW_CASE_LIST = "view_case_list"
    VIEW_CASE = "view_case"
    VIEW_SUMMARY = "view_summary"
    OPEN_CITATION = "open_citation"
    VIEW_REPORT = "view_report"
    EXPORT = "export"
    UPLOAD = "upload"
    INGEST = "ingest"
    CORRECTION = "correction"
    INTAKE_CONFIRM = "intake_confirm"
    INTAKE_REJECT = "intake_reject"
    LETTER = "letter"
    ADMIN_CHANGE = "admin_change"
    DELETE_CHILD = "delete_child"
    AUDIT_REVIEW = "audit_review"


class Outcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    user: str
    role: str
    action: str
    child_id: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    head: str
    problem: str = ""


def entry_hash(prev_hash: str, at: str, user: str, role: str, action: str, child_id: str, outcome: str, detail: str):
    payload = json.dumps([prev_hash, at, user, role, action, child_id, outcome, detail], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, path: Path):
        self.path = path
        self.head_path = path.with_suffix(".head")
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            yield db

    def record(
        self,
        user: str,
        role: str,
        action: Action | str,
        child_id: str = "",
        outcome: Outcome | str = Outcome.OK,
        detail: str = "",
    ) -> AuditEntry:
        """Append one entry. ``detail`` is an identifier or a short note, never report text."""
        action, outcome = str(Action(action)), str(Outcome(outcome))
        detail = detail[:MAX_DETAIL_CHARS]
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time, over processes too
            row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
            digest = entry_hash(prev, at, user, role, action, child_id, outcome, detail)
            db.execute(
                "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, at, user, role, action, child_id, outcome, detail, prev, digest),
            )
            self._write_head(seq, digest)
            db.execute("COMMIT")
        return AuditEntry(seq, at, user, role, action, child_id, outcome, detail, prev, digest)

    def _write_head(self, seq: int, digest: str) -> None:
        temporary = self.head_path.with_suffix(".head.tmp")
        temporary.write_text(f"{seq} {digest}\n", encoding="utf-8")
        os.replace(temporary, self.head_path)

    def entries(self, child_id: str | None = None, start: str | None = None, end: str | None = None):
        """Entries in order; ``start``/``end`` are ISO dates or times (``end`` inclusive of its day)."""
        query, args = "SELECT * FROM audit WHERE 1=1", []
        if child_id is not None:
            query += " AND child_id = ?"
            args.append(child_id)
        if start:
            query += " AND at >= ?"
            args.append(start)
        if end:
            query += " AND at < ?"
            args.append(_day_after(end) if len(end) == 10 else end)
        with self._connect() as db:
            return [AuditEntry(*row) for row in db.execute(query + " ORDER BY seq", args)]

    def verify(self) -> ChainCheck:
        prev, count = GENESIS, 0
        for count, entry in enumerate(self.entries(), start=1):
            if entry.seq != count:
                return ChainCheck(False, count - 1, prev, f"post {count} saknas (nästa är {entry.seq})")
            fields = (entry.at, entry.user, entry.role, entry.action, entry.child_id, entry.outcome, entry.detail)
            if entry.prev_hash != prev or entry_hash(prev, *fields) != entry.hash:
                return ChainCheck(False, count - 1, prev, f"post {entry.seq} har ändrats")
            prev = entry.hash
        head = self.head_path.read_text(encoding="utf-8").split() if self.head_path.exists() else ["0", GENESIS]
        if [str(count), prev] != head:
            return ChainCheck(
                False, count, prev, f"loggen slutar på post {count} men senast skrivna post var {head[0]}"
            )
        return ChainCheck(True, count, prev)


def _day_after(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def entry_as_dict(entry: AuditEntry) -> dict:
    return asdict(entry)
