"""Shared fixtures: databases on SQLite and PostgreSQL, a controllable clock, a live API server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "black-friday"
POSTGRES_URL = os.environ.get(
    "LAUNCHDECK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Clock:
    """A clock tests move by hand; services receive it where they would get the wall clock."""

    now: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _postgres_schema_url() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is needed for this test ({type(exc).__name__}); "
            "run 'make test', which starts it, or set LAUNCHDECK_TEST_POSTGRES_URL"
        )
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def db(db_url: str) -> Iterator[object]:
    from launchdeck.store import Database

    database = Database(db_url)
    database.ensure_schema()
    yield database
    database.dispose()


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """A private copy of examples/black-friday/ that a test may edit."""
    target = tmp_path / "black-friday"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".launchdeck"))
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db: object


@pytest.fixture
def prometheus_url() -> str:
    """Where the live server reads SLIs: a closed loopback port, so a read fails at once and no
    test reaches a Prometheus it did not start (say one at :9090). Override it to give one."""
    return f"http://127.0.0.1:{_free_port()}"


@pytest.fixture
def live_server(
    db: object, clock: Clock, prometheus_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The real API (uvicorn, real HTTP on loopback) on the test's database."""
    import uvicorn

    from launchdeck.api.app import create_app
    from launchdeck.reliability.service import prometheus_sources
    from launchdeck.settings import Settings

    port = _free_port()
    sources = prometheus_sources(prometheus_url, timeout_s=10)
    # Notifications go out before the answer, so a test sees their outcome when the call returns
    # (the server's default sends them after: tests/integration/notify covers that mode).
    # A test's own LAUNCHDECK_EVENTS_PATH, or a temporary one: never the repository's.
    events = os.environ.get("LAUNCHDECK_EVENTS_PATH") or str(
        tmp_path_factory.mktemp("events") / "events.duckdb"
    )
    settings = Settings(notify_in_background=False, events_path=Path(events))
    app = create_app(settings, db=db, clock=clock, sources=sources)  # type: ignore[arg-type]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the API server did not start within 10 s")
        time.sleep(0.01)
    yield LiveServer(url=f"http://127.0.0.1:{port}", db=db)
    server.should_exit = True
    thread.join(timeout=10)
    app.state.events.close()
