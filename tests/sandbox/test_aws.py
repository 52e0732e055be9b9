"""The AWS adapter against moto seeded from the examples; writes reach the replay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.integrations.aws import AwsAdapter, CloudWatchMetrics
from bot.integrations.errors import IntegrationNotFound, IntegrationRejected
from bot.sandbox import aws as aws_sandbox
from bot.sandbox.replay import Replay
from bot.scenarios.loader import load_scenario
from bot.settings import AwsSettings

EXAMPLES = Path("/work/shared/scenarios/examples")


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def moto(request: pytest.FixtureRequest) -> Iterator[tuple[Replay, aws_sandbox.AwsSandbox, AwsSettings]]:
    replay = Replay(load_scenario(EXAMPLES / f"{request.param}.yaml"))
    sb = aws_sandbox.start(replay, poll_s=0.05, history_minutes=60)
    yield replay, sb, AwsSettings(enabled=True, region=sb.region, endpoint_url=sb.url, timeout_s=5)
    sb.stop()


def _wait(replay: Replay, n: int = 1) -> None:
    deadline = time.monotonic() + 10
    while len(replay.mitigations) < n and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("moto", ["disk-full"], indirect=True)
def test_ssm_command_on_the_service_frees_disk(moto) -> None:  # type: ignore[no-untyped-def]
    replay, _, settings = moto
    aws = AwsAdapter(settings)
    assert aws.health().ok
    instances = aws.instances_of("scan-ingest")
    assert len(instances) == 2
    cid = aws.send_command(instances[:1], ["find /var/spool/scan-ingest -mtime +1 -delete"], "free disk")
    inv = aws.command_invocation(cid, instances[0])
    assert inv.command_id == cid
    _wait(replay)
    assert [(m.kind, m.target, m.effect) for m in replay.mitigations] == [("free_disk", "scan-ingest", "recovers")]
    assert replay.writes[-1]["operation"] == "ssm.send_command"


@pytest.mark.parametrize("moto", ["connection-leak"], indirect=True)
def test_asg_capacity_increase_is_scale_out(moto) -> None:  # type: ignore[no-untyped-def]
    replay, _, settings = moto
    aws = AwsAdapter(settings)
    g = aws.describe_group("tracking-api")
    assert g.desired == 6 and g.tags["Service"] == "tracking-api"
    aws.set_desired_capacity("tracking-api", 9)
    assert aws.describe_group("tracking-api").desired == 9
    _wait(replay)
    assert [(m.kind, m.target, m.effect) for m in replay.mitigations] == [("scale_out", "tracking-api", "worse")]
    with pytest.raises(IntegrationNotFound):
        aws.describe_group("nope")


@pytest.mark.parametrize("moto", ["runaway-query"], indirect=True)
def test_rds_failover_reaches_the_replay(moto) -> None:  # type: ignore[no-untyped-def]
    replay, _, settings = moto
    aws = AwsAdapter(settings)
    before = aws.describe_cluster("shipments-db")
    assert before.writer and before.readers
    aws.failover("shipments-db")
    assert aws.describe_cluster("shipments-db").writer != before.writer
    _wait(replay)
    assert [(m.kind, m.target) for m in replay.mitigations] == [("failover", "shipments-db")]
    with pytest.raises(IntegrationNotFound):
        aws.describe_cluster("nope")
    with pytest.raises(IntegrationRejected):
        aws.failover("shipments-db", target_instance="nope")


@pytest.mark.parametrize("moto", ["deploy-regression"], indirect=True)
def test_cloudwatch_serves_the_scenario_series(moto) -> None:  # type: ignore[no-untyped-def]
    replay, _, settings = moto
    cw = CloudWatchMetrics(settings)
    assert cw.list_metrics("label-svc") == ["error_rate", "latency_p95_ms", "rps"]
    now = replay.now()
    s = cw.query_series("label-svc", "error_rate", now - timedelta(minutes=30), now + timedelta(minutes=1))
    assert len(s.points) >= 25
    assert s.values[0] < 0.02 and s.values[-1] > 0.1
    assert cw.health().ok
