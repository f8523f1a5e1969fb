"""Runbooks as code: both forms parse, every mistake names file:line:column and a way out,
placeholders are checked when parsed and resolved (shell-quoted in commands) when bound."""

from __future__ import annotations

import json
import shlex
import textwrap
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from launchdeck.errors import ConfigError, UsageError, ValidationFailed
from launchdeck.incidents.runbook import (
    FlagOffCall,
    FreezeCall,
    Param,
    RollbackCall,
    Runbook,
    ShellCall,
    StepKind,
    format_duration,
    load_runbook,
    load_runbooks,
    parse_runbook,
)

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "runbooks"
EXAMPLES = ROOT / "examples" / "black-friday" / "runbooks"


def a_runbook(yaml_text: str) -> Runbook:
    """A runbook from YAML (name and title are added)."""
    text = "name: rb\ntitle: A runbook\n" + textwrap.dedent(yaml_text).lstrip("\n")
    return parse_runbook(text, source="rb.yaml")


def problems_of(path: Path) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        load_runbook(path)
    error = caught.value
    return list(error.problems) if isinstance(error, ValidationFailed) else [error]


# --- the two forms ------------------------------------------------------------------------


def test_front_matter_steps_parse_with_their_actions_and_defaults() -> None:
    runbook = load_runbook(FIXTURES / "good" / "front-matter.md")

    assert (runbook.name, runbook.title) == ("checkout-rollback", "Roll back checkout")
    assert runbook.description == "The checkout release is bad."
    assert runbook.systems == ("checkout-api",)
    assert runbook.incident_types == ("bad-deploy",)
    assert runbook.params == (
        Param("system", None, "the system to roll back"),
        Param("environment", "production"),
        Param("flag", "checkout-new-flow"),
    )
    assert runbook.params[0].required and not runbook.params[1].required
    assert [(s.index, s.name, s.kind) for s in runbook.steps] == [
        (1, "Confirm the symptom", StepKind.INSTRUCTION),
        (2, "Freeze further deploys", StepKind.FREEZE),
        (3, "Turn the new checkout flow off", StepKind.FLAG_OFF),
        (4, "Roll back the release", StepKind.ROLLBACK),
        (5, "Purge the CDN cache", StepKind.SHELL),
    ]
    shell = runbook.steps[4]
    purge = "curl -fsS -X POST https://cdn.example/purge"
    assert shell.args == {"command": purge, "timeout": "60s"}
    assert shell.continue_on_error is True
    assert runbook.steps[1].continue_on_error is False
    assert runbook.steps[1].where == f"{FIXTURES / 'good' / 'front-matter.md'}:14:5"
    assert runbook.where == f"{FIXTURES / 'good' / 'front-matter.md'}:2:7"
    # With steps in the front matter, the body's headings are narrative.
    assert runbook.narrative.startswith("# Roll back checkout\n\n## Background")


def test_body_headings_are_steps_and_launchdeck_blocks_make_them_executable() -> None:
    runbook = load_runbook(FIXTURES / "good" / "body-steps.md")
    source = FIXTURES / "good" / "body-steps.md"

    assert runbook.narrative == "Narrative before the first step."
    assert [(s.name, s.kind) for s in runbook.steps] == [
        ("Check the origin", StepKind.INSTRUCTION),  # "Step 1:" is numbering, not title
        ("Purge", StepKind.SHELL),  # "2." too
        ("Tell the owners", StepKind.INSTRUCTION),
    ]
    check, purge, tell = runbook.steps
    # Other code blocks stay in the instruction, and a '##' inside them is not a heading.
    assert check.instruction == (
        "Fetch the page from the origin for {incident}.\n\n```sh\n"
        "## not a heading: inside a code block\ncurl -I https://origin.example/\n```"
    )
    assert purge.instruction == "Purge it."
    assert purge.args == {"command": "curl -fsS -X POST {url}", "timeout": "30s"}
    assert purge.continue_on_error is True
    assert tell.instruction == "Ask the liaison to tell the campaign owners."
    assert [s.where for s in runbook.steps] == [f"{source}:9:1", f"{source}:18:1", f"{source}:28:1"]


def test_a_yaml_runbook_has_the_same_keys() -> None:
    runbook = load_runbook(FIXTURES / "good" / "plain.yaml")

    assert runbook.params == (Param("flag"),)  # no default: required
    (step,) = runbook.steps
    assert (step.kind, step.instruction) == (StepKind.FLAG_OFF, "Customers see the fallback.")
    assert runbook.narrative == ""


