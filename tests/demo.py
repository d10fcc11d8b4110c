#!/usr/bin/env python3
"""`make demo`: ecs-monitor end to end, offline, against moto on loopback.

Starts moto (tests/moto_harness.py), builds a small but realistic cluster, runs both Lambda
functions under `cargo lambda watch`, invokes them with the AWS CLI as a user would, and shows
what a user sees: the health state in S3, the alert as SNS delivered it (email text and Slack
card), and the diagnosis of that alert. Everything it starts stops with it, also on Ctrl-C.
"""
import http.server
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import boto3

from aws_template import Stack

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
TTY = sys.stdout.isatty()
CLUSTER = "demo"
BUCKET = "ecs-monitor-demo"
CHILDREN = []
WORK = pathlib.Path(tempfile.mkdtemp(prefix="ecs-monitor-demo-"))


def bold(s):
    return f"\033[1m{s}\033[0m" if TTY else s


def title(s):
    print(f"\n{bold('== ' + s)}", flush=True)


def say(s=""):
    print(f"   {s}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_all(*_):
    for p in reversed(CHILDREN):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p in CHILDREN:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def on_signal(signum, _frame):
    print("\n(interrupted: stopping everything the demo started)")
    stop_all()
    sys.exit(130)


def start(cmd, **kw):
    p = subprocess.Popen(cmd, start_new_session=True, **kw)
    CHILDREN.append(p)
    return p


def wait_port(port, what, seconds, proc):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited early (code {proc.returncode}); see {WORK}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start within {seconds} s")


LATENCY_BOUNDS = [1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000,
                  1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000]


def seed_history(s3):
    """89 days and 23 hours of past runs in the status rollup, in its own format, so that the
    page the demo shows has its bars, uptimes and latency sparkline (a real stack builds this
    run by run). A few bad days, two past incidents; deterministic."""
    import datetime
    import random
    rng = random.Random(14)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    day = lambda t: t.strftime("%Y-%m-%d")
    hour = lambda t: t.strftime("%Y-%m-%dT%H")
    rfc = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def latencies(n):
        counts = [0] * len(LATENCY_BOUNDS)
        for _ in range(n):
            ms = max(1, int(rng.lognormvariate(3.6, 0.35)))
            counts[next((i for i, b in enumerate(LATENCY_BOUNDS) if b >= ms), len(LATENCY_BOUNDS) - 1)] += 1
        while counts and counts[-1] == 0:
            counts.pop()
        return counts

    bad = {"api": {3: 40, 17: 6, 52: 120}, "web": {17: 3}, "worker": {71: 288}}
    checks = {}
    for kind, name in [("cluster", CLUSTER), ("service", "web"), ("service", "api"), ("service", "worker"),
                       ("service", "nightly"), ("endpoint", "status")]:
        days, hours = {}, {}
        for ago in range(89, 0, -1):
            failures = bad.get(name, {}).get(ago, 0)
            if kind == "cluster":
                failures = max([b.get(ago, 0) for b in bad.values()])
            p = {"runs": 288, "failures": failures}
            if kind == "endpoint":
                p["latency"] = latencies(288)
            days[day(now - datetime.timedelta(days=ago))] = p
        for ago in range(23, 0, -1):
            p = {"runs": 12, "failures": 0}
            if kind == "endpoint":
                p["latency"] = latencies(12)
            hours[hour(now - datetime.timedelta(hours=ago))] = p
        checks[f"{kind}/{name}"] = {"kind": kind, "name": name, "days": days, "hours": hours, "status": "healthy",
                                    "last_seen": rfc(now - datetime.timedelta(minutes=5))}
    incidents = [{"id": f"{CLUSTER}-{(now - datetime.timedelta(days=d)).strftime('%Y%m%dT0312%SZ')}",
                  "started": rfc(now - datetime.timedelta(days=d, hours=-3)),
                  "ended": rfc(now - datetime.timedelta(days=d, hours=-3, minutes=-how_long)),
                  "worst": worst, "issues": [issue]}
                 for d, how_long, worst, issue in [(52, 600, "unhealthy", "api: 0/3 tasks running"),
                                                   (3, 200, "degraded", "api: 1/3 tasks running")]]
    # Markup in a stored text: the page must show it as text (the browser check).
    incidents[0]["issues"].append('https://api.example.com/ answered 500: <img src=x onerror="alert(1)">')
    rollup = {"schema_version": 1, "cluster": CLUSTER, "checks": checks, "incidents": incidents,
              "updated_at": rfc(now - datetime.timedelta(minutes=5))}
    s3.put_object(Bucket=BUCKET, Key=f"ecs-health/{CLUSTER}/status/rollup.json", Body=json.dumps(rollup).encode())


def seed(aws, harness):
    """A cluster with a healthy, a degraded and a scaled-down service, an unhealthy target,
    thousands of log events and an OOM-killed task."""
    ecs, logs = aws("ecs"), aws("logs")
    ecs.create_cluster(clusterName=CLUSTER)
    # One task definition per service, its container logging to /ecs/<service> (awslogs, stream
    # prefix "ecs"): diagnose finds the log groups there, as ECS_LOG_PATTERN is left blank.
    for name in ["web", "api", "worker", "nightly"]:
        ecs.register_task_definition(family=name, containerDefinitions=[
            {"name": "app", "image": "public.ecr.aws/nginx/nginx", "memory": 256, "portMappings": [{"containerPort": 80}],
             "logConfiguration": {"logDriver": "awslogs", "options": {
                 "awslogs-group": f"/ecs/{name}", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}])
    vpc = aws("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    tg = aws("elbv2").create_target_group(Name="web-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    tg_arn = tg["TargetGroups"][0]["TargetGroupArn"]
    # Port 9999 is the harness's way of making a target report unhealthy.
    aws("elbv2").register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "10.0.1.10", "Port": 80}, {"Id": "10.0.1.11", "Port": 9999}])
    for name, desired, running, lb in [("web", 2, 2, True), ("api", 3, 1, False), ("worker", 1, 1, False), ("nightly", 0, 0, False)]:
        kw = {"loadBalancers": [{"targetGroupArn": tg_arn, "containerName": "app", "containerPort": 80}]} if lb else {}
        tags = [{"key": "harness.running", "value": str(running)}]
        if name == "api":
            # A rollout stuck for 40 minutes: past DEPLOY_GRACE_MINUTES (15), so degraded.
            tags += [{"key": "harness.rollout", "value": "IN_PROGRESS"},
                     {"key": "harness.rollout-reason", "value": "ECS deployment ecs-svc/4242 in progress."},
                     {"key": "harness.rollout-started", "value": "40"}]
        ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=name, desiredCount=desired, launchType="EC2",
                           tags=tags, **kw)
    now = int(time.time() * 1000)

    def put(group, stream, events):
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        events = sorted(events)
        for i in range(0, len(events), 5000):
            logs.put_log_events(logGroupName=group, logStreamName=stream,
                                logEvents=[{"timestamp": t, "message": m} for t, m in events[i:i + 5000]])

    def at(minutes_ago, i=0):
        return now - minutes_ago * 60_000 + i

    web = []
    for i in range(2400):
        if i % 4 == 0:
            m = '10.0.0.7 - - [29/Nov/2026:14:35:27 +0000] "GET /health HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0"'
        elif i % 97 == 0:
            m = f'10.0.2.40 - - [29/Nov/2026:14:35:27 +0000] "GET /api/cart/{i} HTTP/1.1" 502 157 "-" "Mozilla/5.0"'
        else:
            m = f'10.0.2.40 - - [29/Nov/2026:14:35:27 +0000] "GET /products/{i} HTTP/1.1" 200 {512 + i} "-" "Mozilla/5.0"'
        web.append((at(55, i * 1200), m))
    web += [(at(20, i * 10), m) for i, m in enumerate([
        "2026-11-29 14:35:27.123 ERROR 1 --- [nio-8080-exec-4] c.e.web.CartController : cart failed",
        "java.lang.IllegalStateException: inventory service returned no price for sku 881",
        "\tat com.example.web.CartController.add(CartController.java:57)",
        "Caused by: java.net.SocketTimeoutException: Read timed out"])]
    put("/ecs/web", "ecs/app/web-1", web)
    api = [(at(58, i * 1300), f"2026-11-29T14:35:27Z INFO orders: served order {i} in 14ms") for i in range(1500)]
    api += [(at(40, i * 900), f"2026-11-29T14:35:27Z ERROR orders: fetch customer {i}: context deadline exceeded") for i in range(25)]
    api += [(at(30, i * 700), f"2026-11-29T14:35:27Z ERROR dial tcp 10.0.8.{i % 3}:5432: connect: connection refused") for i in range(40)]
    # Seeded secrets: none may reach a report, an alert or the functions' own logs.
    api += [(at(28, i), m) for i, m in enumerate([
        "ERROR login to postgres://orders:s3cr3t@db:5432/orders failed with key AKIAIOSFODNN7EXAMPLE",
        "ERROR s3 upload denied: aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY rejected",
        "ERROR upstream 401 for Authorization: Bearer sk-live-9f8e7d6c5b4a3",
        # Markup in a log line: the report page must show it as text (the browser check).
        'ERROR template render failed near <script>alert("xss")</script>',
        "ERROR session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLXNlY3JldA expired",
        '{"level":"error","msg":"signup failed","user":"bob","password":"hunter2-demo"}',
        "ERROR cannot load TLS key -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"])]
    put("/ecs/api", "ecs/app/api-1", api)
    put("/ecs/api", "ecs/app/api-2", [(at(12, i), m) for i, m in enumerate([
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]",
        " ",
        "goroutine 1 [running]:",
        "main.(*OrderHandler).Reserve(0xc0001a2000)",
        "\t/app/orders/handler.go:88 +0x1d"])])
    worker = [(at(50, i * 3000), f"[2026-11-29 14:35:27,123] INFO in jobs: job {i} done") for i in range(600)]
    worker += [(at(15, i), m) for i, m in enumerate([
        "Traceback (most recent call last):",
        '  File "/app/jobs/invoice.py", line 42, in run',
        '    total = order["amount"]',
        "KeyError: 'amount'"])]
    put("/ecs/worker", "ecs/app/worker-1", worker)
    # What the OOM-killed task wrote last, in its own stream (awslogs: ecs/<container>/<task id>).
    put("/ecs/api", "ecs/app/7f3c9a1e", [(at(11, i), m) for i, m in enumerate([
        "2026-11-29T14:35:27Z INFO orders: warming the price cache",
        "2026-11-29T14:35:27Z INFO orders: price cache holds 1,900,000 entries",
        "2026-11-29T14:35:27Z WARN orders: GC overhead above 90 %"])])
    harness_call(harness, "harness", "add_stopped_task", {
        "cluster": CLUSTER, "service": "api", "task_id": "7f3c9a1e", "exit_code": 137, "stopped_at": int(time.time()) - 600,
        "reason": "OutOfMemoryError: Container killed due to memory usage",
        "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/api:1"})
    aws("s3").create_bucket(Bucket=BUCKET)
    topic = aws("sns").create_topic(Name="ecs-monitor-alerts")["TopicArn"]
    queue = aws("sqs").create_queue(QueueName="alert-inbox")["QueueUrl"]
    qarn = aws("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    return topic, queue, len(web) + len(api) + 6 + len(worker)


# What the demo seeds into logs and configuration, and must find nowhere it writes.
SECRETS = ["s3cr3t", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "sk-live-9f8e7d6c5b4a3",
           "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0", "hunter2-demo", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
           "h3alth-pw", "tok-5ecret-9z", "pd-r0uting-k3y-demo0000000000000"]
# The demo's PagerDuty routing key, in SSM as a SecureString: the notifier reads it there.
ROUTING_KEY = "pd-r0uting-k3y-demo0000000000000"


def status_server():
    """An HTTP server on 127.0.0.1 that answers 200 to every GET (the demo's status endpoint)."""
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def pagerduty_server():
    """A stand-in for PagerDuty's Events API v2 on 127.0.0.1: every event posted to
    /v2/enqueue is kept and answered 202, as PagerDuty does."""
    events = []

    class Enqueue(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            event = json.loads(body or b"{}")
            ok = self.path == "/v2/enqueue" and event.get("routing_key") == ROUTING_KEY
            events.append(event)
            answer = json.dumps({"status": "success", "message": "Event processed", "dedup_key": event.get("dedup_key")}
                                if ok else {"status": "invalid event", "message": "Event object is invalid"}).encode()
            self.send_response(202 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Enqueue)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], events


def sns_event(topic, envelope):
    """The SNS event Lambda receives for a message the queue got (the same publish)."""
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": f"{topic}:demo",
                         "Sns": {"Type": "Notification", "MessageId": envelope.get("MessageId", "demo"), "TopicArn": topic,
                                 "Subject": envelope["Subject"], "Message": envelope["Message"],
                                 "Timestamp": envelope.get("Timestamp", "2026-11-29T14:35:00.000Z"), "SignatureVersion": "1",
                                 "Signature": "demo", "SigningCertUrl": "https://example.invalid/cert.pem",
                                 "UnsubscribeUrl": "https://example.invalid/unsubscribe", "MessageAttributes": {}}}]}


