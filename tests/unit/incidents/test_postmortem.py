"""Postmortem drafts: what the record fills, where a person must write, action items read back."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from pydantic import ValidationError

from launchdeck.calendar.model import Occurrence
from launchdeck.errors import ValidationFailed
from launchdeck.incidents.blameless import check_blameless
from launchdeck.incidents.model import (
    Entry,
    EntryKind,
    Incident,
    IncidentSource,
    Priority,
    Roles,
    Status,
    Task,
    TaskKind,
)
from launchdeck.incidents.postmortem import (
    TODO_MARK,
    ActionItemDraft,
    BudgetImpact,
    PostmortemInputs,
    draft,
    escape_cell,
    escape_text,
    parse_action_items,
    people_in,
    render,
)
from launchdeck.incidents.severity import (
    ImpactInputs,
    IncidentPolicy,
    Severity,
    Signal,
    assess,
)
from strategies import property_settings

T0 = datetime(2026, 11, 27, 15, 2, tzinfo=UTC)
"""Impact starts 10:02 in New York, on Black Friday."""
ZONE = "America/New_York"

BLACK_FRIDAY = Occurrence(
    campaign_id="black-friday-2026",
    name="Black Friday 2026",
    starts_at=datetime(2026, 11, 27, 5, tzinfo=UTC),
    ends_at=datetime(2026, 11, 28, 5, tzinfo=UTC),
    tier=1,
    revenue_per_hour=40_000,
    currency="USD",
    systems=("landing-pages", "checkout-api"),
)
GIFT_GUIDE = Occurrence(
    campaign_id="gift-guide",
    name="Gift Guide | Winter",
    starts_at=datetime(2026, 11, 20, 5, tzinfo=UTC),
    ends_at=datetime(2026, 12, 24, 5, tzinfo=UTC),
    tier=2,
    revenue_per_hour=6_000,
    currency="USD",
    systems=("checkout-api",),
)
CYBER_MONDAY = Occurrence(
    campaign_id="cyber-monday-2026",
    name="Cyber Monday 2026",
    starts_at=datetime(2026, 11, 30, 5, tzinfo=UTC),
    ends_at=datetime(2026, 12, 1, 5, tzinfo=UTC),
    tier=1,
    revenue_per_hour=30_000,
    currency="USD",
    systems=("checkout-api",),
)
IMPACT = ImpactInputs(
    systems=("checkout-api",),
    signal=Signal.OUTAGE,
    traffic_share=0.5,
    depends_on={"checkout-api": ["tracking-pixel"], "landing-pages": ["cms"]},
    system_tiers={"checkout-api": 1},
)


def an_incident(**fields: Any) -> Incident:
    assessment = assess(
        IncidentPolicy(),
        IMPACT,
        [BLACK_FRIDAY, GIFT_GUIDE, CYBER_MONDAY],
        at=T0 + timedelta(minutes=4),
    )
    values: dict[str, Any] = {
        "id": 7,
        "title": "Checkout API returns 502s",
        "summary": "Checkout failed for half of the shoppers for 45 minutes after a release.",
        "systems": ("checkout-api",),
        "signal": Signal.OUTAGE,
        "traffic_share": 0.5,
        "severity": assessment.severity,
        "priority": Priority.P1,
        "status": Status.RESOLVED,
        "roles": Roles(commander="bob", scribe="carol", participants=("@dave",)),
        "source": IncidentSource.MANUAL,
        "started_at": T0,
        "detected_at": T0 + timedelta(minutes=4),
        "opened_at": T0 + timedelta(minutes=4),
        "mitigated_at": T0 + timedelta(minutes=45),
        "resolved_at": T0 + timedelta(minutes=95),
        "opened_by": "bob",
        "assessment": assessment,
        "assessed_at": T0 + timedelta(minutes=4),
        **fields,
    }
    return Incident(**values)


def an_entry(
    entry_id: int, minutes: float, kind: EntryKind, text: str, actor: str = "bob", **fields: Any
) -> Entry:
    at = T0 + timedelta(minutes=minutes)
    return Entry(id=entry_id, incident_id=7, at=at, kind=kind, actor=actor, text=text, **fields)


ENTRIES = (
    an_entry(1, -182, EntryKind.CHANGE, "config change of checkout-api: max_cart_items 50", "erin"),
    an_entry(2, -4, EntryKind.CHANGE, "deploy of checkout-api 2.3.0 to production", "alice"),
    an_entry(3, 4, EntryKind.OPENED, "Incident opened from the checkout error reports"),
    an_entry(
        4,
        8,
        EntryKind.NOTE,
        "502s on /pay | EU first, see <script>x</script>",
        "carol",
        pinned=True,
    ),
    an_entry(5, 18, EntryKind.RUNBOOK, "Runbook checkout-rollback: roll back checkout-api"),
    an_entry(6, 30, EntryKind.CHANGE, "rollback of checkout-api to 2.2.9", "bob"),
    an_entry(7, 45, EntryKind.STATUS, "active → mitigated"),
    an_entry(8, 95, EntryKind.STATUS, "mitigated → resolved"),
)


def a_task(task_id: int, title: str, **fields: Any) -> Task:
    return Task(
        id=task_id, incident_id=7, title=title, created_at=T0 + timedelta(hours=2), **fields
    )


TASKS = (
    a_task(1, "Check the payments dashboard", owner="carol"),
    a_task(
        2,
        "Canary checkout-api deploys",
        kind=TaskKind.ACTION_ITEM,
        action_type="prevent",
        owner="carol",
        due_at=datetime(2026, 12, 4, 22, tzinfo=UTC),
    ),
    a_task(
        3,
        "Add a payments check to the deploy checklist",
        kind=TaskKind.ACTION_ITEM,
        action_type="process",
        owner="@dave",
    ),
)
BUDGETS = (
    BudgetImpact(
        slo="checkout-availability",
        objective="availability",
        bad=1234,
        allowed_four_weeks=4032,
        share=1234 / 4032,
        requires_postmortem=True,
    ),
    BudgetImpact(
        slo="checkout-latency",
        objective="p95-under-800ms",
        bad=50,
        allowed_four_weeks=1000,
        share=0.05,
        requires_postmortem=False,
    ),
)


def inputs(**fields: Any) -> PostmortemInputs:
    values: dict[str, Any] = {
        "incident": an_incident(),
        "entries": ENTRIES,
        "tasks": TASKS,
        "budgets": BUDGETS,
        "generated_at": T0 + timedelta(days=1),
        "timezone": ZONE,
        **fields,
    }
    return PostmortemInputs(**values)


def sections(markdown: str) -> dict[str, str]:
    """Heading text -> the lines up to the next heading (## or ###)."""
    out: dict[str, list[str]] = {}
    current = "(header)"
    for line in markdown.splitlines():
        if m := re.match(r"^#{1,3} (.*)$", line):
            current = m.group(1)
            out[current] = []
        else:
            out.setdefault(current, []).append(line)
    return {k: "\n".join(v) for k, v in out.items()}


# --- what the record fills ----------------------------------------------------------------------


def test_scripted_incident_fills_every_section_the_record_knows() -> None:
    pm = draft(inputs())
    s = sections(pm.markdown)

    assert pm.markdown.startswith("# INC-7: Checkout API returns 502s — Postmortem\n")
    header = s["INC-7: Checkout API returns 502s — Postmortem"]
    assert "- **Status:** Draft" in header
    assert "- **Date:** 2026-11-28" in header
    assert "- **Authors:** bob (commander), carol (scribe)" in header

    assert (
        "SEV1 outage of checkout-api from 2026-11-27 10:02 to 2026-11-27 10:47 (45 min)"
        in (s["Summary"])
    )
    assert "Checkout failed for half of the shoppers" in s["Summary"]

    impact = s["Impact"]
    assert "**Revenue at risk:** $23,000/h" in impact
    assert "**Duration of impact:** 45 min, 2026-11-27 10:02 to 2026-11-27 10:47" in impact
    assert "up to $17,250 ($23,000/h × 0.75 h)" in impact
    assert "upper-bound estimate" in impact and "not measured lost revenue" in impact
    assert "| Black Friday 2026 | 1 | checkout-api | $40,000/h | $20,000/h |" in impact
    assert r"| Gift Guide \| Winter | 2 | checkout-api | $6,000/h | $3,000/h |" in impact
    assert "Cyber Monday" not in pm.markdown
    assert (
        "| checkout-availability | availability | 1,234 | 4,032 | 30.6% "
        "| **requires a postmortem** |" in impact
    )
    assert "| checkout-latency | p95-under-800ms | 50 | 1,000 | 5.0% | no |" in impact

    assert (
        "**Suspected, confirm:** deploy of checkout-api 2.3.0 to production "
        "(change recorded 2026-11-27 09:58 by alice, 8 min before detection)." in s["Trigger"]
    )
    assert "- **Source:** reported by a person (opened by bob)" in s["Detection"]
    assert (
        "- **Time to detect:** 4 min (from the start of impact, 2026-11-27 10:02)"
        in (s["Detection"])
    )
    resolution = s["Resolution"]
    assert "- **Time to mitigate:** 45 min, mitigated 2026-11-27 10:47" in resolution
    assert "- **Time to resolve:** 95 min (1 h 35 min), resolved 2026-11-27 11:37" in resolution
    assert "- 2026-11-27 10:20 runbook (bob): Runbook checkout-rollback: roll back" in resolution
    assert "- 2026-11-27 10:47 status (bob): active → mitigated" in resolution

    actions = s["Action items"]
    assert "| Canary checkout-api deploys | prevent | carol | 2026-12-04 | open | #2 |" in actions
    assert "| Add a payments check to the deploy checklist | process | @dave | — | open | #3 |" in (
        actions
    )
    assert "Check the payments dashboard" not in actions

    assert "- Detected in 4 min." in s["What went well"]
    assert "- A runbook was used: Runbook checkout-rollback" in s["What went well"]
    assert (
        "- checkout-availability/availability spent 30.6% of its four-week"
        in (s["What went wrong"])
    )
    assert "- A tier-1 campaign was affected: Black Friday 2026." in s["What went wrong"]
    assert "SEV1: signal is outage and a tier-1 campaign is affected" in s["Supporting information"]
    assert "  - revenue at risk: $23,000/h" in s["Supporting information"]


def test_only_the_human_sections_carry_todo_markers() -> None:
    pm = draft(inputs())

    assert pm.todo == (
        "Root causes",
        "Resolution",
        "What went well",
        "What went wrong",
        "Where we got lucky",
    )
    assert pm.filled == (
        "Summary",
        "Impact",
        "Trigger",
        "Detection",
        "Resolution",
        "Timeline",
        "Action items",
        "What went well",
        "What went wrong",
        "Supporting information",
    )
    assert pm.markdown.count(TODO_MARK) == len(pm.todo)
    s = sections(pm.markdown)
    for section in pm.todo:
        assert f"_{TODO_MARK}: " in s[section], section
    assert render(inputs()) == pm.markdown


def test_timeline_lists_every_entry_in_time_order_in_the_workspace_zone() -> None:
    shuffled = tuple(reversed(ENTRIES))
    rows = [
        line
        for line in sections(render(inputs(entries=shuffled)))["Timeline"].splitlines()
        if line.startswith("| 2026") or line.startswith("| ★")
    ]

    assert [row.split(" | ")[0] for row in rows] == [
        "| 2026-11-27 07:00",
        "| 2026-11-27 09:58",
        "| 2026-11-27 10:06",
        "| ★ 2026-11-27 10:10",
        "| 2026-11-27 10:20",
        "| 2026-11-27 10:32",
        "| 2026-11-27 10:47",
        "| 2026-11-27 11:37",
    ]
    assert rows[3] == (
        r"| ★ 2026-11-27 10:10 | note | carol | 502s on /pay \| EU first, see "
        r"\<script\>x\</script\> |"
    )


def test_incident_text_cannot_inject_html_or_break_tables() -> None:
    title = "Checkout <img src=x onerror=alert(1)> | down"
    md = render(inputs(incident=an_incident(title=title)))
    html = MarkdownIt("commonmark").enable("table").render(md)

    assert md.startswith(r"# INC-7: Checkout \<img src=x onerror=alert(1)\> | down — Postmortem")
    assert "<img" not in html and "<script" not in html
    assert "<h1>INC-7: Checkout &lt;img src=x onerror=alert(1)&gt; | down — Postmortem</h1>" in html
    note = "<td>502s on /pay | EU first, see &lt;script&gt;x&lt;/script&gt;</td>"
    assert note in html
    assert "<td>Gift Guide | Winter</td>" in html


def test_every_table_row_has_as_many_cells_as_its_header() -> None:
    tokens = MarkdownIt("commonmark").enable("table").parse(render(inputs()))
    widths: list[list[int]] = []
    for token in tokens:
        if token.type == "table_open":
            widths.append([])
        elif token.type == "tr_open":
            widths[-1].append(0)
        elif token.type in ("th_open", "td_open"):
            widths[-1][-1] += 1

    assert [sorted(set(w)) for w in widths] == [[5], [6], [4], [6]]
    assert [len(w) for w in widths] == [3, 3, len(ENTRIES) + 1, 3]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("a | b", r"a \| b"),
        ("<b>bold</b>", r"\<b\>bold\</b\>"),
        ("C:\\temp|x", r"C:\\temp\|x"),
        ("two\nlines  here", "two lines here"),
    ],
    ids=["pipe", "html", "backslash before a pipe", "line breaks"],
)
def test_cells_are_escaped(text: str, cell: str) -> None:
    assert escape_cell(text) == cell


