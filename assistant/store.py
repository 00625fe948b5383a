"""SQLite store: reports, passages and cached analyses. The source of truth.

Vectors live in Chroma (``vectorstore``); a report is written here first with
``indexed = 0`` and marked indexed only after its vectors are in, so a crash
in between is repaired by the next ``Pipeline.reconcile``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.errors import UserError
from assistant.schema import Passage, Redaction, Report

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    date TEXT NOT NULL,
    reporter TEXT NOT NULL,
    text TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    source_file TEXT NOT NULL DEFAULT '',
    ingested_at TEXT NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reports_child ON reports (child_id, date);
CREATE TABLE IF NOT EXISTS passages (
    passage_id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports (report_id) ON DELETE CASCADE,
    child_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_child ON passages (child_id);
CREATE INDEX IF NOT EXISTS passages_report ON passages (report_id, n);
CREATE TABLE IF NOT EXISTS analyses (
    cache_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pseudonyms (
    child_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (child_id, kind, digest)
);
CREATE TABLE IF NOT EXISTS precomputed (
    item TEXT NOT NULL,
    tag TEXT NOT NULL,
    done_at TEXT NOT NULL,
    PRIMARY KEY (item, tag)
);
"""
# Columns added after the first release; an older database gets them on open.
ADDED_COLUMNS = {
    "reports": ("redaction", "TEXT NOT NULL DEFAULT ''"),
    "passages": ("redactions", "TEXT NOT NULL DEFAULT '[]'"),
    "analyses": ("child_id", "TEXT NOT NULL DEFAULT ''"),  # whose text the result may quote: erased with them
}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChildOverview:
    child_id: str
    reports: int
    first_date: dt.date
    last_date: dt.date