def test_a_source_without_a_known_suffix_is_markdown_when_it_opens_front_matter() -> None:
    markdown = "---\nname: a\ntitle: b\n---\n## Do it\nNow.\n"
    assert parse_runbook(markdown, source="<stdin>").steps[0].instruction == "Now."
    yaml_text = "name: a\ntitle: b\nsteps: [{name: c, instruction: d}]\n"
    assert parse_runbook(yaml_text, source="<stdin>").steps[0].name == "c"


# --- every mistake, located -----------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    file: str
    where: str  # line:column
    message: str
    hint: str


BAD = [
    Bad("no-front-matter.md", "1:1", "a Markdown runbook starts with YAML front matter", "'---'"),
    Bad("unclosed-front-matter.md", "1:1", "the front matter is never closed", "add a line '---'"),
    Bad("yaml-syntax.md", "5:1", "not valid YAML", "quoting"),
    Bad("not-a-mapping.yaml", "1:1", "a runbook must be a YAML mapping", "'name:'"),
    Bad("unknown-key.md", "3:1", "tittle: unknown key 'tittle'", "did you mean 'title'?"),
    Bad("duplicate-key.yaml", "3:1", "title: duplicate key 'title'", "once per mapping"),
    Bad("missing-title.yaml", "1:1", "title: is required but missing", "add 'title:'"),
    Bad("bad-name.yaml", "1:7", "name: 'Bad_Name' is not a valid runbook name", "lowercase"),
    Bad("unknown-action.yaml", "5:13", "unknown action 'rolback'", "did you mean 'rollback'?"),
    Bad(
        "missing-with-key.yaml",
        "6:11",
        "steps[0].with.environment: the rollback action needs 'environment'",
        "add 'environment:' under 'with:'",
    ),
    Bad("unknown-with-key.yaml", "6:12", "unknown key 'systen'", "did you mean 'system'?"),
    Bad("timeout-number.yaml", "6:38", "expected text, got the number 60", "60s, 5m, 2h"),
    Bad("bad-duration.yaml", "6:22", "not a duration: '2 hours'", "30s, 15m, 2h"),
    Bad("undeclared-placeholder.yaml", "8:21", "unknown placeholder {sytem}", "'system'?"),
    Bad("undeclared-placeholder-body.md", "8:22", "unknown placeholder {nope}", "{{nope}}"),
    Bad("quoted-placeholder.md", "11:17", "{msg} inside quotes", "launchdeck quotes each value"),
    Bad("heredoc-placeholder.yaml", "9:16", "{msg} in a command with a here-document", "bare"),
    Bad("both-forms.md", "9:1", "steps are in the front matter and in the body", "keep one"),
    Bad("block-outside-step.md", "7:1", "block belongs to no step", "'## Step title'"),
    Bad("two-blocks.md", "12:1", "step 'Twice' has a second ```launchdeck block", "split it"),
    Bad("unclosed-fence.md", "7:1", "a fenced code block is never closed", "'```'"),
    Bad("block-name-key.md", "8:1", "unknown key 'name'", "the '##' heading names the step"),
    Bad("block-not-a-mapping.md", "8:1", "block holds a YAML mapping", "'action: …'"),
    Bad("block-syntax.md", "9:20", "not valid YAML", "quoting"),
    Bad("no-steps.md", "2:1", "the runbook has no steps", "'## Step title' headings"),
    Bad("empty-step.yaml", "4:5", "a step needs an instruction, an action, or both", "'action:'"),
    Bad("with-without-action.yaml", "6:5", "'with' is only for an action", "add 'action:'"),
    Bad("continue-on-instruction.yaml", "6:5", "is only for an action", "only an action can fail"),
    Bad("builtin-param.yaml", "4:3", "'incident' is a built-in placeholder", "another name"),
    Bad("required-with-default.yaml", "4:22", "a required param has no default", "remove"),
    Bad("bad-param-name.yaml", "4:3", "'System-Name' is not a valid param name", "letters"),
    Bad("systems-not-a-list.yaml", "3:10", "expected a list, got text 'checkout-api'", "[]"),
    Bad("empty-heading.md", "5:1", "a step heading needs a title", "after '## '"),
]


