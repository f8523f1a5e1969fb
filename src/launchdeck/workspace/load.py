"""Load launchdeck.yaml: YAML with positions -> WorkspaceSpec, every error with file:line:column.

Two steps, as Sloth loads specs: parse and validate the YAML against the schema (`load_spec`),
then check cross-references (`validate.check`). Both report all problems at once, each naming
the file, line and column, the field, what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path as FsPath

import yaml
from pydantic import ValidationError

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.workspace.spec import CalendarFeedSpec, WorkspaceSpec
from launchdeck.workspace.validate import Problem, check
from launchdeck.yamlpos import (
    Positions,
    open_loader,
    problem_error,
    read_source,
    schema_problems,
    syntax_error,
    walk,
)

__all__ = ["LoadedWorkspace", "load_workspace", "parse_workspace"]


@dataclass(frozen=True, slots=True)
class LoadedWorkspace:
    path: FsPath
    spec: WorkspaceSpec
    warnings: tuple[ConfigError, ...] = ()
    """What is valid but probably not meant (the OpenSLO traps: a `1m` window …)."""


def parse_workspace(text: str, *, source: str, base_dir: FsPath | None = None) -> WorkspaceSpec:
    """Parse and fully validate a workspace; ValidationFailed lists every problem found."""
    return _parse(text, source=source, base_dir=base_dir)[0]


def _parse(text: str, *, source: str, base_dir: FsPath | None) -> tuple[WorkspaceSpec, Positions]:
    loader = open_loader(text, source=source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise syntax_error(exc, source=source) from exc
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        raise ConfigError(
            "the workspace must be a YAML mapping with at least a 'workspace:' section",
            where=f"{source}:1:1",
            hint="run 'launchdeck init' to start from a commented example",
        )
    positions = Positions()
    walk(node, (), positions)
    errors = [
        problem_error(
            source,
            positions,
            Problem(path, f"duplicate key {path[-1]!r}", "a key may appear once per mapping"),
            key=True,
        )
        for path in positions.duplicate_keys
    ]
    if "slos" in data:  # the loader fills `slos` from the OpenSLO files
        errors.append(
            problem_error(
                source,
                positions,
                Problem(
                    ("slos",),
                    "SLO documents are not written in launchdeck.yaml",
                    "put them in OpenSLO files and list those under references.slos",
                ),
                key=True,
            )
        )
        data = {k: v for k, v in data.items() if k != "slos"}
    try:
        spec = WorkspaceSpec.model_validate(data)
    except ValidationError as exc:
        errors += [
            problem_error(source, positions, problem, key=key)
            for problem, key in schema_problems(exc, data, WorkspaceSpec)
        ]
        raise ValidationFailed(errors, source=source) from None
    problems = check(spec)
    if base_dir is not None:
        problems += _missing_references(spec, base_dir)
    errors += [problem_error(source, positions, p) for p in problems]
    if errors:
        raise ValidationFailed(errors, source=source)
    return spec, positions


def _missing_references(spec: WorkspaceSpec, base_dir: FsPath) -> list[Problem]:
    problems = []
    for section in ("calendars", "slos", "rollouts", "runbooks"):
        for index, entry in enumerate(getattr(spec.references, section)):
            ref = entry.path if isinstance(entry, CalendarFeedSpec) else entry
            found = (base_dir / ref).is_file() or (
                section == "runbooks" and (base_dir / ref).is_dir()
            )
            if not found:
                problems.append(
                    Problem(
                        ("references", section, index),
                        f"file {ref!r} does not exist (looked in {base_dir.resolve()})",
                        "paths are relative to the directory of launchdeck.yaml",
                    )
                )
    return problems


def load_workspace(path: FsPath, *, now: datetime | None = None) -> LoadedWorkspace:
    """Read and validate the launchdeck.yaml at `path`, with its calendar feeds' campaigns.

    Recurring feed events are expanded from 30 days before `now` (the wall clock) to each
    feed's horizon.
    """
    text = read_source(
        path,
        what="workspace file",
        missing="no workspace file here",
        hint="run 'launchdeck init' here, or set LAUNCHDECK_WORKSPACE / --workspace",
    )
    source = _display_path(path)
    spec, positions = _parse(text, source=source, base_dir=path.parent)
    if spec.references.runbooks:
        _check_runbooks(spec, path.parent)
    if spec.references.rollouts:
        _check_rollouts(spec, path.parent)
    if spec.references.calendars:
        from launchdeck.workspace.feeds import import_feeds

        spec = import_feeds(spec, path.parent, now=now or datetime.now(UTC))
    if spec.references.slos:
        from launchdeck.workspace.slos import import_slos

        spec, warnings = import_slos(spec, path.parent)
        _recheck(spec, source, positions)
        return LoadedWorkspace(path, spec, tuple(warnings))
    return LoadedWorkspace(path, spec)


def _check_runbooks(spec: WorkspaceSpec, base_dir: FsPath) -> None:
    """Every runbook parses, and the systems it attaches to exist."""
    from launchdeck.incidents.runbook import load_runbooks

    books = load_runbooks(base_dir / ref for ref in spec.references.runbooks)
    known = {s.id for s in spec.systems}
    problems = [
        ConfigError(
            f"runbook {book.name!r} is for system {system!r}, which the workspace does not have",
            where=book.where,
            field="systems",
            hint=f"use one of: {', '.join(sorted(known))}",
        )
        for book in books
        for system in book.systems
        if system not in known
    ]
    if problems:
        raise ValidationFailed(problems, source="references.runbooks")


def _check_rollouts(spec: WorkspaceSpec, base_dir: FsPath) -> None:
    """Every rollout strategy file parses (its problems at their file:line:column)."""
    from launchdeck.rollout.strategy import parse_strategy

    problems: list[ConfigError] = []
    for ref in spec.references.rollouts:
        path = base_dir / ref
        text = read_source(path, what="rollout strategy")
        try:
            parse_strategy(text, source=_display_path(path))
        except ValidationFailed as failed:
            problems += failed.problems
        except ConfigError as error:
            problems.append(error)
    if problems:
        raise ValidationFailed(problems, source="references.rollouts")


def _recheck(spec: WorkspaceSpec, source: str, positions: Positions) -> None:
    """Cross-references that need the SLOs (protected campaign windows), once they are loaded.

    Campaigns from feeds come after those of launchdeck.yaml, so `positions` still hold for
    every campaign written in the file.
    """
    problems = [p for p in check(spec) if p.path and p.path[0] in ("slos", "campaigns")]
    if problems:
        raise ValidationFailed(
            [problem_error(source, positions, p) for p in problems], source=source
        )


def _display_path(path: FsPath) -> str:
    try:
        return str(path.resolve().relative_to(FsPath.cwd()))
    except ValueError:
        return str(path)
