"""Property diffs and the providers' rules for which changes update in place, replace, or are refused.

The rules follow the providers this program uses, for the resource types it uses:
- pulumi-kubernetes (``provider/pkg/provider/diff.go``): ``metadata.name`` and ``metadata.namespace``
  of every object, and per kind the fields in ``FORCE_NEW``. Secrets (``type``, ``data``,
  ``stringData``) and ConfigMaps (``data``, ``binaryData``) are replaced on any data change unless
  their provider sets ``enableSecretMutable``/``enableConfigMapMutable`` and the object is not
  ``immutable``. A PodDisruptionBudget's spec forces a replacement only in ``policy/v1beta1`` (Kubernetes
  before 1.15 could not update it); the ``policy/v1`` this program uses needs Kubernetes 1.21 or newer,
  where the spec is mutable, so it is updated. Helm releases are replaced only for a new ``name`` or
  ``namespace``; a new chart version or new values are a `helm upgrade` of the same release.
- The Kubernetes API server refuses some updates the provider sends: a PVC's storage request can only
  grow, and the rest of a bound PVC's spec is immutable; a StatefulSet's spec may change only in
  ``replicas``, ``ordinals``, ``template``, ``updateStrategy``, ``persistentVolumeClaimRetentionPolicy``
  and ``minReadySeconds`` (the other fields are force-new above).
- The Terraform vSphere provider (bridged): ``ForceNew`` on ``vsphere_tag.category_id`` and
  ``vsphere_tag_category.cardinality``; a category's associable types can be added but not removed;
  ``vsphere_entity_permissions`` refuses a new ``entity_id``/``entity_type``; ``vsphere_alarm.name`` is
  documented as forcing a new resource. Resource pools (renamed and moved in place) and VM classes
  have no ForceNew field. Assumed, not verified in the provider source: a vSphere Namespace is
  replaced for a new ``name`` or ``supervisor`` (vCenter can neither rename nor move one).
- random: every argument of ``random_password`` forces a new password.
- Aria (pulumiverse-vra) resources: no ForceNew field is modelled (assumed: updated in place).

Paths are tuples of keys and list indices; ``"*"`` in a rule matches any index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pulumi.dynamic import ResourceProvider

from components.resources.namespace_access import NamespaceAccessProvider

Path = tuple[str | int, ...]
ANY = "*"


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_path(text: str) -> Path:
    """``spec.template.spec.containers[*].image`` (or ``[0]``) as a path."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[([^\]]*)\]", text):
        if name:
            parts.append(name)
        else:
            parts.append(int(index) if index.isdigit() else ANY)
    return tuple(parts)


@dataclass(frozen=True)
class Change:
    path: Path
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        """``add``, ``delete`` or ``update``, as `pulumi preview --diff` marks them (+, -, ~)."""
        if self.old is ABSENT:
            return "add"
        if self.new is ABSENT:
            return "delete"
        return "update"


class _Absent:
    """The side of a change where the property does not exist."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


def changes(old: Any, new: Any, path: Path = ()) -> list[Change]:
    """Leaf-level differences between two input documents (maps compared by key, lists by index)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            found += changes(old.get(key, ABSENT), new.get(key, ABSENT), (*path, key))
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for index in range(max(len(old), len(new))):
            found += changes(old[index] if index < len(old) else ABSENT,
                             new[index] if index < len(new) else ABSENT, (*path, index))
        return found
    if isinstance(old, (dict, list)) and new is ABSENT:
        return changes(old, {} if isinstance(old, dict) else [], path) or [Change(path, old, new)]
    if isinstance(new, (dict, list)) and old is ABSENT:
        return changes({} if isinstance(new, dict) else [], new, path) or [Change(path, old, new)]
    return [] if old == new else [Change(path, old, new)]


def matches(rule: Path, path: Path) -> bool:
    """The rule covers the path: one is a prefix of the other, ``*`` matching any list index."""
    return all(r == p or (r == ANY and isinstance(p, int)) for r, p in zip(rule, path, strict=False))


