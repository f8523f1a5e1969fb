"""Workspace use cases: plan, apply and reads. The local implementation of `WorkspaceApi`.

Apply writes every resource change and its timeline event through one unit of work, so a
failure anywhere leaves both the state and the timeline as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from launchdeck.errors import ConfigError, Conflict, ValidationFailed
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.timeline.model import NewEvent
from launchdeck.workspace.model import (
    Campaign,
    Environment,
    ResourceKind,
    System,
    WorkspaceSettings,
    to_model,
)
from launchdeck.workspace.plan import Action, Plan, ResourceChange, diff
from launchdeck.workspace.spec import WorkspaceSpec
from launchdeck.workspace.validate import check

__all__ = ["ApplyResult", "WorkspaceApi", "WorkspaceInfo", "WorkspaceService", "change_event"]

_VERB = {Action.ADD: "added", Action.CHANGE: "changed", Action.REMOVE: "removed"}


class WorkspaceInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    settings: WorkspaceSettings | None
    revision: int
    counts: dict[ResourceKind, int]


class ApplyResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    revision: int
    """The stored revision after the apply (unchanged when the plan was empty)."""
    plan: Plan
    event_ids: tuple[int, ...] = ()


class WorkspaceApi(Protocol):
    """What the CLI needs of the workspace, locally or over HTTP."""

    def info(self) -> WorkspaceInfo: ...
    def plan(self, spec: WorkspaceSpec) -> Plan: ...
    def apply(
        self, spec: WorkspaceSpec, *, expected_revision: int | None = None
    ) -> ApplyResult: ...
    def systems(self) -> list[System]: ...
    def system(self, system_id: str) -> System: ...
    def environments(self) -> list[Environment]: ...
    def environment(self, environment_id: str) -> Environment: ...
    def campaigns(self) -> list[Campaign]: ...
    def campaign(self, campaign_id: str) -> Campaign: ...


def change_event(change: ResourceChange, *, revision: int, actor: str, now: datetime) -> NewEvent:
    """The timeline event that records one applied change."""
    return NewEvent(
        occurred_at=now,
        actor=actor,
        kind=f"{change.kind}.{_VERB[change.action]}",
        subject=f"{change.kind}/{change.id}",
        system=_system_of(change),
        payload={
            "revision": revision,
            "fields": [f.field for f in change.fields],
            "before": change.before,
            "after": change.after,
        },
    )


def _system_of(change: ResourceChange) -> str | None:
    """The system a change is about, so `timeline --system` finds it: a system, or an SLO's."""
    if change.kind is ResourceKind.SYSTEM:
        return change.id
    if change.kind is ResourceKind.SLO or change.kind is ResourceKind.FLAG:
        owner = (change.after or change.before or {}).get("system")
        return str(owner) if owner else None
    return None


def _checked(spec: WorkspaceSpec) -> WorkspaceSpec:
    """`spec` when its cross-references hold; ValidationFailed naming the fields otherwise."""
    problems = check(spec)
    if problems:
        errors = [
            ConfigError(p.message, where=_dotted(p.path), field=_dotted(p.path), hint=p.hint)
            for p in problems
        ]
        raise ValidationFailed(errors, source="the workspace")
    return spec


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


class WorkspaceService:
    """The workspace on a database, acting as `actor`."""

    def __init__(self, db: Database, *, actor: str, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock

    def info(self) -> WorkspaceInfo:
        with self.db.read() as session:
            store = SqlStateStore(session)
            state = store.load()
            return WorkspaceInfo(
                settings=state.workspace,
                revision=store.revision(),
                counts={
                    ResourceKind.ENVIRONMENT: len(state.environments),
                    ResourceKind.SYSTEM: len(state.systems),
                    ResourceKind.CAMPAIGN: len(state.campaigns),
                    ResourceKind.SLO: len(state.slos),
                },
            )

    def plan(self, spec: WorkspaceSpec) -> Plan:
        desired = to_model(_checked(spec))
        with self.db.read() as session:
            store = SqlStateStore(session)
            return diff(desired, store.load(), base_revision=store.revision())

    def apply(self, spec: WorkspaceSpec, *, expected_revision: int | None = None) -> ApplyResult:
        desired = to_model(_checked(spec))
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store, timeline = SqlStateStore(uow.session), SqlTimeline(uow.session)
            base = store.revision()
            if expected_revision is not None and expected_revision != base:
                raise Conflict(
                    f"the plan was made against revision {expected_revision}, "
                    f"the store is at {base}",
                    hint="run 'launchdeck plan' again and review the new changes",
                )
            plan = diff(desired, store.load(), base_revision=base)
            if not plan.has_changes:
                return ApplyResult(revision=base, plan=plan)
            revision = store.claim_revision(base, now=now)
            event_ids = []
            for change in plan.changes:
                store.write(change, now=now, actor=self.actor)
                event = change_event(change, revision=revision, actor=self.actor, now=now)
                event_ids.append(timeline.append(event).id)
            store.record_longest_campaign(desired.campaigns)
            uow.commit()
        return ApplyResult(revision=revision, plan=plan, event_ids=tuple(event_ids))

    def _list(self, kind: ResourceKind) -> list[object]:
        with self.db.read() as session:
            return SqlStateStore(session).list(kind)

    def _get(self, kind: ResourceKind, resource_id: str) -> object:
        with self.db.read() as session:
            return SqlStateStore(session).get(kind, resource_id)

    def systems(self) -> list[System]:
        return self._list(ResourceKind.SYSTEM)  # type: ignore[return-value]

    def system(self, system_id: str) -> System:
        return self._get(ResourceKind.SYSTEM, system_id)  # type: ignore[return-value]

    def environments(self) -> list[Environment]:
        return self._list(ResourceKind.ENVIRONMENT)  # type: ignore[return-value]

    def environment(self, environment_id: str) -> Environment:
        return self._get(ResourceKind.ENVIRONMENT, environment_id)  # type: ignore[return-value]

    def campaigns(self) -> list[Campaign]:
        return self._list(ResourceKind.CAMPAIGN)  # type: ignore[return-value]

    def campaign(self, campaign_id: str) -> Campaign:
        return self._get(ResourceKind.CAMPAIGN, campaign_id)  # type: ignore[return-value]
