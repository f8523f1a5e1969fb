"""`launchdeck flags …`: create, change, roll out, schedule, evaluate, history, governance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from launchdeck.cli.context import app_context

if TYPE_CHECKING:
    from launchdeck.flags.model import EnvConfig, EnvPatch
    from launchdeck.flags.records import StoredFlag
    from launchdeck.flags.requests import ChangeOutcome
    from launchdeck.flags.service import FlagApi

__all__ = ["parse_context", "register"]

flags_app = typer.Typer(
    help="Feature flags: targeting, rollouts, schedules tied to campaigns, approvals.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Key = Annotated[str, typer.Argument(help="The flag key.")]
Env = Annotated[str, typer.Option("--env", "-e", help="The environment.")]
Comment = Annotated[str | None, typer.Option("--comment", "-m", help="Why (kept in history).")]


def _api(ctx: typer.Context) -> FlagApi:
    return app_context(ctx).client.flags


def _instant(text: str | None) -> Any:
    """When a change takes effect or an evaluation looks: a duration is that long from now
    (`2h`), otherwise an ISO 8601 instant."""
    if text is None:
        return None
    from launchdeck.client import utc_now
    from launchdeck.durations import until_instant

    return until_instant(text, now=utc_now())


def parse_context(pairs: list[str]) -> dict[str, Any]:
    """`k=v` pairs; a value that reads as JSON (30, true, ["a"]) is that, else a string."""
    from launchdeck.errors import UsageError

    context: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--context {pair!r} is not k=v", hint="e.g. --context country=US")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        context[name.strip()] = value
    return context


def _load(path: Path) -> Any:
    """A YAML or JSON file, with errors naming the file."""
    import yaml

    from launchdeck.errors import UsageError

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not YAML or JSON: {exc}") from None


def _validated(cls: Any, data: Any, source: str) -> Any:
    from pydantic import ValidationError

    from launchdeck.errors import ConfigError, ValidationFailed

    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = [
            ConfigError(
                e["msg"].removeprefix("Value error, "),
                where=f"{source}: " + ".".join(str(p) for p in e["loc"]),
            )
            for e in exc.errors()
        ]
        raise ValidationFailed(problems, source=source) from None


def _print_outcome(outcome: ChangeOutcome, as_json: bool) -> None:
    from launchdeck.cli.render import console, emit_json

    if as_json:
        emit_json(outcome)
        return
    out = console()
    flag = outcome.flag
    if outcome.outcome == "approval_required":
        cr = outcome.change_request
        assert cr is not None
        out.print(
            f"[yellow]![/] {flag.key}: change request [bold]{cr.id}[/] waits for approval "
            f"in {cr.environment} ('launchdeck flags approve {cr.id}' by someone else)"
        )
    else:
        out.print(f"[green]✓[/] {flag.key} {outcome.outcome}: version {flag.version}")
    out.print(f"  gate: {outcome.gate}")
    for warning in outcome.warnings:
        out.print(f"  [yellow]warning:[/] {warning}")


def _change(
    ctx: typer.Context,
    key: str,
    env: str,
    patch: EnvPatch,
    *,
    comment: str | None,
    at: str | None = None,
    as_json: bool = False,
) -> None:
    from launchdeck.flags.requests import ChangeBody

    body = ChangeBody(environment=env, patch=patch, comment=comment, apply_at=_instant(at))
    _print_outcome(_api(ctx).change(key, body), as_json)


def _env_summary(flag: StoredFlag) -> str:
    from launchdeck.flags.render import describe_env

    return (
        "; ".join(
            f"{name}: {describe_env(flag.spec, config)}"
            for name, config in flag.spec.environments.items()
        )
        or "-"
    )


@flags_app.command("list")
def list_(
    ctx: typer.Context,
    archived: Annotated[bool, typer.Option(help="Include archived flags.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Every flag, with its state in each environment."""
    from launchdeck.cli.render import console, emit_json, table

    flags = _api(ctx).list_flags(archived=archived)
    if as_json:
        emit_json([f.model_dump(mode="json", by_alias=True) for f in flags])
        return
    rows = [
        (
            f.key + (" (archived)" if f.archived_at else ""),
            f.spec.type.value,
            f.spec.kind.value,
            f.spec.system or "-",
            str(f.version),
            f.managed_by.value,
            _env_summary(f),
        )
        for f in flags
    ]
    console().print(
        table("Flags", ["key", "type", "kind", "system", "v", "managed", "environments"], rows)
    )


