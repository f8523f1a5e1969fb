import pytest
from cli_driver import SQLITE_ONLY
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService
from datetime import UTC, datetime

@SQLITE_ONLY
@pytest.mark.parametrize("args", [
    ("calendar", "--system", "Bad_Sys"),
    ("freeze", "add", "--until", "2h", "--reason", "r", "--system", "Bad_Sys"),
    ("freeze", "add", "--until", "2h", "--reason", "r", "--env", "Prod"),
    ("gate", "override", "Bad_Sys", "--until", "2h", "--reason", "r"),
    ("gate", "override", "cms", "--env", "Prod", "--until", "2h", "--reason", "r"),
    ("freeze", "lift", "Bad/../x"),
])
def test_probe(mode, args):
    WorkspaceService(mode.db, actor="s", clock=lambda: datetime.now(UTC)).apply(load_workspace(mode.workspace_file).spec)
    r = mode(*args)
    print(mode.mode, args[:2], r.exit_code, r.stderr.strip().replace("\n", " | "))
