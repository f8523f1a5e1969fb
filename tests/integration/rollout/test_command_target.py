"""The command target driving real scripts: a "platform" that is a directory of release copies,
symlinks per link and a weight file, read back by a status command or recorded in a state file.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from launchdeck.errors import ConfigError, UpstreamError, UsageError, ValidationFailed
from launchdeck.rollout.reconcile import reconcile
from launchdeck.rollout.release import (
    Desired,
    GateView,
    Release,
    abort,
    advance,
    desired,
    promote,
    start,
)
from launchdeck.rollout.strategy import parse_strategy
from launchdeck.rollout.targets.base import Served
from launchdeck.rollout.targets.command import STDERR_TAIL_BYTES, CommandFailed, CommandTarget

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
GO = GateView(allows=True)
NOTHING = Served(stable=None, canary=None, preview=None, weight=0.0)
Mode = Literal["status", "state-file"]
MODES: list[Mode] = ["status", "state-file"]

# One script for every operation, as a user would write it (dispatching on LAUNCHDECK_OPERATION).
PLATFORM = textwrap.dedent("""
    import json, os, shutil, sys
    from pathlib import Path

    site = Path(sys.argv[1])
    given = json.load(sys.stdin)
    seen = {k: v for k, v in os.environ.items() if k.startswith("LAUNCHDECK_")}
    with open(site / "calls.jsonl", "a") as log:
        log.write(json.dumps({"stdin": given, "env": seen}) + "\\n")
    releases, links = site / "releases", site / "links"
    releases.mkdir(exist_ok=True)
    links.mkdir(exist_ok=True)
    operation = os.environ["LAUNCHDECK_OPERATION"]

    def replace(path, make):
        temporary = path.with_name("." + path.name + ".tmp")
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        make(temporary)
        temporary.replace(path)

    if operation == "deploy":
        release = releases / os.environ["LAUNCHDECK_VERSION"]
        if not release.exists():  # idempotent: a version is copied once
            staging = releases / ("." + release.name)
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(os.environ["LAUNCHDECK_ARTIFACT"], staging)
            staging.rename(release)
    elif operation == "promote":
        version, link = os.environ["LAUNCHDECK_VERSION"], os.environ["LAUNCHDECK_LINK"]
        if not (releases / version).is_dir():
            sys.exit(f"promote: {version} is not deployed")
        replace(links / link, lambda p: p.symlink_to(releases / version))
        if (site / "break-after-switch").exists():
            sys.exit("promote: switched, then the CDN purge failed")
    elif operation == "withdraw":
        (links / os.environ["LAUNCHDECK_LINK"]).unlink(missing_ok=True)
    elif operation == "set-weight":
        replace(site / "weight", lambda p: p.write_text(os.environ["LAUNCHDECK_WEIGHT"]))
    elif operation == "status":
        def serves(link):
            path = links / link
            return os.readlink(path).rsplit("/", 1)[-1] if path.is_symlink() else None
        weight = site / "weight"
        print(json.dumps({
            "stable": serves("stable"), "canary": serves("canary"), "preview": serves("preview"),
            "weight": float(weight.read_text()) if weight.exists() else 0,
        }))
