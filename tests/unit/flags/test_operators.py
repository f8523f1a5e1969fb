"""Clause operators: every operator's matches, non-matches and type mismatches; compile errors."""

from __future__ import annotations

import enum
import math
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchdeck.flags.operators import (
    MAX_MATCHED_CHARS,
    MAX_PATTERN_CHARS,
    OPERATORS,
    OperatorError,
    compile_predicate,
)
from strategies import property_settings

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()
WHERE = "flags[bf-hero-banner].environments.production.rules[0].when"
RE2_HINT = (
    "use a pattern without backreferences or lookaround; "
    "launchdeck uses RE2 so a pattern can never take exponential time"
)


def at(*parts: int) -> float:
    """Unix seconds of a UTC wall time."""
    return datetime(*parts, tzinfo=UTC).timestamp()


def ms(*parts: int) -> int:
    """Unix epoch milliseconds of a UTC wall time."""
    return round(at(*parts) * 1000)


class Plan(enum.StrEnum):
    PRO = "pro"


class Level(enum.IntEnum):
    FIVE = 5


NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")

# (op, values, attribute value, expected)
CASES = [
    # in / not_in
    pytest.param("in", ["US", "CA"], "CA", True, id="in: a listed string"),
    pytest.param("in", ["US", "CA"], "us", False, id="in: case matters"),
    pytest.param("in", ["US", "CA"], Plan.PRO, False, id="in: a str enum not listed"),
    pytest.param("in", ["pro"], Plan.PRO, True, id="in: a str enum compares as its string"),
    pytest.param("in", ["1"], 1, False, id="in: the number 1 is not the string '1'"),
    pytest.param("in", [1], "1", False, id="in: the string '1' is not the number 1"),
    pytest.param("in", [1], 1.0, True, id="in: numbers compare by value across int and float"),
    pytest.param("in", [1], Level.FIVE, False, id="in: an int enum of another number"),
    pytest.param("in", [5], Level.FIVE, True, id="in: an int enum that is listed"),
    pytest.param("in", [1], True, False, id="in: True is not 1"),
    pytest.param("in", [0], False, False, id="in: False is not 0"),
    pytest.param("in", [True], 1, False, id="in: 1 is not True"),
    pytest.param("in", [True], True, True, id="in: a listed bool"),
    pytest.param("in", ["a", 2, False], False, True, id="in: mixed values, a bool"),
    pytest.param("in", ["a", 2, False], 2, True, id="in: mixed values, a number"),
    pytest.param("in", ["a", 2, False], "a", True, id="in: mixed values, a string"),
    pytest.param("in", ["a"], ["a"], False, id="in: a list never matches"),
    pytest.param("in", ["a"], {"a": 1}, False, id="in: a dict never matches"),
    pytest.param("in", [10**30], 10**30, True, id="in: a huge int"),
    pytest.param("in", [1.5], math.nan, False, id="in: NaN equals nothing"),
    pytest.param("in", ["🚀"], "🚀", True, id="in: an emoji"),
    pytest.param("in", [NFC], NFD, False, id="in: NFC and NFD are not normalised"),
    pytest.param("not_in", ["US", "CA"], "FR", True, id="not_in: an unlisted string"),
    pytest.param("not_in", ["US", "CA"], "US", False, id="not_in: a listed string"),
    pytest.param("not_in", ["1"], 1, True, id="not_in: the number 1 is not the string '1'"),
    pytest.param("not_in", [1], True, True, id="not_in: True is not 1"),
    pytest.param("not_in", [1], 1.0, False, id="not_in: 1.0 is 1"),
    pytest.param("not_in", ["a"], ["b"], False, id="not_in: false for a list"),
    pytest.param("not_in", ["a"], {"b": 1}, False, id="not_in: false for a dict"),
    # equals, starts_with, ends_with, contains and the _ci forms
    pytest.param("equals", ["gold", "silver"], "silver", True, id="equals: any value"),
    pytest.param("equals", ["gold"], "Gold", False, id="equals: case matters"),
    pytest.param("equals", ["1"], 1, False, id="equals: a number is not a string"),
    pytest.param("equals", ["pro"], Plan.PRO, True, id="equals: a str enum"),
    pytest.param("equals", [NFC], NFD, False, id="equals: NFC and NFD are not normalised"),
    pytest.param("equals_ci", ["straße"], "STRASSE", True, id="equals_ci: ß casefolds to ss"),
    pytest.param("equals_ci", ["σας"], "ΣΑΣ", True, id="equals_ci: final sigma"),
    pytest.param("equals_ci", ["Gold"], "gOLD", True, id="equals_ci: ASCII case"),
    pytest.param("equals_ci", [NFC], NFD.upper(), False, id="equals_ci: NFD still differs"),
    pytest.param("equals_ci", ["istanbul"], "İstanbul", False, id="equals_ci: İ keeps its dot"),
    pytest.param("equals_ci", ["true"], True, False, id="equals_ci: a bool is not a string"),
    pytest.param("starts_with", ["+33", "+49"], "+4930123", True, id="starts_with: any prefix"),
    pytest.param("starts_with", ["+33"], "0033", False, id="starts_with: another prefix"),
    pytest.param("starts_with", ["🚀"], "🚀 launch", True, id="starts_with: an emoji"),
    pytest.param("starts_with", [""], "anything", True, id="starts_with: empty prefix"),
    pytest.param("starts_with_ci", ["STRASSE"], "straße 1", True, id="starts_with_ci: ß"),
    pytest.param("starts_with_ci", ["ab"], "xAB", False, id="starts_with_ci: not a prefix"),
    pytest.param("ends_with", ["@acme.com"], "ann@acme.com", True, id="ends_with: a suffix"),
    pytest.param("ends_with", ["@acme.com"], "ann@ACME.com", False, id="ends_with: case"),
    pytest.param("ends_with_ci", ["@acme.com"], "ann@ACME.COM", True, id="ends_with_ci: case"),
    pytest.param("ends_with_ci", ["@acme.com"], "acme.com.evil", False, id="ends_with_ci: no"),
    pytest.param("contains", ["beta"], "app-beta-2", True, id="contains: a substring"),
    pytest.param("contains", ["beta", "rc"], "app-rc", True, id="contains: any value"),
    pytest.param("contains", ["beta"], "app", False, id="contains: absent"),
    pytest.param("contains", ["🚀"], "go 🚀 go", True, id="contains: an emoji"),
    pytest.param("contains", ["é"], NFD, False, id="contains: NFC é is not in NFD text"),
    pytest.param("contains_ci", ["BETA"], "app-Beta", True, id="contains_ci: case"),
    pytest.param("contains_ci", ["ss"], "Straße", True, id="contains_ci: ß contains ss"),
    # matches: RE2, search semantics
    pytest.param("matches", ["beta"], "app-beta-2", True, id="matches: searches, not anchored"),
    pytest.param("matches", ["^beta"], "app-beta", False, id="matches: anchors hold"),
    pytest.param("matches", ["^a", "z$"], "xyz", True, id="matches: any pattern"),
    pytest.param("matches", ["(?i)^ADMIN@"], "admin@x.io", True, id="matches: (?i) flag"),
    pytest.param("matches", [r"^\p{Greek}+$"], "αβγ", True, id="matches: Unicode classes"),
    pytest.param("matches", ["🚀"], "go 🚀", True, id="matches: an emoji"),
    pytest.param("matches", [r"^\d+$"], 123, False, id="matches: a number is not text"),
    pytest.param("matches", ["x"], "\ud800x", False, id="matches: a lone surrogate is false"),
    pytest.param(
        "matches", ["a"], "a" * MAX_MATCHED_CHARS, True, id="matches: 10,000 chars are read"
    ),
    pytest.param(
        "matches", ["a"], "a" * (MAX_MATCHED_CHARS + 1), False, id="matches: longer never match"
    ),
    pytest.param(
        "matches", ["(a+)+$"], "a" * 5000 + "!", False, id="matches: a catastrophic pattern"
    ),
    pytest.param(
        "matches", [r"^[^@]+@acme\.com$"], "ann@acme.com", True, id="matches: an email rule"
    ),
    # eq gt gte lt lte
    pytest.param("eq", [3], 3.0, True, id="eq: int and float"),
    pytest.param("eq", [3, 4], 4, True, id="eq: any value"),
    pytest.param("eq", [3], 3.5, False, id="eq: another number"),
    pytest.param("eq", [1], True, False, id="eq: a bool is not a number"),
    pytest.param("eq", [3], "3", False, id="eq: a string is not a number"),
    pytest.param("eq", [5], Level.FIVE, True, id="eq: an int enum"),
    pytest.param("gt", [5], 5.5, True, id="gt: a float above an int"),
    pytest.param("gt", [5], 5, False, id="gt: equal is not greater"),
    pytest.param("gt", [5, 10], 6, True, id="gt: above any value"),
    pytest.param("gt", [5], 10**400, True, id="gt: a huge int"),
    pytest.param("gt", [5], math.inf, True, id="gt: infinity"),
    pytest.param("gt", [5], math.nan, False, id="gt: NaN"),
    pytest.param("gt", [0], True, False, id="gt: True is not 1"),
    pytest.param("gte", [5], 5, True, id="gte: equal"),
    pytest.param("gte", [5.5], 5, False, id="gte: an int below a float"),
    pytest.param("lt", [5], 4.999, True, id="lt: below"),
    pytest.param("lt", [5, 1], 4, True, id="lt: below any value"),
    pytest.param("lt", [5], -(10**400), True, id="lt: a huge negative int"),
    pytest.param("lt", [5], "4", False, id="lt: a string is not a number"),
    pytest.param("lte", [5], 5.0, True, id="lte: equal"),
    pytest.param("lte", [5], 6, False, id="lte: above"),
    # semver_*
    pytest.param("semver_eq", ["1.0.0"], "1.0.0+build.7", True, id="semver_eq: build ignored"),
    pytest.param("semver_eq", ["1.0.0"], "v1.0.0", True, id="semver_eq: a leading v"),
    pytest.param("semver_eq", ["1.0.0"], "1.0", False, id="semver_eq: not semver"),
    pytest.param("semver_gt", ["1.9.0"], "1.10.0", True, id="semver_gt: numeric minor"),
    pytest.param("semver_gt", ["1.0.0"], "1.0.0", False, id="semver_gt: equal"),
    pytest.param("semver_gt", ["1.0.0-rc.1"], "1.0.0", True, id="semver_gt: release over rc"),
    pytest.param("semver_gte", ["2.0.0"], "2.0.0", True, id="semver_gte: equal"),
    pytest.param("semver_gte", ["2.0.0"], "2.0.0-rc.9", False, id="semver_gte: a prerelease"),
    pytest.param("semver_gte", ["2.0.0"], "02.0.0", False, id="semver_gte: a leading zero"),
    pytest.param("semver_lt", ["1.0.0"], "1.0.0-beta.11", True, id="semver_lt: prerelease"),
    pytest.param("semver_lt", ["1.0.0-beta.2"], "1.0.0-beta.11", False, id="semver_lt: 11>2"),
    pytest.param("semver_lte", ["1.2.3"], "V1.2.3", True, id="semver_lte: equal, capital V"),
    pytest.param("semver_lte", ["1.2.3"], 1, False, id="semver_lte: a number is not a version"),
    pytest.param("semver_gt", ["0.0.1"], "x" * 100, False, id="semver_gt: long junk"),
    # before / after: ISO strings, epoch milliseconds, relative bounds
    pytest.param("before", ["2026-12-01T00:00:00Z"], "2026-11-30T23:59:59Z", True, id="before"),
    pytest.param(
        "before", ["2026-12-01T00:00:00Z"], "2026-12-01T00:00:00Z", False, id="before: =="
    ),
    pytest.param("after", ["2026-12-01T00:00:00Z"], "2026-12-01T00:00:01+00:00", True, id="after"),
    pytest.param("after", ["2026-12-01"], "2026-11-30T23:00:00-02:00", True, id="after: offset"),
    pytest.param("before", ["2026-12-01T00:00:00Z"], ms(2026, 11, 30), True, id="before: epoch ms"),
    pytest.param("after", ["2026-12-01T00:00:00Z"], ms(2026, 11, 30), False, id="after: epoch ms"),
    pytest.param(
        "after", ["2026-12-01T00:00:00Z"], ms(2026, 12, 1) + 0.5, True, id="after: fractional ms"
    ),
    pytest.param("after", ["2026-12-01T00:00:00Z"], 10**30, True, id="after: a huge int"),
    pytest.param("before", ["2026-12-01T00:00:00Z"], math.nan, False, id="before: NaN"),
    pytest.param("before", ["2026-12-01T00:00:00Z"], True, False, id="before: a bool"),
    pytest.param("before", ["2026-12-01T00:00:00Z"], "soon", False, id="before: not a date"),
    pytest.param("before", ["2026-12-01T00:00:00Z"], ["2026"], False, id="before: a list"),
    pytest.param("before", ["-30d"], "2026-10-21T11:59:59Z", True, id="before -30d"),
    pytest.param("before", ["-30d"], "2026-10-21T12:00:01Z", False, id="before -30d: later"),
    pytest.param("after", ["+2h"], "2026-11-20T14:00:01Z", True, id="after +2h"),
    pytest.param("after", ["now"], "2026-11-20T12:00:00Z", False, id="after now: equal"),
    pytest.param("before", ["now"], NOW * 1000 - 1, True, id="before now: epoch ms"),
    pytest.param("before", ["-1w", "2027-01-01"], "2026-12-31", True, id="before: latest bound"),
    pytest.param("after", ["-1w", "2020-01-01"], "2021-01-01", True, id="after: earliest bound"),
    # in_cidr
    pytest.param("in_cidr", ["10.0.0.0/8"], "10.200.0.1", True, id="in_cidr: IPv4 inside"),
    pytest.param("in_cidr", ["10.0.0.0/8"], "11.0.0.1", False, id="in_cidr: IPv4 outside"),
    pytest.param("in_cidr", ["10.0.0.0/8", "192.168.0.0/16"], "192.168.1.1", True, id="any net"),
    pytest.param("in_cidr", ["10.0.0.1"], "10.0.0.1", True, id="in_cidr: an address is a /32"),
    pytest.param("in_cidr", ["2001:db8::/32"], "2001:db8::1", True, id="in_cidr: IPv6 inside"),
    pytest.param("in_cidr", ["2001:db8::/32"], "2001:db9::1", False, id="in_cidr: IPv6 outside"),
    pytest.param("in_cidr", ["2001:DB8::/32"], "2001:0db8:0::1", True, id="in_cidr: IPv6 spelling"),
    pytest.param("in_cidr", ["10.0.0.0/8"], "::ffff:10.1.2.3", True, id="in_cidr: IPv4-mapped"),
    pytest.param("in_cidr", ["10.0.0.0/8"], "::ffff:11.1.2.3", False, id="in_cidr: mapped, out"),
    pytest.param("in_cidr", ["::ffff:0:0/96"], "::ffff:10.1.2.3", True, id="in_cidr: mapped net"),
    pytest.param("in_cidr", ["fe80::/10"], "fe80::1%eth0", True, id="in_cidr: a scoped IPv6"),
    pytest.param("in_cidr", ["0.0.0.0/0"], "2001:db8::1", False, id="in_cidr: IPv6 vs IPv4 net"),
    pytest.param("in_cidr", ["::/0"], "10.0.0.1", False, id="in_cidr: IPv4 vs IPv6 net"),
    pytest.param("in_cidr", ["10.0.0.0/8"], "10.0.0.256", False, id="in_cidr: octet over 255"),
    pytest.param("in_cidr", ["10.0.0.0/8"], "010.0.0.1", False, id="in_cidr: leading zeros"),
    pytest.param("in_cidr", ["10.0.0.0/8"], " 10.0.0.1", False, id="in_cidr: a leading space"),
    pytest.param("in_cidr", ["10.0.0.0/8"], "10.0.0.0/8", False, id="in_cidr: a network"),
    pytest.param("in_cidr", ["10.0.0.0/8"], "banana", False, id="in_cidr: not an address"),
    pytest.param("in_cidr", ["10.0.0.0/8"], 167772161, False, id="in_cidr: an int address"),
]


