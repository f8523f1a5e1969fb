"""Postmortem drafts from an incident's record, in the shape of Google SRE's example postmortem
(sre.google/sre-book/example-postmortem/). Pure: the time and the SLO figures are inputs.

A draft fills in what the record knows (impact, money at risk, the suspected trigger, time to
detect and mitigate, the timeline, tracked action items) and puts a visible
`_TODO(author): <prompt>_` marker wherever a person must write (root causes, the narrative of the
resolution, lessons learned), so `grep -n 'TODO(author)'` finds every one and `Postmortem.todo`
names their sections. `parse_action_items` reads the edited Action items table back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.incidents.model import (
    ACTION_TYPES,
    Entry,
    EntryKind,
    Incident,
    IncidentSource,
    Task,
    TaskKind,
)
from launchdeck.incidents.severity import format_rates

__all__ = [
    "TODO_MARK",
    "ActionItemDraft",
    "BudgetImpact",
    "Postmortem",
    "PostmortemInputs",
    "draft",
    "escape_cell",
    "escape_text",
    "parse_action_items",
    "people_in",
    "render",
]

TODO_MARK: Final = "TODO(author)"
"""Every place a person must still write reads `_TODO(author): <prompt>_`."""

FAST_DETECTION: Final = timedelta(minutes=10)
"""Detected faster than this is worth naming under "What went well"."""
FAST_MITIGATION: Final = timedelta(minutes=30)
SLOW_MITIGATION: Final = timedelta(hours=1)
_NONE: Final = "—"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BudgetImpact(_Frozen):
    """What the incident cost one SLO objective, against its four-week error budget."""

    slo: str
    objective: str
    bad: float
    allowed_four_weeks: float
    share: float | None
    """bad / allowed, 0..1 and beyond; None when the objective allows no bad events."""
    requires_postmortem: bool


class PostmortemInputs(_Frozen):
    incident: Incident
    entries: tuple[Entry, ...] = ()
    tasks: tuple[Task, ...] = ()
    budgets: tuple[BudgetImpact, ...] = ()
    budget_error: str | None = None
    """Why the SLO figures could not be read, if they could not (shown instead of a table)."""
    generated_at: AwareDatetime
    timezone: str
    """The workspace's IANA time zone: every time in the draft is shown in it."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


class Postmortem(_Frozen):
    markdown: str
    todo: tuple[str, ...]
    """The sections a person must still write, in document order; one marker each."""
    filled: tuple[str, ...]
    """The sections filled in from the record, in document order."""


class ActionItemDraft(_Frozen):
    """One row of an edited Action items table, ready to become a tracked task."""

    line: int
    title: str
    action_type: str
    owner: str | None
    due: date | None
    """A calendar date in the workspace's time zone."""
    task_id: int | None
    """The tracked task the row came from; None for a row a person added."""


# --- markdown escaping ------------------------------------------------------------------------

_CODE_SPAN: Final = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
"""A CommonMark code span: a run of backticks closed by a run of the same length, on one line."""
_ESCAPED: Final = re.compile(r"([\\<>])")
_ESCAPED_BEFORE_A_LINE_END: Final = re.compile(r"([\\<>`])")
"""A backtick outside the code spans found has no closer on its line, but CommonMark could pair
it with one on a later line ("`\n`<a>`"), turning what was seen as code into raw HTML; so
before a line ending it is escaped too. (A table cell is one line: `escape_cell` need not.)"""


def _outside_code(text: str, prose: Callable[[str], str], code: Callable[[str], str]) -> str:
    parts: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        parts += [prose(text[last : span.start()]), code(span.group())]
        last = span.end()
    return "".join([*parts, prose(text[last:])])


