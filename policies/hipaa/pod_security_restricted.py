"""Workload pod templates meet Pod Security "restricted" (or "baseline" where listed), field by field."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import containers, exempt, pod_spec
from hipaa._rule import Resource, Rule

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
PRIVILEGED_NAMESPACES = {
    "type": "object", "additionalProperties": {"type": "string"}, "default": {},
    "description": "Namespaces exempt from the restricted level, each with the reason.",
}
BASELINE_NAMESPACES = {
    "type": "object", "additionalProperties": {"type": "string"}, "default": {},
    "description": "Namespaces held to the baseline level instead of restricted, each with the reason.",
}
# Capabilities Pod Security baseline admits in `add` (the container runtime's defaults).
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}


def baseline_problems(pod: dict) -> list[str]:
    """What Pod Security baseline rejects: host namespaces, host paths and ports, privilege, extra capabilities."""
    problems = [f"spec.{flag} must be false" for flag in ("hostNetwork", "hostPID", "hostIPC") if pod.get(flag)]
    problems += [f"volume {v.get('name')!r} must not be a hostPath" for v in pod.get("volumes") or [] if "hostPath" in v]
    pod_ctx = pod.get("securityContext") or {}
    if (pod_ctx.get("seccompProfile") or {}).get("type") == "Unconfined":
        problems.append("spec.securityContext.seccompProfile.type must not be Unconfined")
    problems += [f"sysctl {s.get('name')!r} is not in the safe set" for s in pod_ctx.get("sysctls") or []
                 if s.get("name") not in SAFE_SYSCTLS]
    for path, container in containers(pod):
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            problems.append(f"{path}.securityContext.privileged must be false")
        extra = set((ctx.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if extra:
            problems.append(f"{path}.securityContext.capabilities.add holds {sorted(extra)}, beyond the baseline set")
        if (ctx.get("seccompProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{path}.securityContext.seccompProfile.type must not be Unconfined")
        if ctx.get("procMount") not in (None, "Default"):
            problems.append(f"{path}.securityContext.procMount must be Default")
        if any(port.get("hostPort") for port in container.get("ports") or []):
            problems.append(f"{path}.ports[].hostPort must not be set")
    return problems


def check(resource: Resource, config: dict) -> list[str]:
    pod = pod_spec(resource)
    if pod is None or exempt(resource, config):
        return []
    if exempt(resource, config, "baselineNamespaces"):
        return baseline_problems(pod)
    return restricted_problems(pod)


def restricted_problems(pod: dict) -> list[str]:
    """What Pod Security restricted rejects."""
    problems = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"spec.{flag} must be false")
    pod_ctx = pod.get("securityContext") or {}
    # Restricted includes baseline: only the namespaced, safe sysctls (a group's pods pin their port range with one).
    problems += [f"sysctl {s.get('name')!r} is not in the safe set" for s in pod_ctx.get("sysctls") or []
                 if s.get("name") not in SAFE_SYSCTLS]
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
    config={"privilegedNamespaces": PRIVILEGED_NAMESPACES, "baselineNamespaces": BASELINE_NAMESPACES},
)
