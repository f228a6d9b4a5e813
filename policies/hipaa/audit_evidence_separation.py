"""The audit signing key and the sealing identity live apart from what the audit trail watches."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import NAMESPACE, PSA_MODES, containers, name_of, namespace_of, pod_spec
from hipaa._rule import Resource, Rule

SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"


def _secrets_used(pod: dict) -> set[str]:
    used = {(v.get("secret") or {}).get("secretName") for v in pod.get("volumes") or []}
    for _, container in containers(pod):
        for var in container.get("env") or []:
            used.add((((var.get("valueFrom") or {}).get("secretKeyRef")) or {}).get("name"))
        for source in container.get("envFrom") or []:
            used.add((source.get("secretRef") or {}).get("name"))
    return {u for u in used if u}


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    if not config.get("auditRequired"):
        return []
    sealing, key, shipping = config["sealingNamespace"], config["signingKeySecret"], config["shippingNamespace"]
    sealing_secrets = set(config["sealingSecrets"])
    violations = []
    keys = [r for r in resources if r.type == SECRET and name_of(r) == key]
    # Each cluster that ships audit logs seals them with a key of its own sealing namespace.
    for shipper in (r for r in resources if r.type == NAMESPACE and name_of(r) == shipping):
        if not any(k.provider == shipper.provider and namespace_of(k) == sealing for k in keys):
            violations.append((shipper.urn, f"this cluster ships audit logs but no Secret {key} in {sealing!r} holds "
                                            "the key that seals them"))
    for secret in keys:
        if namespace_of(secret) != sealing:
            violations.append((secret.urn, f"Secret {key} is in {namespace_of(secret)!r}; it belongs in {sealing!r}, "
                                            "where nothing the audit trail watches runs"))
    for resource in resources:
        pod = pod_spec(resource)
        if pod is None:
            continue
        used = _secrets_used(pod) & sealing_secrets
        if used and namespace_of(resource) != sealing:
            violations.append((resource.urn, f"{name_of(resource)} in {namespace_of(resource)!r} uses {sorted(used)}, "
                                              "the sealing identity or key"))
        if namespace_of(resource) == shipping and used:
            violations.append((resource.urn, "the log shipper holds the sealing identity; shipping and sealing use "
                                              "separate credentials"))
    for release in (r for r in resources if r.type == RELEASE and namespace_of(r) != sealing):
        text = str(release.props.get("values") or {})
        for name in sorted(sealing_secrets):
            if name in text:
                violations.append((release.urn, f"Release {release.name} refers to {name}, the sealing identity or key"))
    for namespace in (r for r in resources if r.type == NAMESPACE and name_of(r) == sealing):
        labels = (namespace.props.get("metadata") or {}).get("labels") or {}
        if any(labels.get(f"pod-security.kubernetes.io/{mode}") != "restricted" for mode in PSA_MODES):
            violations.append((namespace.urn, f"namespace {sealing} must be Pod Security restricted: no host access "
                                               "next to the signing key"))
    return violations


RULE = Rule(
    name="audit-evidence-separation",
    title="Audit signing apart from what it watches",
    citation="164.312(b)",
    severity=Severity.HIGH,
    description="The audit signing key is a Secret in the restricted sealing namespace, used by nothing outside it, "
    "and the log shipper holds neither the key nor the sealing identity. Whoever the trail watches must not be able "
    "to sign a rewritten day.",
    check=check,
    stack=True,
    config={
        "auditRequired": {"type": "boolean", "default": True, "description": "Whether the stack seals audit logs."},
        "sealingNamespace": {"type": "string", "default": "audit-sealing", "description": "The sealing namespace."},
        "shippingNamespace": {"type": "string", "default": "logging", "description": "The log shipper's namespace."},
        "signingKeySecret": {"type": "string", "default": "audit-signing-key", "description": "The key's Secret."},
        "sealingSecrets": {"type": "array", "items": {"type": "string"},
                           "default": ["audit-signing-key", "audit-sealing-s3"],
                           "description": "Secrets only the sealing Jobs may use."},
    },
)