def escape_text(text: str) -> str:
    """Incident text made safe for markdown prose: outside `code`, `\\`, `<` and `>` are
    backslash-escaped (and a lone backtick before a line ending), so no raw HTML or autolink
    gets through; emphasis still works.

    Backslashes are escaped too, so a `\\` written before a backtick cannot turn a code span
    this function saw back into raw text.
    """
    last_line = text.rfind("\n")
    parts: list[str] = []
    at = 0
    for span in [*_CODE_SPAN.finditer(text), None]:
        end = span.start() if span is not None else len(text)
        prose = text[at:end]
        escaped = _ESCAPED_BEFORE_A_LINE_END if at < last_line else _ESCAPED
        parts.append(escaped.sub(r"\\\1", prose))
        if span is not None:
            parts.append(span.group())
            at = span.end()
    return "".join(parts)


def escape_cell(text: str) -> str:
    """`escape_text` for a GFM table cell: on one line, and `|` escaped, in `code` as well (GFM
    splits the row before it reads code spans, and unescapes `\\|` in them)."""
    return _outside_code(
        " ".join(text.split()),
        lambda t: re.sub(r"([\\<>|])", r"\\\1", t),
        lambda c: c.replace("|", r"\|"),
    )


def _unescape_cell(cell: str) -> str:
    """The inverse of `escape_cell`."""
    return _outside_code(
        cell, lambda t: re.sub(r"\\([\\|<>])", r"\1", t), lambda c: c.replace(r"\|", "|")
    )


# --- the draft --------------------------------------------------------------------------------


def _done(entry: Entry) -> bool:
    """Whether an entry records something that happened (a dry run of a runbook did not)."""
    return entry.data.get("dry_run") is not True


def draft(inputs: PostmortemInputs) -> Postmortem:
    """The postmortem draft: every section the record can fill, TODO markers for the rest."""
    view, todo, filled = _view(inputs)
    markdown = _template().render(**view, todo=todo, mark_prefix=TODO_MARK)
    return Postmortem(markdown=markdown, todo=tuple(todo), filled=tuple(filled))


def render(inputs: PostmortemInputs) -> str:
    """The draft's markdown."""
    return draft(inputs).markdown


def people_in(inputs: PostmortemInputs) -> tuple[str, ...]:
    """Everyone the record names (roles, task owners, entry actors), for `check_blameless`."""
    roles = inputs.incident.roles
    names = [roles.commander, roles.scribe, roles.liaison, *roles.participants]
    names += [inputs.incident.opened_by, *(t.owner for t in inputs.tasks)]
    names += [e.actor for e in inputs.entries]
    return tuple(sorted({n for n in names if n}))


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("launchdeck.incidents", "templates"),
        autoescape=False,  # noqa: S701 - markdown, not HTML: the md/cell filters escape text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = escape_text
    env.filters["cell"] = escape_cell
    return env.get_template("postmortem.md.j2")


