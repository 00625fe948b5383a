"""Who may see which child's case: users, roles, units, assignments and protected personal data.

Every access decision is made here (``AccessPolicy``) and used alike by the web
page and the command line, and every decision that touches a case is written
to the audit log. The rules:

- a caseworker (handläggare) sees the children of their own unit and the
  children assigned to them;
- an administrator sees every child except protected ones, and manages users,
  units, assignments and protection;
- an evaluator (utvärderare) sees no case unless one is assigned to them;
- a child with protected personal data (skyddade personuppgifter) is seen only
  by users explicitly assigned to it, whatever their role or unit, and its
  address data are masked wherever its reports are shown or exported;
- a disabled user sees nothing; an account is locked for a while after
  repeated failed logins.

Users, assignments and each child's unit and protection live in their own
SQLite file (``<home>/access.sqlite3``), apart from the reports, so that
re-ingesting or deleting reports never changes who may see a child.
Passwords are stored only as argon2id hashes.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from assistant.audit import Action, AuditLog, Outcome
from assistant.errors import UserError
from assistant.feedback import ReviewedSummary
from assistant.redact import find_entities
from assistant.schema import Indicator, Passage, Report, Summary
from assistant.settings import AccessSettings, Settings


class Role(StrEnum):
    caseworker = "caseworker"
    evaluator = "evaluator"
    admin = "admin"


ROLE_LABELS = {Role.caseworker: "handläggare", Role.evaluator: "utvärderare", Role.admin: "administratör"}

# The page's tabs each role sees; a new tab gets an id here and in ui/app.py.
ROLE_TABS: dict[Role, frozenset[str]] = {
    Role.caseworker: frozenset({"cases", "intake", "letters"}),
    Role.evaluator: frozenset({"evaluation"}),
    Role.admin: frozenset({"cases", "intake", "letters", "admin"}),
}
UPLOAD_ROLES = frozenset({Role.caseworker, Role.admin})
USERNAME = re.compile(r"^[\w.@-]{2,64}$")
BOOTSTRAP_USER = "uppstart"  # who the command line acts as before any user exists
UNKNOWN_USER = "okänd användare"  # a failed login with a name that is no user: the typed name is never logged

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS assignments (
    username TEXT NOT NULL,
    child_id TEXT NOT NULL,
    PRIMARY KEY (username, child_id)
);
CREATE TABLE IF NOT EXISTS children (
    child_id TEXT PRIMARY KEY,
    unit TEXT NOT NULL DEFAULT '',
    protected INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    unit: str = ""
    active: bool = True

    @property
    def label(self) -> str:
        return f"{self.username} ({ROLE_LABELS[self.role]}{', ' + self.unit if self.unit else ''})"


@dataclass(frozen=True)
class ChildAccess:
    child_id: str
    unit: str = ""
    protected: bool = False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UserStore:
    """Users with argon2id password hashes, assignments, and each child's unit and protection."""

    def __init__(self, path: Path, rules: AccessSettings | None = None):
        self.path = path
        self.rules = rules or AccessSettings()
        self.hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            with db:
                yield db

    @cached_property
    def _dummy_hash(self) -> str:
        return self.hasher.hash("ingen-användare")

    # --- users ---------------------------------------------------------------------------

    def has_users(self) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def user(self, username: str) -> User | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return _user(row) if row else None

    def users(self) -> list[User]:
        with self._connect() as db:
            return [_user(row) for row in db.execute("SELECT * FROM users ORDER BY username")]

    def add(self, username: str, role: Role | str, password: str, unit: str = "") -> User:
        if not USERNAME.match(username):
            raise UserError(f"användarnamnet '{username}' ska vara 2-64 bokstäver, siffror eller . _ - @")
        role = _role(role)
        self._check_password(password)
        with self._connect() as db:
            if db.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise UserError(f"användaren '{username}' finns redan")
            db.execute(
                "INSERT INTO users (username, role, unit, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (username, role.value, unit.strip(), self.hasher.hash(password), _now().isoformat()),
            )
        return User(username, role, unit.strip())

    def set_password(self, username: str, password: str) -> None:
        self.require(username)
        self._check_password(password)
        with self._connect() as db:
            db.execute(
                "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = '' WHERE username = ?",
                (self.hasher.hash(password), username),
            )

    def set_active(self, username: str, active: bool) -> None:
        self.require(username)
        with self._connect() as db:
            db.execute(
                "UPDATE users SET active = ?, failed_logins = 0, locked_until = '' WHERE username = ?",
                (int(active), username),
            )

    def require(self, username: str) -> User:
        user = self.user(username)
        if user is None:
            raise UserError(f"användaren '{username}' finns inte")
        return user

    def _check_password(self, password: str) -> None:
        if len(password) < self.rules.min_password_chars:
            raise UserError(f"lösenordet måste ha minst {self.rules.min_password_chars} tecken")

    def authenticate(self, username: str, password: str) -> tuple[User | None, str]:
        """The user if the password is right and the account active and unlocked, else None and why.

        A name that is no user costs as much time as a wrong password, so a
        login attempt does not tell which names exist.
        """
        with self._connect() as db:
            row = db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            _verify(self.hasher, self._dummy_hash, password)
            return None, "okänt namn"
        if row["locked_until"] and dt.datetime.fromisoformat(row["locked_until"]) > _now():
            return None, "kontot är tillfälligt låst"
        if not _verify(self.hasher, row["password_hash"], password):
            self._count_failure(username, row["failed_logins"] + 1)
            return None, "fel lösenord"
        if not row["active"]:
            return None, "kontot är avstängt"
        with self._connect() as db:
            new_hash = self.hasher.hash(password) if self.hasher.check_needs_rehash(row["password_hash"]) else None
            db.execute(
                "UPDATE users SET failed_logins = 0, locked_until = '', password_hash = COALESCE(?, password_hash) "
                "WHERE username = ?",
                (new_hash, username),
            )
        return _user(row), ""

    def _count_failure(self, username: str, failures: int) -> None:
        locked = ""
        if failures >= self.rules.max_failed_logins:
            locked, failures = (_now() + dt.timedelta(minutes=self.rules.lockout_minutes)).isoformat(), 0
        with self._connect() as db:
            db.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?", (failures, locked, username)
            )

    # --- assignments and children ------------------------------------------------------------

    def assign(self, username: str, child_id: str) -> None:
        self.require(username)
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO assignments VALUES (?, ?)", (username, child_id))

    def unassign(self, username: str, child_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM assignments WHERE username = ? AND child_id = ?", (username, child_id))

    def assigned(self, username: str) -> set[str]:
        with self._connect() as db:
            return {r[0] for r in db.execute("SELECT child_id FROM assignments WHERE username = ?", (username,))}

    def assignees(self, child_id: str) -> list[str]:
        with self._connect() as db:
            rows = db.execute("SELECT username FROM assignments WHERE child_id = ? ORDER BY username", (child_id,))
            return [r[0] for r in rows]

    def child(self, child_id: str) -> ChildAccess:
        with self._connect() as db:
            row = db.execute("SELECT * FROM children WHERE child_id = ?", (child_id,)).fetchone()
        return ChildAccess(row["child_id"], row["unit"], bool(row["protected"])) if row else ChildAccess(child_id)

    def children(self) -> dict[str, ChildAccess]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM children").fetchall()
        return {r["child_id"]: ChildAccess(r["child_id"], r["unit"], bool(r["protected"])) for r in rows}

    def set_unit(self, child_id: str, unit: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO children (child_id, unit) VALUES (?, ?) ON CONFLICT(child_id) DO UPDATE SET unit = ?",
                (child_id, unit.strip(), unit.strip()),
            )

    def set_protected(self, child_id: str, protected: bool) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO children (child_id, protected) VALUES (?, ?) "
                "ON CONFLICT(child_id) DO UPDATE SET protected = ?",
                (child_id, int(protected), int(protected)),
            )


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _user(row: sqlite3.Row) -> User:
    return User(row["username"], Role(row["role"]), row["unit"], bool(row["active"]))


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise UserError(f"okänd roll '{value}' (välj {', '.join(r.value for r in Role)})") from None


