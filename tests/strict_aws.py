"""A strict layer in front of moto: AWS's own rules where moto is kinder.

A WSGI middleware around moto's server. For each request it works out the IAM action, the
resource ARN and the condition keys AWS would evaluate, and:

- a caller whose access key id names a function of template.yaml (`HealthCheckFunction`,
  `DiagnoseFunction`) is held to exactly that function's policy in the template: a call the
  policy does not allow is answered with AccessDenied in the service's own error format
  (JSON `AccessDeniedException`, SNS `AuthorizationError`, S3 `AccessDenied`), and recorded;
  any other key is the test's own administrator (it seeds the fixtures);
- GetObject / HeadObject of a key that does not exist answers 403 AccessDenied, not 404,
  unless the caller may s3:ListBucket the bucket (S3 API reference, GetObject, "Permissions").
  AWS does not document the request context of that ListBucket decision: by default it is
  evaluated with s3:prefix = the requested key (what Ceph's RGW adopted "to match AWS":
  ceph/ceph#68577); `missing_key_prefix=False` evaluates it without s3:prefix, so a
  prefix-limited grant gives 403, the stricter reading;
- a Publish with MessageStructure=json reaches moto without its message attributes: "Message
  attributes are sent only when the message structure is String, not JSON" (SNS developer
  guide, Amazon SNS message attributes);
- CloudWatch Logs evaluates log-group permissions on the ARN with a trailing `:*`
  (CloudWatch Logs API reference, LogGroup.arn); services created before the ARN migration
  keep `service/<name>` ARNs (ECS developer guide, Amazon Resource Names (ARNs) and IDs), and
  the resource evaluated is the service's real ARN.

Which resource types and condition keys each action has comes from policy_sentry's copy of
the IAM Service Authorization Reference, not from a table of ours: an action with no
resource-level permissions is evaluated on `*`, and a condition key the layer supplies must
be one the reference lists for the action.
"""

import io
import json
import re
import threading
import urllib.parse
import uuid

from policy_sentry.querying.actions import get_action_data

from aws_template import ACCOUNT, Stack

ECS_TARGET = "AmazonEC2ContainerServiceV20141113."
LOGS_TARGET = "Logs_20140328."
SSM_TARGET = "AmazonSSM."
SECRETS_TARGET = "secretsmanager."


class Denied(Exception):
    def __init__(self, action, resource, why):
        super().__init__(f"{action} on {resource}: {why}")
        self.action, self.resource, self.why = action, resource, why


_IAM_CACHE = {}
_IAM_LOCK = threading.Lock()


def iam_facts(action):
    """(ARN formats, condition keys) of an action, from the IAM reference (policy_sentry)."""
    with _IAM_LOCK:
        if action not in _IAM_CACHE:
            service, name = action.split(":", 1)
            rows = get_action_data(service, name) or {}
            formats, keys = [], set()
            for row in next(iter(rows.values()), []):
                formats.append(row["resource_arn_format"])
                keys.update(row.get("condition_keys") or [])
            if not formats:
                raise AssertionError(f"{action} is not an action of the IAM reference")
            _IAM_CACHE[action] = (formats, keys)
        return _IAM_CACHE[action]


def resource_level(action):
    """False when the action has no resource-level permissions (IAM evaluates it on `*`)."""
    formats, _ = iam_facts(action)
    return any(f != "*" for f in formats)


# --- IAM policy evaluation (identity policies of one role; no boundaries or SCPs) ---------

def _glob(pattern, value, case_sensitive=True):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _arn_like(pattern, value):
    # "Each of the six colon-delimited components of the ARN is checked separately" (IAM
    # reference, ARN condition operators); the last component may hold colons itself.
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(p) == len(v) == 6 and all(_glob(a, b) for a, b in zip(p, v))


