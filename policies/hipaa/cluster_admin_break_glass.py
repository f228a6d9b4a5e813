"""cluster-admin is bound only to the break-glass group."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import name_of
from hipaa._rule import Resource, Rule

BINDINGS = ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type not in BINDINGS or (resource.props.get("roleRef") or {}).get("name") != "cluster-admin":
        return []
    allowed = config["breakGlassGroup"]
    problems = []
    for subject in resource.props.get("subjects") or []:
        if subject.get("kind") != "Group" or subject.get("name") != allowed:
            problems.append(f"{name_of(resource)} grants cluster-admin to {subject.get('kind')} {subject.get('name')!r}; "
                            f"only the break-glass group {allowed!r} may hold it")
    return problems


RULE = Rule(
    name="cluster-admin-break-glass-only",
    title="cluster-admin only for break-glass",
    citation="164.312(a)(1)",
    severity=Severity.CRITICAL,
    description="RoleBindings and ClusterRoleBindings to cluster-admin name only the break-glass group. Everyone "
    "else works with least privilege, so one stolen credential cannot read every Secret.",
    check=check,
    config={"breakGlassGroup": {"type": "string", "default": "", "description": "The only group bound to cluster-admin."}},
)
