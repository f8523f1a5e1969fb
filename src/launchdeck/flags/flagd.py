"""Import and export flagd flag-definition JSON (https://flagd.dev/reference/flag-definitions/).
Pure.

Export writes one environment: `state` from `enabled`, the fallthrough as `defaultVariant`
(a fallthrough rollout as a trailing `fractional`, with the off variant as `defaultVariant`),
rules as one chained JsonLogic `if`, and segments as `$evaluators` that rules `$ref`. Import
reads the same subset back, plus the shapes flagd's own examples use (nested `if`, a bare
condition choosing the "true"/"false" variants, `$ref`, shorthand `fractional`).

What does not carry over:
- Bucketing. flagd's `fractional` hashes differently from launchdeck's spec v1
  (docs/bucketing.md): exported percentages are kept, but an individual user may land in a
  different variant in flagd. Exported flags with a rollout say `launchdeckBucketing: 1` in
  their metadata; importing a `fractional` without that marker warns that users reshuffle.
- Operators flagd has no JsonLogic form for (`matches`, `in_cidr`, `before`/`after`, the
  `_ci` forms), prerequisites, partial-coverage rollouts in rules and scheduled changes.
  Export refuses them (`FlagdError`), or with `lossy=True` skips them with a warning.
- Type strictness. JsonLogic coerces ("1" == 1, a missing attribute compares as null);
  launchdeck never does. Export uses strict `===` and guards `not_in` so that a missing
  attribute is not a match, as in launchdeck; an imported `==` becomes a strict `equals`.
- A DISABLED flag: flagd answers as if it did not exist (the caller's default); launchdeck
  serves the off variant. Import therefore sets no off variant unless the metadata names one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Final, NoReturn

from pydantic import ValidationError

from launchdeck.errors import ConfigError
from launchdeck.flags.model import (
    KEY_PATTERN,
    UNITS,
    AllOf,
    AnyOf,
    Clause,
    Condition,
    EnvConfig,
    FlagKind,
    FlagSpec,
    FlagType,
    NotOf,
    Rollout,
    Rule,
    SegmentSpec,
    Serve,
    percent_units,
)

__all__ = ["BUCKETING_MARK", "SCHEMA_URL", "FlagdError", "export_flagd", "import_flagd"]

SCHEMA_URL: Final = "https://flagd.dev/schema/v0/flags.json"
BUCKETING_MARK: Final = "launchdeckBucketing"
"""Flag metadata key: the fractional was written from launchdeck bucketing spec v1."""
_KIND: Final = "launchdeckKind"
_OFF: Final = "launchdeckOffVariant"
_KEY = re.compile(KEY_PATTERN)
_TEXT_OPS: Final = {"equals": "===", "starts_with": "starts_with", "ends_with": "ends_with"}
_NUMERIC_OPS: Final = {"eq": "===", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_SEMVER_OPS: Final = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_FLIPPED: Final = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
_ANY_OF_VALUES: Final = frozenset(
    {"in", "contains", *_TEXT_OPS, *_NUMERIC_OPS, *(f"semver_{op}" for op in _SEMVER_OPS)}
)
"""Operators that match when any value does: an `or` of them on one attribute is one clause."""
_NO_FORM_HINT: Final = (
    "use in, not_in, equals, starts_with, ends_with, contains, eq/gt/gte/lt/lte or semver_* "
    "(flagd has no other operators), or export with lossy=True to skip what flagd cannot express"
)


class FlagdError(ConfigError):
    """A flagd document launchdeck cannot read, or a flag flagd cannot express. `field` is the
    JSON path (`flags.new-checkout.targeting.if[0]`) or the launchdeck path on export."""

    code = "flagd_unsupported"


class _NoForm(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


# ---------------------------------------------------------------------------------- export


def export_flagd(
    flags: Sequence[FlagSpec],
    segments: Sequence[SegmentSpec],
    environment: str,
    *,
    lossy: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """`flags` as they are configured in `environment`, as a flagd document, and the warnings.

    FlagdError names the flag, the rule and the operator flagd cannot express; with
    `lossy=True` such a rule (or prerequisite, or flag) is left out and a warning says so.
    Exported percentages are kept, but flagd buckets users differently (see the module doc).
    """
    exporter = _Exporter({s.key: s for s in segments}, lossy=lossy)
    out: dict[str, Any] = {}
    for flag in flags:
        entry = exporter.flag(flag, environment)
        if entry is not None:
            out[flag.key] = entry
    document: dict[str, Any] = {"$schema": SCHEMA_URL, "flags": out}
    if exporter.evaluators:
        document["$evaluators"] = exporter.evaluators
    document["metadata"] = {"launchdeckEnvironment": environment}
    return document, exporter.warnings


class _Exporter:
    def __init__(self, segments: Mapping[str, SegmentSpec], *, lossy: bool) -> None:
        self.segments, self.lossy = segments, lossy
        self.evaluators: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.rollouts = 0

    def refuse(self, flag: FlagSpec, what: str, problem: _NoForm, skipped: str) -> None:
        if not self.lossy:
            raise FlagdError(
                f"flag {flag.key!r}, {what}: {problem.problem}",
                where=problem.where,
                field=problem.where,
                hint=_NO_FORM_HINT,
            )
        self.warnings.append(f"{problem.where}: {problem.problem}; {skipped}")

    def flag(self, flag: FlagSpec, environment: str) -> dict[str, Any] | None:
        where = f"flags.{flag.key}"
        self.rollouts = 0
        config = flag.environment(environment)
        env_where = f"{where}.environments.{environment}"
        try:
            variants = _export_variants(flag, where)
            default, tail = self.fallthrough(flag, config, f"{env_where}.fallthrough")
        except _NoForm as problem:
            self.refuse(flag, "the whole flag", problem, "flag not exported")
            return None
        if flag.prerequisites:
            missing = _NoForm(f"{where}.prerequisites", "flagd has no prerequisites")
            self.refuse(flag, "prerequisites", missing, "prerequisites dropped")
        if any(change.done_at is None for change in config.schedule):
            self.warnings.append(
                f"{env_where}.schedule: flagd has no scheduled changes; the export is the "
                "configuration as it is now: export again after the change takes effect"
            )
        branches: list[Any] = []
        for i, rule in enumerate(config.rules):
            rule_where = f"{env_where}.rules[{i}]"
            label = f"rules[{i}]" + (f" ({rule.name})" if rule.name else "")
            try:
                condition = self.condition(rule.when, f"{rule_where}.when", inline=())
                outcome = self.rule_serve(flag, rule.serve, default, f"{rule_where}.serve")
            except _NoForm as problem:
                self.refuse(flag, label, problem, f"{label} skipped")
                continue
            branches += [condition, outcome]
        entry: dict[str, Any] = {
            "state": "ENABLED" if config.enabled else "DISABLED",
            "variants": variants,
            "defaultVariant": default,
        }
        if branches:
            entry["targeting"] = {"if": [*branches, tail]}
        elif tail is not None:
            entry["targeting"] = tail
        entry["metadata"] = self.metadata(flag)
        return entry

    def metadata(self, flag: FlagSpec) -> dict[str, Any]:
        metadata: dict[str, Any] = {_KIND: flag.kind.value}
        if flag.off_variant is not None:
            metadata[_OFF] = flag.off_variant
        if flag.description:
            metadata["description"] = flag.description
        if self.rollouts:
            metadata[BUCKETING_MARK] = 1
        return metadata

    def fallthrough(self, flag: FlagSpec, config: EnvConfig, where: str) -> tuple[str | None, Any]:
        """(defaultVariant, what the `if` chain ends with)."""
        serve = config.fallthrough
        if serve.variant is not None:
            return serve.variant, None
        if serve.rollout is None:
            return None, None
        rollout = serve.rollout
        coverage = percent_units(rollout.coverage)
        if coverage < UNITS and flag.off_variant is None:
            raise _NoForm(
                f"{where}.rollout.coverage",
                "units outside a partial rollout get the code default, which a flagd "
                "fractional cannot serve; set an off_variant or cover 100 %",
            )
        parts: dict[str, int] = {}
        for name, weight in rollout.weights.items():
            parts[name] = parts.get(name, 0) + percent_units(weight) * coverage
        if coverage < UNITS:
            assert flag.off_variant is not None
            off = flag.off_variant
            parts[off] = parts.get(off, 0) + (UNITS - coverage) * UNITS
        return flag.off_variant, self.fractional(rollout, parts, where)

    def rule_serve(self, flag: FlagSpec, serve: Serve, default: str | None, where: str) -> Any:
        if serve.variant is not None:
            return serve.variant
        if serve.code_default:
            if default is not None:
                raise _NoForm(
                    where,
                    "a rule serving the code default has no flagd form here (only when "
                    "the fallthrough serves the code default too)",
                )
            return None
        assert serve.rollout is not None
        if percent_units(serve.rollout.coverage) < UNITS:
            raise _NoForm(
                f"{where}.rollout.coverage",
                "a partial rollout in a rule (uncovered users go on to the next rule) has no "
                "flagd form",
            )
        parts = {name: percent_units(w) * UNITS for name, w in serve.rollout.weights.items()}
        return self.fractional(serve.rollout, parts, where)

    def fractional(self, rollout: Rollout, parts: Mapping[str, int], where: str) -> Any:
        self.rollouts += 1
        units, exact = _apportion(parts, UNITS)
        if not exact:
            self.warnings.append(f"{where}: rollout shares rounded to 0.001 % for flagd")
        if all(u % 1000 == 0 for u in units.values()):
            weights = [[name, u // 1000] for name, u in units.items()]
        else:
            weights = [[name, u] for name, u in units.items()]
            self.warnings.append(
                f"{where}: shares finer than 1 % are written as relative weights out of "
                "100,000, which flagd versions that require percentages summing to 100 reject"
            )
        if rollout.bucket_by == "targetingKey" and rollout.salt is None:
            return {"fractional": weights}
        seed: Any = rollout.salt if rollout.salt is not None else {"var": "$flagd.flagKey"}
        return {"fractional": [{"cat": [seed, {"var": rollout.bucket_by}]}, *weights]}

    def condition(self, condition: Condition, where: str, *, inline: tuple[str, ...]) -> Any:
        if isinstance(condition, AllOf):
            return {
                "and": [
                    self.condition(c, f"{where}.all[{i}]", inline=inline)
                    for i, c in enumerate(condition.all)
                ]
            }
        if isinstance(condition, AnyOf):
            return {
                "or": [
                    self.condition(c, f"{where}.any[{i}]", inline=inline)
                    for i, c in enumerate(condition.any)
                ]
            }
        if isinstance(condition, NotOf):
            return {"!": self.condition(condition.not_, f"{where}.not", inline=inline)}
        return self.clause(condition, where, inline=inline)

    def clause(self, clause: Clause, where: str, *, inline: tuple[str, ...]) -> Any:
        op, values = clause.op, list(clause.values)
        if op == "in_segment":
            return _one_of([self.segment(str(key), where, inline) for key in values])
        assert clause.attribute is not None
        var = {"var": clause.attribute}
        if op == "in":
            return {"in": [var, values]}
        if op == "not_in":
            # JsonLogic's `!in` is true for a missing attribute; launchdeck's not_in is false.
            return {"and": [{"!=": [var, None]}, {"!": {"in": [var, values]}}]}
        if op == "contains":
            return _one_of([{"in": [v, var]} for v in values])
        if op in _TEXT_OPS:
            return _one_of([{_TEXT_OPS[op]: [var, v]} for v in values])
        if op in _NUMERIC_OPS:
            return _one_of([{_NUMERIC_OPS[op]: [var, v]} for v in values])
        if op.startswith("semver_") and op[7:] in _SEMVER_OPS:
            symbol = _SEMVER_OPS[op[7:]]
            return _one_of([{"sem_ver": [var, symbol, str(v).lstrip("vV")]} for v in values])
        raise _NoForm(f"{where}.op", f"`{op}` has no flagd (JsonLogic) form")

    def segment(self, key: str, where: str, inline: tuple[str, ...]) -> Any:
        """A `$ref` to the segment's evaluator; inside an evaluator, the segment inlined
        (flagd resolves `$ref` in flag targeting only)."""
        if key in inline:
            raise _NoForm(where, f"segment {key!r} refers to itself")
        if not inline and key in self.evaluators:
            return {"$ref": key}
        segment = self.segments.get(key)
        if segment is None:
            raise _NoForm(where, f"segment {key!r} does not exist")
        logic = self.segment_logic(segment, (*inline, key))
        if inline:
            return logic
        self.evaluators[key] = logic
        return {"$ref": key}

    def segment_logic(self, segment: SegmentSpec, inline: tuple[str, ...]) -> Any:
        var = {"var": segment.key_attribute}
        parts: list[Any] = [{"in": [var, list(segment.included)]}] if segment.included else []
        parts += [
            self.condition(rule, f"segments.{segment.key}.rules[{j}]", inline=inline)
            for j, rule in enumerate(segment.rules)
        ]
        logic = _one_of(parts)
        if segment.excluded:
            logic = {"and": [{"!": {"in": [var, list(segment.excluded)]}}, logic]}
        return logic


def _export_variants(flag: FlagSpec, where: str) -> dict[str, Any]:
    """The variants; a float flag's whole numbers as floats, so import reads a float flag."""
    out: dict[str, Any] = {}
    for name, value in flag.variants.items():
        if isinstance(value, list):
            raise _NoForm(
                f"{where}.variants.{name}", "flagd object variants are JSON objects, not lists"
            )
        whole = isinstance(value, int) and not isinstance(value, bool)
        out[name] = float(value) if flag.type is FlagType.FLOAT and whole else value  # type: ignore[arg-type]
    return out


