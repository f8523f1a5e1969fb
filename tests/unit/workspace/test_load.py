"""Loading launchdeck.yaml: every error names file:line:column, the field and a way out."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.workspace.load import load_workspace, parse_workspace
from launchdeck.workspace.spec import WorkspaceSpec
from strategies import property_settings, workspace_documents

ROOT = Path(__file__).resolve().parents[3]
SOURCE = "launchdeck.yaml"


def _yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def problems_of(text: str) -> list[ConfigError]:
    """The problems parse_workspace reports for `text` (it must fail validation)."""
    with pytest.raises(ValidationFailed) as caught:
        parse_workspace(_yaml(text), source=SOURCE)
    return list(caught.value.problems)


def only_problem(text: str) -> ConfigError:
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def syntax_error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_workspace(_yaml(text), source=SOURCE)
    assert type(caught.value) is ConfigError  # not a ValidationFailed: parsing stopped early
    return caught.value


def test_a_valid_workspace_parses_into_the_spec() -> None:
    spec = parse_workspace(
        _yaml("""
            workspace:
              name: shop
              timezone: Europe/Berlin
            environments:
              - id: production
            systems:
              - id: web
                tier: 1
                environments:
                  production: {url: https://shop.example, config: {ttl: 60, beta: true}}
            """),
        source=SOURCE,
    )
    assert spec.workspace.timezone == "Europe/Berlin"
    assert spec.systems[0].environments["production"].config == {"ttl": 60, "beta": True}


def test_unknown_key_points_at_the_key_and_suggests_the_close_one() -> None:
    problem = only_problem("""
        version: 1
        workspace:
          name: shop
          timezon: UTC
        """)
    assert problem.where == "launchdeck.yaml:4:3"
    assert problem.field == "workspace.timezon"
    assert problem.message == "workspace.timezon: unknown key 'timezon'"
    assert problem.hint == "did you mean 'timezone'?"


def test_unknown_key_with_nothing_close_lists_the_allowed_keys() -> None:
    problem = only_problem("""
        workspace:
          name: shop
          colour: blue
        """)
    assert problem.where == "launchdeck.yaml:3:3"
    assert problem.hint == "allowed keys: description, name, timezone"


def test_unknown_key_deep_in_a_system_suggests_from_that_systems_keys() -> None:
    problem = only_problem("""
        workspace: {name: shop}
        systems:
          - id: web
            environmets: {}
        """)
    assert problem.where == "launchdeck.yaml:4:5"
    assert problem.field == "systems[0].environmets"
    assert problem.hint == "did you mean 'environments'?"


@pytest.mark.parametrize(
    ("tier", "message"),
    [
        ("high", "Input should be a valid integer, unable to parse string as an integer"),
        ("4", "Input should be less than or equal to 3 (got 4)"),
        ("0", "Input should be greater than or equal to 1 (got 0)"),
    ],
    ids=["a word is not an integer", "4 is above the highest tier", "0 is below the lowest"],
)
def test_bad_tier_points_at_its_value(tier: str, message: str) -> None:
    problem = only_problem(f"""
        workspace: {{name: shop}}
        systems:
          - id: web
            tier: {tier}
        """)
    assert problem.where == "launchdeck.yaml:4:11"
    assert problem.field == "systems[0].tier"
    assert message in problem.message


def test_missing_required_key_points_at_the_mapping_that_lacks_it() -> None:
    problem = only_problem("""
        workspace: {name: shop}
        campaigns:
          - id: sale
            start: 2026-11-27T00:00:00
            end: 2026-11-28T00:00:00
        """)
    assert problem.where == "launchdeck.yaml:3:5"
    assert problem.message == "campaigns[0].name: is required but missing"
    assert problem.hint == "add 'name:'"


def test_missing_workspace_section_points_at_the_top_of_the_file() -> None:
    problem = only_problem("""
        systems: []
        """)
    assert problem.where == "launchdeck.yaml:1:1"
    assert problem.message == "workspace: is required but missing"


def test_unknown_time_zone_names_the_zone_and_the_expected_form() -> None:
    problem = only_problem("""
        workspace:
          name: shop
          timezone: Mars/Olympus_Mons
        """)
    assert problem.where == "launchdeck.yaml:3:13"
    assert "unknown time zone 'Mars/Olympus_Mons'" in problem.message
    assert "IANA name" in problem.message


def test_duplicate_key_points_at_its_second_occurrence() -> None:
    problem = only_problem("""
        workspace:
          name: shop
          timezone: UTC
          name: other
        """)
    assert problem.where == "launchdeck.yaml:4:3"
    assert problem.message == "workspace.name: duplicate key 'name'"
    assert problem.hint == "a key may appear once per mapping"


def test_duplicate_key_is_reported_with_the_schema_problems() -> None:
    problems = problems_of("""
        workspace:
          name: shop
          name: other
        systems:
          - id: web
            tier: 9
        """)
    assert [(p.where, p.field) for p in problems] == [
        ("launchdeck.yaml:3:3", "workspace.name"),
        ("launchdeck.yaml:6:11", "systems[0].tier"),
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "workspace:\n  name: shop\n\tdescription: tabs\n",
            "launchdeck.yaml:3:1",
            "found character '\\t' that cannot start any token",
        ),
        (
            "workspace: {name: shop}\nsystems:\n  - id: web\n    name: a: b\n",
            "launchdeck.yaml:4:12",
            "mapping values are not allowed here",
        ),
        (
            "workspace: {name: shop}\nsystems:\n  - id: web\n   tier: 1\n",
            "launchdeck.yaml:4:4",
            "while parsing a block collection at line 3, column 3",
        ),
        (
            "workspace:\n  name: 'shop\nsystems: []\n",
            "launchdeck.yaml:4:1",
            "while scanning a quoted scalar at line 2, column 9",
        ),
        (
            "workspace: {name: shop}\n---\nworkspace: {name: other}\n",
            "launchdeck.yaml:2:1",
            "but found another document",
        ),
        (
            "workspace:\n  name: shop\x07\n",
            "launchdeck.yaml:2:13",
            "character U+0007 is not allowed",
        ),
    ],
    ids=[
        "a tab used for indentation",
        "a colon inside a plain value",
        "a key indented less than its siblings",
        "an unclosed quote names the line where it opened",
        "two documents in one file",
        "a control character",
    ],
)
def test_invalid_yaml_names_the_place_and_the_problem(text: str, where: str, message: str) -> None:
    error = syntax_error_of(text)
    assert error.where == where
    assert error.message.startswith("not valid YAML: ")
    assert message in error.message
    assert error.hint is not None


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "- a list\n- of things\n", "just a sentence\n", "42\n"],
    ids=["empty file", "only a comment", "a list", "a string", "a number"],
)
def test_a_document_that_is_not_a_mapping_is_refused_at_its_first_line(text: str) -> None:
    error = syntax_error_of(text)
    assert error.where == "launchdeck.yaml:1:1"
    assert "must be a YAML mapping" in error.message
    assert error.hint == "run 'launchdeck init' to start from a commented example"


def test_every_schema_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_workspace(
            _yaml("""
                workspace:
                  nam: shop
                environments:
                  - id: Prod
                systems:
                  - id: web
                    tier: 0
                    owners: ["@ok", "not an owner!"]
                    environments:
                      prod:
                        config: {retries: [1, 2]}
                campaigns:
                  - id: sale
                    name: Sale
                    start: soon
                    end: 2026-01-01T00:00:00
                    timezone: Nowhere/Land
                    currency: usd
                """),
            source=SOURCE,
        )
    failed = caught.value
    assert failed.message == "9 problems in launchdeck.yaml"
    assert [(p.where, p.field) for p in failed.problems] == [
        ("launchdeck.yaml:2:3", "workspace.name"),
        ("launchdeck.yaml:2:3", "workspace.nam"),
        ("launchdeck.yaml:4:9", "environments[0].id"),
        ("launchdeck.yaml:7:11", "systems[0].tier"),
        ("launchdeck.yaml:8:21", "systems[0].owners[1]"),
        ("launchdeck.yaml:11:27", "systems[0].environments.prod.config.retries"),
        ("launchdeck.yaml:15:12", "campaigns[0].start"),
        ("launchdeck.yaml:17:15", "campaigns[0].timezone"),
        ("launchdeck.yaml:18:15", "campaigns[0].currency"),
    ]


def test_a_config_value_of_the_wrong_type_is_one_problem_naming_every_allowed_type() -> None:
    problem = only_problem("""
        workspace: {name: shop}
        environments: [{id: production}]
        systems:
          - id: web
            environments:
              production:
                config:
                  retries: [1, 2]
        """)
    assert problem.where == "launchdeck.yaml:8:20"
    assert problem.message == (
        "systems[0].environments.production.config.retries: Input should be a valid string"
        " or a valid integer or a valid number or a valid boolean"
    )


def test_a_bad_owner_points_at_its_own_line_in_a_block_list() -> None:
    problem = only_problem("""
        workspace: {name: shop}
        systems:
          - id: web
            owners:
              - "@web-team"
              - web team
        """)
    assert problem.where == "launchdeck.yaml:6:9"
    assert problem.field == "systems[0].owners[1]"
    assert "owner 'web team' is not an e-mail address" in problem.message


def test_cross_reference_problems_point_at_the_offending_value() -> None:
    problems = problems_of("""
        workspace: {name: shop}
        environments:
          - id: staging
        systems:
          - id: web
            depends_on: [serch]
          - id: search
            environments:
              stagin: {url: https://search.example}
        campaigns:
          - id: sale
            name: Sale
            start: 2026-11-28T00:00:00
            end: 2026-11-27T00:00:00
        """)
    assert [(p.where, p.message, p.hint) for p in problems] == [
        (
            "launchdeck.yaml:6:18",
            "systems[0].depends_on[0]: unknown system 'serch'",
            "did you mean 'search'?",
        ),
        (
            "launchdeck.yaml:9:15",
            "systems[1].environments.stagin: unknown environment 'stagin'",
            "did you mean 'staging'?",
        ),
        (
            "launchdeck.yaml:14:10",
            "campaigns[0].end: campaign 'sale' ends (2026-11-27T00:00:00) "
            "before it starts (2026-11-28T00:00:00)",
            "set end after start",
        ),
    ]


def test_a_dependency_cycle_points_at_the_depends_on_where_the_walk_entered_it() -> None:
    problem = only_problem("""
        workspace: {name: shop}
        systems:
          - id: web
            depends_on: [api]
          - id: api
            depends_on: [db]
          - id: db
            depends_on: [web]
        """)
    assert problem.where == "launchdeck.yaml:6:17"
    assert problem.message == "systems[1].depends_on: dependency cycle: api → db → web → api"


def test_referenced_files_must_exist_next_to_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "api.yaml").write_text("{}\n")
    (tmp_path / "launchdeck.yaml").write_text(
        _yaml("""
            workspace: {name: shop}
            references:
              slos: [slos/api.yaml, slos/web.yaml]
            """)
    )
    with pytest.raises(ValidationFailed) as caught:
        load_workspace(tmp_path / "launchdeck.yaml")
    [problem] = caught.value.problems
    assert problem.where is not None
    assert problem.where.endswith("launchdeck.yaml:3:25")
    assert problem.message.startswith("references.slos[1]: file 'slos/web.yaml' does not exist")


def test_a_rollout_strategy_is_checked_where_its_problem_is(tmp_path: Path) -> None:
    (tmp_path / "rollouts").mkdir()
    (tmp_path / "rollouts" / "web.yaml").write_text(
        "strategy: canary\nsteps:\n  - set_weight: 30\n  - analysis: {metrics: [errors]}\n"
    )
    (tmp_path / "launchdeck.yaml").write_text(
        _yaml("""
            workspace: {name: shop}
            references:
              rollouts: [rollouts/web.yaml]
            """)
    )
    with pytest.raises(ValidationFailed) as caught:
        load_workspace(tmp_path / "launchdeck.yaml")
    [problem] = caught.value.problems
    assert problem.where is not None
    assert problem.where.endswith("rollouts/web.yaml:4:26")
    assert problem.message == "steps[1].analysis.metrics[0]: no metric 'errors'"


def test_a_missing_workspace_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_workspace(tmp_path / "launchdeck.yaml")
    assert caught.value.message == "no workspace file here"
    assert caught.value.where == str(tmp_path / "launchdeck.yaml")
    assert caught.value.hint is not None
    assert "launchdeck init" in caught.value.hint


def test_the_black_friday_example_loads_cleanly() -> None:
    loaded = load_workspace(ROOT / "examples" / "black-friday" / "launchdeck.yaml")
    spec = loaded.spec
    assert (len(spec.environments), len(spec.systems), len(spec.campaigns)) == (2, 8, 7)
    assert spec.workspace.timezone == "America/New_York"
    feed = "calendars/retail-holidays-2026.ics"
    assert sorted(c.id for c in spec.campaigns if c.source == feed) == [
        "green-monday-20261214-a7e9d6",
        "thanksgiving-us-20261126-32309e",
    ]


@property_settings(max_examples=40)
@given(workspace_documents(max_systems=4, max_campaigns=3))
def test_any_valid_document_written_as_yaml_loads_back_to_the_same_spec(
    document: dict[str, Any],
) -> None:
    text = yaml.safe_dump(document, sort_keys=False)
    assert parse_workspace(text, source=SOURCE) == WorkspaceSpec.model_validate(document)