@pytest.mark.parametrize("bad", BAD, ids=[bad.file for bad in BAD])
def test_a_mistake_names_its_file_line_column_and_what_to_do(bad: Bad) -> None:
    path = FIXTURES / "bad" / bad.file
    problem = problems_of(path)[0]

    assert problem.where == f"{path}:{bad.where}"
    assert bad.message in problem.message
    assert problem.hint is not None
    assert bad.hint in problem.hint


def test_every_bad_fixture_has_a_case() -> None:
    assert {p.name for p in (FIXTURES / "bad").iterdir()} == {bad.file for bad in BAD}


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    problems = problems_of(FIXTURES / "bad" / "unknown-key.md")

    assert [(p.where, p.field) for p in problems] == [
        (f"{FIXTURES / 'bad' / 'unknown-key.md'}:3:1", "tittle"),
        (f"{FIXTURES / 'bad' / 'unknown-key.md'}:2:1", "title"),  # the document's start
    ]


def test_a_missing_file_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="no such runbook") as caught:
        load_runbook(FIXTURES / "missing.md")
    assert caught.value.where == str(FIXTURES / "missing.md")


# --- placeholders --------------------------------------------------------------------------


def test_escaped_braces_shell_variables_and_other_braces_are_not_placeholders() -> None:
    runbook = a_runbook("""
        steps:
          - name: a
            instruction: 'Literal {{braces}}, JSON {"a": 1} and {} stay as written.'
          - name: b
            action: shell
            with: {command: 'echo "${HOME}" {{x}} | awk "{ print }"'}
        """)

    instruction, shell = runbook.bind({}, incident=None)
    assert instruction.instruction == 'Literal {braces}, JSON {"a": 1} and {} stay as written.'
    assert isinstance(shell.action, ShellCall)
    assert shell.action.command == 'echo "${HOME}" {x} | awk "{ print }"'


def test_builtins_need_no_declaration() -> None:
    runbook = a_runbook("""
        steps:
          - {name: a, instruction: "{runbook} for {incident}"}
        """)

    assert runbook.bind({}, incident="INC-3")[0].instruction == "rb for INC-3"


def test_a_param_value_cannot_inject_into_a_shell_command() -> None:
    runbook = a_runbook("""
        params:
          target: {required: true}
        steps:
          - name: a
            action: shell
            with: {command: "printf %s {target} --from={target}"}
        """)

    (step,) = runbook.bind({"target": "x; rm -rf /"}, incident=None)
    assert isinstance(step.action, ShellCall)
    assert step.action.command == "printf %s 'x; rm -rf /' --from='x; rm -rf /'"
    assert shlex.split(step.action.command) == ["printf", "%s", "x; rm -rf /", "--from=x; rm -rf /"]


SHELL_PLACES = [
    ("echo {v}", None),
    ("curl --url={v}/path", None),
    ("echo $(cat {v})", None),
    ("cat <<< {v}", None),
    ('echo "${HOME}" {v}', None),
    ("echo '{v}'", "inside quotes"),
    ('echo "{v}"', "inside quotes"),
    ("echo \\{v}", "after a backslash"),
    ("cat <<EOF\n{v}\nEOF", "here-document"),
]


@pytest.mark.parametrize(
    ("command", "refused"),
    SHELL_PLACES,
    ids=[
        "a bare word",
        "glued to other text",
        "in a command substitution",
        "in a here-string",
        "next to a quoted shell variable",
        "in single quotes",
        "in double quotes",
        "after a backslash",
        "in a here-document",
    ],
)
def test_a_shell_placeholder_must_sit_where_quoting_protects_it(
    command: str, refused: str | None
) -> None:
    text = (
        "name: rb\ntitle: T\nparams: {v: {}}\nsteps:\n  - name: s\n    action: shell\n"
        f"    with: {{command: {json.dumps(command)}}}\n"
    )
    if refused is None:
        assert parse_runbook(text, source="rb.yaml").steps[0].args["command"] == command
        return
    with pytest.raises(ValidationFailed) as caught:
        parse_runbook(text, source="rb.yaml")
    (problem,) = caught.value.problems
    assert refused in problem.message
    assert problem.field == "steps[0].with.command"


def test_values_outside_shell_commands_are_substituted_as_they_are() -> None:
    runbook = a_runbook("""
        params:
          flag: {default: "new flow; really"}
        steps:
          - name: a
            action: flag_off
            with: {flag: "{flag}", environment: production}
        """)

    (step,) = runbook.bind({}, incident=None)
    assert step.action == FlagOffCall("new flow; really", "production", "runbook rb")


