"""Test rig for the fault tests: a delaying HTTP proxy, a bot subprocess, PostgreSQL control.

- :class:`DelayProxy` forwards every request to an upstream; rules delay matching requests
  before forwarding (``before_s``, the upstream is slow to answer) or hold the answer after
  the upstream has acted (``hold``, the write landed but the caller does not know yet).
- :class:`BotProcess` runs ``aisre serve`` with an env, waits for ``/healthz``, kills it.
- :func:`restart_postgres` stops the local cluster, waits, and always starts it again.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")


@dataclass
class Rule:
    method: str
    path_contains: str
    before_s: float = 0.0
    hold: bool = False  # forward at once, keep the answer until release()
    skip_query: str | None = None  # requests whose query contains this are not matched (dryRun=All)

    def matches(self, method: str, path: str) -> bool:
        query = urllib.parse.urlsplit(path).query
        if self.skip_query and self.skip_query in query:
            return False
        return (self.method in ("*", method)) and self.path_contains in path


@dataclass
class DelayProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, "delayed"/"held"/"")
    released: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, mark: str) -> int:
        return sum(1 for s in self.seen if s[2] == mark)

    def start(self) -> DelayProxy:
        proxy = self
        up = urllib.parse.urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule = next((r for r in list(proxy.rules) if r.matches(self.command, self.path)), None)
                mark = "" if rule is None else ("held" if rule.hold else "delayed")
                proxy.seen.append((self.command, self.path, mark))
                if rule is not None and rule.before_s:
                    time.sleep(rule.before_s)
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP | {"host"}}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if rule is not None and rule.hold:
                        proxy.released.wait(120)
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in HOP | {"content-length"}:
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True
                finally:
                    conn.close()

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="delay-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class BotProcess:
    """``aisre serve`` in a subprocess (its own process group, so SIGKILL takes it all)."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> BotProcess:
        aisre = Path(sys.executable).parent / "aisre"
        cmd = [str(aisre), "serve"] if aisre.exists() else [sys.executable, "-m", "bot.cli.main", "serve"]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout_s, "the bot's /healthz", poll_s=0.2)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a crash or the OOM killer."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _pg_cluster() -> tuple[str, str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    return versions[-1], "main"


def pg_ctl(action: str) -> None:
    version, cluster = _pg_cluster()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, action], check=True,
                   capture_output=True, timeout=60)


def pg_accepts(url: str) -> bool:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(conninfo, connect_timeout=2) as c:
            c.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def postgres_down(url: str, *, down_s: float) -> Iterator[None]:
    """Stop the local PostgreSQL for ``down_s`` seconds inside the block; it is always started again."""
    pg_ctl("stop")
    try:
        yield
        time.sleep(down_s)
    finally:
        for _ in range(3):
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl("start")
            if wait_accepts(url, 30):
                break


def wait_accepts(url: str, timeout_s: float) -> bool:
    try:
        wait_for(lambda: pg_accepts(url), timeout_s, "PostgreSQL to accept connections", poll_s=0.25)
        return True
    except AssertionError:
        return False
