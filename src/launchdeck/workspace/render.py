"""Rich renderings of plans and workspace resources (shared by plan, apply and the reads)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from launchdeck.workspace.plan import Action, Plan, ResourceChange

__all__ = ["plan_summary", "print_plan"]

_SIGN = {Action.ADD: ("+", "green"), Action.CHANGE: ("~", "yellow"), Action.REMOVE: ("-", "red")}


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _label(change: ResourceChange) -> str:
    body = change.after or change.before or {}
    name = body.get("name")
    if change.kind == "workspace":
        return f"workspace {name}"
    return f"{change.kind} {change.id}" + (f"  ({name})" if name and name != change.id else "")


def plan_summary(plan: Plan, *, done: bool = False) -> str:
    """`2 to add, 1 to change, 0 to remove`, or `2 added, …` once applied."""
    counts = plan.counts()
    verbs = ("added", "changed", "removed") if done else ("to add", "to change", "to remove")
    return ", ".join(
        f"{counts[action]} {verb}"
        for action, verb in zip((Action.ADD, Action.CHANGE, Action.REMOVE), verbs, strict=True)
    )


def print_plan(out: Console, plan: Plan, *, target: str) -> None:
    """Terraform-style: one line per resource, one per changed field."""
    if not plan.has_changes:
        out.print(
            f"No changes: {escape(target)} (revision {plan.base_revision}) matches the workspace."
        )
        return
    out.print(f"Plan against revision {plan.base_revision} of {escape(target)}:\n")
    for change in plan.changes:
        sign, colour = _SIGN[change.action]
        out.print(f"  [{colour}]{sign} {escape(_label(change))}[/]")
        for field in change.fields:
            out.print(
                f"      {escape(field.field)}: [red]{escape(_value(field.before))}[/] → "
                f"[green]{escape(_value(field.after))}[/]"
            )
    out.print(f"\nPlan: {plan_summary(plan)}.")
