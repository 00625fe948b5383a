"""Erasing a child: everything the assistant holds about them, in every file under the home.

The reports, passages, vectors and cached analyses; caseworkers' corrections and summary history;
inbox proposals and the inbox files they came from; the child registry's name and personnummer;
unit, protection and assignments. Each SQLite file is then vacuumed so deleted text does not linger
in free pages. The audit log keeps its entries (they hold no text) and gains one saying who erased
the child. Letters already saved in the outbox are records sent to guardians and are left to the
municipality's archive rules; the count says how many there are.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from assistant.feedback import FEEDBACK_DB
from assistant.intake import Intake
from assistant.pipeline import Assistant


@dataclass(frozen=True)
class Erasure:
    child_id: str
    reports: int
    passages: int
    inbox_files: int


def erase_child(assistant: Assistant, child_id: str) -> Erasure:
    """Remove every trace of a child's reports; ``UserError`` if the child has none."""
    assistant.require_child(child_id)
    home = assistant.settings.home
    reports = len(assistant.store.reports_for(child_id))
    passages = assistant.delete_child(child_id)
    inbox_files = _erase_intake(Intake(assistant), child_id)
    for path, statements in (
        (
            home / FEEDBACK_DB,
            ("DELETE FROM corrections WHERE child_id = ?", "DELETE FROM summary_history WHERE child_id = ?"),
        ),
        (home / "children.sqlite3", ("DELETE FROM children WHERE child_id = ?",)),
        (
            assistant.settings.access_path,
            ("DELETE FROM children WHERE child_id = ?", "DELETE FROM assignments WHERE child_id = ?"),
        ),
    ):
        _delete_and_vacuum(path, statements, child_id)
    assistant.store.vacuum()
    assistant.index.compact()
    return Erasure(child_id, reports, passages, inbox_files)


def _erase_intake(intake: Intake, child_id: str) -> int:
    """Drop the child's proposals, and the read inbox files that held only this child's reports."""
    proposals = intake.queue.list()
    mine = {p.file_name for p in proposals if p.child_id == child_id}
    others = {p.file_name for p in proposals if p.child_id != child_id}
    removed = 0
    for name in mine - others:
        source = intake.folders.processed / name
        for path in (source, source.with_suffix(".yaml"), source.with_suffix(".yml")):
            if path.is_file():
                path.unlink()
                removed += 1
    _delete_and_vacuum(intake.queue.path, ("DELETE FROM proposals WHERE child_id = ?",), child_id)
    return removed


def _delete_and_vacuum(path: Path, statements: tuple[str, ...], child_id: str) -> None:
    if not path.exists():
        return
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement, (child_id,))
        db.execute("VACUUM")
