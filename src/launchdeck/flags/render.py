"""Flags for people: one-line summaries, a flag's page, evaluations, splits, history, stale."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from launchdeck.cli.render import fmt_time, table
from launchdeck.flags.history import changes, describe
from launchdeck.flags.model import AllOf, AnyOf, Clause, Condition, EnvConfig, FlagSpec, Serve
from launchdeck.flags.records import FlagVersion, StoredFlag
from launchdeck.flags.requests import EvalResult
from launchdeck.flags.stale import StaleFlag

__all__ = [
    "describe_condition",
    "describe_env",
    "describe_serve",
    "print_evaluation",
    "print_flag",
    "print_history",
    "print_split",
    "print_stale",
]


def describe_condition(condition: Condition) -> str:
    if isinstance(condition, Clause):
        values = ", ".join(json.dumps(v) if not isinstance(v, str) else v for v in condition.values)
        if condition.op == "in_segment":
            return f"in segment {values}"
        return f"{condition.attribute} {condition.op} [{values}]"
    if isinstance(condition, AllOf):
        return " and ".join(f"({describe_condition(c)})" for c in condition.all)
    if isinstance(condition, AnyOf):
        return " or ".join(f"({describe_condition(c)})" for c in condition.any)
    return f"not ({describe_condition(condition.not_)})"


def describe_serve(serve: Serve) -> str:
    if serve.code_default:
        return "the code default"
    if serve.variant is not None:
        return serve.variant
    assert serve.rollout is not None
    r = serve.rollout
    split = " / ".join(f"{name} {weight:g}%" for name, weight in r.weights.items())
    coverage = f"{r.coverage:g}% of users by {r.bucket_by}"
    return f"{split} to {coverage}" if len(r.weights) > 1 else f"{split.split()[0]} to {coverage}"


def describe_env(flag: FlagSpec, config: EnvConfig) -> str:
    parts = ["on" if config.enabled else "off"]
    if config.enabled:
        if config.rules:
            parts.append(f"{len(config.rules)} rule{'s' if len(config.rules) > 1 else ''}")
        parts.append(f"else {describe_serve(config.fallthrough)}")
    pending = [c for c in config.schedule if c.done_at is None]
    if pending:
        parts.append(f"{len(pending)} scheduled")
    return ", ".join(parts)


def _when(change: Any) -> str:
    if change.at is not None:
        return fmt_time(change.at)
    offset = change.offset.total_seconds()
    shift = f" {'+' if offset >= 0 else '-'}{abs(offset) / 60:g}m" if offset else ""
    return f"{change.campaign} {change.edge}{shift}"


def print_flag(out: Console, stored: StoredFlag) -> None:
    flag = stored.spec
    out.print(
        f"[bold]{flag.key}[/] {flag.name or ''} — {flag.type.value} {flag.kind.value} flag,"
        f" version {stored.version}, {stored.managed_by.value}-managed"
        + (f", system {flag.system}" if flag.system else "")
    )
    if flag.description:
        out.print(f"  {flag.description}")
    variants = ", ".join(f"{k}={json.dumps(v)}" for k, v in flag.variants.items())
    out.print(f"  variants: {variants}; off: {flag.off_variant or 'the code default'}")
    if flag.prerequisites:
        reqs = ", ".join(
            p.flag + (f" ({'/'.join(p.variants)})" if p.variants else "")
            for p in flag.prerequisites
        )
        out.print(f"  requires: {reqs}")
    lifetime = flag.expected_lifetime()
    out.print(
        f"  lifetime: {lifetime.days} days" if lifetime else "  lifetime: permanent",
    )
    for name, config in flag.environments.items():
        out.print(f"\n  [bold]{name}[/]: {'[green]on[/]' if config.enabled else '[red]off[/]'}")
        for i, rule in enumerate(config.rules):
            label = f" {rule.name}" if rule.name else ""
            when, serve = describe_condition(rule.when), describe_serve(rule.serve)
            out.print(escape(f"    rule {i}{label}: if {when} → {serve}"))
        out.print(f"    otherwise → {describe_serve(config.fallthrough)}")
        for i, change in enumerate(config.schedule):
            done = f" [dim](taken in {fmt_time(change.done_at)})[/]" if change.done_at else ""
            what = json.dumps(change.set.model_dump(mode="json", exclude_none=True))
            out.print(escape(f"    [{i}] at {_when(change)}: {what}") + done)


def print_evaluation(out: Console, result: EvalResult, context: Mapping[str, Any]) -> None:
    shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in context.items()) or "(empty)"
    out.print(f"{result.environment} as of {result.at}, context {shown}")
    rows = []
    for key, answer in result.results.items():
        value = "(code default)" if answer.get("code_default") else json.dumps(answer.get("value"))
        why = answer.get("reason", "")
        if answer.get("error_code"):
            why += f" {answer['error_code']}"
        meta = answer.get("metadata") or {}
        if meta:
            why += " " + ", ".join(f"{k}={v}" for k, v in meta.items())
        rows.append((key, value, answer.get("variant") or "-", why))
    out.print(table(None, ["flag", "value", "variant", "reason"], rows))


def print_split(out: Console, split: Mapping[str, Mapping[str, int]], n: int) -> None:
    rows = []
    for key, counts in split.items():
        for variant, count in counts.items():
            bar = "█" * round(40 * count / n)
            rows.append((key, variant, f"{count:,}", f"{100 * count / n:.2f}%", bar))
    out.print(table(f"Split over {n:,} users", ["flag", "variant", "users", "share", ""], rows))


def print_history(out: Console, versions: Sequence[FlagVersion]) -> None:
    previous: dict[str, Any] | None = None
    for version in versions:
        out.print(
            f"[bold]v{version.version}[/] {version.action.value} by {version.actor} "
            f"at {fmt_time(version.at)}" + (f" — {version.comment}" if version.comment else "")
        )
        if previous is not None:
            folded = _folded(previous, version.definition)
            for line in describe(changes(previous, version.definition)):
                if not any(line.startswith(f"environments.{env}.schedule:") for env in folded):
                    out.print(escape(f"    {line}"))
            for lines in folded.values():
                for line in lines:
                    out.print(escape(f"    {line}"))
        previous = version.definition


def _folded(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """Per environment, the scheduled changes that had fired and that this version took into
    the configuration (a person's change made after them), said as such rather than as an
    opaque change of the schedule list."""
    found: dict[str, list[str]] = {}
    old_envs = before.get("environments") or {}
    for env, config in (after.get("environments") or {}).items():
        old_config = old_envs.get(env) or {}
        served = old_config.get("enabled")
        old = old_config.get("schedule") or []
        for i, (was, now) in enumerate(zip(old, config.get("schedule") or [], strict=False)):
            if was.get("done_at") is None and now.get("done_at") is not None:
                when = f"{now['campaign']} {now['edge']}" if now.get("campaign") else now["at"]
                what = json.dumps({k: v for k, v in now["set"].items() if v is not None})
                found.setdefault(env, []).append(
                    f"environments.{env}.schedule[{i}] ({when}: {what}) had fired; "
                    "taken into the configuration"
                )
                if now["set"].get("enabled") is not None:
                    served = now["set"]["enabled"]
        if env in found and served != config.get("enabled") and served is not None:
            found[env].append(
                f"environments.{env}.enabled: {json.dumps(served)} (as scheduled) → "
                f"{json.dumps(config.get('enabled'))}"
            )
    return found


def print_stale(out: Console, report: Sequence[StaleFlag]) -> None:
    if not report:
        out.print("[green]✓[/] no stale flags")
        return
    rows = [(s.key, s.kind, s.reason, s.suggestion) for s in report]
    out.print(table("Stale flags", ["flag", "kind", "why", "what to do"], rows))
