"""What `apply` would change: a pure diff of the desired model against the stored one."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from launchdeck.workspace.model import DesiredState, ResourceKind

__all__ = ["Action", "FieldChange", "Plan", "ResourceChange", "diff", "diff_fields"]


class Action(StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldChange(_Frozen):
    field: str
    """Dotted path of the field inside the resource (`environments.production.url`)."""
    before: JsonValue = None
    after: JsonValue = None


class ResourceChange(_Frozen):
    kind: ResourceKind
    id: str
    action: Action
    fields: tuple[FieldChange, ...] = ()
    before: dict[str, JsonValue] | None = None
    after: dict[str, JsonValue] | None = None


class Plan(_Frozen):
    """The changes that take the stored state at `base_revision` to the desired state."""

    base_revision: int
    changes: tuple[ResourceChange, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[Action, int]:
        """How many resources each action touches (every action present, zero included)."""
        out = dict.fromkeys(Action, 0)
        for change in self.changes:
            out[change.action] += 1
        return out


_MISSING: Any = object()


def diff_fields(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ""
) -> list[FieldChange]:
    """Field-level changes between two JSON objects; nested objects recurse, lists compare whole."""
    changes: list[FieldChange] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        name = f"{prefix}{key}"
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes += diff_fields(old, new, prefix=f"{name}.")
        elif old != new:
            changes.append(
                FieldChange(
                    field=name,
                    before=None if old is _MISSING else old,
                    after=None if new is _MISSING else new,
                )
            )
    return changes


def diff(desired: DesiredState, current: DesiredState, *, base_revision: int) -> Plan:
    """The plan from `current` to `desired`: adds, field changes and removals, kind by kind.

    A desired state without a `workspace` section never removes the stored one.
    """
    want, have = desired.resources(), current.resources()
    changes: list[ResourceChange] = []
    for kind in ResourceKind:
        wanted, stored = want[kind], have[kind]
        if kind is ResourceKind.WORKSPACE and not wanted:
            continue
        for rid in sorted(set(wanted) | set(stored)):
            new, old = wanted.get(rid), stored.get(rid)
            if old is None and new is not None:
                changes.append(ResourceChange(kind=kind, id=rid, action=Action.ADD, after=new))
            elif new is None and old is not None:
                changes.append(ResourceChange(kind=kind, id=rid, action=Action.REMOVE, before=old))
            elif new is not None and old is not None and new != old:
                changes.append(
                    ResourceChange(
                        kind=kind,
                        id=rid,
                        action=Action.CHANGE,
                        fields=tuple(diff_fields(old, new)),
                        before=old,
                        after=new,
                    )
                )
    return Plan(base_revision=base_revision, changes=tuple(changes))
