"""A postmortem draft from what the incident recorded: pure, Markdown out.

Sections: summary, impact, timeline (from the audit log), root cause with its
evidence, what the bot and people did, action items. Nothing here is invented:
every line comes from the incident's stored rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.incidents.views import IncidentView


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    kind: str
    text: str


@dataclass(frozen=True)
class ActionLine:
    name: str
    target: str
    state: str
    requested_by: str | None
    autonomous: bool


def _mins(a: datetime | None, b: datetime | None) -> str:
    if a is None or b is None:
        return "n/a"
    return f"{(b - a).total_seconds() / 60:.0f} min"


def draft_postmortem(
    *, view: IncidentView, audit: Sequence[AuditLine], actions: Sequence[ActionLine],
    resolved_at: datetime | None, mitigated_at: datetime | None,
) -> str:
    top = view.hypotheses[0] if view.hypotheses else None
    ev = {e.id: e for e in view.evidence}
    out: list[str] = [f"# Postmortem draft: {view.key} {view.title}", ""]
    out += ["*Draft written by ai-sre from the incident's record. Review and edit before sharing.*", ""]
    out += ["## Summary", ""]
    if top and top.category == "false_positive":
        out.append(f"The alert on {view.service} was a false positive: the signal had recovered on its own.")
    elif top:
        out.append(f"{view.service} was affected; the leading hypothesis was **{top.category}** "
                   f"(culprit `{top.culprit}`, confidence {top.confidence:.0%}).")
    else:
        out.append(f"{view.service} was affected; the investigation found no cause with evidence.")
    out += ["", "## Impact", ""]
    out.append(f"- Severity {view.severity}: {view.severity_reason or 'no reason recorded'}")
    out.append(f"- Services: {', '.join(view.services) or view.service or 'unknown'}")
    out.append(f"- Opened {view.opened_at:%Y-%m-%d %H:%M} UTC; time to mitigate {_mins(view.opened_at, mitigated_at)}; "
               f"time to resolve {_mins(view.opened_at, resolved_at)}")
    out += ["", "## Timeline (UTC, from the audit log)", ""]
    for a in audit:
        out.append(f"- `{a.at:%H:%M:%S}` {a.text} ({a.actor})")
    if not audit:
        out.append("- (no audit entries)")
    out += ["", "## Root cause and evidence", ""]
    if top:
        out.append(f"**{top.category}**, culprit `{top.culprit}`. {top.explanation}".rstrip())
        out.append("")
        for eid in top.evidence:
            e = ev.get(eid)
            if e:
                out.append(f"- `{e.id}` {e.source} `{e.query}`: {e.summary}")
    else:
        out.append("No hypothesis had evidence; the cause is still to be found.")
    if len(view.hypotheses) > 1:
        out += ["", "Other hypotheses considered:"]
        out += [f"- {h.category} (`{h.culprit}`, {h.confidence:.0%})" for h in view.hypotheses[1:4]]
    out += ["", "## What was done", ""]
    for act in actions:
        who = "automatically" if act.autonomous else (f"requested by <@{act.requested_by}>" if act.requested_by else "proposed by ai-sre")
        out.append(f"- `{act.name}` on {act.target}: {act.state} ({who})")
    if not actions:
        out.append("- No action was taken through the bot.")
    out += ["", "## Action items", ""]
    out += _action_items(view, actions)
    return "\n".join(out) + "\n"


def _action_items(view: IncidentView, actions: Sequence[ActionLine]) -> list[str]:
    top = view.hypotheses[0] if view.hypotheses else None
    items = []
    if top is None:
        items.append("- [ ] Find the root cause; add the missing signal to a skill so the bot can see it next time.")
    elif top.category == "false_positive":
        items.append("- [ ] Tune the alert (see the proposed threshold/duration change).")
    else:
        items.append(f"- [ ] Fix the underlying {top.category.replace('_', ' ')} in {view.service} "
                     f"(culprit `{top.culprit}`) so the mitigation is not needed again.")
    if any(a.state == "reverted" for a in actions):
        items.append("- [ ] An action was reverted: review why the first step made things worse.")
    if not view.runbooks and top and top.category != "false_positive":
        items.append("- [ ] Review the proposed new runbook.")
    else:
        items.append("- [ ] Review the proposed runbook update.")
    return items
