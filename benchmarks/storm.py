"""Alert storm benchmark: intake, dedupe, grouping and Slack acks under load, on loopback.

    .venv/bin/python benchmarks/storm.py [--quick] [--postgres URL] [--notifications N] [--seconds S]

The bot is the real one (``build_bot`` + ``ServerThread`` on a free port, SQLite by
default, ``--postgres URL`` for a fresh database on that server), with its Slack client
pointed at the emulator. Its investigator is switched off (``hooks.investigate = None``),
so what is measured is intake + grouping + opening channels and briefs + Slack acks.

A separate process (so that the load does not share the bot's interpreter lock) runs the
Slack emulator and the load:

- ``--notifications`` Alertmanager webhooks (v4, one alert each) spread evenly over
  ``--seconds``, across ``--services`` services of a generated catalog: groups of
  ``--group-size`` services (``svc-G-K`` all depending on ``db-G``), so the alerts of one
  group belong to one incident. Each service has three alert names; every other
  notification repeats a fingerprint already sent (duplicates). A 503 answer or a
  dropped connection is retried with back-off, as Alertmanager does.
- signed ``/aisre help`` and ``/aisre status`` slash commands every ``--command-every``
  seconds through the emulator; the ack latency is the HTTP time of each delivery.

Checks: every notification got a 2xx (after retries) and its alert row is in the alerts
table (by a ``seq`` annotation), and there is one incident per group.

Last line: ``alerts_sent=... alerts_lost=... incidents_expected=... incidents_made=...
ack_p99_ms=... rss_mb=...`` (rss of the bot's process, peak).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import resource
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ALERT_NAMES = ("HighErrorRate", "HighLatencyP95", "PodRestarting")
AM_TOKEN = "storm-alertmanager-token"
FULL = {"notifications": 5000, "seconds": 30.0, "services": 50, "group_size": 5}
QUICK = {"notifications": 600, "seconds": 6.0, "services": 20, "group_size": 5}


@dataclass
class Plan:
    notifications: int
    seconds: float
    services: int
    group_size: int
    command_every: float = 0.1
    seed: int = 7

    @property
    def groups(self) -> int:
        return max(1, self.services // self.group_size)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_names(plan: Plan) -> list[tuple[int, str]]:
    """(group, service) for every service that alerts: ``db-G`` and ``svc-G-K``."""
    out = []
    for g in range(plan.groups):
        out.append((g, f"db-{g}"))
        out += [(g, f"svc-{g}-{k}") for k in range(1, plan.group_size)]
    return out[: plan.services]


def catalog_yaml(plan: Plan) -> str:
    lines = ["services:"]
    for g in range(plan.groups):
        lines.append(f"  - {{name: db-{g}, namespace: g{g}, kind: database, tier: critical}}")
        for k in range(1, plan.group_size):
            lines.append(f"  - {{name: svc-{g}-{k}, namespace: g{g}, tier: standard, depends_on: [db-{g}]}}")
    return "\n".join(lines) + "\n"


def notifications(plan: Plan, started: datetime) -> list[dict[str, Any]]:
    """The storm: (seq, group, fingerprint, body); half are repeats of an earlier fingerprint."""
    import random

    rng = random.Random(plan.seed)
    services = service_names(plan)
    keys = [(g, svc, name) for g, svc in services for name in ALERT_NAMES]
    rng.shuffle(keys)
    out: list[dict[str, Any]] = []
    sent: list[tuple[int, str, str]] = []
    for seq in range(plan.notifications):
        fresh = keys[len(sent)] if len(sent) < len(keys) and (seq % 2 == 0 or not sent) else None
        if fresh is not None:
            sent.append(fresh)
            g, svc, name = fresh
        else:
            g, svc, name = rng.choice(sent)
        fp = f"{svc}-{name}"
        at = started - timedelta(seconds=30 + zlib.crc32(fp.encode()) % 60)
        labels = {"alertname": name, "service": svc, "severity": "page", "namespace": f"g{g}"}
        alert = {
            "status": "firing", "labels": labels,
            "annotations": {"summary": f"{name} on {svc}", "seq": str(seq)},
            "startsAt": at.isoformat().replace("+00:00", "Z"), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": f"http://prometheus.local/graph?g0.expr={name}", "fingerprint": fp,
        }
        body = {
            "version": "4", "groupKey": f"{{}}:{{alertname=\"{name}\", service=\"{svc}\"}}", "status": "firing",
            "receiver": "aisre", "groupLabels": {"alertname": name, "service": svc}, "commonLabels": labels,
            "commonAnnotations": {}, "externalURL": "http://alertmanager.local", "truncatedAlerts": 0,
            "alerts": [alert],
        }
        out.append({"seq": seq, "group": g, "fingerprint": fp, "body": body})
    return out


# --- the load process ------------------------------------------------------------------------


def post_until_accepted(client: Any, url: str, body: dict[str, Any], *, max_attempts: int = 40,
                        backoff_s: float = 0.1, give_up_s: float = 120.0) -> dict[str, Any]:
    """POST like Alertmanager: retry 5xx and connection errors with back-off; the last status."""
    import httpx

    status: int | None = None
    unavailable = 0
    deadline = time.monotonic() + give_up_s
    for attempt in range(1, max_attempts + 1):
        try:
            r = client.post(url, json=body, headers={"Authorization": f"Bearer {AM_TOKEN}"})
            status = r.status_code
        except httpx.HTTPError:
            status = None
        if status is not None and status < 500:
            return {"status": status, "attempts": attempt, "unavailable": unavailable}
        unavailable += 1
        if time.monotonic() > deadline:
            break
        time.sleep(min(2.0, backoff_s * 2 ** min(attempt - 1, 5)))
    return {"status": status, "attempts": max_attempts, "unavailable": unavailable}


def load_worker(conn: Any, plan: Plan, bot_url: str, signing_secret: str, bot_token: str) -> None:
    import httpx

    from bot.sandbox.slack import start_emulator

    logging.basicConfig(level=logging.WARNING)
    emulator = start_emulator(f"{bot_url}/slack/events", signing_secret, bot_token, timeout_s=3.0)
    conn.send({"api_url": emulator.api_url})
    if conn.recv() != "go":
        emulator.stop()
        return
    plan_items = notifications(plan, datetime.now(UTC))
    results: list[dict[str, Any] | None] = [None] * len(plan_items)
    acks: list[float] = []
    ack_failures = 0
    stop = threading.Event()

    def commands() -> None:
        nonlocal ack_failures
        i = 0
        while not stop.is_set():
            text = "help" if i % 2 == 0 else "status"
            d = emulator.people.slash_command("U0ALICE", "incidents", "/aisre", text).result(timeout=30)
            if d.ok and d.attempts:
                acks.append(d.attempts[-1].elapsed_s * 1000)
            else:
                ack_failures += 1
            i += 1
            stop.wait(plan.command_every)

    cmd_thread = threading.Thread(target=commands, name="storm-commands", daemon=True)
    url = f"{bot_url}/intake/alertmanager"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    t0 = time.monotonic()
    with httpx.Client(timeout=10.0, limits=limits) as client, ThreadPoolExecutor(max_workers=48) as pool:
        cmd_thread.start()

        def send(i: int) -> None:
            results[i] = post_until_accepted(client, url, plan_items[i]["body"])

        gap = plan.seconds / max(1, len(plan_items))
        futures = []
        for i in range(len(plan_items)):
            delay = t0 + i * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, i))
        for f in futures:
            f.result()
    elapsed = time.monotonic() - t0
    stop.set()
    cmd_thread.join(timeout=35)
    conn.send({
        "results": [{"seq": it["seq"], "group": it["group"], **(r or {"status": None, "attempts": 0,
                                                                   "unavailable": 0})}
                    for it, r in zip(plan_items, results, strict=True)],
        "acks_ms": acks, "ack_failures": ack_failures, "elapsed_s": elapsed,
    })
    conn.recv()  # keep Slack up until the bot has finished its incident work
    emulator.stop()


# --- the bot's side ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def _fresh_pg(server_url: str) -> tuple[str, Any]:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"aisre_storm_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def run(plan: Plan, *, postgres: str | None = None, knowledge: bool = True, say: Any = print) -> dict[str, Any]:
    import sqlalchemy as sa

    from bot.runtime import ServerThread
    from bot.settings import Settings
    from bot.store.models import AlertRow, Incident
    from bot.wiring.bot import build_bot

    workdir = Path(tempfile.mkdtemp(prefix="aisre-storm-"))
    (workdir / "services.yaml").write_text(catalog_yaml(plan))
    drop = None
    db_url = f"sqlite:///{workdir / 'aisre.db'}"
    if postgres:
        db_url, drop = _fresh_pg(postgres)
    port = free_port()
    bot_url = f"http://127.0.0.1:{port}"
    defaults = Settings(database_url=db_url)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    worker = ctx.Process(target=load_worker, args=(child, plan, bot_url,
                                                   defaults.slack.signing_secret.get_secret_value(),
                                                   defaults.slack.bot_token.get_secret_value()), daemon=True)
    worker.start()
    bot = web = None
    try:
        api_url = parent.recv()["api_url"]
        settings = Settings.model_validate({
            "database_url": db_url, "data_dir": str(workdir), "port": port, "public_url": bot_url,
            "log_level": "WARNING",
            "slack": {"api_url": api_url, "approvers": ["U0ALICE"]},
            "prometheus": {"alertmanager_token": AM_TOKEN},
            "incidents": {"services_file": str(workdir / "services.yaml")},
            "knowledge": {"chroma_path": str(workdir / "chroma"), "postmortems_dir": str(workdir / "pm")},
            "scheduler": {"enabled": False},
        })
        bot = build_bot(settings, with_scheduler=False)
        bot.incidents.hooks.investigate = None  # measure intake + grouping + Slack, not investigations
        bot.incidents.hooks.chart = None
        if not knowledge:  # the index plays no part in intake; CI skips building it
            bot.knowledge.start = lambda **_kw: bot.knowledge.ready.set()  # type: ignore[method-assign]
        bot.start()
        bot.knowledge.ready.wait(120)
        web = ServerThread(bot.web, "127.0.0.1", port).start()
        say(f"storm: {plan.notifications} notifications in {plan.seconds:.0f}s across {plan.services} services "
            f"({plan.groups} groups), db {bot.db.dialect}")
        parent.send("go")
        load = parent.recv()
        results = load["results"]
        with bot.db.session() as s:
            stored = {str((a or {}).get("seq")) for a in s.scalars(sa.select(AlertRow.annotations)).all()}
            incidents = s.scalars(sa.select(Incident)).all()
            made = len(incidents)
        acked = [r for r in results if r["status"] is not None and 200 <= r["status"] < 300]
        lost = [r for r in results if not (r["status"] is not None and 200 <= r["status"] < 300)
                or str(r["seq"]) not in stored]
        expected = len({r["group"] for r in results})
        bot.incidents.shutdown()  # the channels and briefs of every incident
        with bot.db.session() as s:
            briefed = s.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.brief_ts.is_not(None)))
        acks = load["acks_ms"]
        out = {
            "alerts_sent": len(results), "alerts_lost": len(lost), "incidents_expected": expected,
            "incidents_made": made, "ack_p99_ms": round(percentile(acks, 99), 1),
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        say(f"  load took {load['elapsed_s']:.1f}s ({len(results) / max(load['elapsed_s'], 1e-9):.0f}/s); "
            f"{len(acked)} acked, {sum(r['unavailable'] for r in results)} retried answers; "
            f"{len(stored)} alert rows; {briefed}/{made} incidents briefed")
        say(f"  slash commands: {len(acks)} acked, {load['ack_failures']} failed; p50 "
            f"{percentile(acks, 50):.1f} ms, p99 {percentile(acks, 99):.1f} ms, max "
            f"{max(acks) if acks else float('nan'):.1f} ms")
        parent.send("done")
        return out
    finally:
        if web is not None:
            web.stop()
        if bot is not None:
            bot.stop()
        worker.join(timeout=15)
        if worker.is_alive():
            worker.kill()
        if drop is not None:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the reduced size CI runs")
    p.add_argument("--postgres", default=None, help="a PostgreSQL server URL: the bot uses a fresh database on it")
    p.add_argument("--notifications", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--services", type=int, default=None)
    p.add_argument("--group-size", type=int, default=None)
    p.add_argument("--no-knowledge", action="store_true", help="do not build the knowledge index at start")
    p.add_argument("--command-every", type=float, default=0.1, help="seconds between slash commands")
    args = p.parse_args(argv)
    size = dict(QUICK if args.quick else FULL)
    for key in size:
        if getattr(args, key) is not None:
            size[key] = getattr(args, key)
    plan = Plan(**size, command_every=args.command_every)  # type: ignore[arg-type]
    out = run(plan, postgres=args.postgres, knowledge=not args.no_knowledge, say=lambda s: print(s, file=sys.stderr, flush=True))
    print(" ".join(f"{k}={v}" for k, v in out.items()), flush=True)
    return 0 if out["alerts_lost"] == 0 and out["incidents_made"] == out["incidents_expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
