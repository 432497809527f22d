"""Board members: who has a role on each board, and when their current role was granted."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from storyline_domain.board import Board, Role
from storyline_service.projections.base import Projection, collect_handlers, on
from storyline_service.readmodels import MemberRow, table_of


@collect_handlers
class Members(Projection):
    name = "members"
    tables = [table_of(MemberRow)]

    @on(Board.Created)
    def board_created(self, conn: Connection, event: Board.Created, position: int) -> None:
        self._grant(conn, str(event.originator_id), event.key, event.actor, Role.ADMIN, event)

    @on(Board.RoleGranted)
    def role_granted(self, conn: Connection, event: Board.RoleGranted, position: int) -> None:
        members, board_id = self.t["board_members"], str(event.originator_id)
        # A board always keeps an admin, so one of its rows names its key.
        key = conn.execute(
            select(members.c.board_key).where(members.c.board_id == board_id).limit(1)
        ).scalar_one()
        self._grant(conn, board_id, key, event.user, event.role, event)

    @on(Board.RoleRevoked)
    def role_revoked(self, conn: Connection, event: Board.RoleRevoked, position: int) -> None:
        members = self.t["board_members"]
        conn.execute(
            delete(members).where(
                members.c.board_id == str(event.originator_id), members.c.user == event.user
            )
        )

    def _grant(
        self, conn: Connection, board_id: str, board_key: str, user: str, role: str, event: Board.Event
    ) -> None:
        members = self.t["board_members"]
        conn.execute(delete(members).where(members.c.board_id == board_id, members.c.user == user))
        conn.execute(
            insert(members).values(
                board_id=board_id, board_key=board_key, user=user, role=role, granted_at=event.occurred_at
            )
        )