@pytest.mark.parametrize(("op", "values", "value", "expected"), CASES)
def test_operator(op: str, values: list[Any], value: object, expected: bool) -> None:
    predicate = compile_predicate(op, values, clock=lambda: NOW)
    assert predicate(value) is expected


def test_the_table_covers_every_operator() -> None:
    assert {case.values[0] for case in CASES} == set(OPERATORS)


# A valid clause per operator, to try values of the wrong type against.
CLAUSES: dict[str, list[Any]] = {
    "in": ["a", 1, True],
    "not_in": ["a", 1, True],
    **{op: ["1"] for op in OPERATORS if op.startswith(("equals", "starts", "ends", "contains"))},
    "matches": ["."],
    **{op: [1] for op in ("eq", "gt", "gte", "lt", "lte")},
    **{op: ["1.0.0"] for op in OPERATORS if op.startswith("semver")},
    "before": ["+1000w"],
    "after": ["-1000w"],
    "in_cidr": ["0.0.0.0/0", "::/0"],
}
WRONG_TYPES: dict[str, list[object]] = {
    "a list": [["1"], [1], []],
    "a dict": [{"1": 1}, {}],
    "a tuple": [("1",)],
    "None": [None],
    "bytes": [b"1"],
    "an object": [object()],
}
TEXT_ONLY = [op for op in OPERATORS if op not in ("in", "not_in", "before", "after")]
NUMBER_OR_TEXT = ["in", "not_in", "before", "after"]
MISMATCHES = (
    [
        pytest.param(op, value, id=f"{op} on {kind}")
        for op in OPERATORS
        for kind, values in WRONG_TYPES.items()
        for value in values
    ]
    + [
        pytest.param(op, value, id=f"{op} on {kind}")
        for op in TEXT_ONLY
        if op not in ("eq", "gt", "gte", "lt", "lte")
        for kind, value in (("an int", 1), ("a float", 1.0), ("a bool", True))
    ]
    + [
        pytest.param(op, value, id=f"{op} on {kind}")
        for op in ("eq", "gt", "gte", "lt", "lte")
        for kind, value in (("a string", "1"), ("a bool", True), ("False", False))
    ]
)


