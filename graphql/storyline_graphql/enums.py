"""The domain's enumerations, served under the same names and values."""

from __future__ import annotations

import strawberry

from storyline_domain.board import Role, StatusCategory
from storyline_domain.sprint import SprintState
from storyline_domain.story import Priority, StoryType

for enum in (StatusCategory, Role, StoryType, Priority, SprintState):
    strawberry.enum(enum)

__all__ = ["Priority", "Role", "SprintState", "StatusCategory", "StoryType"]