# What cargo needs to build and run a function; nothing else of the caller's environment
# reaches it, so an ECS_* variable in the shell cannot hide a gap in the template.
BUILD_ENV = ["HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR", "TMPDIR", "LANG", "SSL_CERT_FILE",
             "SSL_CERT_DIR", "RUST_BACKTRACE"]


def harness_call(harness, service, method, args):
    harness.stdin.write(json.dumps({"service": service, "method": method, "args": args}) + "\n")
    harness.stdin.flush()
    answer = json.loads(harness.stdout.readline())
    if "error" in answer:
        raise SystemExit(f"harness {method}: {answer['error']}")
    return answer["ok"]


def emf_problem(record):
    """Why `record` (a parsed stdout line with `_aws`) breaks the embedded metric format
    specification (CloudWatch user guide), or None."""
    aws = record["_aws"]
    if not isinstance(aws, dict) or type(aws.get("Timestamp")) is not int:
        return "_aws.Timestamp is not an integer of milliseconds"
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return "_aws.CloudWatchMetrics is not a non-empty array"
    for d in directives:
        ns = d.get("Namespace")
        if not isinstance(ns, str) or not 1 <= len(ns) <= 255 or ns.startswith("AWS/"):
            return f"bad Namespace {ns!r}"
        sets = d.get("Dimensions")
        if not isinstance(sets, list):
            return "Dimensions is not an array"
        for keys in sets:
            if not isinstance(keys, list) or len(keys) > 30:
                return f"dimension set {keys!r} is not an array of at most 30 keys"
            for k in keys:
                if not isinstance(record.get(k), str) or not 1 <= len(record[k]) <= 1024:
                    return f"dimension {k!r} is not a string of 1 to 1024 characters at the root"
        metrics = d.get("Metrics")
        if not isinstance(metrics, list) or not 1 <= len(metrics) <= 100:
            return "Metrics is not an array of 1 to 100 definitions"
        for m in metrics:
            v = record.get(m.get("Name"))
            number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
            if not (number(v) or (isinstance(v, list) and 1 <= len(v) <= 100 and all(map(number, v)))):
                return f"metric {m.get('Name')!r} has no number (or array of at most 100) at the root"
            if m.get("Unit") not in (None, "Count", "Milliseconds", "None", "Seconds", "Percent"):
                return f"metric {m.get('Name')!r} has unit {m.get('Unit')!r}"
    return None


