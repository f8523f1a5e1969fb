"""history.py: the field-level changes between two versions of a flag, and their one-liners."""

from __future__ import annotations

from typing import Any

from launchdeck.flags.history import FieldChange, changes, describe
from launchdeck.flags.model import FlagSpec

RULE = {"when": {"attribute": "country", "op": "in", "values": ["US"]}, "serve": {"variant": "on"}}


def definition(**production: Any) -> dict[str, Any]:
    """A flag's stored definition (`FlagSpec.document()`) with `production` configured."""
    spec = FlagSpec.model_validate(
        {"key": "new-checkout", "environments": {"production": production}}
    )
    return spec.document()


def lines(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    return describe(changes(before, after))


def test_identical_versions_have_no_changes() -> None:
    assert changes(definition(enabled=True), definition(enabled=True)) == []


def test_turning_a_flag_on_is_one_field() -> None:
    before, after = definition(enabled=False), definition(enabled=True)

    assert changes(before, after) == [
        FieldChange(field="environments.production.enabled", before=False, after=True)
    ]
    assert lines(before, after) == ["environments.production.enabled: false → true"]


def test_a_list_change_is_summarised_by_its_length() -> None:
    assert lines(definition(rules=[RULE]), definition(rules=[RULE, RULE])) == [
        "environments.production.rules: 1 rule → 2 rules"
    ]
    assert lines(definition(), definition(rules=[RULE])) == [
        "environments.production.rules: 0 rules → 1 rule"
    ]


def test_a_list_changed_in_place_says_so() -> None:
    other = {**RULE, "serve": {"variant": "off"}}

    assert lines(definition(rules=[RULE]), definition(rules=[other])) == [
        "environments.production.rules: 1 rule changed"
    ]


def test_nested_fields_are_named_by_their_path() -> None:
    before = definition(enabled=True, fallthrough={"rollout": {"weights": {"on": 10, "off": 90}}})
    after = definition(enabled=True, fallthrough={"rollout": {"weights": {"on": 50, "off": 50}}})

    assert lines(before, after) == [
        "environments.production.fallthrough.rollout.weights.off: 90.0 → 50.0",
        "environments.production.fallthrough.rollout.weights.on: 10.0 → 50.0",
    ]


def test_a_serve_switching_shape_shows_what_is_unset() -> None:
    before = definition(fallthrough={"variant": "off"})
    after = definition(fallthrough={"code_default": True})

    assert lines(before, after) == [
        "environments.production.fallthrough.code_default: false → true",
        'environments.production.fallthrough.variant: "off" → unset',
    ]


def test_an_environment_added_or_removed_is_one_line() -> None:
    one = definition(enabled=True)
    two = {
        **one,
        "environments": {**one["environments"], "staging": one["environments"]["production"]},
    }

    assert lines(one, two) == ["environments.staging: added"]
    assert lines(two, one) == ["environments.staging: removed"]


def test_a_created_flag_lists_every_field_from_unset() -> None:
    after = definition(enabled=True)

    found = changes(None, after)

    # Fields unset on both sides (no name, no lifetime …) are no change.
    assert [c.field for c in found] == sorted(k for k, v in after.items() if v is not None)
    assert all(c.before is None for c in found)
    assert 'key: unset → "new-checkout"' in describe(found)


def test_a_deleted_flag_lists_every_field_to_unset() -> None:
    before = definition()

    set_fields = [k for k, v in before.items() if v is not None]
    assert [c.after for c in changes(before, None)] == [None] * len(set_fields)


def test_long_values_are_cut() -> None:
    before = {"description": ""}
    after = {"description": "x" * 200}

    (line,) = lines(before, after)

    assert line.startswith('description: "" → "xxx')
    assert line.endswith("…")
    assert len(line) < 120
