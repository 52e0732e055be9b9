"""PrometheusMetrics against a real Prometheus, and a rule firing through a real Alertmanager.

Needs Debian's ``prometheus`` and ``prometheus-alertmanager`` (``scripts/setup.sh
--with-test-tools``); skipped without ``/usr/bin/prometheus`` unless ``CI=true``.
The scenario's history is written as OpenMetrics, backfilled with ``promtool tsdb
create-blocks-from openmetrics``, and served by Prometheus from that storage.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.integrations.prometheus import PrometheusMetrics
from bot.sandbox.replay import Replay
from bot.scenarios import load_scenario
from bot.settings import PrometheusSettings

pytestmark = pytest.mark.prometheus

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or ""
SCENARIO = Path("/work/shared/scenarios/examples/feature-flag.yaml")
TOKEN = "am-test-token"


@pytest.fixture(scope="module", autouse=True)
def _need_binaries() -> None:
    if not Path(PROMETHEUS).exists() or not ALERTMANAGER:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus/alertmanager missing and CI=true: run scripts/setup.sh --with-test-tools",
                        pytrace=False)
        pytest.skip("Debian's prometheus and prometheus-alertmanager are not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def openmetrics(replay: Replay) -> str:
    lines = []
    by_name: dict[str, list[Any]] = {}
    for m in replay.scenario.metrics:
        by_name.setdefault(m.name, []).append(m)
    for name, specs in by_name.items():
        lines.append(f"# TYPE {name} gauge")
        for m in specs:
            ns = replay.scenario.service(m.service)
            labels = f'service="{m.service}",namespace="{ns.namespace if ns else "default"}"'
            for minute, v in replay.series(m.service, m.name, -360, 0):
                ts = replay.minute_to_dt(minute).timestamp()
                lines.append(f"{name}{{{labels}}} {v!r} {ts:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def start_prometheus(tmp: Path, config: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    (tmp / "prometheus.yml").write_text(config)
    log = open(tmp / "prometheus.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d", *extra],
        stdout=log, stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory) -> Iterator[tuple[Replay, PrometheusMetrics]]:
    tmp = tmp_path_factory.mktemp("prom")
    replay = Replay(load_scenario(SCENARIO))
    (tmp / "history.om").write_text(openmetrics(replay))
    (tmp / "data").mkdir()
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(tmp / "history.om"),
                    str(tmp / "data")], check=True, capture_output=True, timeout=60)
    port = free_port()
    proc = start_prometheus(tmp, "global:\n  scrape_interval: 1m\n", port)
    prom = PrometheusMetrics(PrometheusSettings(enabled=True, url=f"http://127.0.0.1:{port}", timeout_s=10))
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
        yield replay, prom
    finally:
        prom.close()
        stop(proc)


def test_backfilled_history_reads_like_the_replay(backfilled) -> None:
    replay, prom = backfilled
    assert prom.health().ok
    for svc in {m.service for m in replay.scenario.metrics}:
        assert prom.list_metrics(svc) == sorted(set(replay.metric_names(svc)))
    for spec in replay.scenario.metrics:
        # one second past the minute: Prometheus takes the newest sample at or before each step
        start = replay.minute_to_dt(-90).timestamp() + 1
        from datetime import UTC, datetime

        s = prom.query_series(spec.service, spec.name, datetime.fromtimestamp(start, UTC), replay.minute_to_dt(-1))
        assert len(s.points) >= 89
        for p in s.points:
            minute = math.floor(replay.dt_to_minute(p.at) + 1e-3)
            assert p.value == pytest.approx(replay.value(spec.service, spec.name, minute), rel=1e-9)


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        _Receiver.got.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_rule_fires_through_alertmanager(tmp_path) -> None:
    sink = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    _Receiver.got = []
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "alertmanager.yml").write_text(f"""
route:
  receiver: ai-sre
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: ai-sre
    webhook_configs:
      - url: http://127.0.0.1:{sink.server_port}/intake/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
""")
    (tmp_path / "rules.yml").write_text("""
groups:
  - name: aisre
    interval: 1s
    rules:
      - alert: ErrorRateHigh
        expr: vector(1) > 0
        for: 0s
        labels: {service: tracking-api, severity: page}
        annotations: {summary: "tracking-api error rate above 5%", value: "{{ $value }}", threshold: "0.05"}
""")
    am = subprocess.Popen(
        [ALERTMANAGER, f"--config.file={tmp_path / 'am' / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
         "--cluster.listen-address="],
        stdout=open(tmp_path / "am.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    (tmp_path / "data").mkdir()
    prom = start_prometheus(tmp_path, f"""
global:
  evaluation_interval: 1s
rule_files: [{tmp_path / 'rules.yml'}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
""", prom_port, "--rules.alert.resend-delay=1s")  # the first send can precede Alertmanager discovery
    try:
        wait_ready(f"http://127.0.0.1:{am_port}/-/ready", am)
        wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", prom)
        deadline = time.monotonic() + 60
        while not _Receiver.got and time.monotonic() < deadline:
            time.sleep(0.25)
        assert _Receiver.got, "no webhook from Alertmanager within 60 s"
        headers, body = _Receiver.got[0]
        assert headers.get("Authorization") == f"Bearer {TOKEN}"
        assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "ai-sre"
        assert set(body) >= {"alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
                             "groupKey", "truncatedAlerts"}
        alert = body["alerts"][0]
        assert alert["labels"]["alertname"] == "ErrorRateHigh" and alert["labels"]["service"] == "tracking-api"
        assert set(alert) >= {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
        assert alert["annotations"]["value"] == "1"
        # the live alert is visible through the adapter too
        p = PrometheusMetrics(PrometheusSettings(url=f"http://127.0.0.1:{prom_port}"))
        try:
            assert any(a.name == "ErrorRateHigh" and a.state == "firing" for a in p.alerts())
        finally:
            p.close()
    finally:
        stop(prom)
        stop(am)
        sink.shutdown()
        sink.server_close()
