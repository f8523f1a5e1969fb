"""Release rows <-> `ReleaseRecord`s (the release machine's value, JSON, with what the
controller keeps). One active release per system and environment: the partial unique index
refuses a second, whoever inserts it at the same time."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from launchdeck.errors import Conflict, NotFound
from launchdeck.rollout.gate import ActiveRelease
from launchdeck.store.tables import ReleaseRow

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from launchdeck.rollout.record import ReleaseRecord
    from launchdeck.rollout.release import Release

__all__ = ["SqlReleaseStore", "active_release", "release_json"]


@cache
def _adapter() -> TypeAdapter[Release]:
    """Made on first use: the release value imports the judge's statistics, which the gate's
    active_release check (`active_release`) does not need."""
    from pydantic import TypeAdapter

    from launchdeck.rollout.release import Release

    return TypeAdapter(Release)


def release_json(release: Release) -> dict[str, Any]:
    """The release machine's value as JSON (every analysis and measurement in it)."""
    dumped: dict[str, Any] = _adapter().dump_python(release, mode="json")
    return dumped


def active_release(session: Session, system: str, environment: str) -> ActiveRelease | None:
    """The release in progress, read from its columns and raw state (nothing decoded)."""
    row = session.scalars(
        select(ReleaseRow).where(
            ReleaseRow.system == system,
            ReleaseRow.environment == environment,
            ReleaseRow.active.is_(True),
        )
    ).one_or_none()
    if row is None:
        return None
    return ActiveRelease(
        id=row.id,
        system=row.system,
        version=row.version,
        phase=row.phase,
        step=int(row.state.get("step", 0)),
        weight=float(row.state.get("weight", 0.0)),
        blue_green=row.strategy == "blue-green",
    )


def _record(row: ReleaseRow) -> ReleaseRecord:
    from launchdeck.rollout.record import ReleaseRecord

    return ReleaseRecord(
        id=row.id,
        release=_adapter().validate_python(row.state),
        target=dict(row.target),
        controller=dict(row.controller),
        artifact=row.artifact,
        change_type=row.change_type,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        passed_at=row.passed_at,
        revision=row.revision,
    )


def _columns(record: ReleaseRecord) -> dict[str, Any]:
    release = record.release
    return {
        "system": release.system,
        "environment": release.environment,
        "version": release.version,
        "previous": release.previous,
        "strategy": release.strategy.strategy,
        "phase": str(release.phase),
        "active": not release.phase.over,
        "state": release_json(release),
        "target": record.target,
        "controller": record.controller,
        "artifact": record.artifact,
        "change_type": record.change_type,
        "created_by": record.created_by,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "finished_at": record.finished_at,
        "passed_at": record.passed_at,
    }


class SqlReleaseStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: ReleaseRecord) -> ReleaseRecord:
        """Insert a new release (its id is ignored); Conflict when one is active already."""
        release = record.release
        current = self.active(release.system, release.environment)
        if current is not None:
            raise _busy(current)
        row = ReleaseRow(**_columns(record), revision=1)
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:  # another process inserted one meanwhile
            current = self.active(release.system, release.environment)
            if current is not None:
                raise _busy(current) from None
            raise
        return _record(row)

    def get(self, release_id: int, *, lock: bool = False) -> ReleaseRecord:
        query = select(ReleaseRow).where(ReleaseRow.id == release_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalars(query).one_or_none()
        if row is None:
            raise NotFound(
                f"no release #{release_id}", hint="list them with 'launchdeck release list'"
            )
        return _record(row)

    def active(self, system: str, environment: str) -> ReleaseRecord | None:
        row = self.session.scalars(
            select(ReleaseRow).where(
                ReleaseRow.system == system,
                ReleaseRow.environment == environment,
                ReleaseRow.active.is_(True),
            )
        ).one_or_none()
        return None if row is None else _record(row)

    def latest(self, system: str, environment: str) -> ReleaseRecord | None:
        row = self.session.scalars(
            select(ReleaseRow)
            .where(ReleaseRow.system == system, ReleaseRow.environment == environment)
            .order_by(ReleaseRow.id.desc())
            .limit(1)
        ).one_or_none()
        return None if row is None else _record(row)

    def list(
        self,
        *,
        system: str | None = None,
        environment: str | None = None,
        active: bool | None = None,
        limit: int = 50,
    ) -> list[ReleaseRecord]:
        query = select(ReleaseRow).order_by(ReleaseRow.id.desc()).limit(limit)
        if system is not None:
            query = query.where(ReleaseRow.system == system)
        if environment is not None:
            query = query.where(ReleaseRow.environment == environment)
        if active is not None:
            query = query.where(ReleaseRow.active.is_(active))
        return [_record(row) for row in self.session.scalars(query)]

    def active_ids(self) -> tuple[int, ...]:
        """The ids of the releases in progress (nothing decoded), oldest first."""
        query = select(ReleaseRow.id).where(ReleaseRow.active.is_(True)).order_by(ReleaseRow.id)
        return tuple(self.session.scalars(query))

    def keeping_previous(self) -> tuple[ReleaseRecord, ...]:
        """Promoted blue-green releases, each the newest of its system and environment, whose
        previous colour has not been retired yet (only those are decoded)."""
        newest = select(func.max(ReleaseRow.id)).group_by(ReleaseRow.system, ReleaseRow.environment)
        rows = self.session.scalars(
            select(ReleaseRow).where(
                ReleaseRow.id.in_(newest),
                ReleaseRow.strategy == "blue-green",
                ReleaseRow.phase == "promoted",
            )
        )
        return tuple(_record(row) for row in rows if "retired" not in row.controller)

    def save(self, record: ReleaseRecord) -> ReleaseRecord:
        """Write `record` back; Conflict if someone saved the release since it was read."""
        row = self.session.get(ReleaseRow, record.id, with_for_update=True)
        if row is None:
            raise NotFound(f"no release #{record.id}")
        if row.revision != record.revision:
            raise Conflict(
                f"release #{record.id} changed meanwhile (revision {row.revision}, "
                f"not {record.revision})",
                hint="read it again and retry",
            )
        for key, value in _columns(record).items():
            setattr(row, key, value)
        row.revision += 1
        self.session.flush()
        return _record(row)


def _busy(current: ReleaseRecord) -> Conflict:
    release = current.release
    return Conflict(
        f"{release.system} already has an active release in {release.environment}: "
        f"#{current.id} {release.version} ({release.phase.replace('_', ' ')}: {release.reason})",
        hint=f"one release at a time: 'launchdeck release promote {release.system}' or "
        f"'launchdeck release abort {release.system}' first",
    )
