"""template.yaml as CloudFormation would deploy it: parameters at their defaults (or given),
intrinsic functions resolved, and per function the environment Lambda gives it and the IAM
statements of its role.

The tests use it so that what they run is what `sam deploy` deploys: the demo boots each
function with exactly its template environment, and the strict AWS layer (strict_aws.py)
checks each call against exactly its template policy.

    python tests/aws_template.py env DiagnoseFunction ClusterName=prod   # the environment, as JSON
    python tests/aws_template.py policy HealthCheckFunction ClusterName=prod
    python tests/aws_template.py resource DiagnoseFunction ClusterName=prod   # its Properties
"""

import json
import re
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"


class TemplateError(Exception):
    pass


def load(path=ROOT / "template.yaml"):
    return cfn_yaml.loads(Path(path).read_text())


class Stack:
    """One deployment of the template: its parameter values and the physical names of its
    resources (a bucket name, a topic ARN), in one account and region."""

    def __init__(self, parameters=None, physical=None, template=None, region=REGION, account=ACCOUNT):
        self.t = template if template is not None else load()
        self.given = dict(parameters or {})
        self.physical = dict(physical or {})
        self.region = region
        self.account = account
        unknown = set(self.given) - set(self.t.get("Parameters", {}))
        if unknown:
            raise TemplateError(f"not parameters of the template: {sorted(unknown)}")

    def param(self, name):
        spec = self.t["Parameters"][name]
        if name in self.given:
            value = str(self.given[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default: give it")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
        return value

    def pseudo(self, name):
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::StackName": "ecs-monitor",
            "AWS::URLSuffix": "amazonaws.com",
        }[name]

    def ref(self, name):
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.t.get("Parameters", {}):
            return self.param(name)
        if name in self.t.get("Resources", {}):
            if name not in self.physical:
                raise TemplateError(f"the physical id of resource {name} is needed (give it)")
            return self.physical[name]
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, resource, attribute):
        kind = self.t["Resources"][resource]["Type"]
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{self.ref(resource)}"
        key = f"{resource}.{attribute}"
        if key not in self.physical:
            raise TemplateError(f"!GetAtt {key} is needed (give it)")
        return self.physical[key]

    def condition(self, name):
        return bool(self.resolve(self.t["Conditions"][name]))

    def sub(self, text, extra=None):
        def one(m):
            var = m.group(1)
            if extra and var in extra:
                return str(extra[var])
            if "." in var and not var.startswith("AWS::"):
                return str(self.get_att(*var.split(".", 1)))
            return str(self.ref(var))

        return re.sub(r"\$\{([^}!][^}]*)\}", one, text)

    def resolve(self, node):
        """The value of a template node, intrinsic functions evaluated; `NOVALUE` for AWS::NoValue."""
        if isinstance(node, dict):
            if len(node) == 1:
                (fn, arg), = node.items()
                if fn == "Ref":
                    return NOVALUE if arg == "AWS::NoValue" else self.ref(arg)
                if fn == "Fn::GetAtt":
                    res, att = arg if isinstance(arg, list) else arg.split(".", 1)
                    return self.get_att(res, att)
                if fn == "Fn::Sub":
                    if isinstance(arg, list):
                        extra = {k: self.resolve(v) for k, v in arg[1].items()}
                        return self.sub(arg[0], extra)
                    return self.sub(arg)
                if fn == "Fn::If":
                    name, yes, no = arg
                    return self.resolve(yes if self.condition(name) else no)
                if fn == "Fn::Equals":
                    a, b = (self.resolve(x) for x in arg)
                    return str(a) == str(b)
                if fn == "Fn::Not":
                    return not self.resolve(arg[0])
                if fn == "Fn::And":
                    return all(self.resolve(x) for x in arg)
                if fn == "Fn::Or":
                    return any(self.resolve(x) for x in arg)
                if fn == "Condition":
                    return self.condition(arg)
                if fn == "Fn::Join":
                    sep, parts = arg
                    return sep.join(str(self.resolve(p)) for p in parts)
                if fn == "Fn::Select":
                    index, items = arg
                    return self.resolve(items)[int(self.resolve(index))]
                if fn == "Fn::Split":
                    sep, text = arg
                    return str(self.resolve(text)).split(sep)
                if fn.startswith("Fn::"):
                    raise TemplateError(f"{fn} is not modelled by tests/aws_template.py")
            out = {}
            for k, v in node.items():
                r = self.resolve(v)
                if r is not NOVALUE:
                    out[str(k)] = r
            return out
        if isinstance(node, list):
            return [r for r in (self.resolve(v) for v in node) if r is not NOVALUE]
        return node

    def functions(self):
        return [n for n, r in self.t["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]

    def function_env(self, name):
        """The environment variables Lambda gives the function (Globals first), as strings."""
        glob = ((self.t.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables", {})
        own = (self.t["Resources"][name]["Properties"].get("Environment") or {}).get("Variables", {})
        env = {}
        for k, v in list(glob.items()) + list(own.items()):
            r = self.resolve(v)
            if r is not NOVALUE:
                # CloudFormation passes every value as a string; a blank parameter stays "".
                env[str(k)] = r if isinstance(r, str) else json.dumps(r) if isinstance(r, (dict, list)) else str(r)
        return env

    def function_statements(self, name):
        """The IAM statements of the function's role (its inline policies)."""
        out = []
        for pol in self.t["Resources"][name]["Properties"].get("Policies") or []:
            if not isinstance(pol, dict) or "Statement" not in pol:
                raise TemplateError(f"{name}: policy {pol!r} is not an inline statement list")
            doc = self.resolve(pol)
            stmts = doc["Statement"]
            out.extend(stmts if isinstance(stmts, list) else [stmts])
        return out


class _NoValue:
    def __repr__(self):
        return "AWS::NoValue"


NOVALUE = _NoValue()


def _args(argv):
    params = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("--"))
    physical = {}
    for a in argv:
        if a.startswith("--resource="):
            k, v = a[len("--resource="):].split("=", 1)
            physical[k] = v
    return params, physical


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("env", "policy", "resource", "deployed"):
        sys.exit(__doc__)
    what, function = sys.argv[1], sys.argv[2]
    params, physical = _args(sys.argv[3:])
    physical.setdefault("StateBucket", "ecs-monitor-state")
    physical.setdefault("AlertTopic", f"arn:aws:sns:{REGION}:{ACCOUNT}:ecs-monitor-alerts")
    physical.setdefault("FailedEventsQueue.Arn", f"arn:aws:sqs:{REGION}:{ACCOUNT}:ecs-monitor-failed-events")
    stack = Stack(params, physical)
    if what == "env":
        print(json.dumps(stack.function_env(function), indent=2, sort_keys=True))
    elif what == "deployed":
        # The resources CloudFormation creates with these parameters (their conditions hold).
        print(json.dumps(sorted(n for n, r in stack.t["Resources"].items()
                                if "Condition" not in r or stack.condition(r["Condition"]))))
    elif what == "resource":
        print(json.dumps(stack.resolve(stack.t["Resources"][function]["Properties"]), indent=2, default=str))
    else:
        print(json.dumps({"Version": "2012-10-17", "Statement": stack.function_statements(function)}, indent=2))


if __name__ == "__main__":
    main()
