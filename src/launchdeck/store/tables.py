"""SQLAlchemy 2 tables of the state store. The same definitions serve SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiTokenRow",
    "Base",
    "CampaignRow",
    "EnvironmentRow",
    "EventRow",
    "FlagChangeRequestRow",
    "FlagRow",
    "FlagVersionRow",
    "FreezeRow",
    "IncidentEntryRow",
    "IncidentRow",
    "IncidentTaskRow",
    "OverrideRow",
    "ReleaseRow",
    "SdkKeyRow",
    "SegmentRow",
    "SystemRow",
    "UtcDateTime",
    "WorkspaceRow",
]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite keeps no zone, so it is restored on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the store; pass an aware UTC instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSON(none_as_null=True), "postgresql")
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: dict[Any, Any] = {datetime: UtcDateTime}  # noqa: RUF012


class WorkspaceRow(Base):
    """The single row of workspace settings; `revision` counts applies (optimistic lock)."""

    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    description: Mapped[str | None] = mapped_column(Text)
    references: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    freezes: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """Freeze policies (FreezesSpec as JSON); NULL means the documented defaults."""
    reliability: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """Error-budget policy and burn-rate alerting (ReliabilitySpec as JSON); NULL: defaults."""
    incidents: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """The incident policy (severity rules …); NULL reads as the defaults. Since 0004."""
    notifications: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """Channels (secret references only, never a URL) and routes. Since 0004."""
    longest_campaign_s: Mapped[int | None] = mapped_column(Integer)
    """The longest stored campaign, kept by apply: it bounds time-range queries on campaigns,
    so a gate check reads an index range instead of scanning years of occurrences."""
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    flags_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Counts flag and segment writes: the revision (and ETag) of flag snapshots. Since 0005."""
    flag_governance: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """Who approves flag changes (GovernanceSpec as JSON); NULL: the defaults. Since 0005."""
    events: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """The `events:` section (ingest limits, the analysis source). Since 0006."""


