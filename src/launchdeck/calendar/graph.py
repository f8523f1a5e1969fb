"""The system dependency graph and blast radius. Pure."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from launchdeck.calendar.model import Occurrence

__all__ = ["affected_by", "blast_radius", "campaign_path", "touches"]


def blast_radius(
    depends_on: Mapping[str, Sequence[str]], changed: str
) -> dict[str, tuple[str, ...]]:
    """Every system a change to `changed` reaches, itself included, with the shortest path to it.

    A system is reached when it depends on a reached system: a change to `cms` reaches the
    `landing-pages` that render from it. Ties between equally short paths go to the
    alphabetically first, so the answer does not depend on the order systems are listed in.
    """
    dependents: dict[str, list[str]] = {}
    for system, deps in depends_on.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(system)
    paths: dict[str, tuple[str, ...]] = {changed: (changed,)}
    queue = deque([changed])
    while queue:
        node = queue.popleft()
        for nxt in sorted(dependents.get(node, ())):
            if nxt not in paths:
                paths[nxt] = (*paths[node], nxt)
                queue.append(nxt)
    return paths


def touches(radius: Mapping[str, tuple[str, ...]], systems: Iterable[str]) -> bool:
    """Whether a change with this blast radius reaches any of `systems`."""
    return any(s in radius for s in systems)


def campaign_path(
    radius: Mapping[str, tuple[str, ...]], systems: Iterable[str]
) -> tuple[str, ...] | None:
    """The shortest path from the changed system to one of `systems`, or None if none is reached."""
    reached = [radius[s] for s in systems if s in radius]
    return min(reached, key=lambda p: (len(p), p)) if reached else None


def affected_by(
    radius: Mapping[str, tuple[str, ...]], occurrence: Occurrence
) -> tuple[str, ...] | None:
    """(`cms`, `landing-pages`, `Black Friday`) when the change reaches the campaign, else None."""
    path = campaign_path(radius, occurrence.systems)
    return (*path, occurrence.name) if path is not None else None
