"""Rules that span a board's stories, checked on the current-state read models.

The placement enforces them when commands run; these checks find a read model
that breaks them anyway (tampered, or projected wrongly), which a comparison
with a replay would miss when the replay is wrong the same way.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, func, select

from storyline_service.projections.base import Tables


def broken_invariants(conn: Connection, t: Tables) -> list[str]:
    stories, columns = t["stories"], t["board_columns"]
    open_stories = stories.c.archived.is_(False)
    held = (
        select(stories.c.board_key, stories.c.column, func.count().label("held"))
        .where(open_stories)
        .group_by(stories.c.board_key, stories.c.column)
        .subquery()
    )
    over_limit = select(held.c.board_key, held.c.column, held.c.held, columns.c.wip_limit).join(
        columns,
        and_(
            columns.c.board_key == held.c.board_key,
            columns.c.key == held.c.column,
            columns.c.wip_limit.is_not(None),
            held.c.held > columns.c.wip_limit,
        ),
    )
    shared_ranks = (
        select(stories.c.board_key, stories.c.rank, func.count())
        .where(open_stories)
        .group_by(stories.c.board_key, stories.c.rank)
        .having(func.count() > 1)
    )
    column_exists = (
        select(columns.c.key)
        .where(columns.c.board_key == stories.c.board_key, columns.c.key == stories.c.column)
        .exists()
    )
    stranded = select(stories.c.key, stories.c.column).where(open_stories, ~column_exists)
    return (
        [
            f"stories: {board} {column} holds {count} stories, over its WIP limit of {limit}"
            for board, column, count, limit in conn.execute(over_limit.order_by(held.c.board_key))
        ]
        + [
            f"stories: {count} open stories of {board} share the rank {rank!r}"
            for board, rank, count in conn.execute(shared_ranks.order_by(stories.c.board_key))
        ]
        + [
            f"stories: {key} is in column {column}, which its board does not have"
            for key, column in conn.execute(stranded.order_by(stories.c.key))
        ]
    )