def without_ignored(found: list[Change], ignore_changes: list[str]) -> list[Change]:
    rules = [parse_path(text) for text in ignore_changes]
    return [c for c in found if not any(len(c.path) >= len(r) and matches(r, c.path) for r in rules)]


@dataclass(frozen=True)
class Verdict:
    """What the provider does with a set of changes of one resource."""

    replaces: tuple[Path, ...] = ()
    """Changed paths that force a replacement."""
    refusals: tuple[str, ...] = ()
    """Why the provider or the API server would refuse the update."""
    notes: tuple[str, ...] = field(default=())


# -- Kubernetes ----------------------------------------------------------------------------------

_SELECTOR = ("spec", "selector")
_CONTAINER_FIELDS = ("args", "command", "env", "image", "imagePullPolicy", "lifecycle", "livenessProbe", "ports",
                     "readinessProbe", "resources", "securityContext", "stdin", "stdinOnce", "terminationMessagePath",
                     "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir")
_POD_FIELDS = ("affinity", "automountServiceAccountToken", "dnsConfig", "dnsPolicy", "enableServiceLinks",
               "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostname", "imagePullSecrets", "nodeName",
               "nodeSelector", "overhead", "preemptionPolicy", "priority", "priorityClassName", "readinessGates",
               "restartPolicy", "runtimeClassName", "schedulerName", "securityContext", "serviceAccount",
               "serviceAccountName", "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds", "volumes")
_STATEFULSET = (("spec", "podManagementPolicy"), ("spec", "revisionHistoryLimit"), _SELECTOR,
                ("spec", "serviceName"), ("spec", "volumeClaimTemplates"))
_VOLUME_SOURCES = ("awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
                   "flocker", "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs",
                   "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")

