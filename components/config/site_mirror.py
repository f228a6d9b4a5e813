"""What a standby stack takes from its primary, and how it takes it.

The primary exports ``siteMirror``: its models as its stack file sets them, the gateway's access rules,
and what the standby must agree with (the primary's site identity, DR mode, backup location and audit
store). The standby reads that document (through a StackReference, or from a file of the last known
outputs) before its own config is validated, so every rule judges the models the standby will really
run: at standby size or, once ``dr.active``, at the primary's, from the standby's own registry and
storage.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from components.config.issues import MISSING, ConfigIssue

MIRROR_VERSION = 1
# Gateway keys that must be the same at both sites, so clients see one service whichever site answers.
MIRRORED_GATEWAY_KEYS = ("hostname", "oidc", "modelAccess", "tokenLimits", "monthlyTokenQuotas", "quotaAlertRatio",
                         "requestsPerMinutePerUser", "requestTimeoutSeconds", "rateLimitFailure")
# What the backup location must share, so the standby's Velero reads what the primary's writes.
SHARED_BACKUP_KEYS = ("s3Url", "bucket", "prefix")


def mirror_of(cfg: Any) -> dict[str, Any]:
    """The primary's ``siteMirror`` output: plain data, no secret."""
    models = {}
    for key, model in cfg.models.items():
        raw = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        # A layout the capacity plan chose is chosen again for the standby's own node shape.
        raw.update(model.layout_requested or {})
        models[key] = raw
    gateway = cfg.gateway.model_dump(mode="json", by_alias=True, exclude_none=True)
    document: dict[str, Any] = {
        "version": MIRROR_VERSION,
        "site": {"vcenter": cfg.vsphere.server, "computeCluster": cfg.vsphere.compute_cluster,
                 "supervisorId": cfg.tanzu.supervisor_id, "clusterName": cfg.tanzu.cluster_name},
        "models": models,
        # Maps lose their order on the way through the engine; the routes' rule order (and so the rate-limit
        # counters' keys) follows the models' order, so it travels explicitly.
        "modelOrder": list(models),
        "gateway": {k: gateway[k] for k in MIRRORED_GATEWAY_KEYS if k in gateway},
        # The quota rules' order keys their counters (as the models' order keys the routes' rules).
        "quotaOrder": list(cfg.gateway.monthly_token_quotas),
        "dr": {"mode": cfg.dr.mode,
               "backupStorage": {k: v for k, v in (cfg.dr.backup_storage.model_dump(mode="json", by_alias=True)
                                                   if cfg.dr.backup_storage else {}).items() if k in SHARED_BACKUP_KEYS}},
        "audit": {"s3Url": cfg.audit.s3_url, "bucket": cfg.audit.bucket} if cfg.audit.enabled else None,
    }
    document["digest"] = digest(document)
    return document


