"""The gate's active_release decision (`rollout.gate.evaluate`), pure: no release in progress
passes; one in progress blocks a change that ships code or content, warns on a flag or
reliability change and lets a rollback through. Input -> outcome, summary and facts, on
hand-built releases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import CheckOutcome, CheckResult, GateRequest
from launchdeck.rollout.gate import CHECK, evaluate
from launchdeck.rollout.record import ReleaseRecord
from launchdeck.rollout.release import Phase, Release
from launchdeck.rollout.strategy import default_strategy

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def a_request(change: ChangeType = ChangeType.FEATURE) -> GateRequest:
    return GateRequest(system="landing-pages", environment="production", change_type=change)


def an_active(
    *,
    release_id: int = 42,
    version: str = "v2.3.0",
    phase: Phase = Phase.PROGRESSING,
    step: int = 1,
    weight: float = 10.0,
    kind: str = "canary",
) -> ReleaseRecord:
    """A release of landing-pages in production, in progress as told."""
    strategy = default_strategy("blue-green" if kind == "blue-green" else "canary")
    release = Release(
        "landing-pages",
        "production",
        version,
        "v2.2.0",
        strategy,
        phase=phase,
        step=step,
        weight=weight,
        reason="started",
    )
    return ReleaseRecord(
        id=release_id,
        release=release,
        target={"kind": "nginx-static"},
        artifact="/builds/v2.3.0",
        change_type="feature",
        created_by="ci",
        created_at=T0,
        updated_at=T0,
    )


def test_with_no_release_in_progress_every_change_passes_and_says_so() -> None:
    results = [evaluate(a_request(change), None) for change in ChangeType]

    assert {r.outcome for r in results} == {CheckOutcome.PASS}
    assert {r.check for r in results} == {"active_release"}
    assert {r.summary for r in results} == {"no release in progress on landing-pages in production"}
    assert all(r.facts == {} for r in results)


@pytest.mark.parametrize(
    "change",
    [ChangeType.FEATURE, ChangeType.HOTFIX, ChangeType.CONFIG, ChangeType.CONTENT],
    ids=[
        "a feature is blocked",
        "a hotfix is blocked",
        "a config change is blocked",
        "a content change is blocked",
    ],
)
def test_a_change_that_ships_code_or_content_is_blocked_while_a_release_runs(
    change: ChangeType,
) -> None:
    result = evaluate(a_request(change), an_active(release_id=42, step=1, weight=10))

    assert (result.check, result.outcome) == (CHECK, CheckOutcome.BLOCK)
    assert result.summary == (
        "release #42 of landing-pages v2.3.0 is progressing (step 2, 10 % on the canary): "
        "one release at a time; promote or abort it first"
    )


@pytest.mark.parametrize(
    "change",
    [ChangeType.FLAG, ChangeType.RELIABILITY],
    ids=["a flag change warns", "a reliability change warns"],
)
def test_a_flag_or_reliability_change_is_let_through_with_a_warning(change: ChangeType) -> None:
    result = evaluate(a_request(change), an_active(release_id=7, step=2, weight=50))

    assert result.outcome is CheckOutcome.WARN
    assert result.summary == (
        "release #7 of landing-pages v2.3.0 is progressing (step 3, 50 % on the canary): "
        f"a {change.value} change now muddies its analysis"
    )


def test_a_rollback_is_always_allowed_and_still_names_the_release() -> None:
    result = evaluate(a_request(ChangeType.ROLLBACK), an_active(release_id=9, weight=10))

    assert result.outcome is CheckOutcome.PASS
    assert result.summary == (
        "release #9 of landing-pages v2.3.0 is progressing (step 2, 10 % on the canary); "
        "a rollback is always allowed"
    )


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        (ChangeType.ROLLBACK, CheckOutcome.PASS),
        (ChangeType.HOTFIX, CheckOutcome.BLOCK),
        (ChangeType.CONTENT, CheckOutcome.BLOCK),
        (ChangeType.CONFIG, CheckOutcome.BLOCK),
        (ChangeType.FLAG, CheckOutcome.WARN),
        (ChangeType.FEATURE, CheckOutcome.BLOCK),
        (ChangeType.RELIABILITY, CheckOutcome.WARN),
    ],
    ids=["rollback", "hotfix", "content", "config", "flag", "feature", "reliability"],
)
def test_every_change_type_has_its_outcome_while_a_release_runs(
    change: ChangeType, outcome: CheckOutcome
) -> None:
    assert evaluate(a_request(change), an_active()).outcome is outcome


def test_the_facts_carry_the_release_id_version_phase_and_weight() -> None:
    result = evaluate(a_request(), an_active(release_id=42, phase=Phase.PAUSED, weight=50))

    assert result.facts == {"release": 42, "version": "v2.3.0", "phase": "paused", "weight": 50.0}
    assert type(result.facts["phase"]) is str  # plain text on the wire, not the enum
    assert CheckResult.model_validate_json(result.model_dump_json()) == result


def test_a_paused_release_is_named_by_its_phase_in_words() -> None:
    result = evaluate(a_request(), an_active(phase=Phase.PAUSED, step=1, weight=10))

    assert result.outcome is CheckOutcome.BLOCK
    assert "is paused (step 2, 10 % on the canary)" in result.summary


def test_a_pending_release_has_no_weight_in_its_summary() -> None:
    result = evaluate(a_request(), an_active(phase=Phase.PENDING, step=0, weight=0))

    assert result.outcome is CheckOutcome.BLOCK
    assert result.summary.startswith("release #42 of landing-pages v2.3.0 is pending (step 1):")
    assert "%" not in result.summary
    assert result.facts["weight"] == 0


def test_a_blue_green_release_is_named_as_such_rather_than_by_step() -> None:
    active = an_active(kind="blue-green", step=1, weight=0)

    result = evaluate(a_request(), active)

    assert result.summary.startswith(
        "release #42 of landing-pages v2.3.0 is progressing (blue-green):"
    )
    assert "step" not in result.summary


def test_a_fractional_weight_is_shown_without_trailing_zeros() -> None:
    active = an_active(weight=12.5)

    result = evaluate(a_request(), active)

    assert "(step 2, 12.5 % on the canary)" in result.summary
    assert result.facts["weight"] == pytest.approx(12.5)
