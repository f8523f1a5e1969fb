"""`launchdeck events import|stats` in local mode (the DuckDB store) and remote mode (the API)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_driver import SQLITE_ONLY, Cli, hero_workspace, table_rows

from launchdeck.client import utc_now
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

pytestmark = SQLITE_ONLY

WORKSPACE = hero_workspace("events")


@pytest.fixture(autouse=True)
def events_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Both the local CLI and the live server (remote mode) keep events here."""
    path = tmp_path / "events" / "events.duckdb"
    monkeypatch.setenv("LAUNCHDECK_EVENTS_PATH", str(path))
    return path


@pytest.fixture
def cli(mode: Cli, events_path: Path) -> Cli:
    """The CLI on a database where experiment hero-test (on flag hero) is applied, keeping
    events at `events_path` (the CLI's environment is cleared of the test process's)."""
    assert mode.db is not None
    WorkspaceService(mode.db, actor="setup", clock=utc_now).apply(
        WorkspaceSpec.model_validate(WORKSPACE)
    )
    return replace(mode, env={**mode.env, "LAUNCHDECK_EVENTS_PATH": str(events_path)})


def _jsonl(path: Path) -> Path:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    lines = [
        {"id": "e1", "type": "exposure", "flag": "hero", "variant": "urgency", "unit": "u1"},
        {"id": "m1", "type": "metric", "event": "purchase", "value": 30, "unit": "u1"},
        {"id": "e2", "type": "exposure", "experiment": "hero-test", "variant": "b", "unit": "u2"},
        {"id": "e3", "type": "exposure", "experiment": "nope", "variant": "control", "unit": "u"},
    ]
    text = [json.dumps({**line, "timestamp": at}) for line in lines]
    text.insert(2, "{broken")
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_import_stores_the_valid_rows_and_names_the_lines_of_the_others(
    cli: Cli, tmp_path: Path, events_path: Path
) -> None:
    path = _jsonl(tmp_path / "events.jsonl")

    first = cli.json("events", "import", str(path))
    again = cli.json("events", "import", str(path))

    assert (first["rows"], first["accepted"], first["duplicates"], first["rejected"]) == (
        5,
        2,
        0,
        3,
    )
    assert [(r["line"], r["reason"], r["field"]) for r in first["rejects"]] == [
        (3, "not_an_object", None),
        (4, "unknown_variant", "variant"),
        (5, "unknown_experiment", "experiment"),
    ]
    assert first["by_reason"] == {
        "not_an_object": 1,
        "unknown_variant": 1,
        "unknown_experiment": 1,
    }
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 3)
    assert events_path.exists()  # local mode wrote it; in remote mode the server did


def test_import_prints_a_summary_and_the_first_rejected_rows(cli: Cli, tmp_path: Path) -> None:
    result = cli("events", "import", str(_jsonl(tmp_path / "events.jsonl")))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "! events.jsonl: 5 rows, 2 stored, 0 duplicates, 3 rejected"
    )
    rows = table_rows(result.stdout)
    assert ["unknown_variant", "1"] in rows
    assert rows[-3:] == [
        [
            "3",
            "not_an_object",
            "-",
            "line 3 is not JSON: Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1)",
        ],
        [
            "4",
            "unknown_variant",
            "variant",
            "'b' is not a variant of 'hero-test' (control, urgency)",
        ],
        ["5", "unknown_experiment", "experiment", "no experiment 'nope'"],
    ]


def test_stats_count_what_was_stored_and_refused(cli: Cli, tmp_path: Path) -> None:
    cli("events", "import", str(_jsonl(tmp_path / "events.jsonl")))

    stats = cli.json("events", "stats")
    table = cli("events", "stats")

    assert (stats["exposures"], stats["metric_events"]) == (1, 1)
    assert {(o["experiment"], o["kind"], o["outcome"]): o["count"] for o in stats["outcomes"]} == {
        ("", "", "rejected:not_an_object"): 1,
        ("", "metric", "accepted"): 1,
        ("", "exposure", "rejected:unknown_experiment"): 1,
        ("hero-test", "exposure", "accepted"): 1,
        ("hero-test", "exposure", "rejected:unknown_variant"): 1,
    }
    assert ["hero-test", "exposure", "1", "0", "1", "unknown_variant 1"] in table_rows(table.stdout)


def test_stats_before_any_event_are_zero_and_create_no_store(cli: Cli, events_path: Path) -> None:
    stats = cli.json("events", "stats", "--days", "7")

    assert (stats["exposures"], stats["metric_events"], stats["outcomes"]) == (0, 0, [])
    assert not events_path.exists()


def test_an_unknown_format_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "events.txt")

    guessed = cli("events", "import", str(path))
    named = cli("events", "import", str(path), "--format", "xml")

    assert guessed.exit_code == 2
    assert "cannot tell the format of events.txt" in guessed.stderr
    assert named.exit_code == 2
    assert "unknown format 'xml'" in named.stderr


def test_a_csv_file_imports_the_same_way(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    at = int(datetime.now(UTC).timestamp()) - 60
    path.write_text(
        "type,id,flag,variant,unit,event,value,timestamp,country\n"
        f"exposure,c1,hero,control,u1,,,{at},FR\n"
        f"metric,c2,,,u1,purchase,12.5,{at},FR\n"
        f"metric,c3,,,u2,purchase,lots,{at},FR\n",
        encoding="utf-8",
    )

    result = cli.json("events", "import", str(path))

    assert (result["accepted"], result["rejected"]) == (2, 1)
    assert [(r["line"], r["reason"], r["field"]) for r in result["rejects"]] == [
        (4, "wrong_type", "value")
    ]