_OPERATORS = {
    "StringEquals": (lambda v, p: v == p, False),
    "StringNotEquals": (lambda v, p: v == p, True),
    "StringEqualsIgnoreCase": (lambda v, p: v.lower() == p.lower(), False),
    "StringLike": (lambda v, p: _glob(p, v), False),
    "StringNotLike": (lambda v, p: _glob(p, v), True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (lambda v, p: str(v).lower() == str(p).lower(), False),
}


def _condition_holds(op, key, wanted, ctx):
    if op == "Null":
        return all((key not in ctx) == (str(w).lower() == "true") for w in _as_list(wanted))
    if_exists = op.endswith("IfExists")
    base = op[: -len("IfExists")] if if_exists else op
    if base not in _OPERATORS:
        raise AssertionError(f"condition operator {op} is not modelled by tests/strict_aws.py")
    match, negated = _OPERATORS[base]
    if key not in ctx:
        # IAM reference, condition operators: an absent key does not match, so a negated
        # operator holds; ...IfExists holds when the key is absent.
        return if_exists or negated
    hit = any(match(str(ctx[key]), str(w)) for w in _as_list(wanted))
    return not hit if negated else hit


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _statement_applies(st, action, resource, ctx):
    def any_action(patterns):
        return any(_glob(p, action, case_sensitive=False) for p in _as_list(patterns))

    def any_resource(patterns):
        return any(_glob(p, resource) for p in _as_list(patterns))

    if "Action" in st and not any_action(st["Action"]):
        return False
    if "NotAction" in st and any_action(st["NotAction"]):
        return False
    if "Resource" in st and not any_resource(st["Resource"]):
        return False
    if "NotResource" in st and any_resource(st["NotResource"]):
        return False
    for op, keys in (st.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(op, key, wanted, ctx):
                return False
    return True


def allowed(statements, action, resource, ctx):
    """IAM's decision for one request: explicit deny, then any allow, else implicit deny."""
    applies = [st for st in statements if _statement_applies(st, action, resource, ctx)]
    if any(st.get("Effect") == "Deny" for st in applies):
        return False, "explicitly denied"
    if any(st.get("Effect") == "Allow" for st in applies):
        return True, ""
    return False, f"no identity-based policy allows the {action} action"


# --- What a request asks for ----------------------------------------------------------------

class Check:
    """One authorization AWS makes for a request: action, resource ARN, request context."""

    def __init__(self, action, resource, ctx=None):
        self.action = action
        self.ctx = dict(ctx or {})
        self.resource = resource if resource_level(action) else "*"
        _, keys = iam_facts(action)
        for k in self.ctx:
            if k not in keys:
                raise AssertionError(f"{k} is not a condition key of {action} (IAM reference)")


class StrictLayer:
    """WSGI middleware: wraps moto's application."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.principals = {}  # access key id -> (function, statements)
        self.denials = []
        self.stripped_attributes = 0
        self.missing_key_prefix = True
        self.calls = {}  # "service:Operation" -> requests made with any credentials but the harness's

    # Configuration, from the harness.
    def configure(self, parameters, physical, missing_key_prefix=True):
        stack = Stack(parameters, physical)
        principals = {fn: stack.function_statements(fn) for fn in stack.functions()}
        with self.lock:
            self.principals = {fn: (fn, sts) for fn, sts in principals.items()}
            self.denials = []
            self.missing_key_prefix = missing_key_prefix
        return {"principals": sorted(principals)}

    def report(self):
        with self.lock:
            return {"denials": list(self.denials), "stripped_attributes": self.stripped_attributes,
                    "calls": dict(self.calls)}

    @staticmethod
    def operation(environ, body, service):
        """The API operation of a request, for counting (S3: GET, PUT, LIST, HEAD)."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            return f"{service}:{target.rsplit('.', 1)[-1]}"
        if service == "s3":
            method = environ["REQUEST_METHOD"]
            path = environ.get("PATH_INFO", "/").lstrip("/")
            return f"s3:{'LIST' if method == 'GET' and '/' not in path else method}"
        form = urllib.parse.parse_qs(body.decode(errors="replace"), keep_blank_values=True)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        return f"{service}:{(form.get('Action') or query.get('Action') or ['?'])[0]}"

    # The middleware.
    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", auth)
        key_id, region, service = m.groups() if m else ("", "us-east-1", "")
        if key_id and key_id != "test":
            op = self.operation(environ, body, service)
            with self.lock:
                self.calls[op] = self.calls.get(op, 0) + 1
        with self.lock:
            principal = self.principals.get(key_id)
        try:
            if principal is None:
                # The test's administrator: allowed everything; AWS's delivery rules still hold.
                body = self.admin_body(environ, body, service)
                checks, missing_object = [], None
            else:
                body, checks, missing_object = self.inspect(environ, body, service, region)
            if principal is not None:
                name, statements = principal
                for c in checks:
                    ok, why = allowed(statements, c.action, c.resource, c.ctx)
                    if not ok:
                        raise Denied(c.action, c.resource, why)
            if missing_object is not None:
                # No such key: 404 only for a caller who may list the bucket under that key.
                bucket, key = missing_object
                ctx = {"s3:prefix": key} if self.missing_key_prefix else {}
                may_list = allowed(principal[1], "s3:ListBucket", f"arn:aws:s3:::{bucket}", ctx)[0]
                if not may_list:
                    raise Denied("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", "missing key, no s3:ListBucket")
        except Denied as d:
            with self.lock:
                self.denials.append({"principal": key_id, "action": d.action, "resource": d.resource, "why": d.why})
            return self.deny(environ, service, key_id, d, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def admin_body(self, environ, body, service):
        if service == "sns" and not environ.get("HTTP_X_AMZ_TARGET"):
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            if (form.get("Action") or [""])[0] == "Publish":
                return self.strip_json_attributes(body, form)
        return body

    def inspect(self, environ, body, service, region):
        """(body to forward, checks, (bucket, key) of a GET/HEAD of a missing object)."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(ECS_TARGET):
            return body, self.ecs(target[len(ECS_TARGET):], json.loads(body or b"{}"), region), None
        if target.startswith(LOGS_TARGET):
            return body, self.logs(target[len(LOGS_TARGET):], json.loads(body or b"{}"), region), None
        if target.startswith(SSM_TARGET) or target.startswith(SECRETS_TARGET):
            return body, self.secrets(target, json.loads(body or b"{}"), region), None
        if service == "s3":
            checks, missing = self.s3(environ)
            return body, checks, missing
        if service in ("sns", "elasticloadbalancing", "sqs", "sts", "events", "lambda", "ec2"):
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            action = (form.get("Action") or [""])[0]
            if service == "sns" and action == "Publish":
                body = self.strip_json_attributes(body, form)
                topic = (form.get("TopicArn") or form.get("TargetArn") or [""])[0]
                return body, [Check("sns:Publish", topic)], None
            if service == "sts" and action == "GetCallerIdentity":
                # "No permissions are required to perform this operation" (STS API reference).
                return body, [], None
            if service == "sts" and action == "AssumeRole":
                # Authorized on the role (IAM service authorization reference, STS: role).
                return body, [Check("sts:AssumeRole", (form.get("RoleArn") or [""])[0])], None
            if service == "elasticloadbalancing" and action == "DescribeTargetHealth":
                return body, [Check("elasticloadbalancing:DescribeTargetHealth", "*")], None
            return body, [Check(f"{service}:{action}", "*")] if action else [], None
        return body, [], None

    def ecs(self, op, params, region):
        cluster = params.get("cluster") or "default"
        cname = cluster.split("/")[-1]
        cluster_arn = f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{cname}"
        ctx = {"ecs:cluster": cluster_arn}
        if op == "DescribeServices":
            return [Check("ecs:DescribeServices", self.service_arn(region, cname, s), ctx) for s in params.get("services") or []]
        if op == "DescribeTasks":
            return [Check("ecs:DescribeTasks", t if t.startswith("arn:") else f"arn:aws:ecs:{region}:{ACCOUNT}:task/{cname}/{t}", ctx)
                    for t in params.get("tasks") or []]
        if op in ("ListServices", "ListTasks"):
            return [Check(f"ecs:{op}", "*", ctx)]
        if op == "DescribeClusters":
            return [Check("ecs:DescribeClusters", c if c.startswith("arn:") else f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{c}")
                    for c in params.get("clusters") or ["default"]]
        action = f"ecs:{op}"
        _, keys = iam_facts(action)
        return [Check(action, "*", ctx if "ecs:cluster" in keys else {})]

    @staticmethod
    def service_arn(region, cluster, name_or_arn):
        """The ARN IAM evaluates: the service's real one (short for old services)."""
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        from moto.ecs.models import ecs_backends

        service = ecs_backends[ACCOUNT][region].services.get(f"{cluster}:{name_or_arn}")
        return service.arn if service else f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{name_or_arn}"

    @staticmethod
    def secrets(target, params, region):
        """SSM parameters and Secrets Manager secrets, authorized on their ARNs (IAM service
        authorization reference: SSM parameter, Secrets Manager secret)."""
        op = target.rsplit(".", 1)[1]
        if target.startswith(SSM_TARGET):
            names = params.get("Names") or [params.get("Name") or ""]
            return [Check(f"ssm:{op}", f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{n.lstrip('/')}") for n in names]
        sid = params.get("SecretId") or ""
        arn = sid if sid.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{sid}"
        return [Check(f"secretsmanager:{op}", arn)]

    def logs(self, op, params, region):
        group = params.get("logGroupName") or params.get("logGroupIdentifier") or ""
        if group.startswith("arn:"):
            group = group.split(":log-group:", 1)[1].removesuffix(":*")
        if op == "GetLogEvents":
            # GetLogEvents is authorized on the log stream (IAM service authorization
            # reference, CloudWatch Logs: resource type log-stream).
            stream = params.get("logStreamName") or ""
            return [Check("logs:GetLogEvents", f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}:log-stream:{stream}")]
        # LogGroup.arn: "arn:aws:logs:us-east-1:123456789012:log-group:/mystuff:*".
        resource = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}:*"
        return [Check(f"logs:{op}", resource)]

    def s3(self, environ):
        method = environ["REQUEST_METHOD"]
        path = urllib.parse.unquote(environ.get("PATH_INFO", "/"))
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        bucket, _, key = path.lstrip("/").partition("/")
        if not bucket:
            return [Check("s3:ListAllMyBuckets", "*")], None
        if not key:
            if method in ("GET", "HEAD") and not (set(query) & {"location", "versioning", "policy", "acl", "tagging"}):
                prefix = (query.get("prefix") or [""])[0]
                return [Check("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix})], None
            return [Check("s3:CreateBucket" if method == "PUT" else "s3:ListBucket", f"arn:aws:s3:::{bucket}")], None
        arn = f"arn:aws:s3:::{bucket}/{key}"
        if method in ("GET", "HEAD"):
            return [Check("s3:GetObject", arn)], (None if self.object_exists(bucket, key) else (bucket, key))
        if method == "PUT":
            checks = [Check("s3:PutObject", arn)]
            if environ.get("HTTP_X_AMZ_COPY_SOURCE"):
                src = urllib.parse.unquote(environ["HTTP_X_AMZ_COPY_SOURCE"]).lstrip("/")
                checks.append(Check("s3:GetObject", f"arn:aws:s3:::{src}"))
            return checks, None
        if method == "DELETE":
            return [Check("s3:DeleteObject", arn)], None
        if method == "POST" and "delete" in query:
            return [Check("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*")], None
        return [Check("s3:PutObject", arn)], None

    @staticmethod
    def object_exists(bucket, key):
        from moto.s3.models import s3_backends

        b = s3_backends[ACCOUNT]["global"].buckets.get(bucket)
        return b is not None and b.keys.get(key) is not None

    def strip_json_attributes(self, body, form):
        if (form.get("MessageStructure") or [""])[0] != "json":
            return body
        kept = [(k, v) for k, vs in form.items() for v in vs if not k.startswith("MessageAttributes.")]
        if len(kept) != sum(len(vs) for vs in form.values()):
            with self.lock:
                self.stripped_attributes += 1
        return urllib.parse.urlencode(kept).encode()

    @staticmethod
    def deny(environ, service, key_id, d, start_response):
        who = f"arn:aws:sts::{ACCOUNT}:assumed-role/{key_id}Role/{key_id}"
        msg = f"User: {who} is not authorized to perform: {d.action} on resource: {d.resource} because {d.why}"
        rid = str(uuid.uuid4())
        if environ.get("HTTP_X_AMZ_TARGET"):
            status, ctype = "400 Bad Request", "application/x-amz-json-1.1"
            body = json.dumps({"__type": "AccessDeniedException", "message": msg})
            headers = [("x-amzn-ErrorType", "AccessDeniedException")]
        elif service == "s3":
            status, ctype = "403 Forbidden", "application/xml"
            text = "Access Denied" if d.why.startswith("missing key") else msg
            body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{_xml(text)}</Message><RequestId>{rid}</RequestId><HostId>strict</HostId></Error>"
            headers = []
            if environ["REQUEST_METHOD"] == "HEAD":
                body = ""
        else:
            code = "AuthorizationError" if service == "sns" else "AccessDenied"
            status, ctype = "403 Forbidden", "text/xml"
            body = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(msg)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
            headers = []
        data = body.encode()
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data))), ("x-amzn-RequestId", rid)] + headers)
        return [data]


def _xml(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

