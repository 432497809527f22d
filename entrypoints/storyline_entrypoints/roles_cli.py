"""`storyline boards` and `storyline roles`: who may do what on which board, for operators without a
GraphQL client. Changes are recorded like any other, with the operator as their actor."""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.console import Console

from storyline_domain.board import Role
from storyline_domain.errors import DomainError, NotFoundError
from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime, bootstrap

boards_app = typer.Typer(help="The boards there are.", no_args_is_help=True)
roles_app = typer.Typer(help="Grant, revoke and list roles on a board.", no_args_is_help=True)
console = Console()

ACTOR = typer.Option("admin", "--actor", help="Who the change is recorded as (the operator)")


def _with_runtime(work: Callable[[Runtime], None], *, writes: bool = False) -> None:
    """Runs ``work``; a broken rule is printed and exits with 1, having changed nothing."""
    runtime = bootstrap(read_your_writes=writes)
    try:
        work(runtime)
    except DomainError as error:
        console.print(f"refused: {error.message}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()


@boards_app.command("list")
def boards_list() -> None:
    """Every board's key, name and number of members."""

    def show(runtime: Runtime) -> None:
        reads = runtime.reads
        keys = reads.board_keys()
        boards, members = reads.boards_by_key(keys), reads.members_of(keys)
        for key in keys:
            console.print(f"{key:10} {boards[key].name:30} {len(members[key])} members")

    _with_runtime(show)


@roles_app.command("list")
def roles_list(board: str) -> None:
    """The members of BOARD: user, role and when it was granted."""

    def show(runtime: Runtime) -> None:
        if not runtime.reads.boards_by_key([board]):
            raise NotFoundError(f"no board {board}")
        for member in runtime.reads.members_of([board])[board]:
            console.print(f"{member.user:20} {member.role:8} granted {member.granted_at:%Y-%m-%d %H:%M} UTC")

    _with_runtime(show)


@roles_app.command("grant")
def roles_grant(board: str, user: str, role: Role, actor: str = ACTOR) -> None:
    """Gives USER the ROLE on BOARD (replacing any role they had)."""

    def grant(runtime: Runtime) -> None:
        runtime.app.grant_role(Caller(actor, superuser=True), board, user, role.value)
        console.print(f"{user} is {role.value} on {board}")

    _with_runtime(grant, writes=True)


@roles_app.command("revoke")
def roles_revoke(board: str, user: str, actor: str = ACTOR) -> None:
    """Takes USER's role on BOARD away; the last admin keeps theirs."""

    def revoke(runtime: Runtime) -> None:
        runtime.app.revoke_role(Caller(actor, superuser=True), board, user)
        console.print(f"{user} has no role on {board} any more")

    _with_runtime(revoke, writes=True)
