"""The deploy decision: a pure function of the request, the freeze windows, the dependency
graph and the results of the other checks. No database, clock or network in here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from launchdeck.calendar.graph import affected_by, blast_radius, campaign_path
from launchdeck.calendar.model import FreezeKind, FreezeWindow, Occurrence
from launchdeck.gate.model import (
    AffectedCampaign,
    CheckOutcome,
    CheckResult,
    Decision,
    GateRequest,
    Override,
    Verdict,
    active_overrides,
    worst,
)

__all__ = ["HORIZON", "blocking_windows", "decide", "next_allowed"]

HORIZON = timedelta(days=90)
"""How far ahead the next allowed time is searched."""

_DECISION = {
    CheckOutcome.PASS: Decision.ALLOW,
    CheckOutcome.UNKNOWN: Decision.ALLOW,  # shown as unknown; policy: it does not block
    CheckOutcome.WARN: Decision.WARN,
    CheckOutcome.BLOCK: Decision.BLOCK,
}


def _applies(
    window: FreezeWindow,
    request: GateRequest,
    radius: Mapping[str, tuple[str, ...]],
    production_like: bool,
) -> bool:
    if window.environments:
        if request.environment not in window.environments:
            return False
    elif not production_like:
        return False
    return window.reaches(radius)


def blocking_windows(
    windows: Sequence[FreezeWindow],
    request: GateRequest,
    radius: Mapping[str, tuple[str, ...]],
    *,
    production_like: bool,
) -> list[FreezeWindow]:
    """The windows that apply to this change and do not allow its change type."""
    return [
        w
        for w in windows
        if request.change_type not in w.allow and _applies(w, request, radius, production_like)
    ]


def next_allowed(
    blocking: Sequence[FreezeWindow], *, at: datetime, horizon: timedelta = HORIZON
) -> datetime | None:
    """The first instant >= `at` that no blocking window covers, or None beyond the horizon.

    Windows are half-open [start, end): a change is allowed at the very end of a freeze.
    """
    reach = at
    for window in sorted(blocking, key=lambda w: w.starts_at):
        if window.starts_at > reach:
            break
        reach = max(reach, window.ends_at)
        if reach > at + horizon:
            return None
    return reach if reach <= at + horizon else None


def _path_text(path: Sequence[str]) -> str:
    return " → ".join(path)


def _window_summary(
    window: FreezeWindow, radius: Mapping[str, tuple[str, ...]], request: GateRequest
) -> str:
    path = campaign_path(radius, window.systems) if window.systems else (request.system,)
    target = _path_text(path or (request.system,))
    if window.kind is FreezeKind.CAMPAIGN:
        target = f"{target} → {window.name}"
    until = window.ends_at.strftime("%Y-%m-%d %H:%M UTC")
    allowed = ", ".join(sorted(window.allow)) or "nothing"
    label = {
        FreezeKind.CAMPAIGN: "campaign freeze",
        FreezeKind.RECURRING: "recurring freeze",
        FreezeKind.ADHOC: "freeze",
    }[window.kind]
    reason = f" ({window.reason})" if window.reason else ""
    return f"{label} {window.name!r}{reason} on {target} until {until}; allows {allowed}"


def _freeze_check(
    request: GateRequest,
    *,
    at: datetime,
    windows: Sequence[FreezeWindow],
    radius: Mapping[str, tuple[str, ...]],
    production_like: bool,
    overrides: Sequence[Override],
) -> tuple[CheckResult, tuple[Override, ...]]:
    applying = [
        w for w in windows if w.covers(at) and _applies(w, request, radius, production_like)
    ]
    blocking = [w for w in applying if request.change_type not in w.allow]
    if not applying:
        return CheckResult(
            check="freeze_window", outcome=CheckOutcome.PASS, summary="no freeze window applies"
        ), ()
    if not blocking:
        first = min(applying, key=lambda w: (w.ends_at, w.id))
        return CheckResult(
            check="freeze_window",
            outcome=CheckOutcome.WARN,
            summary=f"{request.change_type} allowed during "
            + _window_summary(first, radius, request),
            facts={"windows": len(applying), "window": first.id},
        ), ()
    longest = max(blocking, key=lambda w: (w.ends_at, w.id))
    facts: dict[str, float | int | str | None] = {
        "windows": len(blocking),
        "window": longest.id,
        "until": longest.ends_at.isoformat(),
    }
    active = active_overrides(
        overrides, system=request.system, environment=request.environment, at=at
    )
    if active:
        o = min(active, key=lambda o: o.id)
        return CheckResult(
            check="freeze_window",
            outcome=CheckOutcome.WARN,
            summary=f"overridden by {o.created_by} until {o.ends_at:%Y-%m-%d %H:%M UTC} "
            f"({o.reason}): " + _window_summary(longest, radius, request),
            facts={**facts, "override": o.id},
        ), active
    return CheckResult(
        check="freeze_window",
        outcome=CheckOutcome.BLOCK,
        summary=_window_summary(longest, radius, request),
        facts=facts,
    ), ()


def decide(
    request: GateRequest,
    *,
    at: datetime,
    depends_on: Mapping[str, Sequence[str]],
    production_like: bool,
    occurrences: Sequence[Occurrence],
    windows: Sequence[FreezeWindow],
    results: Sequence[CheckResult] = (),
    overrides: Sequence[Override] = (),
    horizon: timedelta = HORIZON,
) -> Verdict:
    """The verdict on `request` at `at`: every check, the campaigns at stake, the next allowed time.

    `occurrences` and `windows` must cover [at, at + horizon] for the next-time search.
    """
    radius = blast_radius(depends_on, request.system)
    freeze, used = _freeze_check(
        request,
        at=at,
        windows=windows,
        radius=radius,
        production_like=production_like,
        overrides=overrides,
    )
    checks = (freeze, *sorted(results, key=lambda r: r.check))
    decision = _DECISION[worst(c.outcome for c in checks)]
    frozen_for = {
        w.campaign_id
        for w in windows
        if w.campaign_id is not None
        and w.covers(at)
        and _applies(w, request, radius, production_like)
    }
    # Outside production-like environments, revenue is at stake only where a freeze names
    # the environment: a staging deploy does not put Black Friday at risk.
    at_stake = (
        occurrences if production_like else [o for o in occurrences if o.campaign_id in frozen_for]
    )
    affected = _affected(radius, at_stake, at=at, frozen_for=frozen_for)
    next_at, note = None, None
    if decision is Decision.BLOCK:
        others = [c.check for c in checks[1:] if c.outcome is CheckOutcome.BLOCK]
        if others:
            verb = "has" if len(others) == 1 else "have"
            note = f"blocked by {', '.join(others)}, which {verb} no known end"
        else:
            blocking = blocking_windows(windows, request, radius, production_like=production_like)
            next_at = next_allowed(blocking, at=at, horizon=horizon)
            if next_at is None:
                note = f"none within {horizon.days} days"
    return Verdict(
        decision=decision,
        request=request,
        at=at,
        checks=checks,
        affected=affected,
        revenue_per_hour_at_stake=sum(a.revenue_per_hour for a in affected),
        next_allowed_at=next_at,
        next_allowed_note=note,
        overrides=_used_overrides(used, results, overrides),
    )


def _used_overrides(
    by_freeze: Sequence[Override], results: Sequence[CheckResult], overrides: Sequence[Override]
) -> tuple[Override, ...]:
    """Overrides that changed the verdict: the freeze check's, and any another check names in
    its facts (the error-budget policy takes an override as its approval)."""
    named = {r.facts.get("override") for r in results}
    extra = [o for o in overrides if o.id in named and o not in by_freeze]
    return tuple(sorted({*by_freeze, *extra}, key=lambda o: o.id))


def _affected(
    radius: Mapping[str, tuple[str, ...]],
    occurrences: Sequence[Occurrence],
    *,
    at: datetime,
    frozen_for: set[str],
) -> tuple[AffectedCampaign, ...]:
    """Campaigns the change reaches that are live at `at` or inside their freeze margin."""
    out = []
    for occ in occurrences:
        live = occ.starts_at <= at < occ.ends_at
        if not live and occ.campaign_id not in frozen_for:
            continue
        path = affected_by(radius, occ)
        if path is None:
            continue
        out.append(
            AffectedCampaign(
                campaign_id=occ.campaign_id,
                name=occ.name,
                tier=occ.tier,
                revenue_per_hour=occ.revenue_per_hour,
                currency=occ.currency,
                starts_at=occ.starts_at,
                ends_at=occ.ends_at,
                path=path,
            )
        )
    return tuple(sorted(out, key=lambda a: (a.tier, -a.revenue_per_hour, a.campaign_id)))
