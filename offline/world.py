"""The deterministic fake world the offline engine answers from.

It plays the parts the real engine gets from outside: the vCenter inventory behind the
``vsphere.get_*`` data sources (the site, see ``offline.site``: derived from the stack's own names
unless a site inventory file describes it), provider-computed ids, the Cluster API kubeconfig Secret of each
workload cluster, generated random values, stack references, and stand-ins for the secret config
values an operator sets with ``pulumi config set --secret``.

It also knows what exists when: what existed before the deployment (the vCenter inventory, the
Supervisor's own objects, other stacks), and what this deployment has created so far. A read of an
object that does not exist fails with the engine's message, so ``Resource.get`` of an object the
stack itself creates fails in the preview of a new stack, as it does against a real engine.

Every value is derived from names by hashing, so two runs produce the same bytes. Every secret
value it hands out is remembered in ``secret_values`` so tests can prove none leaks into output.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from offline.site import DERIVED

KUBECONFIG_KEYS = ("supervisorKubeconfig",)
VSPHERE_NAMESPACE = "vsphere:index/namespace:Namespace"
GATEWAY_TYPE = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ENTITY_PERMISSIONS = "vsphere:index/entityPermissions:EntityPermissions"
DYNAMIC = "pulumi-python:dynamic:Resource"
"""The program's own providers (the vSphere Namespace's access entries, through vCenter's REST API)."""
# Direct permissions every vCenter entity the stack did not create carries before the deployment: the
# administrators' own grants, which a stack must never take over.
PREEXISTING_GRANTS = (
    {"userOrGroup": "VSPHERE.LOCAL\\Administrators", "isGroup": True, "propagate": True, "roleId": "-1"},
    {"userOrGroup": "SITE\\vsphere-admins", "isGroup": True, "propagate": True, "roleId": "-1"},
)

# Objects every Kubernetes API server (the Supervisor's and each workload cluster's) has before
# any deployment. The world cannot tell clusters apart by provider, so these exist on all of them.
BUILT_IN_OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("kubernetes:core/v1:Namespace", name): {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
    }
    for name in ("default", "kube-system", "kube-public")
}
CLUSTER_TYPES = ("kubernetes:cluster.x-k8s.io/v1beta1:Cluster", "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster")


class Mode(Enum):
    """Which deployment the offline engine plays, and so what exists and what is known."""

    PREVIEW = "preview"
    """`pulumi preview` of a new stack: nothing the stack creates exists; ids and computed outputs
    of resources being created are unknown."""
    UP = "up"
    """`pulumi up` of a new stack: each resource exists once created, with its id and outputs."""
    EXISTING = "existing"
    """`pulumi preview` of a stack whose resources all exist already (ids and outputs from state)."""


class LookupFailed(Exception):
    """A data source asked for an object the fake vCenter does not have."""


class Unreachable(LookupFailed):
    """A call to an endpoint of a site marked unreachable; the message is the provider's."""


class ReadFailed(LookupFailed):
    """``Resource.get`` of an object that does not exist; the message is the engine's."""

    def __init__(self, resource_type: str, name: str, resource_id: str):
        self.resource_type, self.name, self.resource_id = resource_type, name, resource_id
        super().__init__(f"resource '{resource_id}' does not exist")


def _api_server(kubeconfig: Any) -> str:
    """The host of the current cluster's server in a kubeconfig ("" when unknown or not a kubeconfig)."""
    if not isinstance(kubeconfig, str):
        return ""
    for line in kubeconfig.splitlines():
        line = line.strip()
        if line.startswith("server:"):
            return line.split("//", 1)[-1].split(":", 1)[0].split("/", 1)[0]
    return ""