""")


class Platform:
    """The directory the scripts manage, and what it serves, read straight from the files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "site").mkdir(parents=True)
        self.script = root / "platform.py"
        self.script.write_text(PLATFORM)
        for version in ("v1", "v2", "v3"):
            build = root / "builds" / version
            build.mkdir(parents=True)
            (build / "index.html").write_text(f"<h1>{version}</h1>")

    @property
    def site(self) -> Path:
        return self.root / "site"

    def command(self) -> list[str]:
        return [sys.executable, str(self.script), str(self.site)]

    def commands(self, *, status: bool, weights: bool = True) -> dict[str, list[str]]:
        names = ["deploy", "promote", "withdraw"]
        names += ["set-weight"] if weights else []
        names += ["status"] if status else []
        return {name: self.command() for name in names}

    def page(self, link: str) -> str | None:
        path = self.site / "links" / link
        return (path / "index.html").read_text() if path.exists() else None

    def weight(self) -> float:
        path = self.site / "weight"
        return float(path.read_text()) if path.exists() else 0.0

    def calls(self) -> list[dict[str, Any]]:
        lines = (self.site / "calls.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    return Platform(tmp_path / "platform")


def a_target(
    platform: Platform,
    tmp_path: Path,
    mode: Mode = "state-file",
    *,
    commands: Mapping[str, Sequence[str]] | None = None,
    timeout_s: float = 30,
) -> CommandTarget:
    target = CommandTarget(
        commands if commands is not None else platform.commands(status=mode == "status"),
        system="landing-pages",
        environment="production",
        state_dir=tmp_path / "state",
        timeout_s=timeout_s,
    )
    for version in ("v1", "v2", "v3"):
        target.install(version, platform.root / "builds" / version)
    return target


def a_script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/bash\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie left for a non-reaping init counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# ------------------------------------------------------------------------------- operations


def test_each_operation_is_what_the_platform_serves_and_the_state_file_records(
    platform: Platform, tmp_path: Path
) -> None:
    target = a_target(platform, tmp_path)
    before = target.served()

    target.point("stable", "v1")
    after_stable = target.served()
    target.point("canary", "v2")
    target.set_weight(20)
    during_canary = target.served()
    weight_on_disk = platform.weight()
    target.set_weight(0, canary=False)
    target.point("canary", None)
    target.point("preview", "v3")

    assert before == NOTHING
    assert after_stable == Served(stable="v1", canary=None, preview=None, weight=0.0)
    assert during_canary == Served(stable="v1", canary="v2", preview=None, weight=20.0)
    assert weight_on_disk == 20.0
    assert target.served() == Served(stable="v1", canary=None, preview="v3", weight=0.0)
    assert (platform.page("stable"), platform.page("canary"), platform.page("preview")) == (
        "<h1>v1</h1>",
        None,
        "<h1>v3</h1>",
    )
    assert json.loads(target.state_file.read_text()) == {
        "stable": "v1",
        "canary": None,
        "preview": "v3",
        "weight": 0.0,
    }
    assert [p.name for p in target.state_file.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_command_gets_its_inputs_as_environment_and_as_json_on_stdin(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCHDECK_DATABASE_URL", "postgresql://launchdeck:pw@db/launchdeck")
    target = a_target(platform, tmp_path)
    target.point("canary", "v2")
    target.set_weight(12.5)
    target.point("canary", None)

    deploy, promoted, weighted, withdrawn = [platform.calls()[i] for i in (0, 3, 4, 5)]

    artifact = str((platform.root / "builds" / "v1").resolve())
    common = {"system": "landing-pages", "environment": "production"}
    assert deploy["stdin"] == {
        "operation": "deploy",
        **common,
        "version": "v1",
        "artifact": artifact,
    }
    assert deploy["env"] == {
        "LAUNCHDECK_OPERATION": "deploy",
        "LAUNCHDECK_SYSTEM": "landing-pages",
        "LAUNCHDECK_ENVIRONMENT": "production",
        "LAUNCHDECK_VERSION": "v1",
        "LAUNCHDECK_ARTIFACT": artifact,
    }  # and not the controller's own LAUNCHDECK_DATABASE_URL
    assert promoted["stdin"] == {
        "operation": "promote",
        **common,
        "link": "canary",
        "version": "v2",
    }
    assert promoted["env"]["LAUNCHDECK_LINK"] == "canary"
    assert weighted["stdin"] == {"operation": "set-weight", **common, "weight": 12.5}
    assert weighted["env"]["LAUNCHDECK_WEIGHT"] == "12.5"
    assert withdrawn["stdin"] == {"operation": "withdraw", **common, "link": "canary"}


def test_a_deploy_run_again_changes_nothing(platform: Platform, tmp_path: Path) -> None:
    target = a_target(platform, tmp_path)
    (platform.root / "builds" / "v1" / "index.html").write_text("rebuilt")

    target.install("v1", platform.root / "builds" / "v1")

    assert sorted(p.name for p in (platform.site / "releases").iterdir()) == ["v1", "v2", "v3"]
    assert (platform.site / "releases" / "v1" / "index.html").read_text() == "<h1>v1</h1>"


# ---------------------------------------------------------------------- driven by reconcile


@pytest.mark.parametrize("mode", MODES)
def test_reconcile_walks_a_canary_to_promotion_then_rolls_the_next_one_back(
    platform: Platform, tmp_path: Path, mode: Mode
) -> None:
    target = a_target(platform, tmp_path, mode)
    strategy = parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 20}, {pause: {duration: 10m}}, {set_weight: 50}, {pause: {}}]\n",
        source="canary.yaml",
    )
    initial = reconcile(target, Desired(stable="v1"))
    release = start(Release("landing-pages", "production", "v2", "v1", strategy), T0, gate=GO)
    at_20 = reconcile(target, desired(release))
    again = reconcile(target, desired(release))
    served_at_20 = target.served()
    release = advance(release, T0 + timedelta(minutes=11), gate=GO)
    at_50 = reconcile(target, desired(release))
    weight_at_50 = platform.weight()
    promoted = reconcile(target, desired(promote(release, T0 + timedelta(minutes=12), gate=GO)))
    served_promoted = target.served()
    bad = start(Release("landing-pages", "production", "v3", "v2", strategy), T0, gate=GO)
    bad_at_20 = reconcile(target, desired(bad))
    rolled_back = reconcile(target, desired(abort(bad, T0 + timedelta(minutes=2), "5xx up")))

    assert initial == ["stable → v1"]
    assert at_20 == ["canary → v2", "weight 20"]
    assert again == []
    assert served_at_20 == Served(stable="v1", canary="v2", preview=None, weight=20.0)
    assert at_50 == ["weight 50"]
    assert weight_at_50 == 50.0
    assert promoted == ["stable → v2", "weight 0", "canary removed"]
    assert served_promoted == Served(stable="v2", canary=None, preview=None, weight=0.0)
    assert bad_at_20 == ["canary → v3", "weight 20"]
    assert rolled_back == ["weight 0", "canary removed"]
    assert target.served() == Served(stable="v2", canary=None, preview=None, weight=0.0)
    assert (platform.page("stable"), platform.page("canary"), platform.weight()) == (
        "<h1>v2</h1>",
        None,
        0.0,
    )


