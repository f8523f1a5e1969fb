"""Blast radius: who a change reaches, by which shortest path, and which campaigns it touches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate_strategies import BLACK_FRIDAY_GRAPH, an_occurrence, dependency_graphs
from launchdeck.calendar.graph import affected_by, blast_radius, campaign_path
from strategies import property_settings

CHAIN = {
    "cms": (),
    "search": ("cms",),
    "landing-pages": ("search",),
    "checkout-web": ("landing-pages",),
}


@pytest.mark.parametrize(
    ("depends_on", "changed", "expected"),
    [
        (
            CHAIN,
            "cms",
            {
                "cms": ("cms",),
                "search": ("cms", "search"),
                "landing-pages": ("cms", "search", "landing-pages"),
                "checkout-web": ("cms", "search", "landing-pages", "checkout-web"),
            },
        ),
        (
            CHAIN,
            "landing-pages",
            {
                "landing-pages": ("landing-pages",),
                "checkout-web": ("landing-pages", "checkout-web"),
            },
        ),
        (
            BLACK_FRIDAY_GRAPH,
            "cms",
            {
                "cms": ("cms",),
                "email-renderer": ("cms", "email-renderer"),
                "landing-pages": ("cms", "landing-pages"),
                "search": ("cms", "search"),
            },
        ),
        (
            BLACK_FRIDAY_GRAPH,
            "search",
            {"search": ("search",), "landing-pages": ("search", "landing-pages")},
        ),
        (
            BLACK_FRIDAY_GRAPH,
            "tracking-pixel",
            {
                "tracking-pixel": ("tracking-pixel",),
                "checkout-api": ("tracking-pixel", "checkout-api"),
                "landing-pages": ("tracking-pixel", "landing-pages"),
                "recommendations": ("tracking-pixel", "recommendations"),
            },
        ),
        (BLACK_FRIDAY_GRAPH, "checkout-api", {"checkout-api": ("checkout-api",)}),
        (BLACK_FRIDAY_GRAPH, "billing", {"billing": ("billing",)}),
        ({"web": ("cms",)}, "cms", {"cms": ("cms",), "web": ("cms", "web")}),
        (
            {"a": ("b",), "b": ("a",)},
            "a",
            {"a": ("a",), "b": ("a", "b")},
        ),
    ],
    ids=[
        "a change to the cms reaches every level of a chain of dependents",
        "a change in the middle of a chain reaches only what depends on it",
        "the cms reaches landing pages directly, not through search",
        "search reaches the landing pages that depend on it",
        "the tracking pixel reaches three dependents",
        "a system nobody depends on reaches only itself",
        "an unknown system reaches only itself",
        "a system named only as a dependency still has dependents",
        "a dependency cycle (refused by validation) still terminates",
    ],
)
def test_blast_radius(
    depends_on: Mapping[str, Sequence[str]],
    changed: str,
    expected: dict[str, tuple[str, ...]],
) -> None:
    assert blast_radius(depends_on, changed) == expected


@pytest.mark.parametrize(
    "depends_on",
    [
        {"cms": (), "beta": ("cms",), "alpha": ("cms",), "web": ("beta", "alpha")},
        {"web": ("alpha", "beta"), "alpha": ("cms",), "beta": ("cms",), "cms": ()},
    ],
    ids=["dependents listed beta first", "dependents listed alpha first"],
)
def test_equally_short_paths_go_through_the_alphabetically_first_system(
    depends_on: Mapping[str, Sequence[str]],
) -> None:
    assert blast_radius(depends_on, "cms")["web"] == ("cms", "alpha", "web")


def test_a_tie_two_levels_down_is_broken_by_the_whole_path_not_the_last_hop() -> None:
    # web is reached through z (cms, a, z) and through y (cms, b, y): the path through "a"
    # wins because it is first as a whole, although its last hop "z" comes after "y".
    depends_on = {"a": ("cms",), "b": ("cms",), "z": ("a",), "y": ("b",), "web": ("y", "z")}
    assert blast_radius(depends_on, "cms")["web"] == ("cms", "a", "z", "web")


@pytest.mark.parametrize(
    ("changed", "systems", "expected"),
    [
        ("cms", ("search", "landing-pages"), ("cms", "landing-pages")),
        ("cms", ("landing-pages", "search"), ("cms", "landing-pages")),
        ("cms", ("cms", "landing-pages"), ("cms",)),
        ("cms", ("checkout-api", "tracking-pixel"), None),
        ("cms", (), None),
    ],
    ids=[
        "the shortest path wins and ties go alphabetically",
        "the order the campaign lists its systems does not matter",
        "a campaign on the changed system itself has a one-step path",
        "a campaign on systems the change does not reach has no path",
        "a campaign on no systems has no path",
    ],
)
def test_campaign_path(
    changed: str, systems: tuple[str, ...], expected: tuple[str, ...] | None
) -> None:
    radius = blast_radius(BLACK_FRIDAY_GRAPH, changed)
    assert campaign_path(radius, systems) == expected


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ("cms", ("cms", "landing-pages", "Black Friday 2026")),
        ("tracking-pixel", ("tracking-pixel", "checkout-api", "Black Friday 2026")),
        ("landing-pages", ("landing-pages", "Black Friday 2026")),
        ("crm-sync", None),
    ],
    ids=[
        "the cms reaches Black Friday through the landing pages",
        "the tracking pixel reaches it through checkout first (alphabetical tie)",
        "a campaign system itself is one step from the campaign",
        "crm-sync does not reach Black Friday",
    ],
)
def test_affected_by_ends_the_path_with_the_campaign_name(
    changed: str, expected: tuple[str, ...] | None
) -> None:
    occurrence = an_occurrence(systems=("landing-pages", "checkout-api"))
    assert affected_by(blast_radius(BLACK_FRIDAY_GRAPH, changed), occurrence) == expected


def _shortest_paths_by_search(
    depends_on: Mapping[str, Sequence[str]], changed: str
) -> dict[str, tuple[str, ...]]:
    """Oracle: every simple path out of `changed`, keeping the (shortest, then least) one."""
    dependents: dict[str, set[str]] = {}
    for system, deps in depends_on.items():
        for dep in deps:
            dependents.setdefault(dep, set()).add(system)
    best: dict[str, tuple[str, ...]] = {}
    stack: list[tuple[str, ...]] = [(changed,)]
    while stack:
        path = stack.pop()
        node = path[-1]
        if node not in best or (len(path), path) < (len(best[node]), best[node]):
            best[node] = path
        stack.extend((*path, n) for n in dependents.get(node, ()) if n not in path)
    return best


@property_settings(max_examples=100)
@given(graph=dependency_graphs(), data=st.data())
def test_blast_radius_paths_are_the_shortest_then_alphabetically_first(
    graph: dict[str, tuple[str, ...]], data: st.DataObject
) -> None:
    changed = data.draw(st.sampled_from(list(graph)))
    assert blast_radius(graph, changed) == _shortest_paths_by_search(graph, changed)


@property_settings(max_examples=60)
@given(graph=dependency_graphs(), data=st.data())
def test_blast_radius_does_not_depend_on_the_order_systems_are_listed(
    graph: dict[str, tuple[str, ...]], data: st.DataObject
) -> None:
    changed = data.draw(st.sampled_from(list(graph)))
    order = data.draw(st.permutations(list(graph)))
    shuffled = {s: tuple(data.draw(st.permutations(graph[s]))) for s in order}
    assert blast_radius(shuffled, changed) == blast_radius(graph, changed)
