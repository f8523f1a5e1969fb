"""Unique ids per test (as cosmicpython's random_refs), so tests can share a database."""

from __future__ import annotations

import uuid

__all__ = ["random_id"]


def random_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