class _Fmt:
    """Times in the workspace's zone, durations in minutes, money per currency: the template's
    formatting, so that every number in the draft reads the same way."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def at(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def day(self, instant: datetime | None) -> str:
        return instant.astimezone(self.zone).date().isoformat() if instant else _NONE

    @staticmethod
    def minutes(span: timedelta) -> str:
        """ "4 min"; "95 min (1 h 35 min)" from an hour on; "under 1 min" for a few seconds."""
        total = round(span.total_seconds() / 60)
        if total == 0 and span > timedelta(0):
            return "under 1 min"
        if total < 60:
            return f"{total} min"
        return f"{total} min ({total // 60} h {total % 60} min)"

    @staticmethod
    def money(amounts: Mapping[str, float], per: str = "") -> str:
        return format_rates(amounts, per=per, sep=" + ", empty=f"0{per}")

    @staticmethod
    def number(value: float) -> str:
        return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


_PROMPTS: Final = {
    "Authors": "who wrote this postmortem?",
    "Summary": "in two or three sentences, what happened, to whom, and how it ended",
    "Root causes": "which conditions made this possible? Keep asking why until you reach the "
    "system, its safeguards and its gaps",
    "Trigger": "what set it off (a deploy, a config change, a traffic spike)? launchdeck "
    "recorded no change before detection",
    "Resolution": "how was the impact mitigated, then resolved? What was tried first?",
    "Action items": "add at least one follow-up",
    "What went well": "what helped? Keep, correct or expand the points above",
    "What went wrong": "what made the response harder? Describe conditions and gaps, not people",
    "Where we got lucky": "what limited the harm by chance rather than by design?",
}
"""The TODO prompt of each section a person writes, in document order."""

_SOURCES: Final = {
    IncidentSource.MANUAL: "reported by a person",
    IncidentSource.BURN_ALERT: "a page-tier SLO burn-rate alert",
    IncidentSource.ROLLBACK: "an automated rollback of a release",
}


def _view(inputs: PostmortemInputs) -> tuple[dict[str, object], dict[str, str], list[str]]:
    """What the template shows, the TODO prompts by section and the filled sections."""
    inc, fmt = inputs.incident, _Fmt(inputs.timezone)
    entries = sorted(inputs.entries, key=lambda e: (e.at, e.id))
    roles = [(inc.roles.commander, "commander"), (inc.roles.scribe, "scribe")]
    authors = ", ".join(f"{name} ({role})" for name, role in roles if name)
    trigger = _trigger(entries, detected_at=inc.detected_at)
    actions = sorted(
        (t for t in inputs.tasks if t.kind is TaskKind.ACTION_ITEM),
        key=lambda t: (t.created_at, t.id),
    )
    lessons = _lessons(inputs, entries)
    wanted = {
        "Authors": not authors,
        "Summary": not inc.summary,
        "Trigger": trigger is None,
        "Action items": not actions,
    }
    todo = {s: p for s, p in _PROMPTS.items() if wanted.get(s, True)}
    known = {
        "Summary": True,
        "Impact": True,
        "Trigger": trigger is not None,
        "Detection": True,
        "Resolution": True,
        "Timeline": bool(entries),
        "Action items": bool(actions),
        **{title: bool(prompts) for title, prompts in lessons.items()},
        "Supporting information": True,
    }
    view: dict[str, object] = {
        "inc": inc,
        "a": inc.assessment,
        "fmt": fmt,
        "authors": authors,
        "date": fmt.day(inputs.generated_at),
        "generated_at": fmt.at(inputs.generated_at),
        "timezone": inputs.timezone,
        "facts": _facts(inc, fmt),
        "impact": _impact(inputs, fmt),
        "budgets": inputs.budgets,
        "trigger": trigger,
        "source": f"{_SOURCES[inc.source]} (opened by {inc.opened_by})",
        "alerts": [e for e in entries if e.kind is EntryKind.ALERT],
        "steps": [
            e for e in entries if e.kind in (EntryKind.RUNBOOK, EntryKind.STATUS) and _done(e)
        ],
        "entries": entries,
        "actions": actions,
        "lessons": lessons,
    }
    return view, todo, [section for section, done in known.items() if done]


def _impact_end(inc: Incident) -> datetime | None:
    return inc.mitigated_at or inc.resolved_at


def _facts(inc: Incident, fmt: _Fmt) -> str:
    end = _impact_end(inc)
    span = f"from {fmt.at(inc.started_at)}"
    span += f" to {fmt.at(end)} ({fmt.minutes(end - inc.started_at)})" if end else ", still open"
    names = [c.name for c in inc.assessment.campaigns]
    reach = f" affecting {', '.join(names)}" if names else " with no live campaign affected"
    at_risk = fmt.money(inc.assessment.revenue_at_risk_per_hour, "/h")
    return (
        f"{inc.severity} {inc.signal} of {', '.join(inc.systems)} {span},{reach}; "
        f"revenue at risk {at_risk}."
    )


def _impact(inputs: PostmortemInputs, fmt: _Fmt) -> dict[str, str]:
    """Duration and money over it: revenue at risk per hour × hours, an upper bound."""
    inc, per_hour = inputs.incident, inputs.incident.assessment.revenue_at_risk_per_hour
    end = _impact_end(inc)
    until = end or inputs.generated_at
    hours = max((until - inc.started_at).total_seconds(), 0) / 3600
    duration = f"{fmt.minutes(until - inc.started_at)}, {fmt.at(inc.started_at)} to {fmt.at(until)}"
    if end is None:
        duration += " (still open when this draft was made)"
    else:
        duration += " (until mitigation)" if inc.mitigated_at else " (until resolution)"
    over = {currency: amount * hours for currency, amount in per_hour.items()}
    if inputs.budget_error:
        note = f"Error budget: the SLO figures could not be read ({inputs.budget_error})."
    elif not inputs.budgets:
        note = f"Error budget: no SLO covers {', '.join(inc.systems)}."
    else:
        note = ""
    return {
        "duration": duration,
        "over": f"up to {fmt.money(over)} ({fmt.money(per_hour, '/h')} × {hours:.2f} h)",
        "budget_note": note,
    }


def _trigger(entries: Sequence[Entry], *, detected_at: datetime) -> Entry | None:
    """The latest change recorded at or before detection: the suspected trigger."""
    changes = [e for e in entries if e.kind is EntryKind.CHANGE and e.at <= detected_at]
    return changes[-1] if changes else None


def _lessons(inputs: PostmortemInputs, entries: Sequence[Entry]) -> dict[str, list[str]]:
    """Prompts from the data for each lessons-learned subsection."""
    inc = inputs.incident
    well: list[str] = []
    wrong: list[str] = []
    lucky: list[str] = []
    ttd, ttm = inc.time_to_detect, inc.time_to_mitigate
    if ttd < FAST_DETECTION:
        well.append(f"Detected in {_Fmt.minutes(ttd)}.")
    else:
        wrong.append(f"Detection took {_Fmt.minutes(ttd)}.")
    if inc.source is not IncidentSource.MANUAL:
        well.append(f"Detected automatically: {_SOURCES[inc.source]}.")
    if ttm is not None and ttm < FAST_MITIGATION:
        well.append(f"Mitigated in {_Fmt.minutes(ttm)}.")
    elif ttm is not None and ttm >= SLOW_MITIGATION:
        wrong.append(f"Mitigation took {_Fmt.minutes(ttm)}.")
    runbooks = [e.text for e in entries if e.kind is EntryKind.RUNBOOK and _done(e)]
    if runbooks:
        well.append(f"A runbook was used: {runbooks[0]}")
    wrong += [
        f"{b.slo}/{b.objective} spent {b.share:.1%} of its four-week error budget."
        for b in inputs.budgets
        if b.requires_postmortem and b.share is not None
    ]
    tier1 = [c.name for c in inc.assessment.campaigns if c.tier == 1]
    if tier1:
        wrong.append(f"A tier-1 campaign was affected: {', '.join(tier1)}.")
    if not inc.assessment.campaigns:
        lucky.append("No live campaign was reached by the affected systems.")
    return {"What went well": well, "What went wrong": wrong, "Where we got lucky": lucky}


# --- reading the action items back ------------------------------------------------------------

_HEADING: Final = re.compile(r"^\s{0,3}#{1,6}\s")
_ACTIONS_HEADING: Final = re.compile(r"^\s{0,3}##\s+action items\s*#*\s*$", re.IGNORECASE)
_TODO_WORD: Final = re.compile(r"(?<![A-Za-z])TODO(?![A-Za-z])")
_CELL_BAR: Final = re.compile(r"(?<!\\)\|")
"""GFM: a `|` right after a backslash never ends a cell, however many backslashes precede."""
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_TASK: Final = re.compile(r"#?(\d+)")
_COLUMNS: Final = {
    "action item": "title",
    "type": "type",
    "owner": "owner",
    "due": "due",
    "status": "status",
    "task": "task",
}
_REQUIRED: Final = ("title", "type", "owner", "due")
_HEADER: Final = "| Action item | Type | Owner | Due | Status | Task |"
_HINTS: Final = {
    "Action item": "say what will change, e.g. 'Canary the checkout-api deploys'",
    "Type": "mitigate lessens the next one, prevent stops it recurring, process changes how "
    "we work",
    "Due": "write YYYY-MM-DD (e.g. 2026-12-04), or leave it empty",
    "Task": "leave it empty for a new row; launchdeck writes #N for the tracked ones",
}


def parse_action_items(markdown: str, *, source: str = "postmortem") -> list[ActionItemDraft]:
    """The rows of the `## Action items` table, in order; a row with TODO in it is skipped.

    Raises ValidationFailed listing every bad row at once: each problem's `where` is
    `<source>:<line>` (1-based), its `field` the column, its hint what to write instead.
    """
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if _ACTIONS_HEADING.match(line)), None)
    if start is None:
        hint = "keep the '## Action items' heading and table of the draft launchdeck wrote"
        raise ValidationFailed(
            [ConfigError("no '## Action items' section", where=source, hint=hint)], source=source
        )
    table = list(_table_after(lines, start + 1))
    columns = [_COLUMNS.get(cell.strip().lower()) for cell in _cells(table[0][1])] if table else []
    missing = [name for name, key in _COLUMNS.items() if key not in columns and key in _REQUIRED]
    if missing:
        where = f"{source}:{table[0][0] if table else start + 1}"
        message = f"the table lacks the column(s) {', '.join(m.capitalize() for m in missing)}"
        raise ValidationFailed(
            [ConfigError(message, where=where, hint=f"the header is {_HEADER}")], source=source
        )
    drafts: list[ActionItemDraft] = []
    problems: list[ConfigError] = []
    for number, line in table[2:]:
        if _TODO_WORD.search(line):
            continue
        where = f"{source}:{number}"
        cells = _cells(line)
        if len(cells) != len(columns):
            message = f"the row has {len(cells)} cells, the header {len(columns)}"
            hint = r"write a | inside a cell as \|, and keep one cell per column"
            problems.append(ConfigError(message, where=where, hint=hint))
            continue
        row = {c: _unescape_cell(v.strip()) for c, v in zip(columns, cells, strict=True) if c}
        item, bad = _row(row, line=number)
        problems += [
            ConfigError(message, where=where, field=field, hint=_HINTS[field])
            for field, message in bad
        ]
        if item is not None:
            drafts.append(item)
    if problems:
        raise ValidationFailed(problems, source=source)
    return drafts


def _table_after(lines: Sequence[str], start: int) -> Iterator[tuple[int, str]]:
    """The first table's lines (1-based numbers) between `start` and the next heading."""
    in_table = False
    for index in range(start, len(lines)):
        line = lines[index].strip()
        if _HEADING.match(lines[index]) or (in_table and not line.startswith("|")):
            return
        if line.startswith("|"):
            in_table = True
            yield index + 1, line


