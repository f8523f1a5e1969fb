"""SLO use cases: list, status (budgets, burn rates, alerts), Prometheus rules, incident impact.

The service reads SLOs and protected campaign windows from the store, events from an SLI
source (Prometheus by default), and calls the pure evaluator. Local (`SloService`) and HTTP
(`RemoteSlos`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from launchdeck.client.http import HttpTransport, segment
from launchdeck.durations import EARLIEST_YEAR, LATEST_YEAR, in_plausible_years
from launchdeck.errors import LaunchdeckError, UsageError
from launchdeck.reliability.budget import TargetSpan, compute_budget
from launchdeck.reliability.burn import AlertTier
from launchdeck.reliability.definition import definition_of, tiers_of
from launchdeck.reliability.model import (
    Bucket,
    BudgetingMethod,
    Indicator,
    IndicatorKind,
    Objective,
)
from launchdeck.reliability.policy import requires_postmortem
from launchdeck.reliability.rules import RuleSet, rules_yaml
from launchdeck.reliability.sources import SliSource
from launchdeck.reliability.spec import ReliabilitySpec
from launchdeck.reliability.status import (
    BurnPoint,
    ObjectiveStatus,
    burn_down,
    objective_status,
    unread_status,
)
from launchdeck.reliability.windows import period_bounds
from launchdeck.store import Database, SqlStateStore
from launchdeck.store.slos import SqlSloStore
from launchdeck.workspace.model import Campaign, Slo

__all__ = [
    "IncidentBudget",
    "RemoteSlos",
    "SloApi",
    "SloReport",
    "SloService",
    "SloSummary",
    "SourceFactory",
    "prometheus_sources",
]

SourceFactory = Callable[[Indicator], SliSource]
FINE_STEP = timedelta(minutes=5)
BURN_HORIZON = timedelta(days=3)
FOUR_WEEKS = timedelta(days=28)
REACH = timedelta(days=400)
"""How far around an instant campaigns are read: past the longest SLO period (1Y)."""
_EVENT_KINDS = (IndicatorKind.GOOD_TOTAL, IndicatorKind.BAD_TOTAL)


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectiveSummary(_Wire):
    name: str
    target: float


class SloSummary(_Wire):
    slo: str
    system: str
    display_name: str
    file: str
    service: str
    method: BudgetingMethod
    window: str
    rolling: bool
    indicator: str
    objectives: tuple[ObjectiveSummary, ...]
    protected_by: tuple[str, ...] = ()
    """Campaigns that hold this SLO to a stricter objective (names)."""


class SloReport(_Wire):
    statuses: tuple[ObjectiveStatus, ...]
    burn_down: dict[str, tuple[BurnPoint, ...]] = {}
    """`slo/objective` -> the period's burn-down, when asked for."""


class IncidentBudget(_Wire):
    """What an incident cost an SLO objective, against a four-week budget."""

    slo: str
    objective: str
    bad: float
    allowed_four_weeks: float
    share: float | None
    requires_postmortem: bool


class SloApi(Protocol):
    def list_slos(self, system: str | None = None) -> list[SloSummary]: ...
    def status(
        self, system: str | None = None, *, at: datetime | None = None, series: bool = False
    ) -> SloReport: ...
    def rules(self) -> str: ...
    def export(self, system: str | None = None) -> str: ...
    def incident_budget(
        self, system: str, *, start: datetime, end: datetime
    ) -> list[IncidentBudget]: ...


@dataclass(frozen=True)
class _Inputs:
    slos: list[Slo]
    campaigns: list[Campaign]
    reliability: ReliabilitySpec


def _plausible(name: str, value: datetime) -> datetime:
    # The periods and campaign ranges around an instant must stay inside datetime's range.
    if not in_plausible_years(value):
        raise UsageError(
            f"{name} must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}, "
            f"got {value.isoformat()}",
            hint="give an ISO 8601 instant such as 2026-11-27T08:00:00Z",
        )
    return value


def _spans(slo: Slo, campaigns: Sequence[Campaign]) -> list[TargetSpan]:
    return [
        TargetSpan(c.starts_at, c.ends_at, c.slo_objectives[slo.id] / 100, c.name)
        for c in campaigns
        if slo.id in c.slo_objectives
    ]


def _pruned(value: Any) -> Any:
    """`value` without empty mappings and lists (`labels: {}`): what an author would not write."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _key(status: ObjectiveStatus) -> str:
    return f"{status.slo}/{status.objective}"


def prometheus_sources(url: str, *, timeout_s: float = 10.0) -> SourceFactory:
    """Read every SLI from Prometheus: at its DataSource's URL, else at `url`."""
    from launchdeck.reliability.sources import prometheus_source_for

    def factory(indicator: Indicator) -> SliSource:
        return prometheus_source_for(indicator, url, timeout_s=timeout_s)

    return factory


