"""Flag rows: flags and their history, segments, change requests, SDK keys, the governance
policy. Rows <-> the pure records of `launchdeck.flags.records`.

Every flag or segment write first adds 1 to `workspace.flags_revision`. That UPDATE takes the
workspace row lock, so flag writers run one at a time (on PostgreSQL as on SQLite) and always
lock the workspace row before flag rows, in the order an apply does. Versions are still checked
by conditional UPDATEs: a caller's version comes from an earlier read, often another request.
Nothing here commits; a refused write raises and the caller's unit of work rolls back.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from launchdeck.errors import Conflict, NotFound
from launchdeck.flags.model import EnvPatch, FlagSpec, GovernanceSpec, SegmentSpec
from launchdeck.flags.records import (
    Approval,
    ChangeRequest,
    CrStatus,
    FlagVersion,
    ManagedBy,
    SdkKeyInfo,
    StoredFlag,
    StoredSegment,
    VersionAction,
)
from launchdeck.store.tables import (
    CampaignRow,
    FlagChangeRequestRow,
    FlagRow,
    FlagVersionRow,
    SdkKeyRow,
    SegmentRow,
    WorkspaceRow,
)

__all__ = ["SqlFlagStore"]


def _flag(row: FlagRow) -> StoredFlag:
    return StoredFlag(
        spec=FlagSpec.model_validate(row.definition),
        version=row.version,
        managed_by=ManagedBy(row.managed_by),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        archived_at=row.archived_at,
    )


def _version(row: FlagVersionRow) -> FlagVersion:
    return FlagVersion(
        key=row.key,
        version=row.version,
        action=VersionAction(row.action),
        definition=row.definition,
        actor=row.actor,
        at=row.at,
        comment=row.comment,
    )


def _segment(row: SegmentRow) -> StoredSegment:
    return StoredSegment(
        spec=SegmentSpec.model_validate(row.definition),
        version=row.version,
        managed_by=ManagedBy(row.managed_by),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _change_request(row: FlagChangeRequestRow) -> ChangeRequest:
    return ChangeRequest(
        id=row.id,
        flag_key=row.flag_key,
        environment=row.environment,
        base_version=row.base_version,
        patch=EnvPatch.model_validate(row.patch),
        status=CrStatus(row.status),
        author=row.author,
        created_at=row.created_at,
        comment=row.comment,
        approvals=tuple(Approval.model_validate(a) for a in row.approvals),
        apply_at=row.apply_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        applied_version=row.applied_version,
        version=row.version,
    )


def _change_request_columns(cr: ChangeRequest) -> dict[str, Any]:
    """Every column but `version`."""
    return {
        "id": cr.id,
        "flag_key": cr.flag_key,
        "environment": cr.environment,
        "base_version": cr.base_version,
        "patch": cr.patch.model_dump(mode="json", by_alias=True),
        "status": str(cr.status),
        "author": cr.author,
        "created_at": cr.created_at,
        "comment": cr.comment,
        "approvals": [a.model_dump(mode="json") for a in cr.approvals],
        "apply_at": cr.apply_at,
        "decided_at": cr.decided_at,
        "decided_by": cr.decided_by,
        "applied_version": cr.applied_version,
    }


def _sdk_key(row: SdkKeyRow) -> SdkKeyInfo:
    return SdkKeyInfo(
        id=row.id,
        name=row.name,
        environment=row.environment,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


class SqlFlagStore:
    """Reads and writes flags inside one unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- the flags revision ------------------------------------------------------------------

    def revision(self) -> int:
        """How many flag and segment writes the store has seen (a snapshot's `revision`)."""
        value = self.session.scalar(select(WorkspaceRow.flags_revision).where(WorkspaceRow.id == 1))
        if value is None:  # the initial migration inserts the row
            raise NotFound("the workspace row is missing; run 'launchdeck db upgrade'")
        return value

    def lock(self) -> None:
        """Take the workspace row lock without changing anything (writers of flag side records,
        such as the timeline of fired schedules, run one at a time)."""
        self.session.execute(
            update(WorkspaceRow)
            .where(WorkspaceRow.id == 1)
            .values(flags_revision=WorkspaceRow.flags_revision)
            .execution_options(synchronize_session=False)
        )

    def bump_revision(self) -> int:
        """Add 1 to the flags revision and return it; every flag or segment write calls it
        once, first (see the module docstring)."""
        value = self.session.execute(
            update(WorkspaceRow)
            .where(WorkspaceRow.id == 1)
            .values(flags_revision=WorkspaceRow.flags_revision + 1)
            .returning(WorkspaceRow.flags_revision)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if value is None:
            raise NotFound("the workspace row is missing; run 'launchdeck db upgrade'")
        self._sync_loaded_workspace(flags_revision=value)
        return value

    def _sync_loaded_workspace(self, **values: Any) -> None:
        """Keep a workspace row this session already loaded (say SqlStateStore's, in an apply)
        in step with an UPDATE issued here, so it never shows an older value."""
        loaded = self.session.identity_map.get(identity_key(WorkspaceRow, 1))
        if loaded is not None:
            for name, value in values.items():
                set_committed_value(loaded, name, value)

    # -- flags -------------------------------------------------------------------------------

    def _flag_row(self, key: str) -> FlagRow | None:
        """The row as the database has it now (not a copy the session read earlier)."""
        return self.session.scalars(
            select(FlagRow).where(FlagRow.key == key).execution_options(populate_existing=True)
        ).one_or_none()

    def get(self, key: str, *, include_archived: bool = False) -> StoredFlag | None:
        row = self._flag_row(key)
        if row is None or (row.archived_at is not None and not include_archived):
            return None
        return _flag(row)

    def list(self, *, include_archived: bool = False) -> builtins.list[StoredFlag]:
        """By key."""
        query = select(FlagRow).order_by(FlagRow.key)
        if not include_archived:
            query = query.where(FlagRow.archived_at.is_(None))
        return [_flag(row) for row in self.session.scalars(query)]

    def put(
        self,
        spec: FlagSpec,
        *,
        expected_version: int | None,
        actor: str,
        now: datetime,
        managed_by: ManagedBy,
        comment: str | None,
        action: VersionAction,
    ) -> StoredFlag:
        """Create the flag (`expected_version` None or 0) or replace its definition if it is
        still at `expected_version`; either way its new version goes to the history.

        An archived flag stays archived unless `action` is RESTORED."""
        if action is VersionAction.ARCHIVED:
            raise ValueError("archive a flag with SqlFlagStore.archive(), not put()")
        self.bump_revision()
        document = spec.document()
        if not expected_version:
            if self._flag_row(spec.key) is not None:
                raise Conflict(
                    f"flag {spec.key!r} already exists",
                    hint="read it (an archived flag keeps its key: restore it) and update it "
                    "with its current version, or pick another key",
                )
            row = FlagRow(
                key=spec.key,
                kind=str(spec.kind),
                type=str(spec.type),
                definition=document,
                version=1,
                managed_by=str(managed_by),
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
                archived_at=None,
            )
            self.session.add(row)
        else:
            values: dict[str, Any] = {
                "kind": str(spec.kind),
                "type": str(spec.type),
                "definition": document,
                "version": expected_version + 1,
                "managed_by": str(managed_by),
                "updated_at": now,
                "updated_by": actor,
            }
            if action is VersionAction.RESTORED:
                values["archived_at"] = None
            self._update_flag(spec.key, expected_version, values)
            row = self._existing_flag(spec.key)
        self._append_version(row, action=action, actor=actor, now=now, comment=comment)
        return _flag(row)

    def archive(
        self,
        key: str,
        *,
        expected_version: int,
        actor: str,
        now: datetime,
        comment: str | None,
    ) -> StoredFlag:
        """Archive the flag if it is still at `expected_version`: it leaves `get`, `list` and
        snapshots, and keeps its history. A put with action RESTORED brings it back."""
        self.bump_revision()
        current = self._flag_row(key)
        if current is not None and current.archived_at is not None:
            raise Conflict(
                f"flag {key!r} is already archived (since {current.archived_at.isoformat()})",
                hint="restore it first if it should change",
            )
        values = {
            "version": expected_version + 1,
            "archived_at": now,
            "updated_at": now,
            "updated_by": actor,
        }
        self._update_flag(key, expected_version, values)
        row = self._existing_flag(key)
        self._append_version(
            row, action=VersionAction.ARCHIVED, actor=actor, now=now, comment=comment
        )
        return _flag(row)

    def _update_flag(self, key: str, expected_version: int, values: dict[str, Any]) -> None:
        result = self.session.execute(
            update(FlagRow)
            .where(FlagRow.key == key, FlagRow.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) == 1:
            return
        stored = self.session.scalar(select(FlagRow.version).where(FlagRow.key == key))
        if stored is None:
            raise NotFound(f"no flag {key!r}", hint="list them with 'launchdeck flags list'")
        raise Conflict(
            f"flag {key!r} changed since version {expected_version} was read "
            f"(it is at version {stored} now)",
            hint="read it again, redo the change on the current version and retry",
        )

    def _existing_flag(self, key: str) -> FlagRow:
        row = self._flag_row(key)
        assert row is not None  # just updated, under the workspace row lock
        return row

    def _append_version(
        self,
        row: FlagRow,
        *,
        action: VersionAction,
        actor: str,
        now: datetime,
        comment: str | None,
    ) -> None:
        self.session.add(
            FlagVersionRow(
                key=row.key,
                version=row.version,
                action=str(action),
                definition=row.definition,
                actor=actor,
                at=now,
                comment=comment,
            )
        )
        self.session.flush()

    def versions(self, key: str) -> builtins.list[FlagVersion]:
        """The flag's history, oldest first (empty for an unknown flag)."""
        rows = self.session.scalars(
            select(FlagVersionRow).where(FlagVersionRow.key == key).order_by(FlagVersionRow.version)
        )
        return [_version(row) for row in rows]

    def version(self, key: str, n: int) -> FlagVersion | None:
        row = self.session.scalars(
            select(FlagVersionRow).where(FlagVersionRow.key == key, FlagVersionRow.version == n)
        ).one_or_none()
        return _version(row) if row is not None else None

    # -- segments ----------------------------------------------------------------------------

    def _segment_row(self, key: str) -> SegmentRow | None:
        return self.session.scalars(
            select(SegmentRow)
            .where(SegmentRow.key == key)
            .execution_options(populate_existing=True)
        ).one_or_none()

    def get_segment(self, key: str) -> StoredSegment | None:
        row = self._segment_row(key)
        return _segment(row) if row is not None else None

    def list_segments(self) -> builtins.list[StoredSegment]:
        """By key."""
        rows = self.session.scalars(select(SegmentRow).order_by(SegmentRow.key))
        return [_segment(row) for row in rows]

    def put_segment(
        self,
        spec: SegmentSpec,
        *,
        expected_version: int | None,
        actor: str,
        now: datetime,
        managed_by: ManagedBy,
    ) -> StoredSegment:
        """Create the segment (`expected_version` None or 0) or replace it if it is still at
        `expected_version`."""
        self.bump_revision()
        if not expected_version:
            if self._segment_row(spec.key) is not None:
                raise Conflict(
                    f"segment {spec.key!r} already exists",
                    hint="read it and update it with its current version, or pick another key",
                )
            row = SegmentRow(
                key=spec.key,
                definition=spec.document(),
                version=1,
                managed_by=str(managed_by),
                updated_at=now,
                updated_by=actor,
            )
            self.session.add(row)
            self.session.flush()
            return _segment(row)
        result = self.session.execute(
            update(SegmentRow)
            .where(SegmentRow.key == spec.key, SegmentRow.version == expected_version)
            .values(
                definition=spec.document(),
                version=expected_version + 1,
                managed_by=str(managed_by),
                updated_at=now,
                updated_by=actor,
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            self._segment_refused(spec.key, expected_version)
        updated = self._segment_row(spec.key)
        assert updated is not None  # just updated, under the workspace row lock
        return _segment(updated)

    def delete_segment(self, key: str, *, expected_version: int) -> None:
        """Delete the segment if it is still at `expected_version`. Whether flags still use it
        is the caller's check."""
        self.bump_revision()
        result = self.session.execute(
            delete(SegmentRow)
            .where(SegmentRow.key == key, SegmentRow.version == expected_version)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            self._segment_refused(key, expected_version)

    def _segment_refused(self, key: str, expected_version: int) -> None:
        stored = self.session.scalar(select(SegmentRow.version).where(SegmentRow.key == key))
        if stored is None:
            raise NotFound(
                f"no segment {key!r}", hint="list them with 'launchdeck flags segments list'"
            )
        raise Conflict(
            f"segment {key!r} changed since version {expected_version} was read "
            f"(it is at version {stored} now)",
            hint="read it again, redo the change on the current version and retry",
        )

    # -- change requests ---------------------------------------------------------------------

    def _change_request_row(self, cr_id: str) -> FlagChangeRequestRow | None:
        return self.session.scalars(
            select(FlagChangeRequestRow)
            .where(FlagChangeRequestRow.id == cr_id)
            .execution_options(populate_existing=True)
        ).one_or_none()

    def add_change_request(self, cr: ChangeRequest) -> None:
        self.session.add(FlagChangeRequestRow(**_change_request_columns(cr), version=cr.version))
        self.session.flush()

    def get_change_request(self, cr_id: str) -> ChangeRequest | None:
        row = self._change_request_row(cr_id)
        return _change_request(row) if row is not None else None

    def list_change_requests(
        self, *, flag_key: str | None = None, statuses: Iterable[CrStatus] | None = None
    ) -> builtins.list[ChangeRequest]:
        """Newest first."""
        query = select(FlagChangeRequestRow).order_by(
            FlagChangeRequestRow.created_at.desc(), FlagChangeRequestRow.id.desc()
        )
        if flag_key is not None:
            query = query.where(FlagChangeRequestRow.flag_key == flag_key)
        if statuses is not None:
            query = query.where(FlagChangeRequestRow.status.in_([str(s) for s in statuses]))
        return [_change_request(row) for row in self.session.scalars(query)]

    def save_change_request(self, cr: ChangeRequest, *, expected_version: int) -> ChangeRequest:
        """Write `cr` over its row if the row is still at `expected_version`; the stored
        request has the next version."""
        result = self.session.execute(
            update(FlagChangeRequestRow)
            .where(
                FlagChangeRequestRow.id == cr.id,
                FlagChangeRequestRow.version == expected_version,
            )
            .values(**_change_request_columns(cr), version=expected_version + 1)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            stored = self.session.scalar(
                select(FlagChangeRequestRow.version).where(FlagChangeRequestRow.id == cr.id)
            )
            if stored is None:
                raise NotFound(
                    f"no change request {cr.id!r}",
                    hint="list them with 'launchdeck flags requests list'",
                )
            raise Conflict(
                f"change request {cr.id!r} changed since version {expected_version} was read "
                f"(it is at version {stored} now)",
                hint="read it again and retry",
            )
        row = self._change_request_row(cr.id)
        assert row is not None  # just updated
        return _change_request(row)

    # -- SDK keys ----------------------------------------------------------------------------

    def add_sdk_key(self, info: SdkKeyInfo, secret_hash: str) -> None:
        self.session.add(
            SdkKeyRow(
                id=info.id,
                name=info.name,
                environment=info.environment,
                secret_hash=secret_hash,
                created_at=info.created_at,
                created_by=info.created_by,
                revoked_at=info.revoked_at,
            )
        )
        self.session.flush()

    def sdk_key(self, key_id: str) -> tuple[SdkKeyInfo, str] | None:
        """The key's info and the stored hash of its secret, or None."""
        row = self.session.get(SdkKeyRow, key_id)
        return (_sdk_key(row), row.secret_hash) if row is not None else None

    def list_sdk_keys(self) -> builtins.list[SdkKeyInfo]:
        """Oldest first, revoked keys included."""
        rows = self.session.scalars(select(SdkKeyRow).order_by(SdkKeyRow.created_at, SdkKeyRow.id))
        return [_sdk_key(row) for row in rows]

    def revoke_sdk_key(self, key_id: str, now: datetime) -> SdkKeyInfo:
        """Revoke the key (a key revoked before keeps its first revocation instant)."""
        row = self.session.get(SdkKeyRow, key_id)
        if row is None:
            raise NotFound(
                f"no SDK key with id {key_id!r}", hint="see 'launchdeck flags sdk-keys list'"
            )
        if row.revoked_at is None:
            row.revoked_at = now
            self.session.flush()
        return _sdk_key(row)

    # -- governance and campaigns ------------------------------------------------------------

    def governance(self) -> GovernanceSpec:
        """The stored policy; the defaults (no approvals anywhere) when none was set."""
        stored = self.session.scalar(
            select(WorkspaceRow.flag_governance).where(WorkspaceRow.id == 1)
        )
        return GovernanceSpec.model_validate(stored) if stored else GovernanceSpec()

    def set_governance(self, spec: GovernanceSpec) -> None:
        document = spec.model_dump(mode="json")
        self.session.execute(
            update(WorkspaceRow)
            .where(WorkspaceRow.id == 1)
            .values(flag_governance=document)
            .execution_options(synchronize_session=False)
        )
        self._sync_loaded_workspace(flag_governance=document)

    def campaign_edges(self) -> dict[str, tuple[datetime, datetime]]:
        """Campaign id → (starts_at, ends_at): what schedules tied to a campaign resolve
        against (a moved campaign moves the change)."""
        rows = self.session.execute(
            select(CampaignRow.id, CampaignRow.starts_at, CampaignRow.ends_at)
        )
        return {campaign: (starts, ends) for campaign, starts, ends in rows}
