"""Each failure mode of the fake and what the bot does: the deterministic result stands, with a note."""

from __future__ import annotations

from bot.llm import refine
from bot.sandbox.anthropic_fake import HANG, error, message, submit_message, text_block, tool_use_message


def _det(gw):  # the deterministic (category, culprit) ranking
    return [(h.category, h.culprit) for h in gw.result.hypotheses]


def _run(gw, reasoner):
    return refine(gw.result, reasoner=reasoner, sources=gw.sources, catalog=gw.catalog)


def test_timeout_keeps_the_deterministic_result(fake, make_reasoner, gateway):
    fake.script(HANG)
    c = _run(gateway, make_reasoner(timeout_s=0.5))
    assert c.llm_note == "LLM unavailable: timeout"
    assert [(h.category, h.culprit) for h in c.result.hypotheses] == _det(gateway)
    assert "LLM unavailable: timeout" in c.result.notes


def test_rate_limited_429(fake, reasoner, gateway):
    fake.script(error(429, "Number of request tokens has exceeded your per-minute rate limit", retry_after=0))
    c = _run(gateway, reasoner)
    assert c.llm_note == "LLM unavailable: rate limited (429)"
    assert [(h.category, h.culprit) for h in c.result.hypotheses] == _det(gateway)


def test_429_then_success_with_sdk_retry(fake, llm_settings, gateway):
    from bot.actions.registry import Registry
    from bot.llm import build_reasoner

    r = build_reasoner(llm_settings(), registry=Registry.builtin(), max_retries=1)
    fake.script(error(429, retry_after=0))  # then the auto responder answers
    c = _run(gateway, r)
    assert c.llm_note is None and fake.fake.answered_by[0] == "script" and len(fake.requests) >= 2


def test_overloaded_529(fake, reasoner, gateway):
    fake.script(error(529, "Overloaded"))
    c = _run(gateway, reasoner)
    assert c.llm_note == "LLM unavailable: overloaded (529)"
    assert [(h.category, h.culprit) for h in c.result.hypotheses] == _det(gateway)


def test_server_error_500(fake, reasoner, gateway):
    fake.script(error(500))
    assert _run(gateway, reasoner).llm_note == "LLM unavailable: server error (500)"


def test_refusal(fake, reasoner, gateway):
    fake.script(message([text_block("I can't help with that.")], stop_reason="refusal"))
    c = _run(gateway, reasoner)
    assert c.llm_note == "LLM unavailable: refusal"
    assert [(h.category, h.culprit) for h in c.result.hypotheses] == _det(gateway)


def test_malformed_tool_call(fake, reasoner, gateway):
    fake.script(tool_use_message("submit_hypotheses", {"ranking": "config change"}))
    c = _run(gateway, reasoner)
    assert c.llm_note == "LLM unavailable: malformed output"
    assert [(h.category, h.culprit) for h in c.result.hypotheses] == _det(gateway)


def test_no_submission_within_the_rounds(fake, make_reasoner, gateway):
    r = make_reasoner(max_tool_rounds=1)
    fake.script(message([text_block("thinking")]), message([text_block("still thinking")]))
    c = _run(gateway, r)
    assert c.llm_note == "LLM unavailable: malformed output"
    assert fake.requests[-1]["tool_choice"] == {"type": "tool", "name": "submit_hypotheses"}


def test_uncited_claim_is_dropped_and_recorded(fake, reasoner, gateway, caplog):
    top = gateway.result.hypotheses[0]
    fake.script(submit_message([
        {"category": top.category, "culprit": top.culprit, "target": top.target, "confidence": 0.9,
         "evidence": top.evidence[:1], "explanation": "the config change came first"},
        {"category": "network", "culprit": "token-svc", "target": "token-svc", "confidence": 0.8,
         "evidence": ["ev-999"], "explanation": "the network is partitioned"},
        {"category": "capacity", "culprit": "api-gateway", "target": "api-gateway", "confidence": 0.5,
         "evidence": [], "explanation": "too much traffic"},
    ]))
    with caplog.at_level("WARNING", logger="bot.llm.audit"):
        c = _run(gateway, reasoner)
    assert c.llm_note is None
    reasons = [d.reason for d in c.dropped]
    assert reasons == ["cites evidence that does not exist: ev-999", "cites no evidence"]
    assert all((h.category, h.culprit) != ("network", "token-svc") for h in c.result.hypotheses)
    assert "llm hypothesis dropped" in caplog.text
    assert any("dropped by the citation checks" in n for n in c.result.notes)


def test_invented_figure_is_dropped(fake, reasoner, gateway):
    top = gateway.result.hypotheses[0]
    fake.script(submit_message([
        {"category": top.category, "culprit": top.culprit, "target": top.target, "confidence": 0.9,
         "evidence": top.evidence, "explanation": "error rate reached 37% after 12,000 rejected requests"},
    ]))
    c = _run(gateway, reasoner)
    assert [d.reason for d in c.dropped] == ["states figures not in the cited evidence: 37%, 12000"]
    assert c.result.hypotheses[0].explanation == top.explanation  # the deterministic text stays
    assert c.llm_note == "LLM answer not used: every hypothesis failed the citation checks"


def test_unknown_action_is_refused_by_the_registry(fake, reasoner, gateway):
    fake.script(tool_use_message("k8s__delete_namespace", {"namespace": "shop"}), submit_message([]))
    c = _run(gateway, reasoner)
    assert [r.reason for r in c.outcome.refused] == ["unknown action 'k8s__delete_namespace'"]
    assert c.llm_proposals == []
    result = fake.requests[1]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["is_error"] is True and "refused" in result["content"]
    assert c.result.proposal == gateway.result.proposal


def test_bad_parameters_are_refused(fake, reasoner, gateway):
    fake.script(tool_use_message("k8s__scale", {"namespace": "shop", "deployment": "api-gateway", "replicas": 0,
                                                "force": True}), submit_message([]))
    c = _run(gateway, reasoner)
    assert len(c.outcome.refused) == 1 and "invalid parameters" in c.outcome.refused[0].reason
    assert c.llm_proposals == []


def test_token_budget_stops_tool_rounds(fake, make_reasoner, gateway):
    r = make_reasoner(token_budget=100, max_tool_rounds=5)
    fake.script(tool_use_message("list_nodes", {}))  # the next call is forced to submit (auto responder)
    c = _run(gateway, r)
    assert c.outcome.rounds == 2
    assert fake.requests[1]["tool_choice"] == {"type": "tool", "name": "submit_hypotheses"}
    assert c.llm_note is None
