"""POST /api/v1/events and GET /api/v1/events/stats over real HTTP, on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from launchdeck.api.app import create_app
from launchdeck.auth.model import Scope
from launchdeck.auth.service import TokenService
from launchdeck.experiments.model import Catalog
from launchdeck.flags.service import FlagService
from launchdeck.flags.serving import RateLimiter
from launchdeck.settings import Settings
from launchdeck.store import Database

CATALOG = Catalog(
    experiments={"hero": frozenset({"control", "urgency"})}, by_flag={"bf-hero-copy": "hero"}
)


@dataclass
class Api:
    url: str
    events_path: Path
    sdk_key: str
    token: Callable[..., str]


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the API server did not start within 10 s"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def workspace_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    """One migrated SQLite workspace with an environment and its SDK key for the module (the
    events path does not depend on the SQL engine; tokens and SDK keys are tested on both)."""
    from launchdeck.client import utc_now
    from launchdeck.workspace.service import WorkspaceService
    from launchdeck.workspace.spec import WorkspaceSpec

    db = Database(f"sqlite:///{tmp_path_factory.mktemp('events-api') / 'state.db'}")
    db.ensure_schema()
    WorkspaceService(db, actor="setup", clock=utc_now).apply(
        WorkspaceSpec.model_validate(
            {"workspace": {"name": "events"}, "environments": [{"id": "production"}]}
        )
    )
    flags = FlagService(db, actor="setup", clock=utc_now)
    yield db, flags.create_sdk_key("web", "production").key
    db.dispose()


@pytest.fixture
def api_with(
    workspace_db: tuple[Database, str], clock: Any, tmp_path: Path
) -> Iterator[Callable[..., Api]]:
    """`api_with(**settings)`: the API on the module's database, its events in tmp_path."""
    db, sdk_key = workspace_db
    tokens = TokenService(db, actor="setup", clock=clock)
    running: list[tuple[uvicorn.Server, threading.Thread, Any]] = []

    def token(name: str, *scopes: Scope) -> str:
        return tokens.create(name, scopes).token

    def make(*, limiter_at: float | None = None, **options: Any) -> Api:
        """`limiter_at`: the rate limiter's clock stands still at that instant, so what it
        answers does not depend on how fast this machine serves the first request."""
        path = tmp_path / f"events-{len(running)}.duckdb"
        settings = Settings(events_path=path, notify_in_background=False, **options)
        app = create_app(settings, db=db, clock=clock, catalog=lambda: CATALOG)
        if limiter_at is not None:
            app.state.ofrep_limiter = RateLimiter(
                settings.ofrep_rate_limit, monotonic=lambda: limiter_at
            )
        server, thread, url = _serve(app)
        running.append((server, thread, app))
        return Api(url, path, sdk_key, token)

    yield make
    for server, thread, app in running:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.events.close()


@pytest.fixture
def api(api_with: Callable[..., Api]) -> Api:
    return api_with(ofrep_rate_limit=0)


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def post(api: Api, body: Any, credential: str, **options: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{api.url}/api/v1/events",
        content=content,
        headers={**bearer(credential), "Content-Type": "application/json"},
        timeout=30,
        **options,
    )


def batch(clock: Any) -> dict[str, Any]:
    at = (clock() - timedelta(minutes=1)).isoformat()
    return {
        "events": [
            {
                "id": "e-1",
                "type": "exposure",
                "flag": "bf-hero-copy",
                "variant": "urgency",
                "unit": "user-1",
                "timestamp": at,
                "attributes": {"browser": "firefox"},
            },
            {
                "type": "metric",
                "event": "purchase",
                "value": 59.9,
                "unit": "user-1",
                "timestamp": at,
            },
            {"id": "e-2", "type": "exposure", "experiment": "hero", "variant": "bold", "unit": "u"},
            "not an event",
        ]
    }


def test_an_sdk_key_posts_events_and_a_retry_stores_nothing_twice(api: Api, clock: Any) -> None:
    first = post(api, batch(clock), api.sdk_key)
    retry = post(api, batch(clock), api.sdk_key)

    assert first.status_code == 200, first.text
    assert first.json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": 2,
        "rejects": [
            {
                "index": 2,
                "id": "e-2",
                "reason": "unknown_variant",
                "field": "variant",
                "message": "'bold' is not a variant of 'hero' (control, urgency)",
            },
            {
                "index": 3,
                "id": None,
                "reason": "not_an_object",
                "field": None,
                "message": "an event is a JSON object",
            },
        ],
    }
    assert retry.json()["accepted"] == 0
    assert retry.json()["duplicates"] == 2


def test_bodies_after_the_first_are_checked_alike_and_fail_alone(api: Api, clock: Any) -> None:
    # Once the store is open, bodies are decoded by the writer thread: the answers are the same.
    assert post(api, batch(clock), api.sdk_key).json()["accepted"] == 2
    at = (clock() - timedelta(minutes=1)).isoformat()
    lone = (
        b'{"events": [{"type": "metric", "event": "purchase", "unit": "\\ud800", "timestamp": "'
        + at.encode()
        + b'"}, {"type": "metric", "event": "purchase", "unit": "user-9", "timestamp": "'
        + at.encode()
        + b'"}]}'
    )

    surrogate = post(api, lone, api.sdk_key)
    broken = post(api, b"{not json", api.sdk_key)
    again = post(api, batch(clock), api.sdk_key)

    assert surrogate.status_code == 200, surrogate.text
    assert surrogate.json()["accepted"] == 1
    assert [(r["index"], r["reason"], r["field"]) for r in surrogate.json()["rejects"]] == [
        (0, "wrong_type", "unit")
    ]
    assert broken.status_code == 400
    assert broken.json()["code"] == "usage"
    assert "not JSON" in broken.json()["detail"]
    assert again.json()["duplicates"] == 2