@pytest.mark.parametrize("mode", MODES)
def test_reconcile_runs_a_blue_green_preview_switch_and_switch_back(
    platform: Platform, tmp_path: Path, mode: Mode
) -> None:
    target = a_target(platform, tmp_path, mode)
    reconcile(target, Desired(stable="v1"))
    strategy = parse_strategy("strategy: blue-green\n", source="blue-green.yaml")
    release = start(Release("landing-pages", "production", "v2", "v1", strategy), T0, gate=GO)

    preview = reconcile(target, desired(release))
    pages_on_preview = (platform.page("stable"), platform.page("preview"))
    switched_release = promote(release, T0 + timedelta(minutes=5), gate=GO)
    switched = reconcile(target, desired(switched_release))
    pages_switched = (platform.page("stable"), platform.page("preview"))
    back = reconcile(target, desired(abort(switched_release, T0 + timedelta(minutes=6), "5xx")))

    assert preview == ["preview → v2"]
    assert pages_on_preview == ("<h1>v1</h1>", "<h1>v2</h1>")
    assert switched == ["stable → v2", "preview → v1"]
    assert pages_switched == ("<h1>v2</h1>", "<h1>v1</h1>")
    assert back == ["stable → v1", "preview → None"]
    assert target.served() == Served(stable="v1", canary=None, preview=None, weight=0.0)


def test_without_set_weight_a_target_runs_blue_green_but_refuses_a_canary_weight(
    platform: Platform, tmp_path: Path
) -> None:
    target = a_target(platform, tmp_path, commands=platform.commands(status=False, weights=False))
    target.set_weight(0)

    with pytest.raises(ConfigError) as refused:
        reconcile(target, Desired(stable="v1", canary="v2", weight=10))

    assert refused.value.where == "commands.set-weight"
    assert "has no set-weight command" in refused.value.message
    assert target.served() == Served(stable="v1", canary="v2", preview=None, weight=0.0)


# ------------------------------------------------------------------------- read-back paths


def test_a_half_applied_change_is_seen_through_status_and_finished_by_the_next_reconcile(
    platform: Platform, tmp_path: Path
) -> None:
    target = a_target(platform, tmp_path, "status")
    reconcile(target, Desired(stable="v1"))
    (platform.site / "break-after-switch").touch()

    with pytest.raises(CommandFailed):
        reconcile(target, Desired(stable="v2"))
    seen = target.served()
    (platform.site / "break-after-switch").unlink()

    assert seen == Served(stable="v2", canary=None, preview=None, weight=0.0)
    assert reconcile(target, Desired(stable="v2")) == []
    assert not target.state_file.exists()  # the platform is the record


def test_a_half_applied_change_is_invisible_to_the_state_file(
    platform: Platform, tmp_path: Path
) -> None:
    target = a_target(platform, tmp_path, "state-file")
    reconcile(target, Desired(stable="v1"))
    (platform.site / "break-after-switch").touch()

    with pytest.raises(CommandFailed):
        reconcile(target, Desired(stable="v2"))

    # The documented limit: the platform serves v2, the record still says v1.
    assert platform.page("stable") == "<h1>v2</h1>"
    assert target.served() == Served(stable="v1", canary=None, preview=None, weight=0.0)


