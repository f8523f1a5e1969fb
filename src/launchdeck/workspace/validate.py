"""Cross-reference checks on a parsed workspace spec. Pure: returns every problem found.

Each problem carries the path of the offending value (`("systems", 2, "depends_on", 0)`),
which the loader turns into file:line:column.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from launchdeck.workspace.model import campaign_window
from launchdeck.workspace.spec import WorkspaceSpec

__all__ = ["Path", "Problem", "check", "find_cycle", "suggest"]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    message: str
    hint: str | None = None


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean …" hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _unknown(kind: str, ref: str, known: Sequence[str], path: Path) -> Problem:
    hint = suggest(ref, known) or (
        f"declare it under '{kind}s:' or use one of: {', '.join(sorted(known))}"
        if known
        else f"declare it under '{kind}s:' first"
    )
    return Problem(path, f"unknown {kind} {ref!r}", hint)


def _duplicates(section: str, ids: Sequence[str]) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, item_id in enumerate(ids):
        if item_id in seen:
            problems.append(
                Problem(
                    (section, index, "id"),
                    f"duplicate id {item_id!r} (first used at {section}[{seen[item_id]}])",
                    "ids must be unique within their section; rename one of them",
                )
            )
        else:
            seen[item_id] = index
    return problems


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as a closed walk ([a, b, a]), or None; unknown nodes are ignored."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    # Depth-first with an explicit stack, so a long chain of systems cannot hit the
    # interpreter's recursion limit.
    for root in sorted(graph):
        if colour[root] != white:
            continue
        colour[root] = grey
        path, pending = [root], [iter(graph.get(root, ()))]
        while pending:
            for nxt in pending[-1]:
                if nxt not in colour:
                    continue
                if colour[nxt] == grey:
                    return [*path[path.index(nxt) :], nxt]
                if colour[nxt] == white:
                    colour[nxt] = grey
                    path.append(nxt)
                    pending.append(iter(graph.get(nxt, ())))
                    break
            else:
                colour[path.pop()] = black
                pending.pop()
    return None


def check(spec: WorkspaceSpec) -> list[Problem]:
    """Every cross-reference problem in `spec`, in file order."""
    problems: list[Problem] = []
    env_ids = [e.id for e in spec.environments]
    system_ids = [s.id for s in spec.systems]
    problems += _duplicates("environments", env_ids)
    problems += _duplicates("systems", system_ids)
    problems += _duplicates("campaigns", [c.id for c in spec.campaigns])

    for i, system in enumerate(spec.systems):
        for j, dep in enumerate(system.depends_on):
            if dep == system.id:
                problems.append(
                    Problem(("systems", i, "depends_on", j), f"system {dep!r} depends on itself")
                )
            elif dep not in system_ids:
                problems.append(
                    _unknown("system", dep, system_ids, ("systems", i, "depends_on", j))
                )
        for env in system.environments:
            if env not in env_ids:
                problems.append(
                    _unknown("environment", env, env_ids, ("systems", i, "environments", env))
                )
        for j, slo in enumerate(system.slos):
            if slo not in spec.references.slos:
                problems.append(
                    Problem(
                        ("systems", i, "slos", j),
                        f"SLO file {slo!r} is not listed under references.slos",
                        "add it to references.slos so launchdeck tracks it",
                    )
                )
        if system.rollout is not None and system.rollout not in spec.references.rollouts:
            problems.append(
                Problem(
                    ("systems", i, "rollout"),
                    f"rollout strategy {system.rollout!r} is not listed under references.rollouts",
                    "add it to references.rollouts",
                )
            )

    graph = {s.id: [d for d in s.depends_on if d != s.id] for s in spec.systems}
    cycle = find_cycle(graph)
    if cycle is not None:
        index = system_ids.index(cycle[0])
        problems.append(
            Problem(
                ("systems", index, "depends_on"),
                f"dependency cycle: {' → '.join(cycle)}",
                "a system cannot depend on itself through others; remove one edge of the cycle",
            )
        )

    for i, campaign in enumerate(spec.campaigns):
        starts_at, ends_at, _ = campaign_window(campaign, spec.workspace.timezone)
        if ends_at <= starts_at:
            problems.append(
                Problem(
                    ("campaigns", i, "end"),
                    f"campaign {campaign.id!r} ends ({campaign.end.isoformat()}) "
                    f"{'when' if ends_at == starts_at else 'before'} it starts "
                    f"({campaign.start.isoformat()})",
                    "set end after start",
                )
            )
        for j, ref in enumerate(campaign.systems):
            if ref not in system_ids:
                problems.append(_unknown("system", ref, system_ids, ("campaigns", i, "systems", j)))
    problems += _freeze_references(spec, system_ids, env_ids)
    problems += [
        _unknown("system", system, system_ids, ("notifications", "routes", i, "systems", j))
        for i, route in enumerate(spec.notifications.routes)
        for j, system in enumerate(route.systems)
        if system not in system_ids
    ]
    problems += _slo_references(spec, system_ids)
    problems += _flag_references(spec, system_ids, env_ids)
    return sorted(problems, key=lambda p: _order(p.path))


def _flag_references(
    spec: WorkspaceSpec, system_ids: Sequence[str], env_ids: Sequence[str]
) -> list[Problem]:
    """Flags and segments: prerequisites, segments, environments and campaigns they name exist,
    no cycles, every operator's values are usable; a flag names a declared system."""
    if not spec.flags and not spec.segments:
        return []
    from launchdeck.flags.validate import check_flags

    problems = [
        Problem(p.path, p.message, p.hint)
        for p in check_flags(
            spec.flags,
            spec.segments,
            environments=env_ids,
            campaigns=[c.id for c in spec.campaigns],
        )
    ]
    for i, flag in enumerate(spec.flags):
        if flag.system is not None and flag.system not in system_ids:
            problems.append(_unknown("system", flag.system, system_ids, ("flags", i, "system")))
    for env in spec.flag_governance.approvals:
        if env not in env_ids:
            problems.append(
                _unknown("environment", env, env_ids, ("flag_governance", "approvals", env))
            )
    return problems


