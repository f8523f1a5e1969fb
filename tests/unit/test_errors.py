"""The exception tree: each class has its own wire code and the documented HTTP status."""

from __future__ import annotations

import pytest

from launchdeck import errors
from launchdeck.errors import (
    Blocked,
    ConfigError,
    Conflict,
    Forbidden,
    LaunchdeckError,
    NotFound,
    Unauthorized,
    UpstreamError,
    UsageError,
    ValidationFailed,
)

DOCUMENTED: dict[type[LaunchdeckError], tuple[str, int]] = {
    UsageError: ("usage", 400),
    ConfigError: ("invalid_config", 422),
    ValidationFailed: ("validation_failed", 422),
    Unauthorized: ("unauthorized", 401),
    Forbidden: ("forbidden", 403),
    NotFound: ("not_found", 404),
    Conflict: ("conflict", 409),
    Blocked: ("blocked", 409),
    UpstreamError: ("upstream_unavailable", 503),
}


def _subclasses(cls: type[LaunchdeckError]) -> set[type[LaunchdeckError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_class_is_documented_here() -> None:
    defined = {cls for cls in _subclasses(LaunchdeckError) if cls.__module__ == "launchdeck.errors"}
    assert defined == set(DOCUMENTED)
    assert {cls.__name__ for cls in defined} | {"LaunchdeckError"} == set(errors.__all__)


@pytest.mark.parametrize(
    ("cls", "code", "status"),
    [(cls, code, status) for cls, (code, status) in DOCUMENTED.items()],
    ids=[cls.__name__ for cls in DOCUMENTED],
)
def test_each_error_has_its_documented_code_and_status(
    cls: type[LaunchdeckError], code: str, status: int
) -> None:
    assert (cls.code, cls.status) == (code, status)


def test_codes_are_distinct() -> None:
    codes = [cls.code for cls in DOCUMENTED] + [LaunchdeckError.code]
    assert len(codes) == len(set(codes))


def test_an_error_with_a_place_reads_place_colon_message() -> None:
    error = ConfigError("unknown key 'x'", where="launchdeck.yaml:4:3", field="workspace.x")
    assert str(error) == "launchdeck.yaml:4:3: unknown key 'x'"
    assert (error.message, error.field, error.hint) == ("unknown key 'x'", "workspace.x", None)


def test_an_error_without_a_place_reads_as_its_message() -> None:
    assert str(NotFound("no system 'web'", hint="list them")) == "no system 'web'"


@pytest.mark.parametrize(
    ("count", "source", "message"),
    [
        (1, "launchdeck.yaml", "1 problem in launchdeck.yaml"),
        (3, "launchdeck.yaml", "3 problems in launchdeck.yaml"),
        (2, None, "2 problems"),
    ],
    ids=["one problem", "several problems", "no source"],
)
def test_validation_failed_counts_its_problems(
    count: int, source: str | None, message: str
) -> None:
    problems = [ConfigError(f"problem {n}") for n in range(count)]
    failed = ValidationFailed(problems, source=source)
    assert failed.message == message
    assert failed.problems == tuple(problems)
    assert isinstance(failed, ConfigError)


def test_an_upstream_error_is_retryable_unless_told_otherwise() -> None:
    assert UpstreamError("database down").retryable is True
    assert UpstreamError("bad credentials", retryable=False).retryable is False
