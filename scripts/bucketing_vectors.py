"""Write the published test vectors of bucketing spec v1 (docs/bucketing.md).

The values are computed here from the spec's own words, with `mmh3` and a plain-Python
MurmurHash3 that must agree on every input, and never through `launchdeck.flags.bucketing`:
tests/unit/flags/test_bucketing.py then compares two implementations, not one with itself.
The output is deterministic (sorted keys, indent 2, ASCII with escapes, so a combining
accent or an emoji is visible as code points); once published the file never changes.

    python scripts/bucketing_vectors.py           # (re)write tests/fixtures/bucketing_vectors.json
    python scripts/bucketing_vectors.py --check   # exit 1 if the file differs from what it computes
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import mmh3

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "bucketing_vectors.json"

SPEC_VERSION = 1
ROLLOUT_SEED = int.from_bytes(b"LDRO", "big")  # 0x4C44524F
VARIANT_SEED = int.from_bytes(b"LDVA", "big")  # 0x4C445641
BUCKETS = 100_000
MASK = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & MASK


def murmur3_x86_32(data: bytes, seed: int) -> int:
    """MurmurHash3_x86_32 as in Austin Appleby's reference C++, unsigned."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & MASK
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        h ^= (_rotl((k * c1) & MASK, 15) * c2) & MASK
        h = (_rotl(h, 13) * 5 + 0xE6546B64) & MASK
    if tail := data[whole:]:
        k = int.from_bytes(tail, "little")
        h ^= (_rotl((k * c1) & MASK, 15) * c2) & MASK
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK
    return h ^ (h >> 16)


def hash32(salt: str, unit: str, seed: int) -> int:
    data = f"{salt}:{unit}".encode()
    value = mmh3.hash(data, seed, signed=False)
    if value != murmur3_x86_32(data, seed):
        raise SystemExit(f"mmh3 and the reference MurmurHash3 disagree on {data!r}")
    return value


def units(percent: float) -> int:
    result = round(percent * 1000)
    if abs(result - percent * 1000) > 1e-6 or not 0 <= result <= BUCKETS:
        raise SystemExit(f"{percent} is not a percentage with at most three decimals")
    return result


def vector(
    case: str, salt: str, unit: str, coverage: float, weights: dict[str, float]
) -> dict[str, Any]:
    """One vector; `weights` in declared order, which the names' sorted order must equal
    (the file is written with sorted keys)."""
    if list(weights) != sorted(weights):
        raise SystemExit(f"{case}: name the variants so that sorted order is declared order")
    if sum(units(w) for w in weights.values()) != BUCKETS:
        raise SystemExit(f"{case}: the weights do not add up to 100 %")
    rollout_hash = hash32(salt, unit, ROLLOUT_SEED)
    variant_hash = hash32(salt, unit, VARIANT_SEED)
    rollout, variant = rollout_hash % BUCKETS, variant_hash % BUCKETS
    bound, chosen = 0, None
    for name, weight in weights.items():
        bound += units(weight)
        if variant < bound:
            chosen = name
            break
    return {
        "case": case,
        "salt": salt,
        "unit": unit,
        "rollout_hash": rollout_hash,
        "variant_hash": variant_hash,
        "rollout_bucket": rollout,
        "variant_bucket": variant,
        "coverage_percent": coverage,
        "in_coverage": rollout < units(coverage),
        "weights": weights,
        "variant": chosen,
    }


def find_unit(salt: str, seed: int, bucket: int) -> str:
    """The first `user-<n>` whose bucket under `seed` is `bucket` (about 100,000 tries)."""
    for n in count():
        unit = f"user-{n}"
        if hash32(salt, unit, seed) % BUCKETS == bucket:
            return unit
    raise AssertionError("unreachable")


HALF = {"control": 50.0, "treatment": 50.0}
THIRDS = {"a": 33.333, "b": 33.333, "c": 33.334}
FIFTHS = {"a": 20.0, "b": 20.0, "c": 20.0, "d": 20.0, "e": 20.0}


