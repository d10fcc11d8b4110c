"""parliament, the IAM policy linter, on each function's policy in template.yaml.

Each policy is rendered as CloudFormation would deploy it (parameters at their defaults, a
cluster name given) and checked against parliament's copy of the IAM reference: unknown
actions, a resource that does not match an action's resource types, a condition key the
action does not have, malformed statements. Any finding not accepted below fails.

    python tests/iam_lint.py [--self-test]   # --self-test: each kind of breach is caught
"""

import json
import sys

from cfnlint.decode import cfn_yaml
from parliament import analyze_policy_string

from aws_template import ACCOUNT, REGION, ROOT, Stack

# Findings that are right for this policy, each with its reason.
ACCEPTED = {
    # ListTasks has a resource type only for calls that filter by container instance
    # (IAM reference: container-instance, and "*" with ecs:cluster); diagnose lists a
    # service's stopped tasks, so "*" limited by the ecs:cluster condition is the grant.
    ("DiagnoseFunction", "RESOURCE_STAR", "ecs:ListTasks"),
}


# The stacks linted: one cluster, and a fleet (whose statements only it has).
PARAMETER_SETS = [
    {"ClusterName": "prod"},
    {"ClusterName": "prod", "Clusters": "prod,eu-west-1/prod,111122223333/us-east-1/*"},
    # The notifier exists only with destinations.
    {"ClusterName": "prod", "NotifyDestinations": '[{"name": "p", "type": "pagerduty", "secret": "/ecs-monitor/pd"}]'},
]


def lint(text):
    """(function, finding) of every finding not accepted, in every parameter set."""
    out = []
    for parameters in PARAMETER_SETS:
        out += lint_stack(text, parameters)
    return sorted(set(out))


def lint_stack(text, parameters):
    stack = Stack(
        parameters,
        {"StateBucket": "ecs-monitor-state", "AlertTopic": f"arn:aws:sns:{REGION}:{ACCOUNT}:ecs-monitor-alerts"},
        template=cfn_yaml.loads(text),
    )
    out = []
    for fn in stack.functions():
        doc = {"Version": "2012-10-17", "Statement": stack.function_statements(fn)}
        for f in analyze_policy_string(json.dumps(doc)).findings:
            details = f.detail if isinstance(f.detail, list) else [f.detail]
            if not any((fn, f.issue, str(d)) in ACCEPTED for d in details):
                out.append((fn, f"{f.issue} {f.detail}"))
    return out


BREACHES = {
    "unknown action": ("Action: sns:Publish", "Action: sns:Publsh"),
    "condition key the action lacks": ("s3:prefix:\n                    - !Sub ${StatePrefix}", "s3:x-amz-acl:\n                    - !Sub ${StatePrefix}"),
    "resource of the wrong type": ("Action: s3:ListBucket\n              Resource: !GetAtt StateBucket.Arn",
                                   "Action: s3:ListBucket\n              Resource: !Sub ${StateBucket.Arn}/*"),
}


def main():
    text = (ROOT / "template.yaml").read_text()
    found = lint(text)
    for fn, f in found:
        print(f"iam lint: {fn}: {f}", file=sys.stderr)
    if "--self-test" in sys.argv:
        for name, (old, new) in BREACHES.items():
            if old not in text:
                found.append(("self-test", f"{name}: the template no longer has {old!r} to break"))
            elif not lint(text.replace(old, new, 1)):
                found.append(("self-test", f"{name}: not caught"))
        for fn, f in found:
            if fn == "self-test":
                print(f"iam lint: self-test: {f}", file=sys.stderr)
    if found:
        sys.exit(1)
    print("iam lint: template.yaml: no findings in any function's policy (parliament)")


if __name__ == "__main__":
    main()
