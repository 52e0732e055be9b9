"""The actions' front door for the incident service and the Slack layer.

::

    svc = ActionService(deps)
    sub = svc.submit(ActionRequest(action="k8s.rollout_restart", params={...}, target="checkout",
                                   incident_id=7, tier="standard"))
    sub.decision.mode   # shadow | advisory | needs_approval | execute | refuse
    if sub.state == "approved": svc.executor.run(sub.action_id)
    # approval card button:
    out = svc.decide(action_id, user="U123", approve=True, shown_hash=card.params_hash)
    if out.state == "approved": svc.executor.run(action_id)

States: ``proposed`` (advisory: posted, no button) -> ``awaiting_approval`` -> ``approved`` |
``denied`` | ``expired``; ``shadowed`` and ``refused`` end a submission at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.actions import store_ops
from bot.actions.approvals import Inquiry, check, params_hash
from bot.actions.executor import Executor
from bot.actions.policy import PolicyContext
from bot.actions.runtime import ActionDeps, ActionRequest, ActionView, Outcome, Progress, Submission, log
from bot.actions.spec import ActionSpec
from bot.store import actions_repo
from bot.store.models import Action, Approval

_AFTER_DECISION = {"shadow": "shadowed", "refuse": "refused", "advisory": "proposed",
                   "needs_approval": "awaiting_approval", "execute": "approved"}


class ActionService:
    def __init__(self, deps: ActionDeps) -> None:
        self.d = deps
        self.executor = Executor(deps)

    def policy_context(self, request: ActionRequest) -> PolicyContext:
        """The policy's facts for a request, read from the store now."""
        d = self.d
        since = d.clock() - timedelta(hours=1)
        with d.db.session() as s:
            return PolicyContext(
                tier=request.tier,
                freeze=store_ops.freeze_on(session=s),
                open_breakers=store_ops.open_breakers(session=s),
                attempts_this_incident=store_ops.automatic_attempts(session=s, incident_id=request.incident_id),
                service_actions_last_hour=store_ops.changes_since(session=s, since=since, target=request.target),
                global_actions_last_hour=store_ops.changes_since(session=s, since=since),
                requested_by=request.requested_by,
                overrides=store_ops.overrides(session=s),
            )

    def submit(self, request: ActionRequest, *, progress: Progress | None = None) -> Submission:
        """Validate, record (idempotently), decide by policy, and open an approval when one is needed.

        Raises :class:`~bot.actions.spec.UnknownAction` / :class:`~bot.actions.spec.InvalidParams`.
        """
        d = self.d
        spec = d.registry.get(request.action)
        params = d.registry.validate(spec.name, request.params).model_dump(mode="json")
        h = params_hash(spec.name, params)
        key = request.idempotency_key or f"{request.incident_id}:{spec.name}:{h}"
        decision = d.policy.decide(spec, request.target, self.policy_context(request))
        state = _AFTER_DECISION[decision.mode]
        now = d.clock()
        expires = now + timedelta(seconds=d.settings.approval_ttl_s) if state == "awaiting_approval" else None
        with d.db.session() as s:
            action, created = store_ops.create_action(
                session=s, incident_id=request.incident_id, name=spec.name,
                kind=request.kind or spec.mitigation_kind or "read", target=request.target, params=params,
                params_hash=h, idempotency_key=key, state="proposed", requested_by=request.requested_by,
                risk=spec.risk, reversible=spec.reversible, autonomous=decision.mode == "execute",
                result={"context": request.context(), "decision": {"mode": decision.mode, "reasons": decision.reasons}},
                created_at=now,
            )
            if not created:
                appr = store_ops.approval_for(session=s, action_id=action.id)
                return Submission(action.id, action.state, decision, False, action.params_hash,
                                  appr.expires_at if appr else None)
            action_id = action.id
            log(d, s, action, "proposed", _proposed_text(spec, request, decision.mode, decision.reasons),
                actor=request.requested_by or "ai-sre", progress=progress, params=params)
            if state != "proposed":
                fields: dict[str, Any] = {"error": "; ".join(decision.reasons)} if state == "refused" else {}
                if state in ("shadowed", "refused"):
                    fields["finished_at"] = now
                actions_repo.transition(
                    session=s, action_id=action_id, from_states=["proposed"], to_state=state, **fields
                )
            if expires is not None:
                s.add(Approval(action_id=action_id, params_hash=h, requested_by=request.requested_by,
                               expires_at=expires))
        return Submission(action_id, state, decision, True, h, expires)

    def request_approval(self, action_id: int, *, user: str) -> Outcome:
        """A person asks to run an advisory proposal: it now waits for an approver."""
        d = self.d
        now = d.clock()
        with d.db.session() as s:
            a = _get(s, action_id)
            if not actions_repo.transition(
                session=s, action_id=action_id, from_states=["proposed"], to_state="awaiting_approval",
                requested_by=user,
            ):
                return Outcome(action_id, a.state, f"cannot request approval: action is {a.state}")
            s.add(Approval(action_id=action_id, params_hash=a.params_hash, requested_by=user,
                           expires_at=now + timedelta(seconds=d.settings.approval_ttl_s)))
            log(d, s, a, "approval_requested", f"<@{user}> asked to run {a.name} on {a.target}", actor=user)
        return Outcome(action_id, "awaiting_approval", "waiting for an approver", changed=True)

    def inquiry(self, action_id: int) -> Inquiry | None:
        """The approval as the card shows it (None when the action never needed one)."""
        d = self.d
        with d.db.session() as s:
            a = _get(s, action_id)
            appr = store_ops.approval_for(session=s, action_id=action_id)
            if appr is None:
                return None
            return Inquiry(
                action_id=action_id, action=a.name, params_hash=appr.params_hash, requested_by=appr.requested_by,
                expires_at=appr.expires_at, approvers=d.approvers, approver_groups=d.approver_groups,
                irreversible=not a.reversible, decision=appr.decision, decided_by=appr.decided_by,
            )

    def view(self, action_id: int) -> ActionView:
        """What the approval card / status line shows: the action, its spec flags, why, and its approval."""
        d = self.d
        with d.db.session() as s:
            a = _get(s, action_id)
            appr = store_ops.approval_for(session=s, action_id=action_id)
            spec = d.registry.get(a.name)
            decision = dict((a.result or {}).get("decision", {}))
            return ActionView(
                action_id=a.id, action=a.name, summary=spec.summary, risk=spec.risk, reversible=spec.reversible,
                target=a.target, params=dict(a.params or {}), params_hash=a.params_hash, state=a.state,
                mode=str(decision.get("mode", "")), reasons=list(decision.get("reasons", [])),
                requested_by=a.requested_by, expires_at=appr.expires_at if appr else None,
                decided_by=appr.decided_by if appr else None, error=a.error,
            )

    def decide(self, action_id: int, *, user: str, approve: bool, shown_hash: str) -> Outcome:
        """One click on Approve/Deny. Only the first valid decision counts; the rest change nothing."""
        d = self.d
        inq = self.inquiry(action_id)
        if inq is None:
            return Outcome(action_id, "unknown", "this action needs no approval")
        now = d.clock()
        verdict = check(inq, user=user, approve=approve, now=now, shown_hash=shown_hash, directory=d.directory)
        if not verdict.ok:
            if inq.decision is None and now >= inq.expires_at:
                self.expire_due()
            with d.db.session() as s:
                state = _get(s, action_id).state
            return Outcome(action_id, state, verdict.reason)
        to_state = "approved" if approve else "denied"
        with d.db.session() as s:
            a = _get(s, action_id)
            if not store_ops.decide_approval(session=s, action_id=action_id, decision=to_state, user=user, now=now):
                s.rollback()
                return Outcome(action_id, a.state, "already decided")
            fields = {} if approve else {"finished_at": now}
            if not actions_repo.transition(
                session=s, action_id=action_id, from_states=["awaiting_approval"], to_state=to_state, **fields
            ):
                s.rollback()
                return Outcome(action_id, a.state, f"already {a.state}")
            log(d, s, a, to_state, f"<@{user}> {to_state} {a.name} on {a.target}", actor=user)
        return Outcome(action_id, to_state, f"{to_state} by <@{user}>", changed=True)

    def expire_due(self) -> list[int]:
        """Expire undecided approvals past their time (the scheduler calls this; a late click does too)."""
        d = self.d
        now = d.clock()
        expired = []
        with d.db.session() as s:
            due = store_ops.due_approvals(session=s, now=now)
        for action_id in due:
            with d.db.session() as s:
                if store_ops.decide_approval(session=s, action_id=action_id, decision="expired", user=None, now=now):
                    actions_repo.transition(session=s, action_id=action_id, from_states=["awaiting_approval"],
                                            to_state="expired", finished_at=now)
                    a = _get(s, action_id)
                    log(d, s, a, "expired", f"approval of {a.name} on {a.target} expired; nothing was done")
                    expired.append(action_id)
        return expired

    def reset_breaker(self, target: str, action: str, *, user: str) -> bool:
        from bot.actions.policy import automation_key

        key = automation_key(action, target)
        with self.d.db.session() as s:
            return store_ops.reset_breaker(session=s, key=key, by=user)

    def set_freeze(self, on: bool, *, user: str) -> None:
        with self.d.db.session() as s:
            store_ops.set_freeze(session=s, on=on, by=user, now=self.d.clock())


def _get(s: Session, action_id: int) -> Action:
    a = actions_repo.get(session=s, action_id=action_id)
    if a is None:
        raise ValueError(f"no action {action_id}")
    return a


def _proposed_text(spec: ActionSpec, r: ActionRequest, mode: str, reasons: list[str]) -> str:
    who = f"<@{r.requested_by}>" if r.requested_by else "ai-sre"
    verb = {"shadow": "would run (shadow)", "advisory": "suggests", "needs_approval": "asks approval for",
            "execute": "will run", "refuse": "refused"}[mode]
    return f"{who} {verb} {spec.name} on {r.target}: {'; '.join(reasons)}"
