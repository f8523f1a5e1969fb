"""SemVer 2.0.0 parsing and precedence, against the examples of semver.org."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchdeck.flags.semver import Version, parse
from strategies import property_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1.2.3", Version(1, 2, 3), id="a release"),
        pytest.param("0.0.4", Version(0, 0, 4), id="zeros"),
        pytest.param("v1.2.3", Version(1, 2, 3), id="a leading v"),
        pytest.param("V1.2.3", Version(1, 2, 3), id="a leading capital V"),
        pytest.param(
            "1.0.0-alpha.1", Version(1, 0, 0, ("alpha", 1)), id="numeric identifiers are ints"
        ),
        pytest.param("1.0.0-0A.is.legal", Version(1, 0, 0, ("0A", "is", "legal")), id="0A"),
        pytest.param(
            "1.1.2-prerelease+meta",
            Version(1, 1, 2, ("prerelease",), ("meta",)),
            id="a prerelease and build metadata",
        ),
        pytest.param(
            "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
            Version(1, 0, 0, (), ("0", "build", "1-rc", "10000aaa-kk-0", "1")),
            id="build identifiers keep leading zeros and hyphens",
        ),
        pytest.param(
            "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
            Version(1, 2, 3, ("---RC-SNAPSHOT", 12, 9, "1--", 12), ("788",)),
            id="hyphens in prerelease identifiers",
        ),
        pytest.param(
            "99999999999999999999999.999999999999999999.99999999999999999",
            Version(99999999999999999999999, 999999999999999999, 99999999999999999),
            id="numbers beyond 64 bits",
        ),
    ],
)
def test_parse_reads_the_parts(text: str, expected: Version) -> None:
    version = parse(text)
    assert version is not None
    assert (version.major, version.minor, version.patch) == (
        expected.major,
        expected.minor,
        expected.patch,
    )
    assert version.prerelease == expected.prerelease
    assert version.build == expected.build


# semver.org's list of valid versions (https://regex101.com/r/vkijKf/1/).
VALID = [
    "10.20.30",
    "1.1.2+meta",
    "1.1.2+meta-valid",
    "1.0.0-alpha",
    "1.0.0-alpha.beta.1",
    "1.0.0-alpha0.valid",
    "1.0.0-alpha.0valid",
    "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
    "1.0.0-rc.1+build.1",
    "2.0.0-rc.1+build.123",
    "10.2.3-DEV-SNAPSHOT",
    "1.2.3-SNAPSHOT-123",
    "2.0.0+build.1848",
    "2.0.1-alpha.1227",
    "1.0.0-alpha+beta",
    "1.2.3----R-S.12.9.1--.12+meta",
    "1.0.0--",
]


@pytest.mark.parametrize("text", VALID, ids=VALID)
def test_semver_org_valid_versions_parse_and_print_back(text: str) -> None:
    version = parse(text)
    assert version is not None
    assert str(version) == text


# semver.org's list of invalid versions, and what the spec's grammar also refuses.
INVALID = {
    "1": "one part",
    "1.2": "two parts",
    "1.2.3.4": "four parts",
    "1.2.3-0123": "a prerelease number with a leading zero",
    "1.2.3-0123.0123": "prerelease numbers with leading zeros",
    "1.1.2+.123": "an empty build identifier",
    "+invalid": "only build metadata",
    "-invalid": "only a prerelease",
    "-invalid+invalid": "a prerelease and build, no core",
    "alpha": "a word",
    "alpha.beta.1": "words and a number",
    "1.0.0-alpha_beta": "an underscore",
    "1.0.0-alpha..": "empty prerelease identifiers",
    "1.0.0-alpha..1": "an empty prerelease identifier in the middle",
    "01.1.1": "a major with a leading zero",
    "1.01.1": "a minor with a leading zero",
    "1.1.01": "a patch with a leading zero",
    "1.2.3.DEV": "a fourth dotted part",
    "1.2-SNAPSHOT": "two parts and a prerelease",
    "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788": "a prerelease 09 and an empty identifier",
    "-1.0.3-gamma+b7718": "a negative major",
    "+justmeta": "metadata alone",
    "9.8.7+meta+meta": "two plus signs",
    "9.8.7-whatever+meta+meta": "a prerelease and two plus signs",
    "1.2.3-": "an empty prerelease",
    "1.2.3+": "empty build metadata",
    "": "the empty string",
    "v": "a v alone",
    "vv1.2.3": "two leading vs",
    " 1.2.3": "a leading space",
    "1.2.3 ": "a trailing space",
    "１.2.3": "a fullwidth digit",
    "1.2.3-²": "a superscript digit",
    "1.2.3-é": "a non-ASCII letter",
    "1.2.3-\ud800": "a lone surrogate",
    "1.2.x": "an x range",
    f"{'9' * 5000}.0.0": "more digits than int() converts",
}


@pytest.mark.parametrize("text", list(INVALID), ids=list(INVALID.values()))
def test_parse_refuses_what_is_not_semver(text: str) -> None:
    assert parse(text) is None


# semver.org §11: each version has lower precedence than the next.
PRECEDENCE = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
]
PAIRS = list(combinations(PRECEDENCE, 2))


@pytest.mark.parametrize(("lower", "higher"), PAIRS, ids=[f"{a} < {b}" for a, b in PAIRS])
def test_semver_org_precedence_holds_for_every_pair(lower: str, higher: str) -> None:
    a, b = parse(lower), parse(higher)
    assert a is not None
    assert b is not None
    assert (a < b, a <= b, a > b, a >= b, a == b) == (True, True, False, False, False)
    assert (b > a, b >= a, b < a, b <= a, b == a) == (True, True, False, False, False)
    assert a.precedence() < b.precedence()


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        pytest.param("1.0.0-2", "1.0.0-10", id="numeric identifiers compare as numbers"),
        pytest.param("1.0.0-999", "1.0.0-a", id="a number ranks below a word"),
        pytest.param("1.0.0-B", "1.0.0-a", id="words compare in ASCII order"),
        pytest.param("1.0.0-a.b", "1.0.0-a.b.0", id="a prefix ranks lower"),
        pytest.param("1.9.0", "1.10.0", id="minor as a number"),
        pytest.param("1.0.0-rc.1+zzz", "1.0.0", id="build metadata does not lift a prerelease"),
    ],
)
def test_precedence_rules(lower: str, higher: str) -> None:
    a, b = parse(lower), parse(higher)
    assert a is not None
    assert b is not None
    assert a < b
    assert not b < a


def test_build_metadata_is_ignored_in_equality_and_hash() -> None:
    a, b = parse("1.0.0-rc.1+build.1"), parse("1.0.0-rc.1+build.2")
    assert a is not None
    assert b is not None
    assert a == b
    assert hash(a) == hash(b)
    assert not a < b
    assert a <= b
    assert a >= b
    assert a.build != b.build


def test_a_version_never_equals_another_type() -> None:
    version = Version(1, 0, 0)
    assert version != "1.0.0"
    assert version != (1, 0, 0)
    with pytest.raises(TypeError):
        _ = version < "2.0.0"


_IDENT = st.text("abcXYZ-0123456789", min_size=1, max_size=6)
_NUMBER = st.integers(min_value=0, max_value=10**20)
_PRERELEASE_ID = st.one_of(_NUMBER, _IDENT.filter(lambda s: not s.isdigit()))
versions = st.builds(
    Version,
    _NUMBER,
    _NUMBER,
    _NUMBER,
    st.lists(_PRERELEASE_ID, max_size=3).map(tuple),
    st.lists(_IDENT, max_size=2).map(tuple),
)


@property_settings(max_examples=200)
@given(versions)
def test_a_version_prints_and_parses_back(version: Version) -> None:
    parsed = parse(str(version))
    assert parsed == version
    assert parsed is not None
    assert parsed.build == version.build


@property_settings(max_examples=200)
@given(versions, versions)
def test_precedence_is_a_total_order(a: Version, b: Version) -> None:
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) == (a < b or a == b)
    assert (a < b) == (a.precedence() < b.precedence())


@property_settings(max_examples=200)
@given(st.text(max_size=30))
def test_parse_never_raises(text: str) -> None:
    assert parse(text) is None or isinstance(parse(text), Version)
