"""The incident service end to end on the store, with direct scenario sources and a fake chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.incidents.service import Hooks, IncidentService
from bot.intake.service import IntakeService
from bot.investigation.pipeline import investigate
from bot.investigation.sources import Sources
from bot.sandbox.direct import DirectChanges, DirectCluster, DirectLogs, DirectMetrics
from bot.sandbox.firing import alertmanager_body
from bot.sandbox.replay import Replay
from bot.scenarios import load_scenario
from bot.settings import Settings
from tests.incidents.fakes import FakeChat, TextRenderer

EXAMPLE = Path("/work/shared/scenarios/examples/node-failure.yaml")
SCENARIO = next(iter(sorted(Path(__file__).parents[2].glob("scenarios/node_failure-*.yaml"))), EXAMPLE)


@pytest.fixture
def setup(database):
    scenario = load_scenario(SCENARIO)
    replay = Replay(scenario)
    catalog = scenario.catalog()
    sources = Sources(metrics=DirectMetrics(replay), logs=DirectLogs(replay), changes=DirectChanges(replay),
                      cluster=DirectCluster(replay))
    chat, renderer = FakeChat(), TextRenderer()
    settings = Settings()
    hooks = Hooks(investigate=lambda ctx: investigate(alert_context=ctx, sources=sources, catalog=catalog.model_copy()))
    incidents = IncidentService(db=database, chat=chat, renderer=renderer, settings=settings,
                                catalog=lambda: catalog, hooks=hooks)
    intake = IntakeService(db=database, settings=settings, catalog=lambda: catalog, on_outcome=incidents.handle)
    yield replay, intake, incidents, chat, renderer
    incidents.shutdown()


def test_alert_opens_a_channel_and_posts_then_edits_the_brief(setup):
    replay, intake, incidents, chat, renderer = setup
    body = json.dumps(alertmanager_body(replay)).encode()
    ans = intake.receive("alertmanager", body, {"Authorization": "Bearer local-alertmanager-token"})
    assert ans.status == 202, ans.body
    incidents.shutdown()  # waits for the worker
    names = chat.names()
    assert names[0] == "ensure_channel" and "post" in names and "update" in names
    assert renderer.views[0].investigating is True
    final = renderer.views[-1]
    assert final.investigating is False and final.hypotheses, "the brief names hypotheses"
    ev_ids = {e.id for e in final.evidence}
    assert all(set(h.evidence) <= ev_ids and h.evidence for h in final.hypotheses)
    # one message edited in place: the update targets the ts that was posted first
    channel = final.channel_id
    post_ts = next(kw["ts"] for n, kw in chat.calls if n == "post" and kw["channel"] == channel)
    assert all(kw["ts"] == post_ts for n, kw in chat.calls if n == "update" and kw["channel"] == channel)
    # and announced once in #incidents with a link to the channel, the announcement edited as it moved on
    announced = chat.channels["incidents"]
    posts = [kw for n, kw in chat.calls if n == "post" and kw["channel"] == announced]
    assert len(posts) == 1 and f"<#{channel}>" in posts[0]["text"] and "investigating" in posts[0]["text"]
    edits = [kw for n, kw in chat.calls if n == "update" and kw["channel"] == announced]
    assert edits and all(kw["ts"] == posts[0]["ts"] for kw in edits)
    assert final.severity in chat.messages[(announced, posts[0]["ts"])]["text"]


def test_resolve_updates_status_and_timeline(setup):
    replay, intake, incidents, chat, renderer = setup
    intake.receive("alertmanager", json.dumps(alertmanager_body(replay)).encode(),
                   {"Authorization": "Bearer local-alertmanager-token"})
    incidents.shutdown()
    iid = renderer.views[-1].id
    view = incidents.resolve(iid, user="U0ALICE", note="node replaced")
    assert view is not None and view.status == "resolved"
    assert any("Resolved by <@U0ALICE>: node replaced" in t.text for t in view.timeline)
    announced = chat.channels["incidents"]
    (ts,) = {kw["ts"] for n, kw in chat.calls if n == "post" and kw["channel"] == announced}
    assert "resolved" in chat.messages[(announced, ts)]["text"]  # the announcement says so too



class _NoAnnounceChannel(FakeChat):
    def ensure_channel(self, name: str) -> str:
        if name == "incidents":
            self._rec("ensure_channel", name=name)
            raise RuntimeError("missing_scope")
        return super().ensure_channel(name)


@pytest.mark.parametrize("case", ["disabled", "slack_refuses"])
def test_no_announcement_when_disabled_and_a_failing_one_loses_nothing(database, case: str):
    scenario = load_scenario(SCENARIO)
    replay = Replay(scenario)
    catalog = scenario.catalog()
    if case == "disabled":
        settings, chat = Settings.model_validate({"slack": {"announce_channel": ""}}), FakeChat()
    else:
        settings, chat = Settings(), _NoAnnounceChannel()
    renderer = TextRenderer()
    incidents = IncidentService(db=database, chat=chat, renderer=renderer, settings=settings, catalog=lambda: catalog)
    intake = IntakeService(db=database, settings=settings, catalog=lambda: catalog, on_outcome=incidents.handle)
    ans = intake.receive("alertmanager", json.dumps(alertmanager_body(replay)).encode(),
                         {"Authorization": "Bearer local-alertmanager-token"})
    assert ans.status == 202 and ans.body["decisions"][0]["kind"] == "new", ans.body
    incidents.shutdown()
    assert "incidents" not in chat.channels
    final = renderer.views[-1]
    assert final.channel_id and not final.investigating  # the brief went up all the same
    assert "announcement" not in final.extra
    assert [n for n, kw in chat.calls if n == "ensure_channel" and kw["name"] == "incidents"] == (
        [] if case == "disabled" else ["ensure_channel"] * 2)  # tried at open and after the brief, never raised