@pytest.mark.parametrize(("op", "value"), MISMATCHES)
def test_a_value_of_the_wrong_type_never_matches(op: str, value: object) -> None:
    assert compile_predicate(op, CLAUSES[op], clock=lambda: NOW)(value) is False


@pytest.mark.parametrize("op", NUMBER_OR_TEXT)
def test_membership_and_dates_check_a_bool_is_not_a_number(op: str) -> None:
    values = [1] if op in ("in", "not_in") else ["2026-01-01"]
    expected = op == "not_in"
    assert compile_predicate(op, values, clock=lambda: NOW)(True) is expected


# Naive times are read in the clause's zone with fold=0: in a gap, the offset before the change
# (02:30 EST = 03:30 EDT); in a fold, the first occurrence (02:30 CEST).
INSTANTS = [
    pytest.param(
        "America/New_York", "2026-03-08T02:30", at(2026, 3, 8, 7, 30), id="New York DST gap"
    ),
    pytest.param(
        "America/New_York", "2026-11-01T01:30", at(2026, 11, 1, 5, 30), id="New York DST fold"
    ),
    pytest.param(
        "Europe/Berlin", "2026-10-25T02:30", at(2026, 10, 25, 0, 30), id="Berlin DST fold"
    ),
    pytest.param("Europe/Berlin", "2026-03-29T02:30", at(2026, 3, 29, 1, 30), id="Berlin gap"),
    pytest.param(
        "America/New_York", "2026-03-08", at(2026, 3, 8, 5), id="a date is midnight in the zone"
    ),
    pytest.param("Europe/Berlin", "2026-10-25", at(2026, 10, 24, 22), id="a date in summer time"),
    pytest.param(
        "Europe/Berlin", "2026-10-25T02:30:00+01:00", at(2026, 10, 25, 1, 30), id="an offset wins"
    ),
    pytest.param("Asia/Tokyo", "2026-10-25T02:30:00Z", at(2026, 10, 25, 2, 30), id="Z is UTC"),
    pytest.param("UTC", "20260308T0230Z", at(2026, 3, 8, 2, 30), id="ISO basic format"),
    pytest.param("UTC", "2026-03-08T02:30:00.250", at(2026, 3, 8, 2, 30) + 0.25, id="a fraction"),
]


