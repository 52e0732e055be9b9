"""Brief latency and intake throughput.

1. Webhook -> brief, over every example scenario: the demo stack (sandbox servers, the Slack
   emulator, the bot's web server), the alert fired as its real source sends it; the time from
   the firing HTTP request to the emulator receiving the final ``chat.update`` of the brief
   (median, p95). Every evidence query is timed through a proxy around the Sources' adapters
   (here, not in production code) to give the ratio of brief time to the slowest single query.
2. Intake with dedupe on SQLite: a burst of Alertmanager notifications with repeats through
   ``IntakeService.receive`` in-process, and the same burst over HTTP to the bot's web server from
   four sender processes (keep-alive connections, as Alertmanager's).

Ends with one line: ``brief_median_s=… brief_p95_s=… brief_over_slowest_query=… intake_alerts_per_s=…``
(``intake_alerts_per_s`` is the HTTP figure, the lower of the two). Targets: p95 <= 1 s,
ratio <= 1.5, >= 500 alerts/s.

    .venv/bin/python benchmarks/brief.py [--scenarios DIR] [--runs 3] [--alerts 2000] [--repeats 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bot.sandbox.demo import free_port, run_demo  # noqa: E402
from bot.sandbox.firing import alertmanager_body, build, fire  # noqa: E402
from bot.settings import Settings  # noqa: E402

EXAMPLES = Path("/work/shared/scenarios/examples")


# --- timing the evidence queries -------------------------------------------------------------


class Timings:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, float, float]] = []  # (name, started, seconds)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()


class Timed:
    """Forwards every attribute; times every method call."""

    def __init__(self, name: str, target: Any, timings: Timings) -> None:
        self._name, self._target, self._timings = name, target, timings

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not callable(value) or attr.startswith("_"):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                with self._timings.lock:
                    self._timings.calls.append((f"{self._name}.{attr}", t0, time.perf_counter() - t0))

        return timed


def time_sources(sources: Any, timings: Timings) -> None:
    for f in dataclasses.fields(sources):
        value = getattr(sources, f.name)
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            setattr(sources, f.name, type(value)(Timed(f"{f.name}[{i}]", v, timings) for i, v in enumerate(value)))
        else:
            setattr(sources, f.name, Timed(f.name, value, timings))


# --- webhook -> brief ------------------------------------------------------------------------


def knowledge_template(root: Path) -> Path:
    from bot.wiring.knowledge import Knowledge

    data = Settings(database_url=f"sqlite:///{root / 'unused.db'}", data_dir=root).model_dump()
    data["knowledge"].update(chroma_path=str(root / "chroma"), postmortems_dir=str(root / "pm"))
    Knowledge(Settings.model_validate(data)).start(background=False)
    return root / "chroma"


def _final_brief_at(calls: list[tuple[float, str, dict[str, Any]]], channel: str, ts: str) -> float | None:
    for at, method, args in calls:
        if method != "chat.update" or args.get("channel") != channel or args.get("ts") != ts:
            continue
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        notes = [b for b in blocks or [] if b.get("block_id") == "aisre.brief.notes"]
        if not any("Investigating" in json.dumps(b) for b in notes):
            return at
    return None


def brief_once(path: Path, template: Path, speed: float) -> tuple[float, float, str]:
    """(seconds webhook -> final brief, slowest evidence query in seconds, its name)."""
    work = Path(tempfile.mkdtemp(prefix="aisre-bench-"))
    shutil.copytree(template, work / "chroma")
    demo = run_demo(path, speed=speed, workdir=work, fire_alert=False)
    try:
        demo.bot.knowledge.ready.wait(30)
        timings = Timings()
        time_sources(demo.bot.integrations.sources, timings)
        # the runbook and past-incident search is an evidence query too
        demo.bot.knowledge.evidence = Timed("knowledge", demo.bot.knowledge, timings).evidence  # type: ignore[method-assign]
        st = demo.emulator.state
        calls: list[tuple[float, str, dict[str, Any]]] = []
        original = st.record_call

        def record(method: str, args: dict[str, Any]) -> None:
            calls.append((time.perf_counter(), method, dict(args)))
            original(method, args)

        st.record_call = record  # type: ignore[method-assign]
        firing = build(demo.replay, demo.settings.public_url, demo.settings)
        # the sender's HTTP client is built before the clock starts (httpx spends ~35 ms on its TLS
        # context): the figure is the bot's, from the request to the brief, as a sender that keeps
        # its client (Alertmanager, Datadog) sees it
        transport = httpx.HTTPTransport()
        timings.reset()
        t0 = time.perf_counter()
        resp = fire(firing, transport=transport)
        if resp.status_code != 202:
            raise RuntimeError(f"{path.name}: firing answered {resp.status_code}")
        deadline = time.monotonic() + 60
        done: float | None = None
        while done is None and time.monotonic() < deadline:
            inc = demo.incident()
            if inc is not None and inc.channel_id and inc.brief_ts:
                done = _final_brief_at(list(calls), inc.channel_id, inc.brief_ts)
            time.sleep(0.005)
        if done is None:
            raise RuntimeError(f"{path.name}: no final brief within 60 s")
        with timings.lock:
            during = [(n, s) for n, start, s in timings.calls if start < done]
        name, slowest = max(during, key=lambda x: x[1]) if during else ("none", float("nan"))
        return done - t0, slowest, name
    finally:
        demo.stop()
        shutil.rmtree(work, ignore_errors=True)


# --- intake throughput -----------------------------------------------------------------------


def burst(n: int, repeats: int) -> list[bytes]:
    """``n`` Alertmanager notifications: ``n // repeats`` distinct alerts, each sent ``repeats`` times."""
    from bot.sandbox.replay import Replay
    from bot.scenarios import load_scenario

    replay = Replay(load_scenario(EXAMPLES / "deploy-regression.yaml"))
    base = alertmanager_body(replay)
    distinct = max(1, n // repeats)
    bodies = []
    for i in range(distinct):
        b = json.loads(json.dumps(base))
        b["alerts"][0]["labels"]["alertname"] = f"Bench{i}High"
        b["alerts"][0]["fingerprint"] = f"{i:016x}"
        bodies.append(json.dumps(b).encode())
    return [bodies[i % distinct] for i in range(distinct * repeats)]


def intake_service(work: Path) -> Any:
    from bot.catalog.model import ServiceCatalog
    from bot.intake.service import IntakeService
    from bot.store.db import Database
    from bot.store.migrate import ensure_schema

    url = f"sqlite:///{work / 'intake.db'}"
    ensure_schema(url)
    settings = Settings(database_url=url, data_dir=work, log_level="WARNING")
    return IntakeService(db=Database(url), settings=settings, catalog=lambda: ServiceCatalog())


def intake_in_process(bodies: list[bytes]) -> float:
    work = Path(tempfile.mkdtemp(prefix="aisre-bench-intake-"))
    svc = intake_service(work)
    headers = {"Authorization": f"Bearer {_am_token(svc.settings)}"}
    t0 = time.perf_counter()
    for b in bodies:
        a = svc.receive("alertmanager", b, headers, "127.0.0.1")
        assert a.status == 202, a.body
    rate = len(bodies) / (time.perf_counter() - t0)
    svc.db.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return rate


def _post_chunk(url: str, headers: dict[str, str], chunk: list[bytes], go: Any, out: Any) -> None:
    """One sender process: a keep-alive connection, the chunk posted in order once ``go`` is set."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=30)
    conn.connect()
    go.wait()
    errors = []
    for b in chunk:
        conn.request("POST", u.path, body=b, headers=headers)
        r = conn.getresponse()
        text = r.read()
        if r.status != 202:
            errors.append(f"{r.status} {text[:200]!r}")
    conn.close()
    out.put(errors)


def intake_over_http(bodies: list[bytes], clients: int = 4) -> float:
    """The bot's web server in this process; the senders in ``clients`` processes of their own (as
    Alertmanager and Datadog are), so their HTTP work does not share the server's interpreter."""
    import multiprocessing as mp

    from bot.runtime import ServerThread
    from bot.web.app import create_web_app
    from bot.web.metrics import BotMetrics

    work = Path(tempfile.mkdtemp(prefix="aisre-bench-http-"))
    svc = intake_service(work)
    port = free_port()
    web = ServerThread(create_web_app(intake=svc, metrics=BotMetrics(), readiness=lambda: []), "127.0.0.1", port)
    web.start()
    headers = {"Authorization": f"Bearer {_am_token(svc.settings)}", "Content-Type": "application/json"}
    url = f"http://127.0.0.1:{port}/intake/alertmanager"
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_post_chunk, args=(url, headers, bodies[i::clients], go, out)) for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # the senders start and connect before the clock does
    t0 = time.perf_counter()
    go.set()
    errors = [e for _ in procs for e in out.get(timeout=300)]
    rate = len(bodies) / (time.perf_counter() - t0)
    for p in procs:
        p.join(timeout=10)
    web.stop()
    svc.db.dispose()
    shutil.rmtree(work, ignore_errors=True)
    if errors:
        raise RuntimeError(f"{len(errors)} notifications failed: {errors[0]}")
    return rate


