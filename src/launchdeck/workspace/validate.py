"""Cross-reference checks on a parsed workspace spec. Pure: returns every problem found.

Each problem carries the path of the offending value (`("systems", 2, "depends_on", 0)`),
which the loader turns into file:line:column.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from launchdeck.workspace.model import campaign_window

if TYPE_CHECKING:
    from launchdeck.experiments.model import ExperimentSpec
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


def _duplicates(section: str, ids: Sequence[str], field: str = "id") -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, item_id in enumerate(ids):
        if item_id in seen:
            problems.append(
                Problem(
                    (section, index, field),
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
    problems += _experiment_references(spec, env_ids)
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


def _experiment_references(spec: WorkspaceSpec, env_ids: Sequence[str]) -> list[Problem]:
    """Experiments name a flag of `flags:` that can carry them, a declared environment and
    campaign, and metrics of `metrics:`; one experiment per flag and environment."""
    if not spec.experiments and not spec.metrics:
        return []
    from launchdeck.experiments.model import compile_into

    problems = _duplicates("metrics", [m.key for m in spec.metrics], "key")
    problems += _duplicates("experiments", [e.key for e in spec.experiments], "key")
    flags = {f.key: f for f in spec.flags}
    metric_keys = [m.key for m in spec.metrics]
    campaign_ids = [c.id for c in spec.campaigns]
    seen: dict[tuple[str, str], str] = {}
    for i, experiment in enumerate(spec.experiments):
        where = ("experiments", i)
        flag = flags.get(experiment.flag)
        if flag is None:
            problems.append(
                Problem(
                    (*where, "flag"),
                    f"experiment {experiment.key!r} is on flag {experiment.flag!r}, which is not "
                    "in launchdeck.yaml `flags:`",
                    suggest(experiment.flag, flags)
                    or "experiments run on flags managed in launchdeck.yaml; add the flag there",
                )
            )
        else:
            try:
                compile_into(flag, experiment)
            except ValueError as exc:
                problems.append(Problem((*where, "flag"), f"experiment {experiment.key!r}: {exc}"))
        if env_ids and experiment.environment not in env_ids:
            problems.append(
                _unknown("environment", experiment.environment, env_ids, (*where, "environment"))
            )
        if experiment.campaign is not None and experiment.campaign not in campaign_ids:
            problems.append(
                _unknown("campaign", experiment.campaign, campaign_ids, (*where, "campaign"))
            )
        elif experiment.campaign is not None:
            problems += _campaign_window(spec, i, experiment, campaign_ids)
        cuped = [m.key for m in spec.metrics if m.cuped and m.key in experiment.metric_keys()]
        if cuped and experiment.start is None and experiment.campaign is None:
            problems.append(
                Problem(
                    (*where, "start"),
                    f"experiment {experiment.key!r} has no start, but {', '.join(cuped)} use "
                    "CUPED, which reads the period before it",
                    "set `start` (or `campaign`), or turn `cuped` off for those metrics",
                )
            )
        for field, keys in (
            ("primary_metric", (experiment.primary_metric,)),
            ("secondary_metrics", experiment.secondary_metrics),
            ("guardrail_metrics", experiment.guardrail_metrics),
        ):
            for j, key in enumerate(keys):
                if key not in metric_keys:
                    path = (*where, field) if field == "primary_metric" else (*where, field, j)
                    problems.append(_unknown("metric", key, metric_keys, path))
        pair = (experiment.flag, experiment.environment)
        if pair in seen:
            problems.append(
                Problem(
                    (*where, "flag"),
                    f"experiments {seen[pair]!r} and {experiment.key!r} both run on flag "
                    f"{experiment.flag!r} in {experiment.environment!r}",
                    "run one experiment per flag and environment (use another flag)",
                )
            )
        seen.setdefault(pair, experiment.key)
    return problems


def _campaign_window(
    spec: WorkspaceSpec, index: int, experiment: ExperimentSpec, campaign_ids: Sequence[str]
) -> list[Problem]:
    """An experiment that takes one edge of its window from its campaign must still end after
    it starts."""
    assert experiment.campaign is not None
    campaign = spec.campaigns[campaign_ids.index(experiment.campaign)]
    starts_at, ends_at, _ = campaign_window(campaign, spec.workspace.timezone)
    start, end = experiment.start or starts_at, experiment.end or ends_at
    if end > start:
        return []
    field = "start" if experiment.start is not None else "end"
    return [
        Problem(
            ("experiments", index, field),
            f"experiment {experiment.key!r} would run from {start.isoformat()} to "
            f"{end.isoformat()} ({field} with campaign {experiment.campaign!r}'s window): "
            "the end is not after the start",
            f"move `{field}` inside the campaign's window, or set both start and end",
        )
    ]


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
    "flags",
    "segments",
    "flag_governance",
    "metrics",
    "experiments",
    "events",
)


def _order(path: Path) -> tuple[int, int]:
    section = str(path[0]) if path else ""
    index = path[1] if len(path) > 1 and isinstance(path[1], int) else 0
    rank = _SECTIONS.index(section) if section in _SECTIONS else len(_SECTIONS)
    return rank, index