class EnvironmentRow(Base):
    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    production_like: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SystemRow(Base):
    __tablename__ = "systems"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[int] = mapped_column(Integer)
    owners: Mapped[list[str]] = mapped_column(Json, default=list)
    depends_on: Mapped[list[str]] = mapped_column(Json, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    environments: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    rollout: Mapped[str | None] = mapped_column(String(500))
    slos: Mapped[list[str]] = mapped_column(Json, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignRow(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(Integer)
    revenue_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    channels: Mapped[list[str]] = mapped_column(Json, default=list)
    systems: Mapped[list[str]] = mapped_column(Json, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(500))
    slo_objectives: Mapped[dict[str, float]] = mapped_column(Json, default=dict)
    """SLO name -> the stricter targetPercent it is held to while the campaign runs."""
    owners: Mapped[list[str]] = mapped_column(Json, default=list)
    """The marketers who run it (told in plain language about incidents). Since 0004."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SloRow(Base):
    """An SLO of the workspace: its OpenSLO document, indicator and alert policies inlined."""

    __tablename__ = "slos"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    system: Mapped[str] = mapped_column(String(63), index=True)
    file: Mapped[str] = mapped_column(String(500))
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    datasource: Mapped[dict[str, Any] | None] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MetricRow(Base):
    """An experiment metric of launchdeck.yaml: its `MetricSpec` as JSON. Since 0006."""

    __tablename__ = "metrics"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ExperimentRow(Base):
    """An experiment of launchdeck.yaml: its `ExperimentSpec` as JSON. Since 0006."""

    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    flag: Mapped[str] = mapped_column(String(100), index=True)
    environment: Mapped[str] = mapped_column(String(63))
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EventRow(Base):
    """The timeline. Append-only: no code path updates or deletes, and triggers refuse it."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_system_id", "system", "id"),
        Index("ix_events_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    system: Mapped[str | None] = mapped_column(String(63))
    environment: Mapped[str | None] = mapped_column(String(63))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class FreezeRow(Base):
    """An ad-hoc freeze added from the CLI or API. Lifted by setting `lifted_at`, never deleted."""

    __tablename__ = "freezes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    system: Mapped[str | None] = mapped_column(String(63))
    """NULL: every system."""
    environment: Mapped[str | None] = mapped_column(String(63))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    reason: Mapped[str] = mapped_column(Text)
    allow: Mapped[list[str]] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OverrideRow(Base):
    """An admin's time-boxed, reasoned exception to freezes for one system."""

    __tablename__ = "gate_overrides"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    system: Mapped[str] = mapped_column(String(63), index=True)
    environment: Mapped[str | None] = mapped_column(String(63))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


OPEN_DEDUPE = "dedupe_key IS NOT NULL AND status IN ('triage', 'active', 'mitigated')"


class IncidentRow(Base):
    """An incident; its entries and tasks hang off it. `version` is the optimistic lock."""

    __tablename__ = "incidents"
    __table_args__ = (
        # One open incident per dedupe key, whoever opens it at the same time (Alertmanager in
        # a high-availability pair delivers a notification twice).
        Index(
            "ux_incidents_open_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=text(OPEN_DEDUPE),
            postgresql_where=text(OPEN_DEDUPE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(63))
    systems: Mapped[list[str]] = mapped_column(Json)
    signal: Mapped[str] = mapped_column(String(16))
    traffic_share: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    severity_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(4))
    priority_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    roles: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    source: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    mitigated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    postmortem_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opened_by: Mapped[str] = mapped_column(String(200))
    assessment: Mapped[dict[str, Any]] = mapped_column(Json)
    assessed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class IncidentEntryRow(Base):
    """One typed entry of an incident's own timeline. Only `pinned` ever changes."""

    __tablename__ = "incident_entries"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class IncidentTaskRow(Base):
    """A task during the incident, or a postmortem action item."""

    __tablename__ = "incident_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    action_type: Mapped[str | None] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class FlagRow(Base):
    """A feature flag: its whole definition (FlagSpec as JSON). `version` is the optimistic lock
    and numbers the rows of `flag_versions`. Archived flags stay; they are never deleted."""

    __tablename__ = "flags"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    version: Mapped[int] = mapped_column(Integer)
    managed_by: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class FlagVersionRow(Base):
    """Every version of every flag, whole. Append-only: triggers refuse UPDATE and DELETE.

    The unique (key, version) index also serves "the history of one flag"."""

    __tablename__ = "flag_versions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_flag_versions_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    comment: Mapped[str | None] = mapped_column(Text)


class SegmentRow(Base):
    """A reusable audience (SegmentSpec as JSON); `version` is the optimistic lock."""

    __tablename__ = "segments"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    version: Mapped[int] = mapped_column(Integer)
    managed_by: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class FlagChangeRequestRow(Base):
    """A proposed change to one flag in one environment; `version` is its optimistic lock."""

    __tablename__ = "flag_change_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    flag_key: Mapped[str] = mapped_column(String(100), index=True)
    environment: Mapped[str] = mapped_column(String(63))
    base_version: Mapped[int] = mapped_column(Integer)
    patch: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(20), index=True)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    apply_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    applied_version: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)


class SdkKeyRow(Base):
    """An environment-scoped key for SDKs and OFREP: the hash of its secret only."""

    __tablename__ = "sdk_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    environment: Mapped[str] = mapped_column(String(63))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


ACTIVE_RELEASE = "active"


class ReleaseRow(Base):
    """A progressive-delivery release: the release machine's value (`state`, JSON) with the
    columns queries need. `revision` is the optimistic lock; the partial unique index keeps one
    active release per system and environment (the lock the gate's active_release check reads).
    Since 0007."""

    __tablename__ = "releases"
    __table_args__ = (
        Index(
            "ux_releases_active",
            "system",
            "environment",
            unique=True,
            sqlite_where=text(ACTIVE_RELEASE),
            postgresql_where=text(ACTIVE_RELEASE),
        ),
        Index("ix_releases_system_environment", "system", "environment", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    environment: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(128))
    previous: Mapped[str | None] = mapped_column(String(128))
    strategy: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[dict[str, Any]] = mapped_column(Json)
    target: Mapped[dict[str, Any]] = mapped_column(Json)
    controller: Mapped[dict[str, Any]] = mapped_column(Json)
    """What the controller keeps between passes (access-log offsets of the windows)."""
    artifact: Mapped[str] = mapped_column(String(1000))
    change_type: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    passed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The controller's last pass."""
    revision: Mapped[int] = mapped_column(Integer)
