"""What a feature flag is: its definition, targeting, rollouts, schedules and segments. Pure.

One shape serves `launchdeck.yaml` (the `flags:` and `segments:` sections), the API and the
store: a flag is stored as the JSON of its `FlagSpec`, versioned as a whole. Checks that need
one flag only live here (variants match the type, serves name real variants, weights add up);
checks across flags and segments (prerequisites, cycles, unknown segments) are in `validate.py`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from launchdeck.durations import coerce_duration

__all__ = [
    "BUCKETING_VERSION",
    "KEY_PATTERN",
    "UNITS",
    "AllOf",
    "AnyOf",
    "Clause",
    "Condition",
    "EnvConfig",
    "EnvPatch",
    "FlagKind",
    "FlagSpec",
    "FlagType",
    "GovernanceSpec",
    "NotOf",
    "Prerequisite",
    "Rollout",
    "Rule",
    "ScheduledChange",
    "SegmentSpec",
    "Serve",
    "Snapshot",
    "percent_units",
]

BUCKETING_VERSION: Literal[1] = 1
"""The bucketing spec (docs/bucketing.md) every new flag records; see `bucketing.py`."""
UNITS = 100_000
"""Coverage and weights are integers out of 100,000: a resolution of 0.001 %."""
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
"""A flag or segment key: letters, digits, '.', '_' and '-', as SDKs and URLs take them."""
Attribute = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


class FlagKind(StrEnum):
    """What a flag is for; its expected lifetime follows (see `DEFAULT_LIFETIMES`)."""

    RELEASE = "release"
    EXPERIMENT = "experiment"
    OPS = "ops"
    """A kill switch or operational toggle: permanent."""
    PERMISSION = "permission"
    """Entitlements: permanent."""


DEFAULT_LIFETIMES: dict[FlagKind, timedelta | None] = {
    FlagKind.RELEASE: timedelta(days=40),
    FlagKind.EXPERIMENT: timedelta(days=60),
    FlagKind.OPS: None,
    FlagKind.PERMISSION: None,
}


class FlagType(StrEnum):
    BOOLEAN = "boolean"
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    OBJECT = "object"


def percent_units(value: object) -> int:
    """25, 25.5, "25%" or "12.345%" as units of 1/100,000; ValueError outside 0–100 % or when
    finer than 0.001 %."""
    if isinstance(value, bool):
        raise ValueError("a percentage is a number such as 25 or '25%'")
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage: write 25, 25.5 or '25%'") from None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise ValueError("a percentage is a number such as 25 or '25%'")
    if not 0 <= number <= 100:
        raise ValueError(f"{value!r} is outside 0–100 %")
    units = round(number * 1000)
    if abs(units - number * 1000) > 1e-6:
        raise ValueError(f"{value!r} is finer than 0.001 %, the bucketing resolution")
    return units


def _percent(value: object) -> float:
    return percent_units(value) / 1000


Percent = Annotated[float, BeforeValidator(_percent)]
"""A percentage, 0–100, with at most three decimals ("25%", 25 and 25.0 are the same)."""


class Clause(_Spec):
    """One test of the context: `country in [US, CA]`. See operators.py for every `op`."""

    attribute: Attribute | None = None
    """The context attribute (a dotted path reaches into objects); none for `in_segment`."""
    op: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    values: tuple[JsonValue, ...] = Field(min_length=1, max_length=10_000)
    timezone: str = "UTC"
    """For `before`/`after`: the zone a naive date in the context is read in."""

    @model_validator(mode="after")
    def _attribute(self) -> Clause:
        if self.op == "in_segment":
            if self.attribute is not None:
                raise ValueError("in_segment tests the whole context: drop `attribute`")
        elif self.attribute is None:
            raise ValueError(f"`{self.op}` needs an `attribute` to test")
        return self


class AllOf(_Spec):
    all: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(_Spec):
    any: tuple[Condition, ...] = Field(min_length=1)


class NotOf(_Spec):
    model_config = ConfigDict(populate_by_name=True)
    not_: Condition = Field(alias="not")


Condition = Clause | AllOf | AnyOf | NotOf
"""A clause, or `all` / `any` / `not` over conditions, nested to any depth."""


class Rollout(_Spec):
    """A percentage of units (users, by `bucket_by`), and how they split over variants."""

    coverage: Percent = 100.0
    """Units outside it skip this serve (a rule then falls to the next one)."""
    weights: dict[str, Percent] = Field(min_length=1)
    """Variant → share of the covered units; the shares add up to 100 %."""
    bucket_by: Attribute = "targetingKey"
    salt: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    """Defaults to the flag key; a new salt re-randomises who is in (only when asked)."""

    @field_validator("weights")
    @classmethod
    def _sum(cls, weights: dict[str, float]) -> dict[str, float]:
        total = sum(percent_units(w) for w in weights.values())
        if total != 100 * 1000:
            raise ValueError(f"the weights add up to {total / 1000:g} %, not 100 %")
        return weights


class Serve(_Spec):
    """What a rule or the fallthrough serves: one variant, a rollout, or the code's default."""

    variant: str | None = None
    rollout: Rollout | None = None
    code_default: bool = False

    @model_validator(mode="after")
    def _one(self) -> Serve:
        chosen = (self.variant is not None) + (self.rollout is not None) + self.code_default
        if chosen != 1:
            raise ValueError("serve exactly one of `variant`, `rollout` or `code_default: true`")
        return self

    def variants(self) -> tuple[str, ...]:
        if self.variant is not None:
            return (self.variant,)
        return tuple(self.rollout.weights) if self.rollout is not None else ()


