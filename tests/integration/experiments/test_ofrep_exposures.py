"""`events: {ofrep_exposures: true}`: the API server logs an exposure for an OFREP evaluation
that puts a unit in a running experiment's split, over real HTTP (uvicorn on loopback).

The workspace (SQLite) has `production` and `staging`. Flag `hero-copy` carries experiment
`hero-test` in production (its split, and the consent rule serving control to contexts without
`analytics_consent: true`); in staging the same flag has a split of its own, outside any
experiment. Exposures are logged off the event loop and committed by the writer thread, so a
test either polls `GET /api/v1/events/stats` until one shows, or settles the server (every
handed-off exposure submitted, every submitted batch committed) before asserting that none did.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from launchdeck.api.app import create_app
from launchdeck.auth.model import Scope
from launchdeck.auth.service import TokenService
from launchdeck.client import utc_now
from launchdeck.experiments.store import EventStore
from launchdeck.flags.service import FlagService
from launchdeck.settings import Settings
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

FLAG, EXPERIMENT = "hero-copy", "hero-test"
SPLIT = {"weights": {"control": 50, "bold": 50}}
CONSENT = {"analytics_consent": True}


def _workspace(events: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "workspace": {"name": "northwind", "timezone": "UTC"},
        "environments": [{"id": "staging"}, {"id": "production"}],
        "flags": [
            {
                "key": FLAG,
                "kind": "experiment",
                "type": "string",
                "variants": {"off": "Shop", "control": "Up to 50% off", "bold": "Ends tonight"},
                "environments": {
                    "production": {"enabled": True},
                    "staging": {"enabled": True, "fallthrough": {"rollout": SPLIT}},
                },
            },
        ],
        "metrics": [{"key": "purchase", "event": "purchase"}],
        "experiments": [
            {
                "key": EXPERIMENT,
                "flag": FLAG,
                "environment": "production",
                "control": "control",
                "variants": {"control": 50, "bold": 50},
                "primary_metric": "purchase",
            }
        ],
    }
    if events is not None:
        spec["events"] = events
    return spec


@dataclass
class Server:
    url: str
    app: FastAPI
    loop: asyncio.AbstractEventLoop
    events_path: Path
    sdk_keys: dict[str, str]
    """Environment → an SDK key reading it."""
    reader: str
    """An API token with the read scope (for /api/v1/events/stats)."""

    def evaluate(
        self, environment: str, context: dict[str, Any], key: str | None = FLAG
    ) -> httpx.Response:
        """OFREP: one flag (`key`) or, with key None, every flag (bulk)."""
        path = "/ofrep/v1/evaluate/flags" + ("" if key is None else f"/{key}")
        response = httpx.post(
            self.url + path,
            json={"context": context},
            headers={"X-API-Key": self.sdk_keys[environment]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response

    def stats(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/api/v1/events/stats",
            headers={"Authorization": f"Bearer {self.reader}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def settle(self) -> None:
        """Wait for every exposure handed off (the loop's worker threads) to be submitted, then
        commit what the writer holds. The server logs no exposure after this: call it last."""
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_default_executor(), self.loop).result(
            timeout=30
        )
        self.app.state.events.close()

    def exposures(self) -> list[tuple[str, str, str, str, Any]]:
        """(id, experiment, variant, unit, attributes) of every stored exposure, by id (after
        `settle`); none when the store was never created."""
        if not self.events_path.exists():
            return []
        with EventStore(self.events_path, read_only=True) as store:
            cursor = store.cursor()
            try:
                rows = cursor.execute(
                    "SELECT id, experiment, variant, unit, attributes::VARCHAR FROM exposures"
                    " ORDER BY id"
                ).fetchall()
            finally:
                cursor.close()
        return [(str(i), str(e), str(v), str(u), json.loads(a)) for i, e, v, u, a in rows]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`serve(events)`: the API on a fresh workspace whose `events:` section is `events`."""
    started: list[tuple[uvicorn.Server, threading.Thread, FastAPI, Database]] = []

    def make(events: dict[str, Any] | None) -> Server:
        db = Database(f"sqlite:///{tmp_path / f'state-{len(started)}.db'}")
        db.ensure_schema()
        WorkspaceService(db, actor="setup", clock=utc_now).apply(
            WorkspaceSpec.model_validate(_workspace(events))
        )
        flags = FlagService(db, actor="setup", clock=utc_now)
        keys = {
            env: flags.create_sdk_key(f"web-{env}", env).key for env in ("production", "staging")
        }
        reader = TokenService(db, actor="setup", clock=utc_now).create("dash", (Scope.READ,))
        path = tmp_path / f"events-{len(started)}.duckdb"
        settings = Settings(
            events_path=path, notify_in_background=False, incident_refresh_s=0, ofrep_rate_limit=0
        )
        app = create_app(settings, db=db)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        started.append((server, thread, app, db))
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the API server did not start within 10 s"
            time.sleep(0.01)
        listening = server.servers[0]
        port = listening.sockets[0].getsockname()[1]
        return Server(
            f"http://127.0.0.1:{port}", app, listening.get_loop(), path, keys, reader.token
        )

    yield make
    for server, thread, app, db in started:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.events.close()
        db.dispose()


def _wait_for_exposures(server: Server, count: int) -> dict[str, Any]:
    """The stats once they count `count` stored exposures (or after 30 s: the first batch a
    process writes imports pandas through pyarrow, seconds without cached bytecode)."""
    deadline = time.monotonic() + 30
    while True:
        stats = server.stats()
        if stats["exposures"] >= count or time.monotonic() > deadline:
            return stats
        time.sleep(0.02)


def test_a_consenting_unit_split_by_the_experiment_is_exposed_once(
    serve: Callable[..., Server],
) -> None:
    server = serve({"ofrep_exposures": True})
    context = {"targetingKey": "user-1", **CONSENT}

    first = server.evaluate("production", context).json()
    stored = _wait_for_exposures(server, 1)
    again = server.evaluate("production", context).json()
    bulk = server.evaluate("production", context, key=None).json()
    server.settle()

    assert first["reason"] == "SPLIT"
    assert first["variant"] in {"control", "bold"}
    assert stored["exposures"] == 1
    assert (again["reason"], again["variant"]) == ("SPLIT", first["variant"])
    assert [(f["key"], f["variant"]) for f in bulk["flags"]] == [(FLAG, first["variant"])]
    assert server.exposures() == [
        (
            f"ofrep:{EXPERIMENT}:user-1",
            EXPERIMENT,
            first["variant"],
            "user-1",
            {"source": "ofrep"},
        )
    ]


def test_each_consenting_unit_gets_its_own_exposure_with_its_variant(
    serve: Callable[..., Server],
) -> None:
    server = serve({"ofrep_exposures": True})
    units = [f"visitor-{i}" for i in range(8)]

    answers = {
        u: server.evaluate("production", {"targetingKey": u, **CONSENT}).json() for u in units
    }
    _wait_for_exposures(server, len(units))
    server.settle()

    assert {a["reason"] for a in answers.values()} == {"SPLIT"}
    assert {a["variant"] for a in answers.values()} == {"control", "bold"}  # both arms taken
    assert [(row[3], row[2]) for row in server.exposures()] == sorted(
        (u, a["variant"]) for u, a in answers.items()
    )


@pytest.mark.parametrize(
    "consent",
    [{}, {"analytics_consent": False}, {"analytics_consent": "true"}],
    ids=["no consent attribute", "consent false", "consent a string"],
)
def test_a_unit_without_consent_gets_control_and_is_not_exposed(
    serve: Callable[..., Server], consent: dict[str, Any]
) -> None:
    server = serve({"ofrep_exposures": True})

    single = server.evaluate("production", {"targetingKey": "user-2", **consent}).json()
    bulk = server.evaluate("production", {"targetingKey": "user-2", **consent}, key=None).json()
    # a consenting unit evaluated after them: once it is stored, theirs would have been too
    server.evaluate("production", {"targetingKey": "user-3", **CONSENT})
    _wait_for_exposures(server, 1)
    server.settle()

    assert (single["reason"], single["variant"]) == ("TARGETING_MATCH", "control")
    assert [(f["reason"], f["variant"]) for f in bulk["flags"]] == [("TARGETING_MATCH", "control")]
    assert [row[3] for row in server.exposures()] == ["user-3"]


@pytest.mark.parametrize(
    "events", [None, {"ofrep_exposures": False}], ids=["no events section", "turned off"]
)
def test_with_ofrep_exposures_off_nothing_is_logged(
    serve: Callable[..., Server], events: dict[str, Any] | None
) -> None:
    server = serve(events)
    context = {"targetingKey": "user-1", **CONSENT}

    single = server.evaluate("production", context).json()
    server.evaluate("production", context, key=None)
    server.evaluate("production", {"targetingKey": "user-4", **CONSENT})
    stats = server.stats()
    server.settle()

    assert single["reason"] == "SPLIT"
    assert stats["exposures"] == 0
    assert stats["outcomes"] == []
    assert not server.events_path.exists()  # not even a store was created
    assert server.exposures() == []


def test_a_split_in_another_environment_than_the_experiments_is_not_exposed(
    serve: Callable[..., Server],
) -> None:
    server = serve({"ofrep_exposures": True})
    context = {"targetingKey": "user-5", **CONSENT}

    single = server.evaluate("staging", context).json()
    bulk = server.evaluate("staging", context, key=None).json()
    # the experiment's own environment, after them: once it is stored, theirs would have been
    server.evaluate("production", {"targetingKey": "user-6", **CONSENT})
    _wait_for_exposures(server, 1)
    server.settle()

    assert (single["reason"], bulk["flags"][0]["reason"]) == ("SPLIT", "SPLIT")
    assert [row[3] for row in server.exposures()] == ["user-6"]