def _digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def fake_kubeconfig(cluster: str, token: str, site: str = "offline.invalid") -> str:
    """A kubeconfig whose API server sits under ``site`` (the vCenter host of the site it belongs to)."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster:\n    server: https://{cluster}.{site}:6443\n"
        f"users:\n- name: {cluster}-admin\n  user:\n    token: {token}\n"
        f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: {cluster}-admin\n"
        f"current-context: {cluster}\n"
    )


@dataclass
class FakeWorld:
    stack: str
    inventory: dict[str, dict[str, Any]] | None = None
    """The vCenters of the site by host (``offline.site``); None: derived from the stack's config when it runs."""
    inventory_source: str = DERIVED
    """Where the inventory comes from, named in lookup errors: the site inventory file, or the stack's names."""
    stack_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Other stacks by fully qualified name, as the engine returns them to a StackReference:
    ``{"outputs": {...}, "secretOutputNames": [...]}`` (see ``offline.run.as_stack_reference``)."""
    secret_values: list[str] = field(default_factory=list)
    preexisting: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: dict(BUILT_IN_OBJECTS))
    """Objects that exist before the deployment, by (type token, id), with the state a read returns."""
    discovered_pools: set[str] = field(default_factory=set)
    """Resource pools Aria Automation has discovered as fabric computes before the deployment."""
    mode: Mode = Mode.UP
    """Set by the offline engine before each run."""
    site: str = "offline.invalid"
    """The vCenter host of the site the stack deploys; the Supervisor and clusters sit under it."""
    unreachable: frozenset[str] = frozenset()
    """Sites (vCenter hosts) that are down: every call to their vCenter, Supervisor or clusters fails."""
    _providers: dict[str, str] = field(default_factory=dict)
    _api_servers: dict[str, str] = field(default_factory=dict)
    _created: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _created_pools: set[str] = field(default_factory=set)

    # -- secrets -------------------------------------------------------------------------------

    def _remember(self, value: str) -> str:
        if value not in self.secret_values:
            self.secret_values.append(value)
        return value

    def stand_in_secret(self, key: str) -> str:
        """The value the offline engine sets for secret config ``key``."""
        token = self._remember(f"offline-stand-in-{key}-{_digest(self.stack, key)}")
        return fake_kubeconfig(key.removesuffix("Kubeconfig"), token, self.site) if key in KUBECONFIG_KEYS else token

    def _remember_strings(self, value: Any) -> None:
        """Strings inside secret stack outputs are secrets of the consuming program too."""
        if isinstance(value, str):
            self._remember(value)
        elif isinstance(value, dict):
            for item in value.values():
                self._remember_strings(item)

    # -- invokes ---------------------------------------------------------------------------------

    def register_provider(self, provider_urn: str, typ: str, inputs: dict[str, Any]) -> None:
        """Remember which vCenter or API server a provider talks to, so calls through it can answer or fail.

        Keyed by URN: in the preview of a new stack the provider's id is still unknown. The vSphere
        provider logs in to vCenter when it is configured, in a preview too, so an unreachable vCenter
        fails here; pulumi-kubernetes marks an unreachable cluster and fails only its reads and writes.
        """
        if typ == "pulumi:providers:vsphere":
            server = inputs.get("vsphereServer", "")
            self._providers[provider_urn] = server
            if self._down(server):
                raise Unreachable(f"configuring provider {provider_urn}: error setting up new vSphere SOAP client: Post "
                                  f"\"https://{server}/sdk\": dial tcp {server}:443: i/o timeout (site {server} is "
                                  "marked unreachable)")
        elif typ == "pulumi:providers:kubernetes":
            self._api_servers[provider_urn] = _api_server(inputs.get("kubeconfig"))

    def _down(self, host: str) -> bool:
        return any(host == site or host.endswith(f".{site}") for site in self.unreachable)

    def check_reachable(self, provider_ref: str, action: str) -> None:
        """Fail as pulumi-kubernetes does when the cluster behind ``provider_ref`` cannot be reached."""
        host = self._api_servers.get(provider_ref.rsplit("::", 1)[0], "") if provider_ref else ""
        if host and self._down(host):
            raise Unreachable(f"{action}: configured Kubernetes cluster is unreachable: Get \"https://{host}:6443/version\""
                              f": dial tcp {host}:6443: i/o timeout (its site is marked unreachable)")

    def _server(self, provider_ref: str) -> str:
        server = self._providers.get(provider_ref.rsplit("::", 1)[0]) if provider_ref else None
        if not server:
            raise LookupFailed("vSphere data source called without an explicit vsphere provider")
        if self._down(server):
            raise Unreachable(f"Post \"https://{server}/sdk\": dial tcp {server}:443: i/o timeout (site {server} is marked "
                              "unreachable)")
        if server not in (self.inventory or {}):
            raise LookupFailed(f"vCenter {server!r} is not in {self.inventory_source} "
                               f"(vCenters there: {sorted(self.inventory or {})}); add it there, or correct "
                               "vsphere.server")
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
            # Aria enumerates vCenter at its data collection (every 10 minutes by default), not when
            # Pulumi creates a pool: a pool this deployment created is not a fabric compute yet.
            discovered = self.discovered_pools | (self._created_pools if self.mode is Mode.EXISTING else set())
            if name not in discovered:
                raise LookupFailed(f"Aria finds no fabric compute named {name!r} (discovered: {sorted(discovered)}); "
                                   "a resource pool appears only after Aria's next data collection")
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
            raise LookupFailed(f"datacenter {name!r} not found on {server} ({self.inventory_source}: "
                               f"{sorted(self.inventory[server]['datacenters'])}); correct vsphere.datacenter or "
                               "the inventory")
        return {"id": f"datacenter-{_digest(server, name, length=8)}", "name": name}

    def _member(self, server: str, args: dict[str, Any], kind: str, label: str) -> str:
        dc_name, contents = self._find_datacenter(server, args.get("datacenterId", ""))
        name = args.get("name")
        if name not in contents[kind]:
            raise LookupFailed(f"{label} {name!r} not found in datacenter {dc_name!r} on {server} ("
                               f"{self.inventory_source}: {sorted(contents[kind])}); correct the stack's name or "
                               "the inventory")
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
            raise LookupFailed(f"storage policy {name!r} not found on {server} ("
                               f"{self.inventory_source}: {sorted(self.inventory[server]['policies'])}); correct "
                               "vsphere.storagePolicy or the inventory")
        raw = _digest(server, name, length=32)
        return {"id": f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}", "name": name}

    # -- resources -------------------------------------------------------------------------------

    def resource_id(self, typ: str, name: str, inputs: dict[str, Any] | None = None) -> str:
        """The id a provider assigns on create.

        pulumi-kubernetes uses ``<namespace>/<name>`` (``<name>`` for cluster-scoped objects), also
        for Helm releases; other providers assign opaque ids.
        """
        inputs = inputs or {}
        if typ == "kubernetes:helm.sh/v3:Release" and inputs.get("name"):
            return f"{inputs.get('namespace') or 'default'}/{inputs['name']}"
        metadata = inputs.get("metadata") if typ.startswith("kubernetes:") else None
        if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
            namespace = metadata.get("namespace")
            return f"{namespace}/{metadata['name']}" if isinstance(namespace, str) else metadata["name"]
        return f"{name}-{_digest(self.stack, typ, name, length=8)}"

    def created(self, typ: str, resource_id: str, inputs: dict[str, Any]) -> None:
        """A resource this deployment created (or, for an existing stack, manages) now exists."""
        if typ == VSPHERE_NAMESPACE:
            self._check_new_namespace(inputs)
        if typ == DYNAMIC and "server" in inputs and "namespace" in inputs:
            self._check_namespace_grant(inputs)
        self._created[(typ, resource_id)] = inputs
        if typ == "vsphere:index/resourcePool:ResourcePool":
            self._created_pools.add(inputs.get("name", ""))

    def _check_new_namespace(self, inputs: dict[str, Any]) -> None:
        """vCenter refuses a vSphere Namespace on a Supervisor it does not have, or one that exists already."""
        supervisor, name = inputs.get("supervisor"), inputs.get("name")
        for server, site in (self.inventory or {}).items():
            supervisors = site.get("supervisors")
            if supervisors is None or self._down(server):
                continue
            if supervisor not in supervisors:
                raise LookupFailed(f"creating vSphere Namespace {name!r}: Supervisor {supervisor!r} not found on {server} "
                                   f"({self.inventory_source}: {sorted(supervisors)}); correct tanzu.supervisorId "
                                   "or the inventory")
            if name in supervisors[supervisor]:
                raise LookupFailed(f"creating vSphere Namespace {name!r}: it exists already on Supervisor {supervisor!r} "
                                   f"({self.inventory_source}); a stack creates its own, so choose another "
                                   "tanzu.supervisorNamespace (or import the existing one into the stack's state)")

    def _check_namespace_grant(self, inputs: dict[str, Any]) -> None:
        """A namespace access entry is a REST call to vCenter: it needs the site up and the namespace there."""
        server, namespace = inputs["server"], inputs["namespace"]
        if self._down(server):
            raise Unreachable(f"logging in to vCenter {server}: cannot reach vCenter {server}: timed out (site {server} is "
                              "marked unreachable)")
        if not any(typ == VSPHERE_NAMESPACE and created.get("name") == namespace for (typ, _), created in self._created.items()):
            raise LookupFailed(f"granting {inputs.get('role')} on vSphere Namespace {namespace}: vCenter answered 404 "
                               "(not_found: namespace cannot be located); the grant must wait for the namespace")

    def computed_state(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs a real provider would compute on create, merged over the echoed inputs."""
        if typ == GATEWAY_TYPE:
            # Envoy Gateway programs the proxies and the load balancer gives the Service an address.
            address = f"192.0.2.{int(_digest(self.stack, name, length=4), 16) % 250 + 1}"
            return {**inputs, "status": {"addresses": [{"type": "IPAddress", "value": address}],
                                         "conditions": [{"type": "Programmed", "status": "True"}]}}
        if typ == ENTITY_PERMISSIONS:
            return {**inputs, "permissions": self.entity_permissions(inputs)}
        if typ == DYNAMIC and "subjectType" in inputs:
            return {**inputs, "adopted": False}
        if typ == "random:index/randomPassword:RandomPassword":
            length = int(inputs.get("length", 32))
            value = (_digest(self.stack, name, "password", length=64) * 4)[:length]
            return {**inputs, "result": self._remember(value), "bcryptHash": _digest(value)}
        return dict(inputs)

    def entity_permissions(self, inputs: dict[str, Any]) -> list[dict[str, Any]]:
        """Every direct permission of the entity after the grant, as the provider reads it back.

        An entity this deployment created has only what the stack granted; any other (a cluster, a
        datacenter, a pool the site made) also carries the grants its administrators made before.
        """
        granted = list(inputs.get("permissions") or [])
        entity = inputs.get("entityId")
        if any(resource_id == entity for (_, resource_id) in self._created):
            return granted
        mine = {p.get("userOrGroup") for p in granted}
        held = ((self.inventory or {}).get(self.site) or {}).get("permissions", PREEXISTING_GRANTS)
        return granted + [dict(p) for p in held if p["userOrGroup"] not in mine]

    def _exists(self, typ: str, resource_id: str) -> bool:
        if (typ, resource_id) in self.preexisting:
            return True
        return self.mode is not Mode.PREVIEW and (typ, resource_id) in self._created

    def read(self, typ: str, name: str, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """State of an existing object read with ``Resource.get``; ReadFailed if there is none."""
        if typ == "pulumi:pulumi:StackReference":
            reference = self.stack_outputs.get(resource_id)
            if reference is None:
                raise LookupFailed(f"stack {resource_id!r} is unknown to the offline world: it plays a StackReference to "
                                   "organization/<project>/<stack> by running that stack's file, Pulumi.<stack>.yaml, "
                                   "in this directory; for another backend's stack use site.primaryOutputsFile")
            for output in reference["secretOutputNames"]:
                self._remember_strings(reference["outputs"][output])
            return {"name": resource_id, **reference}
        if typ == "kubernetes:core/v1:Secret" and resource_id.endswith("-kubeconfig") and "/" in resource_id:
            namespace, secret_name = resource_id.split("/", 1)
            cluster = secret_name.removesuffix("-kubeconfig")
            # Cluster API writes the Secret once it has provisioned the cluster's control plane.
            if any(self._exists(cluster_type, f"{namespace}/{cluster}") for cluster_type in CLUSTER_TYPES):
                return self._kubeconfig_secret(namespace, secret_name, cluster, resource_id)
        if self._exists(typ, resource_id):
            return dict(self.preexisting.get((typ, resource_id)) or self._created[(typ, resource_id)])
        raise ReadFailed(typ, name, resource_id)

    def _kubeconfig_secret(self, namespace: str, secret_name: str, cluster: str, resource_id: str) -> dict[str, Any]:
        token = self._remember(f"offline-workload-token-{_digest(self.stack, resource_id)}")
        value = base64.b64encode(fake_kubeconfig(cluster, token, self.site).encode()).decode()
        return {
            "apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
            "metadata": {"name": secret_name, "namespace": namespace},
            "data": {"value": value},
        }
