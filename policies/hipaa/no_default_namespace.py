"""Nothing is deployed into the default namespace."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import namespace_of
from hipaa._rule import Resource, Rule


def check(resource: Resource, config: dict) -> list[str]:
    if not resource.type.startswith("kubernetes:") or resource.type.startswith("kubernetes:helm.sh"):
        return []
    metadata = resource.props.get("metadata")
    if metadata is not None and namespace_of(resource) == "default":
        return ["metadata.namespace is default; deploy into a labelled, policy-covered namespace"]
    return []


RULE = Rule(
    name="no-default-namespace",
    title="No workloads in the default namespace",
    citation="164.312(a)(1)",
    severity=Severity.MEDIUM,
    description="Objects name a namespace other than default. The default namespace carries no Pod Security labels "
    "or network policy of this platform, so whatever runs there escapes its controls.",
    check=check,
)
