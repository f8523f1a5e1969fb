"""Bucketing spec v1 (docs/bucketing.md): the published vectors and the statistics it promises.

The vectors (tests/fixtures/bucketing_vectors.json) were computed by scripts/bucketing_vectors.py
straight from the spec, with no launchdeck code; here they are checked against `bucketing.py`
and, end to end, through the compiled `Evaluator`. The statistical tests run over fixed keys,
so they are deterministic: a p-value above 0.001 today is above it forever. scipy is the oracle.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import mmh3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, chisquare

from launchdeck.flags import bucketing
from launchdeck.flags.evaluate import DEFAULT, SPLIT, Evaluator, Resolution
from launchdeck.flags.model import BUCKETING_VERSION, UNITS, FlagSpec, Snapshot, percent_units
from strategies import property_settings

VECTORS_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "bucketing_vectors.json"
PUBLISHED = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = PUBLISHED["vectors"]

KEYS = [f"user-{i}" for i in range(100_000)]
"""100,000 distinct units for the statistical tests."""
FEW_KEYS = KEYS[:20_000]
"""For the tests that go through the Evaluator once per coverage or flag."""
ALPHA = 0.001
CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")

THIRDS = {"a": 33.333, "b": 33.333, "c": 33.334}
FIFTHS = {"a": 20.0, "b": 20.0, "c": 20.0, "d": 20.0, "e": 20.0}


def weight_units(weights: Mapping[str, float]) -> list[int]:
    return [percent_units(w) for w in weights.values()]


def a_flag(key: str, weights: Mapping[str, float], **rollout: Any) -> FlagSpec:
    """A string flag, on in `test`, whose fallthrough is a rollout; variant values are their
    names and the off variant is `off`."""
    return FlagSpec.model_validate(
        {
            "key": key,
            "type": "string",
            "variants": {**{name: name for name in weights}, "off": "off"},
            "off_variant": "off",
            "environments": {
                "test": {
                    "enabled": True,
                    "fallthrough": {"rollout": {"weights": dict(weights), **rollout}},
                }
            },
        }
    )


def an_evaluator(*flags: FlagSpec) -> Evaluator:
    return Evaluator(Snapshot(environment="test", flags=flags))


def within(count: int, n: int, p: float, *, sigmas: float = 5) -> bool:
    """`count` successes out of `n` are within `sigmas` standard deviations of `n * p`."""
    return abs(count - n * p) <= sigmas * (n * p * (1 - p)) ** 0.5


def vector_id(vector: dict[str, Any]) -> str:
    return str(vector["case"])


# --- the published vectors -------------------------------------------------------------


def test_the_vectors_are_of_this_spec_version_and_its_constants() -> None:
    assert PUBLISHED["bucketing"] == bucketing.SPEC_VERSION == BUCKETING_VERSION == 1
    assert PUBLISHED["rollout_seed"] == bucketing.ROLLOUT_SEED == 0x4C44524F
    assert PUBLISHED["variant_seed"] == bucketing.VARIANT_SEED == 0x4C445641
    assert PUBLISHED["buckets"] == UNITS == 100_000
    assert bucketing.ROLLOUT_SEED.to_bytes(4, "big") == b"LDRO"
    assert bucketing.VARIANT_SEED.to_bytes(4, "big") == b"LDVA"
    assert len(VECTORS) >= 60


def test_a_new_flag_records_the_spec_version() -> None:
    flag = a_flag("recorded", {"on": 100})
    assert flag.bucketing == 1
    assert flag.document()["bucketing"] == 1
    with pytest.raises(ValueError, match="bucketing"):
        FlagSpec.model_validate({**flag.document(), "bucketing": 2})


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_a_vector_matches_the_bucketing_module(vector: dict[str, Any]) -> None:
    salt, unit = vector["salt"], vector["unit"]
    coverage = percent_units(vector["coverage_percent"])
    weights: dict[str, float] = vector["weights"]
    assert vector["rollout_hash"] % UNITS == vector["rollout_bucket"]
    assert vector["variant_hash"] % UNITS == vector["variant_bucket"]
    assert bucketing.hash_input(salt, unit) == f"{salt}:{unit}".encode()
    assert bucketing.rollout_bucket(salt, unit) == vector["rollout_bucket"]
    assert bucketing.variant_bucket(salt, unit) == vector["variant_bucket"]
    assert bucketing.in_coverage(salt, unit, coverage) is vector["in_coverage"]
    chosen = bucketing.pick_variant(salt, unit, list(weights), weight_units(weights))
    assert chosen == vector["variant"]
    assert bucketing.unit_of(unit) == unit
    if CANONICAL_INT.fullmatch(unit):
        assert bucketing.unit_of(int(unit)) == unit


@pytest.fixture(scope="module")
def vectors_evaluator() -> Evaluator:
    """One flag per vector, `v00` …, serving a rollout with the vector's coverage, weights
    and salt."""
    return an_evaluator(
        *(
            a_flag(
                f"v{i:02d}",
                vector["weights"],
                coverage=vector["coverage_percent"],
                salt=vector["salt"],
            )
            for i, vector in enumerate(VECTORS)
        )
    )


@pytest.mark.parametrize(
    ("index", "vector"), list(enumerate(VECTORS)), ids=[vector_id(v) for v in VECTORS]
)
def test_a_vector_holds_through_the_evaluator(
    vectors_evaluator: Evaluator, index: int, vector: dict[str, Any]
) -> None:
    if vector["in_coverage"]:
        expected = Resolution(vector["variant"], vector["variant"], SPLIT)
    else:
        expected = Resolution("off", "off", DEFAULT)
    key, unit = f"v{index:02d}", vector["unit"]
    assert vectors_evaluator.resolve(key, {"targetingKey": unit}) == expected
    if CANONICAL_INT.fullmatch(unit):
        assert vectors_evaluator.resolve(key, {"targetingKey": int(unit)}) == expected


# --- what counts as a unit -------------------------------------------------------------

NOT_BUCKETABLE = [42.0, 1.5, True, False, {"id": "alice"}, ["alice"], b"alice", ("a",)]


@pytest.mark.parametrize("value", NOT_BUCKETABLE, ids=repr)
@pytest.mark.parametrize("coverage", [100.0, 50.0])
def test_a_unit_that_is_not_a_string_or_integer_is_outside_coverage(
    value: object, coverage: float
) -> None:
    assert bucketing.unit_of(value) is None
    evaluator = an_evaluator(a_flag("units", {"on": 100.0}, coverage=coverage))
    off = Resolution("off", "off", DEFAULT)
    assert evaluator.resolve("units", {"targetingKey": value}) == off


@pytest.mark.parametrize("context", [{}, {"targetingKey": None}, {"userId": "alice"}], ids=repr)
def test_a_missing_unit_is_outside_even_full_coverage(context: dict[str, Any]) -> None:
    assert bucketing.unit_of(None) is None
    evaluator = an_evaluator(a_flag("units", {"on": 100.0}))
    assert evaluator.resolve("units", context) == Resolution("off", "off", DEFAULT)


def test_a_string_that_is_not_utf8_encodable_is_outside_coverage() -> None:
    evaluator = an_evaluator(a_flag("units", {"on": 100.0}, coverage=100.0))
    lone_surrogate = "user-\ud800"
    assert evaluator.resolve("units", {"targetingKey": lone_surrogate}) == Resolution(
        "off", "off", DEFAULT
    )


@pytest.mark.parametrize("number", [42, 0, -7, 2**64])
def test_an_integer_unit_buckets_as_its_decimal_string(number: int) -> None:
    assert bucketing.unit_of(number) == str(number)
    flags = [a_flag(f"int-{i}", THIRDS, coverage=c) for i, c in enumerate((100.0, 50.0, 10.0))]
    evaluator = an_evaluator(*flags)
    for flag in flags:
        as_int = evaluator.resolve(flag.key, {"targetingKey": number})
        assert as_int == evaluator.resolve(flag.key, {"targetingKey": str(number)})


def test_the_unit_comes_from_bucket_by() -> None:
    flag = a_flag("by-account", THIRDS, bucket_by="accountId")
    evaluator = an_evaluator(flag)
    for key in FEW_KEYS[:1000]:
        answer = evaluator.resolve("by-account", {"targetingKey": "ignored", "accountId": key})
        assert answer.variant == bucketing.pick_variant(
            "by-account", key, list(THIRDS), weight_units(THIRDS)
        )


# --- percentages -----------------------------------------------------------------------


def test_every_percentage_with_three_decimals_is_exactly_its_units() -> None:
    assert all(percent_units(units / 1000) == units for units in range(UNITS + 1))
    assert percent_units("12.345%") == 12_345
    assert percent_units("25%") == percent_units(25) == percent_units(25.0) == 25_000
    with pytest.raises(ValueError, match=r"finer than 0\.001 %"):
        percent_units(12.3456)


# --- uniformity ------------------------------------------------------------------------

SALT = "uniformity"


@cache
def buckets(salt: str, seed: int) -> tuple[int, ...]:
    """The bucket of every key in KEYS under `seed` (computed once per salt and seed)."""
    if seed == bucketing.ROLLOUT_SEED:
        return tuple(bucketing.rollout_bucket(salt, key) for key in KEYS)
    return tuple(bucketing.variant_bucket(salt, key) for key in KEYS)


@pytest.mark.parametrize(
    "weights",
    [{"a": 50.0, "b": 50.0}, {"a": 10.0, "b": 90.0}, THIRDS, FIFTHS],
    ids=["50/50", "10/90", "33.333/33.333/33.334", "5x20"],
)
def test_variants_split_as_weighted(weights: dict[str, float]) -> None:
    names, units = list(weights), weight_units(weights)
    counts = Counter(bucketing.pick_variant(SALT, key, names, units) for key in KEYS)
    observed = [counts[name] for name in names]
    expected = [len(KEYS) * u / UNITS for u in units]
    assert sum(observed) == len(KEYS)
    assert chisquare(observed, expected).pvalue > ALPHA, (observed, expected)


@pytest.mark.parametrize("seed", [bucketing.ROLLOUT_SEED, bucketing.VARIANT_SEED], ids=hex)
def test_buckets_are_uniform_over_a_hundred_bins(seed: int) -> None:
    bins = Counter(bucket // 1000 for bucket in buckets(SALT, seed))
    observed = [bins[i] for i in range(100)]
    assert chisquare(observed).pvalue > ALPHA, observed


@pytest.mark.parametrize("percent", [1.0, 10.0, 33.333, 50.0])
def test_coverage_covers_its_share(percent: float) -> None:
    units = percent_units(percent)
    covered = sum(bucketing.in_coverage(SALT, key, units) for key in KEYS)
    assert within(covered, len(KEYS), units / UNITS), covered


# --- growth ----------------------------------------------------------------------------

GROWTH = [1.0, 5.0, 10.0, 20.0, 50.0, 100.0]


def test_raising_coverage_only_adds_units_and_keeps_their_variant() -> None:
    flags = [a_flag(f"growth-{i}", THIRDS, coverage=c, salt="growth") for i, c in enumerate(GROWTH)]
    evaluator = an_evaluator(*flags)
    previous: dict[str, str] = {}
    for flag, coverage in zip(flags, GROWTH, strict=True):
        covered: dict[str, str] = {}
        for key in FEW_KEYS:
            answer = evaluator.resolve(flag.key, {"targetingKey": key})
            if answer.reason == SPLIT:
                assert answer.variant is not None
                covered[key] = answer.variant
            else:
                assert answer == Resolution("off", "off", DEFAULT)
        units = percent_units(coverage)
        assert set(covered) == {
            key for key in FEW_KEYS if bucketing.in_coverage("growth", key, units)
        }
        assert previous.items() <= covered.items()
        assert within(len(covered), len(FEW_KEYS), units / UNITS), (coverage, len(covered))
        previous = covered
    assert len(previous) == len(FEW_KEYS)


# --- independence of the two hashes ----------------------------------------------------


def test_the_variant_split_inside_a_small_coverage_follows_the_weights() -> None:
    weights = {"a": 30.0, "b": 70.0}
    names, units = list(weights), weight_units(weights)
    covered = [key for key in KEYS if bucketing.in_coverage(SALT, key, 10_000)]
    counts = Counter(bucketing.pick_variant(SALT, key, names, units) for key in covered)
    observed = [counts[name] for name in names]
    expected = [len(covered) * u / UNITS for u in units]
    assert chisquare(observed, expected).pvalue > ALPHA, (observed, expected)


def half_and_variant_table(rollout: Sequence[int], variant: Sequence[int]) -> list[list[int]]:
    """2x2 counts: rollout bucket in the first half or not, by variant A (< 50000) or B."""
    cells = Counter((r < UNITS // 2, v < UNITS // 2) for r, v in zip(rollout, variant, strict=True))
    return [[cells[True, True], cells[True, False]], [cells[False, True], cells[False, False]]]


def test_being_in_the_rollout_says_nothing_about_the_variant() -> None:
    table = half_and_variant_table(
        buckets(SALT, bucketing.ROLLOUT_SEED), buckets(SALT, bucketing.VARIANT_SEED)
    )
    assert chi2_contingency(table).pvalue > ALPHA, table


def test_the_contingency_test_would_catch_one_shared_hash() -> None:
    """Why two seeds: had the variant come from the rollout hash, the first covered units
    would all get the first variant, and this test would see it."""
    shared = [
        mmh3.hash(f"{SALT}:{key}".encode(), bucketing.ROLLOUT_SEED, signed=False) for key in KEYS
    ]
    table = half_and_variant_table(
        buckets(SALT, bucketing.ROLLOUT_SEED), [h % UNITS for h in shared]
    )
    assert chi2_contingency(table).pvalue < 1e-100, table


# --- weight changes and new salts ------------------------------------------------------


def test_changing_weights_moves_only_the_units_between_the_boundaries() -> None:
    names = ["a", "b"]
    before = [bucketing.pick_variant(SALT, key, names, [50_000, 50_000]) for key in KEYS]
    after = [bucketing.pick_variant(SALT, key, names, [60_000, 40_000]) for key in KEYS]
    moved = {i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new}
    variant = buckets(SALT, bucketing.VARIANT_SEED)
    between = {i for i, bucket in enumerate(variant) if 50_000 <= bucket < 60_000}
    assert moved == between
    assert {(before[i], after[i]) for i in moved} == {("b", "a")}
    assert within(len(moved), len(KEYS), 0.1)


def test_changing_weights_through_the_evaluator_keeps_everyone_else() -> None:
    evaluator = an_evaluator(
        a_flag("w50", {"a": 50.0, "b": 50.0}, salt="weights"),
        a_flag("w60", {"a": 60.0, "b": 40.0}, salt="weights"),
    )
    for key in FEW_KEYS:
        old = evaluator.resolve("w50", {"targetingKey": key}).variant
        new = evaluator.resolve("w60", {"targetingKey": key}).variant
        if old != new:
            assert (old, new) == ("b", "a")
            assert 50_000 <= bucketing.variant_bucket("weights", key) < 60_000


def test_the_default_salt_is_the_flag_key() -> None:
    evaluator = an_evaluator(
        a_flag("checkout", THIRDS, coverage=50.0),
        a_flag("renamed", THIRDS, coverage=50.0, salt="checkout"),
    )
    units = weight_units(THIRDS)
    for key in FEW_KEYS:
        answer = evaluator.resolve("checkout", {"targetingKey": key})
        assert answer == evaluator.resolve("renamed", {"targetingKey": key})
        if bucketing.in_coverage("checkout", key, 50_000):
            assert answer.variant == bucketing.pick_variant("checkout", key, list(THIRDS), units)
        else:
            assert answer.variant == "off"


def test_a_new_salt_re_randomises_variant_and_coverage() -> None:
    names, units = ["a", "b"], [50_000, 50_000]
    changed = sum(
        bucketing.pick_variant("checkout", key, names, units)
        != bucketing.pick_variant("checkout#2", key, names, units)
        for key in KEYS
    )
    assert within(changed, len(KEYS), 0.5), changed
    covered = [key for key in KEYS if bucketing.in_coverage("checkout", key, 50_000)]
    still = sum(bucketing.in_coverage("checkout#2", key, 50_000) for key in covered)
    assert within(still, len(covered), 0.5), still


# --- stability -------------------------------------------------------------------------

CHILD = """
import json
from launchdeck.flags.bucketing import rollout_bucket, variant_bucket
units = [f"user-{i}" for i in range(500)] + [f"\\u7528\\u6237-{i}-\\u00e9" for i in range(500)]
print(json.dumps({
    "buckets": [[rollout_bucket("stable", u), variant_bucket("stable", u)] for u in units],
    "hash": hash("stable"),
}))
"""


def test_buckets_are_the_same_in_a_fresh_interpreter_with_another_hash_seed() -> None:
    seed = "12345" if os.environ.get("PYTHONHASHSEED") != "12345" else "54321"
    run = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    child = json.loads(run.stdout)
    assert child["hash"] != hash("stable"), "the child should hash str differently"
    units = [f"user-{i}" for i in range(500)] + [f"用户-{i}-é" for i in range(500)]
    here = [
        [bucketing.rollout_bucket("stable", u), bucketing.variant_bucket("stable", u)]
        for u in units
    ]
    assert child["buckets"] == here


# --- properties ------------------------------------------------------------------------


@property_settings(max_examples=300)
@given(
    salt=st.text(min_size=1),
    unit=st.text(),
    coverages=st.tuples(st.integers(0, UNITS), st.integers(0, UNITS)).map(sorted),
)
def test_buckets_are_in_range_and_coverage_is_monotonic(
    salt: str, unit: str, coverages: list[int]
) -> None:
    low, high = coverages
    rollout = bucketing.rollout_bucket(salt, unit)
    assert 0 <= rollout < UNITS
    assert 0 <= bucketing.variant_bucket(salt, unit) < UNITS
    assert bucketing.in_coverage(salt, unit, low) == (rollout < low)
    if bucketing.in_coverage(salt, unit, low):
        assert bucketing.in_coverage(salt, unit, high)
    assert bucketing.in_coverage(salt, unit, UNITS)
    assert not bucketing.in_coverage(salt, unit, 0)


weights_strategy = st.lists(st.integers(0, UNITS), min_size=0, max_size=5).map(
    lambda cuts: [b - a for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), UNITS], strict=True)]
)
"""Integer weights adding up to 100,000, zeros included."""


@property_settings(max_examples=300)
@given(salt=st.text(min_size=1), unit=st.text(), weights=weights_strategy)
def test_the_variant_is_the_first_whose_bound_exceeds_the_bucket(
    salt: str, unit: str, weights: list[int]
) -> None:
    names = [f"v{i}" for i in range(len(weights))]
    chosen = names.index(bucketing.pick_variant(salt, unit, names, weights))
    bucket = bucketing.variant_bucket(salt, unit)
    assert weights[chosen] > 0
    assert sum(weights[:chosen]) <= bucket < sum(weights[: chosen + 1])
