"""One leader among replicas: a lease row in the bot's store, renewed every ``lease_seconds / 3``.

Every replica runs a :class:`LeaderLease` thread that calls
:func:`bot.store.leases.try_acquire_or_renew` in its own short transaction.
The one that gets a token is the leader: ``on_elected(token)`` starts its
scheduler. When a renewal is refused (someone else holds it) or the store has
not answered for most of a lease, ``on_deposed()`` stops it again.

Timing: a leader trusts its lease until ``SAFETY`` (90 %) of ``lease_seconds``
after the start of its last successful renewal, so it stops acting before any
other replica can take the row. A leader that dies (killed, host lost) stops
renewing; its lease expires ``lease_seconds`` after its last renewal and the
next follower poll takes it, so fail-over takes at most
``lease_seconds + lease_seconds / 3``. A leader that stops cleanly releases
the row, and a follower takes over at its next poll. The fencing token grows
with each change of hands. Lease expiry is computed from each replica's own
clock, so replicas need clocks in sync to well under a lease (NTP).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from bot.store import leases
from bot.store.db import Database
from bot.store.models import utcnow

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
SAFETY = 0.9


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaderLease:
    def __init__(
        self, db: Database, *, lease_seconds: float, on_elected: Callable[[int], None],
        on_deposed: Callable[[], None], holder: str | None = None, name: str = LEASE_NAME,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.lease_seconds = float(lease_seconds)
        self.renew_every = self.lease_seconds / 3
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.holder = holder or default_holder()
        self.name = name
        self.clock = clock
        self.token: int | None = None
        self._valid_until = 0.0  # time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def is_leader(self) -> bool:
        """True while this replica holds a lease it can still trust."""
        return self.token is not None and time.monotonic() < self._valid_until

    def tick(self) -> bool:
        """One acquire-or-renew attempt; whether this replica leads afterwards."""
        with self._lock:
            started = time.monotonic()
            try:
                with self.db.session() as s:
                    token = leases.try_acquire_or_renew(
                        session=s, name=self.name, holder=self.holder, ttl=self.lease_seconds, now=self.clock()
                    )
            except Exception as e:  # the store is down: keep leading only while the last lease holds
                log.warning("scheduler lease %s: renewal failed: %s", self.name, e)
                if self.token is not None and time.monotonic() >= self._valid_until - self.renew_every:
                    self._depose("the store did not answer for most of a lease")
                return self.is_leader
            if token is None:
                if self.token is not None:
                    self._depose("another replica holds the lease")
                return False
            self._valid_until = started + self.lease_seconds * SAFETY
            if self.token != token:
                was = self.token
                self.token = token
                if was is None:
                    log.info("scheduler lease %s: %s is the leader (token %s)", self.name, self.holder, token)
                    try:
                        self.on_elected(token)
                    except Exception:
                        log.exception("scheduler start failed; stepping down")
                        self._release()
                        self._depose("could not start")
                        return False
            return True

    def _depose(self, why: str) -> None:
        if self.token is None:
            return
        log.warning("scheduler lease %s: %s is no longer the leader: %s", self.name, self.holder, why)
        self.token = None
        self._valid_until = 0.0
        try:
            self.on_deposed()
        except Exception:
            log.exception("scheduler stop failed")

    def _release(self) -> None:
        try:
            with self.db.session() as s:
                leases.release(session=s, name=self.name, holder=self.holder)
        except Exception as e:
            log.warning("scheduler lease %s: release failed: %s", self.name, e)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.renew_every)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing, stop the jobs, and release the lease so another replica takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease_seconds + 10)
            self._thread = None
        with self._lock:
            leading = self.token is not None
            self._depose("shutting down")
            if leading:
                self._release()