@pytest.mark.parametrize(("zone", "text", "instant"), INSTANTS)
def test_an_attribute_date_reads_as_one_instant(zone: str, text: str, instant: float) -> None:
    def bound(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat()

    def check(op: str, seconds: float) -> bool:
        return compile_predicate(op, [bound(seconds)], timezone=zone)(text)

    assert check("before", instant + 0.001) is True
    assert check("before", instant) is False
    assert check("after", instant) is False
    assert check("after", instant - 0.001) is True


@pytest.mark.parametrize(
    ("zone", "value", "instant"),
    [
        pytest.param("America/New_York", "2026-03-08T02:30", at(2026, 3, 8, 7, 30), id="a gap"),
        pytest.param("Europe/Berlin", "2026-10-25T02:30", at(2026, 10, 25, 0, 30), id="a fold"),
        pytest.param("Europe/Berlin", "2026-12-24", at(2026, 12, 23, 23), id="a date"),
    ],
)
def test_a_clause_date_is_read_in_the_clause_zone(zone: str, value: str, instant: float) -> None:
    before = compile_predicate("before", [value], timezone=zone)
    assert before(round(instant * 1000) - 1) is True
    assert before(round(instant * 1000)) is False


def test_minus_one_day_is_24_hours_across_a_dst_change() -> None:
    # Sunday 2026-03-08 12:00 EDT, hours after New York sprang forward at 02:00 EST.
    now = at(2026, 3, 8, 16)
    before = compile_predicate("before", ["-1d"], timezone="America/New_York", clock=lambda: now)
    # 24 h earlier is Saturday 11:00 EST (16:00Z), not the calendar's "12:00 yesterday".
    assert before("2026-03-07T10:59:59") is True
    assert before("2026-03-07T11:00:01") is False
    assert before("2026-03-07T11:30") is False


def test_a_relative_bound_follows_the_clock_at_each_call() -> None:
    now = [NOW]
    after = compile_predicate("after", ["-1h"], clock=lambda: now[0])
    attribute = "2026-11-20T11:30:00Z"
    assert after(attribute) is True
    now[0] += 3600
    assert after(attribute) is False


def test_an_absolute_bound_never_reads_the_clock() -> None:
    def clock() -> float:
        raise AssertionError("the clock was read")

    before = compile_predicate("before", ["2026-12-01T00:00:00Z"], clock=clock)
    assert before("2026-11-30") is True


def test_a_catastrophic_pattern_on_a_long_input_answers() -> None:
    # RE2 runs in linear time; Python's re would backtrack for an astronomically long time here.
    predicate = compile_predicate("matches", ["(a+)+$"])
    assert predicate("a" * 50_000 + "!") is False
    assert predicate("a" * 9_999) is True


ERRORS = [
    pytest.param("inn", ["a"], "op: unknown operator 'inn'; did you mean 'in'?", id="a typo"),
    pytest.param(
        "startsWith",
        ["a"],
        "op: unknown operator 'startsWith'; did you mean 'starts_with'?",
        id="camelCase",
    ),
    pytest.param(
        "in_segment",
        ["vip"],
        "op: unknown operator 'in_segment'; in_segment is evaluated by the evaluator, "
        "not compiled as an operator",
        id="in_segment is the evaluator's",
    ),
    pytest.param("in", [], "values: in needs at least one value; add one", id="no values"),
    pytest.param("in", "US", "values: in takes a list of values; write a list", id="a string"),
    pytest.param(
        "in",
        ["US", None],
        "values[1]: in takes strings, finite numbers or booleans, not null; "
        "write each value as a plain string, number, true or false",
        id="in: null",
    ),
    pytest.param("in", ["US", ["CA"]], "values[1]: in takes strings", id="in: a list"),
    pytest.param("not_in", [{"a": 1}], "values[0]: not_in takes strings", id="not_in: a dict"),
    pytest.param(
        "in",
        [math.nan],
        "values[0]: in takes strings, finite numbers or booleans, not nan",
        id="NaN",
    ),
    pytest.param(
        "equals",
        [["a"]],
        "values[0]: equals compares strings, not a list; write a string",
        id="list",
    ),
    pytest.param(
        "equals",
        ["a", 1],
        "values[1]: equals compares strings, not a number; quote it: '1'",
        id="equals: int",
    ),
    pytest.param("contains_ci", [True], "values[0]: contains_ci compares strings", id="a bool"),
    pytest.param(
        "matches",
        ["(a)\\1"],
        f"values[0]: pattern '(a)\\\\1' is not valid RE2 (invalid escape sequence: \\1); "
        f"{RE2_HINT}",
        id="a backreference",
    ),
    pytest.param(
        "matches",
        ["["],
        "values[0]: pattern '[' is not valid RE2 (missing ]: [); fix the pattern's syntax",
        id="bad syntax",
    ),
    pytest.param(
        "matches",
        ["a" * (MAX_PATTERN_CHARS + 1)],
        "values[0]: the pattern is 1001 characters long, over 1000; shorten it, or split it "
        "into several values (any value matching is a match)",
        id="a pattern over 1000 characters",
    ),
    pytest.param(
        "matches",
        ["a\ud800"],
        "values[0]: pattern 'a\\ud800' holds a lone surrogate; remove it",
        id="a lone surrogate",
    ),
    pytest.param(
        "gt",
        ["5"],
        "values[0]: gt compares finite numbers, not '5'; write the number without quotes",
        id="gt: a string",
    ),
    pytest.param(
        "gt",
        [True],
        "values[0]: gt compares finite numbers, not True; write a number",
        id="gt: a bool",
    ),
    pytest.param(
        "lte", [math.inf], "values[0]: lte compares finite numbers, not inf", id="lte: inf"
    ),
    pytest.param(
        "semver_gt",
        ["1.2"],
        "values[0]: '1.2' is not a SemVer 2.0.0 version; write MAJOR.MINOR.PATCH without "
        "leading zeros, such as '1.4.0' or '2.0.0-rc.1'",
        id="semver: two parts",
    ),
    pytest.param("semver_eq", ["01.0.0"], "values[0]: '01.0.0' is not a SemVer", id="zero"),
    pytest.param("semver_lt", [1], "values[0]: semver_lt compares strings", id="semver: int"),
    pytest.param(
        "before",
        ["30d"],
        "values[0]: '30d' is neither an ISO 8601 instant nor a relative time; write an instant "
        "such as '2026-11-27T09:00:00Z' (without an offset it is read in UTC), or 'now', "
        "'-30d', '+2h' (units s, m, h, d, w)",
        id="a relative time without a sign",
    ),
    pytest.param("after", ["-3y"], "values[0]: '-3y' is neither", id="years"),
    pytest.param("after", ["-1.5h"], "values[0]: '-1.5h' is neither", id="a fraction"),
    pytest.param("after", ["2026-13-01"], "values[0]: '2026-13-01' is neither", id="month 13"),
    pytest.param(
        "after",
        ["-36501d"],
        "values[0]: '-36501d' is too far; use at most 36500d (100 years)",
        id="too far",
    ),
    pytest.param("before", [1700000000000], "values[0]: before compares strings", id="ms"),
    pytest.param(
        "in_cidr",
        ["10.0.0.1/8"],
        "values[0]: '10.0.0.1/8' is not an IP network; write '10.0.0.0/8' (host bits set)",
        id="host bits set",
    ),
    pytest.param(
        "in_cidr",
        ["10.0.0.0/33"],
        "values[0]: '10.0.0.0/33' is not an IP network; write a network such as '10.0.0.0/8' "
        "or '2001:db8::/32'",
        id="a prefix over 32",
    ),
    pytest.param("in_cidr", ["banana"], "values[0]: 'banana' is not an IP network", id="words"),
    pytest.param("in_cidr", [167772160], "values[0]: in_cidr compares strings", id="an int"),
]


@pytest.mark.parametrize(("op", "values", "message"), ERRORS)
def test_a_bad_clause_is_an_error_naming_where_and_what_to_do(
    op: str, values: Any, message: str
) -> None:
    with pytest.raises(OperatorError) as caught:
        compile_predicate(op, values, where=WHERE)
    field = message.split(": ", maxsplit=1)[0]
    assert caught.value.where == f"{WHERE}.{field}"
    assert str(caught.value).startswith(f"{WHERE}.{message}")


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", r"(?P<n>a)(?P=n)", r"\k<n>", "foo(?=bar)", "foo(?!bar)", "(?<=a)b", "(?<!x)y"],
    ids=[
        "a backreference",
        "a named backreference",
        "a \\k backreference",
        "a lookahead",
        "a negative lookahead",
        "a lookbehind",
        "a negative lookbehind",
    ],
)
def test_re2_refuses_backreferences_and_lookaround_and_says_why(pattern: str) -> None:
    with pytest.raises(OperatorError) as caught:
        compile_predicate("matches", ["ok", pattern], where=WHERE)
    message = str(caught.value)
    assert message.startswith(f"{WHERE}.values[1]: pattern {pattern!r} is not valid RE2 (")
    assert message.endswith(f"); {RE2_HINT}")


