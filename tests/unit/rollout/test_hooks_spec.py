"""Release hooks: the `hooks:` of a strategy file (every mistake at its line), what a hook is
sent, and how the release reads its answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from launchdeck.errors import ValidationFailed
from launchdeck.rollout.hooks import (
    HookResult,
    HookSpec,
    HookType,
    failed_check,
    gate_results,
    hook_body,
    hook_environment,
    hook_payload,
    rollback_requested,
)
from launchdeck.rollout.release import Phase, Release
from launchdeck.rollout.strategy import StrategySpec, parse_strategy

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CANARY = "strategy: canary\nsteps:\n  - set_weight: 10\n"


def a_strategy(hooks: str) -> StrategySpec:
    return parse_strategy(CANARY + "hooks:\n" + hooks, source="s.yaml")


def problems(hooks: str) -> list[tuple[str, str, str]]:
    with pytest.raises(ValidationFailed) as failed:
        a_strategy(hooks)
    return [(p.where or "", p.message, p.hint or "") for p in failed.value.problems]


def a_hook(**fields: object) -> HookSpec:
    return HookSpec.model_validate(
        {"name": "qa", "type": "confirm-promotion", "url": "https://qa.example.com/h"} | fields
    )


def a_result(type: HookType, *, ok: bool, name: str = "qa", detail: str = "") -> HookResult:
    return HookResult(name, type, ok, detail or ("HTTP 200" if ok else "HTTP 403"), 200, 1, 0.1)


def test_hooks_parse_with_their_defaults() -> None:
    spec = a_strategy(
        "  - name: qa-sign-off\n"
        "    type: confirm-promotion\n"
        "    url: https://qa.example.com/launchdeck\n"
        "    secret: {env: QA_HOOK_KEY}\n"
        "    metadata: {team: web}\n"
        "  - {name: smoke, type: pre-rollout, command: [./smoke.sh, --retries, 3], timeout: 2m}\n"
    )

    qa, smoke = spec.hooks
    assert (qa.type, qa.url, qa.timeout, qa.attempts) == (
        HookType.CONFIRM_PROMOTION,
        "https://qa.example.com/launchdeck",
        timedelta(seconds=10),
        3,
    )
    assert qa.secret is not None and qa.secret.env == "QA_HOOK_KEY"
    assert qa.metadata == {"team": "web"}
    assert smoke.command == ("./smoke.sh", "--retries", "3")
    assert (smoke.timeout, smoke.attempts) == (timedelta(minutes=2), 1)


def test_a_strategy_without_hooks_has_none() -> None:
    assert parse_strategy(CANARY, source="s.yaml").hooks == ()


def test_retries_set_the_attempts_of_a_url_hook() -> None:
    assert a_hook(retries=0).attempts == 1
    assert a_hook(retries=5).attempts == 6


@pytest.mark.parametrize(
    ("hooks", "where", "message"),
    [
        (
            "  - name: qa\n    type: rollout\n    url: https://x.example.com/\n"
            "    command: [./check.sh]\n",
            "s.yaml:8:14",
            "give url: or command:, not both",
        ),
        ("  - name: qa\n    type: rollout\n", "s.yaml:5:5", "a hook needs url: (an HTTP endpoint)"),
        (
            "  - name: qa\n    type: rollout\n    command: ./smoke.sh --env production\n",
            "s.yaml:7:14",
            "hooks[0].command: is a list of arguments, not a shell string",
        ),
        (
            "  - name: qa\n    type: pre_rollout\n    command: [./check.sh]\n",
            "s.yaml:6:11",
            "hooks[0].type: Input should be 'confirm-rollout'",
        ),
        (
            "  - name: qa\n    type: rollout\n    url: ftp://files.example.com/\n",
            "s.yaml:7:10",
            "hooks[0].url: must be an http:// or https:// URL",
        ),
        (
            "  - name: qa\n    type: rollout\n    url: https://bob:pw@x.example.com/\n",
            "s.yaml:7:10",
            "hooks[0].url: holds credentials",
        ),
        (
            "  - name: qa\n    type: rollout\n    command: [./check.sh]\n    secret: {env: KEY}\n",
            "s.yaml:8:13",
            "a command hook is run, not sent one",
        ),
        (
            "  - name: qa\n    type: rollout\n    command: [./check.sh]\n    retries: 2\n",
            "s.yaml:8:14",
            "a command hook runs once per call",
        ),
        (
            "  - name: qa\n    type: rollout\n    command: [./check.sh]\n    timeout: 0s\n",
            "s.yaml:8:14",
            "hooks[0].timeout: must be more than 0s and at most 1h",
        ),
        (
            "  - name: qa\n    type: rollout\n    command: [./check.sh]\n    timeout: soon\n",
            "s.yaml:8:14",
            "hooks[0].timeout",
        ),
        (
            "  - {name: qa, type: rollout, command: [./a.sh]}\n"
            "  - {name: qa, type: event, command: [./b.sh]}\n",
            "s.yaml:6:12",
            "hooks[1].name: hook 'qa' twice",
        ),
        (
            "  - {name: QA Team, type: rollout, command: [./a.sh]}\n",
            "s.yaml:5:12",
            "hooks[0].name: String should match pattern",
        ),
        (
            "  - {name: qa, type: rollout, url: https://x.example.com/, headers: {}}\n",
            "s.yaml:5:60",
            "hooks[0].headers: unknown key 'headers'",
        ),
    ],
    ids=[
        "a hook with both a url and a command is refused at the command",
        "a hook with neither is refused at the hook",
        "a shell string as the command is refused: commands are argv lists",
        "an unknown type names the known ones",
        "a url that is not http or https is refused",
        "credentials inside the url are refused",
        "a secret on a command hook is refused",
        "retries on a command hook are refused",
        "a zero timeout is refused",
        "a timeout that is not a duration is refused",
        "two hooks with one name are refused at the second",
        "a name that is not lower kebab or snake case is refused",
        "an unknown key is refused with the allowed ones",
    ],
)
def test_bad_hooks_are_refused_where_they_are(hooks: str, where: str, message: str) -> None:
    found = problems(hooks)

    assert any(w == where and message in m for w, m, _ in found), found


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("whsec-0123456789abcdef", "an HMAC key is a secret: use {env: NAME} or {file: PATH}"),
        ("{env: 'whsec-0123456789abcdef'}", "takes the name of an environment variable"),
        ("{file: 'whsec-0123456789abcdef'}", "takes the absolute path of a file"),
    ],
    ids=["a key in clear", "a key in place of a variable name", "a key in place of a path"],
)
def test_a_secret_written_in_clear_is_refused_without_being_echoed(
    secret: str, message: str
) -> None:
    hooks = (
        f"  - name: qa\n    type: rollout\n    url: https://x.example.com/\n    secret: {secret}\n"
    )

    with pytest.raises(ValidationFailed) as failed:
        a_strategy(hooks)

    (problem,) = failed.value.problems
    assert problem.where is not None and problem.where.startswith("s.yaml:8:")
    assert message in problem.message
    shown = " ".join([str(problem), problem.hint or "", str(failed.value)])
    assert "0123456789" not in shown


def test_the_body_is_the_payload_with_the_hooks_identity_and_metadata() -> None:
    hook = a_hook(metadata={"team": "web"})
    payload = {"system": "landing-pages", "weight": 10.0, "name": "spoofed", "metadata": {"x": 1}}

    body = hook_body(hook, payload)

    assert json.loads(body) == {
        "system": "landing-pages",
        "weight": 10.0,
        "name": "qa",
        "type": "confirm-promotion",
        "metadata": {"team": "web"},
    }
    assert b" " not in body  # compact: the signed bytes are the sent bytes


def test_the_body_carries_instants_as_iso_8601_and_refuses_what_json_cannot_hold() -> None:
    assert json.loads(hook_body(a_hook(), {"at": T0}))["at"] == "2026-11-27T09:00:00+00:00"
    with pytest.raises(TypeError, match="a value of type object is not JSON"):
        hook_body(a_hook(), {"thing": object()})


def test_a_command_gets_every_scalar_of_the_payload_as_a_variable() -> None:
    hook = a_hook(type="rollout", url=None, command=["./check.sh"])
    payload = {
        "system": "landing-pages",
        "weight": 10.0,
        "step": 2,
        "previous": None,
        "ratio": 0.125,
        "dry_run": False,
        "metrics": ["error_rate"],
        "Odd-Key": "x",
    }

    assert hook_environment(hook, payload) == {
        "LAUNCHDECK_HOOK_NAME": "qa",
        "LAUNCHDECK_HOOK_TYPE": "rollout",
        "LAUNCHDECK_SYSTEM": "landing-pages",
        "LAUNCHDECK_WEIGHT": "10",
        "LAUNCHDECK_STEP": "2",
        "LAUNCHDECK_PREVIOUS": "",
        "LAUNCHDECK_RATIO": "0.125",
        "LAUNCHDECK_DRY_RUN": "false",
    }


def test_the_payload_describes_the_release() -> None:
    strategy = parse_strategy(CANARY, source="s.yaml")
    release = Release(
        "landing-pages",
        "production",
        "v42",
        "v41",
        strategy,
        phase=Phase.PROGRESSING,
        step=1,
        weight=10.0,
        reason="step 1: pause",
    )

    assert hook_payload(release, now=T0) == {
        "system": "landing-pages",
        "environment": "production",
        "version": "v42",
        "previous": "v41",
        "strategy": "canary",
        "phase": "progressing",
        "step": 1,
        "weight": 10.0,
        "reason": "step 1: pause",
        "at": "2026-11-27T09:00:00+00:00",
    }


def test_confirm_hooks_hold_the_release_until_every_one_says_yes() -> None:
    yes = a_result(HookType.CONFIRM_PROMOTION, ok=True)
    no = a_result(HookType.CONFIRM_PROMOTION, ok=False, name="cab", detail="HTTP 403: not yet")

    assert gate_results([]) == (True, "")
    assert gate_results([yes]) == (True, "")
    assert gate_results([yes, no]) == (False, "hook 'cab' (confirm-promotion): HTTP 403: not yet")


def test_failing_check_hooks_are_all_named() -> None:
    passed = a_result(HookType.PRE_ROLLOUT, ok=True)
    failed = [
        a_result(HookType.ROLLOUT, ok=False, name="load", detail="exit status 1: p99 3 s"),
        a_result(HookType.ROLLOUT, ok=False, name="smoke", detail="timed out after 5 s"),
    ]

    assert failed_check([passed]) is None
    assert failed_check([passed, *failed]) == (
        "hook 'load' (rollout): exit status 1: p99 3 s; hook 'smoke' (rollout): timed out after 5 s"
    )


def test_a_rollback_hook_asks_for_a_rollback_only_by_saying_yes() -> None:
    unreachable = a_result(HookType.ROLLBACK, ok=False, detail="could not connect")
    yes = a_result(HookType.ROLLBACK, ok=True, name="big-red-button")

    assert rollback_requested([unreachable]) is None
    assert rollback_requested([unreachable, yes]) == (
        "hook 'big-red-button' asked for a rollback (HTTP 200)"
    )


@pytest.mark.parametrize(
    ("helper", "wrong"),
    [
        (gate_results, HookType.PRE_ROLLOUT),
        (failed_check, HookType.CONFIRM_PROMOTION),
        (rollback_requested, HookType.EVENT),
    ],
    ids=["gate_results", "failed_check", "rollback_requested"],
)
def test_each_helper_refuses_results_of_another_type(helper: object, wrong: HookType) -> None:
    assert callable(helper)
    with pytest.raises(ValueError, match=wrong.value):
        helper([a_result(wrong, ok=True)])


def test_the_types_are_flaggers_and_each_is_in_at_most_one_group() -> None:
    from launchdeck.rollout.hooks import CHECK_TYPES, GATE_TYPES

    assert {t.value for t in HookType} == {
        "confirm-rollout",
        "pre-rollout",
        "rollout",
        "confirm-traffic-increase",
        "confirm-promotion",
        "post-rollout",
        "rollback",
        "event",
    }
    assert not GATE_TYPES & CHECK_TYPES
