"""The managers' mutations: MANAGER (or ADMIN) on the board; every one recorded and audited."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal

import strawberry

from storyline_domain.board import CostBasis
from storyline_domain.epic import Health
from storyline_domain.risk import RiskState
from storyline_graphql.boards import BoardPayload, board_payload
from storyline_graphql.common import (
    BackfillInput,
    MutationInput,
    Reread,
    UserError,
    VersionedInput,
    run_command,
)
from storyline_graphql.context import Info
from storyline_graphql.control.types import Risk, StatusUpdate, load_risk
from storyline_graphql.epics import EpicPayload, load_epic
from storyline_service.control import commands, queries
from storyline_service.queries import Reads

EDITABLE = ("title", "description", "probability", "impact", "owner", "mitigation")


@strawberry.input
class SetEpicTargetDateInput(VersionedInput):
    epic_key: str
    target_date: date | None
    reason: str = strawberry.field(description="Needed when the date moves later or is dropped.")


@strawberry.input
class SetEpicHealthInput(VersionedInput):
    epic_key: str
    health: Health | None = strawberry.field(default=None, description="null: back to the derived health")
    reason: str | None = None


@strawberry.input
class SetBudgetInput(VersionedInput):
    board_key: str
    currency: str = strawberry.field(description="ISO 4217, like EUR")
    amount: Decimal = strawberry.field(description='An exact decimal string, like "120000.00".')
    basis: CostBasis
    rate: Decimal
    reason: str | None = None


@strawberry.input
class CreateRiskInput(BackfillInput):
    board_key: str
    title: str
    description: str | None = None
    probability: int = strawberry.field(description="1..5")
    impact: int = strawberry.field(description="1..5")
    owner: str | None = None
    mitigation: str | None = None


@strawberry.input
class UpdateRiskInput(VersionedInput):
    risk_key: str
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    probability: int | None = strawberry.UNSET
    impact: int | None = strawberry.UNSET
    owner: str | None = strawberry.UNSET
    mitigation: str | None = strawberry.UNSET


@strawberry.input
class SetRiskStateInput(VersionedInput):
    risk_key: str
    state: RiskState
    note: str | None = None


@strawberry.input
class LinkRiskInput(VersionedInput):
    risk_key: str
    story_keys: list[str] | None = strawberry.field(default=None, description="Replaces the linked stories.")
    epic_keys: list[str] | None = strawberry.field(default=None, description="Replaces the linked epics.")


@strawberry.input
class PublishStatusUpdateInput(MutationInput):
    board_key: str
    health: Health
    summary: str
    since: datetime | None = None


@strawberry.type
class RiskPayload:
    risk: Risk | None
    errors: list[UserError]
    client_mutation_id: str | None


@strawberry.type
class StatusUpdatePayload:
    status_update: StatusUpdate | None
    errors: list[UserError]
    client_mutation_id: str | None


EPIC_REREAD = Reread(Reads.epics_by_key, lambda loaders: loaders.epic)


async def epic_payload(info: Info, input: VersionedInput, command: commands.Command) -> EpicPayload:
    key, errors = await run_command(info, input, command, reread=EPIC_REREAD)
    epic = await load_epic(info, key) if key else None
    return EpicPayload(epic=epic, errors=errors, client_mutation_id=input.client_mutation_id)


async def risk_payload(info: Info, input: MutationInput, command: commands.Command) -> RiskPayload:
    key, errors = await run_command(info, input, command)
    risk = await load_risk(info, key) if key else None
    return RiskPayload(risk=risk, errors=errors, client_mutation_id=input.client_mutation_id)


@strawberry.type
class ControlMutations:
    @strawberry.mutation(description="Moves an epic's target date; every move is kept with its reason.")
    async def set_epic_target_date(self, info: Info, input: SetEpicTargetDateInput) -> EpicPayload:
        app = info.context.app
        return await epic_payload(
            info,
            input,
            lambda caller: commands.set_epic_target_date(
                app, caller, input.epic_key, input.target_date, input.reason, input.expected_version
            ),
        )

    @strawberry.mutation(
        description="Overrides an epic's derived health with a reason, or clears the override."
    )
    async def set_epic_health(self, info: Info, input: SetEpicHealthInput) -> EpicPayload:
        app = info.context.app
        health = input.health.value if input.health else None
        return await epic_payload(
            info,
            input,
            lambda caller: commands.set_epic_health(
                app, caller, input.epic_key, health, input.reason, input.expected_version
            ),
        )

    @strawberry.mutation(description="Sets the board's budget; a float or a malformed amount is refused.")
    async def set_budget(self, info: Info, input: SetBudgetInput) -> BoardPayload:
        app = info.context.app
        return await board_payload(
            info,
            input,
            lambda caller: commands.set_budget(
                app,
                caller,
                input.board_key,
                input.currency,
                input.amount,
                input.basis.value,
                input.rate,
                input.reason,
                input.expected_version,
            ),
        )

    @strawberry.mutation
    async def create_risk(self, info: Info, input: CreateRiskInput) -> RiskPayload:
        fields = {
            "title": input.title,
            "description": input.description,
            "probability": input.probability,
            "impact": input.impact,
            "owner": input.owner,
            "mitigation": input.mitigation,
        }
        app = info.context.app
        return await risk_payload(
            info, input, lambda caller: commands.create_risk(app, caller, input.board_key, fields)
        )

    @strawberry.mutation(description="Changes the fields given; null clears owner or mitigation.")
    async def update_risk(self, info: Info, input: UpdateRiskInput) -> RiskPayload:
        fields = {f: getattr(input, f) for f in EDITABLE if getattr(input, f) is not strawberry.UNSET}
        app = info.context.app
        return await risk_payload(
            info,
            input,
            lambda caller: commands.update_risk(app, caller, input.risk_key, fields, input.expected_version),
        )

    @strawberry.mutation(description="OPEN -> MITIGATING -> CLOSED, or OCCURRED; a closed risk may reopen.")
    async def set_risk_state(self, info: Info, input: SetRiskStateInput) -> RiskPayload:
        app = info.context.app
        return await risk_payload(
            info,
            input,
            lambda caller: commands.set_risk_state(
                app, caller, input.risk_key, input.state.value, input.note, input.expected_version
            ),
        )

    @strawberry.mutation
    async def link_risk(self, info: Info, input: LinkRiskInput) -> RiskPayload:
        app = info.context.app
        return await risk_payload(
            info,
            input,
            lambda caller: commands.link_risk(
                app, caller, input.risk_key, input.story_keys, input.epic_keys, input.expected_version
            ),
        )

    @strawberry.mutation(description="Records the draft as it stands, frozen for good.")
    async def publish_status_update(self, info: Info, input: PublishStatusUpdateInput) -> StatusUpdatePayload:
        app, engine = info.context.app, info.context.reads.engine
        update_id, errors = await run_command(
            info,
            input,
            lambda caller: commands.publish_status_update(
                app, engine, caller, input.board_key, input.health.value, input.summary, input.since
            ),
        )
        row = await asyncio.to_thread(queries.status_update, engine, update_id) if update_id else None
        update = StatusUpdate.from_row(row) if row and info.context.access.can_read(row.board_key) else None
        return StatusUpdatePayload(
            status_update=update, errors=errors, client_mutation_id=input.client_mutation_id
        )
