"""Who a child is: name, birth date and personnummer beside the ``child_id`` the report store knows.

The store keys everything by ``child_id`` and holds no identities; the intake
inbox needs them to match an incoming report to a known child, and letters
need the child's name. Kept in its own SQLite file under the home.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass

from assistant.redact import luhn_ok
from assistant.sqlitefile import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS children (
    child_id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL DEFAULT '',
    personnummer TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS children_pnr ON children (personnummer);
"""
PERSONNUMMER = re.compile(r"(?<![\d-])((?:19|20)?\d{6})\s?([-+]?)\s?(\d{4})(?![\d-])")
NEW_ID_PREFIX = "B"


@dataclass(frozen=True)
class Child:
    child_id: str
    name: str = ""
    birth_date: dt.date | None = None
    personnummer: str = ""  # 12 digits, YYYYMMDDNNNN

    def describe(self) -> str:
        parts = [self.name or "namn okänt"]
        if self.birth_date:
            parts.append(f"född {self.birth_date}")
        return f"{self.child_id} ({', '.join(parts)})"


def normalise_personnummer(text: str, today: dt.date | None = None) -> str | None:
    """12 digits (YYYYMMDDNNNN) when ``text`` is a valid personnummer (checksum and date), else None.

    A 10-digit number gets its century from the separator: '+' means 100 years or older.
    """
    match = PERSONNUMMER.fullmatch(text.strip())
    return _from_match(match, today or dt.date.today()) if match else None


def find_personnummer(text: str, today: dt.date | None = None) -> str | None:
    """The first valid personnummer in a text, normalised to 12 digits."""
    for match in PERSONNUMMER.finditer(text):
        found = _from_match(match, today or dt.date.today())
        if found:
            return found
    return None


def _from_match(match: re.Match[str], today: dt.date) -> str | None:
    date_part, separator, tail = match.groups()
    if len(date_part) == 6:
        short_year = int(date_part[:2])
        year = today.year - (today.year - short_year) % 100 - (100 if separator == "+" else 0)
        date_part = f"{year:04d}{date_part[2:]}"
    if not luhn_ok(date_part[2:] + tail) or birth_date_of(date_part + tail) is None:
        return None
    return date_part + tail


def birth_date_of(personnummer: str) -> dt.date | None:
    """The birth date in a 12-digit personnummer (a samordningsnummer adds 60 to the day)."""
    try:
        day = int(personnummer[6:8])
        return dt.date(int(personnummer[:4]), int(personnummer[4:6]), day - 60 if day > 60 else day)
    except ValueError:
        return None


def same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split()) and bool(a.strip())


class ChildRegistry(SQLiteFile):
    schema = SCHEMA

    def all(self) -> list[Child]:
        with self._connect() as db:
            return [_child(r) for r in db.execute("SELECT * FROM children ORDER BY child_id")]

    def get(self, child_id: str) -> Child | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM children WHERE child_id = ?", (child_id,)).fetchone()
        return _child(row) if row else None

    def match(self, personnummer: str = "", name: str = "", birth_date: dt.date | None = None) -> Child | None:
        """A known child with this personnummer, or with this name and birth date."""
        children = self.all()
        if personnummer:
            found = [c for c in children if c.personnummer == personnummer]
            if found:
                return found[0]
        if name and birth_date:
            found = [c for c in children if same_name(c.name, name) and c.birth_date == birth_date]
            if len(found) == 1:
                return found[0]
        return None

    def add(self, child: Child) -> Child:
        with self._connect() as db:
            db.execute(
                "INSERT INTO children VALUES (?, ?, ?, ?, ?)",
                (
                    child.child_id,
                    child.name,
                    child.birth_date.isoformat() if child.birth_date else "",
                    child.personnummer,
                    dt.datetime.now(dt.UTC).isoformat(),
                ),
            )
        return child

    def create(self, name: str, birth_date: dt.date | None, personnummer: str, taken: set[str]) -> Child:
        """A new child under the next free id ``B0001``, ``B0002`` … not in ``taken`` (ids in the report store)."""
        known = {c.child_id for c in self.all()} | taken
        number = 1
        while f"{NEW_ID_PREFIX}{number:04d}" in known:
            number += 1
        return self.add(Child(f"{NEW_ID_PREFIX}{number:04d}", name, birth_date, personnummer))


def _child(row: sqlite3.Row) -> Child:
    return Child(
        row["child_id"],
        row["name"],
        dt.date.fromisoformat(row["birth_date"]) if row["birth_date"] else None,
        row["personnummer"],
    )