def test_prose_keeps_pipes_code_and_emphasis_but_not_html() -> None:
    assert escape_text("use `v2.3` | <b>*now*</b>") == r"use `v2.3` | \<b\>*now*\</b\>"
    assert escape_text("ran `kubectl get <pod>`") == "ran `kubectl get <pod>`"
    assert escape_text("``<script>`") == r"``\<script\>`"


_TRICKY = st.text(alphabet=st.sampled_from(list("ab <>/|\\`*_\nscript")), max_size=30)


def _html(markdown: str, *, raw_html: bool) -> str:
    return MarkdownIt("commonmark", {"html": raw_html}).enable("table").render(markdown)


@given(text=_TRICKY)
@property_settings(max_examples=200)
def test_escaped_text_renders_the_same_whether_raw_html_is_allowed_or_not(text: str) -> None:
    prose = escape_text(text)
    table = f"| a | b |\n|---|---|\n| {escape_cell(text)} | x |\n"

    assert _html(prose, raw_html=True) == _html(prose, raw_html=False)
    assert _html(table, raw_html=True) == _html(table, raw_html=False)
    assert _html(table, raw_html=True).count("<td>") == 2


@given(title=_TRICKY)
@property_settings(max_examples=200)
def test_any_action_item_title_reads_back_as_written(title: str) -> None:
    assume(" ".join(title.split()) not in ("", "-", "—") and "TODO" not in title)
    task = a_task(9, title, kind=TaskKind.ACTION_ITEM, action_type="prevent")

    (item,) = parse_action_items(render(inputs(tasks=(task,))))

    assert item.title == " ".join(title.split())


