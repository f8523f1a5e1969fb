"""The gate's data: the closed outcome ranking, `worst`, and the request/verdict wire shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gate_strategies import a_request, outcomes
from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import (
    _RANK,
    CheckOutcome,
    CheckResult,
    Decision,
    GateRequest,
    Verdict,
    worst,
)
from strategies import property_settings

PASS, UNKNOWN, WARN, BLOCK = (
    CheckOutcome.PASS,
    CheckOutcome.UNKNOWN,
    CheckOutcome.WARN,
    CheckOutcome.BLOCK,
)


def test_the_ranking_is_closed_over_every_outcome() -> None:
    assert set(_RANK) == set(CheckOutcome)
    assert len(_RANK) == len(CheckOutcome)


def test_the_ranking_runs_from_pass_through_unknown_and_warn_to_block() -> None:
    assert _RANK == (PASS, UNKNOWN, WARN, BLOCK)


@pytest.mark.parametrize(
    ("given_outcomes", "expected"),
    [
        ((), PASS),
        ((PASS,), PASS),
        ((PASS, UNKNOWN), UNKNOWN),
        ((UNKNOWN, WARN), WARN),
        ((WARN, PASS, UNKNOWN), WARN),
        ((PASS, BLOCK, WARN), BLOCK),
        ((BLOCK, BLOCK), BLOCK),
    ],
    ids=[
        "no outcomes is a pass",
        "a single pass is a pass",
        "an unknown outranks a pass",
        "a warning outranks an unknown",
        "the order does not matter",
        "a block outranks everything",
        "two blocks are a block",
    ],
)
def test_worst_picks_the_worst_outcome(
    given_outcomes: tuple[CheckOutcome, ...], expected: CheckOutcome
) -> None:
    assert worst(given_outcomes) is expected


def test_worst_accepts_any_iterable_once() -> None:
    assert worst(o for o in (PASS, WARN, UNKNOWN)) is WARN


def test_an_outcome_outside_the_ranking_is_refused_not_ranked_best() -> None:
    with pytest.raises(ValueError, match=r"x not in tuple"):
        worst([PASS, "fail"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (CheckOutcome, ["pass", "unknown", "warn", "block"]),
        (Decision, ["allow", "warn", "block"]),
        (ChangeType, ["rollback", "hotfix", "content", "config", "flag", "feature", "reliability"]),
    ],
    ids=["check outcomes", "decisions", "change types"],
)
def test_wire_values_are_stable_lower_snake_strings(enum: Any, values: list[str]) -> None:
    assert [member.value for member in enum] == values


def test_a_request_defaults_to_a_feature_in_production_now() -> None:
    request = GateRequest(system="cms")
    assert (request.environment, request.change_type, request.at) == (
        "production",
        ChangeType.FEATURE,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"system": "CMS"}, "system"),
        ({"system": "-cms"}, "system"),
        ({"system": "cms", "environment": "prod env"}, "environment"),
        ({"system": "cms", "change_type": "deploy"}, "change_type"),
        ({"system": "cms", "at": datetime(2026, 11, 27, 12)}, "at"),
        ({"system": "cms", "reason": "because"}, "reason"),
    ],
    ids=[
        "an upper-case system id",
        "a system id starting with a dash",
        "an environment id with a space",
        "an unknown change type",
        "a naive time (it would be ambiguous)",
        "an unknown field",
    ],
)
def test_a_malformed_request_is_refused_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        GateRequest.model_validate(fields)
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]


def test_a_verdict_round_trips_through_json() -> None:
    verdict = Verdict(
        decision=Decision.BLOCK,
        request=a_request("cms", at=datetime(2026, 11, 27, 12, tzinfo=UTC)),
        at=datetime(2026, 11, 27, 12, tzinfo=UTC),
        checks=(
            CheckResult(
                check="freeze_window",
                outcome=BLOCK,
                summary="campaign freeze",
                facts={"windows": 1, "until": "2026-12-01T05:00:00+00:00"},
            ),
        ),
        next_allowed_at=datetime(2026, 12, 1, 5, tzinfo=UTC),
    )
    assert Verdict.model_validate_json(verdict.model_dump_json()) == verdict


# --- properties of worst ----------------------------------------------------------------

outcome_lists = st.lists(outcomes, max_size=8)


@property_settings(max_examples=100)
@given(a=outcomes, b=outcomes)
def test_worst_is_commutative(a: CheckOutcome, b: CheckOutcome) -> None:
    assert worst([a, b]) is worst([b, a])


@property_settings(max_examples=100)
@given(a=outcomes, b=outcomes, c=outcomes)
def test_worst_is_associative(a: CheckOutcome, b: CheckOutcome, c: CheckOutcome) -> None:
    assert worst([worst([a, b]), c]) is worst([a, worst([b, c])]) is worst([a, b, c])


@property_settings(max_examples=100)
@given(items=outcome_lists)
def test_worst_is_idempotent(items: list[CheckOutcome]) -> None:
    assert worst(items + items) is worst(items)
    assert worst([worst(items), worst(items)]) is worst(items)


@property_settings(max_examples=150)
@given(items=outcome_lists, data=st.data())
def test_worst_does_not_depend_on_order_and_is_one_of_its_inputs(
    items: list[CheckOutcome], data: st.DataObject
) -> None:
    assert worst(data.draw(st.permutations(items))) is worst(items)
    assert worst(items) in ([*items] or [PASS])
    assert all(_RANK.index(worst(items)) >= _RANK.index(o) for o in items)


@property_settings(max_examples=150)
@given(items=outcome_lists, data=st.data())
def test_a_counted_block_is_never_hidden(items: list[CheckOutcome], data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(items)))
    assert worst([*items[:position], BLOCK, *items[position:]]) is BLOCK
