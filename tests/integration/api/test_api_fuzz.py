"""Schemathesis against the live API with an admin token: no input makes an operation answer 5xx.

Each operation gets valid and invalid inputs generated from the OpenAPI document. The cases
are drawn with `APIOperation.as_strategy` under our own `@given`, because schemathesis's
fixture-driven pytest integration does not run on pytest 9 yet.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from api_builders import bearer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

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


def test_no_operation_answers_with_a_server_error(live_server: Any, admin_token: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: dict[str, str] = {}

    for operation in operations:
        try:
            _fuzz(operation, bearer(admin_token))
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
            failures[operation.label] = f"{type(exc).__name__}: {exc}"

    assert failures == {}
    assert len(operations) >= 15
