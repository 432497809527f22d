"""Board members: the people a board's stories may be assigned to."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from storyline_graphql.context import Info
from storyline_graphql.enums import Role
from storyline_service.queries import Record


@strawberry.type(description="Someone with a role on a board.")
class BoardMember:
    user: str
    role: Role
    granted_at: datetime = strawberry.field(description="When their current role was granted.")

    @classmethod
    def from_row(cls, row: Record) -> BoardMember:
        return cls(user=row.user, role=Role(row.role), granted_at=row.granted_at)


@strawberry.type
class BoardMembers:
    if TYPE_CHECKING:
        key: str

    @strawberry.field(description="By user name. Stories may be assigned only to members.")
    async def members(self, info: Info) -> list[BoardMember]:
        return [BoardMember.from_row(row) for row in await info.context.loaders.members.load(self.key)]