def _one_of(parts: list[Any]) -> Any:
    return parts[0] if len(parts) == 1 else {"or": parts}


def _apportion(parts: Mapping[str, int | float], total: int) -> tuple[dict[str, int], bool]:
    """Integers proportional to `parts` summing to `total` (largest remainder first), and
    whether that was exact."""
    whole = sum(Fraction(part) for part in parts.values())
    shares = {name: Fraction(part) * total / whole for name, part in parts.items()}
    units = {name: int(share) for name, share in shares.items()}
    by_remainder = sorted(shares, key=lambda name: units[name] - shares[name])
    for name in by_remainder[: total - sum(units.values())]:
        units[name] += 1
    return units, all(share.denominator == 1 for share in shares.values())


# ---------------------------------------------------------------------------------- import


def import_flagd(
    document: Mapping[str, Any], *, environment: str, source: str = "flagd.json"
) -> tuple[list[FlagSpec], list[str]]:
    """The flags of a flagd document, configured in `environment`, and the warnings.

    FlagdError names the JSON path (`flags.new-checkout.targeting.if[0]`) of what launchdeck
    cannot read, and what to do. The flag type is inferred from the variant values.
    """
    reader = _Reader(document, source)
    raw = document.get("flags") if isinstance(document, Mapping) else None
    entries: list[tuple[object, Any, str]]
    if isinstance(raw, Mapping):
        entries = [(str(key), value, f"flags.{key}") for key, value in raw.items()]
    elif isinstance(raw, list):
        entries = [
            (item.get("key") if isinstance(item, Mapping) else None, item, f"flags[{i}]")
            for i, item in enumerate(raw)
        ]
    else:
        reader.fail("flags", "there is no `flags` object", "a flagd document has `flags: {...}`")
    flags = [reader.flag(key, entry, path, environment) for key, entry, path in entries]
    return flags, [f"{source}: {warning}" for warning in reader.warnings]


