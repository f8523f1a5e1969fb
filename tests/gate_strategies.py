"""Builders and Hypothesis strategies for the calendar and the deploy gate.

Builders (`an_occurrence(tier=1)`, `a_window(allow={ChangeType.HOTFIX})`, `a_request(...)`)
make the smallest valid piece of hand-made data; keyword arguments override any field.

Strategies draw whole gate scenarios: a random dependency DAG of up to 8 systems, campaign
occurrences with freeze policies, recurring/ad-hoc windows in a 30-day range with random
systems, environments and allow sets, other checks' results, overrides and an instant `at`.
Instants sit on a quarter-hour grid so that windows often touch and overlap exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from launchdeck.calendar.freeze import campaign_windows
from launchdeck.calendar.model import ChangeType, FreezeKind, FreezeWindow, Occurrence
from launchdeck.gate.decide import HORIZON, decide
from launchdeck.gate.model import CheckOutcome, CheckResult, GateRequest, Override, Verdict
from launchdeck.workspace.spec import CampaignFreezeSpec

__all__ = [
    "BASE",
    "BLACK_FRIDAY_GRAPH",
    "GateScenario",
    "a_request",
    "a_result",
    "a_window",
    "an_occurrence",
    "an_override",
    "dependency_graphs",
    "freeze_windows",
    "gate_scenarios",
    "instants",
    "outcomes",
    "quarter_hours",
    "window_lists",
]

BASE = datetime(2026, 11, 1, tzinfo=UTC)
"""Start of the 30-day range the strategies draw in."""
SPAN = timedelta(days=30)
QUARTER = timedelta(minutes=15)

BLACK_FRIDAY_GRAPH: Mapping[str, tuple[str, ...]] = {
    "cms": (),
    "tracking-pixel": (),
    "recommendations": ("tracking-pixel",),
    "search": ("cms",),
    "landing-pages": ("cms", "tracking-pixel", "recommendations", "search"),
    "checkout-api": ("tracking-pixel",),
    "crm-sync": (),
    "email-renderer": ("cms", "crm-sync"),
}
"""`depends_on` of examples/black-friday/launchdeck.yaml."""

ENVIRONMENTS = ("production", "staging")
SYSTEMS = tuple(BLACK_FRIDAY_GRAPH)
CHECKS = ("active_release", "error_budget", "open_incident")


# --- builders ---------------------------------------------------------------------------


def an_occurrence(campaign_id: str = "black-friday", **fields: Any) -> Occurrence:
    values: dict[str, Any] = {
        "campaign_id": campaign_id,
        "name": "Black Friday 2026",
        "starts_at": datetime(2026, 11, 27, 5, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 11, 29, 5, 0, tzinfo=UTC),
        "tier": 1,
        "revenue_per_hour": 185_000.0,
        "currency": "USD",
        "systems": ("landing-pages", "checkout-api"),
        **fields,
    }
    values["systems"] = tuple(values["systems"])
    return Occurrence(**values)


def a_window(window_id: str = "adhoc:w1", **fields: Any) -> FreezeWindow:
    values: dict[str, Any] = {
        "id": window_id,
        "kind": FreezeKind.ADHOC,
        "name": "payment provider incident",
        "starts_at": datetime(2026, 11, 20, 0, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 11, 21, 0, 0, tzinfo=UTC),
        "allow": frozenset({ChangeType.ROLLBACK, ChangeType.HOTFIX}),
        **fields,
    }
    for name in ("allow", "systems", "environments"):
        if name in values:
            values[name] = frozenset(values[name])
    return FreezeWindow(**values)


def a_request(system: str = "cms", **fields: Any) -> GateRequest:
    return GateRequest(system=system, **fields)


def an_override(system: str = "cms", **fields: Any) -> Override:
    values: dict[str, Any] = {
        "id": "ov1",
        "system": system,
        "starts_at": datetime(2026, 11, 26, 0, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 12, 2, 0, 0, tzinfo=UTC),
        "reason": "pricing bug on the landing page",
        "created_by": "alice",
        "created_at": datetime(2026, 11, 26, 0, 0, tzinfo=UTC),
        **fields,
    }
    return Override(**values)


def a_result(
    check: str = "active_release", outcome: CheckOutcome = CheckOutcome.PASS
) -> CheckResult:
    return CheckResult(check=check, outcome=outcome, summary=f"{check}: {outcome}")


# --- strategies -------------------------------------------------------------------------

outcomes = st.sampled_from(CheckOutcome)
_CHANGE_TYPES = tuple(ChangeType)
_change_types = st.sampled_from(_CHANGE_TYPES)
quarter_hours = st.integers(min_value=0, max_value=SPAN // QUARTER).map(
    lambda n: BASE + n * QUARTER
)
"""Instants on the quarter-hour grid of the 30-day range."""
instants = quarter_hours | st.integers(min_value=0, max_value=int(SPAN.total_seconds())).map(
    lambda s: BASE + timedelta(seconds=s)
)
"""Any second of the range, often a grid point (where windows start, end and touch)."""
_lengths = st.integers(min_value=1, max_value=5 * 24 * 4).map(lambda n: n * QUARTER)
_margins = st.integers(min_value=0, max_value=48).map(lambda h: timedelta(hours=h))


def _subset(draw: st.DrawFn, items: Sequence[Any]) -> frozenset[Any]:
    """Some of `items`, drawn as one bit mask (much faster than a set strategy); shrinks to none."""
    if not items:
        return frozenset()
    mask = draw(st.integers(min_value=0, max_value=2 ** len(items) - 1))
    return frozenset(item for bit, item in enumerate(items) if mask >> bit & 1)


def _often_empty(draw: st.DrawFn, items: Sequence[Any]) -> frozenset[Any]:
    """Empty half the time (no change type allowed, every system, every environment), so
    that drawn windows block often enough for the properties to bite."""
    return _subset(draw, items) if draw(st.booleans()) else frozenset()


@st.composite
def dependency_graphs(draw: st.DrawFn, *, max_systems: int = 8) -> dict[str, tuple[str, ...]]:
    """An acyclic `depends_on`: each system depends only on systems drawn before it."""
    systems = draw(
        st.lists(st.sampled_from(SYSTEMS), min_size=1, max_size=max_systems, unique=True)
    )
    return {
        system: tuple(sorted(_subset(draw, systems[:i]), key=systems.index))
        for i, system in enumerate(systems)
    }


@st.composite
def freeze_windows(draw: st.DrawFn, window_id: str, systems: Sequence[str]) -> FreezeWindow:
    """A recurring or ad-hoc window of up to 5 days somewhere in the range."""
    starts_at = draw(quarter_hours)
    return FreezeWindow(
        id=window_id,
        kind=draw(st.sampled_from([FreezeKind.RECURRING, FreezeKind.ADHOC])),
        name=f"freeze {window_id}",
        starts_at=starts_at,
        ends_at=starts_at + draw(_lengths),
        allow=_often_empty(draw, _CHANGE_TYPES),
        systems=_often_empty(draw, systems),
        environments=_often_empty(draw, ENVIRONMENTS),
        reason=draw(st.none() | st.just("month-end close")),
    )


def window_lists(
    systems: Sequence[str], *, prefix: str = "w", min_size: int = 0, max_size: int = 5
) -> st.SearchStrategy[list[FreezeWindow]]:
    """Recurring and ad-hoc windows with unique ids, on random subsets of `systems`."""
    return st.integers(min_value=min_size, max_value=max_size).flatmap(
        lambda n: st.tuples(*(freeze_windows(f"{prefix}{i}", systems) for i in range(n))).map(list)
    )


@st.composite
def _occurrence(draw: st.DrawFn, index: int, systems: Sequence[str]) -> Occurrence:
    starts_at = draw(quarter_hours)
    return Occurrence(
        campaign_id=f"campaign-{index}",
        name=f"Campaign {index}",
        starts_at=starts_at,
        ends_at=starts_at + draw(_lengths),
        tier=draw(st.integers(min_value=1, max_value=3)),
        revenue_per_hour=float(draw(st.integers(min_value=0, max_value=250_000))),
        currency="USD",
        systems=tuple(sorted(_subset(draw, systems))),
    )


_policies = st.builds(
    CampaignFreezeSpec,
    tier=st.integers(min_value=1, max_value=3),
    before=_margins,
    after=_margins,
    allow=st.lists(_change_types, unique=True, max_size=3).map(tuple),
    environments=st.lists(st.sampled_from(ENVIRONMENTS), unique=True).map(tuple),
)


@st.composite
def _override(draw: st.DrawFn, index: int, system: str, systems: Sequence[str]) -> Override:
    """An override, for `system` (the changed one) half the time."""
    starts_at = draw(quarter_hours)
    return Override(
        id=f"ov{index}",
        system=system if draw(st.booleans()) else draw(st.sampled_from(systems)),
        environment=draw(st.none() | st.sampled_from(ENVIRONMENTS)),
        starts_at=starts_at,
        ends_at=starts_at + draw(_lengths),
        reason="approved exception",
        created_by="alice",
        created_at=BASE,
    )


@dataclass(frozen=True)
class GateScenario:
    """Everything `decide` reads, drawn together; `verdict()` runs it."""

    request: GateRequest
    at: datetime
    depends_on: dict[str, tuple[str, ...]]
    production_like: bool
    occurrences: tuple[Occurrence, ...] = ()
    policies: tuple[CampaignFreezeSpec, ...] = ()
    extra_windows: tuple[FreezeWindow, ...] = ()
    results: tuple[CheckResult, ...] = ()
    overrides: tuple[Override, ...] = ()
    horizon: timedelta = HORIZON

    @property
    def windows(self) -> list[FreezeWindow]:
        return [*campaign_windows(self.occurrences, self.policies), *self.extra_windows]

    def verdict(self, *, windows: Sequence[FreezeWindow] | None = None, **changes: Any) -> Verdict:
        """`decide` on this scenario; keyword arguments replace fields first (`at=...`).

        `windows` replaces the whole list (campaign windows included), e.g. reordered.
        """
        scenario = replace(self, **changes) if changes else self
        return decide(
            scenario.request,
            at=scenario.at,
            depends_on=scenario.depends_on,
            production_like=scenario.production_like,
            occurrences=scenario.occurrences,
            windows=scenario.windows if windows is None else windows,
            results=scenario.results,
            overrides=scenario.overrides,
            horizon=scenario.horizon,
        )


@st.composite
def gate_scenarios(
    draw: st.DrawFn, *, others: bool = True, horizons: Sequence[timedelta] = (HORIZON,)
) -> GateScenario:
    """A random gate question over a random DAG.

    `others=False` leaves out other checks' results and overrides, so the freeze alone
    decides. Half the time `at` falls inside a drawn window, where the interesting cases are.
    """
    depends_on = draw(dependency_graphs())
    systems = list(depends_on)
    occurrences = tuple(
        draw(_occurrence(i, systems)) for i in range(draw(st.integers(min_value=0, max_value=3)))
    )
    policies = tuple(draw(st.lists(_policies, max_size=3)))
    extra_windows = tuple(draw(window_lists(systems, min_size=1)))
    request = GateRequest(
        system=draw(st.sampled_from(systems)),
        environment=draw(st.sampled_from(ENVIRONMENTS)),
        change_type=draw(_change_types),
    )
    results: tuple[CheckResult, ...] = ()
    overrides: tuple[Override, ...] = ()
    if others:
        names = draw(st.lists(st.sampled_from(CHECKS), unique=True))
        results = tuple(a_result(name, draw(outcomes)) for name in names)
        overrides = tuple(
            draw(_override(i, request.system, systems))
            for i in range(draw(st.integers(min_value=0, max_value=2)))
        )
    windows = [*campaign_windows(occurrences, policies), *extra_windows]
    at = draw(instants)
    if windows and draw(st.booleans()):
        inside = draw(st.sampled_from(windows))
        at = inside.starts_at + draw(st.floats(min_value=0, max_value=1, exclude_max=True)) * (
            inside.ends_at - inside.starts_at
        )
    return GateScenario(
        request=request,
        at=at,
        depends_on=depends_on,
        production_like=draw(st.booleans()),
        occurrences=occurrences,
        policies=policies,
        extra_windows=extra_windows,
        results=results,
        overrides=overrides,
        horizon=draw(st.sampled_from(horizons)),
    )
