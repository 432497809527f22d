"""Domain errors. Each names the kind of rule broken and, when one is, the input at fault."""

from __future__ import annotations


class DomainError(Exception):
    """A command broke a rule; nothing was recorded."""

    code = "VALIDATION"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    code = "VALIDATION"


class NotFoundError(DomainError):
    code = "NOT_FOUND"


class ConflictError(DomainError):
    code = "CONFLICT"


class InvalidTransitionError(DomainError):
    code = "INVALID_TRANSITION"


class WipLimitError(DomainError):
    code = "WIP_LIMIT"


class ForbiddenError(DomainError):
    code = "FORBIDDEN"


class ItemErrors(DomainError):
    """Items of one bulk command broke rules: ``errors`` holds one error per failing item,
    each naming its item's field (e.g. ``stories.3.title``). Nothing was recorded."""

    def __init__(self, errors: list[DomainError]) -> None:
        super().__init__(errors[0].message, errors[0].field)
        self.code = errors[0].code
        self.errors = errors
