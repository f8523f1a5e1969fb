"""Slack payloads: what they say, and every Block Kit limit, whatever the message holds."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given

from launchdeck.notify import Audience, Fact, Link, Message, Tone
from launchdeck.notify.slack import render_slack
from strategies import property_settings
from unit.notify.builders import a_message
from unit.notify.message_strategies import messages

# Our own reading of the limits, not the module's constants:
# https://api.slack.com/reference/block-kit/blocks
_OUR_TOKENS = re.compile(
    r"<https?://[^\s<>|]+\|[^<>]*>"  # <url|text>
    r"|<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>]*>"  # a date in the reader's zone
)
_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    found = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            found += [block["text"]["text"]] if "text" in block else []
            found += [field["text"] for field in block.get("fields", [])]
        elif block["type"] == "context":
            found += [element["text"] for element in block["elements"]]
    return found


def violations(payload: dict[str, Any]) -> list[str]:
    """Every broken Slack limit or unescaped character in `payload`, in words."""
    found: list[str] = []
    if not isinstance(payload.get("text"), str) or not payload["text"].strip():
        found.append("no text fallback")
    blocks = payload["blocks"]
    if not 1 <= len(blocks) <= 50:
        found.append(f"{len(blocks)} blocks")
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            text = block["text"]
            if text["type"] != "plain_text" or not 1 <= utf16(text["text"]) <= 150:
                found.append(f"header of {utf16(text['text'])} units")
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                found.append("empty section")
            if "text" in block and not 1 <= utf16(block["text"]["text"]) <= 3000:
                found.append(f"section text of {utf16(block['text']['text'])} units")
            fields = block.get("fields", [])
            if len(fields) > 10:
                found.append(f"{len(fields)} fields")
            found += [
                f"field of {utf16(f['text'])} units"
                for f in fields
                if not 1 <= utf16(f["text"]) <= 2000
            ]
        elif kind == "context":
            elements = block["elements"]
            if not 1 <= len(elements) <= 10:
                found.append(f"{len(elements)} context elements")
            found += [
                f"context element of {utf16(e['text'])} units"
                for e in elements
                if not 1 <= utf16(e["text"]) <= 2000
            ]
        else:
            found.append(f"unexpected block type {kind}")
    for text in mrkdwn_texts(payload):
        bare = _OUR_TOKENS.sub("", text)
        if "<" in bare or ">" in bare or _ENTITY.search(bare):
            found.append(f"unescaped mrkdwn: {text[:60]!r}")
    return found


def blocks_of(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [block for block in payload["blocks"] if block["type"] == kind]


# --- what a message says ---------------------------------------------------------------------


def test_an_incident_reads_severity_title_summary_facts_links_and_time() -> None:
    message = a_message(
        severity="SEV1",
        tone=Tone.DANGER,
        summary="Errors since 09:40.",
        systems=("checkout-api",),
        environment="production",
        campaigns=("black-friday-2026",),
        facts=(Fact(label="Error rate", value="7.2 %"),),
        links=(Link(text="Incident 42", url="https://ld.example/incidents/42"),),
    )

    payload = render_slack(message)

    assert violations(payload) == []
    header, *_ = blocks_of(payload, "header")
    assert header["text"]["text"] == "🔴 [SEV1] Checkout API errors above 5 %"
    sections = blocks_of(payload, "section")
    assert sections[0]["text"]["text"] == "Errors since 09:40."
    assert [f["text"] for f in sections[1]["fields"]] == [
        "*Severity*\nSEV1",
        "*Environment*\nproduction",
        "*Systems*\ncheckout-api",
        "*Campaigns*\nblack-friday-2026",
        "*Error rate*\n7.2 %",
    ]
    assert sections[2]["text"]["text"] == "<https://ld.example/incidents/42|Incident 42>"
    (context,) = blocks_of(payload, "context")
    assert [e["text"] for e in context["elements"]] == [
        "`incident.opened`",
        "<!date^1795772700^{date_short_pretty} at {time}|2026-11-27 09:45 UTC>",
    ]
    assert payload["text"] == "🔴 [SEV1] Checkout API errors above 5 %\nErrors since 09:40."


def test_a_message_without_summary_facts_or_links_has_a_header_and_a_context_only() -> None:
    payload = render_slack(a_message(tone=Tone.GOOD, kind="deploy.recorded"))

    assert [block["type"] for block in payload["blocks"]] == ["header", "context"]
    assert payload["text"] == "✅ Checkout API errors above 5 %"


def test_markup_in_text_is_escaped_so_nothing_can_be_injected() -> None:
    message = a_message(
        title="<script>&",
        summary="<!channel> & <https://evil.example|click>",
        facts=(Fact(label="<b>", value="a > b & c"),),
        links=(Link(text="<x|y>", url="https://ld.example/a?b=1&c=<|>"),),
        owners=("<@U123>",),
    )

    payload = render_slack(message)

    assert violations(payload) == []
    assert blocks_of(payload, "header")[0]["text"]["text"] == "ℹ️ <script>&"  # plain_text
    sections = blocks_of(payload, "section")
    assert sections[0]["text"]["text"] == (
        "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
    )
    assert sections[1]["fields"][0]["text"] == "*&lt;b&gt;*\na &gt; b &amp; c"
    assert sections[2]["text"]["text"] == ("<https://ld.example/a?b=1&amp;c=%3C%7C%3E|&lt;x|y&gt;>")
    assert "For: &lt;@U123&gt;" in [e["text"] for e in blocks_of(payload, "context")[0]["elements"]]
    assert payload["text"].startswith("ℹ️ &lt;script&gt;&amp;")


# --- limits ----------------------------------------------------------------------------------


def test_a_very_long_title_and_summary_are_cut_with_an_ellipsis() -> None:
    payload = render_slack(a_message(title="T" * 10_000, summary="S" * 100_000))

    assert violations(payload) == []
    header = blocks_of(payload, "header")[0]["text"]["text"]
    assert (len(header), header[-1]) == (150, "…")
    summary = blocks_of(payload, "section")[0]["text"]["text"]
    assert (len(summary), summary[-1]) == (3000, "…")
    assert (len(payload["text"]), payload["text"][-1]) == (3000, "…")


def test_an_entity_is_never_cut_in_half() -> None:
    payload = render_slack(a_message(summary="&" * 5000))

    summary = blocks_of(payload, "section")[0]["text"]["text"]
    assert re.fullmatch(r"(&amp;)+…", summary)
    assert len(summary) == 599 * 5 + 1


def test_emoji_count_two_units_each_so_the_limit_holds_however_slack_counts() -> None:
    payload = render_slack(a_message(title="😀" * 200))

    header = blocks_of(payload, "header")[0]["text"]["text"]
    assert utf16(header) <= 150
    assert header == "ℹ️ " + "😀" * 73 + "…"


def test_two_hundred_facts_show_forty_in_four_sections_and_count_the_rest() -> None:
    facts = tuple(Fact(label=f"fact {n}", value="v" * 5000) for n in range(200))

    payload = render_slack(a_message(facts=facts))

    assert violations(payload) == []
    sections = [b for b in blocks_of(payload, "section") if "fields" in b]
    assert [len(section["fields"]) for section in sections] == [10, 10, 10, 10]
    assert sections[0]["fields"][0]["text"].startswith("*fact 0*\nvvv")
    assert sections[-1]["fields"][-1]["text"].startswith("*fact 39*\n")
    assert utf16(sections[0]["fields"][0]["text"]) == 2000
    elements = [e["text"] for e in blocks_of(payload, "context")[0]["elements"]]
    assert elements[-1] == "160 more facts not shown"


def test_links_that_do_not_fit_in_one_section_are_counted() -> None:
    base = "https://ld.example/" + "p" * 400
    links = tuple(Link(text=f"link {n}", url=f"{base}/{n}") for n in range(20))

    payload = render_slack(a_message(links=links))

    assert violations(payload) == []
    text = blocks_of(payload, "section")[-1]["text"]["text"]
    shown = text.count("<https://")
    assert 0 < shown < 20
    assert text.endswith(f"and {20 - shown} more links")


@given(message=messages())
@property_settings(max_examples=50)
def test_every_limit_holds_for_any_message(message: Message) -> None:
    assert violations(render_slack(message)) == []


# --- campaign owners -------------------------------------------------------------------------


def test_campaign_owners_read_the_campaign_first_and_no_jargon() -> None:
    message = a_message(
        title="Checkout is failing for some shoppers",
        audience=Audience.CAMPAIGN_OWNERS,
        severity="SEV1",
        tone=Tone.DANGER,
        campaigns=("Black Friday 2026",),
        systems=("checkout-api",),
        owners=("ana@example.com",),
    )

    payload = render_slack(message)

    header = blocks_of(payload, "header")[0]["text"]["text"]
    assert header == "🔴 Black Friday 2026 is affected: Checkout is failing for some shoppers"
    first_line = payload["text"].splitlines()[0]
    assert "SEV" not in first_line and "MTTR" not in first_line
    fields = [f["text"] for f in blocks_of(payload, "section")[0]["fields"]]
    assert fields == ["*Impact*\ncritical", "*Affected systems*\ncheckout-api"]
    elements = [e["text"] for e in blocks_of(payload, "context")[0]["elements"]]
    assert not any("incident.opened" in element for element in elements)
    assert "For: ana@example.com" in elements


@pytest.mark.parametrize(
    ("campaigns", "tone", "header"),
    [
        (("Black Friday",), Tone.GOOD, "✅ Black Friday: Checkout works again"),
        (
            ("Black Friday", "Cyber Monday"),
            Tone.WARNING,
            "🟠 Black Friday and Cyber Monday are affected: Checkout works again",
        ),
        (
            ("A", "B", "C", "D", "E"),
            Tone.DANGER,
            "🔴 A, B, C and 2 more are affected: Checkout works again",
        ),
        ((), Tone.INFO, "ℹ️ Checkout works again"),
    ],
    ids=["good news drops is-affected", "two campaigns", "five campaigns", "no campaign"],
)
def test_the_campaign_owner_headline(campaigns: tuple[str, ...], tone: Tone, header: str) -> None:
    message = a_message(
        title="Checkout works again",
        audience=Audience.CAMPAIGN_OWNERS,
        campaigns=campaigns,
        tone=tone,
    )

    assert blocks_of(render_slack(message), "header")[0]["text"]["text"] == header
