"""Least-privilege access and the audit trail (the gateway has tests/test_gateway.py)."""

from __future__ import annotations

import json

import pytest

from components.config import SECRET_KEYS, ConfigError, parse_config
from components.resources.access import AUTOMATION_PRIVILEGES, OPERATOR_PRIVILEGES
from offline.record import Secret
from offline.run import stack_config


def _spec(evaluation, name):
    return evaluation.graph.named(name).inputs["spec"]


def test_gateway_namespace_is_the_one_the_endpoints_admit(prod):
    namespace = prod.graph.named("gateway-ns").inputs["metadata"]["name"]
    policy = _spec(prod, "llama-2-7b-chat-api-ingress")
    gateway = policy["ingress"][0]["from"][0]
    assert gateway["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == namespace
    assert gateway["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-namespace"] == namespace


def test_rbac_binds_groups_least_privilege(prod):
    bindings = {r.name: r.inputs for r in prod.graph
                if r.type.startswith("kubernetes:rbac.authorization.k8s.io") and r.type.endswith("Binding")}
    assert bindings["access-break-glass"]["roleRef"]["name"] == "cluster-admin"
    assert bindings["access-break-glass"]["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                                                          "name": "sso:llm-platform-breakglass@hospital.example"}]
    assert bindings["access-auditors"]["roleRef"]["name"] == "onprem-llm-reader"
    operators = [v for k, v in bindings.items() if k.startswith("access-operators-") and "metadata" in v
                 and v["metadata"].get("namespace")]
    assert {b["metadata"]["namespace"] for b in operators} == {"llm-serving", "monitoring", "api-gateway", "logging"}
    assert all(b["roleRef"]["name"] == "onprem-llm-operator" for b in operators)
    assert not any(b["roleRef"]["name"] in ("edit", "admin", "view") for b in bindings.values())
    admins = [b for b in bindings.values() if b["roleRef"]["name"] == "cluster-admin"]
    assert len(admins) == 1


def _rules(prod, name):
    return prod.graph.named(name, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").inputs["rules"]


def test_operator_and_auditor_roles_read_no_secret_and_enter_no_container(prod):
    for role in ("access-reader-clusterrole", "access-operator-clusterrole", "access-node-operator-clusterrole"):
        for rule in _rules(prod, role):
            resources = set(rule["resources"])
            assert not resources & {"secrets", "pods/exec", "pods/attach", "pods/portforward", "networkpolicies"}
            assert "*" not in resources or "" not in rule["apiGroups"], role
            if "networking.k8s.io" in rule["apiGroups"]:
                assert set(rule["verbs"]) <= {"get", "list", "watch"}, role
    reader = _rules(prod, "access-reader-clusterrole")
    assert all(set(rule["verbs"]) == {"get", "list", "watch"} for rule in reader)
    assert not any("pods/log" in rule["resources"] for rule in reader), "auditors read no container log"
    assert any("rbac.authorization.k8s.io" in rule["apiGroups"] for rule in reader), "auditors read RBAC"


def test_the_standby_site_has_the_same_access_control(prod, standby):
    def rbac(evaluation):
        return {r.name.removeprefix("access-"): r.inputs for r in evaluation.graph if r.name.startswith("access-")
                and r.type.startswith("kubernetes:rbac")}

    primary, standby = rbac(prod), rbac(standby)
    assert set(primary) == set(standby)
    assert standby["break-glass"]["subjects"] == primary["break-glass"]["subjects"]
    assert standby["reader-clusterrole"]["rules"] == primary["reader-clusterrole"]["rules"]


def test_no_service_account_token_is_mounted_where_unused(evaluations):
    for evaluation in evaluations.values():
        for record in evaluation.graph.of_type("kubernetes:core/v1:ServiceAccount"):
            reason = (record.inputs["metadata"].get("annotations") or {}).get("onprem-llm.io/needs-api-token")
            # A controller whose chart pod cannot say so itself keeps the token, with the reason on its account.
            if record.name == "gateway-ai-controller-sa":
                assert reason and "API" in reason, record.urn
                continue
            assert record.inputs.get("automountServiceAccountToken") is False, record.urn


def test_vsphere_roles_hold_only_the_listed_privileges(prod):
    automation = prod.graph.named("access-automation-role").inputs
    operator = prod.graph.named("access-operator-role", "vsphere:index/role:Role").inputs
    assert sorted(automation["rolePrivileges"]) == sorted(AUTOMATION_PRIVILEGES)
    assert sorted(operator["rolePrivileges"]) == sorted(OPERATOR_PRIVILEGES)
    assert not any(p.startswith(("VirtualMachine.", "Datastore.", "Host.")) for p in automation["rolePrivileges"])
    permissions = prod.graph.named("access-operator-permissions").inputs
    # On the pool the stack creates, never the site's shared cluster (the provider takes over its entity's grants).
    assert permissions["entityType"] == "ResourcePool"
    assert permissions["entityId"] == prod.graph.named("primary-gpu", "vsphere:index/resourcePool:ResourcePool").id
    assert permissions["permissions"][0]["userOrGroup"] == "HOSPITAL.EXAMPLE\\llm-operators"
    assert permissions["permissions"][0]["roleId"] == prod.graph.named("access-operator-role", "vsphere:index/role:Role").id


def test_audit_logs_ship_to_the_locked_bucket_over_tls(prod):
    values = prod.graph.named("audit-fluent-bit").inputs["values"]
    outputs = values["config"]["outputs"]
    for setting in ("tls.verify On", "send_content_md5 On", "bucket llm-platform-audit", "$UUID",
                    "endpoint https://s3-audit.hospital.example", "upload_timeout 60s"):
        assert setting in outputs
    assert "/var/log/kubernetes/kube-apiserver.log" in values["config"]["inputs"]
    assert "_api-gateway_envoy-" in values["config"]["inputs"]
    retention = prod.graph.named("audit-retention").inputs["data"]
    assert retention["objectLockMode"] == "COMPLIANCE" and int(retention["retentionDays"]) >= 2190
    assert isinstance(prod.graph.named("audit-credentials").inputs["stringData"], Secret)
    # Fluent Bit reads its shipping keys from a credentials file, not the environment.
    assert "envFrom" not in values and {"name": "aws-credentials", "mountPath": "/etc/aws", "readOnly": True} in \
        values["daemonSetVolumeMounts"]
    namespace = prod.graph.named("audit-ns").inputs["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "hostPath" in namespace["annotations"]["onprem-llm.io/pod-security-exception"]


def test_daily_manifest_job_seals_apart_with_its_own_identity_and_key(prod):
    job = prod.graph.named("audit-manifest", "kubernetes:batch/v1:CronJob").inputs
    assert job["metadata"]["namespace"] == "audit-sealing"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    # A failed seal must stay a failed pod, or a retry would hide it from AuditManifestJobFailed.
    assert pod["restartPolicy"] == "Never"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["RETENTION_DAYS"] == "2555" and env["SIGNING_KEY_FILE"] == "/etc/audit-signing/signing-key.pem"
    assert env["ANCHOR_BUCKET"] == "llm-platform-audit-anchors"
    assert not any(e.get("valueFrom") for e in pod["containers"][0]["env"]), "credentials are files"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["signing-key"]["secret"]["secretName"] == "audit-signing-key"
    assert volumes["credentials"]["secret"]["secretName"] == "audit-sealing-s3"
    shipping = prod.graph.named("audit-fluent-bit").inputs["values"]
    assert "audit-sealing-s3" not in json.dumps(shipping) and "audit-signing-key" not in json.dumps(shipping)
    assert isinstance(prod.graph.named("audit-sealing-credentials").inputs["stringData"], Secret)
    assert isinstance(prod.graph.named("audit-signing-key", "kubernetes:core/v1:Secret").inputs["stringData"], Secret)
    namespace = prod.graph.named("audit-sealing-ns").inputs["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    # The program comes from the digest-pinned image (tests/test_audit_tools_image.py), never from a ConfigMap.
    assert pod["containers"][0]["command"] == ["python3", "-I", "/opt/onprem-llm/audit_manifest.py", "seal"]
    assert not any(v.get("configMap") and v["configMap"]["name"] != "site-trust-bundle" for v in pod["volumes"])


def test_the_bucket_is_verified_before_anything_ships(prod):
    job = prod.graph.named("audit-bucket")
    assert job.inputs["metadata"]["namespace"] == "audit-sealing"
    assert job.inputs["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "ensure-bucket"
    assert job.urn in prod.graph.named("audit-fluent-bit").options["dependencies"]
    public = prod.graph.named("audit-public-key").inputs["data"]["signing-key.pub"]
    assert public.startswith("-----BEGIN PUBLIC KEY-----")


def test_the_standby_site_seals_its_own_chain_in_its_own_store(standby):
    values = standby.graph.named("audit-fluent-bit").inputs["values"]
    assert "/onprem-llm/llm-dr/logs/" in values["config"]["outputs"]
    assert "llm-platform-audit-b" in values["config"]["outputs"], "its own site's store, not the primary's"
    job = standby.graph.named("audit-manifest").inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in job["containers"][0]["env"]}
    assert env["PREFIX"] == "onprem-llm/llm-dr" and env["ANCHOR_PREFIX"] == "onprem-llm-audit-anchors/onprem-llm/llm-dr"


def test_outputs_name_the_audit_trail(prod, dev):
    assert (prod.outputs["auditBucket"], prod.outputs["auditRetentionDays"]) == ("llm-platform-audit", 2555)
    assert dev.outputs["auditBucket"] is None


@pytest.mark.parametrize(("change", "path", "reason"), [
    ({"retentionDays": 2000}, "audit.retentionDays", "at least six years"),
    ({"enabled": False}, "audit.enabled", "production ships audit logs"),
    ({"bucket": None}, "audit.bucket", "required when audit.enabled"),
])
def test_audit_settings_are_checked(change, path, reason):
    raw = stack_config("prod")
    raw["audit"] = {k: v for k, v in {**raw["audit"], **change}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    assert any(i.path == path and reason in i.reason for i in caught.value.issues), caught.value


def test_gateway_namespace_must_be_admitted():
    raw = stack_config("prod")
    raw["gateway"] = {**raw["gateway"], "namespace": "edge"}
    with pytest.raises(ConfigError, match="gateway.namespace: 'edge': must be one of tanzu.gatewayNamespaces"):
        parse_config(raw, [s.key for s in SECRET_KEYS])

