"""HIPAA Security Rule controls for the on-prem LLM platform, one policy per module.

``RULES`` is the data (tests and the offline engine use it); ``policies()`` turns it into CrossGuard
policies for ``policies/__main__.py``. Importing this package starts no policy server.
"""

from __future__ import annotations

from hipaa import (
    ai_gateway_authenticated,
    ai_gateway_token_limited,
    ai_gateway_token_reservation,
    alerting_present,
    audit_evidence_separation,
    audit_shipping,
    backup_coverage,
    backup_encryption,
    backup_retention,
    chart_secret_access,
    cluster_admin_break_glass,
    configmap_no_credentials,
    container_resources,
    credentials_from_secrets,
    default_deny_network_policy,
    effective_capability,
    encrypted_storage,
    gateway_access_log,
    gateway_authentication,
    gateway_identity_headers,
    gateway_only_exposure,
    image_provenance,
    in_cluster_tls,
    ingress_tls,
    model_port_ingress,
    namespace_pod_security,
    no_default_namespace,
    no_external_services,
    no_open_network,
    no_prompt_logging,
    pod_security_restricted,
    rate_limit_store_isolated,
    rbac_least_privilege,
    service_account_tokens,
    stateful_protected,
    vllm_hardening,
    vsphere_permissions_owned,
    vsphere_tls,
)
from hipaa._rule import Rule, to_policy

PACK_NAME = "onprem-llm-hipaa"

RULES: tuple[Rule, ...] = tuple(module.RULE for module in (
    pod_security_restricted, namespace_pod_security, container_resources, image_provenance,
    credentials_from_secrets, service_account_tokens, no_external_services, ingress_tls,
    default_deny_network_policy, encrypted_storage, vsphere_tls, stateful_protected, vllm_hardening,
    no_default_namespace, backup_coverage, backup_retention, alerting_present, gateway_only_exposure,
    gateway_authentication, audit_shipping, cluster_admin_break_glass, rbac_least_privilege, model_port_ingress,
    no_open_network, no_prompt_logging, chart_secret_access, backup_encryption, audit_evidence_separation,
    gateway_identity_headers, ai_gateway_authenticated, ai_gateway_token_limited, vsphere_permissions_owned,
    effective_capability, configmap_no_credentials, gateway_access_log, rate_limit_store_isolated, in_cluster_tls,
    ai_gateway_token_reservation,
))


def policies():
    return [to_policy(rule) for rule in RULES]