def test_an_error_without_where_starts_with_the_field() -> None:
    with pytest.raises(OperatorError, match=r"^values\[0\]: gt compares finite numbers"):
        compile_predicate("gt", ["5"])


def test_an_operator_error_is_a_value_error() -> None:
    assert issubclass(OperatorError, ValueError)


def test_an_unknown_time_zone_is_an_error_on_the_timezone_field() -> None:
    with pytest.raises(OperatorError) as caught:
        compile_predicate("before", ["2026-01-01"], timezone="Mars/Olympus", where=WHERE)
    assert str(caught.value) == (
        f"{WHERE}.timezone: unknown time zone 'Mars/Olympus'; "
        "use an IANA name such as 'Europe/Paris'"
    )


def test_the_time_zone_only_matters_to_dates() -> None:
    assert compile_predicate("in", ["a"], timezone="Mars/Olympus")("a") is True


def test_a_pattern_of_exactly_1000_characters_is_accepted() -> None:
    assert compile_predicate("matches", ["a" * MAX_PATTERN_CHARS])("a" * 1000) is True


# Predicates for every operator, to throw arbitrary JSON-like values at.
PREDICATES: list[tuple[str, Callable[[object], bool]]] = [
    (op, compile_predicate(op, values, timezone="America/New_York", clock=lambda: NOW))
    for op, values in {
        **CLAUSES,
        "before": ["-30d", "2026-03-08T02:30"],
        "after": ["now", "2026-10-25"],
        "matches": [r"^[a-z]+@acme\.com$", "(a+)+$"],
        "semver_gte": ["1.0.0-rc.1"],
        "in_cidr": ["10.0.0.0/8", "2001:db8::/32"],
    }.items()
]
INTERESTING: list[object] = [
    "",
    "\ud800",
    "a\udfffb",
    "1.0.0",
    "v2.0.0-rc.1+b",
    "10.1.2.3",
    "::ffff:10.1.2.3",
    "fe80::1%eth0",
    "2026-03-08T02:30",
    "2026-10-25",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "a" * 10_001,
    "9" * 5000 + ".0.0",
    10**400,
    -(10**400),
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    Plan.PRO,
    Level.FIVE,
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(0xD800, 0xDFFF).map(chr), max_size=3).map("".join),
    st.sampled_from(INTERESTING),
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@property_settings(max_examples=200)
@given(json_like)
def test_predicates_never_raise_and_answer_a_bool(value: object) -> None:
    for op, predicate in PREDICATES:
        assert type(predicate(value)) is bool, op


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        pytest.param(datetime(2026, 11, 27, 5, tzinfo=UTC), "UTC", id="an aware datetime"),
        pytest.param(datetime(2026, 11, 27, 0), "America/New_York", id="naive, in the zone"),
    ],
)
def test_a_datetime_attribute_compares_as_its_instant(value: datetime, zone: str) -> None:
    # OpenFeature evaluation contexts may carry datetime values, not only ISO strings.
    instant = at(2026, 11, 27, 5)

    def check(op: str, seconds: float) -> bool:
        bound = datetime.fromtimestamp(seconds, UTC).isoformat()
        return compile_predicate(op, [bound], timezone=zone)(value)

    assert check("before", instant + 1) is True
    assert check("before", instant) is False
    assert check("after", instant - 1) is True
    assert check("after", instant) is False