def emf_records(text):
    """The EMF records among the functions' output lines, and the lines that carry `_aws`
    but are not a record of their own (an EMF object inside a log event is no metric)."""
    records, buried = [], []
    for line in text.splitlines():
        if '"_aws"' not in line:
            continue
        try:
            v = json.loads(line)
        except ValueError:
            buried.append(line)
            continue
        (records if isinstance(v, dict) and "_aws" in v else buried).append(v if isinstance(v, dict) else line)
    return records, buried


def check(ok, what):
    """The demo is also `make test`'s end-to-end test: what it shows must be true."""
    if not ok:
        raise SystemExit(f"CHECK FAILED: {what}")


INVOKED = {}


def invoke(port, function, payload_file, env):
    INVOKED[function] = INVOKED.get(function, 0) + 1
    out = WORK / f"{function}-{int(time.time() * 1000)}.json"
    cmd = [str(BIN / "aws"), "lambda", "invoke", "--endpoint-url", f"http://127.0.0.1:{port}", "--function-name", function,
           "--payload", f"file://{payload_file}", "--cli-read-timeout", "0", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0 or not out.exists():
        raise SystemExit(f"aws lambda invoke {function} failed: {r.stderr.strip()} (function log: {WORK / 'watch.log'})")
    return json.loads(out.read_text())


def main():
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    title("ecs-monitor demo: the whole product, offline, against moto on 127.0.0.1")
    moto_port, lambda_port = free_port(), free_port()
    harness = start([str(BIN / "python"), str(ROOT / "tests" / "moto_harness.py"), str(moto_port)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if "ready" not in harness.stdout.readline():
        raise SystemExit("moto did not start")
    endpoint = f"http://127.0.0.1:{moto_port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")

    def aws(service):
        return session.client(service, endpoint_url=endpoint)

    def inbox(**kw):
        """Every message waiting in the queue, deleted once read: SQS shows a received message
        again after its visibility timeout (30 s), so a slow step must not read an old one."""
        got = []
        while True:
            batch = aws("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10, **kw).get("Messages", [])
            if not batch:
                return got
            got += batch
            aws("sqs").delete_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])

    say(f"moto (the embedded AWS) listens on {endpoint}")
    topic, queue, n_events = seed(aws, harness)
    seed_history(aws("s3"))
    say(f"cluster '{CLUSTER}': web 2/2 behind web-tg (one target unhealthy), api 1/3 running (a rollout stuck 40 min),")
    say("worker 1/1, nightly scaled to 0; " + f"{n_events:,} log events in /ecs/web, /ecs/api, /ecs/worker;")
    say("an api task OOM-killed 10 minutes ago; an SNS topic with an SQS inbox subscribed;")
    say("90 days of past runs in the status page's rollup (a real stack builds them run by run).")

    title("Starting the three Lambda functions under cargo lambda watch, as template.yaml deploys them")
    # A status endpoint whose URL carries credentials, and every log line at info: the leak
    # check at the end reads the state, the alerts, the report and these logs.
    status = f"http://monitor:h3alth-pw@127.0.0.1:{status_server()}/status?access_token=tok-5ecret-9z"
    # The stack `sam deploy` would make: two parameters given, every other at its default
    # (blank ones included, as SAM passes them).
    # The notifier pages the stand-in PagerDuty on unhealthy (a recovery or the incident's
    # diagnosis passes that filter); its routing key is a SecureString in SSM.
    pd_port, paged = pagerduty_server()
    aws("ssm").put_parameter(Name="/ecs-monitor/pagerduty", Value=ROUTING_KEY, Type="SecureString")
    destinations = json.dumps([{"name": "pager", "type": "pagerduty", "secret": "/ecs-monitor/pagerduty",
                                "endpoint": f"http://127.0.0.1:{pd_port}/v2/enqueue"}])
    parameters = {"ClusterName": CLUSTER, "HttpEndpoints": f"status={status}", "DetailedMetrics": "true",
                  "NotifyDestinations": destinations}
    physical = {"StateBucket": BUCKET, "AlertTopic": topic}
    stack = Stack(parameters, physical)
    harness_call(harness, "harness", "strict", {"parameters": parameters, "physical": physical})
    say("the strict layer holds each function to its own policy in template.yaml (key = its logical id)")
    # Built now, not in the middle of the tour: the maintenance below runs it.
    subprocess.run(["cargo", "build", "-q", "-p", "ecs-monitor", "--bin", "ecs-monitor"], cwd=ROOT, check=True)
    say("the ecs-monitor CLI is built (the maintenance at the end runs it)")
    log = open(WORK / "watch.log", "w")
    ports = {}
    for fn, binary in (("HealthCheckFunction", "health-check"), ("DiagnoseFunction", "diagnose"),
                       ("NotifierFunction", "notifier")):
        port = lambda_port if fn == "HealthCheckFunction" else free_port()
        # Exactly the function's template environment, plus what Lambda itself provides
        # (credentials, region, log format) and what cargo needs to build it.
        fn_env = {k: os.environ[k] for k in BUILD_ENV if k in os.environ}
        fn_env.update(stack.function_env(fn))
        fn_env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=fn, AWS_SECRET_ACCESS_KEY="test",
                      AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                      AWS_LAMBDA_LOG_FORMAT="JSON", RUST_LOG="info", PATH=env["PATH"])
        blank = sorted(k for k, v in stack.function_env(fn).items() if v == "")
        say(f"{binary}: {len(stack.function_env(fn))} variables from the template ({', '.join(blank)} blank)")
        watch = start(["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(port)],
                      cwd=ROOT, env=fn_env, stdout=log, stderr=subprocess.STDOUT)
        wait_port(port, f"cargo lambda watch ({binary})", 120, watch)
        ports[binary] = port
    say("emulated Lambda APIs on 127.0.0.1 (the first invoke compiles each function)")

    title("health-check, as EventBridge would run it every 5 minutes")
    say("$ aws lambda invoke --function-name health-check --payload file://events/schedule.json out.json")
    first = invoke(ports["health-check"], "health-check", ROOT / "events" / "schedule.json", env)
    say(f"run 1: overall {first['overall'].upper()}, {len(first['issues'])} issues, alerts sent: {first['alerts_published'] or 'none'}"
        " (FAILURE_THRESHOLD=2: one bad run is not an alert yet)")
    second = invoke(ports["health-check"], "health-check", ROOT / "events" / "schedule.json", env)
    say(f"run 2: overall {second['overall'].upper()}, alerts sent: {second['alerts_published']}")
    check(first["overall"] == "degraded" and first["alerts_published"] == [], "run 1 is degraded and quiet")
    check(second["alerts_published"] == ["health.degraded"], "run 2 alerts once")

    title(f"The state in S3 ({second['state']})")
    state = json.loads(aws("s3").get_object(Bucket=BUCKET, Key=f"ecs-health/{CLUSTER}/latest.json")["Body"].read())
    for s in state["services"]:
        say(f"service {s['name']:<8} {s['running']}/{s['desired']} running   {s['status']}")
    for g in state["target_groups"]:
        bad = ", ".join(f"{t['id']}:{t['port']} {t['state']} ({t['reason']})" for t in g["targets"])
        say(f"target group {g['name']}: {g['healthy']} healthy, {g['unhealthy']} unhealthy   {g['status']}   {bad}")
    history = aws("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"ecs-health/{CLUSTER}/history/").get("KeyCount", 0)
    say(f"issues: {state['issues']}")
    say(f"alerting: incident {state['alerting']['incident_id']}, {history} dated copies under history/")
    check(state["overall"] == "degraded" and history == 2, "the state and its history are in S3")
    check("api: 1/3 tasks running (rollout stuck for 40 min, grace 15 min)" in state["issues"],
          "the degraded service is named, its rollout stuck past the grace")

    title("The alert, as the subscribed queue received it")
    msgs = inbox(MessageAttributeNames=["All"])
    if not msgs:
        raise SystemExit("no alert arrived")
    envelope = json.loads(msgs[0]["Body"])
    alert = json.loads(envelope["Message"])
    check(len(msgs) == 1 and alert["event"] == "health.degraded", "one alert in the queue")
    check(not envelope.get("MessageAttributes"), "no message attributes, as AWS delivers a MessageStructure=json publish")
    check(alert["chat"]["source"] == "custom" and alert["chat"]["metadata"]["threadId"] == alert["incident_id"],
          "the Slack card follows Amazon Q's custom-notification schema")
    say(f"subject:    {envelope['Subject']}")
    say(f"event:      {alert['event']} (from the machine message: SNS sends no attributes with JSON structure)")
    say("email text:")
    for line in alert["text"].splitlines():
        print(f"      | {line}")
    say("Slack (Amazon Q Developer custom notification):")
    for line in json.dumps(alert["chat"], indent=2, ensure_ascii=False).splitlines():
        print(f"      | {line}")

    title("diagnose, triggered by that alert (as SNS delivers it to the function)")
    event_file = WORK / "alert-event.json"
    event_file.write_text(json.dumps(sns_event(topic, envelope)))
    say("$ aws lambda invoke --function-name diagnose --payload file://alert-event.json report.json")
    report = invoke(ports["diagnose"], "diagnose", event_file, env)
    say(f"trigger: {report['trigger']['kind']} ({report['trigger']['detail']}); window {report['window']['minutes']} minutes")
    for s in report["services"]:
        cats = ", ".join(f"{c} ×{n}" for c, n in s["categories"].items() if n) or "no errors"
        say(f"{s['service']:<8} {s['status'].upper():<10} {s['events_scanned']:,} events, {s['health_noise']:,} health checks skipped, {cats}")
        for e in s["top_errors"][:3]:
            say(f"           {e['count']:>3} × {e['category']:<16} {e['fingerprint'][:80]}{'  [new]' if e['new'] else ''}")
        for t in s["restarts"]["timeline"][-3:]:
            say(f"           {t[:110]}")
    say(f"full report: {report['report_url']}")
    say("probable cause, most severe first:")
    for i, c in enumerate(report["probable_causes"][:3]):
        say(f"  {c['sentence']}")
        for e in c["evidence"][:3 if i == 0 else 1]:
            say(f"      {e[:110]}")
    kinds = [c["kind"] for c in report["probable_causes"]]
    check(kinds[:1] == ["oom_killed"] and "panic" in kinds and "dependency_down" in kinds,
          "the OOM kill leads the probable causes; the panic and the refused database follow")
    check("(memory limit 256 MiB)" in report["probable_causes"][0]["sentence"]
          and any("GC overhead above 90 %" in e for e in report["probable_causes"][0]["evidence"]),
          "the OOM kill names its memory limit and what the task wrote last (its task definition says where)")
    api = next(x for x in report["services"] if x["service"] == "api")
    check(report["trigger"]["kind"] == "sns" and [x["service"] for x in report["services"]] == ["api"], "diagnose took the alert's service")
    check(api["status"] == "critical" and api["restarts"]["count"] == 1 and api["restarts"]["stopped_tasks"][0]["oom"], "the OOM kill is found")
    check(api["categories"]["panic"] == 1 and api["categories"]["timeout"] == 25, "the panic dump counts once, the timeouts all")
    key = report["report_url"].split(f"s3://{BUCKET}/", 1)[1]
    check(json.loads(aws("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())["schema_version"] == 1, "the report is in S3")
    summary_msgs = inbox()
    summaries = [(json.loads(m["Body"]), json.loads(json.loads(m["Body"])["Message"])) for m in summary_msgs]
    for envelope_, summary in summaries:
        say(f"summary:    {envelope_['Subject']}")
        say(f"            incident {summary.get('incident_id')}: the alert's Slack thread, from alert to recovery")
    check(len(summaries) == 1 and summaries[0][1]["event"] == "diagnose.report"
          and summaries[0][1].get("incident_id") == alert["incident_id"]
          and alert["incident_id"] in summaries[0][0]["Subject"],
          "the summary joins the alert's incident (thread, subject, machine message)")

    title("The notifier, subscribed to the same topic, pages PagerDuty: the alert, then its diagnosis")
    summary_file = WORK / "summary-event.json"
    summary_file.write_text(json.dumps(sns_event(topic, summaries[0][0])))
    delivered = []
    for f in (event_file, summary_file):
        say(f"$ aws lambda invoke --function-name notifier --payload file://{f.name} out.json")
        delivered.append(invoke(ports["notifier"], "notifier", f, env))
        say(f"  pager: {delivered[-1]['delivered'][0]['destinations']['pager']}")
    for e in paged:
        say(f"PagerDuty {e['event_action']:<8} dedup_key {e.get('dedup_key')}  severity {e.get('payload', {}).get('severity')}")
        say(f"          {e.get('payload', {}).get('summary', '')[:100]}")
    cause = paged[-1].get("payload", {}).get("custom_details", {}).get("probable_cause", [""]) if paged else [""]
    say(f"          probable cause: {cause[0][:100]}")
    check([e["event_action"] for e in paged] == ["trigger", "trigger"]
          and all(e["dedup_key"] == alert["incident_id"] for e in paged)
          and paged[0]["payload"]["severity"] == "warning"
          and cause[0] == report["probable_causes"][0]["sentence"],
          "one PagerDuty incident, keyed by the incident id: triggered by the alert, updated with the probable cause")
    again_paged = invoke(ports["notifier"], "notifier", event_file, env)
    check(again_paged["delivered"][0]["destinations"]["pager"] == "duplicate" and len(paged) == 2,
          "the alert delivered again by SNS pages no one twice")

    title("The same incident's other events: one diagnosis per service per window")
    say("$ aws lambda invoke --function-name diagnose --payload file://events/ecs-task-stopped-oom.json (api's OOM kill)")
    task_file = WORK / "task-event.json"
    task_file.write_text((ROOT / "events" / "ecs-task-stopped-oom.json").read_text().replace("/prod", f"/{CLUSTER}"))
    storm = invoke(ports["diagnose"], "diagnose", task_file, env)
    covered = storm.get("covered_by", [{}])[0]
    say(f"coalesced: {covered.get('service')} is covered by {covered.get('report')}")
    check(covered.get("report") == report["report_url"], "the task event is answered with the alert's report")
    again = invoke(ports["diagnose"], "diagnose", event_file, env)
    say(f"the alert redelivered (same SNS MessageId): duplicate of {again.get('report')}")
    check(again.get("duplicate", "").startswith("sns/") and again.get("report") == report["report_url"], "a redelivery is a duplicate")

    title("A deployment of api fails and the circuit breaker rolls it back: told in the same thread")
    failed_id = "ecs-svc/1234567890123456789"
    for i, task_id in enumerate(["c0ffee01", "c0ffee02"]):
        # The new revision's tasks exit at start; each carries its deployment's id (startedBy).
        harness_call(harness, "harness", "add_stopped_task", {
            "cluster": CLUSTER, "service": "api", "task_id": task_id, "exit_code": 1,
            "stopped_at": int(time.time()) - 240 + 120 * i, "reason": "Essential container in task exited",
            "started_by": failed_id, "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:43"})
    answers = []
    for name in ["ecs-deployment-failed.json", "ecs-deployment-rolling-back.json", "ecs-deployment-completed.json"]:
        f = WORK / name
        f.write_text((ROOT / "events" / name).read_text().replace("/prod/", f"/{CLUSTER}/"))
        say(f"$ aws lambda invoke --function-name diagnose --payload file://events/{name}")
        answers.append(invoke(ports["diagnose"], "diagnose", f, env))
    notice_msgs = inbox()
    notices = [(json.loads(m["Body"]), json.loads(json.loads(m["Body"])["Message"])) for m in notice_msgs]
    for envelope_, n in notices:
        say(f"{n['event']:<24} {envelope_['Subject']}")
        say(f"{'':<24} thread {n['chat']['metadata']['threadId']}")
    rolled_back = notices[-1][1] if notices else {}
    for line in rolled_back.get("text", "").splitlines()[:8]:
        print(f"      | {line}")
    check([n["event"] for _, n in notices] == ["deployment.failed", "deployment.rolling_back", "deployment.rolled_back"],
          "the failure, the rollback and its completion are told; the failed deployment's diagnosis is the alert's report")
    check(answers[0].get("covered_by", [{}])[0].get("report") == report["report_url"], "its diagnosis is coalesced into the incident's")
    check(all(n.get("incident_id") == alert["incident_id"] and alert["incident_id"] in e["Subject"]
              and n["chat"]["metadata"]["threadId"] == alert["incident_id"] for e, n in notices),
          "every notice joins the alert's incident (thread, subject, machine message)")
    check("ROLLED BACK to ecs-svc/1111111111111111111" in notices[-1][0]["Subject"] and "completed" not in notices[-1][0]["Subject"],
          "the rollback's completion is announced as a rollback, never as a success")
    check("task c0ffee02: Essential container in task exited (exit 1)" in notices[0][1]["text"],
          "the failed deployment's own tasks are named, newest first")
    summary_msgs += notice_msgs

    title("The fix lands: api reaches 3/3 and web-tg's bad target is replaced; the next run tells the recovery")
    ecs = aws("ecs")
    api_arn = ecs.describe_services(cluster=CLUSTER, services=["api"])["services"][0]["serviceArn"]
    # The harness reads these tags: 3 running, the rollout no longer held IN_PROGRESS (COMPLETED).
    ecs.untag_resource(resourceArn=api_arn, tagKeys=["harness.rollout", "harness.rollout-reason", "harness.rollout-started"])
    ecs.tag_resource(resourceArn=api_arn, tags=[{"key": "harness.running", "value": "3"}])
    web_tg = aws("elbv2").describe_target_groups(Names=["web-tg"])["TargetGroups"][0]["TargetGroupArn"]
    aws("elbv2").deregister_targets(TargetGroupArn=web_tg, Targets=[{"Id": "10.0.1.11", "Port": 9999}])
    say("$ aws lambda invoke --function-name health-check --payload file://events/schedule.json out.json")
    third = invoke(ports["health-check"], "health-check", ROOT / "events" / "schedule.json", env)
    say(f"run 3: overall {third['overall'].upper()}, alerts sent: {third['alerts_published']}")
    recovery_msgs = inbox()
    recoveries = [(json.loads(m["Body"]), json.loads(json.loads(m["Body"])["Message"])) for m in recovery_msgs]
    for envelope_, r in recoveries:
        say(f"{r['event']:<24} {envelope_['Subject']}")
        say(f"{'':<24} thread {r['chat']['metadata']['threadId']}")
        for line in r["text"].splitlines()[:6]:
            print(f"      | {line}")
    check(third["overall"] == "healthy" and third["alerts_published"] == ["health.recovered"], "run 3 is healthy and says so once")
    recovery_file = WORK / "recovery-event.json"
    recovery_file.write_text(json.dumps(sns_event(topic, recoveries[0][0])) if recoveries else "{}")
    say("$ aws lambda invoke --function-name notifier --payload file://recovery-event.json out.json")
    resolved = invoke(ports["notifier"], "notifier", recovery_file, env)
    say(f"PagerDuty {paged[-1]['event_action']:<8} dedup_key {paged[-1].get('dedup_key')}")
    check(resolved["delivered"][0]["destinations"]["pager"].startswith("delivered")
          and paged[-1] == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": alert["incident_id"],
                            "client": "ecs-monitor"},
          "the recovery resolves the PagerDuty incident it opened")
    check(len(recoveries) == 1 and recoveries[0][1].get("incident_id") == alert["incident_id"]
          and recoveries[0][1]["chat"]["metadata"]["threadId"] == alert["incident_id"]
          and alert["incident_id"] in recoveries[0][0]["Subject"],
          "the recovery closes the incident in its own thread: alert, diagnosis, deployment notices, recovery")
    summary_msgs += recovery_msgs

    title("A maintenance: api silenced from the CLI; its failure is held, and told once the silence ends")
    cli_env = dict(env, ECS_CLUSTER=CLUSTER, STATE_BUCKET=BUCKET)

    def ecs_monitor(*args):
        say("$ ecs-monitor " + " ".join(f'"{a}"' if " " in a else a for a in args))
        done = subprocess.run(["cargo", "run", "-q", "-p", "ecs-monitor", "--bin", "ecs-monitor", "--", *args],
                              cwd=ROOT, env=cli_env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"ecs-monitor {args[0]} failed: {done.stderr}")
        for line in done.stdout.splitlines():
            print(f"      | {line}")
        return done.stdout

    set_out = ecs_monitor("silence", "1h", "api", "--reason", "resizing the api tasks")
    silence_id = set_out.split("(silence ", 1)[1].split(")", 1)[0]
    ecs.tag_resource(resourceArn=api_arn, tags=[{"key": "harness.running", "value": "1"}])
    say("api drops to 1/3 running during the maintenance")
    runs = [invoke(ports["health-check"], "health-check", ROOT / "events" / "schedule.json", env) for _ in range(2)]
    say(f"runs 4 and 5: overall {runs[-1]['overall'].upper()}, alerts sent: {runs[-1]['alerts_published'] or 'none (held)'}")
    held_state = json.loads(aws("s3").get_object(Bucket=BUCKET, Key=f"ecs-health/{CLUSTER}/latest.json")["Body"].read())
    for a in held_state.get("silenced", []):
        say(f"the state records the silence: {', '.join(a['services']) or 'the whole cluster'} until {a['until']}: {a['reason']}")
    say(f"held alerts in the state: {[h['subject'] for h in held_state['alerting'].get('held', [])]}")
    check(runs[-1]["overall"] == "degraded" and runs[-1]["alerts_published"] == [] and len(held_state["alerting"].get("held", [])) == 1,
          "while silenced the state is recorded and the alert held")
    check(not inbox(), "nothing reached the subscribers")
    ecs_monitor("silence", "--end", silence_id)
    after = invoke(ports["health-check"], "health-check", ROOT / "events" / "schedule.json", env)
    summary_msgs_ = inbox()
    told = [(json.loads(m["Body"]), json.loads(json.loads(m["Body"])["Message"])) for m in summary_msgs_]
    for envelope_, t in told:
        say(f"{t['event']:<24} {envelope_['Subject']}")
        for line in t["text"].splitlines()[:9]:
            print(f"      | {line}")
    check(after["alerts_published"] == ["health.silence_summary"] and len(told) == 1
          and "silence over, 1 alert held; now DEGRADED" in told[0][0]["Subject"],
          "when the silence ends, one summary tells what it held and the status now")
    summary_msgs += summary_msgs_

    title("Every call the functions made, checked against their policies in template.yaml")
    strict = harness_call(harness, "harness", "strict_report", {})
    for d in strict["denials"]:
        say(f"DENIED {d['principal']}: {d['action']} on {d['resource']} ({d['why']})")
    say(f"{len(strict['denials'])} calls denied; message attributes dropped from {strict['stripped_attributes']} JSON publishes")
    check(not strict["denials"], "the template grants every call the functions make, and no more is needed")

    title("Metrics: the embedded metric format records in the functions' output")
    log.flush()
    records, buried = emf_records((WORK / "watch.log").read_text())
    problems = [(r, emf_problem(r)) for r in records if emf_problem(r)]
    by_fn = {"health": [r for r in records if "Status" in r or "Running" in r or "Up" in r or "DaysLeft" in r],
             "diagnose": [r for r in records if "Errors" in r]}
    cluster = [r for r in records if "Status" in r]
    names = sorted({m["Name"] for r in records for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]})
    say(f"{len(records)} records ({len(by_fn['health'])} of health checks, {len(by_fn['diagnose'])} of diagnoses), "
        f"{len(problems)} against the specification, {len(buried)} inside log events")
    say("metrics: " + ", ".join(names))
    if cluster:
        last = cluster[-1]
        say("last cluster record: " + ", ".join(f"{k}={last[k]}" for k in
            ("Status", "ServicesFailing", "ServicesWithoutTasks", "TasksRunning", "TasksDesired", "EndpointsDown")))
    for r, why in problems[:5]:
        say(f"INVALID {why}: {json.dumps(r)[:200]}")
    check(not problems and not buried, "every EMF record meets the specification, each a raw line of its own")
    health_runs = INVOKED["health-check"]
    check(len(cluster) == health_runs, f"one cluster record per health check ({len(cluster)} of {health_runs})")
    check(by_fn["diagnose"] and all(r["Status"] in (0, 1, 2) for r in cluster),
          "diagnoses write their errors per service and category; Status is 0, 1 or 2")

    title("The status page and a report page, as the bucket serves them")
    site = ROOT / "target" / "demo-site"
    s3 = aws("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []) if o["Key"].endswith(".html")]
    for k in keys:
        obj = s3.get_object(Bucket=BUCKET, Key=k)
        check(obj["ContentType"].startswith("text/html"), f"{k} is served as text/html")
        (site / k).parent.mkdir(parents=True, exist_ok=True)
        (site / k).write_bytes(obj["Body"].read())
    page_key = f"ecs-health/{CLUSTER}/status/index.html"
    report_page = key.removesuffix(".json") + ".html"
    check(page_key in keys and report_page in keys, "the health check wrote the status page, diagnose the report's page")
    say(f"status page:  file://{site / page_key}")
    say(f"report page:  file://{site / report_page}")
    say(f"({len(keys)} pages in all, kept at the bucket's keys so the page's links to the reports work)")
    if os.environ.get("BROWSER_CHECK"):
        services = sorted(s["name"] for s in state["services"])
        r = subprocess.run([str(BIN / "python"), str(ROOT / "tests" / "browser_check.py"), os.environ["BROWSER_CHECK"],
                            str(site / page_key), str(site / report_page), ",".join(services), str(site / "screenshots")],
                           capture_output=True, text=True)
        for line in (r.stdout + r.stderr).strip().splitlines():
            say(line)
        check(r.returncode == 0, "headless Chromium renders both pages as expected")

    title("Secrets: seeded into the logs and the endpoint URL, found nowhere we write")
    s3 = aws("s3")
    written = [json.dumps([first, second, third, runs, after, report, answers, delivered, again_paged, resolved])]
    for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        written.append(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().decode())
    written += [m["Body"] for m in msgs + summary_msgs]
    written += [m["Body"] for m in inbox()]
    log.flush()
    own_logs = (WORK / "watch.log").read_text()
    places = {"S3 objects, alerts and answers": "\n".join(written), "the functions' own logs": own_logs}
    leaks = [(secret, where) for secret in SECRETS for where, text in places.items() if secret in text]
    say(f"{len(SECRETS)} secrets × {len(written)} objects and messages and {len(own_logs.splitlines())} log lines: "
        f"{len(leaks)} leaks; {json.dumps(report).count('[REDACTED]')} masks in the report")
    for secret, where in leaks:
        say(f"LEAKED {secret!r} into {where}")
    check(not leaks, "no seeded secret in S3, SNS, the answers or the logs")
    check("[REDACTED]" in json.dumps(report) and "[REDACTED]" in json.dumps(state), "the secret-bearing lines are kept, masked")

    title("Done")
    say("Everything the demo started is stopping now. Deploy for real with `make deploy`.")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
