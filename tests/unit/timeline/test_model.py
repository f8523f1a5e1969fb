"""Timeline data: the opaque page cursor and the query limits."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from launchdeck.errors import UsageError
from launchdeck.timeline.model import MAX_PAGE, TimelineQuery, decode_cursor, encode_cursor
from strategies import property_settings


@pytest.mark.parametrize("event_id", [1, 42, 2**63 - 1], ids=["one", "42", "int64 max"])
def test_a_cursor_decodes_to_the_id_it_was_made_from(event_id: int) -> None:
    assert decode_cursor(encode_cursor(event_id)) == event_id


def test_a_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor(12345)
    assert cursor == "djE6MTIzNDU"
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@property_settings(max_examples=200)
@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_every_event_id_survives_a_cursor_round_trip(event_id: int) -> None:
    assert decode_cursor(encode_cursor(event_id)) == event_id


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "%%%%",
        _b64(b"v2:10"),
        _b64(b"v1:ten"),
        _b64(b"v1:"),
        _b64(b"10"),
        _b64(b"\xff\xfe\xfd"),
        "a",
        encode_cursor(0),
        encode_cursor(-5),
        _b64(b"v1:1_000"),
        _b64(b"v1: 7"),
        encode_cursor(2**63),
    ],
    ids=[
        "empty",
        "words",
        "not base64 at all",
        "another version",
        "a word for the id",
        "no id",
        "no version",
        "not utf-8",
        "a truncated base64 group",
        "id zero, before every event",
        "a negative id",
        "digits with an underscore",
        "a space before the id",
        "an id past 64 bits",
    ],
)
def test_a_cursor_not_made_by_encode_cursor_is_a_usage_error(cursor: str) -> None:
    with pytest.raises(UsageError) as caught:
        decode_cursor(cursor)
    assert caught.value.message == "invalid timeline cursor"
    assert caught.value.hint == "pass the next_cursor value of a previous page unchanged"


@property_settings(max_examples=200)
@given(st.text(max_size=40))
def test_decoding_any_text_gives_an_id_or_a_usage_error(cursor: str) -> None:
    try:
        result = decode_cursor(cursor)
    except UsageError:
        return
    assert isinstance(result, int)


def test_a_query_defaults_to_fifty_events() -> None:
    assert TimelineQuery().limit == 50


@pytest.mark.parametrize("limit", [0, MAX_PAGE + 1], ids=["zero", "one more than the largest page"])
def test_a_query_limit_outside_one_to_max_page_is_refused(limit: int) -> None:
    with pytest.raises(ValidationError):
        TimelineQuery(limit=limit)
