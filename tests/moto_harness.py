#!/usr/bin/env python3
"""moto in server mode for the end-to-end tests, with the states moto's API cannot create.

Usage: moto_harness.py PORT

Starts moto (ThreadedMotoServer) on 127.0.0.1:PORT, prints {"ready": true}, then executes one
boto3 call per line of standard input -- {"service": "ecs", "method": "create_service",
"args": {...}} -- answering {"ok": result} or {"error": "..."} on standard output. It stops
when standard input closes, so it never outlives the test that started it.

Patches, driven through the real API so tests need no Python of their own:
- ECS services tagged harness.running=N report N running (pending = desired - N);
  its primary deployment is then COMPLETED (steady state reached, tasks lost since) unless
  harness.rollout=IN_PROGRESS|FAILED (with harness.rollout-reason) says otherwise;
  harness.rollout-started=M dates the deployment M minutes (and 30 s) ago; harness.failed-tasks=N sets
  its failed tasks; harness.event=TEXT adds a service event.
- ELBv2 targets registered on port 9999 report unhealthy (Target.ResponseCodeMismatch).
- {"service": "harness", "method": "add_stopped_task", "args": {...}} adds a stopped task
  (exit code, stop code, reason, time) that ListTasks and DescribeTasks then return: moto can
  neither make one through its API nor describe tasks the way AWS does.

Every request goes through the strict layer (strict_aws.py): {"service": "harness", "method":
"strict", "args": {"parameters": {"ClusterName": "prod"}, "physical": {"StateBucket": "b",
"AlertTopic": "arn:…"}}} holds callers whose access key id names a function of template.yaml to
that function's policy; {"service": "harness", "method": "strict_report"} lists the calls it
denied. The harness's own calls (key "test") are the administrator's.
"""
import datetime
import json
import sys
import threading

import boto3
from moto.ecs.models import EC2ContainerServiceBackend
from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup
from moto.core.responses import ActionResult
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from strict_aws import StrictLayer

UNHEALTHY_PORT = 9999

_describe_services = EC2ContainerServiceBackend.describe_services


def describe_services(self, cluster_str, service_names):
    services, failures = _describe_services(self, cluster_str, service_names)
    for s in services:
        tags = {t.get("key"): t.get("value") for t in (s.tags or [])}
        primary = s.deployments[0] if s.deployments else None
        if "harness.running" in tags:
            s.running_count = int(tags["harness.running"])
            s.pending_count = max(s.desired_count - s.running_count, 0)
            if primary is not None:
                primary["runningCount"] = s.running_count
                primary["pendingCount"] = s.pending_count
            # moto leaves a service created short of tasks IN_PROGRESS for ever; these
            # stand for a service that reached steady state and then lost tasks, unless a
            # test says the rollout is still going (harness.rollout).
            if primary is not None and "harness.rollout" not in tags:
                primary["rolloutState"] = "COMPLETED"
                primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
        if primary is not None and "harness.rollout" in tags:
            primary["rolloutState"] = tags["harness.rollout"]
            primary["rolloutStateReason"] = tags.get("harness.rollout-reason", "")
        if primary is not None and "harness.rollout-started" in tags:
            # 30 s more than asked: the health check reads its clock before it describes
            # the services, and a slow machine must still see M whole minutes, not M - 1.
            ago = datetime.timedelta(minutes=int(tags["harness.rollout-started"]), seconds=30)
            primary["createdAt"] = datetime.datetime.now(datetime.timezone.utc) - ago
        if primary is not None and "harness.failed-tasks" in tags:
            primary["failedTasks"] = int(tags["harness.failed-tasks"])
        if "harness.event" in tags:
            s.events = [{
                "id": "harness-1",
                "createdAt": datetime.datetime.now(datetime.timezone.utc),
                "message": tags["harness.event"],
            }]
    return services, failures


EC2ContainerServiceBackend.describe_services = describe_services

_health_for = FakeTargetGroup.health_for


