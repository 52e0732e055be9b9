"""AWS actions (Auto Scaling, SSM, RDS) and the incident actions that change no system."""

from __future__ import annotations

import shlex
from typing import Any

from pydantic import Field, field_validator

from bot.actions.catalog._base import Params
from bot.actions.ports import Ports
from bot.actions.spec import ActionFailed, ActionSpec

NAME = r"^[A-Za-z0-9_.:/-]+$"
MAX_CAPACITY = 100
# Directories the bot may delete old files under; never "/" or a data directory.
FREE_DISK_ROOTS = ("/var/log", "/tmp", "/var/tmp", "/var/cache")


class AsgCapacity(Params):
    group: str = Field(pattern=NAME, max_length=255, description="Auto Scaling group name")
    desired: int = Field(ge=0, le=MAX_CAPACITY, description=f"Desired capacity (0..{MAX_CAPACITY})")


class FreeDisk(Params):
    target: str = Field(pattern=NAME, max_length=255, description="Instance id, or service name its instances carry")
    path: str = Field(
        "/var/log", max_length=255,
        description=f"Directory to delete old files under; must be inside one of {', '.join(FREE_DISK_ROOTS)}",
    )
    older_than_hours: int = Field(24, ge=1, le=24 * 90, description="Delete files not modified for this long")

    @field_validator("path")
    @classmethod
    def _inside_roots(cls, v: str) -> str:
        if ".." in v.split("/") or not v.startswith("/"):
            raise ValueError("expected an absolute path without '..'")
        if not any(v == r or v.startswith(r + "/") for r in FREE_DISK_ROOTS):
            raise ValueError(f"expected a path inside one of {', '.join(FREE_DISK_ROOTS)}")
        return v.rstrip("/") or v


class Failover(Params):
    cluster: str = Field(pattern=NAME, max_length=63, description="RDS / Aurora cluster identifier")


class Escalate(Params):
    service: str = Field(pattern=NAME, max_length=100, description="Service the page is about")
    owners: list[str] = Field(min_length=1, max_length=20, description="Owners to page (user ids or handles)")
    text: str = Field(min_length=1, max_length=2000, description="What the person must know and do")


class NoAction(Params):
    service: str = Field(pattern=NAME, max_length=100, description="The alerting service")
    reason: str = Field(min_length=1, max_length=2000, description="Why no action is needed")


def _asg_checkpoint(p: AsgCapacity, ports: Ports) -> dict[str, Any]:
    return {"desired": ports.need_asg().desired(p.group)}


def _asg(p: AsgCapacity, ports: Ports) -> dict[str, Any]:
    ports.need_asg().set_desired(p.group, p.desired)
    return {"desired": p.desired}


def _asg_revert(p: AsgCapacity, cp: dict[str, Any], ports: Ports) -> None:
    ports.need_asg().set_desired(p.group, int(cp["desired"]))


def free_disk_commands(p: FreeDisk) -> list[str]:
    path = shlex.quote(p.path)
    minutes = p.older_than_hours * 60
    return [
        f"df -P {path} | tail -1",
        f"find {path} -xdev -type f -mmin +{minutes} -print -delete | wc -l",
        f"df -P {path} | tail -1",
    ]


def _free_disk(p: FreeDisk, ports: Ports) -> dict[str, Any]:
    result = ports.need_ssm().run(p.target, free_disk_commands(p), timeout_s=240)
    if result.status != "Success":
        raise ActionFailed(f"SSM command on {p.target} ended {result.status}: {result.output[:300]}")
    return {"output": result.output[-2000:]}


def _rds_checkpoint(p: Failover, ports: Ports) -> dict[str, Any]:
    return {"writer": ports.need_rds().writer(p.cluster)}


def _failover(p: Failover, ports: Ports) -> dict[str, Any]:
    ports.need_rds().failover(p.cluster)
    return {}


def _escalate(p: Escalate, ports: Ports) -> dict[str, Any]:
    ports.need_pager().page(list(p.owners), p.text)
    return {"paged": list(p.owners)}


def _none(p: NoAction, ports: Ports) -> dict[str, Any]:
    return {"noted": p.reason}


SPECS = [
    ActionSpec(
        name="aws.asg_set_capacity",
        summary=(
            f"Set an EC2 Auto Scaling group's desired capacity (at most {MAX_CAPACITY}). Use when instances "
            "are saturated. Undone by setting the previous capacity back."
        ),
        risk="medium", reversible=True, mitigation_kind="scale_out", params_model=AsgCapacity,
        handler=_asg, checkpoint=_asg_checkpoint, revert=_asg_revert,
        resource=lambda p: f"aws:asg/{p.group}", timeout_s=120,
    ),
    ActionSpec(
        name="aws.ssm_free_disk",
        summary=(
            "Delete files older than N hours under a log or temp directory on a host, through SSM Run "
            "Command. Use when a disk fills up with logs. Cannot be undone: the files are gone."
        ),
        risk="medium", reversible=False, mitigation_kind="free_disk", params_model=FreeDisk,
        handler=_free_disk, resource=lambda p: f"host:{p.target}/disk", timeout_s=300,
    ),
    ActionSpec(
        name="aws.rds_failover",
        summary=(
            "Fail an RDS / Aurora cluster over to a replica. Use when the writer is unhealthy. High risk: "
            "connections drop for tens of seconds; failing back is a second failover, not an undo."
        ),
        risk="high", reversible=False, mitigation_kind="failover", params_model=Failover,
        handler=_failover, checkpoint=_rds_checkpoint,
        resource=lambda p: f"aws:rds/{p.cluster}", timeout_s=600,
    ),
    ActionSpec(
        name="incident.escalate",
        summary=(
            "Page the owners: a person must act (an outside provider is down, a certificate expired, the "
            "network). Changes no system."
        ),
        risk="low", reversible=True, mitigation_kind="escalate", params_model=Escalate,
        handler=_escalate, resource=lambda p: f"incident:{p.service}/page", verify="none", read_only=True,
        timeout_s=30,
    ),
    ActionSpec(
        name="incident.none",
        summary="Note that no action is needed (a false positive) and stand down. Changes nothing.",
        risk="low", reversible=True, mitigation_kind="none", params_model=NoAction,
        handler=_none, resource=lambda p: f"incident:{p.service}/none", verify="none", read_only=True,
        timeout_s=5,
    ),
]
