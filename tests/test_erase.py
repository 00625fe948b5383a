"""``assistant delete --child``: after it, no file under the home holds the child's text and the index
holds none of its vectors, while the other children's data stay; only an administrator may do it, and
the audit log says who did.

The child is summarised first with the tiny real model (judge mode), so cached analyses and the
narrative exist; a correction and an inbox proposal about the child are stored too."""

from __future__ import annotations

from pathlib import Path

from assistant.audit import AuditLog
from assistant.feedback import Action, FeedbackStore
from assistant.intake import Intake, Proposal
from tests.test_access import cli

ERASED = "Elsa kom till skolan med blåmärken på båda armarna"
KEPT = "Omar hämtas ofta sent"
PASSWORD = "ett-långt-lösenord-2025\n"


def files_holding(home: Path, text: str) -> list[str]:
    needle = text.encode("utf-8")
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and needle in p.read_bytes())


def test_delete_child_leaves_no_trace(tmp_path, fixture_file, make_assistant):
    home = tmp_path / "home"
    assistant = make_assistant(home)
    assistant.ingest([fixture_file])
    summary = assistant.summarize("T1").summary
    assert summary.indicators and assistant.store.counts()["analyses"] > 0
    feedback = FeedbackStore(home)
    feedback.correct("T1", summary.indicators[0], Action.confirm, "chef")
    feedback.record_summary(summary, assistant.store.reports_for("T1"))
    feedback.close()
    intake = Intake(assistant)
    intake.folders.processed.mkdir(parents=True)
    (intake.folders.processed / "elsa.txt").write_text(ERASED, encoding="utf-8")
    intake.queue.add(Proposal(file_name="elsa.txt", received_at="2024-01-01T00:00:00Z", text=ERASED, child_id="T1"))
    before = files_holding(home, ERASED)
    assert {"assistant.sqlite3-wal", "feedback.sqlite3", "intake.sqlite3", "inkorg-behandlade/elsa.txt"} <= set(before)
    assert assistant.index.ids_for_report("T1-R1")  # vectors (Chroma holds ids, vectors and metadata, no text)
    assistant.store.close()

    assert cli(home, "users", "add", "chef", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    result = cli(home, "delete", "--child", "T1", user="chef")
    assert result.returncode == 0, result.stderr
    assert "2 anmälningar" in result.stdout

    assert files_holding(home, ERASED) == []
    assert "assistant.sqlite3" in files_holding(home, KEPT)
    reopened = make_assistant(home)
    assert reopened.index.ids_for_report("T1-R1") == [] and reopened.index.ids_for_report("T2-R1")
    feedback = FeedbackStore(home)
    assert feedback.history("T1") == [] and feedback.last_summary("T1") is None
    log = AuditLog(home / "audit.sqlite3")
    assert [(e.user, e.child_id) for e in log.entries() if e.action == "delete_child"] == [("chef", "T1")]
    assert log.verify().ok
    again = cli(home, "delete", "--child", "T1", user="chef")
    assert again.returncode == 2 and "T1" in again.stderr


def test_only_an_administrator_may_delete(tmp_path, fixture_file):
    home = tmp_path / "home"
    assert cli(home, "ingest", str(fixture_file)).returncode == 0
    assert cli(home, "users", "add", "chef", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    added = cli(home, "users", "add", "anna", "--role", "caseworker", "--password-stdin", stdin=PASSWORD, user="chef")
    assert added.returncode == 0, added.stderr
    refused = cli(home, "delete", "--child", "T1", user="anna")
    assert refused.returncode == 2
    assert "T1" in cli(home, "children", user="chef").stdout
    denied = [e for e in AuditLog(home / "audit.sqlite3").entries() if e.user == "anna"]
    assert [(e.action, e.outcome) for e in denied] == [("admin_change", "denied")]
