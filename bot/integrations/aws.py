"""The AWS adapter: CloudWatch metrics, Auto Scaling, RDS failover, SSM Run Command, over boto3.

Built from ``settings.aws``: region, an optional ``endpoint_url`` (the sandbox's
moto), and timeouts through botocore's ``Config(connect_timeout, read_timeout,
retries={"max_attempts": 2})``. Credentials come from boto3's usual chain.

- :class:`CloudWatchMetrics` is a :class:`~bot.integrations.interfaces.MetricsSource`:
  metrics of a service are those with the dimension ``Service=<name>`` in a namespace.
- :class:`AwsAdapter` groups the actions: ``describe_group`` / ``set_desired_capacity``,
  ``describe_cluster`` / ``failover``, ``instances_of``, ``send_command`` / ``command_invocation``.

Errors: access denied / bad credentials → IntegrationAuthError; *NotFound* codes
→ IntegrationNotFound; validation / invalid state → IntegrationRejected;
throttling, 5xx, connection and timeouts → IntegrationUnavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from bot.integrations.errors import (
    IntegrationAuthError,
    IntegrationError,
    IntegrationNotFound,
    IntegrationRejected,
    IntegrationUnavailable,
)
from bot.integrations.types import HealthStatus, Point, Series
from bot.settings import AwsSettings

NAME = "aws"
DEFAULT_NAMESPACE = "AISRE/Scenario"
AUTH_CODES = {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
              "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch", "AuthFailure", "UnauthorizedOperation"}
T = TypeVar("T")


@dataclass(frozen=True)
class AutoScalingGroup:
    name: str
    desired: int
    min_size: int
    max_size: int
    instances: tuple[str, ...]
    tags: dict[str, str]


@dataclass(frozen=True)
class DbCluster:
    id: str
    status: str
    engine: str
    writer: str | None
    readers: tuple[str, ...]


@dataclass(frozen=True)
class CommandInvocation:
    command_id: str
    instance_id: str
    status: str  # Pending, InProgress, Success, Failed, ...
    output: str
    error: str


def translate(e: Exception, service: str = NAME) -> IntegrationError:
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = f"{code}: {err.get('Message', '')}".strip()
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in AUTH_CODES or status in (401, 403):
            return IntegrationAuthError(service, message)
        if "NotFound" in code or code.startswith("InvalidInstanceID") or status == 404:
            return IntegrationNotFound(service, message)
        if "Throttl" in code or status >= 500:
            return IntegrationUnavailable(service, message)
        return IntegrationRejected(service, message)
    if isinstance(e, NoCredentialsError):
        return IntegrationAuthError(service, "no AWS credentials found (AWS_ACCESS_KEY_ID / a profile / a role)")
    return IntegrationUnavailable(service, f"{type(e).__name__}: {e}")


def _call(service: str, fn: Callable[..., T], **kwargs: Any) -> T:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as e:
        raise translate(e, service) from None


def make_client(settings: AwsSettings, service: str) -> Any:
    config = Config(connect_timeout=settings.timeout_s, read_timeout=settings.timeout_s,
                    retries={"max_attempts": 2, "mode": "standard"}, region_name=settings.region)
    return boto3.client(service, endpoint_url=settings.endpoint_url, config=config)  # type: ignore[call-overload]


class CloudWatchMetrics:
    """CloudWatch as a MetricsSource; ``name`` is ``"cloudwatch"``."""

    name = "cloudwatch"

    def __init__(self, settings: AwsSettings, *, namespace: str = DEFAULT_NAMESPACE, client: Any = None) -> None:
        self.namespace = namespace
        self.cw = client or make_client(settings, "cloudwatch")

    def list_metrics(self, service: str) -> list[str]:
        names: set[str] = set()
        kwargs: dict[str, Any] = {"Namespace": self.namespace, "Dimensions": [{"Name": "Service", "Value": service}]}
        while True:
            page = _call(self.name, self.cw.list_metrics, **kwargs)
            names.update(m["MetricName"] for m in page.get("Metrics", []))
            if not page.get("NextToken"):
                return sorted(names)
            kwargs["NextToken"] = page["NextToken"]

    def query_series(self, service: str, metric: str, start: datetime, end: datetime) -> Series:
        query = {"Id": "m0", "MetricStat": {"Metric": {"Namespace": self.namespace, "MetricName": metric,
                                                       "Dimensions": [{"Name": "Service", "Value": service}]},
                                            "Period": 60, "Stat": "Average"}, "ReturnData": True}
        points: dict[datetime, float] = {}
        kwargs: dict[str, Any] = {"MetricDataQueries": [query], "StartTime": start, "EndTime": end,
                                  "ScanBy": "TimestampAscending"}
        while True:
            page = _call(self.name, self.cw.get_metric_data, **kwargs)
            for r in page.get("MetricDataResults", []):
                for ts, v in zip(r.get("Timestamps", []), r.get("Values", []), strict=False):
                    points[ts.astimezone(UTC)] = float(v)
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        ordered = tuple(Point(t, v) for t, v in sorted(points.items()))
        return Series(service, metric, ordered, query=f"{self.namespace}:{metric}{{Service={service}}} avg 60s")

    def health(self) -> HealthStatus:
        try:
            _call(self.name, self.cw.list_metrics, Namespace=self.namespace)
        except IntegrationError as e:
            return HealthStatus(self.name, False, e.message)
        return HealthStatus(self.name, True, f"CloudWatch namespace {self.namespace}")


class AwsAdapter:
    """Auto Scaling, RDS, EC2 and SSM; ``name`` is ``"aws"``."""

    name = NAME

    def __init__(self, settings: AwsSettings, *, clients: dict[str, Any] | None = None) -> None:
        self.settings = settings
        clients = clients or {}
        self.asg = clients.get("autoscaling") or make_client(settings, "autoscaling")
        self.rds = clients.get("rds") or make_client(settings, "rds")
        self.ssm = clients.get("ssm") or make_client(settings, "ssm")
        self.ec2 = clients.get("ec2") or make_client(settings, "ec2")
        self.sts = clients.get("sts") or make_client(settings, "sts")

    @classmethod
    def from_settings(cls, settings: AwsSettings) -> AwsAdapter:
        return cls(settings)

    # --- Auto Scaling -----------------------------------------------------------------------

    def describe_group(self, name: str) -> AutoScalingGroup:
        groups = _call(NAME, self.asg.describe_auto_scaling_groups, AutoScalingGroupNames=[name])
        found = groups.get("AutoScalingGroups", [])
        if not found:
            raise IntegrationNotFound(NAME, f"Auto Scaling group {name!r} not found")
        g = found[0]
        return AutoScalingGroup(
            name=g["AutoScalingGroupName"], desired=int(g["DesiredCapacity"]), min_size=int(g["MinSize"]),
            max_size=int(g["MaxSize"]), instances=tuple(i["InstanceId"] for i in g.get("Instances", [])),
            tags={t["Key"]: t["Value"] for t in g.get("Tags", [])},
        )

    def set_desired_capacity(self, name: str, desired: int, honor_cooldown: bool = False) -> None:
        _call(NAME, self.asg.set_desired_capacity, AutoScalingGroupName=name, DesiredCapacity=desired,
              HonorCooldown=honor_cooldown)

    # --- RDS --------------------------------------------------------------------------------

    def describe_cluster(self, cluster_id: str) -> DbCluster:
        c = _call(NAME, self.rds.describe_db_clusters, DBClusterIdentifier=cluster_id)["DBClusters"][0]
        members = c.get("DBClusterMembers", [])
        return DbCluster(
            id=c["DBClusterIdentifier"], status=c.get("Status", ""), engine=c.get("Engine", ""),
            writer=next((m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")), None),
            readers=tuple(m["DBInstanceIdentifier"] for m in members if not m.get("IsClusterWriter")),
        )

    def failover(self, cluster_id: str, target_instance: str | None = None) -> None:
        kwargs: dict[str, Any] = {"DBClusterIdentifier": cluster_id}
        if target_instance:
            kwargs["TargetDBInstanceIdentifier"] = target_instance
        _call(NAME, self.rds.failover_db_cluster, **kwargs)

    # --- EC2 and SSM ------------------------------------------------------------------------

    def instances_of(self, service: str) -> list[str]:
        out: list[str] = []
        pages = _call(NAME, self.ec2.describe_instances, Filters=[
            {"Name": "tag:Service", "Values": [service]}, {"Name": "instance-state-name", "Values": ["running"]}])
        for r in pages.get("Reservations", []):
            out.extend(i["InstanceId"] for i in r.get("Instances", []))
        return sorted(out)

    def send_command(self, instance_ids: list[str], commands: list[str], comment: str = "",
                     timeout_s: int = 600) -> str:
        resp = _call(NAME, self.ssm.send_command, InstanceIds=instance_ids, DocumentName="AWS-RunShellScript",
                     Parameters={"commands": commands}, Comment=comment[:100], TimeoutSeconds=timeout_s)
        return str(resp["Command"]["CommandId"])

    def command_invocation(self, command_id: str, instance_id: str) -> CommandInvocation:
        r = _call(NAME, self.ssm.get_command_invocation, CommandId=command_id, InstanceId=instance_id)
        return CommandInvocation(command_id, instance_id, r.get("Status", ""), r.get("StandardOutputContent", ""),
                                 r.get("StandardErrorContent", ""))

    def health(self) -> HealthStatus:
        try:
            ident = _call(NAME, self.sts.get_caller_identity)
        except IntegrationError as e:
            return HealthStatus(NAME, False, e.message)
        return HealthStatus(NAME, True, f"account {ident.get('Account')} in {self.settings.region}")
