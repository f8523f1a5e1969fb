"""Blameless-language checks: blaming phrases are found with their line and column; system-focused
writing, a timeline's Who column, code and TODO markers are left alone."""

from __future__ import annotations

import pytest

from launchdeck.incidents.blameless import Finding, check_blameless, name_variants

PEOPLE = ("@alice", "bob", "carol.ng@northwind.example", "Dana Ruiz")


def found(text: str, people: tuple[str, ...] = PEOPLE) -> list[tuple[int, int, str]]:
    return [(f.line, f.column, f.phrase) for f in check_blameless(text, people=people)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We should have caught this in review.", [(1, 4, "should have")]),
        ("The reviewer should've asked for a canary.", [(1, 14, "should've")]),
        ("It SHOULD NOT HAVE shipped on Friday.", [(1, 4, "SHOULD NOT HAVE")]),
        ("Someone forgot to enable the flag.", [(1, 9, "forgot to")]),
        ("The engineer failed to check the dashboard.", [(1, 1, "The engineer failed to")]),
        ("The root cause was human error.", [(1, 20, "human error")]),
        ("Operator error took the site down.", [(1, 1, "Operator error")]),
        ("A careless config change.", [(1, 3, "careless")]),
        ("The rollout was negligent.", [(1, 17, "negligent")]),
        ("We blame the release process.", [(1, 4, "blame")]),
        ("It was the fault of the release manager.", [(1, 12, "fault of")]),
        ("Checkout broke because he skipped the canary.", [(1, 16, "because he")]),
        ("bob deployed 2.3.0 without a canary.", [(1, 1, "bob deployed")]),
        ("Then alice accidentally pushed the config.", [(1, 6, "alice accidentally pushed")]),
        ("The outage was caused by @alice.", [(1, 16, "caused by @alice")]),
        (
            "carol.ng@northwind.example missed the alert.",
            [(1, 1, "carol.ng@northwind.example missed")],
        ),
        ("Dana didn't run the checklist.", [(1, 1, "Dana didn't")]),
        ("Dana Ruiz merged it late.", [(1, 1, "Dana Ruiz merged")]),
        ("It broke because bob missed the alert.", [(1, 10, "because bob")]),
        ("bob failed to page the liaison.", [(1, 1, "bob failed to")]),
    ],
    ids=[
        "hindsight",
        "hindsight, contracted",
        "hindsight, negated and upper case",
        "forgot to",
        "a role failed to",
        "human error",
        "operator error",
        "careless",
        "negligent",
        "blame",
        "fault of",
        "because a pronoun",
        "a name deployed",
        "a handle's name with an adverb pushed",
        "caused by a handle",
        "an e-mail missed",
        "a first name didn't",
        "a full name merged",
        "because a name, reported once",
        "a name failed to, reported once",
    ],
)
def test_blaming_phrases_are_found_where_they_are(
    text: str, expected: list[tuple[int, int, str]]
) -> None:
    assert found(text) == expected


def test_findings_carry_line_column_and_a_system_focused_suggestion() -> None:
    text = "## Root causes\n\nThe deploy removed a retry.\n  Then bob broke checkout again.\n"

    assert check_blameless(text, people=["bob"]) == [
        Finding(
            line=4,
            column=8,
            phrase="bob broke",
            why="names a person as the cause; people act within a system that let the change "
            "through",
            suggestion="name the change and the conditions instead: 'the deploy of v2.3 …', "
            "'what made this possible?'",
        )
    ]


def test_several_findings_come_in_reading_order() -> None:
    text = "bob pushed it.\nIt was human error, and we should have known."

    assert found(text) == [(1, 1, "bob pushed"), (2, 8, "human error"), (2, 28, "should have")]


def test_a_blameless_paragraph_has_no_findings() -> None:
    text = (
        "This postmortem is blameless. The deploy of checkout-api 2.3.0 removed a retry that the\n"
        "payment provider relied on. No canary stage covered checkout-api, so the change reached\n"
        "all traffic at once. The health check failed to detect the 502s because it only probed\n"
        "/healthz. alice rolled back the release at 10:32 and bob confirmed the recovery; carol\n"
        "kept the campaign owners informed. Alerts should page on the 5xx rate, and the deploy\n"
        "pipeline should hold a release when the canary errors. Dana Ruiz wrote the fix."
    )

    assert found(text) == []


def test_the_who_column_of_a_timeline_is_not_a_cause() -> None:
    table = (
        "| Time | Kind | Who | What |\n"
        "|---|---|---|---|\n"
        "| 09:58 | change | alice | deploy of checkout-api 2.3.0 to production |\n"
        "| 10:32 | change | bob | rollback of checkout-api to 2.2.9 |\n"
        "| 10:40 | note | carol.ng@northwind.example | bob deployed the hotfix |\n"
    )

    assert found(table) == [(5, 47, "bob deployed")]


def test_code_and_todo_markers_are_skipped() -> None:
    text = (
        "```\n"
        "ERROR worker: should have 3 replicas; blame=none\n"
        "```\n"
        "~~~~\n"
        "bob deployed\n"
        "```\n"
        "still code\n"
        "~~~~\n"
        "The log said `human error: retry` twice.\n"
        "- _TODO(author): what should have been caught, and by which check?_\n"
    )

    assert found(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "shouldhave",
        "a blameless review",
        "Aliceson deployed the fix",
        "malice deployed",
        "bobby pushed the config",
        "bob's deploy removed a retry",
        "caused by the bob-sync job",
    ],
    ids=[
        "no word boundary",
        "blameless is not blame",
        "a longer name",
        "a name inside a word",
        "a name prefix",
        "a possessive is not a subject",
        "a system named after a person",
    ],
)
def test_words_are_matched_on_their_boundaries(text: str) -> None:
    assert found(text) == []


def test_without_people_only_the_fixed_phrases_are_checked() -> None:
    assert found("bob deployed it. We should have waited.", people=()) == [(1, 21, "should have")]


@pytest.mark.parametrize(
    ("person", "variants"),
    [
        ("@alice", {"@alice", "alice"}),
        ("carol.ng@northwind.example", {"carol.ng@northwind.example", "carol.ng"}),
        ("Dana Ruiz", {"Dana Ruiz", "Dana"}),
        (" bob ", {"bob"}),
        ("@x", {"@x"}),
    ],
    ids=["a handle", "an e-mail", "a full name", "spaces", "a one-letter handle"],
)
def test_name_variants(person: str, variants: set[str]) -> None:
    assert name_variants(person) == variants