# --- what is missing says why -------------------------------------------------------------------


def test_draft_without_budgets_says_the_figures_could_not_be_read() -> None:
    md = render(inputs(budgets=(), budget_error="Prometheus at 127.0.0.1:9090 did not answer"))

    assert (
        "Error budget: the SLO figures could not be read "
        "(Prometheus at 127.0.0.1:9090 did not answer)." in sections(md)["Impact"]
    )
    assert "| SLO | Objective |" not in md


def test_draft_without_slos_says_none_covers_the_systems() -> None:
    md = render(inputs(budgets=()))

    assert "Error budget: no SLO covers checkout-api." in sections(md)["Impact"]


def test_open_incident_with_no_change_no_roles_and_no_action_items_asks_for_them() -> None:
    incident = an_incident(
        status=Status.ACTIVE,
        summary=None,
        roles=Roles(),
        mitigated_at=None,
        resolved_at=None,
        detected_at=T0 + timedelta(minutes=25),
    )
    entries = tuple(e for e in ENTRIES if e.kind is not EntryKind.CHANGE)
    pm = draft(
        inputs(
            incident=incident,
            entries=entries,
            tasks=TASKS[:1],
            generated_at=T0 + timedelta(minutes=90),
        )
    )
    s = sections(pm.markdown)

    assert pm.todo == (
        "Authors",
        "Summary",
        "Root causes",
        "Trigger",
        "Resolution",
        "Action items",
        "What went well",
        "What went wrong",
        "Where we got lucky",
    )
    assert pm.markdown.count(TODO_MARK) == len(pm.todo)
    assert "launchdeck recorded no change before detection" in s["Trigger"]
    assert "90 min (1 h 30 min), 2026-11-27 10:02 to 2026-11-27 11:32 (still open" in s["Impact"]
    assert "up to $34,500 ($23,000/h × 1.50 h)" in s["Impact"]
    assert "- **Time to mitigate:** not mitigated yet" in s["Resolution"]
    assert "- Detection took 25 min." in s["What went wrong"]
    assert "- Detected in" not in s["What went well"]


