"""How many boards each user has created, the consistency boundary of ``max_boards_per_user``.

One aggregate per user, saved together with every board they create: two creators racing
past the limit both start from the same version, so only one of them is recorded and the
other retries against the new count.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import NAMESPACE
from storyline_domain.errors import ValidationError


def board_quota_id(user: str) -> UUID:
    return uuid5(NAMESPACE, f"user/{user}/boards")


class BoardQuota(StorylineAggregate):
    def __init__(self, user: str) -> None:
        self.user = user
        self.boards_created = 0

    class Created(StorylineAggregate.Created):
        user: str

    class BoardCounted(StorylineAggregate.Event):
        board_key: str

        def apply(self, quota: BoardQuota) -> None:
            quota.boards_created += 1

    @classmethod
    def create(cls, user: str, stamp: Stamp) -> BoardQuota:
        return cls._create(cls.Created, id=board_quota_id(user), user=user, **stamp.fields())

    def count_board(self, board_key: str, stamp: Stamp, max_boards: int) -> None:
        if self.boards_created >= max_boards:
            raise ValidationError(f"a user may create at most {max_boards} boards")
        self._record(self.BoardCounted, stamp, board_key=board_key)
