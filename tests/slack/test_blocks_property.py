"""Any incident view, however odd its text, renders into blocks Slack accepts."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.incidents.views import EvidenceItem, HypothesisItem, IncidentView, ProposalItem, TimelineItem
from bot.slack import blocks as b
from tests.slack.limits import assert_valid

text = st.text(max_size=120) | st.text(alphabet="<>&|`*_ \n@#!x", max_size=4000)
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
ids = st.from_regex(r"E[0-9]{1,3}", fullmatch=True)

evidence = st.builds(EvidenceItem, id=ids, source=text, query=text, summary=text, status=st.sampled_from(["ok", "error", "no_data"]),
                     link=st.none() | st.just("https://example.com/x") | text)
hypothesis_items = st.builds(HypothesisItem, rank=st.integers(1, 50), category=text, culprit=st.none() | text,
                             confidence=st.floats(0, 1), evidence=st.lists(ids, max_size=12).map(tuple),
                             explanation=text, reasoner=st.sampled_from(["deterministic", "llm"]))
proposals = st.builds(ProposalItem, kind=text, target=text, action=st.none() | st.sampled_from(["k8s.scale", "x" * 80]),
                      params=st.dictionaries(st.text(max_size=20), text, max_size=8), requires_approval=st.booleans(),
                      reason=text, action_id=st.none() | st.integers(1, 10**9),
                      mode=st.none() | st.sampled_from(["shadow", "advisory", "needs_approval", "execute", "refuse"]),
                      policy_reasons=st.lists(text, max_size=5).map(tuple))
views = st.builds(
    IncidentView, id=st.integers(1, 10**9), key=st.from_regex(r"INC-[0-9]{1,6}", fullmatch=True), title=text,
    service=st.none() | text, severity=st.sampled_from(["P0", "P1", "P2", "P3", "P9"]), severity_reason=text,
    status=text, opened_at=times, channel_id=st.none() | st.just("C0INC"),
    services=st.lists(text, max_size=30).map(tuple),
    timeline=st.lists(st.builds(TimelineItem, at=times, text=text, actor=st.none() | st.just("U0ALICE") | text),
                      max_size=250).map(tuple),
    changes=st.lists(evidence, max_size=12).map(tuple), hypotheses=st.lists(hypothesis_items, max_size=45).map(tuple),
    evidence=st.lists(evidence, max_size=40).map(tuple), proposal=st.none() | proposals,
    runbooks=st.lists(st.tuples(text, text), max_size=30).map(tuple), similar=st.lists(text, max_size=10).map(tuple),
    investigating=st.booleans(), llm_note=st.none() | text, truncated_alerts=st.integers(0, 10**6),
    maintenance=st.none() | text,
)


@given(views)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_any_view_renders_valid_blocks(view: IncidentView) -> None:
    for build in (b.brief_message, b.status_reply, b.timeline_message, b.catchup_message, b.announcement):
        assert_valid(build(view))
