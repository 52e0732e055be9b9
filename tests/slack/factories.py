"""Incident views and cards for the Slack tests, with fixed times so snapshots are stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.incidents.views import EvidenceItem, HypothesisItem, IncidentView, ProposalItem, TimelineItem
from bot.slack.blocks import ApprovalCard

T0 = datetime(2026, 12, 2, 1, 40, 0, tzinfo=UTC)


def evidence(i: int = 1, **kw: Any) -> EvidenceItem:
    base: dict[str, Any] = dict(id=f"E{i}", source="datadog", query="avg:trace.http.errors{service:checkout}",
                                summary="7.2% errors (threshold 5%), rising since 01:38", status="ok",
                                link="https://app.datadoghq.com/metric/explorer?q=checkout")
    base.update(kw)
    return EvidenceItem(**base)


def change(i: int = 10) -> EvidenceItem:
    return EvidenceItem(id=f"E{i}", source="deploys", query="deploys service:checkout window:1h",
                        summary="checkout revision 42 deployed 01:37 by <@U0BOB>", status="ok")


def proposal(mode: str = "needs_approval", **kw: Any) -> ProposalItem:
    base: dict[str, Any] = dict(kind="rollback", target="checkout", action="k8s.rollout_undo",
                                params={"namespace": "shop", "deployment": "checkout", "to_revision": 41},
                                requires_approval=mode == "needs_approval",
                                reason="errors began 1 min after revision 42 was deployed",
                                action_id=7, mode=mode, policy_reasons=("checkout is at level supervised",))
    base.update(kw)
    return ProposalItem(**base)


def view(**kw: Any) -> IncidentView:
    base: dict[str, Any] = dict(
        id=42, key="INC-42", title="checkout error rate above 5%", service="checkout", severity="P1",
        severity_reason="customer-facing tier 1 service, error rate 7.2%", status="investigating",
        opened_at=T0, channel_id="C0INC42", services=("checkout", "payments"),
        timeline=(TimelineItem(T0, "Incident opened from Datadog monitor 1234"),
                  TimelineItem(T0 + timedelta(seconds=40), "Brief posted"),
                  TimelineItem(T0 + timedelta(minutes=2, seconds=13), "Rolled back checkout to revision 41",
                               actor="U0ALICE")),
        changes=(change(),),
        hypotheses=(HypothesisItem(1, "bad deploy", "checkout revision 42", 0.82, ("E1", "E10"),
                                   "Errors started one minute after the deploy and only on the new pods."),
                    HypothesisItem(2, "dependency outage", "payments", 0.31, ("E2",), reasoner="llm")),
        evidence=(evidence(1), evidence(2, source="prometheus", query="rate(http_errors[5m])",
                                        summary="payments p95 normal", link=None)),
        proposal=proposal(),
        runbooks=(("Checkout error spike", "https://runbooks.example.com/checkout-errors"),
                  ("Rollback a deployment", "runbooks/k8s-rollback.md")),
        similar=("INC-17: same deploy pattern, rollback worked in 4 min",),
    )
    base.update(kw)
    return IncidentView(**base)


def card(**kw: Any) -> ApprovalCard:
    base: dict[str, Any] = dict(
        action_id=7, action="k8s.rollout_undo", target="checkout",
        params={"namespace": "shop", "deployment": "checkout", "to_revision": 41},
        params_hash="ab" * 32, risk="medium", reversible=True, expires_at=T0 + timedelta(minutes=15),
        summary="Roll a deployment back to a pinned revision", incident_key="INC-42", requested_by=None,
        reason="errors began 1 min after revision 42 was deployed", evidence=(evidence(1), change()),
    )
    base.update(kw)
    return ApprovalCard(**base)
