"""Clause operators: check a clause's values once, then test attribute values fast.

`compile_predicate` raises OperatorError for anything wrong in the clause (the message names
the field path, the value and what to write instead). The predicate it returns takes an
attribute value that is present and answers True or False; it never raises, whatever the value.

There is no coercion: 1 is not "1", True is not 1, a string operator on a number and a numeric
operator on a bool are False. Numbers compare by value across int and float (1 == 1.0).
Strings are compared as given, with no Unicode normalisation: "é" written precomposed (NFC)
and decomposed (NFD) differ; the `_ci` forms compare `str.casefold()` ("STRASSE" = "straße").

`before`/`after` read an attribute that is an ISO 8601 string (a naive time, or a date alone at
midnight, is read in the clause's time zone) or a number of Unix epoch milliseconds. A naive
time that a DST change skips (a gap) or repeats (a fold) takes fold=0 (PEP 495), as zoneinfo
does: the offset in force before the change. So America/New_York 2026-03-08 02:30 is 07:30Z
and Europe/Berlin 2026-10-25 02:30 is its first occurrence, 00:30Z. Relative bounds ("-30d")
are absolute time from `clock()` at each call: "-1d" is always 86,400 seconds.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import operator
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache, partial
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import re2  # type: ignore[import-untyped]

from launchdeck.flags import semver

__all__ = [
    "MAX_MATCHED_CHARS",
    "MAX_PATTERN_CHARS",
    "OPERATORS",
    "OperatorError",
    "Predicate",
    "compile_predicate",
]

Predicate = Callable[[object], bool]

_MEMBERSHIP: Final = ("in", "not_in")
_TEXT: Final = tuple(
    f"{base}{suffix}"
    for base in ("equals", "starts_with", "ends_with", "contains")
    for suffix in ("", "_ci")
)
_NUMERIC: Final = ("eq", "gt", "gte", "lt", "lte")
_SEMVER: Final = tuple(f"semver_{name}" for name in _NUMERIC)
_DATES: Final = ("before", "after")
OPERATORS: Final = (*_MEMBERSHIP, *_TEXT, "matches", *_NUMERIC, *_SEMVER, *_DATES, "in_cidr")
"""Every operator `compile_predicate` knows; `in_segment` is the evaluator's own."""

MAX_PATTERN_CHARS: Final = 1000
MAX_MATCHED_CHARS: Final = 10_000
"""An attribute value longer than this never `matches`: it bounds the cost of one evaluation."""

_LONGEST_OFFSET_S: Final = 36500 * 86400
_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"([+-])(\d{1,12})([smhdw])")
_LOOKS_PERL = re.compile(r"\\[1-9]|\\[gk][<{'0-9]|\(\?P=|\(\?<?[=!]")
_RE2_HINT: Final = (
    "use a pattern without backreferences or lookaround; "
    "launchdeck uses RE2 so a pattern can never take exponential time"
)


