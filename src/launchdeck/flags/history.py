"""What changed between two versions of a flag, field by field. Pure.

Versions store the whole definition (`FlagSpec.document()`), so a change is the field-level
diff of two documents (`workspace.plan.diff_fields`): nested objects recurse, lists (rules,
schedule, tags …) compare whole and are described by their length.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from launchdeck.workspace.plan import FieldChange, diff_fields

__all__ = ["FieldChange", "changes", "describe"]

_NOUNS: Final = {
    "rules": ("rule", "rules"),
    "schedule": ("scheduled change", "scheduled changes"),
    "tags": ("tag", "tags"),
    "prerequisites": ("prerequisite", "prerequisites"),
    "values": ("value", "values"),
    "variants": ("variant", "variants"),
}
_LONGEST: Final = 80


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[FieldChange]:
    """The changed fields from `before` to `after`; None stands for "no version" (created,
    or deleted), so every field of the other side is a change."""
    return [c for c in diff_fields(before or {}, after or {}) if c.before != c.after]


def describe(field_changes: Sequence[FieldChange]) -> list[str]:
    """One line per change: `environments.production.enabled: false → true`,
    `environments.production.rules: 1 rule → 2 rules`."""
    return [_line(change) for change in field_changes]


def _line(change: FieldChange) -> str:
    old, new = change.before, change.after
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return f"{change.field}: {_show(change.field, new)} changed"
    if isinstance(new, dict) and old is None:
        return f"{change.field}: added"
    if isinstance(old, dict) and new is None:
        return f"{change.field}: removed"
    return f"{change.field}: {_show(change.field, old)} → {_show(change.field, new)}"


def _show(field: str, value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list):
        one, many = _NOUNS.get(field.rsplit(".", 1)[-1], ("item", "items"))
        return f"{len(value)} {one if len(value) == 1 else many}"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"
