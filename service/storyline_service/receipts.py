"""Idempotency receipts: one per (actor, key), saved atomically with the command's events.

Because a receipt's id derives from the key, two concurrent commands with the
same key collide in the event store and only one of them is recorded.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import NAMESPACE
from storyline_domain.errors import ValidationError


def receipt_id(actor: str, key: str) -> UUID:
    return uuid5(NAMESPACE, f"receipt/{actor}/{key}")


class CommandReceipt(StorylineAggregate):
    def __init__(self, command: str, fingerprint: str, result: str) -> None:
        self.command = command
        self.fingerprint = fingerprint
        self.result = result

    class Created(StorylineAggregate.Created):
        command: str
        fingerprint: str
        result: str

    @classmethod
    def create(cls, command: str, fingerprint: str, result: str, stamp: Stamp) -> CommandReceipt:
        assert stamp.idempotency_key is not None
        return cls._create(
            cls.Created,
            id=receipt_id(stamp.actor, stamp.idempotency_key),
            command=command,
            fingerprint=fingerprint,
            result=result,
            **stamp.fields(),
        )

    def replay(self, command: str, fingerprint: str) -> str:
        """The first result, if this is the same command again."""
        if (command, fingerprint) != (self.command, self.fingerprint):
            raise ValidationError(
                "this clientMutationId was already used for a different mutation", field="clientMutationId"
            )
        return self.result
