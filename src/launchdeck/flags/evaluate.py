"""Flag evaluation: a snapshot compiled into closures, then evaluated per context. Pure.

Compiling does all the work that does not depend on the context once: operators become
predicates over precomputed sets and patterns, every possible answer becomes one shared,
immutable `Resolution`, and a rollout keeps its salt prefix and cumulative bounds. Evaluating
is then a few dictionary lookups, predicate calls and at most two MurmurHash3 calls, with no
allocation unless a rollout hashes. Scheduled changes are honoured by recompiling when the
clock passes the next one (`expires`).

The order for one flag (docs/flags.md): off → the off variant (DISABLED); a prerequisite not
met → the off variant (DISABLED, `prerequisite` in the metadata); the first rule that matches
and whose serve covers the unit (TARGETING_MATCH); else the fallthrough (STATIC when there are
no rules, SPLIT for a rollout, DEFAULT otherwise; a unit outside a fallthrough rollout gets the
off variant, DEFAULT).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from types import MappingProxyType
from typing import Any, Final

import mmh3

from launchdeck.flags.bucketing import ROLLOUT_SEED, VARIANT_SEED
from launchdeck.flags.model import (
    UNITS,
    AllOf,
    AnyOf,
    Clause,
    Condition,
    EnvConfig,
    FlagSpec,
    FlagType,
    NotOf,
    SegmentSpec,
    Serve,
    Snapshot,
    percent_units,
)
from launchdeck.flags.operators import compile_predicate
from launchdeck.flags.schedule import effective, next_change

__all__ = [
    "DEFAULT",
    "DISABLED",
    "ERROR",
    "SPLIT",
    "STATIC",
    "TARGETING_MATCH",
    "Evaluator",
    "Resolution",
    "compile_condition",
]

STATIC: Final = "STATIC"
TARGETING_MATCH: Final = "TARGETING_MATCH"
SPLIT: Final = "SPLIT"
DEFAULT: Final = "DEFAULT"
DISABLED: Final = "DISABLED"
ERROR: Final = "ERROR"

FLAG_NOT_FOUND: Final = "FLAG_NOT_FOUND"
TYPE_MISMATCH: Final = "TYPE_MISMATCH"

_EMPTY: Mapping[str, Any] = MappingProxyType({})

Context = Mapping[str, Any]
Predicate = Callable[[Context], bool]


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer for one flag and context. `code_default`: serve the caller's default."""

    value: Any
    variant: str | None
    reason: str
    error_code: str | None = None
    error_message: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    code_default: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "variant": self.variant,
            "reason": self.reason,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "metadata": dict(self.metadata),
            "code_default": self.code_default,
        }


_NOT_FOUND = Resolution(None, None, ERROR, FLAG_NOT_FOUND, "flag not found", code_default=True)
FlagFn = Callable[[Context], Resolution]
ServeFn = Callable[[Context], "Resolution | None"]


def _getter(attribute: str) -> Callable[[Context], Any]:
    if "." not in attribute:
        return lambda ctx: ctx.get(attribute)
    path = attribute.split(".")

    def walk(ctx: Context) -> Any:
        if attribute in ctx:
            return ctx[attribute]
        value: Any = ctx
        for part in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    return walk


def compile_condition(
    condition: Condition,
    segments: Mapping[str, Predicate],
    *,
    clock: Callable[[], float] = time.time,
    where: str = "when",
) -> Predicate:
    """A predicate over contexts. A clause on a missing attribute is false; `not` negates."""
    if isinstance(condition, Clause):
        if condition.op == "in_segment":
            tests = [_segment_ref(segments, str(key)) for key in condition.values]
            if len(tests) == 1:
                return tests[0]
            return lambda ctx: any(test(ctx) for test in tests)
        assert condition.attribute is not None
        predicate = compile_predicate(
            condition.op,
            condition.values,
            timezone=condition.timezone,
            clock=clock,
            where=where,
        )
        attribute = condition.attribute
        if "." not in attribute:

            def clause(ctx: Context) -> bool:
                value = ctx.get(attribute)
                return value is not None and predicate(value)

            return clause
        get = _getter(attribute)
        return lambda ctx: (value := get(ctx)) is not None and predicate(value)
    if isinstance(condition, AllOf | AnyOf):
        name, children, combine = (
            ("all", condition.all, all)
            if isinstance(condition, AllOf)
            else ("any", condition.any, any)
        )
        parts = [
            compile_condition(c, segments, clock=clock, where=f"{where}.{name}[{i}]")
            for i, c in enumerate(children)
        ]
        if len(parts) == 1:
            return parts[0]
        return lambda ctx: combine(part(ctx) for part in parts)
    assert isinstance(condition, NotOf)
    inner = compile_condition(condition.not_, segments, clock=clock, where=f"{where}.not")
    return lambda ctx: not inner(ctx)