# --- protected personal data: what is never shown ----------------------------------------------

MASK = "█"
ADDRESS_KINDS = frozenset({"ADRESS", "POSTNUMMER"})
TOWN_AFTER_POSTCODE = re.compile(r"\s+[A-ZÅÄÖ][a-zåäö]+(?:\s[A-ZÅÄÖ][a-zåäö]+)?")


def mask_addresses(text: str) -> str:
    """Street addresses, postnummer and the town after them blacked out, character for character, so
    offsets still hold. Found by the same finders as the pseudonymisation (``assistant/redact.py``)."""
    for entity in find_entities(text):
        if entity.kind in ADDRESS_KINDS:
            end = entity.end
            if entity.kind == "POSTNUMMER" and (town := TOWN_AFTER_POSTCODE.match(text, end)):
                end = town.end()
            text = text[: entity.start] + re.sub(r"\S", MASK, text[entity.start : end]) + text[end:]
    return text


# --- the one place that decides ------------------------------------------------------------------


class AccessDenied(UserError):
    """Refused and logged; the message never says whether the child exists."""


class AccessPolicy:
    def __init__(self, users: UserStore, audit: AuditLog):
        self.users = users
        self.audit = audit

    @classmethod
    def for_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(UserStore(settings.access_path, settings.access), AuditLog(settings.audit_path))

    # --- identity ---------------------------------------------------------------------------

    def login(self, username: str, password: str) -> bool:
        """Gradio's auth check: logs every attempt, the typed name only when it is a real user."""
        user, problem = self.users.authenticate(username, password)
        if user is None:
            known = self.users.user(username)
            self.audit.record(
                known.username if known else UNKNOWN_USER,
                known.role if known else "",
                Action.LOGIN_FAILED,
                outcome=Outcome.FAILED,
                detail=problem,
            )
            return False
        self.audit.record(user.username, user.role, Action.LOGIN, detail="webb")
        return True

    def current(self, username: str | None) -> User | None:
        """The logged-in user as the store knows them now (a disabled account loses access at once)."""
        user = self.users.user(username) if username else None
        return user if user is not None and user.active else None

    def cli_user(self, username: str | None) -> User:
        """Who runs a command: the named, active user; before any user exists, the bootstrap administrator."""
        if not self.users.has_users():
            return User(BOOTSTRAP_USER, Role.admin)
        if not username:
            raise UserError("ange vem du är: --user NAMN eller miljövariabeln ASSISTANT_USER")
        user = self.current(username)
        if user is None:
            raise UserError(f"'{username}' är ingen aktiv användare")
        return user

    # --- rules -------------------------------------------------------------------------------

    def can_view(self, user: User | None, child_id: str) -> bool:
        if user is None or not user.active or not child_id:
            return False
        return _allowed(user, self.users.child(child_id), self.users.assigned(user.username))

    def visible_children(self, user: User | None, child_ids: Iterable[str]) -> list[str]:
        if user is None or not user.active:
            return []
        assigned, meta = self.users.assigned(user.username), self.users.children()
        return [c for c in child_ids if _allowed(user, meta.get(c, ChildAccess(c)), assigned)]

    def tabs(self, user: User | None) -> frozenset[str]:
        return ROLE_TABS[user.role] if user is not None and user.active else frozenset()

    def can_upload(self, user: User | None) -> bool:
        return user is not None and user.active and user.role in UPLOAD_ROLES

    def admission(self, user: User, store) -> Callable[[list[Report]], str]:
        """For ``Assistant.ingest``: a file may not add to or replace the reports of a child its uploader
        may not see. A new child is admitted and claimed for the uploader at once, so that the next file
        about it goes in too. The refusal names no child; the log does."""

        def admit(reports: list[Report]) -> str:
            for report in reports:
                stored = store.report(report.report_id)
                for child_id in {report.child_id, stored.child_id if stored else report.child_id}:
                    if store.has_child(child_id) and not self.can_view(user, child_id):
                        self.record(user, Action.UPLOAD, child_id, Outcome.DENIED, detail=report.report_id[:64])
                        return "filen innehåller anmälningar om ett barn som du inte har behörighet till"
            self.claim_new_children(user, {r.child_id for r in reports if not store.has_child(r.child_id)})
            return ""

        return admit

    def require_upload(self, user: User | None, via: str) -> None:
        if not self.can_upload(user):
            self.record(user, Action.UPLOAD, outcome=Outcome.DENIED, detail=via)
            raise AccessDenied("din roll får inte lägga till anmälningar")

    # --- checks that log ---------------------------------------------------------------------

    def check(self, user: User | None, child_id: str, action: Action, detail: str = "") -> bool:
        """Decide, log the outcome (ok or denied) and return it."""
        allowed = self.can_view(user, child_id)
        self.record(user, action, child_id, Outcome.OK if allowed else Outcome.DENIED, detail)
        return allowed

    def require(self, user: User | None, child_id: str, action: Action, detail: str = "") -> None:
        if not self.check(user, child_id, action, detail):
            raise AccessDenied(f"du har inte behörighet till barn '{child_id}'")

    def require_admin(self, user: User, what: str) -> None:
        if user.role != Role.admin:
            self.record(user, Action.ADMIN_CHANGE, outcome=Outcome.DENIED, detail=what)
            raise AccessDenied("bara en administratör får göra det")

    def record(
        self,
        user: User | None,
        action: Action,
        child_id: str = "",
        outcome: Outcome = Outcome.OK,
        detail: str = "",
    ) -> None:
        self.audit.record(
            user.username if user else UNKNOWN_USER, user.role if user else "", action, child_id, outcome, detail
        )

    def claim_new_children(self, user: User, child_ids: Iterable[str]) -> None:
        """A child first registered by someone belongs to their unit (or, without a unit, is assigned to them),
        so that whoever adds a report can go on to read it."""
        known = self.users.children()
        for child_id in child_ids:
            if child_id in known and (known[child_id].unit or known[child_id].protected):
                continue
            if self.can_view(user, child_id):
                continue
            if user.unit:
                self.users.set_unit(child_id, user.unit)
            else:
                self.users.assign(user.username, child_id)

    # --- what is shown -----------------------------------------------------------------------

    def is_protected(self, child_id: str) -> bool:
        return self.users.child(child_id).protected

    def shown_report(self, report: Report) -> Report:
        if not self.is_protected(report.child_id):
            return report
        return report.model_copy(update={"text": mask_addresses(report.text)})

    def shown_passage(self, passage: Passage | None) -> Passage | None:
        if passage is None or not self.is_protected(passage.child_id):
            return passage
        return passage.model_copy(update={"text": mask_addresses(passage.text)})

    def shown_summary(self, summary: Summary) -> Summary:
        """The summary with addresses masked in every quote and in the narrative, for a protected child."""
        if not self.is_protected(summary.child_id):
            return summary
        return _masked_summary(summary)

    def shown_review(self, reviewed: ReviewedSummary) -> ReviewedSummary:
        """The same for a summary with corrections laid over it (the page and the meeting brief)."""
        if not self.is_protected(reviewed.summary.child_id):
            return reviewed
        items = [
            replace(item, indicator=_masked_indicator(item.indicator), original=_masked_indicator(item.original))
            for item in reviewed.items
        ]
        return replace(reviewed, summary=_masked_summary(reviewed.summary), items=items)


