"""Users, roles and who sees which child: the real argon2 hashing, the real SQLite stores and audit log,
and the command line in a subprocess. The browser side (login form, role tabs, crafted events) is in
tests/test_ui.py."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys

import pytest

from assistant.access import (
    MASK,
    UNKNOWN_USER,
    AccessPolicy,
    Role,
    UserStore,
    mask_addresses,
)
from assistant.audit import AuditLog
from assistant.errors import UserError
from assistant.feedback import review_summary
from assistant.schema import Category, Passage, Polarity
from assistant.settings import AccessSettings
from assistant.taxonomy import load_taxonomy
from tests.test_ui_fixtures import KnownFinding, fixture_reports, make_summary

PASSWORD = "korrekt häftklammer 42"


@pytest.fixture
def policy(tmp_path):
    users = UserStore(tmp_path / "access.sqlite3", AccessSettings(max_failed_logins=3, lockout_minutes=15))
    users.add("chef", Role.admin, PASSWORD)
    users.add("anna", Role.caseworker, PASSWORD, unit="nord")
    users.add("bo", Role.caseworker, PASSWORD, unit="syd")
    users.add("eva", Role.evaluator, PASSWORD)
    users.set_unit("N1", "nord")
    users.set_unit("S1", "syd")
    users.set_unit("P1", "nord")
    users.set_protected("P1", True)
    return AccessPolicy(users, AuditLog(tmp_path / "audit.sqlite3"))


def test_passwords_are_stored_as_argon2id_hashes_only(policy):
    raw = policy.users.path.read_bytes()
    assert PASSWORD.encode() not in raw
    assert b"$argon2id$" in raw
    assert policy.users.authenticate("anna", PASSWORD)[0].unit == "nord"
    assert policy.users.authenticate("anna", PASSWORD + "x") == (None, "fel lösenord")
    assert policy.users.authenticate("nisse", PASSWORD) == (None, "okänt namn")
    with pytest.raises(UserError, match="minst 12 tecken"):
        policy.users.add("kort", Role.caseworker, "för kort")
    with pytest.raises(UserError, match="okänd roll"):
        policy.users.add("x1", "superuser", PASSWORD)
    with pytest.raises(UserError, match="användarnamnet"):
        policy.users.add("två ord", Role.caseworker, PASSWORD)


def test_repeated_failures_lock_the_account_until_a_new_password(policy):
    for _ in range(3):
        assert policy.users.authenticate("anna", "gissning-gissning")[0] is None
    assert policy.users.authenticate("anna", PASSWORD) == (None, "kontot är tillfälligt låst")
    policy.users.set_password("anna", PASSWORD + "!")
    assert policy.users.authenticate("anna", PASSWORD + "!")[0] is not None


def test_a_disabled_user_loses_access_at_once(policy):
    anna = policy.current("anna")
    assert policy.can_view(anna, "N1")
    policy.users.set_active("anna", False)
    assert policy.users.authenticate("anna", PASSWORD) == (None, "kontot är avstängt")
    assert policy.current("anna") is None
    assert not policy.can_view(policy.users.user("anna"), "N1")
    assert policy.tabs(policy.current("anna")) == frozenset()


def test_who_sees_which_child(policy):
    users = policy.users
    users.set_unit("S2", "syd")
    users.assign("anna", "S2")
    seen = {
        name: [c for c in ("N1", "S1", "S2", "P1", "X1") if policy.can_view(policy.current(name), c)]
        for name in ("chef", "anna", "bo", "eva")
    }
    assert seen == {
        "chef": ["N1", "S1", "S2", "X1"],  # everything but the protected child
        "anna": ["N1", "S2"],  # her unit and her assignment; not P1 although it is in her unit
        "bo": ["S1", "S2"],
        "eva": [],
    }
    users.assign("bo", "P1")
    users.assign("chef", "P1")
    assert policy.can_view(policy.current("bo"), "P1") and policy.can_view(policy.current("chef"), "P1")
    assert not policy.can_view(policy.current("anna"), "P1")
    users.unassign("bo", "P1")
    assert not policy.can_view(policy.current("bo"), "P1")


def test_visible_children_agrees_with_can_view(policy):
    policy.users.assign("eva", "S1")
    children = ["N1", "S1", "P1", "X1", "Y9"]
    for name, subset in itertools.product(("chef", "anna", "bo", "eva"), range(1, len(children) + 1)):
        user = policy.current(name)
        ids = children[:subset]
        assert policy.visible_children(user, ids) == [c for c in ids if policy.can_view(user, c)]


def test_tabs_by_role(policy):
    assert policy.tabs(policy.current("anna")) == {"cases", "intake", "letters"}
    assert policy.tabs(policy.current("eva")) == {"evaluation"}
    assert policy.tabs(policy.current("chef")) == {"cases", "intake", "letters", "admin"}
    assert not policy.can_upload(policy.current("eva")) and policy.can_upload(policy.current("anna"))


def test_logins_and_checks_are_logged(policy):
    assert policy.login("anna", PASSWORD)
    assert not policy.login("anna", "fel-fel-fel-fel")
    assert not policy.login(PASSWORD, "ett lösenord i namnrutan")  # a slip: the typed name is not logged
    policy.check(policy.current("anna"), "S1", policy_action("view_case"))
    entries = policy.audit.entries()
    assert [(e.user, e.action, e.outcome) for e in entries] == [
        ("anna", "login", "ok"),
        ("anna", "login_failed", "failed"),
        (UNKNOWN_USER, "login_failed", "failed"),
        ("anna", "view_case", "denied"),
    ]
    assert PASSWORD.encode() not in policy.audit.path.read_bytes()
    assert policy.audit.verify().ok


def policy_action(name: str):
    from assistant.audit import Action

    return Action(name)


AFFIRMED = Polarity.affirmed
ADDRESS_TEXT = "Familjen har flyttat till Lindvägen 14 B, 123 45 Malmö. Pappa slog henne i hallen."


def test_addresses_are_masked_in_place_for_protected_children_only(policy):
    masked = mask_addresses(ADDRESS_TEXT)
    assert "Lindvägen" not in masked and "123 45" not in masked and "Malmö" not in masked
    assert len(masked) == len(ADDRESS_TEXT) and MASK in masked  # offsets of citations still hold
    assert masked.endswith("Pappa slog henne i hallen.")
    assert mask_addresses("Hon är 12 år och går i klass 5.") == "Hon är 12 år och går i klass 5."

    report = fixture_reports("T1")[0].model_copy(update={"child_id": "P1", "text": ADDRESS_TEXT})
    passage = Passage(
        passage_id="R:0", report_id="R", child_id="P1", n=0, start=0, end=len(ADDRESS_TEXT), text=ADDRESS_TEXT,
        date=report.date, reporter=report.reporter,
    )  # fmt: skip
    assert "Lindvägen" not in policy.shown_report(report).text
    assert "Lindvägen" not in policy.shown_passage(passage).text
    open_report = report.model_copy(update={"child_id": "N1"})
    assert policy.shown_report(open_report).text == ADDRESS_TEXT

    summary = make_summary(
        [report],
        [KnownFinding("Lindvägen 14 B, 123 45 Malmö. Pappa slog henne", Category.physical_violence, Polarity.affirmed)],
    )
    summary = summary.model_copy(update={"child_id": "P1", "narrative": "Barnet bor på Lindvägen 14 [1]."})
    taxonomy = load_taxonomy()
    shown = policy.shown_review(review_summary(summary, {}, taxonomy))
    quote = shown.items[0].indicator.citations[0].quote
    assert "Lindvägen" not in quote and quote.endswith("Pappa slog henne")
    assert "Lindvägen" not in shown.summary.narrative
    assert summary.indicators[0].citations[0].quote.startswith("Lindvägen")  # the stored summary is untouched


# --- the command line ----------------------------------------------------------------------------------


def cli(home, *args, user: str | None = None, stdin: str | None = None):
    env = {**os.environ, "ASSISTANT_EXTRACTOR__MODE": "lexicon"}
    env.pop("ASSISTANT_USER", None)
    if user:
        env["ASSISTANT_USER"] = user
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=600,
    )


def test_cli_users_roles_and_the_audit_trail(tmp_path, fixture_file):
    home = tmp_path / "home"
    first = cli(home, "users", "add", "anna", "--role", "caseworker", "--password-stdin", stdin=PASSWORD + "\n")
    assert first.returncode == 2 and "första användaren måste vara administratör" in first.stderr
    assert cli(home, "users", "add", "chef", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    anonymous = cli(home, "children")
    assert anonymous.returncode == 2 and "--user" in anonymous.stderr
    for name, unit in (("anna", "nord"), ("bo", "syd")):
        added = cli(
            home, "users", "add", name, "--role", "caseworker", "--unit", unit, "--password-stdin",
            user="chef", stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    assert cli(home, "users", "add", "x2", "--role", "admin", "--password-stdin", user="anna").returncode == 2

    assert cli(home, "ingest", str(fixture_file), user="anna").returncode == 0  # new children join her unit
    assert [line.split("\t")[0] for line in cli(home, "children", user="anna").stdout.splitlines()] == ["T1", "T2"]
    assert cli(home, "children", user="bo").stdout == ""
    refused = cli(home, "summarize", "T1", user="bo")
    assert refused.returncode == 2 and "behörighet" in refused.stderr

    assert cli(home, "children", "protect", "T1", user="chef").returncode == 0
    assert [line.split("\t")[0] for line in cli(home, "children", user="anna").stdout.splitlines()] == ["T2"]
    assert cli(home, "users", "assign", "anna", "T1", user="chef").returncode == 0
    shown = cli(home, "summarize", "T1", "--format", "json", "--no-narrative", user="anna")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["child_id"] == "T1"
    assert cli(home, "users", "disable", "anna", user="chef").returncode == 0
    assert cli(home, "children", user="anna").returncode == 2

    listing = cli(home, "users", "list", user="chef").stdout
    assert "anna\thandläggare\tnord\tavstängd\ttilldelade: T1" in listing

    exported = cli(home, "audit", "export", user="chef")
    entries = [json.loads(line) for line in exported.stdout.splitlines()]
    trail = [(e["user"], e["action"], e["child_id"], e["outcome"]) for e in entries]
    assert ("uppstart", "admin_change", "", "ok") in trail  # the first administrator, made in bootstrap mode
    assert ("anna", "admin_change", "", "denied") in trail
    assert ("anna", "ingest", "T1", "ok") in trail
    assert ("bo", "view_summary", "T1", "denied") in trail
    assert ("chef", "admin_change", "T1", "ok") in trail  # protect and assign
    assert ("anna", "view_summary", "T1", "ok") in trail
    assert all(dt.datetime.fromisoformat(e["at"]) for e in entries)
    verified = cli(home, "audit", "verify", user="chef")
    assert verified.returncode == 0, verified.stderr
    assert cli(home, "audit", "verify", user="bo").returncode == 2

    for path in home.iterdir():
        if path.name.startswith(("audit", "access")):
            data = path.read_bytes()
            assert PASSWORD.encode() not in data
            assert b"pappa slog henne" not in data and b"Elsa" not in data, path


def test_an_upload_may_not_touch_a_child_the_uploader_may_not_see(make_assistant, tmp_path, fixture_file):
    """Real store, Chroma and embeddings: a caseworker of unit syd cannot add to or overwrite nord's child T1,
    neither under T1's id nor by reusing one of T1's report ids for another child; a new child is fine."""
    assistant = make_assistant()
    settings = assistant.settings
    policy = AccessPolicy.for_settings(settings)
    policy.users.add("bo", Role.caseworker, PASSWORD, unit="syd")
    assert not [r for r in assistant.ingest([fixture_file]) if r.error]  # bootstrap: no user yet
    policy.users.set_unit("T1", "nord")
    policy.users.set_unit("T2", "syd")
    bo = policy.current("bo")
    original = assistant.store.report("T1-R1").text

    def upload(name: str, record: dict):
        path = tmp_path / name
        path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        return assistant.ingest([path], admit=policy.admission(bo, assistant.store))[0]

    base = {"date": "2024-01-01", "reporter": "skola", "text": "Ny text."}
    for name, record in (
        ("add.jsonl", {**base, "report_id": "T1-R9", "child_id": "T1"}),
        ("overwrite.jsonl", {**base, "report_id": "T1-R1", "child_id": "T1"}),
        ("steal.jsonl", {**base, "report_id": "T1-R1", "child_id": "T2"}),
    ):
        result = upload(name, record)
        assert "behörighet" in result.error and "T1" not in result.error.split(":", 1)[1], result.error
    assert assistant.store.report("T1-R1").text == original and assistant.store.report("T1-R9") is None
    assert not upload("own.jsonl", {**base, "report_id": "T2-R2", "child_id": "T2"}).error
    assert not upload("new.jsonl", {**base, "report_id": "N9-R1", "child_id": "N9"}).error
    assert not upload("more.jsonl", {**base, "report_id": "N9-R2", "child_id": "N9"}).error  # claimed by bo's unit
    assert policy.users.child("N9").unit == "syd"
    denied = [(e.child_id, e.outcome) for e in policy.audit.entries() if e.action == "upload"]
    assert denied == [("T1", "denied")] * 3
