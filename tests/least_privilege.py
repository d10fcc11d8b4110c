"""Least privilege of template.yaml: every IAM grant names its actions and scopes its resources.

Fails on an Allow statement with a wildcard action (`*`, `s3:*`, `s3:Get*`), a NotAction or
NotResource, a managed policy or SAM policy template (they grant more than we need), or an
unscoped resource (`*`, or an ARN whose resource part is only a wildcard), except where the
comment line right above the statement says the actions have "no resource-level permissions"
and names every action of the statement. Deny statements (the bucket's TLS-only policy) take
permissions away and are not checked.

    python tests/least_privilege.py [template.yaml]   # check the template
    python tests/least_privilege.py --self-test        # and prove each rule catches a breach
"""

import re
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

EXEMPT = "no resource-level permissions"


def as_list(v):
    return v if isinstance(v, list) else [v]


def resource_text(r):
    """The ARN pattern of a resource: a plain string or the template of !Sub."""
    if isinstance(r, str):
        return r
    if isinstance(r, dict) and "Fn::Sub" in r:
        sub = r["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None  # !Ref / !GetAtt of a resource of this template: scoped by construction


def unscoped(arn):
    if arn.strip() == "*":
        return True
    parts = arn.split(":", 5)
    # arn:partition:service:region:account:resource: a resource part of only wildcards.
    return len(parts) == 6 and re.fullmatch(r"[*/]*", parts[5]) is not None


def branches(where, st):
    """A statement, or each statement branch of an `!If` (a condition's AWS::NoValue left out)."""
    if isinstance(st, dict) and list(st) == ["Fn::If"]:
        _, yes, no = st["Fn::If"]
        for k, branch in (("true", yes), ("false", no)):
            if not (isinstance(branch, dict) and branch.get("Ref") == "AWS::NoValue"):
                yield from branches(f"{where}.If.{k}", branch)
    else:
        yield where, st


def statements(template):
    """(where, statement) of every IAM policy statement in the template."""
    for name, res in (template.get("Resources") or {}).items():
        props = res.get("Properties") or {}
        kind = res.get("Type", "")
        if kind == "AWS::Serverless::Function":
            for i, pol in enumerate(as_list(props.get("Policies") or [])):
                if not isinstance(pol, dict) or "Statement" not in pol:
                    yield f"{name}.Policies[{i}]", pol
                    continue
                for j, st in enumerate(as_list(pol["Statement"])):
                    yield from branches(f"{name}.Policies[{i}].Statement[{j}]", st)
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"):
            docs = [props.get("PolicyDocument")]
            docs += [p.get("PolicyDocument") for p in props.get("Policies") or []]
            for i, a in enumerate(props.get("ManagedPolicyArns") or []):
                yield f"{name}.ManagedPolicyArns[{i}]", a
            for doc in filter(None, docs):
                for j, st in enumerate(as_list(doc.get("Statement") or [])):
                    yield f"{name}.Statement[{j}]", st


def problems(text):
    template = cfn_yaml.loads(text)
    lines = text.splitlines()
    found = []
    for where, st in statements(template):
        if not isinstance(st, dict):
            found.append(f"{where}: a managed policy or policy template ({st}): write the statements")
            continue
        if st.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in st:
                found.append(f"{where}: {key} grants everything else")
        actions = [str(a) for a in as_list(st.get("Action") or [])]
        for a in actions:
            if "*" in a:
                found.append(f"{where}: wildcard action {a!r}")
        line = getattr(st, "start_mark", None)
        above = lines[line.line - 1].strip() if line is not None and line.line > 0 else ""
        exempt = above.startswith("#") and EXEMPT in above
        for r in as_list(st.get("Resource") or []):
            arn = resource_text(r)
            if arn is None or not unscoped(arn):
                continue
            if not exempt:
                found.append(f"{where}: unscoped resource {arn!r} without a '# … {EXEMPT}' comment above")
                continue
            for a in actions:
                if a.split(":")[-1] not in above:
                    found.append(f"{where}: {a} is not named in the exemption comment {above!r}")
    return found


def self_test(text):
    """Each rule must catch the breach it is for."""
    breaches = {
        "wildcard action": ("Action: sns:Publish", "Action: sns:*"),
        "unscoped resource": (
            "Resource: !Sub arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/${ClusterName}/*",
            'Resource: "*"',
        ),
        "unscoped ARN": (
            "Resource: !Sub ${StateBucket.Arn}/${ReportPrefix}${ClusterName}/*",
            "Resource: arn:aws:s3:::*",
        ),
        "action slipped into an exemption": (
            "Action: elasticloadbalancing:DescribeTargetHealth",
            "Action: [elasticloadbalancing:DescribeTargetHealth, elasticloadbalancing:DeleteLoadBalancer]",
        ),
        "managed policy": ("      Policies:\n", "      Policies:\n        - AmazonS3FullAccess\n"),
    }
    failed = []
    for name, (old, new) in breaches.items():
        if old not in text:
            failed.append(f"{name}: the template no longer has {old!r} to break")
            continue
        if not problems(text.replace(old, new, 1)):
            failed.append(f"{name}: not caught")
    return failed


def main():
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    path = Path(args[0] if args else Path(__file__).parent.parent / "template.yaml")
    text = path.read_text()
    found = problems(text)
    if "--self-test" in sys.argv:
        found += [f"self-test: {p}" for p in self_test(text)]
    for p in found:
        print(f"least privilege: {p}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"least privilege: {path.name}: every grant scoped (or an exemption with its reason)")


if __name__ == "__main__":
    main()
