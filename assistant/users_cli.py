"""``assistant users ...`` and ``assistant children ...``: accounts, assignments, units and protection.

Every change is made by an administrator (``--user``, or the bootstrap
administrator before any user exists) and written to the audit log.
Passwords are read with a hidden prompt, or one line from standard input with
``--password-stdin`` for scripts; never from the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.access import ROLE_LABELS, AccessPolicy, Role, User
from assistant.audit import Action
from assistant.errors import UserError
from assistant.settings import Settings, load_settings

users_app = typer.Typer(no_args_is_help=True, help="Användare: lägg till, lista, stäng av, byt lösenord, tilldela.")
children_app = typer.Typer(help="Barnen: lista; enhet och skyddade personuppgifter (administratör).")

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input")
]


def settings_of(ctx: typer.Context) -> Settings:
    home = ctx.find_root().params.get("home")
    return load_settings(**({"home": Path(home)} if home else {}))


def acting(ctx: typer.Context) -> tuple[Settings, AccessPolicy, User]:
    """The settings, the access policy and who runs this command (``--user`` / ``ASSISTANT_USER``)."""
    settings = settings_of(ctx)
    policy = AccessPolicy.for_settings(settings)
    return settings, policy, policy.cli_user(ctx.find_root().params.get("user"))


def _admin(ctx: typer.Context, what: str) -> tuple[AccessPolicy, User]:
    _, policy, user = acting(ctx)
    policy.require_admin(user, what)
    return policy, user


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise UserError("inget lösenord på standard input")
        return line.rstrip("\r\n")
    return typer.prompt("Lösenord", hide_input=True, confirmation_prompt="Upprepa lösenordet")


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: str,
    role: Annotated[Role, typer.Option(help="caseworker (handläggare), evaluator (utvärderare) or admin")],
    unit: Annotated[str, typer.Option(help="The caseworker's unit (enhet); they see its children")] = "",
    password_stdin: PasswordStdin = False,
):
    """Add a user. The first user must be an administrator."""
    policy, actor = _admin(ctx, f"users add {username}")
    if not policy.users.has_users() and role != Role.admin:
        raise UserError("den första användaren måste vara administratör (--role admin)")
    user = policy.users.add(username, role, _read_password(password_stdin), unit)
    policy.record(actor, Action.ADMIN_CHANGE, detail=f"users add {user.username} role={user.role} unit={user.unit}")
    typer.echo(f"OK   {user.label} har lagts till")


@users_app.command("init")
def users_init(ctx: typer.Context, password_stdin: PasswordStdin = False):
    """Before the first start: create an administrator if there is no user yet (asks for name and password)."""
    policy = AccessPolicy.for_settings(settings_of(ctx))
    if policy.users.has_users():
        typer.echo(f"{len(policy.users.users())} användare finns redan")
        return
    name = sys.stdin.readline().strip() if password_stdin else typer.prompt("Administratörens användarnamn")
    users_add(ctx, name, Role.admin, "", password_stdin)


@users_app.command("list")
def users_list(ctx: typer.Context):
    """Users with role, unit, status and assigned children."""
    policy, _ = _admin(ctx, "users list")
    for user in policy.users.users():
        assigned = ", ".join(sorted(policy.users.assigned(user.username))) or "-"
        status = "aktiv" if user.active else "avstängd"
        typer.echo(f"{user.username}\t{ROLE_LABELS[user.role]}\t{user.unit or '-'}\t{status}\ttilldelade: {assigned}")


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: str):
    """Disable an account: its sessions lose access at their next action."""
    _set_active(ctx, username, False)


@users_app.command("enable")
def users_enable(ctx: typer.Context, username: str):
    """Enable a disabled account again."""
    _set_active(ctx, username, True)


def _set_active(ctx: typer.Context, username: str, active: bool) -> None:
    change = f"users {'enable' if active else 'disable'} {username}"
    policy, actor = _admin(ctx, change)
    policy.users.set_active(username, active)
    policy.record(actor, Action.ADMIN_CHANGE, detail=change)
    typer.echo(f"OK   {username} är {'aktiv' if active else 'avstängd'}")


@users_app.command("passwd")
def users_passwd(ctx: typer.Context, username: str, password_stdin: PasswordStdin = False):
    """Set a new password (and unlock the account)."""
    policy, actor = _admin(ctx, f"users passwd {username}")
    policy.users.require(username)
    policy.users.set_password(username, _read_password(password_stdin))
    policy.record(actor, Action.ADMIN_CHANGE, detail=f"users passwd {username}")
    typer.echo(f"OK   nytt lösenord för {username}")


@users_app.command("assign")
def users_assign(ctx: typer.Context, username: str, child_id: str):
    """Give a user a child's case (the only way to see a child with protected personal data)."""
    policy, actor = _admin(ctx, f"users assign {username}")
    policy.users.assign(username, child_id)
    policy.record(actor, Action.ADMIN_CHANGE, child_id, detail=f"users assign {username}")
    typer.echo(f"OK   {username} har tilldelats barn {child_id}")


@users_app.command("unassign")
def users_unassign(ctx: typer.Context, username: str, child_id: str):
    """Take a child's case from a user."""
    policy, actor = _admin(ctx, f"users unassign {username}")
    policy.users.unassign(username, child_id)
    policy.record(actor, Action.ADMIN_CHANGE, child_id, detail=f"users unassign {username}")
    typer.echo(f"OK   {username} har inte längre barn {child_id}")


@children_app.callback(invoke_without_command=True)
def children_list(ctx: typer.Context):
    """List the children you may see, with report counts and date ranges."""
    if ctx.invoked_subcommand is not None:
        return
    from assistant.store import Store

    settings, policy, user = acting(ctx)
    store = Store(settings.db_path)
    try:
        overview = store.children()
    finally:
        store.close()
    visible = set(policy.visible_children(user, [c.child_id for c in overview]))
    policy.record(user, Action.VIEW_CASE_LIST, detail=f"cli {len(visible)} barn")
    for child in overview:
        if child.child_id in visible:
            typer.echo(f"{child.child_id}\t{child.reports} anmälningar\t{child.first_date} – {child.last_date}")


@children_app.command("set-unit")
def children_set_unit(ctx: typer.Context, child_id: str, unit: str):
    """Place a child's case in a unit: that unit's caseworkers see it."""
    policy, actor = _admin(ctx, "children set-unit")
    policy.users.set_unit(child_id, unit)
    policy.record(actor, Action.ADMIN_CHANGE, child_id, detail=f"children set-unit {unit}")
    typer.echo(f"OK   barn {child_id} hör till enheten {unit}")


@children_app.command("protect")
def children_protect(ctx: typer.Context, child_id: str):
    """Mark protected personal data: only assigned users see the child; addresses are masked."""
    policy = _set_protected(ctx, child_id, True)
    assigned = ", ".join(policy.users.assignees(child_id)) or "ingen (tilldela med 'assistant users assign')"
    typer.echo(f"OK   barn {child_id} har skyddade personuppgifter; ser barnet: {assigned}")


@children_app.command("unprotect")
def children_unprotect(ctx: typer.Context, child_id: str):
    """Remove the protected-personal-data mark."""
    _set_protected(ctx, child_id, False)
    typer.echo(f"OK   barn {child_id} har inte längre skyddade personuppgifter")


def _set_protected(ctx: typer.Context, child_id: str, protected: bool) -> AccessPolicy:
    change = f"children {'protect' if protected else 'unprotect'}"
    policy, actor = _admin(ctx, change)
    policy.users.set_protected(child_id, protected)
    policy.record(actor, Action.ADMIN_CHANGE, child_id, detail=change)
    return policy
