"""Least-privilege access and the audit trail (the gateway has tests/test_gateway.py)."""

from __future__ import annotations

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
    assert namespace in policy["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]


def test_rbac_binds_groups_least_privilege(prod):
    bindings = {r.name: r.inputs for r in prod.graph
                if r.type.startswith("kubernetes:rbac.authorization.k8s.io") and r.type.endswith("Binding")}
    assert bindings["access-break-glass"]["roleRef"]["name"] == "cluster-admin"
    assert bindings["access-break-glass"]["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                                                          "name": "sso:llm-platform-breakglass@hospital.example"}]
    assert bindings["access-auditors"]["roleRef"]["name"] == "view"
    operators = [v for k, v in bindings.items() if k.startswith("access-operators-")]
    assert {b["metadata"]["namespace"] for b in operators} == {"llm-serving", "monitoring"}
    assert all(b["roleRef"]["name"] == "edit" for b in operators)
    admins = [b for b in bindings.values() if b["roleRef"]["name"] == "cluster-admin"]
    assert len(admins) == 1


def test_no_service_account_token_is_mounted_where_unused(evaluations):
    for evaluation in evaluations.values():
        for record in evaluation.graph.of_type("kubernetes:core/v1:ServiceAccount"):
            assert record.inputs.get("automountServiceAccountToken") is False, record.urn


def test_vsphere_roles_hold_only_the_listed_privileges(prod):
    automation = prod.graph.named("access-automation-role").inputs
    operator = prod.graph.named("access-operator-role").inputs
    assert sorted(automation["rolePrivileges"]) == sorted(AUTOMATION_PRIVILEGES)
    assert sorted(operator["rolePrivileges"]) == sorted(OPERATOR_PRIVILEGES)
    assert not any(p.startswith(("VirtualMachine.", "Datastore.", "Host.")) for p in automation["rolePrivileges"])
    permissions = prod.graph.named("access-operator-permissions").inputs
    assert permissions["entityType"] == "ClusterComputeResource"
    assert permissions["permissions"][0]["userOrGroup"] == "HOSPITAL.EXAMPLE\\llm-operators"
    assert permissions["permissions"][0]["roleId"] == prod.graph.named("access-operator-role").id


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
    namespace = prod.graph.named("audit-ns").inputs["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "hostPath" in namespace["annotations"]["onprem-llm.io/pod-security-exception"]


def test_daily_manifest_job_runs_the_shipped_script_restricted(prod):
    job = prod.graph.named("audit-manifest", "kubernetes:batch/v1:CronJob").inputs["spec"]
    pod = job["jobTemplate"]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["SIGNING_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "audit-manifest-key", "key": "key"}
    assert env["RETENTION_DAYS"]["value"] == "2555"
    script = prod.graph.named("audit-manifest-script").inputs["data"]["audit_manifest.py"]
    assert "def write_manifest" in script and "previousManifestSha256" in script


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
