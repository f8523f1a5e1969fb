"""Workspace as code: the launchdeck.yaml schema, loading with file:line errors, plan and apply."""

from launchdeck.workspace.load import LoadedWorkspace, load_workspace, parse_workspace
from launchdeck.workspace.model import (
    Campaign,
    DesiredState,
    Environment,
    ResourceKind,
    System,
    SystemEnvironment,
    WorkspaceSettings,
    to_model,
)
from launchdeck.workspace.plan import Action, FieldChange, Plan, ResourceChange, diff
from launchdeck.workspace.spec import WorkspaceSpec

__all__ = [
    "Action",
    "Campaign",
    "DesiredState",
    "Environment",
    "FieldChange",
    "LoadedWorkspace",
    "Plan",
    "ResourceChange",
    "ResourceKind",
    "System",
    "SystemEnvironment",
    "WorkspaceSettings",
    "WorkspaceSpec",
    "diff",
    "load_workspace",
    "parse_workspace",
    "to_model",
]