def vectors() -> Iterator[dict[str, Any]]:
    flag = "new-checkout"
    for unit in ["alice", "bob", "user-123", "user@example.com", "Alice"]:
        yield vector(f"ascii unit {unit!r}", flag, unit, 50.0, HALF)
    yield vector("uuid unit", flag, "6f1c2a1e-9b7d-4c35-8f0e-2d4b9a7c1e53", 25.0, HALF)
    yield vector("spaces are part of the unit", flag, " alice ", 50.0, HALF)
    yield vector("a colon in the unit", flag, "tenant:42", 50.0, HALF)
    yield vector("dotted flag key as salt", "pricing.v2", "alice", 10.0, THIRDS)
    yield vector("re-randomised salt", "new-checkout#2", "alice", 50.0, HALF)
    yield vector("re-randomised salt", "new-checkout#2", "bob", 50.0, HALF)
    # "{salt}:{unit}" is the whole input: these two share it, and so their buckets.
    yield vector("same input as the next vector", "a", "b:c", 50.0, HALF)
    yield vector("same input as the previous vector", "a:b", "c", 50.0, HALF)

    unicode_units = [
        ("e-acute, precomposed U+00E9", "\u00e9"),
        ("e + combining acute U+0301, not normalised", "e\u0301"),
        ("precomposed in a word", "caf\u00e9"),
        ("combining in a word", "cafe\u0301"),
        ("Chinese", "\u4e2d\u6587"),
        ("Chinese with ASCII", "\u7528\u6237-42"),
        ("emoji (4 UTF-8 bytes)", "\U0001f680"),
        ("emoji ZWJ sequence", "\U0001f469\u200d\U0001f4bb"),
        ("regional-indicator flag", "\U0001f1eb\U0001f1f7"),
        ("ohm sign U+2126, not normalised to omega", "\u2126"),
        ("omega U+03A9", "\u03a9"),
        ("NUL inside the unit", "a\x00b"),
        ("right-to-left text", "\u05e9\u05dc\u05d5\u05dd"),
    ]
    for case, unit in unicode_units:
        yield vector(f"unicode: {case}", flag, unit, 50.0, HALF)
    yield vector("unicode salt", "caf\u00e9-flag", "alice", 50.0, HALF)
    yield vector("unicode salt and unit", "\u4e2d\u6587", "\U0001f680", 20.0, FIFTHS)

    yield vector("empty string unit", flag, "", 50.0, HALF)
    yield vector("empty string unit, full coverage", "pricing.v2", "", 100.0, THIRDS)
    yield vector("long ASCII unit (1000 chars)", flag, "0123456789" * 100, 50.0, HALF)
    yield vector("long unicode unit (300 x e-acute)", flag, "\u00e9" * 300, 50.0, HALF)
    for length in (1, 2, 3, 4, 5):  # every MurmurHash3 tail length, with the salt "k:"
        yield vector(f"input of {length + 2} bytes", "k", "x" * length, 50.0, HALF)

    integers = [
        ("integer 0", "0"),
        ("integer 42", "42"),
        ("negative integer", "-7"),
        ("integer 2^53 + 1 (exact, never via a double)", "9007199254740993"),
        ("integer 2^64", "18446744073709551616"),
    ]
    for case, unit in integers:
        yield vector(f"{case}, as its decimal string", flag, unit, 50.0, HALF)

    for coverage in (0.0, 0.001, 12.345, 99.999, 100.0):
        yield vector(f"coverage {coverage}%", flag, "alice", coverage, HALF)

    salt = "edge"
    low = find_unit(salt, ROLLOUT_SEED, 0)
    high = find_unit(salt, ROLLOUT_SEED, BUCKETS - 1)
    yield vector("rollout bucket 0: in at 0.001%", salt, low, 0.001, HALF)
    yield vector("rollout bucket 0: out at 0%", salt, low, 0.0, HALF)
    yield vector("rollout bucket 99999: out at 99.999%", salt, high, 99.999, HALF)
    yield vector("rollout bucket 99999: in at 100%", salt, high, 100.0, HALF)
    bucket = hash32(salt, "alice", ROLLOUT_SEED) % BUCKETS
    yield vector("coverage equal to the bucket: out", salt, "alice", bucket / 1000, HALF)
    yield vector("coverage one above the bucket: in", salt, "alice", (bucket + 1) / 1000, HALF)

    bucket = hash32(salt, "bob", VARIANT_SEED) % BUCKETS
    below, above = bucket / 1000, (BUCKETS - bucket) / 1000
    yield vector(
        "variant bucket equal to the first bound: second variant",
        salt,
        "bob",
        100.0,
        {"a": below, "b": above},
    )
    yield vector(
        "first bound one above the variant bucket: first variant",
        salt,
        "bob",
        100.0,
        {"a": (bucket + 1) / 1000, "b": (BUCKETS - bucket - 1) / 1000},
    )
    yield vector(
        "zero-weight variant at the bucket is skipped",
        salt,
        "bob",
        100.0,
        {"a": below, "b": 0.0, "c": above},
    )
    zero = find_unit(salt, VARIANT_SEED, 0)
    top = find_unit(salt, VARIANT_SEED, BUCKETS - 1)
    yield vector("variant bucket 0, first variant", salt, zero, 100.0, HALF)
    yield vector(
        "variant bucket 0, zero-weight first variant skipped",
        salt,
        zero,
        100.0,
        {"a": 0.0, "b": 100.0},
    )
    yield vector("variant bucket 99999, last variant", salt, top, 100.0, FIFTHS)
    yield vector(
        "variant bucket 99999, zero-weight last variant never chosen",
        salt,
        top,
        100.0,
        {"a": 0.001, "b": 99.999, "c": 0.0},
    )
    yield vector("single variant at 100%", salt, "alice", 100.0, {"on": 100.0})
    for unit in ("carol", "dave", "erin"):
        yield vector(f"three-way split, {unit}", "pricing.v2", unit, 100.0, THIRDS)
    for unit in ("frank", "grace", "heidi"):
        yield vector(f"five-way split, {unit}", "pricing.v2", unit, 100.0, FIFTHS)
    yield vector(
        "uneven weights with 3 decimals",
        flag,
        "ivan",
        100.0,
        {"a": 0.5, "b": 12.345, "c": 87.155},
    )


def document() -> str:
    body = {
        "spec": "launchdeck bucketing, docs/bucketing.md",
        "bucketing": SPEC_VERSION,
        "rollout_seed": ROLLOUT_SEED,
        "variant_seed": VARIANT_SEED,
        "buckets": BUCKETS,
        "generated_by": "scripts/bucketing_vectors.py",
        "vectors": list(vectors()),
    }
    return json.dumps(body, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def main(argv: list[str]) -> int:
    text = document()
    if argv == ["--check"]:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} differs from what scripts/bucketing_vectors.py computes")
            return 1
        print(f"{OUT} is up to date")
        return 0
    if argv:
        print(__doc__)
        return 2
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
