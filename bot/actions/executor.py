"""Run an approved action: lock, precheck, checkpoint, execute, verify, revert.

States move only by compare-and-set (:func:`bot.store.actions_repo.transition`)::

    approved -> executing -> verifying -> done | reverted | failed
             -> shadowed (a change freeze began) | refused (breaker open, precheck) | failed (busy, hash)

Two callers running one action: one wins the ``approved -> executing`` CAS, the
other is told so. Two actions on one resource: the store's lock (with a fencing
token) makes the second wait, up to ``lock_wait_s``. An action found
``executing``/``verifying`` whose lock is gone (the process died) is flagged by
:meth:`Executor.find_interrupted` and moved to ``failed``; it is never re-run.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import socket
import uuid
from typing import Any

from pydantic import BaseModel

from bot.actions import store_ops
from bot.actions.approvals import params_hash
from bot.actions.policy import automation_key
from bot.actions.runtime import ActionDeps, Outcome, Progress, log
from bot.actions.spec import ActionError, ActionSpec, PreconditionFailed
from bot.actions.verify import WATCHED, Sample, describe, improved, worse
from bot.integrations.errors import IntegrationError
from bot.store import actions_repo, locks
from bot.store.models import Action

_INSTANCE: dict[int, str] = {}


def process_instance() -> str:
    """This process as ``host:pid:boot``; the boot id tells a restarted container (same pid) apart."""
    pid = os.getpid()
    if pid not in _INSTANCE:
        _INSTANCE[pid] = f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}"
    return _INSTANCE[pid]


def holder_for(action_id: int, runner: str | None = None) -> str:
    """The lock holder of one run of an action: ``action-<id>/<host:pid:boot>/<run>`` (unique per call)."""
    return f"action-{action_id}/{runner or process_instance() + '/' + uuid.uuid4().hex[:12]}"


def _runs(action_id: int, holder: str | None) -> bool:
    return holder is not None and holder.startswith(f"action-{action_id}/")


def _dead_holder(holder: str) -> bool:
    """True when ``holder`` ran in a process of this host that is gone (the bot crashed and restarted)."""
    parts = holder.split("/")
    instance = parts[1].split(":") if len(parts) >= 3 else []
    if len(instance) != 3 or instance[0] != socket.gethostname() or not instance[1].isdigit():
        return False  # another host, or an older holder: only its lock expiry tells
    if parts[1] == process_instance():
        return False
    pid = int(instance[1])
    if pid == os.getpid():
        return True  # our pid, another boot: this container restarted
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Executor:
    def __init__(self, deps: ActionDeps) -> None:
        self.d = deps

    # --- entry points -------------------------------------------------------------------------

    def run(self, action_id: int, *, progress: Progress | None = None) -> Outcome:
        """Carry out one approved action to its end state. Safe to call twice or from two processes."""
        d = self.d
        with d.db.session() as s:
            a = actions_repo.get(session=s, action_id=action_id)
            if a is None:
                raise ValueError(f"no action {action_id}")
            if a.state != "approved":
                return Outcome(action_id, a.state, f"not run: action is {a.state}")
            spec = d.registry.get(a.name)
            approval = store_ops.approval_for(session=s, action_id=action_id)
            approved_hash = approval.params_hash if approval is not None else a.params_hash
            ctx = dict((a.result or {}).get("context", {}))
        try:
            params = d.registry.validate(a.name, a.params)
        except ActionError as e:
            return self._end(a, ["approved"], "failed", f"{a.name}: parameters no longer valid: {e}", progress)
        h = params_hash(a.name, params.model_dump(mode="json"))
        if h != a.params_hash or h != approved_hash:
            return self._end(a, ["approved"], "failed", f"{a.name}: parameters differ from what was approved", progress)
        if spec.read_only:
            return self._run_read_only(a, spec, params, progress)

        resources = _slots(spec, params)
        holder = holder_for(a.id)
        token, resource = self._lock(a.id, holder, resources, spec)
        if token is None or resource is None:
            if self._still_held(a):
                return Outcome(a.id, "approved", "already being run by another worker")
            return self._end(
                a, ["approved"], "failed", f"{a.name}: {resources[0]} is busy with another action", progress
            )
        try:
            return self._run_locked(a, spec, params, ctx, resource, holder, token, progress)
        finally:
            with d.db.session() as s:
                locks.release(session=s, resource=resource, holder=holder, token=token)

    def find_interrupted(self) -> list[dict[str, Any]]:
        """Actions left ``executing``/``verifying`` by a dead process: flag them (failed), never re-run."""
        d = self.d
        flagged = []
        with d.db.session() as s:
            candidates = actions_repo.in_states(session=s, states={"executing", "verifying"})
        for a in candidates:
            if self._still_held(a):
                continue
            self._release_dead(a)
            text = (
                f"{a.name} on {a.target} was interrupted while {a.state} (the bot stopped); "
                "it will not be re-run: a person must check the target"
            )
            with d.db.session() as s:
                if actions_repo.transition(
                    session=s, action_id=a.id, from_states=[a.state], to_state="failed",
                    error=text, finished_at=d.clock(),
                ):
                    log(d, s, a, "interrupted", text, previous_state=a.state)
                    flagged.append(dict(store_ops.as_view(a)) | {"state": "failed", "interrupted_in": a.state,
                                                                 "incident_id": a.incident_id, "text": text})
        return flagged

    # --- steps ---------------------------------------------------------------------------------

    def _run_read_only(self, a: Action, spec: ActionSpec, params: BaseModel, progress: Progress | None) -> Outcome:
        d = self.d
        with d.db.session() as s:
            if not actions_repo.transition(
                session=s, action_id=a.id, from_states=["approved"], to_state="executing", started_at=d.clock()
            ):
                return Outcome(a.id, "approved", "already running")
        try:
            result = self._call(spec, lambda: spec.handler(params, d.ports))
        except Exception as e:  # a read that fails changes nothing; report it
            return self._end(a, ["executing"], "failed", f"{a.name} failed: {_err(e)}", progress)
        return self._end(a, ["executing"], "done", f"{a.name} done", progress, result=result)

    def _run_locked(
        self, a: Action, spec: ActionSpec, params: BaseModel, ctx: dict[str, Any], resource: str, holder: str,
        token: int, progress: Progress | None,
    ) -> Outcome:
        d = self.d
        key = automation_key(a.name, a.target)
        with d.db.session() as s:
            if store_ops.freeze_on(session=s):
                won = actions_repo.transition(
                    session=s, action_id=a.id, from_states=["approved"], to_state="shadowed",
                    error="a change freeze began before it ran", finished_at=d.clock(),
                )
                if won:
                    log(d, s, a, "shadowed", f"{a.name} on {a.target} not run: change freeze is on", progress=progress)
                return Outcome(a.id, "shadowed", "not run: change freeze is on", changed=won)
            breakers = store_ops.open_breakers(session=s)
            if key in breakers:
                text = f"{a.name} on {a.target} refused: circuit breaker open for {key} ({breakers[key]})"
                won = actions_repo.transition(
                    session=s, action_id=a.id, from_states=["approved"], to_state="refused", error=text,
                    finished_at=d.clock(),
                )
                if won:
                    log(d, s, a, "refused", text, progress=progress)
                return Outcome(a.id, "refused", text, changed=won)
            if not actions_repo.transition(
                session=s, action_id=a.id, from_states=["approved"], to_state="executing", started_at=d.clock()
            ):
                return Outcome(a.id, "executing", "already running or decided elsewhere")
            log(d, s, a, "executing", f"{a.name} on {a.target}: starting (lock {resource})", progress=progress,
                resource=resource, token=token)

        watch = str(ctx.get("watch_service") or a.target)
        try:
            self._still_broken(ctx, watch)
            spec.precheck(params, d.ports)
        except PreconditionFailed as e:
            return self._end(a, ["executing"], "refused", f"{a.name} not run: {e}", progress)
        except Exception as e:
            return self._end(a, ["executing"], "failed", f"{a.name} precheck failed: {_err(e)}", progress)
        baseline = self._sample(watch)
        try:
            checkpoint = spec.checkpoint(params, d.ports)
        except Exception as e:
            return self._end(a, ["executing"], "failed", f"{a.name}: could not take a checkpoint: {_err(e)}", progress)
        with d.db.session() as s:
            if not locks.check(session=s, resource=resource, token=token, now=d.clock()):
                actions_repo.transition(
                    session=s, action_id=a.id, from_states=["executing"], to_state="failed",
                    error="lost the resource lock before acting", finished_at=d.clock(),
                )
                return Outcome(a.id, "failed", "lost the resource lock before acting; nothing was changed")
            actions_repo.transition(
                session=s, action_id=a.id, from_states=["executing"], to_state="executing", checkpoint=checkpoint
            )
            log(d, s, a, "checkpoint", f"{a.name}: checkpoint taken; before: {describe(baseline)}",
                progress=progress, checkpoint=checkpoint, baseline=baseline)
        try:
            result = self._call(spec, lambda: spec.handler(params, d.ports))
        except concurrent.futures.TimeoutError:
            text = f"{a.name} on {a.target} timed out after {spec.timeout_s:.0f}s; it may still be in progress"
            return self._end(a, ["executing"], "failed", text, progress)
        except Exception as e:
            return self._end(a, ["executing"], "failed", f"{a.name} on {a.target} failed: {_err(e)}", progress)

        if spec.verify == "none" or d.ports.metrics is None:
            note = "" if spec.verify == "none" else " (not verified: no metrics reader)"
            return self._end(a, ["executing"], "done", f"{a.name} on {a.target} done{note}", progress, result=result)
        with d.db.session() as s:
            actions_repo.transition(
                session=s, action_id=a.id, from_states=["executing"], to_state="verifying", result=_merge(a, result)
            )
            log(d, s, a, "verifying",
                f"{a.name} on {a.target} applied; watching {watch} for {d.settings.verify_s:.0f}s",
                progress=progress)
        problems = self._watch(watch, self._reference(baseline, watch, a), resource, holder)
        if not problems:
            after = self._sample(watch)
            verdict = "improved" if improved(baseline, after, d.thresholds) else "no worse"
            return self._end(
                a, ["verifying"], "done", f"{a.name} on {a.target} verified: {verdict} ({describe(after)})",
                progress, result=result,
            )
        return self._revert(a, spec, params, checkpoint, problems, result, progress)

    def _revert(
        self, a: Action, spec: ActionSpec, params: BaseModel, checkpoint: dict[str, Any], problems: list[str],
        result: dict[str, Any], progress: Progress | None,
    ) -> Outcome:
        d = self.d
        why = "; ".join(problems)
        if spec.revert is None:
            text = f"{a.name} on {a.target} made things worse ({why}) and cannot be undone: escalate"
            return self._end(a, ["verifying"], "failed", text, progress, result=result)
        try:
            spec.revert(params, checkpoint, d.ports)
        except Exception as e:
            text = f"{a.name} on {a.target} made things worse ({why}) and the revert failed: {_err(e)}"
            return self._end(a, ["verifying"], "failed", text, progress, result=result)
        key = automation_key(a.name, a.target)
        with d.db.session() as s:
            count, opened = store_ops.record_revert(
                session=s, key=key, threshold=d.settings.breaker_reverts, now=d.clock()
            )
        text = f"{a.name} on {a.target} reverted from its checkpoint: {why}"
        if opened:
            text += f"; circuit breaker opened for {key} after {count} reverts (a person must re-enable it)"
        out = self._end(a, ["verifying"], "reverted", text, progress, result=result, reverts=count)
        return Outcome(a.id, out.state, text, changed=out.changed, reverted=True, breaker_opened=opened,
                       result=result)

    # --- helpers -------------------------------------------------------------------------------

    def _end(
        self, a: Action, from_states: list[str], state: str, text: str, progress: Progress | None,
        result: dict[str, Any] | None = None, **detail: Any,
    ) -> Outcome:
        d = self.d
        fields: dict[str, Any] = {"finished_at": d.clock()}
        if result is not None:
            fields["result"] = _merge(a, result)
        if state in ("failed", "refused"):
            fields["error"] = text
        with d.db.session() as s:
            won = actions_repo.transition(session=s, action_id=a.id, from_states=from_states, to_state=state, **fields)
            if won:
                log(d, s, a, state, text, progress=progress, **detail)
            else:
                current = actions_repo.get(session=s, action_id=a.id)
                now_state = current.state if current is not None else "unknown"
                return Outcome(a.id, now_state, f"not changed: action is {now_state}")
        return Outcome(a.id, state, text, changed=won, result=result or {})

    def _call(self, spec: ActionSpec, fn: Any) -> dict[str, Any]:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"action-{spec.name}")
        try:
            return dict(pool.submit(fn).result(timeout=spec.timeout_s) or {})
        finally:
            pool.shutdown(wait=False)

    def _lock(
        self, action_id: int, holder: str, resources: list[str], spec: ActionSpec
    ) -> tuple[int | None, str | None]:
        d = self.d
        ttl = spec.timeout_s + d.settings.verify_s + 60
        waited = 0.0
        while True:
            for r in resources:
                with d.db.session() as s:
                    token = locks.acquire(session=s, resource=r, holder=holder, ttl=ttl, now=d.clock())
                if token is not None:
                    return token, r
            if waited >= d.lock_wait_s:
                return None, None
            d.sleep(d.lock_poll_s)
            waited += d.lock_poll_s

    def _still_held(self, a: Action) -> bool:
        try:
            spec = self.d.registry.get(a.name)
            resources = _slots(spec, self.d.registry.validate(a.name, a.params))
        except ActionError:
            return False
        with self.d.db.session() as s:
            for r in resources:
                lock = locks.get(session=s, resource=r, now=self.d.clock())
                if lock is not None and _runs(a.id, lock.holder) and not _dead_holder(lock.holder or ""):
                    return True
        return False

    def _release_dead(self, a: Action) -> None:
        """Give back the locks a dead process of this host held for ``a`` (rather than wait for expiry)."""
        try:
            resources = _slots(self.d.registry.get(a.name), self.d.registry.validate(a.name, a.params))
        except ActionError:
            return
        with self.d.db.session() as s:
            for r in resources:
                lock = locks.get(session=s, resource=r, now=self.d.clock())
                if lock is not None and lock.holder and _runs(a.id, lock.holder) and _dead_holder(lock.holder):
                    locks.release(session=s, resource=r, holder=lock.holder)

    def _still_broken(self, ctx: dict[str, Any], service: str) -> None:
        metric, threshold = ctx.get("alert_metric"), ctx.get("alert_threshold")
        if metric is None or threshold is None or self.d.ports.metrics is None:
            return
        value = self.d.ports.metrics.current(service, str(metric))
        if value is not None and value < float(threshold):
            raise PreconditionFailed(
                f"{service} {metric} is {value:g}, below the alert threshold {float(threshold):g}: already recovered"
            )

    def _sample(self, service: str) -> Sample:
        m = self.d.ports.metrics
        if m is None:
            return {}
        out: Sample = {}
        for name in WATCHED:
            try:
                out[name] = m.current(service, name)
            except IntegrationError:
                out[name] = None
        return out

    def _reference(self, before: Sample, service: str, a: Action) -> Sample:
        """What "worse" is measured against: the higher of the value before the action and the
        signal's normal level before the incident began. A fail-fast outage lowers latency; the
        fix brings it back to normal, and that is not worse."""
        median = getattr(self.d.ports.metrics, "median", None)
        if median is None:
            return before
        from datetime import timedelta

        from bot.store.models import Incident

        with self.d.db.session() as s:
            inc = s.get(Incident, a.incident_id) if a.incident_id is not None else None
            opened = inc.opened_at if inc is not None else None
        end = (opened or self.d.clock()) - timedelta(minutes=15)
        ref: Sample = dict(before)
        for name in WATCHED:
            try:
                normal = median(service, name, end - timedelta(minutes=60), end)
            except IntegrationError:
                normal = None
            b = before.get(name)
            if normal is not None and (b is None or normal > b):
                ref[name] = normal
        return ref

    def _watch(self, service: str, baseline: Sample, resource: str, holder: str) -> list[str]:
        """Sample for the verify window; the reasons to revert, or [] when it did not get worse."""
        d = self.d
        interval = min(d.verify_interval_s, d.settings.verify_s)
        n = max(1, math.ceil(d.settings.verify_s / interval))
        streak = 0
        for i in range(n):
            d.sleep(interval)
            with d.db.session() as s:  # renew the lock while watching
                locks.acquire(session=s, resource=resource, holder=holder, ttl=d.settings.verify_s + 60,
                              now=d.clock())
            problems = worse(baseline, self._sample(service), d.thresholds)
            streak = streak + 1 if problems else 0
            if problems and (streak >= 2 or i == n - 1):
                return problems
        return []


def _slots(spec: ActionSpec, params: BaseModel) -> list[str]:
    base = spec.resource(params)
    return [base] if spec.concurrency == 1 else [f"{base}#{i}" for i in range(spec.concurrency)]


def _merge(a: Action, result: dict[str, Any]) -> dict[str, Any]:
    return dict(a.result or {}) | {"output": result}


def _err(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__
