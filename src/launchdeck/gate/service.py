"""Gate use cases: gather the calendar, policies and graph from the store, call `decide`, record
blocks on the timeline. Also overrides. Local (`GateService`) and HTTP (`RemoteGate`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from launchdeck.calendar.model import FreezeWindow, Occurrence
from launchdeck.calendar.service import read_freezes
from launchdeck.client.http import HttpTransport
from launchdeck.errors import NotFound, UsageError
from launchdeck.gate.decide import HORIZON, decide
from launchdeck.gate.model import (
    Check,
    CheckOutcome,
    CheckResult,
    Decision,
    GateRequest,
    Override,
    Verdict,
)
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.store.calendar import SqlCalendarStore
from launchdeck.store.tables import OverrideRow
from launchdeck.timeline.model import NewEvent
from launchdeck.workspace.model import ResourceKind

__all__ = [
    "GateApi",
    "GateInputs",
    "GateService",
    "RemoteGate",
    "UnavailableCheck",
    "default_checks",
    "gather",
]


class GateApi(Protocol):
    def check(self, request: GateRequest) -> Verdict: ...
    def add_override(
        self, system: str, *, until: datetime, reason: str, environment: str | None = None
    ) -> Override: ...
    def overrides(self) -> list[Override]: ...


@dataclass(frozen=True)
class UnavailableCheck:
    """A check whose capability is not installed yet: always UNKNOWN, never a fake pass."""

    name: str
    why: str

    def evaluate(self, request: GateRequest, *, at: datetime) -> CheckResult:
        return CheckResult(check=self.name, outcome=CheckOutcome.UNKNOWN, summary=self.why)


def default_checks() -> list[Check]:
    """The checks other capabilities will fill in (rollout, reliability, incidents)."""
    return [
        UnavailableCheck("active_release", "unknown: no release controller is installed yet"),
        UnavailableCheck("error_budget", "unknown: no SLOs are evaluated yet"),
        UnavailableCheck("open_incident", "unknown: incident tracking is not installed yet"),
    ]


@dataclass(frozen=True)
class GateInputs:
    """Everything `decide` needs, read in one transaction."""

    depends_on: dict[str, tuple[str, ...]]
    production_like: bool
    occurrences: list[Occurrence]
    windows: list[FreezeWindow]
    overrides: list[Override]
    timezone: str


def gather(session: Session, request: GateRequest, *, start: datetime, end: datetime) -> GateInputs:
    """Read the graph, policies, campaigns and freezes relevant to [start, end) for `request`."""
    state, calendar = SqlStateStore(session), SqlCalendarStore(session)
    systems = state.list(ResourceKind.SYSTEM)
    if request.system not in {s.id for s in systems}:
        raise NotFound(f"no system {request.system!r}", hint="see 'launchdeck systems list'")
    environments = {e.id: e for e in state.list(ResourceKind.ENVIRONMENT)}
    if request.environment not in environments:
        raise NotFound(
            f"no environment {request.environment!r}",
            hint=f"use one of: {', '.join(sorted(environments)) or '(none applied yet)'}",
        )
    occurrences, windows, tz = read_freezes(session, start=start, end=end)
    return GateInputs(
        depends_on={s.id: tuple(s.depends_on) for s in systems},
        production_like=environments[request.environment].production_like,
        occurrences=occurrences,
        windows=windows,
        overrides=calendar.overrides(start),
        timezone=tz,
    )


def _blocked_event(verdict: Verdict, *, actor: str, now: datetime) -> NewEvent:
    request = verdict.request
    return NewEvent(
        occurred_at=now,
        actor=actor,
        kind="gate.blocked",
        subject=f"system/{request.system}",
        system=request.system,
        environment=request.environment,
        payload={
            "change_type": str(request.change_type),
            "at": verdict.at.isoformat(),
            "checks": [
                {"check": c.check, "outcome": str(c.outcome), "summary": c.summary}
                for c in verdict.checks
            ],
            "affected": [a.campaign_id for a in verdict.affected],
            "next_allowed_at": verdict.next_allowed_at.isoformat()
            if verdict.next_allowed_at
            else None,
        },
    )


class GateService:
    def __init__(
        self,
        db: Database,
        *,
        actor: str,
        clock: Callable[[], datetime],
        checks: Sequence[Check] | None = None,
        on_block: Callable[[Verdict], None] | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock
        self.checks = list(checks) if checks is not None else default_checks()
        self.on_block = on_block
        """Told of every block after it is recorded (notifications); must not raise."""

    def check(self, request: GateRequest) -> Verdict:
        """The verdict for `request`; a block is recorded on the timeline with who asked."""
        return self._verdict(request, record=True)

    def evaluate(self, request: GateRequest) -> Verdict:
        """The verdict for `request`, recorded nowhere: for a controller that asks at every
        pass and records the consequence itself (a release paused by the gate, once)."""
        return self._verdict(request, record=False)

    def _verdict(self, request: GateRequest, *, record: bool) -> Verdict:
        now = self.clock()
        at = request.at or now
        with self.db.unit_of_work() as uow:
            inputs = gather(uow.session, request, start=at, end=at + HORIZON)
            verdict = decide(
                request,
                at=at,
                depends_on=inputs.depends_on,
                production_like=inputs.production_like,
                occurrences=inputs.occurrences,
                windows=inputs.windows,
                results=[c.evaluate(request, at=at) for c in self.checks],
                overrides=inputs.overrides,
            )
            if record and verdict.decision is Decision.BLOCK:
                SqlTimeline(uow.session).append(_blocked_event(verdict, actor=self.actor, now=now))
                uow.commit()
        if record and verdict.decision is Decision.BLOCK and self.on_block is not None:
            self.on_block(verdict)
        return verdict

    def add_override(
        self, system: str, *, until: datetime, reason: str, environment: str | None = None
    ) -> Override:
        now = self.clock()
        if until <= now:
            raise UsageError("an override must end in the future", hint="e.g. --until 2h")
        if not reason.strip():
            raise UsageError("an override needs a reason", hint="--reason 'why this cannot wait'")
        with self.db.unit_of_work() as uow:
            state = SqlStateStore(uow.session)
            state.get(ResourceKind.SYSTEM, system)
            if environment is not None:  # a misspelt one would never apply, silently
                state.get(ResourceKind.ENVIRONMENT, environment)
            override = SqlCalendarStore(uow.session).add_override(
                OverrideRow(
                    id=secrets.token_hex(6),
                    system=system,
                    environment=environment,
                    starts_at=now,
                    ends_at=until,
                    reason=reason.strip(),
                    created_by=self.actor,
                    created_at=now,
                )
            )
            SqlTimeline(uow.session).append(
                NewEvent(
                    occurred_at=now,
                    actor=self.actor,
                    kind="gate.override_added",
                    subject=f"override/{override.id}",
                    system=system,
                    environment=environment,
                    payload={"until": until.isoformat(), "reason": override.reason},
                )
            )
            uow.commit()
        return override

    def overrides(self) -> list[Override]:
        with self.db.read() as session:
            return SqlCalendarStore(session).overrides(self.clock())


class RemoteGate:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def check(self, request: GateRequest) -> Verdict:
        return self.http.request(
            "POST", "/api/v1/gate/check", Verdict, json=request.model_dump(mode="json")
        )

    def add_override(
        self, system: str, *, until: datetime, reason: str, environment: str | None = None
    ) -> Override:
        body = {
            "system": system,
            "environment": environment,
            "until": until.isoformat(),
            "reason": reason,
        }
        return self.http.request("POST", "/api/v1/gate/overrides", Override, json=body)

    def overrides(self) -> list[Override]:
        return self.http.request("GET", "/api/v1/gate/overrides", list[Override])