def _masked_indicator(indicator: Indicator) -> Indicator:
    citations = [c.model_copy(update={"quote": mask_addresses(c.quote)}) for c in indicator.citations]
    return indicator.model_copy(update={"description": mask_addresses(indicator.description), "citations": citations})


def _masked_summary(summary: Summary) -> Summary:
    return summary.model_copy(
        update={
            "indicators": [_masked_indicator(i) for i in summary.indicators],
            "narrative": mask_addresses(summary.narrative),
        }
    )


def _allowed(user: User, child: ChildAccess, assigned: set[str]) -> bool:
    """The rules of the module docstring, for an active user."""
    if child.child_id in assigned:
        return True
    if child.protected:
        return False
    return user.role == Role.admin or (user.role == Role.caseworker and bool(user.unit) and child.unit == user.unit)


def record_ingest(policy: AccessPolicy, user: User, store, results, via: str) -> None:
    """Log an upload per child (report ids only)."""
    by_child: dict[str, list[str]] = {}
    for result in results:
        for report_id in result.outcomes:
            report = store.report(report_id)
            if report is not None:
                by_child.setdefault(report.child_id, []).append(report_id)
    action = Action.INGEST if via == "cli" else Action.UPLOAD
    for child_id, report_ids in sorted(by_child.items()):
        policy.record(user, action, child_id, detail=f"{via} {','.join(sorted(report_ids))}")
    for result in results:
        if result.error:
            policy.record(user, action, outcome=Outcome.FAILED, detail=f"{via} en fil lästes inte")  # no file names
