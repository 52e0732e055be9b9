from __future__ import annotations

from datetime import timedelta

from bot.actions.approvals import Inquiry, check, params_hash
from bot.actions.runtime import ActionRequest
from bot.store import audit

from .conftest import T0, FakeDirectory

H = params_hash("redis.flush", {"cache": "c", "pattern": None})


def _inq(**kw) -> Inquiry:
    base = dict(action_id=1, action="redis.flush", params_hash=H, requested_by="U_REQ",
                expires_at=T0 + timedelta(minutes=15), approvers=frozenset({"U_A", "U_REQ"}),
                approver_groups=frozenset({"S_SRE"}), irreversible=True)
    return Inquiry(**(base | kw))


def test_params_hash_is_canonical():
    assert params_hash("a.b", {"x": 1, "y": [1, 2]}) == params_hash("a.b", {"y": [1, 2], "x": 1})
    assert params_hash("a.b", {"x": 1}) != params_hash("a.b", {"x": 2})
    assert params_hash("a.b", {"x": 1}) != params_hash("a.c", {"x": 1})
    assert len(H) == 64


def test_listed_approver_may_approve():
    assert check(_inq(), user="U_A", approve=True, now=T0, shown_hash=H).ok


def test_deny_by_default():
    v = check(_inq(), user="U_RANDOM", approve=True, now=T0, shown_hash=H)
    assert not v.ok and "not an approver" in v.reason
    nobody = _inq(approvers=frozenset(), approver_groups=frozenset())
    assert not check(nobody, user="U_A", approve=True, now=T0, shown_hash=H).ok


def test_group_membership_through_directory():
    d = FakeDirectory({"S_SRE": {"U_G"}})
    assert check(_inq(), user="U_G", approve=True, now=T0, shown_hash=H, directory=d).ok
    assert not check(_inq(), user="U_G", approve=True, now=T0, shown_hash=H).ok  # no directory: deny

    class Broken:
        def members(self, group):
            raise RuntimeError("slack down")

    assert not check(_inq(), user="U_G", approve=True, now=T0, shown_hash=H, directory=Broken()).ok


def test_requester_cannot_approve_irreversible_but_may_deny():
    v = check(_inq(), user="U_REQ", approve=True, now=T0, shown_hash=H)
    assert not v.ok and "other than the requester" in v.reason
    assert check(_inq(), user="U_REQ", approve=False, now=T0, shown_hash=H).ok
    assert check(_inq(irreversible=False), user="U_REQ", approve=True, now=T0, shown_hash=H).ok


def test_expired_and_decided_and_hash_mismatch():
    assert "expired" in check(_inq(), user="U_A", approve=True, now=T0 + timedelta(minutes=15), shown_hash=H).reason
    v = check(_inq(decision="approved", decided_by="U_A"), user="U_A", approve=True, now=T0, shown_hash=H)
    assert not v.ok and v.reason == "already approved by <@U_A>"
    v = check(_inq(), user="U_A", approve=True, now=T0, shown_hash="0" * 64)
    assert not v.ok and "parameters changed" in v.reason


# --- through the service and the store -------------------------------------------------------

def _flush_request(world, **kw) -> ActionRequest:
    return ActionRequest(action="redis.flush", params={"cache": "sessions"}, target="sessions",
                         incident_id=world.incident("sessions"), requested_by="U_REQ", **kw)


def test_submit_irreversible_waits_for_approval(world):
    svc = world.service()
    sub = svc.submit(_flush_request(world))
    assert sub.state == "awaiting_approval" and sub.decision.mode == "needs_approval"
    assert sub.expires_at == T0 + timedelta(seconds=world.settings.approval_ttl_s)
    inq = svc.inquiry(sub.action_id)
    assert inq is not None and inq.params_hash == sub.params_hash and inq.irreversible


def test_submit_is_idempotent(world):
    svc = world.service()
    req = _flush_request(world)
    a, b = svc.submit(req), svc.submit(req)
    assert a.action_id == b.action_id and a.created and not b.created


def test_double_click_decides_once(world):
    svc = world.service()
    sub = svc.submit(_flush_request(world))
    first = svc.decide(sub.action_id, user="U_A_GROUP", approve=True, shown_hash=sub.params_hash)
    assert not first.changed  # not an approver
    ok = svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=sub.params_hash)
    again = svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=sub.params_hash)
    deny = svc.decide(sub.action_id, user="U_GROUPIE", approve=False, shown_hash=sub.params_hash)
    assert ok.changed and ok.state == "approved"
    assert not again.changed and "already approved" in again.text
    assert not deny.changed and deny.state == "approved"
    with world.database.session() as s:
        kinds = [e.kind for e in audit.list(session=s, action_id=sub.action_id)]
    assert kinds == ["action.proposed", "action.approved"]


def test_requester_blocked_on_irreversible_then_group_member_approves(world):
    svc = world.service()
    sub = svc.submit(_flush_request(world))
    own = svc.decide(sub.action_id, user="U_REQ", approve=True, shown_hash=sub.params_hash)
    assert not own.changed and own.state == "awaiting_approval"
    grp = svc.decide(sub.action_id, user="U_GROUPIE", approve=True, shown_hash=sub.params_hash)
    assert grp.changed and grp.state == "approved"


def test_click_after_expiry_changes_nothing_and_expires(world):
    svc = world.service()
    sub = svc.submit(_flush_request(world))
    world.time.sleep(world.settings.approval_ttl_s + 1)
    late = svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=sub.params_hash)
    assert not late.changed and "expired" in late.text and late.state == "expired"
    assert svc.expire_due() == []


def test_expire_due(world):
    svc = world.service()
    sub = svc.submit(_flush_request(world))
    assert svc.expire_due() == []
    world.time.sleep(world.settings.approval_ttl_s)
    assert svc.expire_due() == [sub.action_id]
    assert svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=sub.params_hash).state == "expired"


def test_stale_card_hash_is_refused(world):
    svc = world.service()
    sub = svc.submit(_flush_request(world))
    out = svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=params_hash("redis.flush", {}))
    assert not out.changed and "parameters changed" in out.text


def test_advisory_then_request_then_approve(world):
    from bot.actions.policy import parse_policy

    world.policy_file = parse_policy({"default": "advisory"})
    svc = world.service()
    sub = svc.submit(ActionRequest(action="k8s.rollout_restart", params={"namespace": "shop", "deployment": "checkout"},
                                   target="checkout", incident_id=world.incident()))
    assert sub.state == "proposed" and sub.decision.mode == "advisory"
    assert svc.request_approval(sub.action_id, user="U_REQ").state == "awaiting_approval"
    # reversible: the requester may approve their own request
    assert svc.decide(sub.action_id, user="U_REQ", approve=True, shown_hash=sub.params_hash).state == "approved"


def test_view_for_the_card(world):
    svc = world.service()
    sub = svc.submit(_flush_request(world))
    v = svc.view(sub.action_id)
    assert v.action == "redis.flush" and not v.reversible and v.state == "awaiting_approval"
    assert v.params_hash == sub.params_hash and v.expires_at == sub.expires_at
    assert v.mode == "needs_approval" and any("cannot be undone" in r for r in v.reasons)
