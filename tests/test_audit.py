"""The audit log: hash chain, append-only, tamper detection, export by child and dates."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from assistant.audit import Action, AuditLog, Outcome


@pytest.fixture
def log(tmp_path):
    audit = AuditLog(tmp_path / "audit.sqlite3")
    audit.record("anna", "caseworker", Action.LOGIN)
    audit.record("anna", "caseworker", Action.VIEW_SUMMARY, child_id="C1")
    audit.record("anna", "caseworker", Action.EXPORT, child_id="C1", detail="pdf")
    audit.record("bo", "caseworker", Action.VIEW_CASE, child_id="C2", outcome=Outcome.DENIED)
    return audit


def test_chain_of_untouched_log_verifies(log):
    check = log.verify()
    assert check.ok, check.problem
    assert check.entries == 4
    entries = log.entries()
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]


def test_updates_and_deletes_are_refused_by_the_database(log):
    with sqlite3.connect(log.path) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET user = 'x' WHERE seq = 2")
    with sqlite3.connect(log.path) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq = 2")


def _tamper(log, sql: str) -> None:
    """Someone with file access drops the guard triggers and edits the table."""
    with sqlite3.connect(log.path) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute(sql)


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE audit SET child_id = 'C9' WHERE seq = 2", "post 2 har ändrats"),
        ("UPDATE audit SET outcome = 'ok' WHERE seq = 4", "post 4 har ändrats"),
        ("DELETE FROM audit WHERE seq = 2", "post 2 saknas"),
        ("DELETE FROM audit WHERE seq = 4", "slutar på post 3"),
    ],
)
def test_edit_or_deletion_is_detected(log, sql, problem):
    _tamper(log, sql)
    check = log.verify()
    assert not check.ok
    assert problem in check.problem


def test_export_filters_by_child_and_days(log):
    today = log.entries()[0].at[:10]
    assert [e.action for e in log.entries("C1")] == ["view_summary", "export"]
    assert len(log.entries(None, today, today)) == 4
    assert log.entries(None, "2000-01-01", "2000-01-02") == []


def test_unknown_action_is_refused(tmp_path):
    with pytest.raises(ValueError):
        AuditLog(tmp_path / "a.sqlite3").record("anna", "caseworker", "read_everything")


def _cli(home, *args):
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--home", str(home), "audit", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_verify_and_export(tmp_path):
    log = AuditLog(tmp_path / "audit.sqlite3")
    log.record("anna", "caseworker", Action.VIEW_SUMMARY, child_id="C1")
    log.record("anna", "caseworker", Action.VIEW_SUMMARY, child_id="C2")
    ok = _cli(tmp_path, "verify")
    assert ok.returncode == 0 and "2 poster" in ok.stdout
    exported = _cli(tmp_path, "export", "--child", "C1")
    assert [json.loads(line)["child_id"] for line in exported.stdout.splitlines()] == ["C1"]
    assert _cli(tmp_path, "export", "--from", "igår").returncode == 2
    _tamper(log, "UPDATE audit SET child_id = 'C3' WHERE seq = 1")
    broken = _cli(tmp_path, "verify")
    assert broken.returncode == 2 and "post 1 har ändrats" in broken.stderr