@pytest.mark.parametrize(
    ("printed", "problem"),
    [
        ("not json", "Expecting value"),
        ('["v1"]', "expected a JSON object, got list"),
        ('{"stable": "v1", "canary": null, "preview": null}', "missing weight"),
        ('{"stable": "v1", "canary": null, "preview": null, "weight": 140}', "0 to 100"),
        ('{"stable": 1, "canary": null, "preview": null, "weight": 0}', "stable must be"),
    ],
    ids=["not json", "not an object", "no weight", "weight over 100", "a number as version"],
)
def test_a_status_that_prints_no_valid_status_is_an_upstream_error(
    platform: Platform, tmp_path: Path, printed: str, problem: str
) -> None:
    status = a_script(tmp_path, "status.sh", f"echo '{printed}'\n")
    commands = {**platform.commands(status=False), "status": [str(status)]}
    target = a_target(platform, tmp_path, commands=commands)

    with pytest.raises(UpstreamError) as raised:
        target.served()

    assert "printed no valid status" in raised.value.message
    assert problem in raised.value.message
    assert raised.value.retryable is False


def test_an_unreadable_state_file_is_a_config_error_that_says_how_to_recover(
    platform: Platform, tmp_path: Path
) -> None:
    target = a_target(platform, tmp_path)
    target.state_file.write_text("{truncated")

    with pytest.raises(ConfigError) as raised:
        target.served()

    assert raised.value.where == str(target.state_file)
    assert raised.value.hint is not None and "delete it" in raised.value.hint


# -------------------------------------------------------------------------------- failures


def test_a_failing_command_raises_with_its_stderr_tail_and_leaves_the_state_file(
    platform: Platform, tmp_path: Path
) -> None:
    target = a_target(platform, tmp_path)
    target.point("stable", "v1")
    recorded = target.state_file.read_bytes()
    failing = a_script(
        tmp_path,
        "promote.sh",
        """
        echo "first line of a long log" >&2
        for i in $(seq 1 400); do echo "uploading chunk $i of 400" >&2; done
        echo "error: 401 Unauthorized from api.example.net" >&2
        exit 3
        """,
    )
    target = a_target(
        platform, tmp_path, commands={**platform.commands(status=False), "promote": [str(failing)]}
    )

    with pytest.raises(UpstreamError) as raised:
        target.point("stable", "v2")

    error = raised.value
    assert isinstance(error, CommandFailed)
    assert (error.operation, error.program, error.exit_code) == ("promote", str(failing), 3)
    assert f"promote ({failing}) exited with 3" in error.message
    assert error.message.endswith("error: 401 Unauthorized from api.example.net")
    assert "uploading chunk 400 of 400" in error.stderr_tail
    assert "first line of a long log" not in error.message
    assert len(error.stderr_tail.encode()) <= STDERR_TAIL_BYTES
    assert error.stderr_tail.startswith("uploading chunk")  # cut at a line boundary
    assert target.state_file.read_bytes() == recorded
    assert target.served() == Served(stable="v1", canary=None, preview=None, weight=0.0)


def test_a_hanging_command_is_killed_with_its_children_at_the_timeout(
    platform: Platform, tmp_path: Path
) -> None:
    children = tmp_path / "child.pid"
    hanging = a_script(
        tmp_path,
        "deploy.sh",
        f"""
        sleep 300 &
        echo $! > {children}
        echo "waiting for the upload slot" >&2
        wait
        """,
    )
    commands = {**platform.commands(status=False), "deploy": [str(hanging)]}
    target = CommandTarget(
        commands,
        system="landing-pages",
        environment="production",
        state_dir=tmp_path / "state",
        timeout_s=1,
    )
    began = time.monotonic()

    with pytest.raises(CommandFailed) as raised:
        target.install("v1", platform.root / "builds" / "v1")
    took = time.monotonic() - began

    assert 1 <= took < 8
    assert raised.value.exit_code is None
    assert "ran past its timeout of 1 s and was killed" in raised.value.message
    assert raised.value.stderr_tail == "waiting for the upload slot"
    assert not _running(int(children.read_text()))


