"""Checks across flags and segments, made at write time so evaluation never meets them. Pure.

Unknown prerequisites, segments, environments and campaigns, prerequisite and segment cycles,
and every clause whose values an operator refuses (a regex RE2 cannot run, a bad CIDR, a date
that is not one) are reported together, each with the path of the offending value, which the
workspace loader turns into file:line:column and the API into a field path.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from launchdeck.flags.model import AllOf, AnyOf, Clause, Condition, FlagSpec, NotOf, SegmentSpec
from launchdeck.flags.operators import OperatorError, compile_predicate

__all__ = ["FlagProblem", "check_flags", "find_cycle", "segments_used"]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FlagProblem:
    path: Path
    message: str
    hint: str | None = None

    @property
    def where(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as a closed walk ([a, b, a]), or None; unknown nodes are ignored."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def _parts(where: str) -> Path:
    """`values[1]` or `op` (an operator error's place inside its clause) as path parts."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_]+)|\[(\d+)\]", where):
        parts.append(name if name else int(index))
    return tuple(parts)


def _clauses(condition: Condition, path: Path) -> Iterable[tuple[Clause, Path]]:
    if isinstance(condition, Clause):
        yield condition, path
    elif isinstance(condition, AllOf):
        for i, c in enumerate(condition.all):
            yield from _clauses(c, (*path, "all", i))
    elif isinstance(condition, AnyOf):
        for i, c in enumerate(condition.any):
            yield from _clauses(c, (*path, "any", i))
    elif isinstance(condition, NotOf):
        yield from _clauses(condition.not_, (*path, "not"))


def _conditions(flag: FlagSpec) -> Iterable[tuple[Condition, Path]]:
    for env, config in flag.environments.items():
        for i, rule in enumerate(config.rules):
            yield rule.when, ("environments", env, "rules", i, "when")
        for j, change in enumerate(config.schedule):
            for i, rule in enumerate(change.set.rules or ()):
                yield rule.when, ("environments", env, "schedule", j, "set", "rules", i, "when")


def segments_used(flag: FlagSpec) -> set[str]:
    """The segments `flag`'s rules (scheduled ones included) name."""
    return {
        str(value)
        for condition, _ in _conditions(flag)
        for clause, _ in _clauses(condition, ())
        if clause.op == "in_segment"
        for value in clause.values
    }


def _check_clauses(
    conditions: Iterable[tuple[Condition, Path]],
    segments: Collection[str],
    base: Path,
) -> tuple[list[FlagProblem], set[str]]:
    problems: list[FlagProblem] = []
    used: set[str] = set()
    for condition, path in conditions:
        for clause, where in _clauses(condition, path):
            full = (*base, *where)
            if clause.op == "in_segment":
                for i, value in enumerate(clause.values):
                    name = str(value)
                    used.add(name)
                    if name not in segments:
                        problems.append(
                            FlagProblem(
                                (*full, "values", i),
                                f"unknown segment {name!r}",
                                _suggest(name, segments) or "declare it under 'segments:'",
                            )
                        )
                continue
            try:
                compile_predicate(
                    clause.op, clause.values, timezone=clause.timezone, clock=time.time
                )
            except OperatorError as exc:
                problems.append(FlagProblem((*full, *_parts(exc.where)), exc.problem, exc.fix))
    return problems, used


def check_flags(
    flags: Sequence[FlagSpec],
    segments: Sequence[SegmentSpec],
    *,
    environments: Collection[str] | None = None,
    campaigns: Collection[str] | None = None,
    prefix: Path = (),
) -> list[FlagProblem]:
    """Every cross-reference problem of `flags` and `segments`, each with its path.

    `environments` / `campaigns`: the ids that exist (None: not checked). Paths start with
    `prefix + ("flags", index)` or `prefix + ("segments", index)`.
    """
    problems: list[FlagProblem] = []
    by_key: dict[str, FlagSpec] = {}
    for i, flag in enumerate(flags):
        if flag.key in by_key:
            problems.append(
                FlagProblem((*prefix, "flags", i, "key"), f"flag {flag.key!r} is declared twice")
            )
        by_key[flag.key] = flag
    segment_keys: dict[str, int] = {}
    for i, segment in enumerate(segments):
        if segment.key in segment_keys:
            problems.append(
                FlagProblem(
                    (*prefix, "segments", i, "key"), f"segment {segment.key!r} is declared twice"
                )
            )
        segment_keys[segment.key] = i

    segment_graph: dict[str, list[str]] = {}
    for i, segment in enumerate(segments):
        found, used = _check_clauses(
            ((rule, ("rules", j)) for j, rule in enumerate(segment.rules)),
            segment_keys,
            (*prefix, "segments", i),
        )
        problems += found
        segment_graph[segment.key] = sorted(used)
    cycle = find_cycle(segment_graph)
    if cycle is not None:
        problems.append(
            FlagProblem(
                (*prefix, "segments", segment_keys[cycle[0]], "rules"),
                f"segment cycle: {' → '.join(cycle)}",
                "a segment cannot contain itself through others; remove one in_segment",
            )
        )

    graph: dict[str, list[str]] = {}
    for i, flag in enumerate(flags):
        base: Path = (*prefix, "flags", i)
        problems += _check_clauses(_conditions(flag), segment_keys, base)[0]
        graph[flag.key] = [p.flag for p in flag.prerequisites]
        for j, prerequisite in enumerate(flag.prerequisites):
            where = (*base, "prerequisites", j)
            other = by_key.get(prerequisite.flag)
            if other is None:
                problems.append(
                    FlagProblem(
                        (*where, "flag"),
                        f"unknown prerequisite flag {prerequisite.flag!r}",
                        _suggest(prerequisite.flag, by_key) or "create that flag first",
                    )
                )
                continue
            for k, variant in enumerate(prerequisite.variants):
                if variant not in other.variants:
                    problems.append(
                        FlagProblem(
                            (*where, "variants", k),
                            f"{prerequisite.flag!r} has no variant {variant!r}",
                            f"use one of: {', '.join(sorted(other.variants))}",
                        )
                    )
        for env, config in flag.environments.items():
            if environments is not None and env not in environments:
                problems.append(
                    FlagProblem(
                        (*base, "environments", env),
                        f"unknown environment {env!r}",
                        _suggest(env, environments)
                        or f"use one of: {', '.join(sorted(environments))}",
                    )
                )
            for j, change in enumerate(config.schedule):
                if (
                    campaigns is not None
                    and change.campaign is not None
                    and change.campaign not in campaigns
                ):
                    problems.append(
                        FlagProblem(
                            (*base, "environments", env, "schedule", j, "campaign"),
                            f"unknown campaign {change.campaign!r}",
                            _suggest(change.campaign, campaigns)
                            or "schedule against a campaign of the calendar, or use `at`",
                        )
                    )
    cycle = find_cycle(graph)
    if cycle is not None:
        index = next(i for i, f in enumerate(flags) if f.key == cycle[0])
        problems.append(
            FlagProblem(
                (*prefix, "flags", index, "prerequisites"),
                f"prerequisite cycle: {' → '.join(cycle)}",
                "a flag cannot require itself through others; remove one prerequisite",
            )
        )
    return problems
