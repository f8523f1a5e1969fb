"""The stored workspace state: rows <-> the workspace model, and the optimistic revision lock."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from launchdeck.errors import Conflict, NotFound
from launchdeck.experiments.model import EventsSpec
from launchdeck.flags.model import FlagSpec, GovernanceSpec, SegmentSpec
from launchdeck.flags.records import ManagedBy, VersionAction
from launchdeck.incidents.severity import IncidentPolicy
from launchdeck.notify.spec import NotificationsSpec
from launchdeck.reliability.spec import ReliabilitySpec
from launchdeck.store.db import is_lock_conflict
from launchdeck.store.tables import (
    CampaignRow,
    EnvironmentRow,
    ExperimentRow,
    MetricRow,
    SloRow,
    SystemRow,
    WorkspaceRow,
)
from launchdeck.workspace.model import (
    Campaign,
    DesiredState,
    Environment,
    Experiment,
    Metric,
    ResourceKind,
    Slo,
    System,
    WorkspaceSettings,
)
from launchdeck.workspace.plan import Action, ResourceChange
from launchdeck.workspace.spec import FreezesSpec, References

__all__ = ["SqlStateStore"]

Row = EnvironmentRow | SystemRow | CampaignRow | SloRow | MetricRow | ExperimentRow
Model = Environment | System | Campaign | Slo | Metric | Experiment
_ROWS: dict[ResourceKind, type[Row]] = {
    ResourceKind.ENVIRONMENT: EnvironmentRow,
    ResourceKind.SYSTEM: SystemRow,
    ResourceKind.CAMPAIGN: CampaignRow,
    ResourceKind.SLO: SloRow,
    ResourceKind.METRIC: MetricRow,
    ResourceKind.EXPERIMENT: ExperimentRow,
}
_MODELS: dict[ResourceKind, type[Model]] = {
    ResourceKind.ENVIRONMENT: Environment,
    ResourceKind.SYSTEM: System,
    ResourceKind.CAMPAIGN: Campaign,
    ResourceKind.SLO: Slo,
    ResourceKind.METRIC: Metric,
    ResourceKind.EXPERIMENT: Experiment,
}


def _model_fields(kind: ResourceKind) -> tuple[str, ...]:
    return tuple(_MODELS[kind].model_fields)


def _to_model(kind: ResourceKind, row: Row) -> Any:
    return _MODELS[kind].model_validate({f: getattr(row, f) for f in _model_fields(kind)})


def _row_values(kind: ResourceKind, model: Model) -> dict[str, Any]:
    # JSON columns take the JSON form; instants stay datetimes for the UtcDateTime type.
    dumped = model.model_dump(mode="json")
    values = {f: dumped[f] for f in _model_fields(kind)}
    if isinstance(model, Campaign):
        values["starts_at"], values["ends_at"] = model.starts_at, model.ends_at
    return values


class SqlStateStore:
    """Reads and writes the workspace resources inside one unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _workspace_row(self) -> WorkspaceRow:
        row = self.session.get(WorkspaceRow, 1)
        if row is None:  # the initial migration inserts it
            raise NotFound("the workspace row is missing; run 'launchdeck db upgrade'")
        return row

    def revision(self) -> int:
        return self._workspace_row().revision

    def settings(self) -> WorkspaceSettings | None:
        row = self._workspace_row()
        if row.name is None:
            return None
        return WorkspaceSettings(
            name=row.name,
            timezone=row.timezone,
            description=row.description,
            freezes=FreezesSpec.model_validate(row.freezes) if row.freezes else FreezesSpec(),
            reliability=ReliabilitySpec.model_validate(row.reliability)
            if row.reliability
            else ReliabilitySpec(),
            incidents=IncidentPolicy.model_validate(row.incidents)
            if row.incidents
            else IncidentPolicy(),
            notifications=NotificationsSpec.model_validate(row.notifications)
            if row.notifications
            else NotificationsSpec(),
            references=References.model_validate(row.references or {}),
            flag_governance=GovernanceSpec.model_validate(row.flag_governance)
            if row.flag_governance
            else GovernanceSpec(),
            events=EventsSpec.model_validate(row.events) if row.events else EventsSpec(),
        )

    def list(self, kind: ResourceKind) -> list[Any]:
        """Every stored resource of `kind`, ordered by id."""
        row_type = _ROWS[kind]
        rows: Iterable[Row] = self.session.scalars(select(row_type).order_by(row_type.id))
        return [_to_model(kind, row) for row in rows]

    def campaigns(self, ids: Iterable[str]) -> Sequence[Campaign]:
        """The campaigns with these ids (those that exist), ordered by start."""
        rows = self.session.scalars(
            select(CampaignRow)
            .where(CampaignRow.id.in_(list(ids)))
            .order_by(CampaignRow.starts_at, CampaignRow.id)
        )
        return [_to_model(ResourceKind.CAMPAIGN, row) for row in rows]

    def get(self, kind: ResourceKind, resource_id: str) -> Any:
        row = cast(Row | None, self.session.get(_ROWS[kind], resource_id))
        if row is None:
            raise NotFound(
                f"no {kind} {resource_id!r}",
                hint=f"list them with 'launchdeck {kind}s list'",
            )
        return _to_model(kind, row)

    def load(self) -> DesiredState:
        """The whole stored state, in the shape `plan` diffs."""
        return DesiredState(
            workspace=self.settings(),
            environments=tuple(self.list(ResourceKind.ENVIRONMENT)),
            systems=tuple(self.list(ResourceKind.SYSTEM)),
            campaigns=tuple(self.list(ResourceKind.CAMPAIGN)),
            slos=tuple(self.list(ResourceKind.SLO)),
            metrics=tuple(self.list(ResourceKind.METRIC)),
            experiments=tuple(self.list(ResourceKind.EXPERIMENT)),
            flags=tuple(f.spec for f in self._flags().list() if f.managed_by is ManagedBy.GIT),
            segments=tuple(
                s.spec for s in self._flags().list_segments() if s.managed_by is ManagedBy.GIT
            ),
        )

    def _flags(self) -> Any:
        from launchdeck.store.flags import SqlFlagStore

        return SqlFlagStore(self.session)

    def claim_revision(self, expected: int, *, now: datetime) -> int:
        """Move the revision from `expected` to the next one, or raise Conflict.

        The conditional UPDATE takes the row lock, so of two concurrent applies planned
        against the same revision exactly one proceeds.
        """
        try:
            result = self.session.execute(
                update(WorkspaceRow)
                .where(WorkspaceRow.id == 1, WorkspaceRow.revision == expected)
                .values(revision=WorkspaceRow.revision + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        except OperationalError as exc:
            if not is_lock_conflict(exc):
                raise
            raise Conflict(
                "another apply is writing the workspace right now",
                hint="wait for it to finish, then run 'launchdeck plan' again",
            ) from exc
        if result.rowcount != 1:  # type: ignore[attr-defined]
            self.session.rollback()
            raise Conflict(
                f"the stored state changed since the plan was made (planned against revision "
                f"{expected}, now {self.revision()})",
                hint="run 'launchdeck plan' again and review the new changes",
            )
        return expected + 1

    def longest_campaign(self) -> timedelta | None:
        """The longest stored campaign's duration; None when unknown (no apply since 0002)."""
        seconds = self._workspace_row().longest_campaign_s
        return timedelta(seconds=seconds) if seconds is not None else None

    def record_longest_campaign(self, campaigns: Iterable[Campaign]) -> None:
        """Remember the longest campaign of the state just written (see WorkspaceRow)."""
        longest = max((c.ends_at - c.starts_at for c in campaigns), default=timedelta(0))
        self._workspace_row().longest_campaign_s = math.ceil(longest.total_seconds())

    def write(self, change: ResourceChange, *, now: datetime, actor: str = "launchdeck") -> None:
        """Carry out one planned change on the rows."""
        if change.kind is ResourceKind.WORKSPACE:
            self._write_workspace(change)
            return
        if change.kind is ResourceKind.FLAG:
            self._write_flag(change, now=now, actor=actor)
            return
        if change.kind is ResourceKind.SEGMENT:
            self._write_segment(change, now=now, actor=actor)
            return
        row_type = _ROWS[change.kind]
        existing = cast(Row | None, self.session.get(row_type, change.id))
        if change.action is Action.REMOVE:
            if existing is not None:
                self.session.delete(existing)
            return
        model = _MODELS[change.kind].model_validate(change.after)
        values = _row_values(change.kind, model)
        if existing is None:
            self.session.add(row_type(**values, updated_at=now))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
            existing.updated_at = now

    def _write_flag(self, change: ResourceChange, *, now: datetime, actor: str) -> None:
        """A flag of launchdeck.yaml: a new version managed in Git. A flag of the same key made
        through the API is adopted (Git manages it from now on); a removed one is archived."""
        store = self._flags()
        existing = store.get(change.id, include_archived=True)
        if change.action is Action.REMOVE:
            needing = sorted(
                f.key
                for f in store.list()
                if f.managed_by is ManagedBy.API
                and any(p.flag == change.id for p in f.spec.prerequisites)
            )
            if needing:
                raise Conflict(
                    f"flag {change.id!r} is removed from launchdeck.yaml but {', '.join(needing)} "
                    "(made through the API) require it",
                    hint="remove it from their prerequisites first, or keep it in the file",
                )
            if existing is not None and existing.archived_at is None:
                store.archive(
                    change.id,
                    expected_version=existing.version,
                    actor=actor,
                    now=now,
                    comment="removed from launchdeck.yaml",
                )
            return
        spec = FlagSpec.model_validate(change.after)
        if existing is None:
            action, version = VersionAction.CREATED, None
        elif existing.archived_at is not None:
            action, version = VersionAction.RESTORED, existing.version
        else:
            action, version = VersionAction.CHANGED, existing.version
        store.put(
            spec,
            expected_version=version,
            actor=actor,
            now=now,
            managed_by=ManagedBy.GIT,
            comment="launchdeck apply",
            action=action,
        )

    def _write_segment(self, change: ResourceChange, *, now: datetime, actor: str) -> None:
        store = self._flags()
        existing = store.get_segment(change.id)
        if change.action is Action.REMOVE:
            from launchdeck.flags.validate import segments_used

            needing = sorted(
                f.key
                for f in store.list()
                if f.managed_by is ManagedBy.API and change.id in segments_used(f.spec)
            )
            if needing:
                raise Conflict(
                    f"segment {change.id!r} is removed from launchdeck.yaml but "
                    f"{', '.join(needing)} (made through the API) target it",
                    hint="change their rules first, or keep the segment in the file",
                )
            if existing is not None:
                store.delete_segment(change.id, expected_version=existing.version)
            return
        store.put_segment(
            SegmentSpec.model_validate(change.after),
            expected_version=existing.version if existing else None,
            actor=actor,
            now=now,
            managed_by=ManagedBy.GIT,
        )

    def _write_workspace(self, change: ResourceChange) -> None:
        row = self._workspace_row()
        settings = WorkspaceSettings.model_validate(change.after)
        row.name = settings.name
        row.timezone = settings.timezone
        row.description = settings.description
        row.references = settings.references.model_dump(mode="json")
        row.freezes = settings.freezes.model_dump(mode="json")
        row.reliability = settings.reliability.model_dump(mode="json")
        row.incidents = settings.incidents.model_dump(mode="json")
        row.notifications = settings.notifications.model_dump(mode="json")
        row.flag_governance = settings.flag_governance.model_dump(mode="json")
        row.events = settings.events.model_dump(mode="json")
