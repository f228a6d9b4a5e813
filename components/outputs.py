"""The stack outputs as a versioned contract for other teams' stacks.

Consumers read these through ``pulumi.StackReference``; the pydantic model below is the contract,
``schema/stack-outputs.schema.json`` is generated from it, and a test refuses a schema change that
does not come with a new ``CONTRACT_VERSION`` (minor for additions, major for removals or renames).
Secret outputs are marked ``x-secret`` in the schema and are secret Outputs in the stack.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

CONTRACT_VERSION = "3.0.0"


def _secret(description: str, since: str = "1.0.0") -> Any:
    return Field(description=description, json_schema_extra={"x-secret": True, "x-since": since})


def _field(description: str, since: str = "1.0.0", default: Any = ...) -> Any:
    return Field(default, description=description, json_schema_extra={"x-since": since})


class _Contract(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ModelEndpoint(_Contract):
    served_model_name: str = _field("Name clients send as `model` to gatewayBaseUrl.")
    endpoints: list[str] = _field("OpenAI paths the model serves through the gateway, e.g. /v1/chat/completions.",
                                  since="2.0.0")
    groups: list[str] = _field("Values of oidc.groupClaim admitted to the model; others get 403.", since="2.0.0")
    weights_manifest: str = _field(
        "Identity of the weights served: `sha256:` digest of the revision's verified weights manifest "
        "(models.<key>.weightsManifest), or `unverified`.", since="3.0.0", default="unverified")
    candidate_weights_manifest: str | None = _field(
        "Identity of the candidate's weights while a canary runs beside the model (models.<key>.candidate), as "
        "weightsManifest; null without a candidate.", since="3.0.0", default=None)
    weights_signer: str = _field(
        "Who must have signed the weights served, next to weightsManifest: `key sha256:<public key fingerprint>`, "
        "`certificate <identity>` or `sigstore <identity> from <issuer>` (models.<key>.weightsSignature; the "
        "verifier refuses to start the model on any other signer), or `unsigned`.", since="3.0.0", default="unsigned")


class NodePool(_Contract):
    name: str = _field("Node pool name.")
    replicas: int = _field("Nodes.")
    gpus_per_node: int = _field("GPUs per node.")
    gpu_mode: str | None = _field("vgpu, passthrough, or null for CPU-only pools.")
    vgpu_profile: str | None = _field("vGPU profile, or null.")


class StageCapacity(_Contract):
    layers: int = _field("Consecutive layers of the model on this pipeline stage.", since="2.0.0")
    weights_per_gpu_gi_b: float = Field(alias="weightsPerGpuGiB", description="Weights on each GPU of the stage, GiB.",
                                        json_schema_extra={"x-since": "2.0.0"})
    kv_cache_per_gpu_gi_b: float = Field(alias="kvCachePerGpuGiB", description="Room for the KV cache on each GPU, GiB.",
                                         json_schema_extra={"x-since": "2.0.0"})


class ModelCapacity(_Contract):
    weights_gi_b: float = Field(alias="weightsGiB", description="Weights, GiB.", json_schema_extra={"x-since": "1.0.0"})
    kv_cache_gi_b: float = Field(alias="kvCacheGiB", description="KV cache across the replica's GPUs, GiB.",
                                 json_schema_extra={"x-since": "1.0.0"})
    kv_tokens: int = _field("Tokens the KV cache holds.")
    max_concurrent_sequences: int = _field("Sequences at maxModelLen one replica holds.")
    batch: int | None = _field("Requests of the configured shape one replica runs at once at the inter-token latency "
                               "target (up to maxNumSeqs); null when the target cannot be met.", since="3.0.0")
    time_to_first_token_seconds: float | None = _field(
        "Time to first token of one configured prompt on an idle replica; null when the model does not fit.",
        since="3.0.0")
    figures: str = _field("`predicted` (the capacity model) or `measured` (a benchmark of the site).", since="3.0.0")
    decode_tokens_per_second: int = _field("Output tokens/s of one replica at the inter-token latency target.")
    peak_requests_per_second: float = _field("Busiest-hour requests/s planned for.")
    replicas_needed: int | None = _field("Replicas the peak needs; null when the target cannot be met.")
    replicas_max: int = _field("Configured maximum replicas.")
    gpus: int = _field("GPUs at replicas.max.")
    nodes_per_replica: int = _field("Nodes (pods) one replica spans; above 1, a LeaderWorkerSet group.", since="2.0.0")
    gpus_per_node: int = _field("GPUs each pod of a replica holds.", since="2.0.0")
    tensor_parallel_size: int = _field("`--tensor-parallel-size`.", since="2.0.0")
    pipeline_parallel_size: int = _field("`--pipeline-parallel-size`: pipeline stages of a replica.", since="2.0.0")
    inter_token_seconds: float | None = _field(
        "Inter-token latency of a stream at the replica's planned batch; null when the target cannot be met.",
        since="2.0.0")
    fabric_share: float = _field("Share of the inter-token latency spent on the network between the replica's nodes.",
                                 since="2.0.0")
    stages: list[StageCapacity] = _field("Memory per pipeline stage (one entry within one node).", since="2.0.0")
    layout_choice: str | None = _field("Why `auto` chose the layout; null when the config fixes it.", since="2.0.0")


class CostFigures(_Contract):
    monthly_capital_usd: float = _field("Capital amortised per month.")
    monthly_operations_usd: float = _field("Operations per month.")
    monthly_total_usd: float = _field("Total per month.")
    requests_per_month: int = _field("Planned requests per month.")
    cost_per_request_usd: float | None = _field("Total cost per request.")
    operations_only_per_request_usd: float | None = _field("Operations alone per request.")
    cost_per_million_tokens_usd: float | None = _field("Total cost per million tokens.")
    break_even_requests_per_month: float | None = _field("Volume at which the cloud price equals the monthly total.")
    cloud_monthly_usd: float = _field("The same volume at the cloud price.")


class OidcSettings(_Contract):
    issuer: str = _field("Token issuer clients must obtain tokens from.", since="1.2.0")
    audiences: list[str] = _field("Accepted audiences.", since="1.2.0")
    jwks_uri: str = _field("The issuer's signing keys.", since="1.2.0")
    user_claim: str = _field("Claim identifying the caller in logs and rate limits.", since="1.2.0")
    group_claim: str = _field("Claim naming the caller's group: model access, group limits, quotas, chargeback.",
                              since="2.0.0")


class GatewayClients(_Contract):
    namespaces: list[str] = _field("In-cluster namespaces the gateway admits (gateway.clientNamespaces).", since="2.0.0")
    proxy_namespace: str = _field("Namespace of the gateway's proxy pods.", since="2.0.0")
    proxy_pod_labels: dict[str, str] = _field("Labels of the proxy pods, for an in-cluster caller's egress policy.",
                                              since="2.0.0")
    proxy_port: int = _field("Port the proxy pods listen on behind the gateway's 443 (egress policies match it).",
                             since="2.0.0")


class TokenWindow(_Contract):
    tokens: int = _field("Tokens (prompt plus completion) per window.", since="2.0.0")
    per: str = _field("Minute, Hour, Day, Week or Month (30-day fixed window).", since="2.0.0")


class TokenLimits(_Contract):
    requests_per_minute_per_user: int = _field("Requests per caller per minute, across replicas.", since="2.0.0")
    per_user: list[TokenWindow] = _field("Token budgets of each caller on each model.", since="2.0.0")
    per_group: list[TokenWindow] = _field("Token budgets of each group on each model.", since="2.0.0")
    monthly_token_quotas: dict[str, int] = _field("Per group, tokens per month across all models.", since="2.0.0")
    rate_limit_failure: str = _field("`open` or `closed`: what the gateway does while its counters cannot be read.",
                                     since="3.0.0")


class GroupCharge(_Contract):
    monthly_token_quota: int | None = _field("The group's monthly quota; null without one.", since="2.0.0")
    monthly_cost_at_quota_usd: float | None = _field("What the quota costs at the rate; null without a quota.",
                                                     since="2.0.0")


class Chargeback(_Contract):
    rate_per_million_tokens_usd: float | None = _field(
        "What a group pays per million tokens (the cost model's cost per million tokens).", since="2.0.0")
    planned_tokens_per_month: int = _field("Tokens per month the rate is planned on.", since="2.0.0")
    quotas_total_tokens: int = _field("Sum of the groups' monthly quotas.", since="2.0.0")
    groups: dict[str, GroupCharge] = _field("Per admitted group, its quota and what it costs.", since="2.0.0")


class PolicyException(_Contract):
    policy: str = _field("Policy the exception applies to.")
    namespace: str = _field("Namespace excepted.")
    reason: str = _field("Why.")


class ComplianceSummary(_Contract):
    policy_pack: str = _field("Policy pack the stack is held to; deployed with it, every mandatory policy passed.")
    policy_config: str = _field("Policy config file of this stack; per-policy results are in the preview's report.")
    exceptions: list[PolicyException] = _field("Standing exceptions, each with its reason.")


class StackOutputs(_Contract):
    """What this stack exports, by name, for `StackReference.require_output`."""

    contract_version: str = _field("Version of this contract (semantic versioning).")
    cluster_name: str = _field("Workload cluster name.")
    supervisor_namespace: str = _field("vSphere Namespace holding the cluster.")
    serving_namespace: str = _field("Namespace of the model endpoints.")
    gateway_namespaces: list[str] = _field("Namespaces admitted to the model endpoints' API port.")
    site_role: str = _field("primary or standby: which site this stack deploys.", since="3.0.0")
    site_active: bool = _field("Whether this site serves: always at the primary; at a standby, after failover "
                               "(dr.active).", since="3.0.0")
    kubeconfig: str | None = _secret("Admin kubeconfig of the workload cluster; null where the stack keeps no cluster "
                                     "(a standby in backup-restore before failover).")
    gpu_count: int = _field("GPUs this site's pool holds now (a standby's reduced count until failover).")
    node_pools: list[NodePool] = _field("Node pools of the workload cluster.")
    models: dict[str, ModelEndpoint] = _field("Per model key, the model as clients call it through the gateway.")
    prometheus_url: str | None = _field("In-cluster Prometheus URL; null without monitoring.")
    alertmanager_url: str | None = _field("In-cluster Alertmanager URL; null without monitoring.")
    grafana_url: str | None = _field("In-cluster Grafana URL; null without monitoring.")
    grafana_admin_password: str | None = _secret("Grafana's admin password; null without monitoring.")
    capacity: dict[str, ModelCapacity] = _field("Per model key, the capacity plan.")
    gpus_needed: int = _field("GPUs the models use at replicas.max.")
    cost: CostFigures = _field("Cost summary.")
    chargeback: Chargeback = _field("Monthly cost per group from its tokens.", since="2.0.0")
    compliance: ComplianceSummary = _field("Policy pack, policies and exceptions.")
    gateway_url: str | None = _field("https://<hostname> of the authenticating gateway; the same at both sites. Null "
                                     "where no model is served here.", since="1.2.0")
    gateway_base_url: str | None = _field(
        "The one OpenAI base URL of every model, https://<hostname>/v1 (send a bearer token from the IdP); null where "
        "no model is served here.", since="2.0.0")
    gateway_address: str | None = _field(
        "This site's gateway load-balancer address (the Gateway's status once Programmed): the value the DNS/GSLB "
        "record of gateway.hostname points at when this site serves. Null where no gateway runs.", since="3.0.0")
    gateway_clients: GatewayClients | None = _field("What an in-cluster caller needs to reach the gateway; null where "
                                                    "no model is served here.", since="2.0.0")
    oidc: OidcSettings = _field("What clients need to obtain tokens the gateway accepts.", since="1.2.0")
    token_limits: TokenLimits = _field("The limits the gateway enforces.", since="2.0.0")
    audit_bucket: str | None = _field("Object Lock bucket holding the audit trail; null without audit.", since="1.2.0")
    audit_retention_days: int | None = _field("Locked retention of audit records, days.", since="1.2.0")
    aria_project_id: str | None = _field("Aria Automation project id; null without Aria.", since="1.1.0")
    aria_cloud_account_id: str | None = _field("Aria vSphere cloud account id; null without Aria.", since="1.1.0")
    aria_zone_id: str | None = _field("Aria cloud zone over the GPU resource pool; null without Aria.", since="1.1.0")
    dr_mode: str | None = _field("backup-restore, pilot-light or warm-standby; null without DR.")
    dr_rpo_target_minutes: int | None = _field("Configured RPO.")
    dr_rto_target_minutes: int | None = _field("Configured RTO.")
    dr_achieved_rpo_minutes: int | None = _field("Worst-case RPO the configuration achieves.")
    dr_achieved_rto_minutes: int | None = _field("RTO the configuration achieves.")
    backup_location: str | None = _field("Velero backup location name; null without DR.")
    restore_name: str | None = _field("The Velero Restore an active standby ran (dr.restoreFromSchedule); else null.",
                                      since="3.0.0")
    site_mirror: dict[str, Any] | None = _field(
        "Primary only: what a standby stack mirrors (models as configured, gateway access rules, the primary's site, "
        "DR mode, backup location and audit store), with its digest; null at a standby.", since="3.0.0")
    mirrored_primary: dict[str, Any] | None = _field(
        "Standby only: the primary's siteMirror this run used, with where it came from; write it to a file for "
        "site.primaryOutputsFile. Null at the primary.", since="3.0.0")


SECRET_OUTPUTS = tuple(
    field.alias or name for name, field in StackOutputs.model_fields.items()
    if (field.json_schema_extra or {}).get("x-secret")
)


def json_schema() -> dict[str, Any]:
    schema = StackOutputs.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://onprem-llm.invalid/schema/stack-outputs.schema.json"
    schema["x-contract-version"] = CONTRACT_VERSION
    return schema