def test_no_live_campaign_is_named_where_we_got_lucky() -> None:
    quiet = assess(IncidentPolicy(), IMPACT, [CYBER_MONDAY], at=T0)
    pm = draft(inputs(incident=an_incident(assessment=quiet, severity=Severity.SEV3)))
    s = sections(pm.markdown)

    assert "No live campaign was reached by the affected systems." in s["Impact"]
    assert "- No live campaign was reached" in s["Where we got lucky"]
    assert "**Revenue at risk:** 0/h" in s["Impact"]


def test_a_manual_severity_shows_what_the_assessment_says() -> None:
    md = render(inputs(incident=an_incident(severity=Severity.SEV2, severity_manual=True)))

    assert "- **Severity:** SEV2 (set by a person; the latest assessment says SEV1)" in md


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown IANA time zone 'Mars/Olympus'"):
        inputs(timezone="Mars/Olympus")


def test_the_draft_is_blameless() -> None:
    given = inputs()
    people = people_in(given)

    assert people == ("@dave", "alice", "bob", "carol", "erin")
    assert check_blameless(render(given), people=people) == []


# --- action items read back ---------------------------------------------------------------------


def test_action_items_round_trip_through_an_edited_draft() -> None:
    md = render(inputs())
    edited = md.replace(
        "| Add a payments check to the deploy checklist | process | @dave | — | open | #3 |",
        "| Add a payments check to the deploy checklist | process | @erin | 2026-12-11 "
        "| open | #3 |\n"
        r"| Alert on checkout 5xx \| per region | mitigate | @dave | 2026-12-18 |  |  |",
    )

    assert parse_action_items(md) == [
        ActionItemDraft(
            line=_line_of(md, "Canary checkout-api"),
            title="Canary checkout-api deploys",
            action_type="prevent",
            owner="carol",
            due=date(2026, 12, 4),
            task_id=2,
        ),
        ActionItemDraft(
            line=_line_of(md, "Add a payments check"),
            title="Add a payments check to the deploy checklist",
            action_type="process",
            owner="@dave",
            due=None,
            task_id=3,
        ),
    ]
    items = parse_action_items(edited)
    assert [(i.title, i.action_type, i.owner, i.due, i.task_id) for i in items] == [
        ("Canary checkout-api deploys", "prevent", "carol", date(2026, 12, 4), 2),
        ("Add a payments check to the deploy checklist", "process", "@erin", date(2026, 12, 11), 3),
        ("Alert on checkout 5xx | per region", "mitigate", "@dave", date(2026, 12, 18), None),
    ]
    assert items[2].line == _line_of(edited, "Alert on checkout")


