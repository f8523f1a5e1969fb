"""OFREP bodies (flags/ofrep.py): request contexts, answers, errors, ETags and SSE lines, on
hand-built resolutions. The live protocol, with the official provider, is in
tests/integration/api/test_api_ofrep.py."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

from launchdeck.flags import ofrep
from launchdeck.flags.evaluate import (
    DEFAULT,
    DISABLED,
    ERROR,
    STATIC,
    TARGETING_MATCH,
    Resolution,
)
from launchdeck.flags.model import FlagType

NOT_FOUND = Resolution(None, None, ERROR, "FLAG_NOT_FOUND", "flag not found", code_default=True)


@pytest.mark.parametrize(
    ("body", "context"),
    [
        (b"", {}),
        (b"  \n", {}),
        (b"{}", {}),
        (b'{"context": null}', {}),
        (b'{"context": {}}', {}),
        (
            b'{"context": {"targetingKey": "u-1", "country": "US", "age": 41}}',
            {"targetingKey": "u-1", "country": "US", "age": 41},
        ),
        (b'{"context": {"user": {"plan": "pro"}}, "extra": 1}', {"user": {"plan": "pro"}}),
    ],
    ids=[
        "an empty body",
        "a blank body",
        "no context",
        "a null context",
        "an empty context",
        "attributes",
        "nested attributes, unknown keys ignored",
    ],
)
def test_a_request_body_gives_its_context(body: bytes, context: dict[str, Any]) -> None:
    assert ofrep.parse_context(body) == context


@pytest.mark.parametrize(
    ("body", "code", "details"),
    [
        (b"{", ofrep.PARSE_ERROR, "the body is not JSON (Expecting property name enclosed"),
        (b"\xff\xfe{", ofrep.PARSE_ERROR, "the body is not JSON"),
        (b'{"context": {"n": NaN}}', ofrep.PARSE_ERROR, "the body is not JSON (NaN is not JSON)"),
        (b"[1, 2]", ofrep.PARSE_ERROR, "the body is a JSON array, not an object"),
        (b'"context"', ofrep.PARSE_ERROR, "the body is a JSON string, not an object"),
        (b"[" * 100_000, ofrep.PARSE_ERROR, "the body is not JSON"),
        (b'{"context": 3}', ofrep.INVALID_CONTEXT, "context is a JSON number;"),
        (b'{"context": "user-1"}', ofrep.INVALID_CONTEXT, "context is a JSON string;"),
        (b'{"context": [1]}', ofrep.INVALID_CONTEXT, "context is a JSON array;"),
        (b'{"context": true}', ofrep.INVALID_CONTEXT, "context is a JSON boolean;"),
    ],
    ids=[
        "broken JSON",
        "not UTF-8",
        "NaN",
        "an array",
        "a string",
        "nesting deeper than the parser goes",
        "a number context",
        "a string context",
        "an array context",
        "a boolean context",
    ],
)
def test_a_bad_request_body_is_refused_with_its_ofrep_error_code(
    body: bytes, code: str, details: str
) -> None:
    with pytest.raises(ofrep.BadRequest) as refused:
        ofrep.parse_context(body)

    assert refused.value.code == code
    assert refused.value.details.startswith(details)


def test_a_body_over_one_mebibyte_is_refused_before_parsing() -> None:
    body = b'{"context": {"k": "' + b"x" * ofrep.MAX_BODY_BYTES + b'"}}'

    with pytest.raises(ofrep.BadRequest) as refused:
        ofrep.parse_context(body)

    assert (refused.value.code, refused.value.details) == (
        ofrep.PARSE_ERROR,
        "the body is over 1048576 bytes",
    )


@pytest.mark.parametrize(
    ("answer", "flag_type", "body"),
    [
        (
            Resolution(True, "on", STATIC),
            FlagType.BOOLEAN,
            {"key": "f", "reason": STATIC, "variant": "on", "metadata": {}, "value": True},
        ),
        (
            Resolution({"steps": 1}, "v2", TARGETING_MATCH),
            FlagType.OBJECT,
            {
                "key": "f",
                "reason": TARGETING_MATCH,
                "variant": "v2",
                "metadata": {},
                "value": {"steps": 1},
            },
        ),
        (
            Resolution(0, "none", DEFAULT),
            FlagType.FLOAT,
            {"key": "f", "reason": DEFAULT, "variant": "none", "metadata": {}, "value": 0.0},
        ),
        (
            Resolution(3, "three", STATIC),
            FlagType.INTEGER,
            {"key": "f", "reason": STATIC, "variant": "three", "metadata": {}, "value": 3},
        ),
        (
            Resolution(None, None, DEFAULT, code_default=True),
            FlagType.STRING,
            {"key": "f", "reason": DEFAULT, "variant": "", "metadata": {}},
        ),
        (
            Resolution(
                False,
                "off",
                DISABLED,
                metadata=MappingProxyType({"prerequisite": "payments-v2"}),
            ),
            FlagType.BOOLEAN,
            {
                "key": "f",
                "reason": DISABLED,
                "variant": "off",
                "metadata": {"prerequisite": "payments-v2"},
                "value": False,
            },
        ),
    ],
    ids=[
        "a variant's value",
        "an object value",
        "a whole number of a float flag is sent as a float",
        "an integer stays an integer",
        "the code default: no value, an empty variant",
        "a prerequisite not met, in the metadata",
    ],
)
def test_an_answer_is_an_ofrep_evaluation_success(
    answer: Resolution, flag_type: FlagType, body: dict[str, Any]
) -> None:
    result = ofrep.evaluation("f", answer, flag_type, environment="staging")

    assert result == body
    assert type(result.get("value")) is type(body.get("value"))


def test_an_unknown_flag_is_an_ofrep_flag_not_found() -> None:
    result = ofrep.evaluation("nope", NOT_FOUND, None, environment="staging")

    assert result == {
        "key": "nope",
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": "no flag 'nope' in environment 'staging'",
    }


def test_an_error_code_ofrep_does_not_define_is_general() -> None:
    answer = Resolution(None, None, ERROR, "TYPE_MISMATCH", "wrong type", code_default=True)

    result = ofrep.evaluation("f", answer, FlagType.BOOLEAN, environment="staging")

    assert result == {"key": "f", "errorCode": "GENERAL", "errorDetails": "wrong type"}


def test_a_bulk_answer_lists_every_flag_and_the_event_stream() -> None:
    answers = [
        ("a", Resolution(True, "on", STATIC), FlagType.BOOLEAN),
        ("b", Resolution(None, None, DISABLED, code_default=True), FlagType.STRING),
    ]

    body = ofrep.bulk_body(
        answers, environment="staging", event_stream_url="https://flags.example/ofrep/v1/sse"
    )

    assert body == {
        "flags": [
            {"key": "a", "reason": STATIC, "variant": "on", "metadata": {}, "value": True},
            {"key": "b", "reason": DISABLED, "variant": "", "metadata": {}},
        ],
        "eventStreams": [
            {
                "type": "sse",
                "url": "https://flags.example/ofrep/v1/sse",
                "inactivityDelaySec": 120,
            }
        ],
    }


def test_a_bulk_answer_without_a_stream_names_none() -> None:
    assert ofrep.bulk_body([], environment="staging", event_stream_url=None) == {"flags": []}


def test_bodies_are_compact_utf8_json() -> None:
    assert ofrep.dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()


def test_an_etag_is_a_quoted_digest_of_exactly_the_bytes() -> None:
    first, again, other = ofrep.etag_of(b"{}"), ofrep.etag_of(b"{}"), ofrep.etag_of(b"{ }")

    assert first == again
    assert first != other
    assert first.startswith('"')
    assert first.endswith('"')
    assert len(first) == 34


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x",W/"abc" ', True),
        ("*", True),
        ('"abd"', False),
        ("abc", False),
    ],
    ids=[
        "no header",
        "an empty header",
        "the same ETag",
        "the same ETag, weak",
        "one of a list",
        "one of a list, weak, unspaced",
        "any",
        "another ETag",
        "unquoted",
    ],
)
def test_if_none_match_compares_etags_weakly(header: str | None, matches: bool) -> None:
    assert ofrep.etag_matches(header, '"abc"') is matches


@pytest.mark.parametrize(
    ("wait_s", "header"),
    [(0.0001, 1), (0.5, 1), (1.0, 1), (1.2, 2), (7.9, 8)],
    ids=["a moment", "half a second", "one second", "just over a second", "several seconds"],
)
def test_retry_after_is_whole_seconds_and_at_least_one(wait_s: float, header: int) -> None:
    assert ofrep.retry_after_s(wait_s) == header


def test_the_configuration_announces_polling_and_every_type() -> None:
    assert json.loads(ofrep.CONFIGURATION_JSON) == {
        "name": "launchdeck",
        "capabilities": {
            "cacheInvalidation": {"polling": {"enabled": True, "minPollingIntervalMs": 1000}},
            "flagEvaluation": {"supportedTypes": ["boolean", "string", "int", "float", "object"]},
        },
    }
    assert ofrep.etag_of(ofrep.CONFIGURATION_JSON) == ofrep.CONFIGURATION_ETAG


def test_a_refetch_event_is_one_data_line_and_a_blank_line() -> None:
    event = ofrep.sse_refetch('"abc"')

    assert event == 'data: {"type": "refetchEvaluation", "etag": "\\"abc\\""}\n\n'
    assert json.loads(event.removeprefix("data: ")) == {
        "type": "refetchEvaluation",
        "etag": '"abc"',
    }
    assert (ofrep.SSE_CONNECTED, ofrep.SSE_KEEPALIVE) == (": connected\n\n", ": keep-alive\n\n")