# --- matches() ---------------------------------------------------------------------------

MATCHES = [
    ((), (), "checkout-api", "outage", True),
    (("checkout-api",), (), "checkout-api", "outage", True),
    (("checkout-api",), (), "cms", "outage", False),
    ((), ("bad-deploy",), "cms", "bad-deploy", True),
    ((), ("bad-deploy",), "cms", "outage", False),
    (("cms",), ("outage",), "cms", "outage", True),
    (("cms",), ("outage",), "cms", "bad-deploy", False),
    (("cms",), ("outage",), None, None, True),
    (("cms",), ("outage",), None, "outage", True),
    (("cms",), ("outage",), "search", None, False),
]


@pytest.mark.parametrize(
    ("systems", "types", "system", "incident_type", "expected"),
    MATCHES,
    ids=[
        "a runbook for anything matches anything",
        "a runbook for a system matches it",
        "a runbook for a system does not match another",
        "a runbook for a type matches it",
        "a runbook for a type does not match another",
        "both must match",
        "the type must match too",
        "None asks about neither",
        "None for the system asks only about the type",
        "None for the type asks only about the system",
    ],
)
def test_matches(
    systems: tuple[str, ...],
    types: tuple[str, ...],
    system: str | None,
    incident_type: str | None,
    expected: bool,
) -> None:
    runbook = a_runbook(
        f"systems: [{', '.join(systems)}]\nincident_types: [{', '.join(types)}]\n"
        "steps: [{name: a, instruction: b}]\n"
    )
    assert runbook.matches(system, incident_type) is expected


# --- bind() -------------------------------------------------------------------------------


def test_bind_resolves_defaults_given_params_and_builtins_into_calls() -> None:
    runbook = load_runbook(FIXTURES / "good" / "front-matter.md")

    steps = runbook.bind({"system": "checkout-api", "environment": "staging"}, incident="INC-3")

    assert steps[0].instruction == "Check the error rate of checkout-api on the dashboard."
    assert [s.action for s in steps] == [
        None,
        FreezeCall("checkout-api", None, timedelta(hours=2), "incident INC-3"),
        FlagOffCall("checkout-new-flow", "staging", "runbook checkout-rollback, incident INC-3"),
        RollbackCall("checkout-api", "staging", "runbook checkout-rollback, incident INC-3"),
        ShellCall("curl -fsS -X POST https://cdn.example/purge", timedelta(seconds=60)),
    ]
    assert [s.index for s in steps] == [1, 2, 3, 4, 5]
    assert steps[4].continue_on_error is True
    assert steps[1].preview == (
        "freeze deploys of checkout-api in every environment for 2h (reason: incident INC-3)"
    )
    assert steps[4].preview == "bash -c: curl -fsS -X POST https://cdn.example/purge (timeout 1m)"
    assert steps[0].preview == (
        "ask a person to confirm: Check the error rate of checkout-api on the dashboard."
    )


def test_a_missing_required_param_names_it_and_how_to_pass_it() -> None:
    runbook = load_runbook(FIXTURES / "good" / "front-matter.md")

    with pytest.raises(UsageError) as caught:
        runbook.bind({}, incident="INC-3")

    assert caught.value.message == (
        "runbook 'checkout-rollback' needs the param 'system'; system: the system to roll back"
    )
    assert caught.value.hint == "pass it with --param system=<value>"


def test_an_empty_value_counts_as_missing() -> None:
    runbook = load_runbook(FIXTURES / "good" / "front-matter.md")

    with pytest.raises(UsageError, match="needs the param 'system'"):
        runbook.bind({"system": ""}, incident="INC-3")


def test_an_unknown_param_suggests_the_close_one() -> None:
    runbook = load_runbook(FIXTURES / "good" / "front-matter.md")

    with pytest.raises(UsageError, match="has no param 'sytem'") as caught:
        runbook.bind({"sytem": "web", "system": "web"}, incident="INC-3")
    assert caught.value.hint == "did you mean 'system'?"


def test_incident_placeholder_without_an_incident_is_a_usage_error() -> None:
    runbook = load_runbook(FIXTURES / "good" / "front-matter.md")

    with pytest.raises(UsageError, match=r"step 2 \('Freeze further deploys'\).*uses \{incident\}"):
        runbook.bind({"system": "web"}, incident=None)