class OperatorError(ValueError):
    """A clause that cannot be compiled: the message says where, what is wrong and what to do."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        self.where, self.problem, self.fix = where, problem, fix
        super().__init__(f"{where}: {problem}; {fix}" if where else f"{problem}; {fix}")


def compile_predicate(
    op: str,
    values: Sequence[object],
    *,
    timezone: str = "UTC",
    clock: Callable[[], float] = time.time,
    where: str = "",
) -> Predicate:
    """A predicate for `op` over `values`; OperatorError when the clause is wrong.

    `where` is the clause's path; messages extend it (`<where>.op`, `<where>.values[1]`).
    `timezone` (IANA) reads naive dates of `before`/`after`; `clock` gives Unix seconds.
    """
    if op not in OPERATORS:
        raise OperatorError(_at(where, "op"), f"unknown operator {_show(op)}", _suggest(op))
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise OperatorError(_at(where, "values"), f"{op} takes a list of values", "write a list")
    if not values:
        raise OperatorError(_at(where, "values"), f"{op} needs at least one value", "add one")
    at = [_at(where, f"values[{i}]") for i in range(len(values))]
    if op in _MEMBERSHIP:
        return _membership(op, values, at)
    if op in _TEXT:
        return _text_test(op, _strings(op, values, at))
    if op == "matches":
        return _matches(_strings(op, values, at), at)
    if op in _NUMERIC:
        return _numeric(op, values, at)
    if op in _SEMVER:
        return _semver(op, values, at)
    if op in _DATES:
        return _dates(op, values, at, zone=_zone(timezone, _at(where, "timezone")), clock=clock)
    return _cidr(_strings(op, values, at), at)


def _at(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number" if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _suggest(op: object) -> str:
    if not isinstance(op, str):
        return f"use one of {', '.join(OPERATORS)}"
    if op == "in_segment":
        return "in_segment is evaluated by the evaluator, not compiled as an operator"
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", op).lower().replace("-", "_")
    close = [snake] if snake in OPERATORS else difflib.get_close_matches(snake, OPERATORS, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"use one of {', '.join(OPERATORS)}"


def _text(value: object) -> str | None:
    """`value` as an exact str (a subclass copied), or None if it is not a string."""
    if type(value) is str:
        return value
    return str.__str__(value) if isinstance(value, str) else None


def _number(value: object) -> int | float | None:
    """`value` as an exact int or float, or None for bools and non-numbers."""
    if type(value) is int or type(value) is float:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int.__index__(value)
    return float.__float__(value) if isinstance(value, float) else None


def _strings(op: str, values: Sequence[object], at: list[str]) -> list[str]:
    texts = []
    for i, value in enumerate(values):
        text = _text(value)
        if text is None:
            fix = f"quote it: '{value}'" if _number(value) is not None else "write a string"
            raise OperatorError(at[i], f"{op} compares strings, not {_kind(value)}", fix)
        texts.append(text)
    return texts


def _numbers(op: str, values: Sequence[object], at: list[str]) -> list[int | float]:
    numbers = []
    for i, value in enumerate(values):
        number = _number(value)
        if number is None or not math.isfinite(number):
            fix = "write the number without quotes" if isinstance(value, str) else "write a number"
            raise OperatorError(at[i], f"{op} compares finite numbers, not {_show(value)}", fix)
        numbers.append(number)
    return numbers


def _membership(op: str, values: Sequence[object], at: list[str]) -> Predicate:
    strs: set[str] = set()
    nums: set[int | float] = set()
    bools: set[bool] = set()
    for i, value in enumerate(values):
        if isinstance(value, bool):
            bools.add(value)
        elif isinstance(value, str):
            strs.add(str.__str__(value))
        elif (number := _number(value)) is not None and math.isfinite(number):
            nums.add(number)
        else:
            raise OperatorError(
                at[i],
                f"{op} takes strings, finite numbers or booleans, not {_kind(value)}",
                "write each value as a plain string, number, true or false",
            )
    in_strs, in_nums, in_bools = frozenset(strs), frozenset(nums), frozenset(bools)
    if op == "in" and not nums and not bools:

        def in_strings(value: object) -> bool:
            if type(value) is str:
                return value in in_strs
            return isinstance(value, str) and str.__str__(value) in in_strs

        return in_strings

    def member(value: object) -> bool | None:
        """Whether `value` is among the values; None when it is not a string, number or bool."""
        kind = type(value)
        if kind is str:
            return value in in_strs
        if kind is bool:
            return value in in_bools
        if kind is int or kind is float:
            return value in in_nums
        if isinstance(value, str):
            return str.__str__(value) in in_strs
        number = _number(value)
        return None if number is None else number in in_nums

    if op == "in":
        return lambda value: member(value) is True
    return lambda value: member(value) is False


def _text_test(op: str, texts: list[str]) -> Predicate:
    ci = op.endswith("_ci")
    if ci:
        texts = [t.casefold() for t in texts]
    test: Callable[[str], bool]
    if op.startswith("equals"):
        test = frozenset(texts).__contains__
    elif op.startswith("starts_with"):
        prefixes = tuple(texts)

        def test(text: str) -> bool:
            return text.startswith(prefixes)

    elif op.startswith("ends_with"):
        suffixes = tuple(texts)

        def test(text: str) -> bool:
            return text.endswith(suffixes)

    else:
        needles = tuple(texts)

        def test(text: str) -> bool:
            return any(needle in text for needle in needles)

    def predicate(value: object) -> bool:
        text = _text(value)
        if text is None:
            return False
        return test(text.casefold() if ci else text)

    return predicate


def _re2_options() -> object:
    options = re2.Options()
    options.never_capture = True  # only "did it match" is asked
    options.log_errors = False  # the error is raised to the caller, not printed to stderr
    return options


def _matches(patterns: list[str], at: list[str]) -> Predicate:
    searches = []
    for i, pattern in enumerate(patterns):
        if len(pattern) > MAX_PATTERN_CHARS:
            raise OperatorError(
                at[i],
                f"the pattern is {len(pattern)} characters long, over {MAX_PATTERN_CHARS}",
                "shorten it, or split it into several values (any value matching is a match)",
            )
        try:
            compiled = re2.compile(pattern, _re2_options())
        except UnicodeError:
            raise OperatorError(
                at[i], f"pattern {_show(pattern)} holds a lone surrogate", "remove it"
            ) from None
        except re2.error as exc:
            reason = exc.args[0] if exc.args else ""
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            fix = _RE2_HINT if _LOOKS_PERL.search(pattern) else "fix the pattern's syntax"
            raise OperatorError(
                at[i], f"pattern {_show(pattern)} is not valid RE2 ({reason})", fix
            ) from None
        searches.append(compiled.search)

    def predicate(value: object) -> bool:
        text = _text(value)
        if text is None or len(text) > MAX_MATCHED_CHARS:
            return False
        try:
            return any(search(text) is not None for search in searches)
        except UnicodeError:  # re2 matches UTF-8, which a lone surrogate cannot be encoded in
            return False

    return predicate


def _numeric(op: str, values: Sequence[object], at: list[str]) -> Predicate:
    numbers = _numbers(op, values, at)
    test: Callable[[float], bool]
    if op == "eq":
        test = frozenset(numbers).__contains__
    elif op in ("gt", "gte"):  # any value satisfying is a match: compare with the extreme one
        test = partial(operator.lt if op == "gt" else operator.le, min(numbers))
    else:
        test = partial(operator.gt if op == "lt" else operator.ge, max(numbers))

    def predicate(value: object) -> bool:
        number = _number(value)
        return number is not None and test(number)

    return predicate


def _semver(op: str, values: Sequence[object], at: list[str]) -> Predicate:
    versions = []
    for i, text in enumerate(_strings(op, values, at)):
        version = semver.parse(text)
        if version is None:
            raise OperatorError(
                at[i],
                f"{_show(text)} is not a SemVer 2.0.0 version",
                "write MAJOR.MINOR.PATCH without leading zeros, such as '1.4.0' or '2.0.0-rc.1'",
            )
        versions.append(version)
    bounds = [v.precedence() for v in versions]
    test: Callable[[semver.Precedence], bool]
    if op == "semver_eq":
        test = frozenset(bounds).__contains__
    elif op in ("semver_gt", "semver_gte"):
        test = partial(operator.lt if op == "semver_gt" else operator.le, min(bounds))
    else:
        test = partial(operator.gt if op == "semver_lt" else operator.ge, max(bounds))

    # An app's versions are few and repeat on every evaluation: remember the short ones.
    @lru_cache(maxsize=256)
    def precedence(text: str) -> semver.Precedence | None:
        version = semver.parse(text)
        return None if version is None else version.precedence()

    def predicate(value: object) -> bool:
        text = _text(value)
        if text is None:
            return False
        rank = precedence(text) if len(text) <= 64 else precedence.__wrapped__(text)
        return rank is not None and test(rank)

    return predicate


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise OperatorError(
            where, f"unknown time zone {_show(name)}", "use an IANA name such as 'Europe/Paris'"
        ) from None


def _instant(text: str, zone: ZoneInfo) -> float | None:
    """Unix seconds of an ISO 8601 string (naive or date-only: in `zone`, fold=0), else None."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.timestamp()
    except (ValueError, OverflowError):
        return None


