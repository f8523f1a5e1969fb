"""Helpers for the API suite: bearer headers, problem+json checks, the route table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

IssueToken = Callable[..., str]
"""issue_token("name", Scope.READ, expires_at=None) -> the plain token (the fixture)."""

PROBLEM_JSON = "application/problem+json"
MUTATING = frozenset({"post", "put", "patch", "delete"})
PUBLIC = frozenset({("get", "/healthz"), ("get", "/readyz")})
READ_ONLY_POSTS = frozenset(
    {
        ("post", "/api/v1/workspace/plan"),
        ("post", "/api/v1/gate/check"),
        ("post", "/api/v1/flags/evaluate"),
        ("post", "/ofrep/v1/evaluate/flags"),
        ("post", "/ofrep/v1/evaluate/flags/{key}"),
    }
)
"""POST operations that only read (asking the gate records blocks, changes nothing; OFREP
evaluates with any token or an SDK key): `read`."""
DEPLOY_WRITES = frozenset(
    {
        ("post", "/api/v1/freezes"),
        ("post", "/api/v1/timeline"),
        ("post", "/api/v1/releases"),
        ("post", "/api/v1/releases/{system}/{environment}/{action}"),
    }
)
"""Mutating operations a `deploy` token may call: freezing makes releases safer, never riskier;
recording a deploy made elsewhere is what a CI pipeline does; releasing and moving a release
(promote, pause, resume, abort, rollback) is what it is for."""
INCIDENT_WRITES = frozenset(
    {
        ("post", "/api/v1/incidents"),
        ("patch", "/api/v1/incidents/{incident_id}"),
        ("post", "/api/v1/incidents/{incident_id}/tasks"),
        ("patch", "/api/v1/incidents/{incident_id}/tasks/{task_id}"),
        ("post", "/api/v1/incidents/{incident_id}/entries"),
        ("patch", "/api/v1/incidents/{incident_id}/entries/{entry_id}"),
        ("post", "/api/v1/incidents/alerts"),
    }
)
"""Mutating operations an `incidents` token (the on-call responder) may call."""
FLAG_WRITES = frozenset(
    {
        ("post", "/api/v1/flags"),
        ("put", "/api/v1/flags/{key}"),
        ("delete", "/api/v1/flags/{key}"),
        ("post", "/api/v1/flags/{key}/changes"),
        ("post", "/api/v1/flags/{key}/schedule"),
        ("delete", "/api/v1/flags/{key}/schedule/{environment}/{index}"),
        ("post", "/api/v1/flags/{key}/restore"),
        ("put", "/api/v1/segments/{key}"),
        ("post", "/api/v1/flag-change-requests/{request_id}/approve"),
        ("post", "/api/v1/flag-change-requests/{request_id}/reject"),
        ("post", "/api/v1/flag-change-requests/{request_id}/apply"),
    }
)
"""Mutating operations a `flags:write` token may call (SDK keys stay `admin`)."""
EVENT_WRITES = frozenset({("post", "/api/v1/events")})
"""Mutating operations an `events:write` token may call (an SDK key may too): ingesting
exposures and metric events."""
ADMIN_READS = frozenset({("get", "/api/v1/tokens"), ("get", "/api/v1/sdk-keys")})
"""GET operations that need `admin` all the same: who holds which token (or SDK key) is an
admin's business."""

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "black-friday" / "launchdeck.yaml"

# Values tried, in order, for a path parameter; the first its pattern accepts is used.
_PATH_VALUES = ("0123456789abcdef", "checkout-api", "1", "cr-0123abcd")


def example_body() -> dict[str, Any]:
    """examples/black-friday/launchdeck.yaml as the JSON body of plan and apply."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    # YAML gives datetimes (campaign times, a feed's `since`); the wire wants ISO 8601 strings.
    body: dict[str, Any] = json.loads(json.dumps(data, default=lambda d: d.isoformat()))
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with our fields; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:launchdeck:problem:{code}"
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str)
    assert body["title"] != ""
    assert isinstance(body["detail"], str)
    assert body["detail"] != ""
    return body


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path template, operation) the schema declares."""
    return [
        (method, path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    ]


def fill_path(path: str, operation: dict[str, Any]) -> str:
    """The template with each path parameter replaced by a value its schema accepts."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        pattern = parameter.get("schema", {}).get("pattern")
        value = next(
            (v for v in _PATH_VALUES if pattern is None or re.search(pattern, v)),
            None,
        )
        assert value is not None, f"add a value for {parameter['name']!r} ({pattern}) above"
        path = path.replace("{" + parameter["name"] + "}", value)
    assert "{" not in path, f"unfilled path parameter in {path}"
    return path