def test_a_run_without_an_incident_gets_a_reason_without_one() -> None:
    runbook = load_runbook(FIXTURES / "good" / "plain.yaml")

    (step,) = runbook.bind({"flag": "paypal-express"}, incident=None)
    assert step.action == FlagOffCall("paypal-express", "production", "provider down")


def test_a_duration_from_a_param_is_checked_when_bound() -> None:
    runbook = a_runbook("""
        params:
          hold: {default: 2h}
          system: {default: ""}
        steps:
          - name: Hold
            action: freeze
            with: {duration: "{hold}", system: "{system}"}
        """)

    (step,) = runbook.bind({}, incident=None)
    assert step.action == FreezeCall(None, None, timedelta(hours=2), "runbook rb")
    with pytest.raises(UsageError, match=r"step 1 \('Hold'\): with.duration: not a duration") as e:
        runbook.bind({"hold": "soon"}, incident=None)
    assert e.value.hint == "use a number and a unit: 30s, 15m, 2h, 7d or 1w"


def test_a_required_action_setting_empty_once_bound_is_a_usage_error() -> None:
    runbook = a_runbook("""
        params:
          system: {default: " "}
        steps:
          - name: Back
            action: rollback
            with: {system: "{system}", environment: production}
        """)

    with pytest.raises(UsageError, match=r"'with.system' is empty once bound") as caught:
        runbook.bind({}, incident=None)
    assert caught.value.hint is not None
    assert "rb.yaml:6:5" in caught.value.hint


def test_format_duration_uses_the_largest_whole_unit() -> None:
    assert [
        format_duration(timedelta(seconds=s)) for s in (0.2, 45, 60, 90, 7200, 86400, 5400)
    ] == ["0.2s", "45s", "1m", "90s", "2h", "1d", "90m"]


# --- loading many -------------------------------------------------------------------------


def test_every_shipped_runbook_parses_and_binds() -> None:
    runbooks = load_runbooks([EXAMPLES])

    assert sorted(r.name for r in runbooks) == [
        "cache-invalidation",
        "database-failover",
        "deployment-rollback",
        "third-party-fallback",
    ]
    for runbook in runbooks:
        required = {p.name: "x" for p in runbook.params if p.required}
        steps = runbook.bind(required, incident="INC-1")
        assert steps, runbook.name
        assert all("{" not in s.preview.replace("${", "") for s in steps), runbook.name
        assert len((EXAMPLES / Path(runbook.source).name).read_text().splitlines()) <= 60


def test_the_shipped_runbooks_use_both_forms() -> None:
    texts = [path.read_text() for path in EXAMPLES.glob("*.md")]

    assert any("\nsteps:\n" in text.split("\n---\n", 1)[0] for text in texts)
    assert any("```launchdeck" in text for text in texts)


def test_a_directory_loads_runbooks_but_not_its_readme(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Our runbooks\n")
    (tmp_path / "notes.txt").write_text("not a runbook")
    (tmp_path / "a.yaml").write_text("name: a\ntitle: A\nsteps: [{name: s, instruction: i}]\n")

    assert [r.name for r in load_runbooks([tmp_path])] == ["a"]


def test_a_name_used_twice_names_both_files(tmp_path: Path) -> None:
    first, second = tmp_path / "one.yaml", tmp_path / "two.md"
    first.write_text("name: rollback\ntitle: A\nsteps: [{name: s, instruction: i}]\n")
    second.write_text("---\nname: rollback\ntitle: B\n---\n## S\nDo it.\n")

    with pytest.raises(ValidationFailed) as caught:
        load_runbooks([first, second])

    (problem,) = caught.value.problems
    assert problem.where == f"{second}:2:7"
    assert problem.message == f"runbook name 'rollback' is used twice: also at {first}:1:7"
    assert problem.hint == "runbook names are unique: rename one of the two"


def test_problems_of_every_file_are_reported_together() -> None:
    bad = FIXTURES / "bad"

    with pytest.raises(ValidationFailed) as caught:
        load_runbooks(
            [bad / "no-front-matter.md", FIXTURES / "good" / "plain.yaml", bad / "bad-name.yaml"]
        )

    assert [p.where for p in caught.value.problems] == [
        f"{bad / 'no-front-matter.md'}:1:1",
        f"{bad / 'bad-name.yaml'}:1:7",
    ]