def test_a_secret_in_the_environment_never_reaches_the_error(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "nfp_0123456789abcdefSECRET"
    monkeypatch.setenv("NETLIFY_AUTH_TOKEN", secret)
    leaky = a_script(
        tmp_path,
        "deploy.sh",
        """
        echo "debug: token=$NETLIFY_AUTH_TOKEN" >&2
        env >&2
        echo "error: site not found" >&2
        exit 1
        """,
    )
    commands = {
        **platform.commands(status=False),
        "deploy": [str(leaky), "--auth", "argument-secret-999"],
    }
    target = CommandTarget(
        commands, system="landing-pages", environment="production", state_dir=tmp_path / "s"
    )

    with pytest.raises(CommandFailed) as raised:
        target.install("v1", platform.root / "builds" / "v1")

    rendered = " ".join(
        str(part)
        for part in (raised.value, raised.value.hint, raised.value.stderr_tail, raised.value.args)
    )
    assert secret not in rendered
    assert "argument-secret-999" not in rendered
    assert "debug: token=***" in raised.value.stderr_tail
    assert raised.value.message.endswith("error: site not found")


def test_a_missing_program_is_a_config_error(platform: Platform, tmp_path: Path) -> None:
    commands = {**platform.commands(status=False), "deploy": [str(tmp_path / "no-such.sh")]}
    target = CommandTarget(
        commands, system="landing-pages", environment="production", state_dir=tmp_path / "s"
    )

    with pytest.raises(ConfigError) as raised:
        target.install("v1", platform.root / "builds" / "v1")

    assert raised.value.where == "commands.deploy"
    assert "No such file or directory" in raised.value.message


@pytest.mark.parametrize(
    ("version", "artifact"),
    [("../v1", "v1"), ("@stable", "v1"), ("v1", "v9")],
    ids=["a path as version", "a link as version", "an artifact that does not exist"],
)
def test_a_bad_version_or_artifact_is_refused_before_any_command_runs(
    platform: Platform, tmp_path: Path, version: str, artifact: str
) -> None:
    target = CommandTarget(
        platform.commands(status=False),
        system="landing-pages",
        environment="production",
        state_dir=tmp_path / "s",
    )

    with pytest.raises(UsageError):
        target.install(version, platform.root / "builds" / artifact)

    assert not (platform.site / "calls.jsonl").exists()


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        ({"rollback": ["./rollback.sh"]}, "commands.rollback", "a rollback is a desired state"),
        ({"promot": ["./x"]}, "commands.promot", "did you mean 'promote'?"),
        ({"deploy": "./deploy.sh --prod"}, "commands.deploy", "non-empty list of arguments"),
        ({"deploy": []}, "commands.deploy", "non-empty list of arguments"),
        ({"withdraw": None}, "commands.withdraw", "the withdraw command is missing"),
    ],
    ids=[
        "rollback is explained, not accepted",
        "a misspelt operation gets a suggestion",
        "a shell string is refused",
        "an empty argv is refused",
        "a required operation is missing",
    ],
)
def test_a_bad_command_mapping_is_a_config_error_with_a_hint(
    tmp_path: Path, change: dict[str, Any], where: str, words: str
) -> None:
    commands: dict[str, Any] = {"deploy": ["d"], "promote": ["p"], "withdraw": ["w"]} | change
    commands = {name: argv for name, argv in commands.items() if argv is not None}

    with pytest.raises(ConfigError) as raised:
        CommandTarget(commands, system="web", environment="prod", state_dir=tmp_path)

    assert raised.value.where == where
    assert words in f"{raised.value.message} {raised.value.hint}"


def test_every_problem_of_a_mapping_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as raised:
        CommandTarget(
            {"deploy": "deploy.sh", "rollback": ["r"]},
            system="web",
            environment="prod",
            state_dir=tmp_path,
        )

    assert sorted(p.where or "" for p in raised.value.problems) == [
        "commands.deploy",
        "commands.promote",
        "commands.rollback",
        "commands.withdraw",
    ]


def test_set_weight_may_be_spelt_with_an_underscore(tmp_path: Path) -> None:
    target = CommandTarget(
        {"deploy": ["d"], "promote": ["p"], "withdraw": ["w"], "set_weight": ["s"]},
        system="web",
        environment="prod",
        state_dir=tmp_path,
    )

    assert target.commands["set-weight"] == ("s",)
    assert target.reads_back is False


def test_the_state_directory_is_not_needed_until_an_operation_runs(tmp_path: Path) -> None:
    target = CommandTarget(
        {"deploy": ["d"], "promote": ["p"], "withdraw": ["w"]},
        system="web",
        environment="prod",
        state_dir=tmp_path / "state",
    )

    assert target.served() == NOTHING
    assert target.state_file == tmp_path / "state" / "web" / "prod.json"
    assert not (tmp_path / "state").exists()
    assert os.listdir(tmp_path) == []