def _segment_ref(segments: Mapping[str, Predicate], key: str) -> Predicate:
    """A segment's test, looked up when called: segments may refer to one another in any
    order (validation refuses unknown segments and cycles; an unknown one matches nobody)."""
    return lambda ctx: (test := segments.get(key)) is not None and test(ctx)


def _compile_segment(
    segment: SegmentSpec, segments: Mapping[str, Predicate], clock: Callable[[], float]
) -> Predicate:
    included, excluded = frozenset(segment.included), frozenset(segment.excluded)
    get = _getter(segment.key_attribute)
    rules = [
        compile_condition(r, segments, clock=clock, where=f"segments[{segment.key}].rules[{i}]")
        for i, r in enumerate(segment.rules)
    ]

    def test(ctx: Context) -> bool:
        key = get(ctx)
        if type(key) is int:
            key = str(key)
        if type(key) is str:
            if key in excluded:
                return False
            if key in included:
                return True
        return any(rule(ctx) for rule in rules)

    return test


class _Compiler:
    """Compiles one flag of a snapshot; keeps the shared resolutions it makes."""

    def __init__(self, flag: FlagSpec, config: EnvConfig) -> None:
        self.flag, self.config = flag, config
        off = flag.off_variant
        self.off_default = (
            Resolution(flag.variants[off], off, DEFAULT)
            if off is not None
            else Resolution(None, None, DEFAULT, code_default=True)
        )

    def constant(self, serve: Serve, reason: str) -> Resolution:
        if serve.code_default:
            return Resolution(None, None, DEFAULT, code_default=True)
        assert serve.variant is not None
        return Resolution(self.flag.variants[serve.variant], serve.variant, reason)

    def serve(self, serve: Serve, reason: str, *, fallthrough: bool) -> ServeFn:
        rollout = serve.rollout
        if rollout is None:
            answer = self.constant(serve, reason)
            return lambda ctx: answer
        names = list(rollout.weights)
        answers = [Resolution(self.flag.variants[n], n, reason) for n in names]
        bounds = list(accumulate(percent_units(w) for w in rollout.weights.values()))
        coverage = percent_units(rollout.coverage)
        prefix = f"{rollout.salt or self.flag.key}:"
        attribute = rollout.bucket_by
        get = _getter(attribute) if "." in attribute else None
        outside = self.off_default if fallthrough else None
        single = answers[0] if len(answers) == 1 else None
        hash32 = mmh3.hash

        def split(ctx: Context) -> Resolution | None:
            value: Any = ctx.get(attribute) if get is None else get(ctx)
            kind = type(value)
            if kind is str:
                unit: str = value
            elif kind is int:
                try:
                    unit = str(value)
                except ValueError:  # more digits than Python converts: not an id
                    return outside
            else:
                return outside
            try:
                data = (prefix + unit).encode()
            except UnicodeEncodeError:
                return outside
            if coverage < UNITS and hash32(data, ROLLOUT_SEED, signed=False) % UNITS >= coverage:
                return outside
            if single is not None:
                return single
            bucket = hash32(data, VARIANT_SEED, signed=False) % UNITS
            return answers[bisect_right(bounds, bucket)]

        return split


