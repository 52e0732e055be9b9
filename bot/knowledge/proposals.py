"""What a resolved incident proposes: a runbook update (as a diff) or a new runbook,
and for a false positive an alert-tuning change with the numbers behind it.

Pure functions; applying a proposal is a separate, approved step
(:func:`apply_runbook_proposal`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.incidents.views import IncidentView


@dataclass(frozen=True)
class RunbookProposal:
    path: str
    new_text: str
    diff: str
    is_new: bool


@dataclass(frozen=True)
class TuningProposal:
    metric: str
    service: str
    current_threshold: float | None
    proposed_threshold: float
    proposed_for_minutes: int
    rationale: str


def _slug(text: str) -> str:
    s = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    while "--" in s:
        s = s.replace("--", "-")
    return s.strip("-")[:60] or "incident"


def _learned_section(view: IncidentView, mitigation: str | None, minutes: float | None) -> str:
    top = view.hypotheses[0] if view.hypotheses else None
    ev = {e.id: e for e in view.evidence}
    lines = [f"## Seen in {view.key} ({view.opened_at:%Y-%m-%d})", ""]
    if top:
        lines.append(f"Cause: **{top.category}**, culprit `{top.culprit}` on {view.service}.")
        clues = [ev[i].summary for i in top.evidence if i in ev][:4]
        if clues:
            lines += ["", "What showed it:"] + [f"- {c}" for c in clues]
    if mitigation:
        took = f" (mitigated in {minutes:.0f} min)" if minutes is not None else ""
        lines += ["", f"What worked: `{mitigation}`{took}."]
    return "\n".join(lines) + "\n"


def propose_runbook_update(
    *, view: IncidentView, runbooks_dir: Path, applied_runbook: str | None, mitigation_action: str | None,
    minutes_to_mitigate: float | None,
) -> RunbookProposal:
    section = _learned_section(view, mitigation_action, minutes_to_mitigate)
    if applied_runbook:
        # always the file in runbooks_dir: a path relative to the working directory (as the index may
        # store it) would update the repository's copy instead of the configured one
        path = runbooks_dir / Path(applied_runbook).name
        try:
            old = path.read_text(encoding="utf-8")
        except OSError:
            old = None
        if old is not None:
            new = old.rstrip("\n") + "\n\n" + section
            diff = "".join(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                fromfile=f"a/{path.as_posix()}", tofile=f"b/{path.as_posix()}",
            ))
            return RunbookProposal(path.as_posix(), new, diff, is_new=False)
    top = view.hypotheses[0] if view.hypotheses else None
    category = top.category if top else "false_positive"
    title = f"{view.service or 'service'}: {category.replace('_', ' ')}"
    actions = f"  - name: {mitigation_action}\n    when: the same signals show again\n" if mitigation_action else ""
    text = (
        "---\n"
        f"title: \"{title}\"\n"
        f"services: [{view.service or '*'}]\n"
        f"symptoms:\n  - \"{view.title.replace(chr(34), '')}\"\n"
        f"categories: [{category}]\n"
        "signals: []\n"
        f"actions:\n{actions or '  []' + chr(10)}"
        "---\n"
        f"# {title}\n\n"
        "## Diagnosis\nDrafted from an incident; add the checks a person would run.\n\n"
        + section
    ).replace("actions:\n  []\n", "actions: []\n")
    path = runbooks_dir / f"{_slug(title)}.md"
    diff = "".join(difflib.unified_diff([], text.splitlines(keepends=True), fromfile="/dev/null",
                                        tofile=f"b/{path.as_posix()}"))
    return RunbookProposal(path.as_posix(), text, diff, is_new=True)


def apply_runbook_proposal(p: RunbookProposal) -> Path:
    path = Path(p.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(p.new_text, encoding="utf-8")
    return path


def propose_alert_tuning(
    *, service: str, metric: str, threshold: float | None, values: Sequence[float], breach_minutes: int,
) -> TuningProposal | None:
    """For a false positive: raise the threshold above normal peaks, or require a longer breach.

    ``values`` are the alerting metric's recent one-minute values (quiet history plus the blip);
    ``breach_minutes`` is how long the blip stayed above the threshold.
    """
    clean = sorted(v for v in values if not math.isnan(v))
    if len(clean) < 10:
        return None
    p99 = clean[min(len(clean) - 1, int(0.99 * len(clean)))]
    peak = clean[-1]
    proposed_for = max(5, breach_minutes + 5)
    if threshold is None or peak < threshold * 1.5:
        new_threshold = round(max(peak * 1.1, p99 * 1.2), 4)
        why = (f"{metric} of {service} peaked at {peak:g} during the blip (p99 of the window {p99:g}); "
               f"a threshold of {new_threshold:g} sits above that peak, and 'for {proposed_for} min' ignores "
               f"blips shorter than the {breach_minutes} min this one lasted")
    else:
        new_threshold = threshold
        why = (f"the blip lasted {breach_minutes} min above {threshold:g} and recovered on its own; "
               f"requiring the breach for {proposed_for} min would have kept it quiet while still catching a real rise")
    return TuningProposal(metric, service, threshold, new_threshold, proposed_for, why)
