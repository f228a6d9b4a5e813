"""The deterministic fake world the offline engine answers from.

It plays the parts the real engine gets from outside: the vCenter inventory behind the
``vsphere.get_*`` data sources, provider-computed ids, the Cluster API kubeconfig Secret of each
workload cluster, generated random values, stack references, and stand-ins for the secret config
values an operator sets with ``pulumi config set --secret``.

Every value is derived from names by hashing, so two runs produce the same bytes. Every secret
value it hands out is remembered in ``secret_values`` so tests can prove none leaks into output.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

# The vCenter inventory the sample stacks are placed on. A name missing here behaves like a name
# missing in a real vCenter: the data source fails.
INVENTORY: dict[str, dict[str, Any]] = {
    "vcenter-lab.hospital.example": {
        "datacenters": {
            "dc-lab": {
                "computeClusters": ["lab-gpu-cluster"],
                "datastores": ["vsan-lab"],
                "networks": ["llm-workload-lab"],
            },
        },
        "policies": ["llm-encrypted-lab", "vSAN Default Storage Policy"],
    },
    "vcenter-a.hospital.example": {
        "datacenters": {
            "dc-a": {
                "computeClusters": ["gpu-cluster-a", "mgmt-cluster-a"],
                "datastores": ["vsan-a"],
                "networks": ["llm-workload-a"],
            },
        },
        "policies": ["llm-encrypted-a", "vSAN Default Storage Policy"],
    },
    "vcenter-b.hospital.example": {
        "datacenters": {
            "dc-b": {
                "computeClusters": ["gpu-cluster-b"],
                "datastores": ["vsan-b"],
                "networks": ["llm-workload-b"],
            },
        },
        "policies": ["llm-encrypted-b", "vSAN Default Storage Policy"],
    },
}

KUBECONFIG_KEYS = ("supervisorKubeconfig", "drSupervisorKubeconfig")


class LookupFailed(Exception):
    """A data source asked for an object the fake vCenter does not have."""


def _digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def fake_kubeconfig(cluster: str, token: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster:\n    server: https://{cluster}.offline.invalid:6443\n"
        f"users:\n- name: {cluster}-admin\n  user:\n    token: {token}\n"
        f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: {cluster}-admin\n"
        f"current-context: {cluster}\n"
    )


@dataclass
class FakeWorld:
    stack: str
    inventory: dict[str, dict[str, Any]] = field(default_factory=lambda: INVENTORY)
    stack_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Other stacks by fully qualified name, as the engine returns them to a StackReference:
    ``{"outputs": {...}, "secretOutputNames": [...]}`` (see ``offline.run.as_stack_reference``)."""
    secret_values: list[str] = field(default_factory=list)
    resource_pools: set[str] = field(default_factory=set)
    """Names of vSphere resource pools created so far (Aria discovers them as fabric computes)."""
    _providers: dict[str, str] = field(default_factory=dict)

    # -- secrets -------------------------------------------------------------------------------

    def _remember(self, value: str) -> str:
        if value not in self.secret_values:
            self.secret_values.append(value)
        return value

    def stand_in_secret(self, key: str) -> str:
        """The value the offline engine sets for secret config ``key``."""
        token = self._remember(f"offline-stand-in-{key}-{_digest(self.stack, key)}")
        return fake_kubeconfig(key, token) if key in KUBECONFIG_KEYS else token

    def _remember_strings(self, value: Any) -> None:
        """Strings inside secret stack outputs are secrets of the consuming program too."""
        if isinstance(value, str):
            self._remember(value)
        elif isinstance(value, dict):
            for item in value.values():
                self._remember_strings(item)

    # -- invokes ---------------------------------------------------------------------------------

    def register_provider(self, provider_id: str, inputs: dict[str, Any]) -> None:
        """Remember which vCenter a vsphere provider talks to, so invokes through it can answer."""
        self._providers[provider_id] = inputs.get("vsphereServer", "")

    def _server(self, provider_ref: str) -> str:
        server = self._providers.get(provider_ref.split("::")[-1]) if provider_ref else None
        if not server:
            raise LookupFailed("vSphere data source called without an explicit vsphere provider")
        if server not in self.inventory:
            raise LookupFailed(f"cannot connect to vCenter {server!r}: no such host")
        return server

    def call(self, token: str, args: dict[str, Any], provider: str) -> dict[str, Any]:
        if token.startswith("vra:"):
            return self._aria(token, args)
        handlers = {
            "vsphere:index/getDatacenter:getDatacenter": self._datacenter,
            "vsphere:index/getComputeCluster:getComputeCluster": self._compute_cluster,
            "vsphere:index/getDatastore:getDatastore": self._datastore,
            "vsphere:index/getNetwork:getNetwork": self._network,
            "vsphere:index/getPolicy:getPolicy": self._policy,
        }
        handler = handlers.get(token)
        if handler is None:
            raise LookupFailed(f"the offline world has no answer for invoke {token}")
        return handler(self._server(provider), args)

    def _aria(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        """Aria Automation sees the regions of its cloud accounts and the resource pools vCenter holds."""
        if token == "vra:region/getRegion:getRegion":
            region = args.get("region", "")
            return {"id": f"region-{_digest(region)}", "externalRegionId": region, "name": region,
                    "cloudAccountId": args.get("cloudAccountId"), "region": region}
        if token == "vra:fabric/getCompute:getCompute":
            name = args.get("filter", "").removeprefix("name eq '").removesuffix("'")
            if name not in self.resource_pools:
                raise LookupFailed(f"Aria finds no fabric compute named {name!r} (known: {sorted(self.resource_pools)})")
            return {"id": f"compute-{_digest(name)}", "name": name, "type": "ResourcePool", "filter": args.get("filter")}
        raise LookupFailed(f"the offline world has no answer for invoke {token}")

    def _find_datacenter(self, server: str, datacenter_id: str) -> tuple[str, dict[str, Any]]:
        for name, contents in self.inventory[server]["datacenters"].items():
            if f"datacenter-{_digest(server, name, length=8)}" == datacenter_id:
                return name, contents
        raise LookupFailed(f"datacenter id {datacenter_id!r} not found on {server}")

    def _datacenter(self, server: str, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        if name not in self.inventory[server]["datacenters"]:
            raise LookupFailed(f"datacenter {name!r} not found on {server}")
        return {"id": f"datacenter-{_digest(server, name, length=8)}", "name": name}

    def _member(self, server: str, args: dict[str, Any], kind: str, label: str) -> str:
        dc_name, contents = self._find_datacenter(server, args.get("datacenterId", ""))
        name = args.get("name")
        if name not in contents[kind]:
            raise LookupFailed(f"{label} {name!r} not found in datacenter {dc_name!r} on {server}")
        return name

    def _compute_cluster(self, server: str, args: dict[str, Any]) -> dict[str, Any]:
        name = self._member(server, args, "computeClusters", "compute cluster")
        return {
            "id": f"domain-c{int(_digest(server, name, length=6), 16) % 100000}",
            "name": name,
            "datacenterId": args["datacenterId"],
            "resourcePoolId": f"resgroup-{int(_digest(server, name, 'rp', length=6), 16) % 100000}",
        }

    def _datastore(self, server: str, args: dict[str, Any]) -> dict[str, Any]:
        name = self._member(server, args, "datastores", "datastore")
        return {"id": f"datastore-{int(_digest(server, name, length=6), 16) % 100000}", "name": name,
                "datacenterId": args["datacenterId"]}

    def _network(self, server: str, args: dict[str, Any]) -> dict[str, Any]:
        name = self._member(server, args, "networks", "network")
        return {"id": f"dvportgroup-{int(_digest(server, name, length=6), 16) % 100000}", "name": name,
                "datacenterId": args["datacenterId"], "type": "DistributedVirtualPortgroup"}

    def _policy(self, server: str, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        if name not in self.inventory[server]["policies"]:
            raise LookupFailed(f"storage policy {name!r} not found on {server}")
        raw = _digest(server, name, length=32)
        return {"id": f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}", "name": name}

    # -- resources -------------------------------------------------------------------------------

    def resource_id(self, typ: str, name: str) -> str:
        return f"{name}-{_digest(self.stack, typ, name, length=8)}"

    def computed_state(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs a real provider would compute on create, merged over the echoed inputs."""
        if typ == "vsphere:index/resourcePool:ResourcePool":
            self.resource_pools.add(inputs.get("name", name))
        if typ == "random:index/randomPassword:RandomPassword":
            length = int(inputs.get("length", 32))
            value = (_digest(self.stack, name, "password", length=64) * 4)[:length]
            return {**inputs, "result": self._remember(value), "bcryptHash": _digest(value)}
        return dict(inputs)

    def read(self, typ: str, name: str, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """State of an existing object read with ``Resource.get``."""
        if typ == "kubernetes:core/v1:Secret" and resource_id.endswith("-kubeconfig"):
            namespace, secret_name = resource_id.split("/", 1)
            cluster = secret_name.removesuffix("-kubeconfig")
            token = self._remember(f"offline-workload-token-{_digest(self.stack, resource_id)}")
            value = base64.b64encode(fake_kubeconfig(cluster, token).encode()).decode()
            return {
                "apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
                "metadata": {"name": secret_name, "namespace": namespace},
                "data": {"value": value},
            }
        if typ == "pulumi:pulumi:StackReference":
            reference = self.stack_outputs.get(resource_id)
            if reference is None:
                raise LookupFailed(f"stack {resource_id!r} is unknown to the offline world")
            for name in reference["secretOutputNames"]:
                self._remember_strings(reference["outputs"][name])
            return {"name": resource_id, **reference}
        raise LookupFailed(f"the offline world has no object {typ} {resource_id!r} to read")
