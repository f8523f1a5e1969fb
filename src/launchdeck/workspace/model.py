"""The internal model of a workspace: what is stored, diffed, served and shown.

`to_model(spec)` maps the YAML spec onto it once, at the border (Sloth's spec -> model):
names default to ids, campaign times become aware UTC instants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from launchdeck.experiments.model import EventsSpec, ExperimentSpec, MetricSpec, compile_into
from launchdeck.flags.model import FlagSpec, GovernanceSpec, SegmentSpec
from launchdeck.incidents.severity import IncidentPolicy
from launchdeck.notify.spec import NotificationsSpec
from launchdeck.reliability.spec import ReliabilitySpec
from launchdeck.workspace.spec import (
    CampaignSpec,
    ConfigValue,
    FreezesSpec,
    References,
    SystemEnvironmentSpec,
    TargetSpec,
    WorkspaceSpec,
)

__all__ = [
    "Campaign",
    "DesiredState",
    "Environment",
    "ResourceKind",
    "Slo",
    "System",
    "SystemEnvironment",
    "WorkspaceSettings",
    "campaign_window",
    "to_model",
]


class ResourceKind(StrEnum):
    WORKSPACE = "workspace"
    ENVIRONMENT = "environment"
    SYSTEM = "system"
    CAMPAIGN = "campaign"
    SLO = "slo"
    FLAG = "flag"
    """Only flags managed in Git (launchdeck.yaml); flags made through the API are not planned."""
    SEGMENT = "segment"
    METRIC = "metric"
    EXPERIMENT = "experiment"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkspaceSettings(_Model):
    id: str = "workspace"
    name: str
    timezone: str = "UTC"
    description: str | None = None
    freezes: FreezesSpec = FreezesSpec()
    reliability: ReliabilitySpec = ReliabilitySpec()
    incidents: IncidentPolicy = IncidentPolicy()
    notifications: NotificationsSpec = NotificationsSpec()
    references: References = References()
    flag_governance: GovernanceSpec = GovernanceSpec()
    events: EventsSpec = EventsSpec()


class Environment(_Model):
    id: str
    name: str
    production_like: bool = False
    description: str | None = None


class SystemEnvironment(_Model):
    url: str | None = None
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    target: TargetSpec | None = None


class System(_Model):
    id: str
    name: str
    tier: int = 2
    owners: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    description: str | None = None
    environments: dict[str, SystemEnvironment] = Field(default_factory=dict)
    rollout: str | None = None
    slos: tuple[str, ...] = ()


UtcDatetime = Annotated[datetime, Field(description="an aware instant, UTC")]


class Campaign(_Model):
    id: str
    name: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    timezone: str
    tier: int = 2
    revenue_per_hour: float = 0.0
    currency: str = "USD"
    channels: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    description: str | None = None
    source: str | None = None
    """An ICS feed's path for imported campaigns; None for launchdeck.yaml."""
    slo_objectives: dict[str, float] = Field(default_factory=dict)
    """SLO name -> targetPercent while the campaign runs (a protected window)."""
    owners: tuple[str, ...] = ()


class Slo(_Model):
    """An SLO of a system: the OpenSLO document (indicator and alert policies inlined)."""

    id: str
    system: str
    file: str
    document: dict[str, Any]
    datasource: dict[str, Any] | None = None


class Metric(_Model):
    """A metric of `metrics:`: its `MetricSpec` as JSON."""

    id: str
    document: dict[str, Any]

    @property
    def spec(self) -> MetricSpec:
        return MetricSpec.model_validate(self.document)


class Experiment(_Model):
    """An experiment of `experiments:`: its `ExperimentSpec` as JSON, `start`/`end` resolved
    (a campaign's window when they are not written)."""

    id: str
    flag: str
    environment: str
    document: dict[str, Any]

    @property
    def spec(self) -> ExperimentSpec:
        return ExperimentSpec.model_validate(self.document)


