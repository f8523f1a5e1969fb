"""SLO files: read the OpenSLO files a workspace references and add their SLOs to the spec.

Every SLO belongs to a system: the one whose `slos:` lists its file, else the system named by
the SLO's `spec.service`. References may cross files (an SLI or DataSource in a shared file).
"""

from __future__ import annotations

from pathlib import Path

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.workspace.spec import SloSpec, WorkspaceSpec
from launchdeck.workspace.validate import suggest

__all__ = ["import_slos"]


def import_slos(spec: WorkspaceSpec, base_dir: Path) -> tuple[WorkspaceSpec, list[ConfigError]]:
    """`spec` with the SLOs of `references.slos` (resolved, as SloSpec) in `spec.slos`, and
    the files' warnings (the OpenSLO traps).

    Every problem of every file is reported together, each with file:line:column.
    """
    from launchdeck.reliability.openslo_files import resolve, validate_openslo

    paths = {ref: base_dir / ref for ref in spec.references.slos}
    report = validate_openslo(list(paths.values()))
    if report.errors:
        raise ValidationFailed(report.errors, source="the SLO files")
    shown = {str(path): ref for ref, path in paths.items()}
    owner = {ref: s.id for s in spec.systems for ref in s.slos}
    system_ids = sorted(s.id for s in spec.systems)
    slos: list[SloSpec] = []
    problems: list[ConfigError] = []
    for resolved in resolve(report.documents):
        ref = shown.get(resolved.source, resolved.source)
        document = resolved.slo
        system = owner.get(ref) or (
            document.spec.service if document.spec.service in system_ids else None
        )
        where = f"{ref}:{resolved.line}"
        if system is None:
            guess = suggest(document.spec.service or "", system_ids)
            problems.append(
                ConfigError(
                    f"SLO {document.metadata.name!r} belongs to no system",
                    where=where,
                    hint=f"list {ref!r} under a system's slos:, or set spec.service to a "
                    f"system id{f' ({guess})' if guess else ''}",
                )
            )
            continue
        slos.append(
            SloSpec(
                id=document.metadata.name,
                system=system,
                file=ref,
                document=document.model_dump(mode="json", exclude_none=True),
                datasource=(
                    resolved.data_source.model_dump(mode="json", exclude_none=True)
                    if resolved.data_source is not None
                    else None
                ),
            )
        )
    if problems:
        raise ValidationFailed(problems, source="the SLO files")
    return spec.model_copy(update={"slos": tuple(slos)}), list(report.warnings)
