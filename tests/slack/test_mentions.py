"""@ai-sre free text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.mentions import Mention, parse_mention


@pytest.mark.parametrize(("text", "kind", "fields"), [
    ("<@U0AISREBOT>", "help", {}),
    ("<@U0AISREBOT> help", "help", {}),
    ("<@U0AISREBOT> status", "status", {"incident": None}),
    ("<@U0AISREBOT> status INC-42", "status", {"incident": "INC-42"}),
    ("<@U0AISREBOT> what's the status?", "status", {"incident": None}),
    ("<@U0AISREBOT> what changed on checkout?", "changes", {"service": "checkout", "window_s": 3600}),
    ("<@U0AISREBOT> what changed?", "changes", {"service": None}),
    ("<@U0AISREBOT> what changed in payments in the last 2h", "changes", {"service": "payments", "window_s": 7200}),
    ("<@U0AISREBOT> recent deploys for checkout", "changes", {"service": "checkout"}),
    ("<@U0AISREBOT> show error_rate for checkout last 1h", "metric",
     {"metric": "error_rate", "service": "checkout", "window_s": 3600}),
    ("<@U0AISREBOT> show latency_p95_ms for checkout over 30m", "metric",
     {"metric": "latency_p95_ms", "service": "checkout", "window_s": 1800}),
    ("<@U0AISREBOT> graph checkout error_rate", "metric", {"metric": "error_rate", "service": "checkout",
                                                            "window_s": 3600}),
    ("<@U0AISREBOT> show error_rate for checkout last 2 hours", "metric", {"window_s": 7200}),
    ("<@U0AISREBOT> why is checkout slow?", "question", {}),
    ("<@U0AISREBOT> status of the world", "question", {}),
])
def test_mentions(text: str, kind: str, fields: dict) -> None:
    m = parse_mention(text)
    assert m.kind == kind
    for k, v in fields.items():
        assert getattr(m, k) == v
    assert "<@" not in m.text


@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    assert isinstance(parse_mention(text), Mention)
