"""Workload pod templates meet Pod Security "restricted", field by field."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import containers, exempt, pod_spec
from hipaa._rule import Resource, Rule

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
PRIVILEGED_NAMESPACES = {
    "type": "object", "additionalProperties": {"type": "string"}, "default": {},
    "description": "Namespaces exempt from the restricted level, each with the reason.",
}


def check(resource: Resource, config: dict) -> list[str]:
    pod = pod_spec(resource)
    if pod is None or exempt(resource, config):
        return []
    problems = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"spec.{flag} must be false")
    pod_ctx = pod.get("securityContext") or {}
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {volume.get('name')!r} uses {sorted(kinds - ALLOWED_VOLUMES)}; "
                            f"only {sorted(ALLOWED_VOLUMES)} are allowed")
    all_containers = list(containers(pod))
    if pod_ctx.get("runAsNonRoot") is not True and not all(
        (c.get("securityContext") or {}).get("runAsNonRoot") is True for _, c in all_containers
    ):
        problems.append("securityContext.runAsNonRoot must be true on the pod or on every container")
    pod_seccomp = (pod_ctx.get("seccompProfile") or {}).get("type")
    if pod_ctx.get("runAsUser") == 0:
        problems.append("spec.securityContext.runAsUser must not be 0")
    for path, container in all_containers:
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            problems.append(f"{path}.securityContext.privileged must be false")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{path}.securityContext.allowPrivilegeEscalation must be set to false")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{path}.securityContext.capabilities.drop must contain ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{path}.securityContext.capabilities.add may only hold NET_BIND_SERVICE")
        if ctx.get("runAsNonRoot") is False:
            problems.append(f"{path}.securityContext.runAsNonRoot must not be false")
        if ctx.get("runAsUser") == 0:
            problems.append(f"{path}.securityContext.runAsUser must not be 0")
        seccomp = (ctx.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{path}: seccompProfile.type must be RuntimeDefault or Localhost (pod or container)")
        if any(port.get("hostPort") for port in container.get("ports") or []):
            problems.append(f"{path}.ports[].hostPort must not be set")
    return problems


RULE = Rule(
    name="pod-security-restricted",
    title="Workloads meet Pod Security restricted",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="Pod templates of Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and Pods must meet every "
    "field of Pod Security restricted, because admission judges only the Pods and a non-compliant template fails "
    "silently at run time. Privileged or root containers could read other tenants' ePHI from the node.",
    check=check,
    config={"privilegedNamespaces": PRIVILEGED_NAMESPACES},
)