class Evaluator:
    """One environment's flags, compiled; `resolve` and the typed accessors are the hot path.

    Thread-safe: a recompile (a scheduled change came due) builds a new table and swaps it in.
    """

    def __init__(self, snapshot: Snapshot, *, clock: Callable[[], float] = time.time) -> None:
        self.snapshot = snapshot
        self._clock = clock
        self._flags: dict[str, FlagFn] = {}
        self._types: dict[str, FlagType] = {}
        self.expires = math.inf
        self.generation = 0
        """How many times the configuration was compiled: a scheduled change coming due adds 1,
        so (ETag, generation) names what this evaluator serves."""
        self._compile()

    @property
    def environment(self) -> str:
        return self.snapshot.environment

    @property
    def etag(self) -> str:
        return self.snapshot.etag

    def keys(self) -> list[str]:
        return [flag.key for flag in self.snapshot.flags]

    def flag_type(self, key: str) -> FlagType | None:
        return self._types.get(key)

    def _compile(self) -> None:
        now_s = self._clock()
        now = datetime.fromtimestamp(now_s, UTC)
        env = self.snapshot.environment
        segments: dict[str, Predicate] = {}
        for segment in self.snapshot.segments:
            segments[segment.key] = _compile_segment(segment, segments, self._clock)
        flags: dict[str, FlagFn] = {}
        types: dict[str, FlagType] = {}
        expires = math.inf
        for flag in self.snapshot.flags:
            stored = flag.environment(env)
            upcoming = next_change(stored, now, {})
            if upcoming is not None:
                expires = min(expires, upcoming.timestamp())
            config = effective(stored, now, {})
            flags[flag.key] = self._compile_flag(flag, config, segments, flags)
            types[flag.key] = flag.type
        self._flags, self._types, self.expires = flags, types, expires
        self.generation += 1

    def refresh(self) -> None:
        """Recompile if a scheduled change has come due since the last evaluation."""
        if self._clock() >= self.expires:
            self._compile()

    def _compile_flag(
        self,
        flag: FlagSpec,
        config: EnvConfig,
        segments: Mapping[str, Predicate],
        table: Mapping[str, FlagFn],
    ) -> FlagFn:
        compiler = _Compiler(flag, config)
        off = flag.off_variant
        disabled = (
            Resolution(flag.variants[off], off, DISABLED)
            if off is not None
            else Resolution(None, None, DISABLED, code_default=True)
        )
        if not config.enabled:
            return lambda ctx: disabled
        where = f"flags[{flag.key}]"
        rules = [
            (
                compile_condition(
                    rule.when, segments, clock=self._clock, where=f"{where}.rules[{i}].when"
                ),
                compiler.serve(rule.serve, TARGETING_MATCH, fallthrough=False),
            )
            for i, rule in enumerate(config.rules)
        ]
        fall = config.fallthrough
        reason = SPLIT if fall.rollout is not None else (DEFAULT if rules else STATIC)
        fallthrough = compiler.serve(fall, reason, fallthrough=True)

        def targeted(ctx: Context) -> Resolution:
            for matches, serve in rules:
                if matches(ctx):
                    answer = serve(ctx)
                    if answer is not None:
                        return answer
            answer = fallthrough(ctx)
            assert answer is not None
            return answer

        body: FlagFn = targeted
        if not rules and fall.rollout is None:
            static = fallthrough({})
            assert static is not None
            body = lambda ctx: static  # noqa: E731
        if not flag.prerequisites:
            return body
        requirements = [
            (
                p.flag,
                frozenset(p.variants),
                Resolution(
                    disabled.value,
                    disabled.variant,
                    DISABLED,
                    metadata=MappingProxyType({"prerequisite": p.flag}),
                    code_default=disabled.code_default,
                ),
            )
            for p in flag.prerequisites
        ]

        def gated(ctx: Context) -> Resolution:
            for key, variants, unmet in requirements:
                fn = table.get(key)
                if fn is None:
                    return unmet
                answer = fn(ctx)
                if answer.reason == DISABLED or answer.error_code is not None:
                    return unmet
                if variants and answer.variant not in variants:
                    return unmet
            return body(ctx)

        return gated

    def resolve(self, key: str, context: Context) -> Resolution:
        if self._clock() >= self.expires:
            self._compile()
        fn = self._flags.get(key)
        if fn is None:
            return _NOT_FOUND
        return fn(context)

    def resolve_all(self, context: Context) -> dict[str, Resolution]:
        if self._clock() >= self.expires:
            self._compile()
        return {key: fn(context) for key, fn in self._flags.items()}

    def value(self, key: str, context: Context, default: Any) -> Any:
        answer = self.resolve(key, context)
        return default if answer.code_default else answer.value

    def boolean(self, key: str, context: Context, default: bool) -> bool:
        """The flag's value for `context`, or `default` (unknown flag, code default, other type)."""
        if self._clock() >= self.expires:
            self._compile()
        fn = self._flags.get(key)
        if fn is None:
            return default
        value = fn(context).value
        return value if type(value) is bool else default

    def string(self, key: str, context: Context, default: str) -> str:
        value = self.value(key, context, default)
        return value if type(value) is str else default

    def integer(self, key: str, context: Context, default: int) -> int:
        value = self.value(key, context, default)
        return value if type(value) is int else default

    def number(self, key: str, context: Context, default: float) -> float:
        value = self.value(key, context, default)
        return float(value) if type(value) in (int, float) else default

    def object(self, key: str, context: Context, default: Any) -> Any:
        value = self.value(key, context, default)
        return value if isinstance(value, dict | list) else default
