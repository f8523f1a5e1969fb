"""Hypothesis strategies for launchdeck, in one module (as attrs keeps them).

`workspace_documents()` draws whole launchdeck.yaml documents as plain data (what a YAML
loader hands to `WorkspaceSpec.model_validate`), valid by construction: unique ids,
acyclic `depends_on`, references that resolve, campaigns that end after they start.
`workspace_specs()` is the same, validated.

Settings: the `launchdeck` profile is registered here (tests/conftest.py stays untouched);
property tests derive their settings from it with `property_settings(max_examples=...)`,
so nothing depends on which module happened to load a profile first.
LAUNCHDECK_HYPOTHESIS_SCALE=10 multiplies every example budget, for a longer hunt.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from launchdeck.workspace.spec import WorkspaceSpec

__all__ = [
    "ZONES",
    "config_values",
    "ids",
    "property_settings",
    "texts",
    "workspace_documents",
    "workspace_specs",
]

settings.register_profile(
    "launchdeck",
    deadline=None,  # the first pydantic/SQL call of a run is slow; time is not the property
    suppress_health_check=(HealthCheck.too_slow,),
    print_blob=True,
)
_SCALE = int(os.environ.get("LAUNCHDECK_HYPOTHESIS_SCALE", "1"))


def property_settings(*, max_examples: int) -> settings:
    """Settings of the `launchdeck` profile with an example budget (times the scale)."""
    return settings(settings.get_profile("launchdeck"), max_examples=max_examples * _SCALE)


# Zones with DST, half- and quarter-hour offsets, a skipped day (Apia, 2011) and UTC itself.
ZONES = (
    "UTC",
    "America/New_York",
    "America/St_Johns",
    "Europe/Berlin",
    "Europe/London",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Africa/Monrovia",
)
zones = st.sampled_from(ZONES)

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = _LOWER + "0123456789"


def _word(first: str, rest: str, *, max_size: int) -> st.SearchStrategy[str]:
    """A string whose first character is from `first` and the others from `rest`.

    Built from plain text strategies: `st.from_regex` is several times slower to draw.
    """
    return st.builds(operator.add, st.sampled_from(first), st.text(rest, max_size=max_size))


ids = _word(_ALNUM, _ALNUM + "-", max_size=62)
"""Identifiers as the schema allows them (a DNS label, up to 63 characters)."""

# Any character but surrogates (not UTF-8) and NUL (the schema refuses it, as PostgreSQL
# text cannot hold it; tests/unit/workspace/test_spec.py pins that).
_CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")


# Control characters and separators are what str.strip() may remove; none of these is.
_VISIBLE = st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))


def texts(*, non_empty: bool = False, max_size: int = 40) -> st.SearchStrategy[str]:
    """Free text as the schema keeps it: stripped of surrounding whitespace.

    A non-empty text is built around one visible character instead of filtering out blank
    draws, which Hypothesis would otherwise spend most of its budget retrying.
    """
    if not non_empty:
        return st.text(_CHARACTERS, max_size=max_size).map(str.strip)
    side = st.text(_CHARACTERS, max_size=(max_size - 1) // 2)
    return st.builds(
        lambda head, middle, tail: (head + middle + tail).strip(), side, _VISIBLE, side
    )


config_keys = _word(_LOWER + "_", _ALNUM + "_", max_size=15)
config_values = st.one_of(
    texts(max_size=20),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
_team = _word(_LOWER, _ALNUM + ".-_", max_size=15)
owners = st.one_of(
    _team.map("@{}".format),
    st.builds(
        "{}@{}.{}".format,
        _word(_LOWER, _ALNUM + ".+-", max_size=10),
        _word(_LOWER, _ALNUM + "-", max_size=10),
        _word(_LOWER, _LOWER, max_size=3),
    ),
    _team,
)
"""@handles, e-mail addresses and team names."""
paths = st.builds(
    "{}.{}".format,
    st.lists(_word(_LOWER, _ALNUM + "-", max_size=10), min_size=1, max_size=3).map("/".join),
    st.sampled_from(["yaml", "ics"]),
)
"""Relative file paths such as `slos/checkout-api.yaml`."""


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


# Module-level strategies, drawn many times per document: building strategies inside a
# draw costs more than drawing from them.
_tiers = st.integers(min_value=1, max_value=3)
_names = texts(non_empty=True, max_size=60)
_descriptions = _optional(texts(max_size=80))
_urls = _optional(texts(non_empty=True, max_size=40))
_configs = st.dictionaries(config_keys, config_values, max_size=4)
_instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2997, 12, 31), timezones=st.just(UTC)
)
_lengths = st.timedeltas(min_value=timedelta(days=2), max_value=timedelta(days=400))
_offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_forms = st.sampled_from(["naive", "offset", "z"])
_revenues = st.floats(min_value=0, allow_nan=False, allow_infinity=False) | st.integers(0, 10**9)
_currencies = st.text(_LOWER.upper(), min_size=3, max_size=3)
_channels = st.lists(texts(non_empty=True, max_size=12), max_size=4)
_environment = st.fixed_dictionaries({"url": _urls, "config": _configs})
_system_body = st.fixed_dictionaries(
    {"tier": _tiers, "owners": st.lists(owners, max_size=3), "description": _descriptions},
    optional={"name": _names},
)
_campaign_body = st.fixed_dictionaries(
    {
        "name": _names,
        "tier": _tiers,
        "revenue_per_hour": _revenues,
        "currency": _currencies,
        "channels": _channels,
        "description": _descriptions,
    }
)


def _subset(draw: st.DrawFn, items: Sequence[str], *, max_size: int = 8) -> list[str]:
    """Some of `items`, in their order; shrinks towards none."""
    items = items[:max_size]
    if not items:
        return []
    mask = draw(st.integers(min_value=0, max_value=2 ** len(items) - 1))
    return [item for bit, item in enumerate(items) if mask >> bit & 1]


def _written(draw: st.DrawFn, instant: datetime, zone: str) -> str:
    """`instant` as a user might write it: naive wall time in `zone`, an offset, or Z.

    A naive wall time in a repeated hour reads as its first occurrence, which can move it up
    to the DST shift (an hour here) earlier; campaigns last two days or more to stay ordered.
    """
    form = draw(_forms)
    if form == "naive":
        return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat()
    if form == "offset":
        return instant.astimezone(draw(_offsets)).isoformat()
    return instant.isoformat().replace("+00:00", "Z")


def _campaign(
    draw: st.DrawFn, campaign_id: str, *, workspace_zone: str, system_ids: Sequence[str]
) -> dict[str, Any]:
    zone = draw(_optional(zones))
    starts_at = draw(_instants)
    document: dict[str, Any] = {
        "id": campaign_id,
        **draw(_campaign_body),
        "start": _written(draw, starts_at, zone or workspace_zone),
        "end": _written(draw, starts_at + draw(_lengths), zone or workspace_zone),
        "systems": _subset(draw, system_ids),
    }
    if zone is not None:
        document["timezone"] = zone
    return document


def _system(
    draw: st.DrawFn,
    system_id: str,
    *,
    may_depend_on: Sequence[str],
    environment_ids: Sequence[str],
    slo_files: Sequence[str],
    rollout_files: Sequence[str],
) -> dict[str, Any]:
    rollout = draw(st.integers(min_value=-1, max_value=len(rollout_files) - 1))
    return {
        "id": system_id,
        **draw(_system_body),
        "depends_on": _subset(draw, may_depend_on),
        "environments": {env: draw(_environment) for env in _subset(draw, environment_ids)},
        "slos": _subset(draw, slo_files),
        "rollout": rollout_files[rollout] if rollout >= 0 else None,
    }


@st.composite
def workspace_documents(
    draw: st.DrawFn, *, max_systems: int = 8, max_campaigns: int = 5
) -> dict[str, Any]:
    """A valid launchdeck.yaml as data: what `yaml.safe_load` of a good workspace returns."""
    workspace_zone = draw(zones)
    references = {
        "calendars": draw(st.lists(paths, max_size=2)),
        "slos": draw(st.lists(paths, max_size=3, unique=True)),
        "rollouts": draw(st.lists(paths, max_size=2, unique=True)),
    }
    environment_ids = draw(st.lists(ids, max_size=3, unique=True))
    system_ids = draw(st.lists(ids, max_size=max_systems, unique=True))
    # A random topological order: a system may depend only on systems ranked before it,
    # wherever they appear in the file, so `depends_on` is acyclic yet points both ways.
    order = draw(st.permutations(range(len(system_ids))))
    rank = {system_ids[i]: position for position, i in enumerate(order)}
    systems = [
        _system(
            draw,
            system_id,
            may_depend_on=[s for s in system_ids if rank[s] < rank[system_id]],
            environment_ids=environment_ids,
            slo_files=references["slos"],
            rollout_files=references["rollouts"],
        )
        for system_id in system_ids
    ]
    campaign_ids = draw(st.lists(ids, max_size=max_campaigns, unique=True))
    return {
        "version": 1,
        "workspace": {
            "name": draw(texts(non_empty=True, max_size=120)),
            "timezone": workspace_zone,
            "description": draw(_descriptions),
        },
        "environments": [
            {
                "id": env,
                "name": draw(_optional(_names)),
                "production_like": draw(st.booleans()),
                "description": draw(_descriptions),
            }
            for env in environment_ids
        ],
        "systems": systems,
        "campaigns": [
            _campaign(draw, c, workspace_zone=workspace_zone, system_ids=system_ids)
            for c in campaign_ids
        ],
        "references": references,
    }


def workspace_specs(**kwargs: int) -> st.SearchStrategy[WorkspaceSpec]:
    """Valid WorkspaceSpec objects (see `workspace_documents`)."""
    return workspace_documents(**kwargs).map(WorkspaceSpec.model_validate)