IngestOutcome = Literal["added", "replaced", "unchanged"]


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(SCHEMA)
        for table, (column, declaration) in ADDED_COLUMNS.items():
            if column not in {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- reports and passages -------------------------------------------------

    def upsert_reports(
        self,
        batch: list[tuple[Report, list[Passage]]],
        redaction: str = "",
        pseudonyms: Iterable[tuple[str, str, str, int]] = (),
    ) -> dict[str, IngestOutcome]:
        """Add or replace a file's reports with their passages, all or nothing.

        A report id that already belongs to another child is refused: ids name one report.
        ``redaction`` names how the passages were pseudonymised ('' = not); a report stored under
        another one is replaced. ``pseudonyms`` are new (child, kind, digest, number) rows.
        """
        outcomes: dict[str, IngestOutcome] = {}
        with self.transaction() as db:
            for report, passages in batch:
                digest = sha256_text(report.text)
                old = db.execute(
                    "SELECT child_id, text_sha256, date, reporter, redaction FROM reports WHERE report_id = ?",
                    (report.report_id,),
                ).fetchone()
                if old and old["child_id"] != report.child_id:
                    raise UserError(
                        f"report {report.report_id} already belongs to child {old['child_id']}, "
                        f"not {report.child_id}; use a new report id"
                    )
                if old and (old["text_sha256"], old["date"], old["reporter"], old["redaction"]) == (
                    digest,
                    report.date.isoformat(),
                    report.reporter,
                    redaction,
                ):
                    outcomes[report.report_id] = "unchanged"
                    continue
                db.execute("DELETE FROM reports WHERE report_id = ?", (report.report_id,))
                db.execute(
                    "INSERT INTO reports (report_id, child_id, date, reporter, text, text_sha256, source_file, "
                    "ingested_at, indexed, redaction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                    (
                        report.report_id,
                        report.child_id,
                        report.date.isoformat(),
                        report.reporter,
                        report.text,
                        digest,
                        report.source_file,
                        dt.datetime.now(dt.UTC).isoformat(),
                        redaction,
                    ),
                )
                db.executemany(
                    "INSERT INTO passages (passage_id, report_id, child_id, n, start, end, text, text_sha256, "
                    "redactions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            p.passage_id,
                            p.report_id,
                            p.child_id,
                            p.n,
                            p.start,
                            p.end,
                            p.text,
                            sha256_text(p.text),
                            json.dumps([r.model_dump() for r in p.redactions]),
                        )
                        for p in passages
                    ],
                )
                outcomes[report.report_id] = "replaced" if old else "added"
            db.executemany("INSERT OR IGNORE INTO pseudonyms VALUES (?, ?, ?, ?)", pseudonyms)
        return outcomes

    def pseudonyms(self, child_id: str) -> dict[tuple[str, str], int]:
        """A child's placeholder numbering: (kind, digest of the value) -> number."""
        rows = self._rows("SELECT kind, digest, number FROM pseudonyms WHERE child_id = ?", (child_id,))
        return {(r["kind"], r["digest"]): r["number"] for r in rows}

    def reports_redacted_otherwise(self, redaction: str, child_id: str | None = None) -> list[str]:
        """Reports whose passages were made under another pseudonymisation (an older store, a changed switch)."""
        rows = self._rows(
            "SELECT report_id FROM reports WHERE redaction != ? AND (? IS NULL OR child_id = ?) ORDER BY report_id",
            (redaction, child_id, child_id),
        )
        return [r["report_id"] for r in rows]

    def forget_analyses(self) -> None:
        """Drop every cached model answer (they may quote passages made without pseudonymisation)."""
        with self.transaction() as db:
            db.execute("DELETE FROM analyses")

    def unindexed_report_ids(self) -> list[str]:
        return [r["report_id"] for r in self._rows("SELECT report_id FROM reports WHERE indexed = 0")]

    def mark_indexed(self, report_ids: list[str]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE reports SET indexed = 1 WHERE report_id = ?", [(r,) for r in report_ids])

    def mark_all_unindexed(self) -> None:
        with self.transaction() as db:
            db.execute("UPDATE reports SET indexed = 0")

    def children(self) -> list[ChildOverview]:
        return [
            ChildOverview(r["child_id"], r["n"], dt.date.fromisoformat(r["first"]), dt.date.fromisoformat(r["last"]))
            for r in self._rows(
                "SELECT child_id, COUNT(*) AS n, MIN(date) AS first, MAX(date) AS last "
                "FROM reports GROUP BY child_id ORDER BY child_id"
            )
        ]

    def has_child(self, child_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM reports WHERE child_id = ? LIMIT 1", (child_id,)))

    def reports_for(self, child_id: str) -> list[Report]:
        return [
            _report(r)
            for r in self._rows("SELECT * FROM reports WHERE child_id = ? ORDER BY date, report_id", (child_id,))
        ]

    def report(self, report_id: str) -> Report | None:
        rows = self._rows("SELECT * FROM reports WHERE report_id = ?", (report_id,))
        return _report(rows[0]) if rows else None

    def passages_for(self, child_id: str) -> list[Passage]:
        """All passages of one child in date order, then report and position."""
        return [
            _passage(r)
            for r in self._rows(
                "SELECT p.*, r.date, r.reporter FROM passages p JOIN reports r USING (report_id) "
                "WHERE p.child_id = ? ORDER BY r.date, p.report_id, p.n",
                (child_id,),
            )
        ]

    def passages_of_report(self, report_id: str) -> list[Passage]:
        return [
            _passage(r)
            for r in self._rows(
                "SELECT p.*, r.date, r.reporter FROM passages p JOIN reports r USING (report_id) "
                "WHERE p.report_id = ? ORDER BY p.n",
                (report_id,),
            )
        ]

    def passage_ids(self) -> set[str]:
        return {r["passage_id"] for r in self._rows("SELECT passage_id FROM passages")}

    def counts(self) -> dict[str, int]:
        return {
            table: self._rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]  # noqa: S608 - fixed names
            for table in ("reports", "passages", "analyses")
        }

    def delete_child(self, child_id: str) -> list[str]:
        """Remove a child's reports and passages; returns the passage ids removed (for the index)."""
        with self.transaction() as db:
            ids = [
                r["passage_id"] for r in db.execute("SELECT passage_id FROM passages WHERE child_id = ?", (child_id,))
            ]
            db.execute("DELETE FROM reports WHERE child_id = ?", (child_id,))
            db.execute("DELETE FROM pseudonyms WHERE child_id = ?", (child_id,))
            db.execute("DELETE FROM analyses WHERE child_id = ?", (child_id,))
        return ids

    def vacuum(self) -> None:
        """Rewrite the file so that deleted rows leave no text behind in free pages or the WAL."""
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- cached analyses ------------------------------------------------------

    def cached(self, cache_key: str) -> object | None:
        rows = self._rows("SELECT result FROM analyses WHERE cache_key = ?", (cache_key,))
        return json.loads(rows[0]["result"]) if rows else None

    def cache(self, cache_key: str, kind: str, result: object, child_id: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO analyses (cache_key, kind, result, created_at, child_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    cache_key,
                    kind,
                    json.dumps(result, ensure_ascii=False),
                    dt.datetime.now(dt.UTC).isoformat(),
                    child_id,
                ),
            )

    # --- precomputation state (assistant/precompute.py) ------------------------

    def report_digests(self) -> list[tuple[str, str, str]]:
        """(child_id, report_id, text_sha256) of every report, child by child in date order."""
        return [
            (r["child_id"], r["report_id"], r["text_sha256"])
            for r in self._rows(
                "SELECT child_id, report_id, text_sha256 FROM reports ORDER BY child_id, date, report_id"
            )
        ]

    def precomputed(self) -> list[tuple[str, str]]:
        """(item, tag) of every finished precomputation, current or stale."""
        return [(r["item"], r["tag"]) for r in self._rows("SELECT item, tag FROM precomputed")]

    def mark_precomputed(self, item: str, tag: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO precomputed VALUES (?, ?, ?)", (item, tag, dt.datetime.now(dt.UTC).isoformat())
            )


def _report(row: sqlite3.Row) -> Report:
    return Report(
        report_id=row["report_id"],
        child_id=row["child_id"],
        date=dt.date.fromisoformat(row["date"]),
        reporter=row["reporter"],
        text=row["text"],
        source_file=row["source_file"],
    )


def _passage(row: sqlite3.Row) -> Passage:
    return Passage(
        passage_id=row["passage_id"],
        report_id=row["report_id"],
        child_id=row["child_id"],
        n=row["n"],
        start=row["start"],
        end=row["end"],
        text=row["text"],
        date=dt.date.fromisoformat(row["date"]),
        reporter=row["reporter"],
        redactions=[Redaction(**r) for r in json.loads(row["redactions"])],
    )
