"""What each subject can reach, not which verbs its roles list: only break-glass and recorded exceptions hold power."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pulumi_policy import Severity

from hipaa import _capability
from hipaa._rule import Resource, Rule

KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount", "Namespace",
         "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


def manifest(resource: Resource) -> dict[str, Any] | None:
    """A Kubernetes resource's props as the object it stands for (type `kubernetes:<group>/<version>:<Kind>`)."""
    if not resource.type.startswith("kubernetes:"):
        return None
    group_version, _, kind = resource.type.removeprefix("kubernetes:").rpartition(":")
    if kind not in KINDS:
        return None
    api_version = group_version.removeprefix("core/")
    return {**resource.props, "apiVersion": api_version, "kind": kind}


def judge(analysis: _capability.Analysis, config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(findings no exception covers, findings an exception covers with its reason), one line per subject and kind."""
    break_glass = config.get("breakGlassGroup") or ""
    exceptions = config.get("exceptions") or []
    open_: dict[tuple[str, str], list[str]] = defaultdict(list)
    covered: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    first_how: dict[tuple[str, str], str] = {}
    for finding in _capability.findings(analysis, config.get("protectedNamespaces") or []):
        if finding.subject == _capability.Subject("Group", break_glass) and break_glass:
            continue
        key = (str(finding.subject), finding.capability.kind)
        entry = _capability.excepted(finding, exceptions)
        if entry is None:
            open_[key].append(finding.capability.namespace)
            first_how.setdefault(key, finding.how)
        else:
            covered[(*key, entry.get("reason", ""))].append(finding.capability.namespace)
    problems = [f"{subject} can {kind}{_where(namespaces)}: {first_how[(subject, kind)]}; least privilege forbids it: "
                "narrow the role, fence it with an admission policy, or record the exception with its reason"
                for (subject, kind), namespaces in sorted(open_.items())]
    excepted = [f"{subject} can {kind}{_where(namespaces)}: recorded exception: {reason}"
                for (subject, kind, reason), namespaces in sorted(covered.items())]
    return problems, excepted


def _where(namespaces: list[str]) -> str:
    named = sorted({n for n in namespaces if n})
    if _capability.OTHER_NAMESPACE in named:
        return " in every namespace"
    return f" in {', '.join(named)}" if named else ""


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    by_cluster: dict[str, list[tuple[Resource, dict[str, Any]]]] = defaultdict(list)
    for resource in resources:
        obj = manifest(resource)
        if obj is not None:
            by_cluster[resource.provider].append((resource, obj))
    violations = []
    for entries in by_cluster.values():
        analysis = _capability.Analysis([obj for _, obj in entries])
        urns = {}
        for resource, obj in entries:
            if obj["kind"] in ("RoleBinding", "ClusterRoleBinding"):
                for subject in obj.get("subjects") or []:
                    urns.setdefault(str(_capability._subject(subject, (obj.get("metadata") or {}).get("namespace")
                                                             or "")), resource.urn)
        problems, _ = judge(analysis, config)
        for problem in problems:
            subject = problem.split(" can ", 1)[0]
            violations.append((urns.get(subject, ""), problem))
    return violations


RULE = Rule(
    name="effective-capability",
    title="Only break-glass reaches Secrets, pods, RBAC, admission and nodes",
    citation="164.312(a)(1)",
    severity=Severity.CRITICAL,
    description="From every Role, ClusterRole, aggregation and binding, computes what each subject can reach: Secrets "
    "read directly or mounted by a workload it can create, exec, attach and ephemeral containers, tokens, bind, "
    "escalate and impersonate, admission and node changes, through every service account it can become, minus what "
    "the cluster's admission policies refuse. Anything beyond a service account's own namespace, anything in a "
    "protected namespace, and any grant to anonymous users fails unless it is a recorded exception with its reason.",
    check=check,
    stack=True,
    config={
        "breakGlassGroup": {"type": "string", "default": "", "description": "The group that may hold everything."},
        "protectedNamespaces": {"type": "array", "items": {"type": "string"}, "default": [],
                                "description": "Namespaces where even a namespace's own accounts need an exception."},
        "exceptions": {
            "type": "array", "default": [],
            "items": {"type": "object", "required": ["subject", "capabilities", "reason"], "properties": {
                "subject": {"type": "string"}, "capabilities": {"type": "array", "items": {"type": "string"}},
                "namespaces": {"type": "array", "items": {"type": "string"}}, "reason": {"type": "string"}}},
            "description": "Recorded exceptions: subject (`ServiceAccount ns/name`, `Group g`, `User u`), capabilities "
                           "(or `*`), namespaces (or `*`) and the reason.",
        },
    },
)