@flags_app.command("show")
def show(ctx: typer.Context, key: Key, as_json: JsonOpt = False) -> None:
    """A flag: variants, prerequisites, and per environment its rules, rollout and schedule."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.flags.render import print_flag

    flag = _api(ctx).get_flag(key)
    if as_json:
        emit_json(flag.model_dump(mode="json", by_alias=True))
    else:
        print_flag(console(), flag)


@flags_app.command("create")
def create(
    ctx: typer.Context,
    key: Key,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="The whole definition (YAML or JSON).")
    ] = None,
    flag_type: Annotated[
        str, typer.Option("--type", help="boolean|string|integer|float|object")
    ] = "boolean",
    kind: Annotated[str, typer.Option(help="release|experiment|ops|permission")] = "release",
    system: Annotated[str | None, typer.Option(help="The system the flag's code runs in.")] = None,
    name: Annotated[str | None, typer.Option(help="A human name.")] = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    owner: Annotated[str | None, typer.Option(help="Who owns it (@team).")] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="name=value (value as JSON); repeat. Boolean: on/off."),
    ] = None,
    off_variant: Annotated[str | None, typer.Option(help="Served while off.")] = None,
    comment: Comment = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a flag, off in every environment until someone turns it on."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.flags.model import FlagSpec

    if file is not None:
        data = _load(file)
        if isinstance(data, dict):
            data.setdefault("key", key)
        spec = _validated(FlagSpec, data, str(file))
    else:
        fields: dict[str, Any] = {
            "key": key,
            "type": flag_type,
            "kind": kind,
            "system": system,
            "name": name,
            "description": description,
            "owner": owner,
        }
        given = {k: v for k, v in fields.items() if v is not None}
        if variant:
            given["variants"] = parse_context(variant)
            given["off_variant"] = off_variant  # none: the code's default while off
        elif off_variant is not None:
            given["off_variant"] = off_variant
        spec = _validated(FlagSpec, given, "options")
    stored = _api(ctx).create(spec, comment=comment)
    if as_json:
        emit_json(stored)
    else:
        console().print(f"[green]✓[/] created {stored.key} (version {stored.version})")


@flags_app.command("edit")
def edit(
    ctx: typer.Context,
    key: Key,
    file: Annotated[Path, typer.Option("--file", "-f", help="The whole new definition.")],
    expected_version: Annotated[
        int | None,
        typer.Option(help="Refuse unless the flag is still at this version (default: as read)."),
    ] = None,
    comment: Comment = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a flag's whole definition (variants, prerequisites, several environments)."""
    from launchdeck.flags.model import FlagSpec

    data = _load(file)
    if isinstance(data, dict):
        data.setdefault("key", key)
    spec = _validated(FlagSpec, data, str(file))
    api = _api(ctx)
    version = expected_version if expected_version is not None else api.get_flag(key).version
    _print_outcome(api.replace(spec, expected_version=version, comment=comment), as_json)


@flags_app.command("on")
def on(
    ctx: typer.Context, key: Key, env: Env, comment: Comment = None, as_json: JsonOpt = False
) -> None:
    """Turn a flag on in an environment (production asks the gate)."""
    from launchdeck.flags.model import EnvPatch

    _change(ctx, key, env, EnvPatch(enabled=True), comment=comment, as_json=as_json)


@flags_app.command("off")
def off(
    ctx: typer.Context, key: Key, env: Env, comment: Comment = None, as_json: JsonOpt = False
) -> None:
    """Kill switch: turn a flag off. Always allowed: it is remediation."""
    from launchdeck.flags.model import EnvPatch

    _change(ctx, key, env, EnvPatch(enabled=False), comment=comment, as_json=as_json)


