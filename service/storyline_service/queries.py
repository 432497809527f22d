"""Read-side queries over the read models. Each is one indexed query, never a replay."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from storyline_service.readmodels import StoryRow

stories = StoryRow.__table__  # type: ignore[attr-defined]


class Reads:
    """Answers for commands and for the API, from the read models."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stories_in_column(self, board_key: str, column: str) -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).where(
                stories.c.board_key == board_key, stories.c.column == column, stories.c.archived.is_(False)
            )
            return int(conn.execute(query).scalar_one())

    def occupied_columns(self, board_key: str) -> set[str]:
        with self.engine.connect() as conn:
            query = (
                select(stories.c.column)
                .where(stories.c.board_key == board_key, stories.c.archived.is_(False))
                .distinct()
            )
            return set(conn.execute(query).scalars())

    def neighbour_rank(self, board_key: str, rank: str, exclude: str, *, above: bool) -> str | None:
        ordered = stories.c.rank.desc() if above else stories.c.rank.asc()
        beyond = stories.c.rank < rank if above else stories.c.rank > rank
        query = (
            select(stories.c.rank)
            .where(
                stories.c.board_key == board_key,
                stories.c.archived.is_(False),
                stories.c.key != exclude,
                beyond,
            )
            .order_by(ordered)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()
