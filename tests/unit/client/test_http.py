"""Ids put into URLs by the remote client stay one path segment."""

from __future__ import annotations

import httpx
import pytest

from launchdeck.client.http import segment


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("checkout-api", "checkout-api"),
        ("adhoc:0123abcd", "adhoc:0123abcd"),
        ("../tokens/0123456789abcdef", "..%2Ftokens%2F0123456789abcdef"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a b?c#d", "a%20b%3Fc%23d"),
    ],
    ids=["a plain id", "a colon is kept", "slashes are escaped", "dot-dot", "dot", "query chars"],
)
def test_a_segment_is_escaped(value: str, expected: str) -> None:
    assert segment(value) == expected


@pytest.mark.parametrize("value", ["..", "../tokens/x", "./x", "a/../../b"])
def test_a_segment_never_climbs_out_of_its_route(value: str) -> None:
    url = httpx.URL(f"http://127.0.0.1/api/v1/freezes/{segment(value)}")
    assert url.path.startswith("/api/v1/freezes/")
    assert url.raw_path.count(b"/") == 4