@flags_app.command("set")
def set_(
    ctx: typer.Context,
    key: Key,
    env: Env,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="What to set: enabled / rules / fallthrough (YAML)."),
    ] = None,
    serve: Annotated[
        str | None, typer.Option(help="Serve this variant to everyone the rules miss.")
    ] = None,
    clear_rules: Annotated[bool, typer.Option(help="Remove every targeting rule.")] = False,
    at: Annotated[str | None, typer.Option(help="Take effect later: ISO 8601 or 2h.")] = None,
    comment: Comment = None,
    as_json: JsonOpt = False,
) -> None:
    """Change targeting in one environment (or at --at); approvals apply where required."""
    from launchdeck.errors import UsageError
    from launchdeck.flags.model import EnvPatch

    data: dict[str, Any] = {}
    if file is not None:
        loaded = _load(file)
        if not isinstance(loaded, dict):
            raise UsageError(f"{file}: expected a mapping with enabled / rules / fallthrough")
        data.update(loaded)
    if serve is not None:
        data["fallthrough"] = {"variant": serve}
    if clear_rules:
        data["rules"] = []
    if not data:
        raise UsageError("nothing to set", hint="give --file, --serve or --clear-rules")
    patch = _validated(EnvPatch, data, str(file) if file else "options")
    _change(ctx, key, env, patch, comment=comment, at=at, as_json=as_json)