def test_the_todo_row_is_skipped_until_a_person_replaces_it() -> None:
    md = render(inputs(tasks=()))
    todo_row = next(line for line in md.splitlines() if TODO_MARK in line and "prevent" in line)

    assert parse_action_items(md) == []
    edited = md.replace(todo_row, "| Canary every checkout-api deploy | Prevent | carol |  |  |  |")
    assert [(i.title, i.action_type, i.owner, i.due) for i in parse_action_items(edited)] == [
        ("Canary every checkout-api deploy", "prevent", "carol", None)
    ]


def test_bad_rows_are_all_reported_with_their_line_and_what_to_write() -> None:
    md = render(inputs(tasks=()))
    todo_row = next(line for line in md.splitlines() if TODO_MARK in line and "prevent" in line)
    edited = md.replace(
        todo_row,
        "| Canary deploys | fix | carol | next week |  |  |\n"
        "| Alert on 5xx | mitigate | carol | 2026-12-01 | open | | extra |\n"
        "| Drill | process | — | — | open | soon |\n"
        "| — | prevent | carol |  |  |  |",
    )
    first = _line_of(edited, "Canary deploys")

    with pytest.raises(ValidationFailed) as caught:
        parse_action_items(edited, source="INC-7.md")

    problems = [(p.where, p.field, p.message) for p in caught.value.problems]
    assert problems == [
        (f"INC-7.md:{first}", "Type", "type 'fix' is not one of mitigate, prevent, process"),
        (f"INC-7.md:{first}", "Due", "due 'next week' is not a date"),
        (f"INC-7.md:{first + 1}", None, "the row has 7 cells, the header 6"),
        (f"INC-7.md:{first + 2}", "Task", "task 'soon' is not a task number"),
        (f"INC-7.md:{first + 3}", "Action item", "the action item has no title"),
    ]
    assert caught.value.problems[1].hint == "write YYYY-MM-DD (e.g. 2026-12-04), or leave it empty"


def test_a_file_without_the_action_items_section_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_action_items("# Notes\n\nnothing here\n", source="notes.md")

    assert [(p.where, p.message) for p in caught.value.problems] == [
        ("notes.md", "no '## Action items' section")
    ]


def test_a_table_missing_a_column_is_refused_at_its_header() -> None:
    md = "# x\n\n## Action items\n\n| Action item | Owner | Due |\n|---|---|---|\n| a | b | c |\n"

    with pytest.raises(ValidationFailed) as caught:
        parse_action_items(md)

    assert [(p.where, p.message) for p in caught.value.problems] == [
        ("postmortem:5", "the table lacks the column(s) Type")
    ]


def _line_of(markdown: str, needle: str) -> int:
    return next(n for n, line in enumerate(markdown.splitlines(), 1) if needle in line)
