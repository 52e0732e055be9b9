"""Approvals as inquiries: pure checks, deny by default.

An :class:`Inquiry` is one pending question ("run this exact action?"): who asked,
who may answer (user ids, and user groups resolved through a :class:`Directory`),
until when, and the hash of the exact parameters shown on the card.
:func:`check` says whether one click may decide it; the executor records the
decision by compare-and-set, so a double click or two approvers at once decide
it once. Rules, in order:

1. an inquiry already decided stays decided ("already approved by <@U1>");
2. after ``expires_at`` nothing can be decided;
3. the parameters must hash to what the card showed;
4. only a listed approver or a member of a listed group may answer (no list: nobody);
5. the requester may not approve an irreversible step (they may still deny it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.actions.ports import Directory


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def params_hash(action: str, params: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the action name and its validated parameters."""
    return hashlib.sha256(canonical_json({"action": action, "params": dict(params)}).encode()).hexdigest()


@dataclass(frozen=True)
class Inquiry:
    action_id: int
    action: str
    params_hash: str
    requested_by: str | None
    expires_at: datetime
    approvers: frozenset[str] = frozenset()
    approver_groups: frozenset[str] = frozenset()
    irreversible: bool = False
    decision: str | None = None  # approved | denied | expired
    decided_by: str | None = None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def is_authorized(user: str, approvers: frozenset[str], groups: frozenset[str], directory: Directory | None) -> bool:
    if user in approvers:
        return True
    if not groups or directory is None:
        return False
    for g in sorted(groups):
        try:
            if user in directory.members(g):
                return True
        except Exception:  # an unreachable directory denies, it never allows
            continue
    return False


def check(
    inquiry: Inquiry,
    *,
    user: str,
    approve: bool,
    now: datetime,
    shown_hash: str,
    directory: Directory | None = None,
) -> Verdict:
    """May ``user`` decide ``inquiry`` now? Deny by default; the reason is one line for the card."""
    if inquiry.decision is not None:
        who = f" by <@{inquiry.decided_by}>" if inquiry.decided_by else ""
        return Verdict(False, f"already {inquiry.decision}{who}")
    if now >= inquiry.expires_at:
        return Verdict(False, f"this approval expired at {inquiry.expires_at:%H:%M:%S} UTC")
    if shown_hash != inquiry.params_hash:
        return Verdict(False, "the parameters changed since this card was posted; review the new card")
    if not is_authorized(user, inquiry.approvers, inquiry.approver_groups, directory):
        return Verdict(False, f"<@{user}> is not an approver for {inquiry.action}")
    if approve and inquiry.irreversible and user == inquiry.requested_by:
        return Verdict(False, f"{inquiry.action} cannot be undone: someone other than the requester must approve")
    return Verdict(True, "approved" if approve else "denied")
