"""The flags adapter and server, alert firing payloads, start_all and the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bot.integrations.errors import IntegrationAuthError, IntegrationNotFound, IntegrationRejected
from bot.integrations.flags import HttpFlags
from bot.sandbox import firing, flags_server
from bot.sandbox.replay import Replay
from bot.sandbox.servers import start_all
from bot.scenarios import load_scenario
from bot.settings import Settings

EXAMPLES = Path("/work/shared/scenarios/examples")


def replay_of(name: str) -> Replay:
    return Replay(load_scenario(EXAMPLES / name))


@pytest.fixture
def flags() -> Iterator[tuple[Replay, HttpFlags, str]]:
    replay = replay_of("feature-flag.yaml")
    handle = flags_server.start(replay)
    client = HttpFlags(handle.url, token=flags_server.TOKEN)
    try:
        yield replay, client, handle.url
    finally:
        client.close()
        handle.stop()


def test_flags_from_events_and_disable_recovers(flags) -> None:
    replay, client, _ = flags
    states = {f.flag: f for f in client.flags("tracking-api")}
    assert states["tracking.live_eta"].value == "100%" and states["tracking.live_eta"].previous == "5%"
    assert states["tracking.show_pod_photo"].value is True
    before = replay.value("tracking-api", "error_rate", 0)
    off = client.disable("tracking-api", "tracking.live_eta")
    assert off.enabled is False and off.updated_by == "ai-sre"
    assert [(m.kind, m.target, m.effect) for m in replay.mitigations] == [("disable_flag", "tracking-api", "recovers")]
    assert replay.writes[-1]["system"] == "flags" and replay.writes[-1]["flag"] == "tracking.live_eta"
    after = replay.value("tracking-api", "error_rate", 5)
    assert after is not None and before is not None and after < before / 5
    assert client.get("tracking-api", "tracking.live_eta").enabled is False


def test_flags_errors(flags) -> None:
    replay, client, url = flags
    with pytest.raises(IntegrationNotFound):
        client.get("tracking-api", "nope")
    with pytest.raises(IntegrationAuthError):
        HttpFlags(url, token="wrong").flags("tracking-api")
    r = httpx.patch(f"{url}/flags/tracking-api/tracking.live_eta", content=b"{x",
                    headers={"Authorization": f"Bearer {flags_server.TOKEN}"})
    assert r.status_code == 400 and "error" in r.json()
    r = httpx.patch(f"{url}/flags/tracking-api/tracking.live_eta", json={"enabled": "no"},
                    headers={"Authorization": f"Bearer {flags_server.TOKEN}"})
    assert r.status_code == 422
    with pytest.raises(IntegrationRejected):
        client._request("PATCH", "/flags/tracking-api/tracking.live_eta", {"other": 1})
    assert replay.mitigations == []
    assert client.health().ok


def test_datadog_firing_renders_the_template() -> None:
    replay = replay_of("feature-flag.yaml")
    url, headers, body = firing.datadog_firing(replay, "http://bot:8600/", "s3cret")
    assert url == "http://bot:8600/intake/datadog" and headers["X-AISRE-Token"] == "s3cret"
    template = json.loads(firing.TEMPLATE.read_text())
    assert set(body) == set(template)
    assert body["alert_transition"] == "Triggered" and body["alert_metric"] == "error_rate"
    assert "service:tracking-api" in body["tags"].split(",") and body["alert_scope"] == "service:tracking-api"
    assert "value: 0.073" in body["event_msg"] and "threshold: 0.05" in body["text_only_msg"]
    assert body["alert_query"].endswith("> 0.05") and body["date"].isdigit()
    resolved = firing.datadog_firing(replay, "http://bot:8600", "s3cret", resolved=True).body
    assert resolved["alert_transition"] == "Recovered" and resolved["alert_cycle_key"] == body["alert_cycle_key"]
    assert "$" not in json.dumps(body)


def test_alertmanager_firing_is_version_4() -> None:
    replay = replay_of("connection-leak.yaml")
    url, headers, body = firing.alertmanager_firing(replay, "http://bot", "tok")
    assert url == "http://bot/intake/alertmanager" and headers["Authorization"] == "Bearer tok"
    assert body["version"] == "4" and body["status"] == "firing" and body["truncatedAlerts"] == 0
    assert set(body) >= {"receiver", "alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
                         "groupKey"}
    a = body["alerts"][0]
    assert a["labels"]["service"] == replay.scenario.alert.service and a["endsAt"] == firing.ZERO_TIME
    assert set(a) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    res = firing.alertmanager_body(replay, resolved=True)
    assert res["status"] == "resolved" and res["alerts"][0]["fingerprint"] == a["fingerprint"]


def test_simple_firing_and_build() -> None:
    replay = replay_of("stuck-job.yaml")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    f = firing.build(replay, "http://bot", settings)
    assert f.url == f"http://bot/intake/{replay.scenario.alert.source}"
    assert set(f.body) == {"check", "title", "service", "metric", "value", "threshold", "status", "at"}


class _Sink(BaseHTTPRequestHandler):
    got: list[tuple[str, dict[str, str], Any]] = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Sink.fail_first > 0:
            _Sink.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Sink.got.append((self.path, dict(self.headers), body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_fire_retries_5xx() -> None:
    srv = HTTPServer(("127.0.0.1", 0), _Sink)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        _Sink.got, _Sink.fail_first = [], 2
        f = firing.datadog_firing(replay_of("feature-flag.yaml"), f"http://127.0.0.1:{srv.server_port}", "s")
        r = firing.fire(f, backoff_s=0.01)
        assert r.status_code == 202 and _Sink.got[0][0] == "/intake/datadog"
    finally:
        srv.shutdown()
        srv.server_close()


def test_start_all_points_settings_at_the_servers() -> None:
    replay = replay_of("config-regression.yaml")
    servers = start_all(replay)
    try:
        assert {"datadog", "prometheus", "flags"} <= set(servers.urls)
        s = servers.settings(Settings(_env_file=None))  # type: ignore[call-arg]
        assert s.datadog.api_url == servers.urls["datadog"] and s.prometheus.url == servers.urls["prometheus"]
        assert httpx.get(servers.urls["prometheus"] + "/-/ready").status_code == 200
        assert servers.env["AISRE_DATADOG__ENABLED"] == "true"
    finally:
        servers.stop()
        servers.stop()


def test_cli_reports_scenario_errors(tmp_path) -> None:
    from bot.cli.main import _register, app

    _register()
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nid: Bad Id\n")
    r = CliRunner().invoke(app, ["sandbox", "serve", str(bad)])
    assert r.exit_code == 1


def test_start_all_starts_what_the_scenario_can_use() -> None:
    from bot.sandbox.servers import relevant_servers

    base = {"datadog", "prometheus", "flags", "kubernetes"}
    assert relevant_servers(replay_of("dependency-outage.yaml")) == base
    assert relevant_servers(replay_of("config-regression.yaml")) == base | {"redis"}  # it has a cache
    assert relevant_servers(replay_of("runaway-query.yaml")) == base | {"postgres"}
    assert relevant_servers(replay_of("cache-saturation.yaml")) == base | {"redis", "postgres"}  # and sessions
    assert relevant_servers(replay_of("disk-full.yaml")) == base | {"aws"}
