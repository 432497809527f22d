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