def _slo_references(spec: WorkspaceSpec, system_ids: Sequence[str]) -> list[Problem]:
    """SLOs belong to declared systems and are valid OpenSLO; protected windows name real SLOs
    and hold them to a stricter objective than their own."""
    problems: list[Problem] = []
    targets: dict[str, float] = {}
    if spec.slos:  # the OpenSLO models are imported only for workspaces that have SLOs
        problems += _slo_documents(spec, system_ids, targets)
    if not spec.slos and spec.references.slos:
        return problems  # the SLO files are not loaded yet (parse before import): check later
    for i, campaign in enumerate(spec.campaigns):
        for name, percent in campaign.slo_objectives.items():
            path = ("campaigns", i, "slo_objectives", name)
            if name not in targets:
                if name not in {slo.id for slo in spec.slos}:
                    known = sorted(targets)
                    hint = suggest(name, known) or (
                        f"use one of: {', '.join(known)}"
                        if known
                        else "list its OpenSLO file under references.slos and a system's slos:"
                    )
                    problems.append(Problem(path, f"unknown SLO {name!r}", hint))
            elif percent / 100 <= targets[name]:
                problems.append(
                    Problem(
                        path,
                        f"a protected window must be stricter than the SLO's own objective "
                        f"({targets[name] * 100:g}%), got {percent:g}%",
                        f"use a targetPercent above {targets[name] * 100:g}",
                    )
                )
    return problems


def _slo_documents(
    spec: WorkspaceSpec, system_ids: Sequence[str], targets: dict[str, float]
) -> list[Problem]:
    """Each SLO's system and OpenSLO validity; fills `targets` with each valid SLO's strictest
    objective."""
    from pydantic import ValidationError

    from launchdeck.reliability.openslo import SLO

    problems = _duplicates("slos", [slo.id for slo in spec.slos])
    for i, slo in enumerate(spec.slos):
        if slo.system not in system_ids:
            problems.append(_unknown("system", slo.system, system_ids, ("slos", i, "system")))
        try:
            document = SLO.model_validate(slo.document)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            problems.append(
                Problem(
                    ("slos", i, "document"),
                    f"SLO {slo.id!r} is not valid OpenSLO v1: {where}: {first['msg']}",
                    "run 'launchdeck slo validate' on its file",
                )
            )
            continue
        targets[slo.id] = max(o.target_ratio for o in document.spec.objectives)
    return problems


def _freeze_references(
    spec: WorkspaceSpec, system_ids: Sequence[str], env_ids: Sequence[str]
) -> list[Problem]:
    """Freeze policies may name only declared systems and environments."""
    problems = []
    for i, policy in enumerate(spec.freezes.campaigns):
        for j, env in enumerate(policy.environments):
            if env not in env_ids:
                path = ("freezes", "campaigns", i, "environments", j)
                problems.append(_unknown("environment", env, env_ids, path))
    for i, window in enumerate(spec.freezes.recurring):
        for j, system in enumerate(window.systems):
            if system not in system_ids:
                path = ("freezes", "recurring", i, "systems", j)
                problems.append(_unknown("system", system, system_ids, path))
        for j, env in enumerate(window.environments):
            if env not in env_ids:
                path = ("freezes", "recurring", i, "environments", j)
                problems.append(_unknown("environment", env, env_ids, path))
    return problems


_SECTIONS = (
    "version",
    "workspace",
    "environments",
    "systems",
    "campaigns",
    "freezes",
    "reliability",
    "incidents",
    "notifications",
    "references",
    "slos",
)


def _order(path: Path) -> tuple[int, int]:
    section = str(path[0]) if path else ""
    index = path[1] if len(path) > 1 and isinstance(path[1], int) else 0
    rank = _SECTIONS.index(section) if section in _SECTIONS else len(_SECTIONS)
    return rank, index