class SloService:
    """SLOs on a database, with SLIs from `sources`."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        sources: SourceFactory,
    ) -> None:
        self.db = db
        self.clock = clock
        self.sources = sources

    def _inputs(
        self, system: str | None, *, campaigns_from: datetime, campaigns_to: datetime
    ) -> _Inputs:
        with self.db.read() as session:
            state = SqlStateStore(session)
            if system is not None:
                from launchdeck.workspace.model import ResourceKind

                state.get(ResourceKind.SYSTEM, system)  # NotFound names the system
            store = SqlSloStore(session)
            settings = state.settings()
            return _Inputs(
                slos=store.slos(system),
                campaigns=store.protecting_campaigns(campaigns_from, campaigns_to),
                reliability=settings.reliability if settings else ReliabilitySpec(),
            )

    def list_slos(self, system: str | None = None) -> list[SloSummary]:
        now = self.clock()
        inputs = self._inputs(system, campaigns_from=now - REACH, campaigns_to=now + REACH)
        out = []
        for slo in inputs.slos:
            d = definition_of(slo)
            out.append(
                SloSummary(
                    slo=slo.id,
                    system=slo.system,
                    display_name=d.display_name,
                    file=slo.file,
                    service=d.service,
                    method=d.method,
                    window=d.window.duration,
                    rolling=d.window.rolling,
                    indicator=f"{d.indicator.kind} ({d.indicator.source_type})",
                    objectives=tuple(
                        ObjectiveSummary(name=o.name, target=o.target) for o in d.objectives
                    ),
                    protected_by=tuple(s.reason for s in _spans(slo, inputs.campaigns)),
                )
            )
        return out

    def status(
        self, system: str | None = None, *, at: datetime | None = None, series: bool = False
    ) -> SloReport:
        """Every objective of the SLOs (of `system`) as of `at` (now; never past now)."""
        now = self.clock()
        at = min(_plausible("at", at) if at is not None else now, now)
        inputs = self._inputs(system, campaigns_from=at - REACH, campaigns_to=at + REACH)
        statuses: list[ObjectiveStatus] = []
        downs: dict[str, tuple[BurnPoint, ...]] = {}
        alerting = inputs.reliability.alerting
        defaults = [t.tier() for t in alerting.tiers]
        for slo in inputs.slos:
            for status, buckets, objective in self._slo_status(
                slo,
                at=at,
                campaigns=inputs.campaigns,
                tiers=tiers_of(slo, defaults),
                min_events=alerting.min_events,
            ):
                statuses.append(status)
                if series and buckets:
                    points = burn_down(buckets, status, slice_target=objective.time_slice_target)
                    downs[_key(status)] = tuple(points)
        return SloReport(statuses=tuple(statuses), burn_down=downs)

    def _slo_status(
        self,
        slo: Slo,
        *,
        at: datetime,
        campaigns: Sequence[Campaign],
        tiers: Sequence[AlertTier],
        min_events: float,
    ) -> list[tuple[ObjectiveStatus, list[Bucket], Objective]]:
        d = definition_of(slo)
        period = period_bounds(d.window, at)
        spans = _spans(slo, campaigns)
        out: list[tuple[ObjectiveStatus, list[Bucket], Objective]] = []
        for objective in d.objectives:
            try:
                source = self.sources(d.indicator)
                buckets, fine = self._read(source, d.method, objective, d.indicator, period, at)
            except LaunchdeckError as exc:
                reason = f"{slo.id}: {exc.message}"
                unread = unread_status(d, objective, at=at, period=period, error=reason)
                out.append((unread, [], objective))
                continue
            status = objective_status(
                d,
                objective,
                buckets,
                at=at,
                period=period,
                spans=spans,
                tiers=tiers,
                # Raw and threshold SLIs give one sample per step, not events: no guard
                # (the generated rules have none for them either).
                min_events=min_events if d.indicator.kind in _EVENT_KINDS else 0,
                burn_buckets=fine,
            )
            out.append((status, buckets, objective))
        return out

    @staticmethod
    def _read(
        source: SliSource,
        method: BudgetingMethod,
        objective: Objective,
        indicator: Indicator,
        period: tuple[datetime, datetime],
        at: datetime,
    ) -> tuple[list[Bucket], list[Bucket]]:
        """Buckets for the budget (the period so far) and 5-minute ones for the burn rates."""
        start = period[0]
        if method is BudgetingMethod.OCCURRENCES or objective.time_slice_window is None:
            step = FINE_STEP
        else:
            step = objective.time_slice_window
        buckets = (
            source.buckets(indicator, start=start, end=at, step=step, objective=objective)
            if at > start
            else []
        )
        if step == FINE_STEP and start <= at - BURN_HORIZON:
            return buckets, buckets
        fine = source.buckets(
            indicator,
            start=at - BURN_HORIZON,
            end=at,
            step=FINE_STEP,
            objective=objective,
        )
        return buckets, fine

    def rules(self) -> str:
        """Prometheus recording and alerting rules for every SLO (Sloth's metric names)."""
        now = self.clock()
        inputs = self._inputs(None, campaigns_from=now - REACH, campaigns_to=now + 2 * REACH)
        defaults = [t.tier() for t in inputs.reliability.alerting.tiers]
        rule_sets = []
        for slo in inputs.slos:
            d = definition_of(slo)
            for objective in d.objectives:
                rule_sets.append(
                    RuleSet(
                        definition=d,
                        objective=objective,
                        tiers=tiers_of(slo, defaults),
                        min_events=inputs.reliability.alerting.min_events,
                        spans=[s for s in _spans(slo, inputs.campaigns) if s.end > now],
                    )
                )
        return rules_yaml(rule_sets)

    def export(self, system: str | None = None) -> str:
        """The stored SLOs (of `system`) as OpenSLO v1 YAML: each SLO with its indicator and
        alert policies inlined, and the DataSources they read, once each."""
        from launchdeck.reliability.openslo import parse_document
        from launchdeck.reliability.openslo_files import dump_openslo

        with self.db.read() as session:
            if system is not None:
                from launchdeck.workspace.model import ResourceKind

                SqlStateStore(session).get(ResourceKind.SYSTEM, system)
            slos = SqlSloStore(session).slos(system)
        sources = {s.datasource["metadata"]["name"]: s.datasource for s in slos if s.datasource}
        documents = [parse_document(_pruned(d)) for d in sources.values()]
        documents += [parse_document(_pruned(s.document)) for s in slos]
        return dump_openslo(documents) if documents else ""

    def incident_budget(
        self, system: str, *, start: datetime, end: datetime
    ) -> list[IncidentBudget]:
        """What [start, end) cost each SLO objective of `system`, against four weeks' budget.

        More than 20 % of a four-week budget flags the incident as needing a postmortem.
        """
        _plausible("start", start)
        _plausible("end", end)
        if end <= start:
            raise UsageError("end must be after start", hint="e.g. the incident's detection to now")
        inputs = self._inputs(system, campaigns_from=end - FOUR_WEEKS, campaigns_to=end)
        out = []
        for slo in inputs.slos:
            d = definition_of(slo)
            source = self.sources(d.indicator)
            spans = _spans(slo, inputs.campaigns)
            for objective in d.objectives:
                four_weeks = source.buckets(
                    d.indicator,
                    start=end - FOUR_WEEKS,
                    end=end,
                    step=FINE_STEP,
                    objective=objective,
                )
                whole = compute_budget(
                    BudgetingMethod.OCCURRENCES,
                    objective,
                    four_weeks,
                    period_start=end - FOUR_WEEKS,
                    period_end=end,
                    at=end,
                    spans=spans,
                )
                bad = sum(b.bad for b in four_weeks if start <= b.start < end)
                out.append(
                    IncidentBudget(
                        slo=slo.id,
                        objective=objective.name,
                        bad=bad,
                        allowed_four_weeks=whole.allowed,
                        share=bad / whole.allowed if whole.allowed > 0 else None,
                        requires_postmortem=requires_postmortem(bad, whole.allowed),
                    )
                )
        return out


class RemoteSlos:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def list_slos(self, system: str | None = None) -> list[SloSummary]:
        return self.http.request("GET", "/api/v1/slos", list[SloSummary], params={"system": system})

    def status(
        self, system: str | None = None, *, at: datetime | None = None, series: bool = False
    ) -> SloReport:
        params: dict[str, str | bool | None] = {"system": system, "series": series}
        if at is not None:
            params["at"] = at.isoformat()
        return self.http.request("GET", "/api/v1/slos/status", SloReport, params=params)

    def rules(self) -> str:
        return self.http.raw("GET", "/api/v1/slos/rules").decode()

    def export(self, system: str | None = None) -> str:
        path = "/api/v1/slos/openslo" + (f"?system={segment(system)}" if system else "")
        return self.http.raw("GET", path).decode()

    def incident_budget(
        self, system: str, *, start: datetime, end: datetime
    ) -> list[IncidentBudget]:
        return self.http.request(
            "GET",
            f"/api/v1/slos/incident-budget/{segment(system)}",
            list[IncidentBudget],
            params={"start": start.isoformat(), "end": end.isoformat()},
        )