Outcome = str | Serve | None
"""What a branch of `targeting` serves: a variant name, a rollout, or None (defaultVariant)."""


class _Reader:
    def __init__(self, document: Mapping[str, Any], source: str) -> None:
        self.source = source
        evaluators = document.get("$evaluators", {}) if isinstance(document, Mapping) else {}
        if not isinstance(evaluators, Mapping):
            self.fail("$evaluators", "`$evaluators` is not an object", "write {name: rule}")
        self.evaluators: Mapping[str, Any] = evaluators
        self.warnings: list[str] = []
        self.marked = False

    def fail(self, path: str, problem: str, fix: str) -> NoReturn:
        raise FlagdError(problem, where=f"{self.source}: {path}", field=path, hint=fix)

    def flag(self, key: object, entry: Any, path: str, environment: str) -> FlagSpec:
        if not isinstance(key, str) or not _KEY.match(key):
            self.fail(
                path, f"flag key {key!r} is not a launchdeck key", f"rename it: {KEY_PATTERN}"
            )
        if not isinstance(entry, Mapping):
            self.fail(path, "a flag is a JSON object", "write {state, variants, defaultVariant}")
        variants = entry.get("variants", {"true": True, "false": False})
        flag_type = self.variant_type(variants, f"{path}.variants")
        metadata = entry.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            self.fail(f"{path}.metadata", "`metadata` is not an object", "write {key: value}")
        self.marked = metadata.get(BUCKETING_MARK) == 1
        state = entry.get("state", "ENABLED")
        if state not in ("ENABLED", "DISABLED"):
            self.fail(f"{path}.state", f"state {state!r} is unknown", "write ENABLED or DISABLED")
        default = entry.get("defaultVariant")
        self.variant_name(default, variants, f"{path}.defaultVariant", nullable=True)
        otherwise = Serve(code_default=True) if default is None else Serve(variant=default)
        targeting = entry.get("targeting") or None
        rules: list[Rule] = []
        fallthrough = otherwise
        if targeting is not None:
            branches = self.branches(targeting, None, f"{path}.targeting", variants, ())
            for condition, outcome in branches:
                serve = _serve(outcome, otherwise)
                if condition is None:
                    fallthrough = serve
                else:
                    rules.append(Rule(when=condition, serve=serve))
        kind = metadata.get(_KIND, FlagKind.RELEASE.value)
        if not isinstance(kind, str) or kind not in {k.value for k in FlagKind}:
            self.warnings.append(f"{path}.metadata.{_KIND}: unknown kind {kind!r}; read as release")
            kind = FlagKind.RELEASE.value
        off = metadata.get(_OFF)
        if off is not None:
            self.variant_name(off, variants, f"{path}.metadata.{_OFF}", nullable=False)
        config = EnvConfig(enabled=state == "ENABLED", rules=tuple(rules), fallthrough=fallthrough)
        try:
            return FlagSpec(
                key=key,
                kind=FlagKind(kind),
                type=flag_type,
                description=str(metadata.get("description", "")),
                variants=dict(variants),
                off_variant=off,
                environments={environment: config},
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            self.fail(path, f"not a valid flag: {error['msg']}", "fix the flag definition")

    def variant_type(self, variants: Any, path: str) -> FlagType:
        if not isinstance(variants, Mapping) or not variants:
            self.fail(path, "`variants` is empty or not an object", "define {name: value} pairs")
        for name in variants:
            if not _KEY.match(str(name)):
                self.fail(
                    f"{path}.{name}",
                    f"variant name {name!r} is not a launchdeck key",
                    f"rename it: {KEY_PATTERN}",
                )
        values = list(variants.values())
        if all(isinstance(v, bool) for v in values):
            return FlagType.BOOLEAN
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return FlagType.INTEGER
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return FlagType.FLOAT
        if all(isinstance(v, str) for v in values):
            return FlagType.STRING
        if all(isinstance(v, dict | list) for v in values):
            return FlagType.OBJECT
        self.fail(path, "the variants mix value types", "give every variant the same type")

    def variant_name(
        self, name: Any, variants: Mapping[str, Any], path: str, *, nullable: bool
    ) -> None:
        if name is None and nullable:
            return
        if not isinstance(name, str) or name not in variants:
            known = ", ".join(sorted(variants))
            self.fail(
                path, f"{name!r} is not one of the variants ({known})", "name a defined variant"
            )

    def deref(
        self, node: Any, path: str, seen: tuple[str, ...]
    ) -> tuple[Any, str, tuple[str, ...]]:
        while isinstance(node, Mapping) and set(node) == {"$ref"}:
            name = node["$ref"]
            if not isinstance(name, str) or name not in self.evaluators:
                self.fail(
                    f"{path}.$ref",
                    f"no `$evaluators` entry named {name!r}",
                    "define it under $evaluators or inline the rule",
                )
            if name in seen:
                self.fail(f"{path}.$ref", f"evaluator {name!r} refers to itself", "break the cycle")
            node, path, seen = self.evaluators[name], f"$evaluators.{name}", (*seen, name)
        return node, path, seen

    def branches(
        self,
        node: Any,
        guard: Condition | None,
        path: str,
        variants: Mapping[str, Any],
        seen: tuple[str, ...],
    ) -> list[tuple[Condition | None, Outcome]]:
        """Ordered (condition, outcome) pairs, the last one exactly `guard`: together they
        say what `node` serves wherever `guard` holds."""
        node, path, seen = self.deref(node, path, seen)
        if node is None or isinstance(node, str | bool):
            name = None if node is None else str(node).lower() if isinstance(node, bool) else node
            self.variant_name(name, variants, path, nullable=True)
            return [(guard, name)]
        if isinstance(node, Mapping) and set(node) == {"fractional"}:
            return [(guard, self.fractional(node["fractional"], f"{path}.fractional", variants))]
        if isinstance(node, Mapping) and set(node) == {"if"}:
            args = node["if"]
            if not isinstance(args, list) or not args:
                self.fail(f"{path}.if", "`if` takes a list", "write [condition, then, else]")
            if len(args) == 1:
                return self.branches(args[0], guard, f"{path}.if[0]", variants, seen)
            out: list[tuple[Condition | None, Outcome]] = []
            for i in range(0, len(args) - 1, 2):
                condition = self.condition(args[i], f"{path}.if[{i}]", seen)
                then = _and(guard, condition)
                out += self.branches(args[i + 1], then, f"{path}.if[{i + 1}]", variants, seen)
            tail = args[-1] if len(args) % 2 else None
            return out + self.branches(tail, guard, f"{path}.if[{len(args) - 1}]", variants, seen)
        if isinstance(node, Mapping) and set(node) & {"var", "cat", "substr", "merge"}:
            self.fail(
                path,
                "a variant computed from the context has no launchdeck form",
                "serve fixed variant names, one rule per case",
            )
        condition = self.condition(node, path, seen)
        for name in ("true", "false"):
            self.variant_name(name, variants, path, nullable=False)
        return [(_and(guard, condition), "true"), (guard, "false")]

    def fractional(self, args: Any, path: str, variants: Mapping[str, Any]) -> Serve:
        if not isinstance(args, list) or not args:
            self.fail(path, "`fractional` takes a list", 'write [["variant", weight], ...]')
        bucket_by, salt, first = "targetingKey", None, 0
        if not isinstance(args[0], list):
            bucket_by, salt = self.bucketing(args[0], f"{path}[0]")
            first = 1
        weights: dict[str, int | float] = {}
        for i, item in enumerate(args[first:], start=first):
            where = f"{path}[{i}]"
            if not isinstance(item, list) or len(item) not in (1, 2):
                self.fail(where, "a share is [variant, weight]", 'write ["variant", 50]')
            self.variant_name(item[0], variants, f"{where}[0]", nullable=False)
            weight = item[1] if len(item) == 2 else 1
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                self.fail(
                    f"{where}[1]",
                    f"weight {weight!r} is not a fixed number ≥ 0",
                    "write a number; computed weights have no launchdeck form",
                )
            weights[item[0]] = weights.get(item[0], 0) + weight
        if not weights or sum(weights.values()) <= 0:
            self.fail(path, "the weights add up to 0", "give at least one variant a weight")
        units, exact = _apportion(weights, UNITS)
        if not exact:
            self.warnings.append(f"{path}: weights rounded to 0.001 %, launchdeck's resolution")
        if not self.marked:
            self.warnings.append(
                f"{path}: flagd's fractional bucketing differs from launchdeck's: the shares "
                "are kept, but individual users may get a different variant after the move"
            )
        shares = {name: u / 1000 for name, u in units.items()}
        return Serve(rollout=Rollout(weights=shares, bucket_by=bucket_by, salt=salt))

    def bucketing(self, node: Any, path: str) -> tuple[str, str | None]:
        attribute = self.var(node, path)
        if attribute is not None:
            return attribute, None
        parts = node.get("cat") if isinstance(node, Mapping) and set(node) == {"cat"} else None
        if isinstance(parts, list) and len(parts) == 2:
            attribute = self.attribute(parts[1], f"{path}.cat[1]")
            if parts[0] == {"var": "$flagd.flagKey"}:
                return attribute, None
            if isinstance(parts[0], str) and parts[0]:
                return attribute, parts[0]
        self.fail(
            path,
            "this bucketing expression has no launchdeck form",
            'bucket by one attribute: {"var": "userId"}',
        )

    def attribute(self, node: Any, path: str) -> str:
        name = self.var(node, path)
        if name is None:
            self.fail(path, "expected an attribute", 'write {"var": "attribute"}')
        return name

    def var(self, node: Any, path: str) -> str | None:
        """The attribute `node` reads, or None when it is not a `var`."""
        if not (isinstance(node, Mapping) and set(node) == {"var"}):
            return None
        name = node["var"]
        if isinstance(name, list) and len(name) == 1:
            name = name[0]
        if isinstance(name, list):
            self.fail(
                f"{path}.var",
                "a `var` with a default has no launchdeck form",
                "drop the default: a missing attribute never matches in launchdeck",
            )
        if not isinstance(name, str) or not name:
            self.fail(f"{path}.var", "expected an attribute name", 'write {"var": "email"}')
        if name.startswith("$flagd."):
            self.fail(
                f"{path}.var",
                f"{name} has no launchdeck form",
                "use a scheduled change for time-based targeting",
            )
        return name

    def condition(self, node: Any, path: str, seen: tuple[str, ...]) -> Condition:
        node, path, seen = self.deref(node, path, seen)
        if not isinstance(node, Mapping) or len(node) != 1:
            self.fail(path, "expected one JsonLogic operation", 'write {"op": [args]}')
        ((op, args),) = node.items()
        where = f"{path}.{op}"
        if op == "!":
            inner = args[0] if isinstance(args, list) and len(args) == 1 else args
            return NotOf.model_validate({"not": self.condition(inner, f"{where}", seen)})
        if not isinstance(args, list) or not args:
            self.fail(where, f"`{op}` takes a list of arguments", f'write {{"{op}": [...]}}')
        if op in ("and", "or"):
            not_in = _not_in(args) if op == "and" else None
            if not_in is not None:
                return not_in
            parts = [self.condition(a, f"{where}[{i}]", seen) for i, a in enumerate(args)]
            if len(parts) == 1:
                return parts[0]
            return AllOf(all=tuple(parts)) if op == "and" else _merge_any(parts)
        return self.comparison(op, args, where)

    def comparison(self, op: str, args: list[Any], where: str) -> Condition:
        attribute = self.var(args[0], f"{where}[0]")
        if op == "in" and len(args) == 2:
            values = args[1]
            if attribute is not None and isinstance(values, list) and values:
                return Clause(attribute=attribute, op="in", values=self.literals(values, where))
            inside = self.var(args[1], f"{where}[1]")
            if inside is not None and isinstance(args[0], str):
                return Clause(attribute=inside, op="contains", values=(args[0],))
        elif op in ("==", "===", "!=", "!==") and len(args) == 2:
            clause = self.equality(args, where)
            return NotOf.model_validate({"not": clause}) if op.startswith("!") else clause
        elif op in _FLIPPED and len(args) in (2, 3):
            return self.numeric(op, args, where)
        elif op in ("starts_with", "ends_with") and len(args) == 2 and attribute is not None:
            if isinstance(args[1], str):
                return Clause(attribute=attribute, op=op, values=(args[1],))
        elif op == "sem_ver" and len(args) == 3 and attribute is not None:
            symbol, version = args[1], args[2]
            names = {v: k for k, v in _SEMVER_OPS.items()}
            if symbol in names and isinstance(version, str):
                return Clause(attribute=attribute, op=f"semver_{names[symbol]}", values=(version,))
            self.fail(
                f"{where}[1]",
                f"sem_ver {symbol!r} has no launchdeck form",
                "use =, >, >=, < or <= (write ^ and ~ as a range of two)",
            )
        self.fail(
            where,
            f"`{op}` with these arguments has no launchdeck form",
            "rewrite it with in, ==, <, >, starts_with, ends_with or sem_ver on a "
            '{"var": ...} and fixed values',
        )

    def equality(self, args: list[Any], where: str) -> Clause:
        attribute = self.var(args[0], f"{where}[0]")
        value = args[1]
        if attribute is None:
            attribute, value = self.attribute(args[1], f"{where}[1]"), args[0]
        (literal,) = self.literals([value], where)
        if isinstance(literal, bool):
            return Clause(attribute=attribute, op="in", values=(literal,))
        op = "equals" if isinstance(literal, str) else "eq"
        return Clause(attribute=attribute, op=op, values=(literal,))

    def numeric(self, op: str, args: list[Any], where: str) -> Condition:
        def number(value: Any, at: str) -> int | float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(at, f"{value!r} is not a fixed number", "compare with a number")
            return value

        names = {v: k for k, v in _NUMERIC_OPS.items() if k != "eq"}
        if len(args) == 3:
            if op not in ("<", "<="):
                self.fail(where, f"`{op}` takes two arguments", "compare an attribute and a number")
            low, high = number(args[0], f"{where}[0]"), number(args[2], f"{where}[2]")
            attribute = self.attribute(args[1], f"{where}[1]")
            return AllOf(
                all=(
                    Clause(attribute=attribute, op=names[_FLIPPED[op]], values=(low,)),
                    Clause(attribute=attribute, op=names[op], values=(high,)),
                )
            )
        left = self.var(args[0], f"{where}[0]")
        if left is not None:
            return Clause(attribute=left, op=names[op], values=(number(args[1], f"{where}[1]"),))
        right = self.attribute(args[1], f"{where}[1]")
        return Clause(
            attribute=right, op=names[_FLIPPED[op]], values=(number(args[0], f"{where}[0]"),)
        )

    def literals(self, values: list[Any], where: str) -> tuple[str | int | float | bool, ...]:
        for i, value in enumerate(values):
            if not isinstance(value, str | int | float | bool):
                self.fail(
                    f"{where}[{i}]",
                    f"{value!r} is not a fixed string, number or bool",
                    "compare with fixed values",
                )
        return tuple(values)


def _serve(outcome: Outcome, otherwise: Serve) -> Serve:
    if outcome is None:
        return otherwise
    return outcome if isinstance(outcome, Serve) else Serve(variant=outcome)


def _and(guard: Condition | None, condition: Condition) -> Condition:
    if guard is None:
        return condition
    head = guard.all if isinstance(guard, AllOf) else (guard,)
    return AllOf(all=(*head, condition))


def _not_in(args: list[Any]) -> Clause | None:
    """Export's guarded `not_in` (present and not in the list) read back as one clause."""
    if len(args) != 2:
        return None
    present, negated = args
    if not (isinstance(present, Mapping) and isinstance(negated, Mapping)):
        return None
    guard, inner = present.get("!="), negated.get("!")
    if not (isinstance(guard, list) and len(guard) == 2 and guard[1] is None):
        return None
    test = inner.get("in") if isinstance(inner, Mapping) else None
    if not (isinstance(test, list) and len(test) == 2 and test[0] == guard[0]):
        return None
    var, values = guard[0], test[1]
    if not (isinstance(var, Mapping) and isinstance(var.get("var"), str)):
        return None
    if not isinstance(values, list) or not values:
        return None
    if not all(isinstance(v, str | int | float | bool) for v in values):
        return None
    return Clause(attribute=var["var"], op="not_in", values=tuple(values))


def _merge_any(parts: list[Condition]) -> Condition:
    """`or` of one operator on one attribute is one clause (any of its values matches)."""
    first = parts[0]
    if isinstance(first, Clause) and first.op in _ANY_OF_VALUES:
        same = [p for p in parts if isinstance(p, Clause)]
        if len(same) == len(parts) and all(
            (p.attribute, p.op) == (first.attribute, first.op) for p in same
        ):
            values = tuple(v for p in same for v in p.values)
            return Clause(attribute=first.attribute, op=first.op, values=values)
    return AnyOf(any=tuple(parts))