def _cells(line: str) -> list[str]:
    """The raw cells of a table row (the closing `|` is optional, as in GFM)."""
    cells = _CELL_BAR.split(line.strip().removeprefix("|"))
    return cells[:-1] if cells and not cells[-1].strip() else cells


def _blank(value: str) -> bool:
    return value in ("", _NONE, "-", "–")


def _row(
    row: Mapping[str, str], *, line: int
) -> tuple[ActionItemDraft | None, list[tuple[str, str]]]:
    """The draft of one row, or the (column, problem) pairs that keep it from being one."""
    bad: list[tuple[str, str]] = []
    title, kind, due_text, task = row["title"], row["type"].lower(), row["due"], row.get("task", "")
    if _blank(title):
        bad.append(("Action item", "the action item has no title"))
    if kind not in ACTION_TYPES:
        bad.append(("Type", f"type {row['type']!r} is not one of {', '.join(ACTION_TYPES)}"))
    due: date | None = None
    if not _blank(due_text):
        try:
            due = date.fromisoformat(due_text) if _DATE.fullmatch(due_text) else None
        except ValueError:
            due = None
        if due is None:
            bad.append(("Due", f"due {due_text!r} is not a date"))
    task_match = _TASK.fullmatch(task)
    if not _blank(task) and task_match is None:
        bad.append(("Task", f"task {task!r} is not a task number"))
    if bad:
        return None, bad
    owner = None if _blank(row["owner"]) else row["owner"]
    task_id = int(task_match.group(1)) if task_match else None
    return ActionItemDraft(
        line=line, title=title, action_type=kind, owner=owner, due=due, task_id=task_id
    ), []
