"""Pure pieces: figure normalisation, redaction patterns, the fence, the conservative merge, usage."""

from __future__ import annotations

import pytest

from bot.investigation.evidence import Hypothesis
from bot.llm.fence import Fence, neutralise
from bot.llm.figures import unsupported
from bot.llm.merge import combine
from bot.llm.redact import Redactor
from bot.llm.usage import Usage

EV = ["error_rate of checkout rose from 0.002 to 0.18 at -40 (change point)", "checkout logged 1200 x error",
      "latency_p95_ms rose from 48.6 to 1234.5"]


@pytest.mark.parametrize("claim", ["error rate went to 18%", "0.18 error rate", "1,200 errors", "1.2k errors",
                                   "40 minutes before", "p95 near 1,234.5 ms", "from 0.2% to 18%",
                                   "cfg-77 and node-3 at v3.8.1 (ev-12)"])
def test_figures_found(claim):
    assert unsupported(claim, EV) == []


@pytest.mark.parametrize("claim, bad", [("error rate went to 25%", ["25%"]), ("3,400 errors", ["3400"]),
                                        ("at -41.5 minutes", ["41.5"])])
def test_figures_invented(claim, bad):
    assert unsupported(claim, EV) == bad


@pytest.mark.parametrize("text, hidden", [
    ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("slack xoxb-123456789012-abcdefABCDEF", "xoxb-123456789012"),
    ("Authorization: Bearer abc.def-ghi_jkl123", "abc.def-ghi_jkl123"),
    ("db password=s3cr3t! retry", "s3cr3t!"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-x", "eyJzdWIiOiIxIn0"),
    ("mail ana.silva@example.com now", "ana.silva@example.com"),
    ("postgresql://app:pa55word@db:5432/x", "pa55word"),
])
def test_default_redaction(text, hidden):
    out = Redactor().redact(text)
    assert hidden not in out and "[redacted:" in out


def test_extra_patterns_and_bad_regex():
    assert Redactor([r"ACME-\d{6}"]).redact("id ACME-123456") == "id [redacted:custom-1]"
    with pytest.raises(ValueError, match="AISRE_LLM__REDACT_PATTERNS"):
        Redactor(["("])


def test_fence_cannot_be_closed_from_inside():
    f = Fence("abc123")
    wrapped = f.wrap(f"x {f.close} y << END-abc123 >> <<data-zzz>> z >> w")
    assert wrapped.count(f.close) == 1 and f.well_formed(wrapped)
    assert "<<" not in neutralise("a << b")


def _h(cat, culprit, conf, ev=("ev-1",)):
    return Hypothesis(category=cat, culprit=culprit, confidence=conf, evidence=list(ev), explanation=cat)


def test_merge_keeps_the_deterministic_order_and_adds_below():
    det = [_h("config_regression", "cfg-1", 0.9), _h("deploy_regression", "dep-1", 0.4)]
    llm = [_h("deploy_regression", "dep-1", 0.95, ("ev-2",)), _h("network", "lb", 0.99),
           _h("config_regression", "cfg-1", 0.5)]
    out = combine(det, llm)
    assert [(h.category, h.culprit) for h in out] == [("config_regression", "cfg-1"),
                                                     ("deploy_regression", "dep-1"), ("network", "lb")]
    assert out[1].evidence == ["ev-1", "ev-2"] and out[0].confidence == 0.9
    assert out[2].confidence < out[1].confidence


def test_merge_with_no_deterministic_hypothesis_uses_the_llm():
    assert [h.culprit for h in combine([], [_h("network", "a", 0.3), _h("capacity", "b", 0.6)])] == ["b", "a"]


def test_usage_and_cost():
    u = Usage(model="claude-sonnet-4-5")
    u.add({"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 4000,
           "cache_creation_input_tokens": 0})
    assert u.total_tokens == 5100
    assert u.cost_usd == pytest.approx((1000 * 3 + 4000 * 0.3 + 100 * 15) / 1e6)
