"""The site a stack is previewed against: what its vCenter holds before the deployment.

By default the site is derived from the stack's own names: its vCenter, datacenter, compute cluster,
datastore, workload network, storage policy and Supervisor exist, and nothing else does. So a stack
for a new site previews with no extra file, and the preview checks the program, not the names.

A site inventory file (``--site-inventory FILE``, YAML or JSON, format in docs/offline-engine.md,
"Describing the site") says what really exists. The preview then checks the stack against it: a name
the stack uses and the file does not hold fails as the vSphere data source fails, naming the file; a
vSphere Namespace that exists already cannot be created; the GPU pool needs the GPUs the hosts have.

The world keeps one plain structure per vCenter::

    {"datacenters": {dc: {"computeClusters": [...], "datastores": [...], "networks": [...],
                          "gpus": {cluster: {"L40S": 4}}}},
     "policies": [...], "supervisors": {supervisor_id: [existing namespace, ...]} or None}
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DERIVED = "the site derived from the stack's own names (no --site-inventory)"
"""The source named in lookup errors when no inventory file is given."""


def source(path: Path) -> str:
    """How lookup errors name an inventory file."""
    return f"site inventory {path}"


class SiteInventoryError(Exception):
    """The site inventory file is unreadable or malformed, or the stack does not fit the site it describes."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Host(_Strict):
    gpus: list[str] = Field(default_factory=list, description="GPU model of each physical GPU, e.g. [L40S, L40S]")


class Cluster(_Strict):
    hosts: dict[str, Host] = Field(default_factory=dict, description="ESXi hosts by name")


class Datacenter(_Strict):
    clusters: dict[str, Cluster] = Field(default_factory=dict)
    datastores: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)


class Supervisor(_Strict):
    namespaces: list[str] = Field(default_factory=list, description="vSphere Namespaces that exist already")


class Grant(_Strict):
    principal: str = Field(description="User or group, as vCenter names it, e.g. VSPHERE.LOCAL\\Administrators")
    group: bool = True
    role: str = Field("-1", description="Role id (-1: Administrator)")
    propagate: bool = True


class VCenter(_Strict):
    datacenters: dict[str, Datacenter] = Field(default_factory=dict)
    permissions: list[Grant] | None = Field(
        default=None, description="The direct permissions the site's administrators hold on the entities the stack "
        "only looks up (its cluster, datacenter); a grant the stack made there would take them over. Absent: vCenter's "
        "administrators and the site's vSphere administrators")
    storage_policies: list[str] = Field(default_factory=list, alias="storagePolicies")
    supervisors: dict[str, Supervisor] | None = Field(
        default=None, description="Supervisors by id (the domain-c... of their cluster); absent: not checked")


class SiteInventory(_Strict):
    vcenters: dict[str, VCenter] = Field(min_length=1)


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def derived(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The site as the stack names it: every vSphere object it looks up exists, and no Namespace yet."""
    site, tanzu = _section(raw, "vsphere"), _section(raw, "tanzu")
    server = site.get("server")
    if not isinstance(server, str) or not server:
        return {}

    def names(*keys: str) -> list[str]:
        return [site[k] for k in keys if isinstance(site.get(k), str)]

    datacenter = site.get("datacenter") if isinstance(site.get("datacenter"), str) else ""
    supervisor = tanzu.get("supervisorId")
    return {server: {
        "datacenters": {datacenter: {"computeClusters": names("computeCluster"), "datastores": names("datastore"),
                                     "networks": names("workloadNetwork"), "gpus": {}}},
        "policies": names("storagePolicy"),
        "supervisors": {supervisor: []} if isinstance(supervisor, str) else None,
    }}


def _location(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def load(path: Path) -> dict[str, dict[str, Any]]:
    """The site inventory file at ``path`` in the world's structure; SiteInventoryError naming the file if not."""
    try:
        text = path.read_text()
    except OSError as error:
        raise SiteInventoryError(f"site inventory {path}: cannot read it ({error.strerror})") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise SiteInventoryError(f"site inventory {path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                                 f"{error}") from None
    try:
        site = SiteInventory.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(f"{_location(e)}: {e['msg']} (got {e.get('input')!r})" for e in error.errors())
        raise SiteInventoryError(f"site inventory {path}: {problems}. The format is in docs/offline-engine.md, "
                                 "\"Describing the site\"") from None
    return {server: {
        "datacenters": {name: {
            "computeClusters": list(dc.clusters), "datastores": list(dc.datastores), "networks": list(dc.networks),
            "gpus": {cluster: dict(Counter(gpu for host in c.hosts.values() for gpu in host.gpus))
                     for cluster, c in dc.clusters.items() if c.hosts},
        } for name, dc in vcenter.datacenters.items()},
        "policies": list(vcenter.storage_policies),
        "supervisors": None if vcenter.supervisors is None else {
            sid: list(s.namespaces) for sid, s in vcenter.supervisors.items()},
        **({} if vcenter.permissions is None else {"permissions": [
            {"userOrGroup": g.principal, "isGroup": g.group, "propagate": g.propagate, "roleId": g.role}
            for g in vcenter.permissions]}),
    } for server, vcenter in site.vcenters.items()}


def _gpu_name(model: str) -> str:
    """GPU models compare without case, spaces and dashes: "L40S" is "l40s", "A100-80GB" is "a100 80gb"."""
    return "".join(ch for ch in model.lower() if ch.isalnum())


def check_gpus(inventory: dict[str, dict[str, Any]], source: str, raw: dict[str, Any]) -> None:
    """The GPU pool fits the hosts of its compute cluster, where the inventory lists them."""
    site, pool = _section(raw, "vsphere"), _section(raw, "gpuPool")
    datacenter = inventory.get(site.get("server"), {}).get("datacenters", {}).get(site.get("datacenter"), {})
    gpus = datacenter.get("gpus", {}).get(site.get("computeCluster"))
    if not gpus or not isinstance(pool.get("gpuModel"), str):
        return
    model = pool["gpuModel"]
    have = sum(count for name, count in gpus.items() if _gpu_name(name) == _gpu_name(model))
    if not have:
        raise SiteInventoryError(f"gpuPool.gpuModel: {model!r}: the hosts of compute cluster "
                                 f"{site.get('computeCluster')!r} in {source} have {dict(gpus)}; "
                                 "set gpuPool.gpuModel to one of them, or correct the inventory")
    # Passthrough gives each worker whole GPUs; a vGPU profile may share one, so only the model is checked then.
    need = int(pool.get("nodes", 0) or 0) * int(pool.get("gpusPerNode", 0) or 0)
    if pool.get("mode") == "passthrough" and need > have:
        raise SiteInventoryError(f"gpuPool.nodes x gpuPool.gpusPerNode: {need} {model} GPUs in passthrough, but the "
                                 f"hosts of compute cluster {site.get('computeCluster')!r} in {source} "
                                 f"have {have}; lower gpuPool.nodes or gpuPool.gpusPerNode")