class Rule(_Spec):
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    when: Condition
    serve: Serve


class EnvPatch(_Spec):
    """What a scheduled change or a change request sets; the fields it names are replaced."""

    enabled: bool | None = None
    rules: tuple[Rule, ...] | None = None
    fallthrough: Serve | None = None

    @model_validator(mode="after")
    def _something(self) -> EnvPatch:
        if self.enabled is None and self.rules is None and self.fallthrough is None:
            raise ValueError("a change sets at least one of `enabled`, `rules` or `fallthrough`")
        return self


def _signed_duration(value: object) -> object:
    """`-15m` (before) or `30m` / `+30m` (after), as well as seconds and ISO 8601."""
    if isinstance(value, str) and value.strip()[:1] in {"-", "+"}:
        text = value.strip()
        magnitude = coerce_duration(text[1:].strip())
        if isinstance(magnitude, timedelta):
            return -magnitude if text[0] == "-" else magnitude
    return coerce_duration(value)


class ScheduledChange(_Spec):
    """A change that takes effect at an instant, or at a campaign's start or end (moving the
    campaign moves the change)."""

    at: AwareDatetime | None = None
    campaign: Key | None = None
    edge: Literal["start", "end"] = "start"
    offset: Annotated[timedelta, BeforeValidator(_signed_duration)] = timedelta(0)
    """Before (negative: `-15m`) or after (`30m`) the campaign edge; seconds and ISO 8601
    (`-PT15M`) work too."""
    set: EnvPatch
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
    done_at: AwareDatetime | None = None
    """When a later manual change took this (due) change into the configuration: never again."""

    @model_validator(mode="after")
    def _when(self) -> ScheduledChange:
        if (self.at is None) == (self.campaign is None):
            raise ValueError("a scheduled change has either `at` or `campaign` (with `edge`)")
        return self


class EnvConfig(_Spec):
    """A flag in one environment."""

    enabled: bool = False
    rules: tuple[Rule, ...] = ()
    fallthrough: Serve = Serve(code_default=True)
    schedule: tuple[ScheduledChange, ...] = ()

    def patched(self, patch: EnvPatch) -> EnvConfig:
        update = patch.model_dump(exclude_none=True, by_alias=True)
        return EnvConfig.model_validate({**self.model_dump(by_alias=True), **update})


class Prerequisite(_Spec):
    flag: Key
    variants: tuple[str, ...] = ()
    """The prerequisite must serve one of these; empty: it must only be enabled."""


_TYPES: dict[FlagType, tuple[type, ...]] = {
    FlagType.BOOLEAN: (bool,),
    FlagType.STRING: (str,),
    FlagType.INTEGER: (int,),
    FlagType.FLOAT: (int, float),
    FlagType.OBJECT: (dict, list),
}


def _type_ok(flag_type: FlagType, value: object) -> bool:
    if isinstance(value, bool) and flag_type is not FlagType.BOOLEAN:
        return False
    return isinstance(value, _TYPES[flag_type])


def _boolean_variants() -> dict[str, JsonValue]:
    return {"on": True, "off": False}


