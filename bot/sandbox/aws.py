"""AWS for a scenario: moto's ThreadedMotoServer on loopback, seeded with boto3.

Seeded from the scenario:
- an Auto Scaling group ``<service>`` per ``kind: deployment`` service
  (desired capacity = replicas, tag ``Service=<name>`` propagated to its EC2 instances);
- an EC2 instance per Kubernetes node (tag ``Name=<node>``);
- an Aurora PostgreSQL cluster ``<service>`` with a writer and a reader per ``kind: database`` service;
- CloudWatch data for every scenario series in namespace ``AISRE/Scenario``
  (dimension ``Service``), one point a minute for the last ``history_minutes``.
SSM's ``send_command`` works on any of those instances.

A watcher polls moto every ``poll_s`` and applies what it sees to the replay:
an SSM command on an instance tagged ``Service=X`` → ``free_disk`` on X; an RDS
cluster whose writer changed → ``failover`` on it; an ASG whose desired
capacity went up → ``scale_out`` on its service. Each is also
``replay.record_write("aws", ...)``.

Point the bot at it::

    AISRE_AWS__ENABLED=true
    AISRE_AWS__ENDPOINT_URL=<handle.url>
    AISRE_AWS__REGION=<handle.region>
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing   # any value: moto accepts them

``start(replay, region="us-east-1", poll_s=0.5)`` returns an :class:`AwsSandbox`
with ``.url``, ``.region``, ``.namespace`` and ``.stop()``.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

from bot.sandbox.replay import Replay

NAMESPACE = "AISRE/Scenario"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class AwsSandbox:
    url: str
    region: str
    namespace: str
    replay: Replay
    _server: ThreadedMotoServer
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _seen_commands: set[str] = field(default_factory=set)
    _desired: dict[str, int] = field(default_factory=dict)
    _writers: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=self.region, **CREDENTIALS)  # type: ignore[call-overload]

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server.stop()

    # --- watching ---------------------------------------------------------------------------

    def _watch(self, poll_s: float) -> None:
        ssm, asg, rds, ec2 = (self.client(s) for s in ("ssm", "autoscaling", "rds", "ec2"))
        while not self._stop.wait(poll_s):
            try:
                self.check(ssm, asg, rds, ec2)
            except Exception as e:  # keep watching; a failed poll is retried
                print(f"sandbox aws: watcher poll failed: {e}", file=sys.stderr)

    def check(self, ssm: Any, asg: Any, rds: Any, ec2: Any) -> None:
        for cmd in ssm.list_commands().get("Commands", []):
            cid = cmd["CommandId"]
            if cid in self._seen_commands:
                continue
            self._seen_commands.add(cid)
            services = _services_of(ec2, cmd.get("InstanceIds") or [])
            self.replay.record_write("aws", "ssm.send_command", command_id=cid, document=cmd.get("DocumentName"),
                                     instances=cmd.get("InstanceIds"), services=sorted(services),
                                     commands=(cmd.get("Parameters") or {}).get("commands"))
            for svc in sorted(services):
                self.replay.apply_mitigation("free_disk", svc, f"ssm command {cid}")
        for g in asg.describe_auto_scaling_groups().get("AutoScalingGroups", []):
            name, desired = g["AutoScalingGroupName"], int(g["DesiredCapacity"])
            before = self._desired.get(name, desired)
            self._desired[name] = desired
            if desired != before:
                svc = _tag(g.get("Tags", []), "Service") or name
                self.replay.record_write("aws", "autoscaling.set_desired_capacity", group=name, old=before,
                                         new=desired)
                if desired > before:
                    self.replay.apply_mitigation("scale_out", svc, f"ASG {name} {before} -> {desired}")
        for c in rds.describe_db_clusters().get("DBClusters", []):
            cid = c["DBClusterIdentifier"]
            writer = next((m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", []) if m["IsClusterWriter"]),
                          "")
            old_writer = self._writers.get(cid, writer)
            self._writers[cid] = writer
            if writer != old_writer:
                self.replay.record_write("aws", "rds.failover_db_cluster", cluster=cid, old_writer=old_writer,
                                         new_writer=writer)
                self.replay.apply_mitigation("failover", cid, f"writer {old_writer} -> {writer}")


def _tag(tags: list[dict[str, Any]], key: str) -> str | None:
    return next((t["Value"] for t in tags if t.get("Key") == key), None)


def _services_of(ec2: Any, instance_ids: list[str]) -> set[str]:
    if not instance_ids:
        return set()
    out = set()
    for r in ec2.describe_instances(InstanceIds=instance_ids).get("Reservations", []):
        for i in r.get("Instances", []):
            if i["InstanceId"] not in instance_ids:
                continue
            svc = _tag(i.get("Tags", []), "Service")
            if svc:
                out.add(svc)
    return out


def _seed(sb: AwsSandbox, history_minutes: int) -> None:
    sc = sb.replay.scenario
    ec2, asg, rds, cw = (sb.client(s) for s in ("ec2", "autoscaling", "rds", "cloudwatch"))
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:3]
    ec2.create_launch_template(LaunchTemplateName="aisre-sandbox",
                               LaunchTemplateData={"ImageId": image, "InstanceType": "m6i.large"})
    for s in sc.services:
        if s.kind != "deployment":
            continue
        asg.create_auto_scaling_group(
            AutoScalingGroupName=s.name, MinSize=0, MaxSize=max(s.replicas * 3, 10), DesiredCapacity=s.replicas,
            LaunchTemplate={"LaunchTemplateName": "aisre-sandbox", "Version": "$Latest"}, AvailabilityZones=zones,
            Tags=[{"Key": "Service", "Value": s.name, "PropagateAtLaunch": True, "ResourceId": s.name,
                   "ResourceType": "auto-scaling-group"},
                  {"Key": "Namespace", "Value": s.namespace, "PropagateAtLaunch": True, "ResourceId": s.name,
                   "ResourceType": "auto-scaling-group"}],
        )
        sb._desired[s.name] = s.replicas
    nodes = [n.name for n in sc.nodes] + sorted({p.node for p in sc.pods if p.node} - {n.name for n in sc.nodes})
    for node in nodes:
        ec2.run_instances(ImageId=image, InstanceType="m6i.xlarge", MinCount=1, MaxCount=1, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": node}, {"Key": "Role", "Value": "node"}]}])
    for s in sc.services:
        if s.kind != "database":
            continue
        rds.create_db_cluster(DBClusterIdentifier=s.name, Engine="aurora-postgresql", MasterUsername="aisre",
                              MasterUserPassword="sandbox-password", Tags=[{"Key": "Service", "Value": s.name}])
        for i in (1, 2):
            rds.create_db_instance(DBInstanceIdentifier=f"{s.name}-{i}", DBClusterIdentifier=s.name,
                                   Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
        cluster = rds.describe_db_clusters(DBClusterIdentifier=s.name)["DBClusters"][0]
        sb._writers[s.name] = next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])
                                    if m["IsClusterWriter"]), "")
    now = int(sb.replay.now_minute())
    for m in sc.metrics:
        data = [
            {"MetricName": m.name, "Dimensions": [{"Name": "Service", "Value": m.service}],
             "Timestamp": sb.replay.minute_to_dt(minute), "Value": value}
            for minute, value in sb.replay.series(m.service, m.name, now - history_minutes, now)
        ]
        for i in range(0, len(data), 500):
            cw.put_metric_data(Namespace=sb.namespace, MetricData=data[i:i + 500])


def _fix_moto_ssm_targets() -> None:
    """moto 5.2 adds every EC2 instance to a command sent with InstanceIds and no Targets; keep only those asked."""
    from moto.ssm import models as ssm_models

    cls: Any = ssm_models.Command
    if getattr(cls, "_aisre_fixed", False):
        return
    original = cls._get_instance_ids_from_targets

    def from_targets(self: Any) -> list[str]:
        return list(original(self)) if self.targets else []

    cls._get_instance_ids_from_targets = from_targets
    cls._aisre_fixed = True


def start(replay: Replay, *, region: str = "us-east-1", poll_s: float = 0.5,
          history_minutes: int = 180) -> AwsSandbox:
    _fix_moto_ssm_targets()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request at INFO
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    sb = AwsSandbox(f"http://{host}:{port}", region, NAMESPACE, replay, server)
    # moto's backends are process-wide: start from an empty account
    httpx.post(f"{sb.url}/moto-api/reset", timeout=10).raise_for_status()
    try:
        _seed(sb, history_minutes)
    except BaseException:
        server.stop()
        raise
    sb._thread = threading.Thread(target=sb._watch, args=(poll_s,), name="aisre-sbx-aws-watch", daemon=True)
    sb._thread.start()
    print(f"sandbox aws (moto) at {sb.url}", file=sys.stderr)
    return sb