FORCE_NEW: dict[tuple[str, str, str], tuple[Path, ...]] = {
    ("apps", "v1beta1", "StatefulSet"): _STATEFULSET,
    **{("apps", version, kind): fields for version in ("v1beta2", "v1")
       for kind, fields in (("DaemonSet", (_SELECTOR,)), ("Deployment", (_SELECTOR,)), ("StatefulSet", _STATEFULSET))},
    **{("batch", version, "Job"): (("spec", "completions"), ("spec", "parallelism"), _SELECTOR, ("spec", "template"))
       for version in ("v1beta1", "v1", "v2alpha1")},
    ("policy", "v1beta1", "PodDisruptionBudget"): (("spec",),),
    **{("rbac.authorization.k8s.io", version, kind): (("roleRef",),)
       for version in ("v1alpha1", "v1beta1", "v1") for kind in ("RoleBinding", "ClusterRoleBinding")},
    ("storage.k8s.io", "v1", "StorageClass"): (("parameters",), ("provisioner",)),
    ("core", "v1", "PersistentVolumeClaim"): (("spec", "accessModes"), ("spec", "selector"),
                                               ("spec", "storageClassName"), ("spec", "volumeName")),
    ("core", "v1", "PersistentVolume"): tuple(("spec", source) for source in _VOLUME_SOURCES),
    ("core", "v1", "Pod"): tuple(("spec", f) for f in _POD_FIELDS) + tuple(
        ("spec", containers, ANY, f) for containers in ("containers", "initContainers") for f in _CONTAINER_FIELDS),
    ("core", "v1", "ResourceQuota"): (("spec", "scopes"),),
    ("core", "v1", "Service"): (("spec", "clusterIP"),),
}
METADATA_FORCE_NEW: tuple[Path, ...] = (("metadata", "name"), ("metadata", "namespace"))
STATEFULSET_MUTABLE_SPEC = {"replicas", "ordinals", "template", "updateStrategy",
                            "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}
PVC_STORAGE: Path = ("spec", "resources", "requests", "storage")


def kubernetes_kind(type_token: str) -> tuple[str, str, str] | None:
    """``kubernetes:apps/v1:Deployment`` -> (``apps``, ``v1``, ``Deployment``); None for other tokens."""
    match = re.fullmatch(r"kubernetes:(?:([^/:]+)/)?([^/:]+):([^:]+)", type_token)
    if not match or type_token.startswith(("kubernetes:helm.sh/", "kubernetes:yaml", "kubernetes:kustomize")):
        return None
    return match.group(1) or "core", match.group(2), match.group(3)


def _truthy(value: Any) -> bool:
    return value is True or value == "true"


def _kubernetes_rules(kind: tuple[str, str, str], old: dict, new: dict, provider_inputs: dict) -> tuple[Path, ...]:
    group, _, name = kind
    rules = METADATA_FORCE_NEW + FORCE_NEW.get(kind, ())
    immutable = _truthy(old.get("immutable")) or _truthy(new.get("immutable"))
    if group == "core" and name == "Secret" and (not _truthy(provider_inputs.get("enableSecretMutable")) or immutable):
        rules += (("type",), ("stringData",), ("data",))
    elif group == "core" and name == "Secret":
        rules += (("type",),)
    if group == "core" and name == "ConfigMap" and (not _truthy(provider_inputs.get("enableConfigMapMutable")) or immutable):
        rules += (("data",), ("binaryData",))
    return rules


_QUANTITY = re.compile(r"^([0-9.]+)([KMGTPE]i?|[mk])?$")
_FACTORS = {None: 1, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(text: Any) -> float | None:
    """A Kubernetes quantity (``40Gi``, ``500M``, ``2``) in base units; None if not one."""
    match = _QUANTITY.match(str(text))
    return float(match.group(1)) * _FACTORS[match.group(2)] if match else None


def _kubernetes_api_checks(kind: tuple[str, str, str], found: list[Change], replaces: list[Path],
                           refusals: list[str], notes: list[str]) -> None:
    group, _, name = kind
    forced = set(replaces)
    rest = [c for c in found if c.path not in forced]
    if (group, name) == ("core", "PersistentVolumeClaim"):
        for change in rest:
            if change.path == PVC_STORAGE:
                old, new = quantity(change.old), quantity(change.new)
                if old is not None and new is not None and new < old:
                    refusals.append(f"spec.resources.requests.storage: Forbidden: field can not be less than previous "
                                    f"value ({change.old} -> {change.new})")
                else:
                    notes.append("the volume is expanded in place only if its StorageClass allows volume expansion")
            elif change.path[:1] == ("spec",) and change.path[:3] != ("spec", "resources", "requests") \
                    and change.path[:2] != ("spec", "volumeAttributesClassName"):
                refusals.append(f"{format_path(change.path)}: Forbidden: spec is immutable after creation except "
                                "resources.requests and volumeAttributesClassName for bound claims")
    if (group, name) == ("apps", "StatefulSet"):
        for change in rest:
            if change.path[:1] == ("spec",) and len(change.path) > 1 and change.path[1] not in STATEFULSET_MUTABLE_SPEC:
                refusals.append(f"{format_path(change.path)}: Forbidden: updates to statefulset spec for fields other "
                                "than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                                "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
    if (group, name) == ("apps", "StatefulSet") and any(matches(("spec", "volumeClaimTemplates"), p) for p in replaces):
        notes.append("the replacement does not resize the claims its pods already have: they are retained with "
                     "their old spec; resize each PersistentVolumeClaim itself")
    if (group, name) == ("core", "Service") and any(
            c.path == ("spec", "type") and "ExternalName" in (c.old, c.new) for c in rest):
        notes.append("a change to or from type ExternalName also needs spec.clusterIP changed, which replaces the Service")


# -- other providers -----------------------------------------------------------------------------

OTHER_FORCE_NEW: dict[str, tuple[Path, ...]] = {
    "vsphere:index/tag:Tag": (("categoryId",),),
    "vsphere:index/tagCategory:TagCategory": (("cardinality",),),
    "vsphere:index/alarm:Alarm": (("name",),),
    # A new name is not a replacement: the provider updates the namespace in place, and the Supervisor refuses.
    "vsphere:index/namespace:Namespace": (("supervisor",),),
    "random:index/randomPassword:RandomPassword": ((),),
    "kubernetes:helm.sh/v3:Release": (("name",), ("namespace",)),
}


DYNAMIC = "pulumi-python:dynamic:Resource"
DYNAMIC_PROVIDERS: tuple[tuple[str, type[ResourceProvider]], ...] = (("subjectType", NamespaceAccessProvider),)
"""The program's dynamic providers, each known by an input only its resources carry. The engine asks a
dynamic provider itself what a change replaces, so the plan does too."""


def _dynamic_provider(type_token: str, inputs: dict) -> ResourceProvider | None:
    if type_token != DYNAMIC:
        return None
    return next((provider() for key, provider in DYNAMIC_PROVIDERS if key in inputs), None)


def _other_refusals(type_token: str, found: list[Change]) -> list[str]:
    refusals = []
    if type_token == "vsphere:index/entityPermissions:EntityPermissions":
        refusals += [f"change in {c.path[0]} is not allowed post creation" for c in found
                     if c.path[:1] in (("entityId",), ("entityType",))]
    if type_token == "vsphere:index/namespace:Namespace" and any(c.path[:1] == ("name",) for c in found):
        refusals.append("a vSphere Namespace cannot be renamed: the provider updates it in place and the Supervisor "
                        "refuses; keep the name, or create the new namespace beside it and move the workloads")
    if type_token == "vsphere:index/tagCategory:TagCategory":
        old_types = {c.old for c in found if c.path[:1] == ("associableTypes",) and isinstance(c.old, str)}
        new_types = {c.new for c in found if c.path[:1] == ("associableTypes",) and isinstance(c.new, str)}
        if old_types - new_types:
            refusals.append(f"associable types can be added to a category, not removed: {sorted(old_types - new_types)}")
    return refusals


def verdict(type_token: str, old: dict, new: dict, found: list[Change], provider_inputs: dict,
            replace_on_changes: list[str]) -> Verdict:
    """How the provider treats ``found`` (the changes between ``old`` and ``new`` inputs)."""
    kind = kubernetes_kind(type_token)
    rules = _kubernetes_rules(kind, old, new, provider_inputs) if kind else OTHER_FORCE_NEW.get(type_token, ())
    if (dynamic := _dynamic_provider(type_token, new)) is not None:
        rules = tuple((key,) for key in dynamic.diff("", old, new).replaces or ())
    rules += tuple(() if text == "*" else parse_path(text) for text in replace_on_changes)
    replaces = [c.path for c in found if any(matches(rule, c.path) for rule in rules)]
    refusals, notes = _other_refusals(type_token, found), []
    if kind:
        _kubernetes_api_checks(kind, found, replaces, refusals, notes)
    return Verdict(tuple(replaces), tuple(refusals), tuple(dict.fromkeys(notes)))


def delete_before_replace(type_token: str, old: dict, new: dict, option: bool) -> bool:
    """pulumi-kubernetes deletes an object with an explicit ``metadata.name`` before creating its
    replacement when the name stays (it cannot be used twice); a renamed object is created first and
    the old one deleted after. Helm releases and other providers replace create-before-delete unless
    the ``deleteBeforeReplace`` option says otherwise."""
    if option:
        return True
    if (dynamic := _dynamic_provider(type_token, new)) is not None:
        return bool(dynamic.diff("", old, new).delete_before_replace)
    metadata = new.get("metadata") if kubernetes_kind(type_token) else None
    if not (isinstance(metadata, dict) and metadata.get("name")):
        return False
    before = old.get("metadata") if isinstance(old.get("metadata"), dict) else {}
    return (before.get("name"), before.get("namespace")) == (metadata.get("name"), metadata.get("namespace"))
