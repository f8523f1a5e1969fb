"""Schemathesis against the live API with an admin token: no input makes an operation answer 5xx.

Each operation gets valid and invalid inputs generated from the OpenAPI document. The cases
are drawn with `APIOperation.as_strategy` under our own `@given`, because schemathesis's
fixture-driven pytest integration does not run on pytest 9 yet. The flag and OFREP operations
run a second time on a workspace with environments, flags and an SDK key, so evaluation and
the event stream (cut short) are reached and not only refused.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from api_builders import bearer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from launchdeck.flags.model import FlagSpec, SegmentSpec
from launchdeck.flags.service import FlagService
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

MAX_EXAMPLES = 20


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    strategy = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def no_server_error(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    no_server_error()


def _fuzz_all(operations: list[Any], headers_of: Any) -> dict[str, str]:
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            _fuzz(operation, headers_of(operation))
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    return failures


def test_no_operation_answers_with_a_server_error(live_server: Any, admin_token: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]

    failures = _fuzz_all(operations, lambda _: bearer(admin_token))

    assert failures == {}
    assert len(operations) >= 15


FLAG_PATHS = ("/api/v1/flags", "/api/v1/segments", "/api/v1/flag-change-requests", "/api/v1/sdk")
SDK_PATHS = ("/ofrep/", "/api/v1/sdk/")
"""Operations an SDK key calls (the rest of the flag operations get the admin token)."""


def _seed(db: Database, clock: Any) -> str:
    """Environments, a segment and flags of every type with rules and a rollout; the SDK key."""
    WorkspaceService(db, actor="seed", clock=clock).apply(
        WorkspaceSpec.model_validate(
            {"workspace": {"name": "fuzz"}, "environments": [{"id": "staging"}, {"id": "prod"}]}
        )
    )
    service = FlagService(db, actor="seed", clock=clock)
    service.put_segment(SegmentSpec(key="beta", included=("user-1",)))
    rules = [
        {"when": {"op": "in_segment", "values": ["beta"]}, "serve": {"variant": "b"}},
        {
            "when": {"attribute": "email", "op": "matches", "values": ["@example\\.com$"]},
            "serve": {"rollout": {"weights": {"a": 50, "b": 50}}},
        },
        {
            "when": {"attribute": "version", "op": "semver_gte", "values": ["2.0.0"]},
            "serve": {"variant": "a"},
        },
    ]
    variants = {
        "boolean": {"a": True, "b": False},
        "string": {"a": "x", "b": "y"},
        "integer": {"a": 1, "b": 2},
        "float": {"a": 0.5, "b": 2},
        "object": {"a": {"k": 1}, "b": [1, 2]},
    }
    for kind, values in variants.items():
        staging = {"enabled": True, "rules": rules, "fallthrough": {"code_default": True}}
        spec = {"key": f"flag-{kind}", "type": kind, "variants": values, "off_variant": "a"}
        service.create(FlagSpec.model_validate({**spec, "environments": {"staging": staging}}))
    return service.create_sdk_key("fuzz", "staging").key


def test_flag_and_ofrep_operations_on_a_seeded_workspace_answer_no_server_error(
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    db: Database,
    clock: Any,
    admin_token: str,
) -> None:
    monkeypatch.setenv("LAUNCHDECK_SSE_MAX_STREAM_S", "0.3")  # a stream the fuzzer opens ends
    sdk_key = _seed(db, clock)
    live_server = request.getfixturevalue("live_server")
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.path.startswith(FLAG_PATHS + SDK_PATHS)
    ]

    failures = _fuzz_all(
        operations,
        lambda op: {"X-API-Key": sdk_key} if op.path.startswith(SDK_PATHS) else bearer(admin_token),
    )

    assert failures == {}
    assert {op.path for op in operations} >= {
        "/ofrep/v1/evaluate/flags/{key}",
        "/ofrep/v1/evaluate/flags",
        "/ofrep/v1/configuration",
        "/ofrep/v1/sse",
        "/api/v1/sdk/snapshot",
        "/api/v1/flags",
        "/api/v1/flags/{key}/changes",
    }
