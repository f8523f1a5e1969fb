"""Bucketing spec v1: who is in a rollout, and which variant they get. Pure and frozen.

docs/bucketing.md is the specification and tests/fixtures/bucketing_vectors.json its published
test vectors; any change here is a new spec version (a flag records the version it was written
for, so a change can never silently re-bucket users).

- The unit is the value of the stickiness attribute: a string as is, an integer in decimal.
  Anything else (absent, float, bool, object) is not bucketable: the unit is outside coverage.
- The hash input is the UTF-8 of `"{salt}:{unit}"`; the salt defaults to the flag key.
- Two independent hashes (MurmurHash3 x86 32-bit, two seeds) give a rollout bucket and a
  variant bucket in [0, 100000): the unit is covered when `rollout_bucket < coverage`; its
  variant is the first whose cumulative weight exceeds `variant_bucket`. Raising coverage only
  adds units, and never changes anyone's variant.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import mmh3

from launchdeck.flags.model import UNITS

__all__ = [
    "ROLLOUT_SEED",
    "SPEC_VERSION",
    "VARIANT_SEED",
    "hash_input",
    "in_coverage",
    "pick_variant",
    "rollout_bucket",
    "unit_of",
    "variant_bucket",
]

SPEC_VERSION = 1
ROLLOUT_SEED = 0x4C44524F
"""'LDRO': the seed of "is this unit in the rollout"."""
VARIANT_SEED = 0x4C445641
"""'LDVA': the seed of "which variant", independent of the first."""


def unit_of(value: object) -> str | None:
    """The bucketing unit of an attribute value, or None when it cannot be bucketed."""
    if type(value) is str:
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8 bytes to hash
            return None
        return value
    if type(value) is int:
        try:
            return str(value)
        except ValueError:  # beyond Python's digit limit: no user id is that long
            return None
    return None


def hash_input(salt: str, unit: str) -> bytes:
    return f"{salt}:{unit}".encode()


def rollout_bucket(salt: str, unit: str) -> int:
    return mmh3.hash(hash_input(salt, unit), ROLLOUT_SEED, signed=False) % UNITS


def variant_bucket(salt: str, unit: str) -> int:
    return mmh3.hash(hash_input(salt, unit), VARIANT_SEED, signed=False) % UNITS


def in_coverage(salt: str, unit: str, coverage_units: int) -> bool:
    return coverage_units >= UNITS or rollout_bucket(salt, unit) < coverage_units


def bounds(weights_units: Sequence[int]) -> list[int]:
    """Cumulative upper bounds of the variants, in declared order."""
    return list(accumulate(weights_units))


def pick_variant(
    salt: str, unit: str, variants: Sequence[str], weights_units: Sequence[int]
) -> str:
    """The variant of a covered unit (weights in units, adding up to 100,000)."""
    return variants[bisect_right(bounds(weights_units), variant_bucket(salt, unit))]