def _relative(text: str) -> float | None:
    """Seconds from now of 'now', '-30d', '+2h' …, or None when `text` is not one."""
    if text == "now":
        return 0.0
    match = _RELATIVE.fullmatch(text)
    if match is None:
        return None
    seconds = int(match.group(2)) * _SECONDS[match.group(3)]
    return float(seconds if match.group(1) == "+" else -seconds)


def _dates(
    op: str, values: Sequence[object], at: list[str], *, zone: ZoneInfo, clock: Callable[[], float]
) -> Predicate:
    absolute: list[float] = []
    relative: list[float] = []
    for i, text in enumerate(_strings(op, values, at)):
        offset = _relative(text)
        if offset is not None:
            if abs(offset) > _LONGEST_OFFSET_S:
                raise OperatorError(at[i], f"{text!r} is too far", "use at most 36500d (100 years)")
            relative.append(offset)
        elif (instant := _instant(text, zone)) is not None:
            absolute.append(instant)
        else:
            raise OperatorError(
                at[i],
                f"{_show(text)} is neither an ISO 8601 instant nor a relative time",
                f"write an instant such as '2026-11-27T09:00:00Z' (without an offset it is read "
                f"in {zone.key}), or 'now', '-30d', '+2h' (units s, m, h, d, w)",
            )
    # Any value satisfying is a match: before the latest bound, or after the earliest.
    pick = max if op == "before" else min
    fixed = pick(absolute, default=-math.inf if op == "before" else math.inf)
    shift = pick(relative) if relative else None

    def predicate(value: object) -> bool:
        bound = fixed if shift is None else pick(fixed, clock() + shift)
        if isinstance(value, datetime):  # OpenFeature contexts may carry datetimes
            try:
                aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
                moment_dt = aware.timestamp()
            except (ValueError, OverflowError, OSError):
                return False
            return moment_dt < bound if op == "before" else moment_dt > bound
        text = _text(value)
        if text is not None:
            moment = _instant(text, zone)
            if moment is None:
                return False
        else:
            millis = _number(value)
            if millis is None:
                return False
            bound *= 1000.0  # numbers are epoch milliseconds, compared exactly with the bound
            moment = millis
        return moment < bound if op == "before" else moment > bound

    return predicate


def _cidr(texts: list[str], at: list[str]) -> Predicate:
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for i, text in enumerate(texts):
        try:
            network = ipaddress.ip_network(text)
        except ValueError:
            try:
                fix = f"write {str(ipaddress.ip_network(text, strict=False))!r} (host bits set)"
            except ValueError:
                fix = "write a network such as '10.0.0.0/8' or '2001:db8::/32'"
            raise OperatorError(at[i], f"{_show(text)} is not an IP network", fix) from None
        if isinstance(network, ipaddress.IPv4Network):
            v4.append(network)
        else:
            v6.append(network)
    in_v4, in_v6 = tuple(v4), tuple(v6)

    def predicate(value: object) -> bool:
        text = _text(value)
        if text is None:
            return False
        try:  # ip_address() would try IPv4 first, raising and catching for every IPv6 value
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = (
                ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)
            )
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv4Address):
            return any(address in network for network in in_v4)
        mapped = address.ipv4_mapped  # ::ffff:10.1.2.3 is the IPv4 address 10.1.2.3
        if mapped is not None and any(mapped in network for network in in_v4):
            return True
        return any(address in network for network in in_v6)

    return predicate