class FlagSpec(_Spec):
    """A flag: its variants and, per environment, targeting, rollout and schedule."""

    key: Key
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    kind: FlagKind = FlagKind.RELEASE
    type: FlagType = FlagType.BOOLEAN
    system: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None
    """The system the flag's code runs in: the gate judges production changes against it."""
    owner: Annotated[str, StringConstraints(max_length=200)] | None = None
    tags: tuple[Annotated[str, StringConstraints(min_length=1, max_length=100)], ...] = ()
    lifetime: Annotated[timedelta, BeforeValidator(coerce_duration)] | None = None
    """Expected lifetime; unset: the kind's default (release 40 d, experiment 60 d, else none)."""
    variants: dict[Annotated[str, StringConstraints(pattern=KEY_PATTERN)], JsonValue] = Field(
        default_factory=_boolean_variants, min_length=1, max_length=100
    )
    off_variant: str | None = "off"
    """Served when the flag is off in an environment; none: the code's default."""
    schema_: dict[str, JsonValue] | None = Field(default=None, alias="schema")
    """A JSON Schema every variant of an object flag satisfies."""
    prerequisites: tuple[Prerequisite, ...] = ()
    environments: dict[Annotated[str, StringConstraints(max_length=63)], EnvConfig] = Field(
        default_factory=dict
    )
    bucketing: Literal[1] = BUCKETING_VERSION

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        allow_inf_nan=False,
        populate_by_name=True,
    )

    @model_validator(mode="after")
    def _consistent(self) -> FlagSpec:
        for name, value in self.variants.items():
            if not _type_ok(self.type, value):
                raise ValueError(
                    f"variant {name!r} = {value!r} is not a {self.type} value; every variant "
                    f"of a {self.type} flag has that type"
                )
        if self.schema_ is not None:
            if self.type is not FlagType.OBJECT:
                raise ValueError("`schema` is for object flags only")
            _check_schema(self.schema_, self.variants)
        if self.off_variant is not None and self.off_variant not in self.variants:
            raise ValueError(f"off_variant {self.off_variant!r} is not one of the variants")
        for env, config in self.environments.items():
            _check_serves(self, f"environments.{env}", config)
            for i, change in enumerate(config.schedule):
                patch = change.set
                where = f"environments.{env}.schedule[{i}].set"
                if patch.fallthrough is not None:
                    self._check_serve(where + ".fallthrough", patch.fallthrough)
                for j, rule in enumerate(patch.rules or ()):
                    self._check_serve(f"{where}.rules[{j}].serve", rule.serve)
        return self

    def _check_serve(self, where: str, serve: Serve) -> None:
        for variant in serve.variants():
            if variant not in self.variants:
                known = ", ".join(sorted(self.variants))
                raise ValueError(f"{where} serves {variant!r}, which is not a variant ({known})")

    @property
    def title(self) -> str:
        return self.name or self.key

    def expected_lifetime(self) -> timedelta | None:
        return self.lifetime if self.lifetime is not None else DEFAULT_LIFETIMES[self.kind]

    def environment(self, name: str) -> EnvConfig:
        """The flag in `name`; an environment the flag does not mention has it off."""
        return self.environments.get(name, EnvConfig())

    def with_environment(self, name: str, config: EnvConfig) -> FlagSpec:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=False)
        data["environments"] = {
            **data["environments"],
            name: config.model_dump(mode="json", by_alias=True),
        }
        return FlagSpec.model_validate(data)

    def document(self) -> dict[str, Any]:
        """The canonical JSON the store keeps, the API returns and history diffs."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=False)


def _check_serves(flag: FlagSpec, where: str, config: EnvConfig) -> None:
    for i, rule in enumerate(config.rules):
        flag._check_serve(f"{where}.rules[{i}].serve", rule.serve)
    flag._check_serve(f"{where}.fallthrough", config.fallthrough)


def _check_schema(schema: dict[str, Any], variants: dict[str, Any]) -> None:
    import jsonschema

    try:
        validator_type = jsonschema.validators.validator_for(schema)
        validator_type.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"`schema` is not a valid JSON Schema: {exc.message}") from None
    validator = validator_type(schema)
    for name, value in variants.items():
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "(the value)"
            raise ValueError(
                f"variant {name!r} does not satisfy `schema` at {path}: {error.message}"
            )


class SegmentSpec(_Spec):
    """A reusable audience: explicit keys and/or rules (any rule matching puts a context in)."""

    key: Key
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    key_attribute: Attribute = "targetingKey"
    """The attribute `included` and `excluded` list values of."""
    included: tuple[Annotated[str, StringConstraints(max_length=500)], ...] = Field(
        default=(), max_length=100_000
    )
    excluded: tuple[Annotated[str, StringConstraints(max_length=500)], ...] = Field(
        default=(), max_length=100_000
    )
    rules: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _something(self) -> SegmentSpec:
        if not self.included and not self.rules:
            raise ValueError("a segment needs `included` keys or `rules`, or it matches nobody")
        return self

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class GovernanceSpec(_Spec):
    """`flag_governance:` in launchdeck.yaml: who must approve flag changes, per environment."""

    approvals: dict[str, Annotated[int, Field(ge=0, le=10)]] = Field(default_factory=dict)
    """Environment → approvals a change request needs before it applies (0 or absent: none;
    changes apply directly)."""
    self_approval: bool = False
    """Whether the author of a change request may approve it."""

    def required(self, environment: str) -> int:
        return self.approvals.get(environment, 0)


_NAME = re.compile(KEY_PATTERN)


def valid_key(text: str) -> bool:
    return _NAME.match(text) is not None


def _resolve_forward_refs() -> None:
    for model in (AllOf, AnyOf, NotOf, Rule, SegmentSpec, EnvPatch, EnvConfig, ScheduledChange):
        model.model_rebuild()


_resolve_forward_refs()


class Snapshot(_Spec):
    """One environment's flags and segments, as an in-process provider or OFREP evaluates
    them. Every flag carries that environment only; schedule entries tied to a campaign come
    with their instant (`at`) resolved, so a provider needs no calendar."""

    environment: str
    revision: int = 0
    """The flags revision of the store it was made from (every flag or segment write adds 1)."""
    etag: str = ""
    generated_at: AwareDatetime | None = None
    flags: tuple[FlagSpec, ...] = ()
    segments: tuple[SegmentSpec, ...] = ()
