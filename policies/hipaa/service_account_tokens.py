"""Service account tokens are not mounted into pods that do not call the Kubernetes API."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import pod_spec
from hipaa._rule import Resource, Rule

NEEDS_TOKEN = "onprem-llm.io/needs-api-token"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def check(resource: Resource, config: dict) -> list[str]:
    annotations = (resource.props.get("metadata") or {}).get("annotations") or {}
    if annotations.get(NEEDS_TOKEN):
        return []
    if resource.type == SERVICE_ACCOUNT:
        if resource.props.get("automountServiceAccountToken") is not False:
            return ["automountServiceAccountToken must be false on the ServiceAccount "
                    f"(or annotate {NEEDS_TOKEN}: <reason> if its pods call the API)"]
        return []
    pod = pod_spec(resource)
    if pod is None:
        return []
    if pod.get("automountServiceAccountToken") is not False:
        return [f"spec.automountServiceAccountToken must be false (or annotate {NEEDS_TOKEN}: <reason>)"]
    if pod.get("serviceAccountName") in (None, "", "default"):
        return ["spec.serviceAccountName must name the workload's own ServiceAccount, never default"]
    return []


RULE = Rule(
    name="service-account-tokens",
    title="No unneeded service account tokens",
    citation="164.312(d)",
    severity=Severity.MEDIUM,
    description="Workloads run under their own ServiceAccount and do not mount an API token unless annotated with "
    "the reason they need one. A mounted token lets a compromised model server act on the cluster.",
    check=check,
)