class DesiredState(_Model):
    """A whole workspace as the model: the stored state has the same shape."""

    workspace: WorkspaceSettings | None = None
    environments: tuple[Environment, ...] = ()
    systems: tuple[System, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    slos: tuple[Slo, ...] = ()
    flags: tuple[FlagSpec, ...] = ()
    segments: tuple[SegmentSpec, ...] = ()
    metrics: tuple[Metric, ...] = ()
    experiments: tuple[Experiment, ...] = ()

    def resources(self) -> dict[ResourceKind, dict[str, dict[str, Any]]]:
        """Each resource as canonical JSON, by kind then id (the form `plan` diffs)."""
        out: dict[ResourceKind, dict[str, dict[str, Any]]] = {kind: {} for kind in ResourceKind}
        if self.workspace is not None:
            out[ResourceKind.WORKSPACE][self.workspace.id] = self.workspace.model_dump(mode="json")
        for kind, items in (
            (ResourceKind.ENVIRONMENT, self.environments),
            (ResourceKind.SYSTEM, self.systems),
            (ResourceKind.CAMPAIGN, self.campaigns),
            (ResourceKind.SLO, self.slos),
            (ResourceKind.METRIC, self.metrics),
            (ResourceKind.EXPERIMENT, self.experiments),
        ):
            for item in items:
                out[kind][item.id] = item.model_dump(mode="json")
        for flag in self.flags:
            out[ResourceKind.FLAG][flag.key] = flag.document()
        for segment in self.segments:
            out[ResourceKind.SEGMENT][segment.key] = segment.document()
        return out


def campaign_window(spec: CampaignSpec, default_tz: str) -> tuple[datetime, datetime, str]:
    """Start and end of a campaign as aware UTC instants, and the zone they were written in.

    A naive time is read in the campaign's zone (or the workspace's); an explicit offset wins.
    """
    tz_name = spec.timezone or default_tz
    zone = ZoneInfo(tz_name)

    def to_utc(value: datetime) -> datetime:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)

    return to_utc(spec.start), to_utc(spec.end), tz_name


def _system_env(spec: SystemEnvironmentSpec) -> SystemEnvironment:
    return SystemEnvironment(url=spec.url, config=dict(spec.config), target=spec.target)


def to_model(spec: WorkspaceSpec) -> DesiredState:
    """Map a validated spec onto the internal model."""
    tz = spec.workspace.timezone
    campaigns = []
    for c in spec.campaigns:
        starts_at, ends_at, tz_name = campaign_window(c, tz)
        campaigns.append(
            Campaign(
                id=c.id,
                name=c.name,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=tz_name,
                tier=c.tier,
                revenue_per_hour=c.revenue_per_hour,
                currency=c.currency,
                channels=c.channels,
                systems=c.systems,
                description=c.description,
                source=c.source,
                slo_objectives=dict(c.slo_objectives),
                owners=c.owners,
            )
        )
    windows = {c.id: (c.starts_at, c.ends_at) for c in campaigns}
    experiments = tuple(_resolve_window(e, windows) for e in spec.experiments)
    return DesiredState(
        workspace=WorkspaceSettings(
            name=spec.workspace.name,
            timezone=tz,
            description=spec.workspace.description,
            freezes=spec.freezes,
            reliability=spec.reliability,
            incidents=spec.incidents,
            notifications=spec.notifications,
            references=spec.references,
            flag_governance=spec.flag_governance,
            events=spec.events,
        ),
        environments=tuple(
            Environment(
                id=e.id,
                name=e.name or e.id,
                production_like=e.production_like,
                description=e.description,
            )
            for e in spec.environments
        ),
        systems=tuple(
            System(
                id=s.id,
                name=s.name or s.id,
                tier=s.tier,
                owners=s.owners,
                depends_on=s.depends_on,
                description=s.description,
                environments={k: _system_env(v) for k, v in s.environments.items()},
                rollout=s.rollout,
                slos=s.slos,
            )
            for s in spec.systems
        ),
        campaigns=tuple(campaigns),
        flags=_with_experiments(spec.flags, experiments),
        metrics=tuple(Metric(id=m.key, document=m.model_dump(mode="json")) for m in spec.metrics),
        experiments=tuple(
            Experiment(
                id=e.key,
                flag=e.flag,
                environment=e.environment,
                document=e.model_dump(mode="json"),
            )
            for e in experiments
        ),
        segments=spec.segments,
        slos=tuple(
            Slo(id=s.id, system=s.system, file=s.file, document=s.document, datasource=s.datasource)
            for s in spec.slos
        ),
    )


def _resolve_window(
    experiment: ExperimentSpec, windows: dict[str, tuple[datetime, datetime]]
) -> ExperimentSpec:
    """`start`/`end` from the experiment's campaign where they are not written."""
    if experiment.campaign is None or experiment.campaign not in windows:
        return experiment
    start, end = windows[experiment.campaign]
    return experiment.model_copy(
        update={"start": experiment.start or start, "end": experiment.end or end}
    )


def _with_experiments(
    flags: tuple[FlagSpec, ...], experiments: tuple[ExperimentSpec, ...]
) -> tuple[FlagSpec, ...]:
    """The flags with each experiment compiled into its flag (checked before: `validate`)."""
    by_key = {f.key: f for f in flags}
    for experiment in experiments:
        by_key[experiment.flag] = compile_into(by_key[experiment.flag], experiment)
    return tuple(by_key[f.key] for f in flags)