def _rollout_config(
    config: EnvConfig,
    flag_key: str,
    variant: str | None,
    coverage: str,
    by: str | None,
    rule: int | None,
    reshuffle: bool,
) -> EnvPatch:
    from pydantic import ValidationError

    from launchdeck.errors import UsageError
    from launchdeck.flags.model import EnvPatch, Rollout, Serve

    target = config.fallthrough if rule is None else None
    if rule is not None:
        if not 0 <= rule < len(config.rules):
            raise UsageError(f"--rule {rule}: the flag has {len(config.rules)} rules here")
        target = config.rules[rule].serve
    assert target is not None
    old = target.rollout
    weights = {variant: 100.0} if variant else (dict(old.weights) if old else None)
    if weights is None:
        if target.variant is None:
            raise UsageError("name the variant to roll out", hint="e.g. --variant on")
        weights = {target.variant: 100.0}
    salt = old.salt if old else None
    if reshuffle:
        base = salt or flag_key
        name, _, number = base.rpartition("#")
        salt = f"{name}#{int(number) + 1}" if name and number.isdigit() else f"{base}#2"
    try:
        rollout = Rollout.model_validate(
            {
                "coverage": coverage,
                "weights": weights,
                "bucket_by": by or (old.bucket_by if old else "targetingKey"),
                "salt": salt,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise UsageError(f"rollout {coverage}: {problems}") from None
    serve = Serve(rollout=rollout)
    if rule is None:
        return EnvPatch(fallthrough=serve)
    rules = list(config.rules)
    rules[rule] = rules[rule].model_copy(update={"serve": serve})
    return EnvPatch(rules=tuple(rules))


@flags_app.command("rollout")
def rollout(
    ctx: typer.Context,
    key: Key,
    coverage: Annotated[
        str, typer.Argument(help="Share of users: 25% (only ever grows who is in).")
    ],
    env: Env,
    variant: Annotated[
        str | None, typer.Option(help="The variant to roll out (default: the one served now).")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Stickiness attribute (default targetingKey).")
    ] = None,
    rule: Annotated[
        int | None,
        typer.Option(help="Roll out inside rule N (0-based) instead of the fallthrough."),
    ] = None,
    reshuffle: Annotated[bool, typer.Option(help="New salt: re-randomise who is in.")] = False,
    at: Annotated[str | None, typer.Option(help="Take effect later: ISO 8601 or 2h.")] = None,
    comment: Comment = None,
    as_json: JsonOpt = False,
) -> None:
    """Roll a variant out to a percentage of users; raising it keeps everyone already in."""
    flag = _api(ctx).get_flag(key)
    patch = _rollout_config(flag.spec.environment(env), key, variant, coverage, by, rule, reshuffle)
    _change(ctx, key, env, patch, comment=comment, at=at, as_json=as_json)


@flags_app.command("schedule")
def schedule(
    ctx: typer.Context,
    key: Key,
    env: Env,
    at: Annotated[str | None, typer.Option(help="When: ISO 8601 or 2h from now.")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Tie it to a campaign (moves with it).")
    ] = None,
    edge: Annotated[str, typer.Option(help="start or end of the campaign.")] = "start",
    offset: Annotated[
        str | None, typer.Option(help="Before (-15m) or after (30m) the edge.")
    ] = None,
    turn: Annotated[str | None, typer.Option(help="on or off.")] = None,
    rollout_to: Annotated[
        str | None, typer.Option("--rollout", help="Fallthrough rollout: 25%.")
    ] = None,
    variant: Annotated[
        str | None, typer.Option(help="Variant for --rollout (or to serve).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note on the change.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Schedule a change at a time or at a campaign's start or end."""
    from datetime import timedelta

    from launchdeck.durations import parse_duration
    from launchdeck.errors import UsageError
    from launchdeck.flags.model import EnvPatch, ScheduledChange

    fields: dict[str, Any] = {}
    if turn is not None:
        if turn not in {"on", "off"}:
            raise UsageError(f"--turn {turn!r}: use on or off")
        fields["enabled"] = turn == "on"
    if rollout_to is not None:
        flag = _api(ctx).get_flag(key)
        rolled = _rollout_config(
            flag.spec.environment(env), key, variant, rollout_to, None, None, False
        )
        fields["fallthrough"] = rolled.fallthrough
    elif variant is not None:
        fields["fallthrough"] = {"variant": variant}
    if not fields:
        raise UsageError("nothing to schedule", hint="give --turn on|off, --rollout or --variant")
    shift = timedelta(0)
    if offset is not None:
        negative = offset.strip().startswith("-")
        shift = parse_duration(offset.strip().lstrip("+-"))
        shift = -shift if negative else shift
    change = _validated(
        ScheduledChange,
        {
            "at": _instant(at),
            "campaign": campaign,
            "edge": edge,
            "offset": shift,
            "set": EnvPatch.model_validate(fields).model_dump(exclude_none=True),
            "note": note,
        },
        "options",
    )
    _print_outcome(_api(ctx).schedule(key, env, change, comment=note), as_json)


@flags_app.command("unschedule")
def unschedule(
    ctx: typer.Context,
    key: Key,
    index: Annotated[int, typer.Argument(help="The scheduled change, as 'flags show' numbers it.")],
    env: Env,
    comment: Comment = None,
    as_json: JsonOpt = False,
) -> None:
    """Drop a pending scheduled change (dropping a turn-on is always allowed)."""
    _print_outcome(_api(ctx).unschedule(key, env, index, comment=comment), as_json)


@flags_app.command("eval")
def eval_(
    ctx: typer.Context,
    keys: Annotated[list[str] | None, typer.Argument(help="Flags (default: all).")] = None,
    env: Env = "production",
    context: Annotated[
        list[str] | None, typer.Option("--context", "-c", help="k=v; repeat.")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="As of: ISO 8601 or 2h (previews schedules).")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(help="Evaluate N synthetic users (targetingKey user-0 …) and show the split."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate flags for a context, now or as of --at."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.flags.render import print_evaluation, print_split
    from launchdeck.flags.requests import EvalRequest

    ctx_values = parse_context(context or [])
    when = _instant(at)
    if sample:
        from launchdeck.flags.evaluate import Evaluator

        api = _api(ctx)
        snapshot = api.snapshot(env)
        evaluator = Evaluator(snapshot, clock=(when.timestamp if when else _now_s()))
        split = _split(evaluator, keys or evaluator.keys(), ctx_values, sample)
        if as_json:
            emit_json(split)
        else:
            print_split(console(), split, sample)
        return
    result = _api(ctx).evaluate(
        EvalRequest(environment=env, context=ctx_values, flags=tuple(keys or ()), at=when)
    )
    if as_json:
        emit_json(result)
    else:
        print_evaluation(console(), result, ctx_values)


def _now_s() -> Any:
    from launchdeck.client import utc_now

    return lambda: utc_now().timestamp()


def _split(
    evaluator: Any, keys: list[str], base: dict[str, Any], n: int
) -> dict[str, dict[str, int]]:
    from collections import Counter

    from rich.progress import Progress

    from launchdeck.cli.render import err_console

    counts: dict[str, Counter[str]] = {k: Counter() for k in keys}
    with Progress(transient=True, console=err_console()) as progress:
        task = progress.add_task("evaluating", total=n)
        for i in range(n):
            ctx = {**base, "targetingKey": f"user-{i}"}
            for key in keys:
                answer = evaluator.resolve(key, ctx)
                counts[key][answer.variant or "(code default)"] += 1
            if i % 1000 == 999:
                progress.advance(task, 1000)
    return {k: dict(sorted(c.items())) for k, c in counts.items()}


@flags_app.command("history")
def history(ctx: typer.Context, key: Key, as_json: JsonOpt = False) -> None:
    """Every version: who, when, why, and what changed field by field."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.flags.render import print_history

    versions = _api(ctx).history(key)
    if as_json:
        emit_json(versions)
    else:
        print_history(console(), versions)


@flags_app.command("restore")
def restore(
    ctx: typer.Context,
    key: Key,
    version: Annotated[int, typer.Argument(help="The version to make current again.")],
    comment: Comment = None,
) -> None:
    """Make an old version of a flag current again (as a new version)."""
    from launchdeck.cli.render import console

    stored = _api(ctx).restore(key, version, comment=comment)
    console().print(f"[green]✓[/] {key}: version {version} restored as version {stored.version}")


@flags_app.command("archive")
def archive(ctx: typer.Context, key: Key, comment: Comment = None) -> None:
    """Archive a flag: SDKs stop seeing it (they serve their code default)."""
    from launchdeck.cli.render import console

    stored = _api(ctx).archive(key, comment=comment)
    console().print(f"[green]✓[/] {key} archived (version {stored.version})")


@flags_app.command("stale")
def stale(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Flags fully rolled out, or unchanged past their expected lifetime: remove them."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.flags.render import print_stale

    report = _api(ctx).stale()
    if as_json:
        emit_json(report)
    else:
        print_stale(console(), report)


@flags_app.command("requests")
def requests(
    ctx: typer.Context,
    all: Annotated[bool, typer.Option("--all")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change requests waiting for approval (--all: every one)."""
    from launchdeck.cli.render import console, emit_json, table

    items = _api(ctx).change_requests(all=all)
    if as_json:
        emit_json(items)
        return
    rows = [
        (
            r.id,
            r.flag_key,
            r.environment,
            r.status.value,
            r.author,
            ", ".join(a.actor for a in r.approvals) or "-",
            json.dumps(r.patch.model_dump(mode="json", exclude_none=True)),
        )
        for r in items
    ]
    console().print(
        table(
            "Change requests",
            ["id", "flag", "env", "status", "author", "approved by", "change"],
            rows,
        )
    )


@flags_app.command("approve")
def approve(ctx: typer.Context, request_id: str, comment: Comment = None) -> None:
    """Approve a change request (not your own)."""
    from launchdeck.cli.render import console

    cr = _api(ctx).approve(request_id, comment=comment)
    console().print(f"[green]✓[/] {cr.id} {cr.status.value} ({len(cr.approvals)} approvals)")


@flags_app.command("reject")
def reject(ctx: typer.Context, request_id: str, comment: Comment = None) -> None:
    """Reject a change request (or cancel your own)."""
    from launchdeck.cli.render import console

    cr = _api(ctx).reject(request_id, comment=comment)
    console().print(f"[green]✓[/] {cr.id} {cr.status.value}")


@flags_app.command("apply-request")
def apply_request(ctx: typer.Context, request_id: str, as_json: JsonOpt = False) -> None:
    """Apply an approved change request (asks the gate; scheduled if it has a time)."""
    _print_outcome(_api(ctx).apply_request(request_id), as_json)


@flags_app.command("sdk-key")
def sdk_key(
    ctx: typer.Context,
    action: Annotated[str, typer.Argument(help="create, list or revoke")],
    name: Annotated[str | None, typer.Argument(help="create: a name; revoke: the key id")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="create: its environment")] = None,
    as_json: JsonOpt = False,
) -> None:
    """SDK keys read one environment's flags (OFREP and the in-process provider)."""
    from launchdeck.cli.render import console, emit_json, fmt_time, table
    from launchdeck.errors import UsageError

    api = _api(ctx)
    if action == "create":
        if not name or not env:
            raise UsageError("sdk-key create NAME --env ENV")
        created = api.create_sdk_key(name, env)
        if as_json:
            emit_json(created)
        else:
            console().print(f"{created.key}\n[dim]shown once; it reads {env}'s flags only[/]")
    elif action == "list":
        keys = api.sdk_keys()
        if as_json:
            emit_json(keys)
            return
        rows = [
            (k.id, k.name, k.environment, fmt_time(k.created_at), fmt_time(k.revoked_at))
            for k in keys
        ]
        console().print(table("SDK keys", ["id", "name", "env", "created", "revoked"], rows))
    elif action == "revoke":
        if not name:
            raise UsageError("sdk-key revoke KEY_ID")
        info = api.revoke_sdk_key(name)
        console().print(f"[green]✓[/] revoked {info.id} ({info.name})")
    else:
        raise UsageError(f"unknown action {action!r}", hint="create, list or revoke")


@flags_app.command("export")
def export(
    ctx: typer.Context,
    env: Env,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout).")
    ] = None,
    snapshot: Annotated[
        bool, typer.Option(help="The provider's bootstrap snapshot instead of flagd JSON.")
    ] = False,
    lossy: Annotated[bool, typer.Option(help="flagd: skip what flagd cannot express.")] = False,
) -> None:
    """Export an environment's flags: flagd flag definitions, or a provider bootstrap file."""
    from launchdeck.cli.render import err_console

    api = _api(ctx)
    snap = api.snapshot(env)
    if snapshot:
        document: Any = snap.model_dump(mode="json", by_alias=True)
        warnings: list[str] = []
    else:
        from launchdeck.errors import UsageError
        from launchdeck.flags.flagd import FlagdError, export_flagd

        try:
            document, warnings = export_flagd(
                list(snap.flags), list(snap.segments), env, lossy=lossy
            )
        except FlagdError as exc:
            raise UsageError(str(exc), hint="--lossy skips what flagd cannot express") from None
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    for warning in warnings:
        err_console().print(f"[yellow]warning:[/] {warning}")


@flags_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A flagd flag-definition JSON file.")],
    env: Env,
    system: Annotated[str | None, typer.Option(help="The system these flags belong to.")] = None,
) -> None:
    """Import flagd flag definitions as new flags (migration from flagd)."""
    from launchdeck.cli.render import console
    from launchdeck.errors import UsageError
    from launchdeck.flags.flagd import FlagdError, import_flagd

    document = _load(file)
    if not isinstance(document, dict):
        raise UsageError(f"{file}: not a flagd flag-definition document")
    try:
        specs, warnings = import_flagd(document, environment=env, source=str(file))
    except FlagdError as exc:
        raise UsageError(str(exc)) from None
    api = _api(ctx)
    out = console()
    for imported in specs:
        spec = imported if system is None else imported.model_copy(update={"system": system})
        stored = api.create(spec, comment=f"imported from {file.name}")
        out.print(f"[green]✓[/] {stored.key}")
    for warning in warnings:
        out.print(f"[yellow]warning:[/] {warning}")


@flags_app.command("segments")
def segments(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Reusable audiences."""
    from launchdeck.cli.render import console, emit_json, table

    items = _api(ctx).list_segments()
    if as_json:
        emit_json(items)
        return
    rows = [
        (
            s.key,
            s.spec.name or "-",
            str(len(s.spec.included)),
            str(len(s.spec.rules)),
            s.managed_by.value,
        )
        for s in items
    ]
    console().print(table("Segments", ["key", "name", "keys", "rules", "managed"], rows))


@flags_app.command("segment-put")
def segment_put(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="A segment (YAML/JSON).")]
) -> None:
    """Create or replace a segment from a file."""
    from launchdeck.cli.render import console
    from launchdeck.flags.model import SegmentSpec

    spec = _validated(SegmentSpec, _load(file), str(file))
    stored = _api(ctx).put_segment(spec)
    console().print(f"[green]✓[/] segment {stored.key} (version {stored.version})")


def register(app: typer.Typer) -> None:
    app.add_typer(flags_app, name="flags")
