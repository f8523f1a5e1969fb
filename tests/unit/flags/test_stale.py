"""stale.py: which flags are done, why, and what to do about them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from launchdeck.flags.model import FlagKind, FlagSpec
from launchdeck.flags.records import ManagedBy, StoredFlag
from launchdeck.flags.stale import SETTLE, StaleFlag, StaleReason, stale_report

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ENVS = ("staging", "production")
SERVES_ON = {"enabled": True, "fallthrough": {"variant": "on"}}
OFF = {"enabled": False}
A_RULE = {
    "when": {"attribute": "country", "op": "in", "values": ["US"]},
    "serve": {"variant": "on"},
}


def stored(
    key: str = "new-checkout",
    *,
    age: timedelta = timedelta(days=30),
    unchanged: timedelta | None = None,
    environments: Mapping[str, Any] | None = None,
    archived: bool = False,
    **spec: Any,
) -> StoredFlag:
    """A flag created `age` ago and last written `unchanged` ago (default: at creation),
    served `on` to everybody in staging and production unless `environments` says otherwise."""
    envs = environments if environments is not None else {e: SERVES_ON for e in ENVS}
    changed = NOW - (unchanged if unchanged is not None else age)
    return StoredFlag(
        spec=FlagSpec.model_validate({"key": key, **spec, "environments": dict(envs)}),
        version=3,
        managed_by=ManagedBy.API,
        created_at=NOW - age,
        created_by="alice",
        updated_at=changed,
        updated_by="alice",
        archived_at=NOW if archived else None,
    )


def report(
    *flags: StoredFlag, last_changed: Mapping[str, datetime] | None = None
) -> list[StaleFlag]:
    return stale_report(flags, now=NOW, last_changed=last_changed or {}, environments=ENVS)


def reasons(*flags: StoredFlag) -> list[tuple[str, StaleReason]]:
    return [(s.key, s.reason) for s in report(*flags)]


def test_a_release_serving_one_variant_everywhere_is_fully_rolled_out() -> None:
    (found,) = report(stored(age=timedelta(days=8)))

    assert found == StaleFlag(
        key="new-checkout",
        kind=FlagKind.RELEASE,
        reason=StaleReason.FULLY_ROLLED_OUT,
        age=timedelta(days=8),
        unchanged_for=timedelta(days=8),
        lifetime=timedelta(days=40),
        suggestion="remove the flag and keep the 'on' code path",
        variant="on",
    )


@pytest.mark.parametrize(
    "age,expected",
    [
        (SETTLE, []),
        (SETTLE + timedelta(seconds=1), [("new-checkout", StaleReason.FULLY_ROLLED_OUT)]),
    ],
    ids=["exactly seven days old is not yet", "a second later it is"],
)
def test_fully_rolled_out_needs_the_flag_older_than_seven_days(
    age: timedelta, expected: list[tuple[str, StaleReason]]
) -> None:
    assert reasons(stored(age=age)) == expected


FULL_ROLLOUT = {"enabled": True, "fallthrough": {"rollout": {"weights": {"on": 100, "off": 0}}}}
NOT_FULLY_ROLLED_OUT = {
    "a rule in one environment": {"production": {**SERVES_ON, "rules": [A_RULE]}},
    "a 50/50 rollout": {
        "production": {
            "enabled": True,
            "fallthrough": {"rollout": {"weights": {"on": 50, "off": 50}}},
        }
    },
    "a rollout covering 99.999 %": {
        "production": {
            "enabled": True,
            "fallthrough": {"rollout": {"coverage": 99.999, "weights": {"on": 100}}},
        }
    },
    "a pending scheduled change": {
        "production": {
            **SERVES_ON,
            "schedule": [{"at": "2026-04-01T00:00:00Z", "set": {"enabled": False}}],
        }
    },
    "another variant in staging": {
        "production": SERVES_ON,
        "staging": {"enabled": True, "fallthrough": {"variant": "off"}},
    },
    "the code default": {"production": {"enabled": True, "fallthrough": {"code_default": True}}},
}


@pytest.mark.parametrize(
    "environments", list(NOT_FULLY_ROLLED_OUT.values()), ids=list(NOT_FULLY_ROLLED_OUT)
)
def test_a_flag_that_still_discriminates_is_not_fully_rolled_out(
    environments: Mapping[str, Any],
) -> None:
    assert reasons(stored(environments=environments)) == []


FULLY_ROLLED_OUT = {
    "a full rollout with one weight at 100 %": {e: FULL_ROLLOUT for e in ENVS},
    "a scheduled change already taken in": {
        "production": {
            **SERVES_ON,
            "schedule": [
                {
                    "at": "2026-01-01T00:00:00Z",
                    "set": {"enabled": True},
                    "done_at": "2026-01-02T00:00:00Z",
                }
            ],
        }
    },
}


@pytest.mark.parametrize(
    "environments", list(FULLY_ROLLED_OUT.values()), ids=list(FULLY_ROLLED_OUT)
)
def test_fully_rolled_out_forms(environments: Mapping[str, Any]) -> None:
    (found,) = report(stored(environments=environments))

    assert (found.reason, found.variant) == (StaleReason.FULLY_ROLLED_OUT, "on")


def test_a_flag_still_off_in_one_environment_is_not_fully_rolled_out() -> None:
    # Off in staging may be a kill switch: someone still wants the other path there.
    flag = stored(environments={"production": SERVES_ON, "staging": OFF})

    assert StaleReason.FULLY_ROLLED_OUT not in {reason for _, reason in reasons(flag)}


def test_a_flag_with_prerequisites_is_not_fully_rolled_out() -> None:
    assert reasons(stored(prerequisites=[{"flag": "other"}])) == []


@pytest.mark.parametrize("kind", ["ops", "permission"])
def test_permanent_flags_are_never_stale(kind: str) -> None:
    flag = stored(kind=kind, age=timedelta(days=2000))

    assert reasons(flag) == []


def test_an_ops_flag_with_a_lifetime_set_is_stale_past_it() -> None:
    flag = stored(
        kind="ops",
        lifetime="30d",
        age=timedelta(days=31),
        environments={"production": {**SERVES_ON, "rules": [A_RULE]}},
    )

    assert reasons(flag) == [("new-checkout", StaleReason.UNCHANGED)]


@pytest.mark.parametrize(
    "unchanged,expected",
    [
        (timedelta(days=40), []),
        (timedelta(days=40, seconds=1), [("new-checkout", StaleReason.UNCHANGED)]),
    ],
    ids=["exactly its lifetime is not stale", "a second past it is"],
)
def test_a_release_unchanged_past_its_lifetime_is_stale(
    unchanged: timedelta, expected: list[tuple[str, StaleReason]]
) -> None:
    flag = stored(
        age=timedelta(days=90),
        unchanged=unchanged,
        environments={"production": {**SERVES_ON, "rules": [A_RULE]}},
    )

    assert reasons(flag) == expected


def test_an_experiment_lives_sixty_days() -> None:
    rules = {"production": {**SERVES_ON, "rules": [A_RULE]}}
    young = stored("young", kind="experiment", age=timedelta(days=60), environments=rules)
    old = stored("old", kind="experiment", age=timedelta(days=61), environments=rules)

    assert reasons(young, old) == [("old", StaleReason.UNCHANGED)]


def test_a_flag_off_everywhere_past_its_lifetime_suggests_keeping_the_off_path() -> None:
    flag = stored(age=timedelta(days=41), environments={"production": OFF})

    (found,) = report(flag)

    assert found.reason is StaleReason.OFF_EVERYWHERE
    assert found.suggestion == (
        "remove the flag and keep the 'off' code path: nobody gets the other one"
    )


def test_off_everywhere_without_an_off_variant_suggests_the_default_path() -> None:
    flag = stored(age=timedelta(days=41), environments={}, off_variant=None)

    (found,) = report(flag)

    assert found.reason is StaleReason.OFF_EVERYWHERE
    assert "keep the default code path" in found.suggestion


def test_a_flag_off_everywhere_within_its_lifetime_is_not_stale() -> None:
    assert reasons(stored(age=timedelta(days=39), environments={"production": OFF})) == []


def test_last_changed_overrides_the_stored_update_time() -> None:
    flag = stored(
        age=timedelta(days=100),
        unchanged=timedelta(days=100),
        environments={"production": {**SERVES_ON, "rules": [A_RULE]}},
    )

    found = report(flag, last_changed={"new-checkout": NOW - timedelta(days=3)})

    assert found == []


def test_archived_flags_are_skipped() -> None:
    assert reasons(stored(archived=True)) == []


def test_the_report_lists_the_longest_unchanged_first() -> None:
    rules = {"production": {**SERVES_ON, "rules": [A_RULE]}}
    flags = [
        stored("b-recent", age=timedelta(days=10)),
        stored("a-old", age=timedelta(days=300), environments=rules),
        stored("c-older", age=timedelta(days=400), environments={"production": OFF}),
        stored("d-recent", age=timedelta(days=10)),
    ]

    assert reasons(*flags) == [
        ("c-older", StaleReason.OFF_EVERYWHERE),
        ("a-old", StaleReason.UNCHANGED),
        ("b-recent", StaleReason.FULLY_ROLLED_OUT),
        ("d-recent", StaleReason.FULLY_ROLLED_OUT),
    ]
