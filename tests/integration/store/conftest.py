"""Fixtures of the store suite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from store_builders import example_data, spec_of

from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec


@pytest.fixture
def example_spec() -> WorkspaceSpec:
    return spec_of(example_data())


@pytest.fixture
def service(db: Database, clock: Callable[[], datetime]) -> WorkspaceService:
    """The workspace on the test database, acting as `alice`."""
    return WorkspaceService(db, actor="alice", clock=clock)