@pytest.mark.parametrize(
    "scopes", [(Scope.EVENTS_WRITE,), (Scope.ADMIN,)], ids=["events:write", "admin"]
)
def test_an_api_token_with_events_write_posts_events(
    api: Api, clock: Any, scopes: tuple[Scope, ...]
) -> None:
    response = post(api, batch(clock), api.token("collector", *scopes))

    assert response.status_code == 200
    assert response.json()["accepted"] == 2


def test_the_sdk_key_may_come_as_an_api_key_header(api: Api, clock: Any) -> None:
    response = httpx.post(
        f"{api.url}/api/v1/events", json=batch(clock), headers={"X-API-Key": api.sdk_key}
    )

    assert response.status_code == 200
    assert response.json()["accepted"] == 2


def test_posting_events_needs_a_credential_with_the_scope(api: Api, clock: Any) -> None:
    anonymous = httpx.post(f"{api.url}/api/v1/events", json=batch(clock))
    reader = post(api, batch(clock), api.token("dashboard", Scope.READ))
    wrong = post(api, batch(clock), "lds_0123456789ab_not-the-secret")

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert reader.status_code == 403
    assert reader.json()["detail"] == "token 'dashboard' lacks the 'events:write' scope"
    assert wrong.status_code == 401
    assert "not-the-secret" not in wrong.text
    assert not api.events_path.exists()  # nothing was stored: no store was even created


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "usage"),
        (b'{"events": {"type": "metric"}}', 400, "usage"),
        (b"[1, 2, 3]", 400, "usage"),
        (b"[" * 100_000, 400, "usage"),
        (json.dumps({"events": [{}] * 10_001}).encode(), 413, "payload_too_large"),
        (b'{"events": ["' + b"x" * (10 * 2**20) + b'"]}', 413, "payload_too_large"),
    ],
    ids=[
        "not JSON",
        "events is not a list",
        "a bare list",
        "nested too deep",
        "more than 10,000 events",
        "more than 10 MiB",
    ],
)
def test_a_malformed_or_oversized_body_is_a_problem_and_stores_nothing(
    api: Api, body: bytes, status: int, code: str
) -> None:
    response = post(api, body, api.sdk_key)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert not api.events_path.exists()


def test_only_an_api_token_may_backfill_old_events(api: Api, clock: Any) -> None:
    old = {
        "events": [
            {
                "id": "old-1",
                "type": "metric",
                "event": "purchase",
                "unit": "user-1",
                "timestamp": (clock() - timedelta(days=400)).isoformat(),
            }
        ]
    }

    plain = post(api, old, api.sdk_key)
    sdk_backfill = post(api, old, api.sdk_key, params={"allow_old": "true"})
    backfill = post(api, old, api.token("etl", Scope.EVENTS_WRITE), params={"allow_old": "true"})

    assert plain.json()["rejects"][0]["reason"] == "too_old"
    assert sdk_backfill.status_code == 403
    assert backfill.json()["accepted"] == 1


def test_stats_count_outcomes_by_experiment_and_kind(api: Api, clock: Any) -> None:
    reader = bearer(api.token("dashboard", Scope.READ))
    before = httpx.get(f"{api.url}/api/v1/events/stats", headers=reader)
    post(api, batch(clock), api.sdk_key)
    post(api, batch(clock), api.sdk_key)

    after = httpx.get(f"{api.url}/api/v1/events/stats", headers=reader, params={"days": 1})

    assert before.json()["exposures"] == 0
    assert before.json()["outcomes"] == []
    body = after.json()
    assert (body["exposures"], body["metric_events"]) == (1, 1)
    assert body["since"] == clock().date().isoformat()
    assert {(o["experiment"], o["kind"], o["outcome"]): o["count"] for o in body["outcomes"]} == {
        ("", "metric", "accepted"): 1,
        ("", "metric", "duplicate"): 1,
        ("hero", "exposure", "accepted"): 1,
        ("hero", "exposure", "duplicate"): 1,
        ("hero", "exposure", "rejected:unknown_variant"): 2,
        ("", "", "rejected:not_an_object"): 2,
    }


def test_a_credential_over_its_rate_is_told_when_to_retry(
    api_with: Callable[..., Api], clock: Any
) -> None:
    api = api_with(ofrep_rate_limit=0.5, limiter_at=1000.0)

    answers = [post(api, batch(clock), api.sdk_key) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 429, 429]
    assert answers[1].headers["retry-after"] == "2"
    assert answers[1].json()["code"] == "rate_limited"


def test_the_schema_declares_the_events_operations(api: Api) -> None:
    schema = httpx.get(f"{api.url}/api/openapi.json").json()
    post_op = schema["paths"]["/api/v1/events"]["post"]

    assert {name for s in post_op["security"] for name in s} == {"eventsBearer", "eventsApiKey"}
    assert post_op["requestBody"]["content"]["application/json"]["schema"]["required"] == ["events"]
    assert "get" in schema["paths"]["/api/v1/events/stats"]


def test_a_store_another_process_holds_is_a_retryable_503(api: Api, clock: Any) -> None:
    api.events_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(api.events_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"open\n"
    try:
        refused = post(api, batch(clock), api.sdk_key)
    finally:
        holder.communicate(b"", timeout=10)
    retried = post(api, batch(clock), api.sdk_key)

    assert refused.status_code == 503
    assert refused.json()["code"] == "upstream_unavailable"
    assert retried.status_code == 200
    assert retried.json()["accepted"] == 2
