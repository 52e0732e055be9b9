"""Block Kit for the daily digest and the weekly trend: data in, ``(text, blocks)`` out. No I/O.

Within Slack's limits: at most :data:`MAX_BLOCKS` blocks, section text at most
:data:`MAX_SECTION` characters (long lists are cut with "…and N more").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.scheduler.digest import Digest, DigestAction, Figures, Trend

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
Block = dict[str, Any]
_OUTCOME = {"done": "✅ done", "reverted": "↩️ reverted", "failed": "❌ failed", "verifying": "⏳ verifying",
            "executing": "⏳ executing", "approved": "👍 approved, not run yet"}


def _local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:MAX_HEADER], "emoji": True}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION]}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION]}]}


def _listing(title: str, lines: list[str], limit: int = 25) -> Block:
    """One section: a bold title then lines, cut to fit."""
    out = f"*{title}*"
    shown = 0
    for line in lines[:limit]:
        if len(out) + len(line) + 40 > MAX_SECTION:
            break
        out += "\n" + line
        shown += 1
    if shown < len(lines):
        out += f"\n…and {len(lines) - shown} more"
    return _section(out)


def _minutes(m: float | None) -> str:
    if m is None:
        return "–"
    return f"{m:.0f} min" if m < 120 else f"{m / 60:.1f} h"


def _action_line(a: DigestAction, tz: str) -> str:
    who = "autonomous" if a.autonomous and not a.approved_by else f"approved by <@{a.approved_by}>"
    inc = f" ({a.incident_key})" if a.incident_key else ""
    return f"• {_local(a.at, tz)} `{a.name}` on *{a.target}*{inc}: {who}, {_OUTCOME.get(a.outcome, a.outcome)}"


def _figures_line(f: Figures) -> str:
    return (f"*{f.actions_run}* actions run ({f.autonomous} autonomous, {f.approved} approved) · "
            f"*{f.reverts}* reverted · *{f.failures}* failed · *{f.incidents_opened}* incidents opened")


def digest_message(digest: Digest) -> tuple[str, list[Block]]:
    d, f, tz = digest, digest.figures, digest.tz
    text = (f"ai-sre daily digest: {f.actions_run} actions run, {f.reverts} reverted, "
            f"{len(d.open_incidents)} open incidents")
    blocks: list[Block] = [
        _header("ai-sre daily digest"),
        _context(f"{_local(d.since, tz)} → {_local(d.until, tz)} ({tz})"),
        _section(_figures_line(f)),
    ]
    if d.actions:
        blocks.append(_listing("Autonomous and approved actions", [_action_line(a, tz) for a in d.actions]))
    else:
        blocks.append(_section("*Autonomous and approved actions*\nNone in the last day."))
    if d.reverted:
        blocks.append(_listing("Reverts", [f"• `{a.name}` on *{a.target}* was reverted" for a in d.reverted]))
    if d.open_incidents:
        blocks.append(_listing(f"Open incidents ({len(d.open_incidents)})", [
            f"• *{i.key}* {i.severity} {i.status}: {i.title[:150]} (opened {_local(i.opened_at, tz)})"
            for i in d.open_incidents
        ]))
    else:
        blocks.append(_section("*Open incidents*\nNone. 🎉"))
    blocks.append(_section(
        f"*Time to mitigate*: median {_minutes(f.ttm_median_min)}, longest {_minutes(f.ttm_max_min)} "
        f"over {f.mitigated} incidents\n"
        f"*LLM*: {f.llm_tokens:,} tokens ({f.llm_input_tokens:,} in, {f.llm_output_tokens:,} out), "
        f"${f.llm_cost_usd:.2f}"
    ))
    if d.repeat_offenders:
        blocks.append(_listing("Repeat offenders", [f"• {r.text}" for r in d.repeat_offenders]))
    return text, blocks[:MAX_BLOCKS]


def _delta(now: float | None, before: float | None, unit: str = "", lower_is_better: bool = True) -> str:
    if now is None:
        return "–"
    shown = f"{now:g}{unit}"
    if before is None:
        return shown
    diff = now - before
    if abs(diff) < 1e-9:
        return f"{shown} (=)"
    good = (diff < 0) == lower_is_better
    return f"{shown} ({'+' if diff > 0 else ''}{diff:g}{unit} {'🟢' if good else '🔴'})"


def trend_message(trend: Trend) -> tuple[str, list[Block]]:
    a, b, tz = trend.this_week, trend.last_week, trend.tz
    rows = [
        ("Actions run", _delta(a.actions_run, b.actions_run, lower_is_better=False)),
        ("Autonomous", _delta(a.autonomous, b.autonomous, lower_is_better=False)),
        ("Reverted", _delta(a.reverts, b.reverts)),
        ("Failed", _delta(a.failures, b.failures)),
        ("Incidents opened", _delta(a.incidents_opened, b.incidents_opened)),
        ("Median time to mitigate", _delta(a.ttm_median_min, b.ttm_median_min, " min")),
        ("LLM cost", _delta(round(a.llm_cost_usd, 2), round(b.llm_cost_usd, 2), " $")),
    ]
    text = (f"ai-sre weekly trend: {a.incidents_opened} incidents (last week {b.incidents_opened}), "
            f"{a.reverts} reverts (last week {b.reverts})")
    blocks = [
        _header("ai-sre weekly trend"),
        _context(f"{_local(trend.since, tz)} → {_local(trend.until, tz)} ({tz}), against the week before"),
        _section("\n".join(f"*{k}*: {v}" for k, v in rows)),
    ]
    return text, blocks
