"""Release use cases: deploy, the controller's pass, what people do to a release, the judge.

The shell around the pure release machine (`release.py`). Every change follows one pattern,
which is what makes the controller crash-safe:

1. read the release (a `ReleaseRecord`) from the store;
2. compute the next release value (pure), asking the gate and taking due measurements;
3. make the target serve `desired(release)` (`reconcile`: ordered, idempotent);
4. save it with its timeline events in one transaction, under the release's revision.

A process killed between 3 and 4 leaves a target serving a state the store does not know yet;
the next pass reads the stored value and reconciles the target back to it, then moves on. If
another process saved the release meanwhile (a person's `abort` during a pass), the save is
refused and the target is reconciled to what was saved instead. One active release per system
and environment is enforced by the store; the gate's active_release check reads the same row.

After the commit: a notification for the transitions people care about, and on an automated
rollback an incident through the incidents capability (its severity from the live campaigns).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from launchdeck.calendar.model import ChangeType
from launchdeck.errors import Blocked, Conflict, LaunchdeckError, NotFound, UsageError
from launchdeck.gate.model import CheckOutcome, Decision, GateRequest
from launchdeck.gate.service import GateService
from launchdeck.rollout.access_log import end_of
from launchdeck.rollout.analysis import Measurement
from launchdeck.rollout.events import ENDS, TOLD, release_event, transitions
from launchdeck.rollout.hook_runner import run_hooks
from launchdeck.rollout.hooks import (
    HookResult,
    HookType,
    failed_check,
    gate_results,
    hook_payload,
    rollback_requested,
)
from launchdeck.rollout.judge import MetricResult, Verdict, decide
from launchdeck.rollout.measure import measure
from launchdeck.rollout.measuring import Measurer
from launchdeck.rollout.reconcile import reconcile
from launchdeck.rollout.record import ReleaseRecord
from launchdeck.rollout.release import (
    Gate,
    GateView,
    Phase,
    Release,
    Which,
    abort,
    advance,
    boundary_hook,
    desired,
    due,
    measured_metrics,
    own_gate,
    pause,
    previous_retires_at,
    promote,
    record,
    resume,
    start,
)
from launchdeck.rollout.remote import Action
from launchdeck.rollout.revenue import charge
from launchdeck.rollout.sites import open_target, preview_url, resolve, site_url
from launchdeck.rollout.strategy import (
    StrategySpec,
    default_strategy,
    parse_strategy,
)
from launchdeck.rollout.targets.base import Target
from launchdeck.rollout.views import (
    ActionRequest,
    DeployRequest,
    JudgeView,
    MetricView,
    ReleaseView,
    view,
)
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.store.releases import SqlReleaseStore
from launchdeck.timeline.model import Event
from launchdeck.workspace.model import ResourceKind, System

if TYPE_CHECKING:
    from launchdeck.experiments.store import EventStore

__all__ = ["RolloutService"]

log = logging.getLogger(__name__)


class Incidents(Protocol):
    """The incidents capability, as far as a rollback needs it."""

    def open(self, request: Any) -> Any: ...
    def update(self, incident_id: int, request: Any) -> Any: ...


class RolloutService:
    def __init__(
        self,
        db: Database,
        *,
        actor: str,
        clock: Callable[[], datetime],
        gate: GateService,
        sites_dir: Path,
        incidents: Incidents | None = None,
        notify: Callable[[Event], None] | None = None,
        http: httpx.Client | None = None,
        prometheus_url: str = "http://127.0.0.1:9090",
        workspace_dir: Path | None = None,
        events: Callable[[], EventStore] | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock
        self.gate = gate
        self.sites_dir = sites_dir
        self.incidents = incidents
        self.notify = notify
        self.http = http or httpx.Client(timeout=10)
        self.prometheus_url = prometheus_url
        self.workspace_dir = workspace_dir
        """The workspace directory: command hooks run there, and a deploy that sends no strategy
        reads the system's `rollout:` file from it."""
        self.measurer = Measurer(
            http=self.http, prometheus_url=prometheus_url, sites_dir=sites_dir, events=events
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        """Let go of the HTTP client the preview checks use."""
        self.http.close()

    def with_actor(self, actor: str) -> RolloutService:
        """The same service (its caches and lock shared) acting for `actor` (an API token)."""
        twin = copy.copy(self)
        twin.actor = actor
        return twin

    # ------------------------------------------------------------------------------- deploy

    def deploy(self, request: DeployRequest) -> ReleaseView:
        """Create the release (the gate asked, the artifact installed) and take its first pass."""
        now = self.clock()
        with self.db.read() as session:
            state = SqlStateStore(session)
            system: System = state.get(ResourceKind.SYSTEM, request.system)
            state.get(ResourceKind.ENVIRONMENT, request.environment)
            active = SqlReleaseStore(session).active(request.system, request.environment)
        if active is not None:
            raise Conflict(
                f"{request.system} already has an active release in {request.environment}: "
                f"{active.ref} {active.release.version} ({active.release.phase})",
                hint=f"one at a time: 'launchdeck release promote|abort {request.system}' first",
            )
        strategy = _strategy(request, self._rollout_file(system))
        verdict = self.gate.check(
            GateRequest(
                system=request.system,
                environment=request.environment,
                change_type=request.change_type,
                at=now,
            )
        )
        if verdict.decision is Decision.BLOCK:
            blocking = [c.summary for c in verdict.checks if c.outcome is CheckOutcome.BLOCK]
            raise Blocked(
                f"the gate blocks this {request.change_type} of {request.system}: "
                + "; ".join(blocking),
                hint="see 'launchdeck gate check'; a hotfix or rollback may still be allowed",
            )
        where = system.environments.get(request.environment)
        settings = resolve(
            where.target if where else None,
            system=request.system,
            environment=request.environment,
            sites_dir=self.sites_dir,
        )
        target = open_target(settings, system=request.system, environment=request.environment)
        target.install(request.version, Path(request.artifact))
        previous = target.served().stable
        if previous == request.version:
            raise UsageError(
                f"{request.system} already serves {request.version} in {request.environment}",
                hint="give the new build a new version",
            )
        release = Release(request.system, request.environment, request.version, previous, strategy)
        fresh = ReleaseRecord(
            id=0,
            release=release,
            target=settings,
            artifact=request.artifact,
            change_type=str(request.change_type),
            created_by=self.actor,
            created_at=now,
            updated_at=now,
        )
        with self.db.unit_of_work() as uow:
            created = SqlReleaseStore(uow.session).add(fresh)
            SqlTimeline(uow.session).append(
                release_event(
                    created,
                    "release.created",
                    now,
                    actor=self.actor,
                    note=f"{strategy.strategy} of {request.version} (stable: {previous or '-'})",
                    artifact=request.artifact,
                )
            )
            uow.commit()
        return self.view(self.take_pass(created.id, now=now))

    # --------------------------------------------------------------------------- the pass

    def pass_all(self, *, now: datetime | None = None) -> list[ReleaseRecord]:
        """One controller pass over every active release (a failing one does not stop the
        others: it is logged and tried again next pass)."""
        with self.db.read() as session:
            ids = SqlReleaseStore(session).active_ids()
        done = []
        for release_id in ids:
            try:
                done.append(self.take_pass(release_id, now=now))
            except Exception as exc:
                log.exception("release #%s: the pass failed; it is tried again", release_id)
                self._note_failure(release_id, exc, now or self.clock())
        try:
            self.retire_previous(now=now or self.clock())
        except Exception:
            log.exception("retiring previous colours failed; tried again next pass")
        return done

    def _note_failure(self, release_id: int, exc: Exception, now: datetime) -> None:
        """Keep on the release that its passes fail (`release status` shows it; the first
        failure of a run is a `release.pass_failed` event); the next good pass clears it."""
        try:
            with self.db.read() as session:
                current = SqlReleaseStore(session).get(release_id)
            failing = dict(current.controller.get("failing") or {"since": now.isoformat()})
            failing["passes"] = int(failing.get("passes", 0)) + 1
            failing["error"] = _describe(exc)
            changed = replace(current, controller={**current.controller, "failing": failing})
            with self.db.unit_of_work() as uow:
                SqlReleaseStore(uow.session).save(changed)
                if failing["passes"] == 1:
                    SqlTimeline(uow.session).append(
                        release_event(
                            current,
                            "release.pass_failed",
                            now,
                            actor=self.actor,
                            note=f"the controller's pass failed: {failing['error']}",
                        )
                    )
                uow.commit()
        except Exception:  # the store itself is away: the log has it
            log.exception("release #%s: the failure could not be recorded", release_id)

    def retire_previous(self, *, now: datetime) -> list[ReleaseRecord]:
        """Take the previous colour of promoted blue-green releases off the preview once their
        `keep_previous` window is over (a rollback after it still works: releases are kept)."""
        with self.db.read() as session:
            kept = SqlReleaseStore(session).keeping_previous()
        retired = []
        for found in kept:
            release, spec = found.release, found.release.strategy.blue_green
            until = previous_retires_at(release, found.finished_at)
            if spec is None or until is None or now < until:
                continue
            with self._lock:
                target = self._target(found)
                if target.served().preview == release.previous:
                    target.point("preview", None)
                changed = replace(
                    found, controller={**found.controller, "retired": now.isoformat()}
                )
                with self.db.unit_of_work() as uow:
                    saved = SqlReleaseStore(uow.session).save(changed)
                    SqlTimeline(uow.session).append(
                        release_event(
                            found,
                            "release.previous_retired",
                            now,
                            actor=self.actor,
                            note=f"{release.previous} left the preview after "
                            f"{spec.keep_previous} kept warm",
                        )
                    )
                    uow.commit()
            retired.append(saved)
        return retired

    def take_pass(self, release_id: int, *, now: datetime | None = None) -> ReleaseRecord:
        """Start or move the release on, measure what is due, reconcile the target, save."""
        now = now or self.clock()
        with self._lock:
            with self.db.read() as session:
                current = SqlReleaseStore(session).get(release_id)
            if current.release.phase.over:
                return current
            target = self._target(current)
            gate = self._gate(current, now)
            release, controller = current.release, dict(current.controller)
            if release.phase is Phase.PENDING:
                release = self._start(current, controller, now, gate)
            else:
                asked = rollback_requested(self._hooks(release, HookType.ROLLBACK, now))
                if asked is not None:
                    release = abort(release, now, f"rollback hook {asked}")
                else:
                    release = advance(release, now, gate=gate)
            if not release.phase.over:
                release = self._measure_due(current, release, controller, target, now, gate)
            return self._commit(current, release, controller, target, now, passed=True)

    def _start(
        self, current: ReleaseRecord, controller: dict[str, Any], now: datetime, gate: Gate
    ) -> Release:
        """confirm-rollout hooks, the gate, then pre-rollout hooks before any traffic moves."""
        release = current.release
        confirmed, why = gate_results(self._hooks(release, HookType.CONFIRM_ROLLOUT, now))
        if not confirmed:
            held = GateView(False, f"confirm-rollout hook {why}", "waiting for confirmation")
            return start(release, now, gate=held)
        controller["since"] = end_of(self.measurer.log_path(current))
        release = start(release, now, gate=gate)
        if release.phase is Phase.PENDING:
            return release
        failed = failed_check(self._hooks(release, HookType.PRE_ROLLOUT, now))
        if failed is not None:
            return abort(release, now, f"pre-rollout hook {failed}")
        if release.previous is None:
            first = "the first release: nothing to compare it with, served at once"
            return promote(release, now, full=True, gate=gate, reason=first)
        return release

    def _gate(self, current: ReleaseRecord, now: datetime) -> Gate:
        """The gate as the release machine asks it at each boundary: the deploy gate (asked
        once a pass, when first needed), then the confirm hooks of the boundary."""
        asked: list[GateView] = []

        def ask(release: Release) -> GateView:
            if not asked:
                asked.append(self._gate_view(current, now))
            view = asked[0]
            kind = boundary_hook(release)
            if not view.allows or kind is None:
                return view
            if not any(h.type is kind for h in release.strategy.hooks):
                return view
            confirmed, why = gate_results(self._hooks(release, kind, now))
            if confirmed:
                return view
            return GateView(False, f"{kind} hook {why}", "waiting for confirmation")

        return ask

    def _hooks(
        self, release: Release, kind: HookType, now: datetime, **extra: object
    ) -> list[HookResult]:
        hooks = release.strategy.hooks
        if not any(h.type is kind for h in hooks):
            return []
        payload = {**hook_payload(release, now=now), **extra}
        return run_hooks(hooks, kind, payload, client=self.http, cwd=self.workspace_dir)

    def _measure_due(
        self,
        current: ReleaseRecord,
        release: Release,
        controller: dict[str, Any],
        target: Target,
        now: datetime,
        gate: Gate,
    ) -> Release:
        self._reconcile(current, release, controller, target)
        for which in due(release, now):
            measurement = self._measurement(current, release, which, controller, now)
            release = record(release, which, measurement, now)
            if release.phase is not Phase.PROGRESSING:
                return release
            revenue, overspent = charge(release, measurement, now)
            if revenue is not None:
                controller["revenue"] = revenue
            if overspent is not None:
                return abort(release, now, overspent)
        return advance(release, now, gate=gate)

    def _measurement(
        self,
        current: ReleaseRecord,
        release: Release,
        which: Which,
        controller: dict[str, Any],
        now: datetime,
    ) -> Measurement:
        metrics = measured_metrics(release, which)
        if release.blue_green and release.step == 0 and which == "step":
            return self.measurer.preview_checks(current, release, now)
        try:
            traffic = self.measurer.traffic(current, release, controller)
        except OSError as exc:
            return Measurement(now, error=f"the access log cannot be read: {exc}")
        taken = measure(
            release.strategy,
            metrics,
            traffic,
            now,
            readings=self.measurer.readings(release, metrics, now, traffic),
        )
        failed = failed_check(self._hooks(release, HookType.ROLLOUT, now))
        if failed is None or taken.error is not None:
            return taken
        hook = MetricResult("rollout hooks", Verdict.FAIL, f"rollout hook {failed}", critical=True)
        return replace(taken, results=(*taken.results, hook))

    # ------------------------------------------------------------------------- people act

    def act(
        self, system: str, environment: str, action: Action, request: ActionRequest
    ) -> ReleaseView:
        """promote [--full], pause, resume, abort (the active release) or rollback (the newest
        release, even promoted: stable goes back to the version before it)."""
        now = self.clock()
        with self._lock:
            with self.db.read() as session:
                store = SqlReleaseStore(session)
                current = store.active(system, environment)
                if action == "rollback":
                    current = store.latest(system, environment)
            if current is None:
                raise NotFound(
                    f"no {'release' if action == 'rollback' else 'active release'} of {system} "
                    f"in {environment}",
                    hint=f"see 'launchdeck release list {system}'",
                )
            release = current.release
            why = request.reason.strip()
            gate = self._gate(current, now)
            if request.full and action != "promote":
                raise UsageError("full is for promote", hint="leave it out")
            gated = (action == "promote" and request.full) or (
                action == "resume" and release.phase is Phase.PAUSED
            )
            view = (gate(release) if callable(gate) else gate) if gated else None
            if view is not None and not view.allows:
                raise Blocked(
                    f"release {current.ref} ({release.version}): {view.why}",
                    hint="abort and rollback are always allowed",
                )
            by = f" by {self.actor}"
            try:
                if action == "promote":
                    release = promote(
                        release, now, full=request.full, gate=gate, reason=why or None
                    )
                elif action == "pause":
                    release = pause(release, now, why or f"paused{by}")
                elif action == "resume":
                    release = resume(release, now, gate=gate, reason=why or f"resumed{by}")
                else:
                    if action == "rollback" and release.phase is Phase.ROLLED_BACK:
                        raise ValueError("already rolled back")
                    done = "rolled back" if action == "rollback" else "aborted"
                    release = abort(release, now, why or f"{done}{by}")
            except ValueError as exc:
                raise Conflict(f"release {current.ref} ({release.version}): {exc}") from None
            target = self._target(current)
            controller = dict(current.controller)
            if action in ("promote", "resume") and not release.phase.over:
                release = self._measure_due(current, release, controller, target, now, gate)
            saved = self._commit(current, release, controller, target, now, passed=False)
        return self.view(saved)

    # ------------------------------------------------------------------------------ reads

    def releases(
        self,
        *,
        system: str | None = None,
        environment: str | None = None,
        active: bool | None = None,
        limit: int = 50,
    ) -> list[ReleaseView]:
        with self.db.read() as session:
            found = SqlReleaseStore(session).list(
                system=system, environment=environment, active=active, limit=limit
            )
        return [self.view(r) for r in found]

    def status(self, system: str, environment: str) -> ReleaseView:
        """The active release, else the newest one."""
        with self.db.read() as session:
            store = SqlReleaseStore(session)
            found = store.active(system, environment) or store.latest(system, environment)
        if found is None:
            raise NotFound(
                f"no release of {system} in {environment} yet",
                hint=f"launchdeck deploy {system} --env {environment} --version V --artifact DIR",
            )
        return self.view(found)

    def judge(self, system: str, environment: str, metrics: Sequence[str]) -> JudgeView:
        """The judge's verdict now on the active release's traffic (for Argo's web metric)."""
        now = self.clock()
        with self.db.read() as session:
            state = SqlStateStore(session)
            state.get(ResourceKind.SYSTEM, system)
            state.get(ResourceKind.ENVIRONMENT, environment)
            current = SqlReleaseStore(session).active(system, environment)
        if current is None:
            return JudgeView(release=None, verdict="no_data", metrics=[])
        release = current.release
        names = tuple(metrics) or release.strategy.analysis.background
        unknown = [m for m in names if m not in release.strategy.metric_names()]
        if unknown:
            raise UsageError(
                f"release {current.ref} has no metric {unknown[0]!r}",
                hint=f"one of: {', '.join(sorted(release.strategy.metric_names()))}",
            )
        traffic = self.measurer.traffic(current, release, dict(current.controller))
        measurement = measure(
            release.strategy,
            names,
            traffic,
            now,
            readings=self.measurer.readings(release, names, now, traffic),
        )
        verdict = decide(measurement.results)
        return JudgeView(
            release=current.id,
            verdict=str(verdict),
            metrics=[
                MetricView(
                    name=r.name, verdict=str(r.verdict), reason=r.reason, numbers=dict(r.numbers)
                )
                for r in measurement.results
            ],
        )

    # -------------------------------------------------------------------------- internals

    def _rollout_file(self, system: System) -> StrategySpec | None:
        """The system's `rollout:` file where this process has the workspace (an API deploy
        that sends no strategy then runs the same one as the CLI would send)."""
        if system.rollout is None or self.workspace_dir is None:
            return None
        path = self.workspace_dir / system.rollout
        if not path.is_file():
            return None
        return parse_strategy(path.read_text(encoding="utf-8"), source=str(path))

    def _target(self, current: ReleaseRecord) -> Target:
        release = current.release
        return open_target(current.target, system=release.system, environment=release.environment)

    def _gate_view(self, current: ReleaseRecord, now: datetime) -> GateView:
        """The gate for this release's own change (its active_release check is itself)."""
        release = current.release
        verdict = self.gate.evaluate(
            GateRequest(
                system=release.system,
                environment=release.environment,
                change_type=ChangeType(current.change_type),
                at=now,
            )
        )
        return own_gate(verdict)

    def _commit(
        self,
        current: ReleaseRecord,
        release: Release,
        controller: dict[str, Any],
        target: Target,
        now: datetime,
        *,
        passed: bool,
    ) -> ReleaseRecord:
        """Reconcile the target to `release`, save it with its events; then tell people."""
        self._reconcile(current, release, controller, target)
        if passed:
            controller.pop("failing", None)  # this pass went through
        changed = replace(
            current,
            release=release,
            controller=controller,
            updated_at=now if release != current.release else current.updated_at,
            finished_at=now if release.phase.over and current.finished_at is None else None,
            passed_at=now if passed else current.passed_at,
        )
        if not release.phase.over:
            changed = replace(changed, finished_at=None)
        elif current.finished_at is not None:
            changed = replace(changed, finished_at=current.finished_at)
        events = transitions(
            current, release, now, actor=self.actor, revenue=controller.get("revenue")
        )
        try:
            with self.db.unit_of_work() as uow:
                saved = SqlReleaseStore(uow.session).save(changed)
                appended = [SqlTimeline(uow.session).append(e) for e in events]
                uow.commit()
        except Conflict:  # saved by someone else meanwhile: serve what they saved
            with self.db.read() as session:
                theirs = SqlReleaseStore(session).get(current.id)
            reconcile(target, desired(theirs.release))
            raise
        if release.phase.over:
            self.measurer.forget(current.id)
        self._tell(saved, appended, automatic=passed)
        return saved

    def _reconcile(
        self,
        current: ReleaseRecord,
        release: Release,
        controller: dict[str, Any],
        target: Target,
    ) -> None:
        """Make the target serve `release`; a switch (blue-green, or a canary entering its
        verification window) first marks where the access log stands: the window before it is
        the baseline of the analysis after it."""
        if release.switched and "switch" not in controller:
            controller["switch"] = end_of(self.measurer.log_path(current))
        reconcile(target, desired(release))

    def _tell(self, saved: ReleaseRecord, events: list[Event], *, automatic: bool) -> None:
        release = saved.release
        for event in events:  # informational: a failure is logged by the runner, never fatal
            self._hooks(release, HookType.EVENT, event.occurred_at, event=event.kind)
        if release.phase.over and any(e.kind in ENDS for e in events):
            self._hooks(release, HookType.POST_ROLLOUT, events[-1].occurred_at)
        if self.notify is not None:
            for event in events:
                if event.kind in TOLD:
                    try:
                        self.notify(event)
                    except Exception:  # telling people must never undo a release
                        log.exception("notifying %s failed", event.kind)
        rolled_back = any(e.kind == "release.rolled_back" for e in events)
        if rolled_back and automatic and self.incidents is not None:
            self._open_incident(saved, events)

    def _open_incident(self, saved: ReleaseRecord, events: list[Event]) -> None:
        """An incident for an automated rollback, already mitigated by it (the harm lasted
        from the release's start to the rollback; people resolve it and write the postmortem)."""
        from launchdeck.incidents.model import IncidentSource, OpenRequest, Status, UpdateRequest
        from launchdeck.incidents.severity import Signal

        release = saved.release
        event = next(e for e in events if e.kind == "release.rolled_back")
        weight = event.payload.get("weight")
        share = float(weight) / 100 if isinstance(weight, int | float) and weight else None
        try:
            assert self.incidents is not None
            opened = self.incidents.open(
                OpenRequest(
                    title=f"{release.system} {release.version} rolled back automatically"[:200],
                    systems=(release.system,),
                    signal=Signal.DEGRADATION,
                    traffic_share=share,
                    summary=release.reason[:9000],
                    source=IncidentSource.ROLLBACK,
                    dedupe_key=f"rollback:{release.system}:{release.environment}:{release.version}",
                    started_at=saved.created_at,
                    detected_at=event.occurred_at,
                )
            )
            if opened.incident.status is not Status.MITIGATED:
                self.incidents.update(
                    opened.incident.id,
                    UpdateRequest(
                        status=Status.MITIGATED,
                        note=f"mitigated by the automated rollback of release #{saved.id}: "
                        f"{release.system} serves {release.previous} again",
                    ),
                )
        except Exception:
            log.exception("opening the rollback incident of release #%s failed", saved.id)

    def view(self, found: ReleaseRecord) -> ReleaseView:
        return view(found, url=site_url(found.target), preview=preview_url(found.target))


def _describe(exc: Exception) -> str:
    """A failed pass in one line: launchdeck's own errors as they read, others by type."""
    if isinstance(exc, LaunchdeckError):
        return str(exc)[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def _strategy(request: DeployRequest, from_file: StrategySpec | None) -> StrategySpec:
    """The strategy sent, else the system's rollout file, else the default of the kind."""
    strategy = request.strategy or from_file or default_strategy(request.kind or "canary")
    if request.kind is not None and strategy.strategy != request.kind:
        raise UsageError(
            f"--strategy {request.kind}, but the system's rollout file is a {strategy.strategy}",
            hint="leave --strategy out, or change the rollout file",
        )
    return strategy