def _am_token(settings: Settings) -> str:
    tok = settings.prometheus.alertmanager_token
    return tok.get_secret_value() if tok else ""


def _p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(0.95 * (len(s) - 1)))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", type=Path, default=EXAMPLES)
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3, help="briefs per scenario (its median run is reported)")
    ap.add_argument("--alerts", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=4, help="each distinct alert is sent this many times")
    args = ap.parse_args(argv)
    say: Callable[[str], None] = lambda s: print(s, flush=True)  # noqa: E731

    kn_root = Path(tempfile.mkdtemp(prefix="aisre-bench-kn-"))
    template = knowledge_template(kn_root)
    briefs, ratios = [], []
    try:
        for path in sorted(args.scenarios.glob("*.yaml")):
            runs = [brief_once(path, template, args.speed) for _ in range(args.runs)]
            seconds, slowest, name = sorted(runs, key=lambda r: r[0] / r[1])[len(runs) // 2]  # the median run
            briefs += [r[0] for r in runs]
            ratios.append(seconds / slowest)
            say(f"{path.stem:22} brief {seconds:6.3f} s  slowest query {slowest:6.3f} s ({name})  "
                f"ratio {seconds / slowest:5.2f}  (median of {args.runs})")
    finally:
        shutil.rmtree(kn_root, ignore_errors=True)
    bodies = burst(args.alerts, args.repeats)
    in_proc = intake_in_process(bodies)
    over_http = intake_over_http(bodies)
    say(f"intake: {len(bodies)} notifications ({len(bodies) // args.repeats} distinct x {args.repeats}): "
        f"{in_proc:.0f}/s in-process, {over_http:.0f}/s over HTTP")
    say(f"brief_median_s={statistics.median(briefs):.3f} brief_p95_s={_p95(briefs):.3f} "
        f"brief_over_slowest_query={statistics.median(ratios):.2f} intake_alerts_per_s={min(in_proc, over_http):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