def health_for(self, target, ec2_backend):
    registered = self.targets.get(target["Id"])
    port = (registered or target).get("Port", self.port)
    if registered is not None and int(port) == UNHEALTHY_PORT:
        return FakeHealthStatus(
            target["Id"], port, self.health_check_port, "unhealthy",
            "Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]",
        )
    return _health_for(self, target, ec2_backend)


FakeTargetGroup.health_for = health_for


STOPPED = {}  # cluster name -> [task dict]


def add_stopped_task(cluster, service, task_id, reason, stop_code="EssentialContainerExited", exit_code=1, stopped_at=None,
                     started_by=None, task_definition=None):
    arn = f"arn:aws:ecs:us-east-1:123456789012:task/{cluster}/{task_id}"
    at = datetime.datetime.fromtimestamp(stopped_at, datetime.timezone.utc) if stopped_at else datetime.datetime.now(datetime.timezone.utc)
    STOPPED.setdefault(cluster, []).append({
        "taskArn": arn,
        "clusterArn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{cluster}",
        "group": f"service:{service}",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": stop_code,
        "stoppedReason": reason,
        "stoppedAt": at,
        "cpu": "256",
        "memory": "512",
        "containers": [{"name": "app", "exitCode": exit_code, "lastStatus": "STOPPED",
                        "reason": reason if "OutOfMemory" in reason else None}],
    })
    # A service's task carries the id of the deployment that started it (Task.startedBy).
    if started_by:
        STOPPED[cluster][-1]["startedBy"] = started_by
    if task_definition:
        STOPPED[cluster][-1]["taskDefinitionArn"] = task_definition
    return {"taskArn": arn}


_list_tasks = EC2ContainerServiceResponse.list_tasks
_describe_tasks = EC2ContainerServiceResponse.describe_tasks


def list_tasks(self):
    cluster = self._get_param("cluster", "default").split("/")[-1]
    if self._get_param("desiredStatus") == "STOPPED":
        service = self._get_param("serviceName")
        arns = [t["taskArn"] for t in STOPPED.get(cluster, []) if not service or t["group"] == f"service:{service}"]
        return ActionResult({"taskArns": arns})
    return _list_tasks(self)


def describe_tasks(self):
    cluster = self._get_param("cluster", "default").split("/")[-1]
    wanted = set(self._get_param("tasks", []))
    found = [t for t in STOPPED.get(cluster, []) if t["taskArn"] in wanted]
    if found:
        return ActionResult({"tasks": found, "failures": []})
    return _describe_tasks(self)


EC2ContainerServiceResponse.list_tasks = list_tasks
EC2ContainerServiceResponse.describe_tasks = describe_tasks


def main():
    port = int(sys.argv[1])
    strict = StrictLayer(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, strict, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    harness = {
        "add_stopped_task": add_stopped_task,
        "strict": strict.configure,
        "strict_report": strict.report,
    }
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    clients = {}
    print(json.dumps({"ready": True}), flush=True)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                service = req["service"]
                if service == "harness":
                    print(json.dumps({"ok": harness[req["method"]](**req.get("args", {}))}), flush=True)
                    continue
                # A call in another region, or as another account (moto keeps a backend per
                # account and region; AssumeRole's credentials land in the role's account).
                where = (service, req.get("region", "us-east-1"), req.get("account"))
                if where not in clients:
                    kw = {"region_name": where[1]}
                    if where[2]:
                        creds = session.client("sts", endpoint_url=f"http://127.0.0.1:{port}").assume_role(
                            RoleArn=f"arn:aws:iam::{where[2]}:role/harness", RoleSessionName="harness")["Credentials"]
                        kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                  aws_session_token=creds["SessionToken"])
                    clients[where] = session.client(service, endpoint_url=f"http://127.0.0.1:{port}", **kw)
                result = getattr(clients[where], req["method"])(**req.get("args", {}))
                if isinstance(result, dict):
                    result.pop("ResponseMetadata", None)
                    if hasattr(result.get("Body"), "read"):
                        result["Body"] = result["Body"].read().decode("utf-8", "replace")
                print(json.dumps({"ok": result}, default=str), flush=True)
            except Exception as e:  # reported to the test, which decides
                print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
