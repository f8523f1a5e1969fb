"""The messages launchdeck's own events send: incidents, gate blocks, recorded deploys. Pure.

Each builder turns one capability's decision object into the one `Message` every channel
renders; the wording a campaign owner reads is plain (no SEV, no MTTR in the first line).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from launchdeck.gate.model import Verdict
from launchdeck.incidents.model import IncidentView
from launchdeck.incidents.severity import Severity, format_rates
from launchdeck.notify.model import Audience, Fact, Message, Tone
from launchdeck.timeline.model import Event
from launchdeck.workspace.model import Campaign

__all__ = ["gate_blocked", "incident_messages", "recorded_change"]

_TONE = {
    Severity.SEV1: Tone.DANGER,
    Severity.SEV2: Tone.DANGER,
    Severity.SEV3: Tone.WARNING,
    Severity.SEV4: Tone.INFO,
}
_VERB = {
    "incident.opened": "opened",
    "incident.severity_changed": "changed severity",
    "incident.mitigated": "mitigated",
    "incident.resolved": "resolved",
    "incident.status_changed": "changed status",
}


def _at_risk(item: IncidentView) -> str:
    risk = item.incident.assessment.revenue_at_risk_per_hour
    return format_rates(risk, empty="none")


def _when(kind: str, item: IncidentView) -> datetime:
    """When the news happened: the boundary that moved the severity, the mitigation …"""
    inc = item.incident
    if kind == "incident.severity_changed":
        return inc.assessment.at
    if kind == "incident.mitigated" and inc.mitigated_at is not None:
        return inc.mitigated_at
    if kind == "incident.resolved" and inc.resolved_at is not None:
        return inc.resolved_at
    if kind == "incident.opened":
        return inc.opened_at
    return max((e.at for e in item.entries), default=inc.opened_at)


def incident_messages(
    kind: str, item: IncidentView, campaigns: Sequence[Campaign]
) -> list[Message]:
    """The engineers' message, and a plain one for the owners of the campaigns it reaches."""
    inc = item.incident
    a = inc.assessment
    verb = _VERB.get(kind, "updated")
    done = kind in ("incident.mitigated", "incident.resolved")
    tone = Tone.GOOD if done else _TONE[inc.severity]
    engineers = Message(
        kind=kind,
        title=f"{inc.ref} {verb}: {inc.title}",
        summary=f"{inc.severity} because {a.rule}. " + " ".join(f"{r}." for r in a.reasons),
        tone=tone,
        occurred_at=_when(kind, item),
        systems=inc.systems,
        severity=inc.severity,
        campaigns=tuple(c.name for c in a.campaigns),
        facts=(
            Fact(label="Priority", value=str(inc.priority)),
            Fact(label="Status", value=str(inc.status)),
            Fact(label="Signal", value=f"{inc.signal} on {', '.join(inc.systems)}"),
            Fact(label="Revenue at risk", value=_at_risk(item)),
            Fact(label="Commander", value=inc.roles.commander or "unassigned"),
        ),
        dedupe_key=f"{inc.ref}:{kind}:{inc.severity}:{inc.status}",
    )
    messages = [engineers]
    owners = tuple(sorted({o for c in campaigns for o in c.owners}))
    if a.campaigns:
        names = ", ".join(c.name for c in a.campaigns)
        state = "fixed" if kind == "incident.resolved" else "under control"
        trouble = "is down" if inc.signal == "outage" else "is not working well"
        if done:
            plain = f"The problem affecting {names} is {state}."
        else:
            plain = (
                f"{names} {'is' if len(a.campaigns) == 1 else 'are'} affected: "
                f"{', '.join(inc.systems)} {trouble}. "
                f"About {_at_risk(item)} of sales are at risk while this lasts. "
                "The on-call team is working on it; the liaison will keep you posted."
            )
        messages.append(
            engineers.model_copy(
                update={
                    "audience": Audience.CAMPAIGN_OWNERS,
                    "title": inc.title,
                    "summary": plain,
                    "owners": owners,
                    "facts": (
                        Fact(label="At risk", value=_at_risk(item)),
                        Fact(label="Incident", value=f"{inc.ref} ({inc.status})"),
                    ),
                }
            )
        )
    return messages


def gate_blocked(verdict: Verdict) -> Message:
    request = verdict.request
    blocking = [c for c in verdict.checks if c.outcome == "block"]
    return Message(
        kind="gate.blocked",
        title=f"Blocked: {request.change_type} to {request.system} in {request.environment}",
        summary=" ".join(f"{c.check}: {c.summary}." for c in blocking),
        tone=Tone.WARNING,
        occurred_at=verdict.at,
        systems=(request.system,),
        environment=request.environment,
        campaigns=tuple(a.name for a in verdict.affected),
        facts=tuple(
            [Fact(label=c.check, value=c.summary) for c in blocking]
            + (
                [Fact(label="Next allowed", value=verdict.next_allowed_at.isoformat())]
                if verdict.next_allowed_at
                else []
            )
        ),
    )


def recorded_change(event: Event) -> Message:
    payload = event.payload
    version = payload.get("version")
    what = f" {version}" if isinstance(version, str) else ""
    note = payload.get("note")
    return Message(
        kind=event.kind,
        title=f"{event.kind.split('.')[0].capitalize()} of {event.system}{what}"
        + (f" to {event.environment}" if event.environment else ""),
        summary=note if isinstance(note, str) else "",
        tone=Tone.INFO,
        occurred_at=event.occurred_at,
        systems=(event.system,) if event.system else (),
        environment=event.environment,
        facts=(Fact(label="By", value=event.actor),),
    )