def digest(document: Mapping[str, Any]) -> str:
    """A short content digest of a mirror document (without its own digest), shown when a standby uses one."""
    body = {k: v for k, v in document.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(json.dumps(_canonical(body), sort_keys=True).encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    """Numbers as the engine carries them: every number is a double on the wire, so 4.0 and 4 are one value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def at_registry(repository: str, registry: str) -> str:
    """The same repository path in another registry (each site mirrors the same paths)."""
    return f"{registry}/{repository.split('/', 1)[1]}" if "/" in repository else f"{registry}/{repository}"


def _get(raw: Mapping[str, Any], *path: str, default: Any = None) -> Any:
    value: Any = raw
    for part in path:
        if not isinstance(value, Mapping):
            return default
        value = value.get(part, default)
    return value


def apply_mirror(raw: Mapping[str, Any], mirror: Mapping[str, Any] | None,
                 source: str) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """A standby's config keys with the primary's models and gateway rules in place, and what disagrees.

    ``raw`` is the standby's own stack config (project keys without prefix), not yet validated: values
    of the wrong type are left for validation to name. ``source`` says where the mirror came from.
    """
    issues: list[ConfigIssue] = []
    merged = dict(raw)
    if "models" in raw:
        issues.append(ConfigIssue("models", "<mapping>", "a standby serves the primary's models, from the primary "
                                  "stack's siteMirror output; remove the section here and change models on the primary"))
    gateway = dict(_get(raw, "gateway", default={}) or {})
    for key in MIRRORED_GATEWAY_KEYS:
        if key in gateway:
            issues.append(ConfigIssue(f"gateway.{key}", "<set>", "comes from the primary stack, so both sites answer "
                                      "clients alike; remove it here and change it on the primary"))
    if mirror is None:
        issues.append(ConfigIssue("site.primaryStack", MISSING, "a standby needs the primary's outputs: set "
                                  "site.primaryStack (organization/project/stack), or site.primaryOutputsFile with "
                                  "its last known siteMirror"))
        return merged, issues
    if mirror.get("version") != MIRROR_VERSION or not isinstance(mirror.get("models"), Mapping):
        issues.append(ConfigIssue("site", source, f"holds no siteMirror of version {MIRROR_VERSION}; update the primary "
                                  "stack to this version of the program first (`pulumi up` there), then preview again"))
        return merged, issues

    listed = [k for k in mirror.get("modelOrder") or () if k in mirror["models"]]
    order = listed + sorted(set(mirror["models"]) - set(listed))
    merged["models"] = {key: standby_model(mirror["models"][key], raw) for key in order}
    merged["gateway"] = {**gateway, **mirror.get("gateway", {})}
    quotas = merged["gateway"].get("monthlyTokenQuotas")
    if isinstance(quotas, Mapping):
        order = [g for g in mirror.get("quotaOrder") or sorted(quotas) if g in quotas]
        merged["gateway"]["monthlyTokenQuotas"] = [{"group": g, "tokens": quotas[g]}
                                                   for g in order + sorted(set(quotas) - set(order))]
    issues += _disagreements(raw, mirror, source)
    return merged, issues


def standby_model(primary: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The primary's model entry as this standby runs it: size, registry and storage of this site."""
    model = copy.deepcopy(dict(primary))
    if _get(raw, "dr", "active") is not True:
        replicas = _get(raw, "dr", "standbyReplicas", default=1)
        replicas = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
        model["replicas"] = {"min": replicas, "max": replicas}
    registry = _get(raw, "tanzu", "registry", "server")
    image = model.get("image")
    if isinstance(registry, str) and isinstance(image, dict) and isinstance(image.get("repository"), str):
        model["image"] = {**image, "repository": at_registry(image["repository"], registry)}
    # The signature verifier is pulled from this site's registry too; what it verifies with stays the primary's.
    signature = model.get("weightsSignature")
    verifier = signature.get("verifierImage") if isinstance(signature, dict) else None
    if isinstance(registry, str) and isinstance(verifier, dict) and isinstance(verifier.get("repository"), str):
        model["weightsSignature"] = {**signature, "verifierImage": {
            **verifier, "repository": at_registry(verifier["repository"], registry)}}
    size = _get(model, "weights", "sizeGib")
    shared = _get(raw, "site", "weightsStorageClass")
    model["weights"] = ({"sizeGib": size, "accessMode": "ReadWriteMany", "storageClass": shared} if shared
                        else {"sizeGib": size, "accessMode": "ReadWriteOnce"})
    # An Ingress would bypass the gateway, and its host is the primary's.
    model.pop("ingress", None)
    # A canary is the primary's experiment: the standby serves the current revision only (its evaluation record
    # travels with it), so a failover never serves a revision the site has not promoted.
    model.pop("candidate", None)
    return model


def _disagreements(raw: Mapping[str, Any], mirror: Mapping[str, Any], source: str) -> list[ConfigIssue]:
    issues = []
    site = mirror.get("site", {})
    host = str(_get(raw, "vsphere", "server", default="")).lower().rstrip(".")
    primary_host = str(site.get("vcenter", "")).lower().rstrip(".")
    production = _get(raw, "compliance", "tier", default="production") == "production"
    if host == primary_host and production:
        issues.append(ConfigIssue("vsphere.server", _get(raw, "vsphere", "server"),
                                  f"is the primary's vCenter ({site.get('vcenter')}); a production standby is managed by "
                                  "its own site's vCenter, or losing the primary's site loses the standby's too"))
    elif host == primary_host and (
            _get(raw, "vsphere", "computeCluster") == site.get("computeCluster")
            or _get(raw, "tanzu", "supervisorId") == site.get("supervisorId")):
        issues.append(ConfigIssue("vsphere.computeCluster", _get(raw, "vsphere", "computeCluster"),
                                  f"is the primary's site ({site.get('vcenter')}, {site.get('computeCluster')}, "
                                  f"{site.get('supervisorId')}); a standby needs its own cluster and Supervisor"))
    primary_mode = _get(mirror, "dr", "mode")
    if _get(raw, "dr", "mode", default="warm-standby") != primary_mode:
        issues.append(ConfigIssue("dr.mode", _get(raw, "dr", "mode", default="warm-standby"),
                                  f"differs from the primary's ({primary_mode}), whose recovery figures assume its own; "
                                  f"set {primary_mode!r} here, or change both"))
    primary_store = _get(mirror, "dr", "backupStorage", default={}) or {}
    for key in SHARED_BACKUP_KEYS:
        mine = _get(raw, "dr", "backupStorage", key, default="onprem-llm" if key == "prefix" else None)
        if primary_store.get(key) is not None and mine != primary_store.get(key):
            issues.append(ConfigIssue(f"dr.backupStorage.{key}", mine if mine is not None else MISSING,
                                      f"the standby restores what the primary backs up: use the primary's "
                                      f"{primary_store.get(key)!r}"))
    primary_audit = mirror.get("audit")
    if primary_audit and _get(raw, "audit", "enabled") is True \
            and _get(raw, "audit", "s3Url") == primary_audit.get("s3Url") \
            and _get(raw, "audit", "bucket") == primary_audit.get("bucket") \
            and _get(raw, "compliance", "tier", default="production") == "production":
        issues.append(ConfigIssue("audit.bucket", _get(raw, "audit", "bucket"),
                                  "is the primary's audit store, which may be lost with the primary's site; a "
                                  "production standby ships its audit trail to a store of its own site"))
    for key, model in mirror["models"].items():
        access = _get(model, "weights", "accessMode")
        if access == "ReadWriteMany" and not _get(raw, "site", "weightsStorageClass") \
                and _get(raw, "compliance", "tier", default="production") == "production":
            issues.append(ConfigIssue(
                "site.weightsStorageClass", MISSING,
                f"the primary stages {key}'s weights once on a ReadWriteMany volume, so its serving pods reach no "
                "download network; give this site a ReadWriteMany (vSAN File Services) class so its pods get the same "
                "egress, or accept per-replica staging with compliance.tier non-production"))
            break
    return issues
