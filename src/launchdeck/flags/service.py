"""Flag use cases: create, change, schedule, evaluate, history and restore, change requests,
SDK keys. Local (`FlagService`) here; `RemoteFlags` in remote.py.

Every write is one unit of work: the new version of the flag, its history row, the flags
revision and a timeline event with the field-level diff commit together. A change to a
production-like environment asks the gate first (change type `flag`); turning a flag off never
does: it is remediation, always allowed, and the outcome says so. Where the workspace's
`flag_governance` requires approvals, a change becomes a change request instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from launchdeck.calendar.model import ChangeType
from launchdeck.errors import Blocked, ConfigError, Conflict, NotFound, UsageError, ValidationFailed
from launchdeck.flags import governance
from launchdeck.flags.evaluate import Evaluator
from launchdeck.flags.governance import is_kill_switch
from launchdeck.flags.history import changes as diff_versions
from launchdeck.flags.model import EnvPatch, FlagSpec, ScheduledChange, SegmentSpec, Snapshot
from launchdeck.flags.records import (
    OPEN_CR_STATUSES,
    ChangeRequest,
    CreatedSdkKey,
    CrStatus,
    FlagVersion,
    ManagedBy,
    SdkKeyInfo,
    StoredFlag,
    StoredSegment,
    VersionAction,
)
from launchdeck.flags.requests import ChangeBody, ChangeOutcome, EvalRequest, EvalResult
from launchdeck.flags.schedule import Due, due_now, materialise
from launchdeck.flags.snapshot import build_snapshot
from launchdeck.flags.stale import StaleFlag, stale_report
from launchdeck.flags.validate import check_flags
from launchdeck.gate.model import Decision, GateRequest
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.store.flags import SqlFlagStore
from launchdeck.timeline.model import MAX_PAGE, NewEvent, TimelineQuery
from launchdeck.workspace.model import ResourceKind

__all__ = ["FlagApi", "FlagService", "GateAsker"]

SDK_KEY_PREFIX = "lds"


class GateAsker(Protocol):
    def check(self, request: GateRequest) -> Any: ...


class FlagApi(Protocol):
    def list_flags(self, *, archived: bool = False) -> list[StoredFlag]: ...
    def get_flag(self, key: str) -> StoredFlag: ...
    def create(self, spec: FlagSpec, *, comment: str | None = None) -> StoredFlag: ...
    def change(self, key: str, body: ChangeBody) -> ChangeOutcome: ...
    def replace(
        self, spec: FlagSpec, *, expected_version: int, comment: str | None = None
    ) -> ChangeOutcome: ...
    def schedule(
        self, key: str, environment: str, change: ScheduledChange, *, comment: str | None = None
    ) -> ChangeOutcome: ...
    def unschedule(
        self, key: str, environment: str, index: int, *, comment: str | None = None
    ) -> ChangeOutcome: ...
    def archive(self, key: str, *, comment: str | None = None) -> StoredFlag: ...
    def history(self, key: str) -> list[FlagVersion]: ...
    def restore(self, key: str, version: int, *, comment: str | None = None) -> StoredFlag: ...
    def evaluate(self, request: EvalRequest) -> EvalResult: ...
    def stale(self) -> list[StaleFlag]: ...
    def list_segments(self) -> list[StoredSegment]: ...
    def put_segment(self, spec: SegmentSpec) -> StoredSegment: ...
    def change_requests(self, *, all: bool = False) -> list[ChangeRequest]: ...
    def approve(self, request_id: str, *, comment: str | None = None) -> ChangeRequest: ...
    def reject(self, request_id: str, *, comment: str | None = None) -> ChangeRequest: ...
    def apply_request(self, request_id: str) -> ChangeOutcome: ...
    def create_sdk_key(self, name: str, environment: str) -> CreatedSdkKey: ...
    def sdk_keys(self) -> list[SdkKeyInfo]: ...
    def revoke_sdk_key(self, key_id: str) -> SdkKeyInfo: ...
    def snapshot(self, environment: str) -> Snapshot: ...


def _read_only(key: str) -> Conflict:
    return Conflict(
        f"flag {key!r} is managed in launchdeck.yaml: the API cannot change it",
        hint="change it in launchdeck.yaml and run 'launchdeck apply' (GitOps); "
        "'launchdeck flags off' still works as a kill switch",
    )


class FlagService:
    def __init__(
        self,
        db: Database,
        *,
        actor: str,
        clock: Callable[[], datetime],
        gate: GateAsker | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock
        self.gate = gate
        self.on_change = on_change
        """Told after every committed write (the server's snapshot cache); must not raise."""

    # reads ---------------------------------------------------------------------------------

    def list_flags(self, *, archived: bool = False) -> list[StoredFlag]:
        with self.db.read() as session:
            return SqlFlagStore(session).list(include_archived=archived)

    def get_flag(self, key: str) -> StoredFlag:
        with self.db.read() as session:
            return _flag(SqlFlagStore(session), key, include_archived=True)

    def history(self, key: str) -> list[FlagVersion]:
        with self.db.read() as session:
            store = SqlFlagStore(session)
            _flag(store, key, include_archived=True)
            return store.versions(key)

    def list_segments(self) -> list[StoredSegment]:
        with self.db.read() as session:
            return SqlFlagStore(session).list_segments()

    def change_requests(self, *, all: bool = False) -> list[ChangeRequest]:
        with self.db.read() as session:
            statuses = None if all else OPEN_CR_STATUSES
            return SqlFlagStore(session).list_change_requests(statuses=statuses)

    def sdk_keys(self) -> list[SdkKeyInfo]:
        with self.db.read() as session:
            return SqlFlagStore(session).list_sdk_keys()

    def snapshot(self, environment: str, *, at: datetime | None = None) -> Snapshot:
        with self.db.read() as session:
            store = SqlFlagStore(session)
            _environment(session, environment)
            revision = store.revision()  # first: the content read next is at least this new
            return build_snapshot(
                [f.spec for f in store.list()],
                [s.spec for s in store.list_segments()],
                environment=environment,
                revision=revision,
                campaigns=store.campaign_edges(),
                now=at or self.clock(),
            )

    def evaluate(self, request: EvalRequest) -> EvalResult:
        at = request.at or self.clock()
        snapshot = self.snapshot(request.environment, at=at)
        evaluator = Evaluator(snapshot, clock=at.timestamp)
        keys = request.flags or tuple(evaluator.keys())
        return EvalResult(
            environment=request.environment,
            at=at.isoformat(),
            results={k: evaluator.resolve(k, request.context).to_dict() for k in keys},
            snapshot_etag=snapshot.etag,
        )

    def stale(self) -> list[StaleFlag]:
        now = self.clock()
        with self.db.read() as session:
            store = SqlFlagStore(session)
            flags = store.list()
            last = {f.key: versions[-1].at for f in flags if (versions := store.versions(f.key))}
            environments = [e.id for e in SqlStateStore(session).list(ResourceKind.ENVIRONMENT)]
        return stale_report(
            flags,
            now=now,
            last_changed=last,
            environments=environments,
        )

    # writes --------------------------------------------------------------------------------

    def record_fired(self) -> int:
        """Put every scheduled change that has come due on the timeline, once, stamped at the
        instant it took effect (`flag.schedule_fired`), so "what changed?" sees a flag the
        calendar turned on. `launchdeck serve` runs this every refresh interval; every flag
        write runs it first. How many it recorded."""
        now = self.clock()
        recorded = 0
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            store.lock()
            campaigns = store.campaign_edges()
            timeline = SqlTimeline(uow.session)
            dues = [
                (stored, env, due)
                for stored in store.list()
                for env, config in stored.spec.environments.items()
                for due in due_now(config, now, campaigns)
            ]
            seen = _fired_since(timeline, min((d.at for _, _, d in dues), default=now))
            for stored, env, due in dues:
                if (f"flag/{stored.key}", env, due.index, due.at) in seen:
                    continue
                timeline.append(_fired_event(stored, env, due))
                recorded += 1
            if recorded:
                uow.commit()
        return recorded

    def create(self, spec: FlagSpec, *, comment: str | None = None) -> StoredFlag:
        """A new flag; one born on in a production-like environment asks the gate first."""
        now = self.clock()
        with self.db.read() as session:
            production = _production_like(session)
            policy = SqlFlagStore(session).governance()
        live = [e for e, c in spec.environments.items() if c.enabled and production.get(e, False)]
        governed = [e for e in live if policy.required(e)]
        if governed:
            raise Conflict(
                f"{', '.join(governed)} needs approved change requests: a flag cannot be born on "
                "there",
                hint=f"create it off there, then turn it on with 'launchdeck flags on {spec.key} "
                f"--env {governed[0]}' (a change request)",
            )
        for env in live:
            self._ask_gate(spec, env, True, False)
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            if store.get(spec.key, include_archived=True) is not None:
                raise Conflict(
                    f"flag {spec.key!r} already exists",
                    hint="change it with 'launchdeck flags set', or restore it if archived",
                )
            self._validate(uow.session, store, spec)
            stored = store.put(
                spec,
                expected_version=None,
                actor=self.actor,
                now=now,
                managed_by=ManagedBy.API,
                comment=comment,
                action=VersionAction.CREATED,
            )
            self._event(uow.session, "flag.added", stored, None, now, comment=comment)
            uow.commit()
        self._changed()
        return stored

    def change(self, key: str, body: ChangeBody) -> ChangeOutcome:
        now = self.clock()
        self.record_fired()
        kill = is_kill_switch(body.patch)
        with self.db.read() as session:
            store = SqlFlagStore(session)
            current = _flag(store, key)
            production = _environment(session, body.environment)
            policy = store.governance()
        warnings: list[str] = []
        if current.managed_by is ManagedBy.GIT:
            if not kill:
                raise _read_only(key)
            warnings.append(
                "launchdeck.yaml still declares this flag: the next 'launchdeck apply' restores "
                "the file's configuration unless the file changes too"
            )
        if body.expected_version is not None and body.expected_version != current.version:
            raise _stale_version(key, body.expected_version, current.version)
        _buildable(lambda: _with_patch(current.spec, body.environment, body.patch))
        if governance.needs_request(policy, body.environment, body.patch):
            request = self._request_change(current, body, now)
            return ChangeOutcome(
                flag=current,
                change_request=request,
                outcome="approval_required",
                gate="not asked yet: the change request asks it when it is applied",
            )
        gate = self._ask_gate(current.spec, body.environment, production, kill)
        stored = self._write_change(
            current, body.environment, body.patch, body.apply_at, now, body.comment
        )
        return ChangeOutcome(
            flag=stored,
            outcome="scheduled" if body.apply_at else "applied",
            gate=gate,
            warnings=tuple(warnings),
        )

    def replace(
        self, spec: FlagSpec, *, expected_version: int, comment: str | None = None
    ) -> ChangeOutcome:
        """A new whole definition (variants, prerequisites, several environments at once).

        Each production-like environment whose behaviour changes asks the gate (turning it off
        never does); an environment that needs approvals must be changed through a change
        request ('flags set'), so a whole-definition edit cannot slip past its approvers."""
        now = self.clock()
        self.record_fired()
        with self.db.read() as session:
            store = SqlFlagStore(session)
            current = _flag(store, spec.key)
            policy = store.governance()
            touched = governance.touched_environments(current.spec, spec)
            production = _production_like(session)
        if current.managed_by is ManagedBy.GIT:
            raise _read_only(spec.key)
        if expected_version != current.version:
            raise _stale_version(spec.key, expected_version, current.version)
        governed = [env for env in touched if policy.required(env)]
        if governed:
            raise Conflict(
                f"{', '.join(governed)} needs approved change requests: change the flag there "
                "with a change request",
                hint=f"'launchdeck flags set {spec.key} --env {governed[0]} --file …' proposes one",
            )
        answers = []
        for env in touched:
            off = governance.only_turns_off(current.spec.environment(env), spec.environment(env))
            answers.append(self._ask_gate(spec, env, production.get(env, False), off))
        stored = self._put(current, spec, now, comment, "flag.changed", None)
        return ChangeOutcome(
            flag=stored,
            outcome="applied",
            gate="; ".join(answers) or "not asked: no environment's behaviour changed",
        )

    def schedule(
        self, key: str, environment: str, change: ScheduledChange, *, comment: str | None = None
    ) -> ChangeOutcome:
        now = self.clock()
        self.record_fired()
        with self.db.read() as session:
            store = SqlFlagStore(session)
            current = _flag(store, key)
            production = _environment(session, environment)
            edges = store.campaign_edges()
            policy = store.governance()
        if current.managed_by is ManagedBy.GIT:
            raise _read_only(key)
        if change.at is None and change.campaign not in edges:
            raise NotFound(
                f"no campaign {change.campaign!r}",
                hint="'launchdeck campaigns list' shows the campaigns of the calendar",
            )
        if governance.needs_request(policy, environment, change.set):
            raise Conflict(
                f"{environment} needs approved change requests: a scheduled change there "
                "goes through one",
                hint=f"'launchdeck flags set {key} --env {environment} --at TIME' proposes "
                "one; a change tied to a campaign is reviewed in launchdeck.yaml (GitOps)",
            )
        config = current.spec.environment(environment)
        updated = _buildable(
            lambda: current.spec.with_environment(
                environment, config.model_copy(update={"schedule": (*config.schedule, change)})
            )
        )
        gate = self._ask_gate(current.spec, environment, production, is_kill_switch(change.set))
        stored = self._put(current, updated, now, comment, "flag.scheduled", environment)
        return ChangeOutcome(flag=stored, outcome="scheduled", gate=gate)

    def unschedule(
        self, key: str, environment: str, index: int, *, comment: str | None = None
    ) -> ChangeOutcome:
        """Drop pending scheduled change `index` (as `flags show` numbers them). Dropping one
        that would turn the flag on is remediation: never gated, never held for approval."""
        now = self.clock()
        self.record_fired()
        with self.db.read() as session:
            store = SqlFlagStore(session)
            current = _flag(store, key)
            production = _environment(session, environment)
            policy = store.governance()
        if current.managed_by is ManagedBy.GIT:
            raise _read_only(key)
        config = current.spec.environment(environment)
        if not 0 <= index < len(config.schedule) or config.schedule[index].done_at is not None:
            pending = [i for i, c in enumerate(config.schedule) if c.done_at is None]
            raise NotFound(
                f"flag {key!r} has no pending scheduled change {index} in {environment}",
                hint=f"pending: {', '.join(map(str, pending)) or 'none'} "
                f"('launchdeck flags show {key}' numbers them)",
            )
        safe = governance.unscheduling_is_remediation(config.schedule[index])
        if not safe and policy.required(environment):
            raise Conflict(
                f"{environment} needs approved change requests: dropping a scheduled change "
                "that is not a turn-on goes through review",
                hint="change the schedule in launchdeck.yaml (GitOps), or restore a version",
            )
        gate = (
            "not asked: dropping a scheduled turn-on is remediation, always allowed"
            if safe
            else self._ask_gate(current.spec, environment, production, False)
        )
        schedule = tuple(c for i, c in enumerate(config.schedule) if i != index)
        updated = current.spec.with_environment(
            environment, config.model_copy(update={"schedule": schedule})
        )
        stored = self._put(current, updated, now, comment, "flag.unscheduled", environment)
        return ChangeOutcome(flag=stored, outcome="applied", gate=gate)

    def archive(self, key: str, *, comment: str | None = None) -> StoredFlag:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            current = _flag(store, key)
            if current.managed_by is ManagedBy.GIT:
                raise _read_only(key)
            dependants = [
                f.key for f in store.list() if any(p.flag == key for p in f.spec.prerequisites)
            ]
            if dependants:
                raise Conflict(
                    f"flag {key!r} is a prerequisite of {', '.join(sorted(dependants))}",
                    hint="remove it from their prerequisites first",
                )
            stored = store.archive(
                key, expected_version=current.version, actor=self.actor, now=now, comment=comment
            )
            self._event(uow.session, "flag.removed", stored, current, now, comment=comment)
            uow.commit()
        self._changed()
        return stored

    def restore(self, key: str, version: int, *, comment: str | None = None) -> StoredFlag:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            current = _flag(store, key, include_archived=True)
            if current.managed_by is ManagedBy.GIT:
                raise _read_only(key)
            old = store.version(key, version)
            if old is None:
                raise NotFound(
                    f"flag {key!r} has no version {version}",
                    hint=f"'launchdeck flags history {key}' lists its versions",
                )
            spec = FlagSpec.model_validate(old.definition)
            self._validate(uow.session, store, spec)
            stored = store.put(
                spec,
                expected_version=current.version,
                actor=self.actor,
                now=now,
                managed_by=ManagedBy.API,
                comment=comment or f"restored version {version}",
                action=VersionAction.RESTORED,
            )
            self._event(
                uow.session,
                "flag.restored",
                stored,
                current,
                now,
                comment=comment,
                extra={"restored_version": version},
            )
            uow.commit()
        self._changed()
        return stored

    def put_segment(self, spec: SegmentSpec) -> StoredSegment:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            existing = store.get_segment(spec.key)
            if existing is not None and existing.managed_by is ManagedBy.GIT:
                raise Conflict(
                    f"segment {spec.key!r} is managed in launchdeck.yaml: the API cannot change it",
                    hint="change it in launchdeck.yaml and run 'launchdeck apply'",
                )
            segments = [s.spec for s in store.list_segments() if s.key != spec.key] + [spec]
            problems = check_flags([f.spec for f in store.list()], segments)
            if problems:
                raise _failed(problems)
            stored = store.put_segment(
                spec,
                expected_version=existing.version if existing else None,
                actor=self.actor,
                now=now,
                managed_by=ManagedBy.API,
            )
            before = existing.spec.document() if existing else None
            segment_changes = diff_versions(before, spec.document())
            SqlTimeline(uow.session).append(
                NewEvent(
                    occurred_at=now,
                    actor=self.actor,
                    kind="segment.changed" if existing else "segment.added",
                    subject=f"segment/{spec.key}",
                    payload={
                        "version": stored.version,
                        "fields": [c.field for c in segment_changes],
                        "changes": [c.model_dump(mode="json") for c in segment_changes],
                    },
                )
            )
            uow.commit()
        self._changed()
        return stored

    # change requests -----------------------------------------------------------------------

    def _request_change(
        self, current: StoredFlag, body: ChangeBody, now: datetime
    ) -> ChangeRequest:
        request = ChangeRequest(
            id=f"cr-{secrets.token_hex(4)}",
            flag_key=current.key,
            environment=body.environment,
            base_version=current.version,
            patch=body.patch,
            status=CrStatus.DRAFT,
            author=self.actor,
            created_at=now,
            comment=body.comment,
            apply_at=body.apply_at,
        )
        with self.db.unit_of_work() as uow:
            SqlFlagStore(uow.session).add_change_request(request)
            self._cr_event(uow.session, "flag.change_requested", request, now)
            uow.commit()
        return request

    def approve(self, request_id: str, *, comment: str | None = None) -> ChangeRequest:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            request = _open_request(store, request_id)
            updated = governance.approve(
                request, actor=self.actor, at=now, policy=store.governance(), comment=comment
            )
            saved = store.save_change_request(updated, expected_version=request.version)
            self._cr_event(uow.session, "flag.change_approved", saved, now)
            uow.commit()
        return saved

    def reject(self, request_id: str, *, comment: str | None = None) -> ChangeRequest:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            request = _open_request(store, request_id)
            saved = store.save_change_request(
                governance.close(request, actor=self.actor, at=now),
                expected_version=request.version,
            )
            self._cr_event(uow.session, f"flag.change_{saved.status.value}", saved, now, comment)
            uow.commit()
        return saved

    def apply_request(self, request_id: str) -> ChangeOutcome:
        now = self.clock()
        self.record_fired()
        with self.db.read() as session:
            store = SqlFlagStore(session)
            request = _open_request(store, request_id)
            current = _flag(store, request.flag_key)
            production = _environment(session, request.environment)
            policy = store.governance()
        if current.managed_by is ManagedBy.GIT:
            raise _read_only(current.key)
        _buildable(lambda: _with_patch(current.spec, request.environment, request.patch))
        if (refusal := governance.unapproved(request, policy)) is not None:
            raise refusal
        if current.version != request.base_version:
            with self.db.read() as session:
                base = SqlFlagStore(session).version(current.key, request.base_version)
            before = FlagSpec.model_validate(base.definition) if base else None
            if before is None or before.environment(
                request.environment
            ) != current.spec.environment(request.environment):
                raise Conflict(
                    f"flag {current.key!r} changed in {request.environment} since change request "
                    f"{request_id} was made (version {request.base_version} → {current.version})",
                    hint="reject it and make a new request against the current version",
                )
        gate = self._ask_gate(
            current.spec,
            request.environment,
            production,
            is_kill_switch(request.patch),
        )
        stored = self._write_change(
            current,
            request.environment,
            request.patch,
            request.apply_at,
            now,
            request.comment or f"change request {request_id}",
        )
        status = CrStatus.SCHEDULED if request.apply_at else CrStatus.APPLIED
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            latest = store.get_change_request(request_id)
            assert latest is not None
            saved = store.save_change_request(
                latest.model_copy(
                    update={
                        "status": status,
                        "decided_at": now,
                        "decided_by": self.actor,
                        "applied_version": stored.version,
                    }
                ),
                expected_version=latest.version,
            )
            self._cr_event(uow.session, f"flag.change_{status.value}", saved, now)
            uow.commit()
        return ChangeOutcome(flag=stored, change_request=saved, outcome=status.value, gate=gate)

    # SDK keys ------------------------------------------------------------------------------

    def create_sdk_key(self, name: str, environment: str) -> CreatedSdkKey:
        from launchdeck.auth.model import check_token_name, hash_secret

        name = check_token_name(name)
        now = self.clock()
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        info = SdkKeyInfo(
            id=key_id, name=name, environment=environment, created_at=now, created_by=self.actor
        )
        with self.db.unit_of_work() as uow:
            _environment(uow.session, environment)
            SqlFlagStore(uow.session).add_sdk_key(info, hash_secret(secret))
            SqlTimeline(uow.session).append(
                NewEvent(
                    occurred_at=now,
                    actor=self.actor,
                    kind="sdk_key.created",
                    subject=f"sdk_key/{key_id}",
                    environment=environment,
                    payload={"name": name},
                )
            )
            uow.commit()
        return CreatedSdkKey(key=f"{SDK_KEY_PREFIX}_{key_id}_{secret}", info=info)

    def revoke_sdk_key(self, key_id: str) -> SdkKeyInfo:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            info = SqlFlagStore(uow.session).revoke_sdk_key(key_id, now)
            SqlTimeline(uow.session).append(
                NewEvent(
                    occurred_at=now,
                    actor=self.actor,
                    kind="sdk_key.revoked",
                    subject=f"sdk_key/{key_id}",
                    environment=info.environment,
                    payload={"name": info.name},
                )
            )
            uow.commit()
        self._changed()  # a running server refuses the key at once
        return info

    # helpers -------------------------------------------------------------------------------

    def _ask_gate(
        self,
        spec: FlagSpec,
        environment: str,
        production: bool,
        kill: bool,
    ) -> str:
        """The gate judges the change when it is made, scheduled ones included: the scheduled
        change then fires at its time without asking again, as a campaign's planned launch."""
        if kill:
            return "not asked: turning a flag off is remediation, always allowed"
        if not production:
            return f"not asked: {environment} is not production-like"
        if self.gate is None:
            return "not asked: no gate installed"
        if spec.system is None:
            raise UsageError(
                f"flag {spec.key!r} names no system, so the gate cannot judge a change to "
                f"{environment}",
                hint="set `system:` on the flag (the system its code runs in)",
            )
        verdict = self.gate.check(
            GateRequest(
                system=spec.system,
                environment=environment,
                change_type=ChangeType.FLAG,
            )
        )
        if verdict.decision is Decision.BLOCK:
            blocking = "; ".join(c.summary for c in verdict.checks if c.outcome.value == "block")
            raise Blocked(
                f"the gate blocks this change to flag {spec.key!r} in {environment}: {blocking}",
                hint="turning the flag off is always allowed; 'launchdeck gate check "
                f"{spec.system} --change-type flag' explains the verdict",
            )
        return f"{verdict.decision.value}: " + "; ".join(c.summary for c in verdict.checks)

    def _write_change(
        self,
        current: StoredFlag,
        environment: str,
        patch: EnvPatch,
        apply_at: datetime | None,
        now: datetime,
        comment: str | None,
    ) -> StoredFlag:
        with self.db.read() as session:
            campaigns = SqlFlagStore(session).campaign_edges()
        if apply_at is not None:
            config = current.spec.environment(environment)
            change = ScheduledChange(at=apply_at, set=patch, note=comment)
            updated = current.spec.with_environment(
                environment, config.model_copy(update={"schedule": (*config.schedule, change)})
            )
            kind = "flag.scheduled"
        else:
            updated = materialise(current.spec, environment, now, campaigns, patch)
            kind = "flag.changed"
        return self._put(current, updated, now, comment, kind, environment)

    def _put(
        self,
        current: StoredFlag,
        updated: FlagSpec,
        now: datetime,
        comment: str | None,
        kind: str,
        environment: str | None,
    ) -> StoredFlag:
        with self.db.unit_of_work() as uow:
            store = SqlFlagStore(uow.session)
            self._validate(uow.session, store, updated)
            stored = store.put(
                updated,
                expected_version=current.version,
                actor=self.actor,
                now=now,
                managed_by=current.managed_by,
                comment=comment,
                action=VersionAction.CHANGED,
            )
            self._event(
                uow.session, kind, stored, current, now, comment=comment, environment=environment
            )
            uow.commit()
        self._changed()
        return stored

    def _validate(self, session: Any, store: SqlFlagStore, spec: FlagSpec) -> None:
        flags = [f.spec for f in store.list() if f.key != spec.key] + [spec]
        environments = [e.id for e in SqlStateStore(session).list(ResourceKind.ENVIRONMENT)]
        problems = check_flags(
            flags,
            [s.spec for s in store.list_segments()],
            environments=environments or None,
            campaigns=store.campaign_edges().keys(),
        )
        index = len(flags) - 1
        mine = [p for p in problems if p.path[:2] == ("flags", index)]
        if mine:
            # Operator messages start with the clause's path in the list checked here; the
            # caller knows only its own flag, so both the path and the message drop the prefix.
            own = f"flags[{index}]."
            raise _failed(
                [p.__class__(p.path[2:], p.message.removeprefix(own), p.hint) for p in mine]
            )

    def _event(
        self,
        session: Any,
        kind: str,
        stored: StoredFlag,
        before: StoredFlag | None,
        now: datetime,
        *,
        comment: str | None = None,
        environment: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        fields = diff_versions(before.spec.document() if before else None, stored.spec.document())
        SqlTimeline(session).append(
            NewEvent(
                occurred_at=now,
                actor=self.actor,
                kind=kind,
                subject=f"flag/{stored.key}",
                system=stored.spec.system,
                environment=environment,
                payload={
                    "version": stored.version,
                    "comment": comment,
                    "fields": [c.field for c in fields],
                    "changes": [c.model_dump(mode="json") for c in fields],
                    **(extra or {}),
                },
            )
        )

    def _cr_event(
        self,
        session: Any,
        kind: str,
        request: ChangeRequest,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        SqlTimeline(session).append(
            NewEvent(
                occurred_at=now,
                actor=self.actor,
                kind=kind,
                subject=f"flag/{request.flag_key}",
                environment=request.environment,
                payload={
                    "change_request": request.id,
                    "status": request.status.value,
                    "approvals": [a.actor for a in request.approvals],
                    "patch": request.patch.model_dump(mode="json", exclude_none=True),
                    "comment": comment,
                },
            )
        )

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


def _flag(store: SqlFlagStore, key: str, *, include_archived: bool = False) -> StoredFlag:
    found = store.get(key, include_archived=include_archived)
    if found is None:
        raise NotFound(f"no flag {key!r}", hint="'launchdeck flags list' shows the flags")
    return found


def _open_request(store: SqlFlagStore, request_id: str) -> ChangeRequest:
    request = store.get_change_request(request_id)
    if request is None:
        raise NotFound(
            f"no change request {request_id!r}",
            hint="'launchdeck flags requests' lists the open ones",
        )
    if request.status not in OPEN_CR_STATUSES:
        raise Conflict(f"change request {request_id} is already {request.status.value}")
    return request


def _production_like(session: Any) -> dict[str, bool]:
    """Every environment, and whether it is production-like (where the gate is asked)."""
    return {
        e.id: bool(e.production_like) for e in SqlStateStore(session).list(ResourceKind.ENVIRONMENT)
    }


def _environment(session: Any, environment: str) -> bool:
    """Whether `environment` is production-like; NotFound naming the known ones otherwise."""
    known = _production_like(session)
    if environment not in known:
        names = ", ".join(sorted(known)) or "none yet"
        raise NotFound(
            f"no environment {environment!r}",
            hint=f"use one of: {names}",
        )
    return known[environment]


_T = TypeVar("_T")


def _buildable(build: Callable[[], _T]) -> _T:
    """`build()`, with a definition it cannot make (a serve of an unknown variant …) reported
    as a validation failure naming the field, not a crash."""
    try:
        return build()
    except ValidationError as exc:
        raise ValidationFailed(
            [
                ConfigError(
                    e["msg"].removeprefix("Value error, "),
                    where=".".join(str(p) for p in e["loc"]) or None,
                )
                for e in exc.errors()
            ]
        ) from None


def _with_patch(spec: FlagSpec, environment: str, patch: EnvPatch) -> FlagSpec:
    return spec.with_environment(environment, spec.environment(environment).patched(patch))


FIRED = "flag.schedule_fired"


def _fired_since(
    timeline: SqlTimeline, since: datetime
) -> set[tuple[str, str | None, object, datetime]]:
    """(subject, environment, index, instant) of every scheduled change already recorded as
    fired at or after `since`: one pass over those events, however many changes are due."""
    seen: set[tuple[str, str | None, object, datetime]] = set()
    cursor: str | None = None
    while True:
        page = timeline.query(TimelineQuery(kind=FIRED, since=since, limit=MAX_PAGE, cursor=cursor))
        seen.update(
            (e.subject, e.environment, e.payload.get("index"), e.occurred_at) for e in page.events
        )
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def _fired_event(stored: StoredFlag, environment: str, due: Due) -> NewEvent:
    change = due.change
    return NewEvent(
        occurred_at=due.at,
        actor="launchdeck",
        kind=FIRED,
        subject=f"flag/{stored.key}",
        system=stored.spec.system,
        environment=environment,
        payload={
            "index": due.index,
            "version": stored.version,
            "set": change.set.model_dump(mode="json", exclude_none=True),
            "campaign": change.campaign,
            "edge": change.edge if change.campaign else None,
            "note": change.note,
        },
    )


def _stale_version(key: str, had: int, stored: int) -> Conflict:
    return Conflict(
        f"flag {key!r} is at version {stored}, not {had}: someone changed it meanwhile",
        hint=f"'launchdeck flags show {key}' shows the current version; make the change again",
    )


def _failed(problems: Sequence[Any]) -> ValidationFailed:
    return ValidationFailed(
        [ConfigError(p.message, where=p.where, field=p.where, hint=p.hint) for p in problems]
    )
