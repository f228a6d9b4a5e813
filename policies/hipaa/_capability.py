"""What each subject of a cluster can reach, computed from every Role, ClusterRole, aggregation and binding.

A verb list says little: a role that creates a Job in a namespace mounts every Secret there and runs as
any of its service accounts; one that patches a pod swaps its image; `nodes/proxy` execs into every pod
of a node; `bind`, `escalate` and `impersonate` grant anything. So the analysis works on capabilities:

- ``read-secrets``, ``run-workloads``, ``enter-pods`` (exec, attach, ephemeral containers, a pod's image),
  ``port-forward``, ``mint-tokens`` and ``scale`` are per namespace;
- ``escalate`` (bind, escalate, impersonate, approve certificates), ``change-admission`` and
  ``change-nodes`` are cluster-wide.

Whoever runs workloads, enters pods or mints tokens in a namespace becomes each of its service accounts
and holds what they hold, to a fixed point. Mutations are probed against the cluster's
ValidatingAdmissionPolicies (their CEL evaluated as the API server would), so a capability an admission
policy refuses is not counted; reads cannot be refused by admission and always count.

Input and output are plain data: Kubernetes objects as dicts (manifests or camelCase props).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

ALL = "*"
OTHER_NAMESPACE = "(any other namespace)"
"""Stands for a namespace created later: cluster-wide rights reach it too."""
RBAC_GROUP = "rbac.authorization.k8s.io"

PER_NAMESPACE = ("read-secrets", "run-workloads", "enter-pods", "port-forward", "mint-tokens", "scale")
CLUSTER_WIDE = ("escalate", "change-admission", "change-nodes")
REACHES_SECRETS = ("read-secrets", "run-workloads", "enter-pods", "mint-tokens")
"""Per-namespace capabilities that read a namespace's Secrets (mounted, or through a service account)."""
BECOMES = ("run-workloads", "enter-pods", "mint-tokens")
"""Per-namespace capabilities that act as the namespace's service accounts."""

WORKLOADS = {
    ("", "pods"), ("", "replicationcontrollers"),
    ("apps", "deployments"), ("apps", "daemonsets"), ("apps", "statefulsets"), ("apps", "replicasets"),
    ("batch", "jobs"), ("batch", "cronjobs"),
}
"""(API group, resource) whose create or update runs a pod of the caller's choosing in the namespace."""
MEDIATED = {
    ("leaderworkerset.x-k8s.io", "leaderworkersets"): ("lws-controller-manager",),
    ("keda.sh", "scaledjobs"): ("keda-operator",),
    **{("monitoring.coreos.com", kind): ("kube-prometheus-stack-operator", "prometheus-operator")
       for kind in ("prometheuses", "alertmanagers", "thanosrulers", "prometheusagents")},
}
"""Custom resources whose controller (a service account of that name) creates pods from the spec the writer chose:
writing one runs a workload wherever the controller may. An unknown controller counts as able to."""
ADMISSION = {
    ("admissionregistration.k8s.io", resource) for resource in (
        "validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies",
        "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings")
}
WRITE = ("create", "update", "patch", "delete", "deletecollection")
ANONYMOUS = {("User", "system:anonymous"), ("Group", "system:unauthenticated")}
EVERYONE = ("Group", "system:authenticated")

BUILT_IN_ROLES: dict[str, list[dict[str, Any]]] = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    # The default user-facing roles, as far as capabilities go (kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy).
    "admin": [
        {"apiGroups": ["", "apps", "batch", "autoscaling", "policy", "networking.k8s.io"], "resources": ["*"],
         "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
        {"apiGroups": [RBAC_GROUP], "resources": ["roles", "rolebindings"], "verbs": ["*"]},
    ],
    "edit": [
        {"apiGroups": ["", "apps", "batch", "autoscaling", "policy", "networking.k8s.io"], "resources": ["*"],
         "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    ],
    "view": [{"apiGroups": ["", "apps", "batch", "autoscaling", "policy", "networking.k8s.io"],
              "resources": ["pods", "services", "configmaps", "deployments", "statefulsets", "daemonsets",
                            "replicasets", "jobs", "cronjobs", "endpoints", "persistentvolumeclaims"],
              "verbs": ["get", "list", "watch"]}],
}
"""Roles the API server creates; ``admin``, ``edit`` and ``view`` also aggregate labelled ClusterRoles."""


@dataclass(frozen=True, order=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}" if self.kind == "ServiceAccount" else self.name

    def __str__(self) -> str:
        return f"ServiceAccount {self.namespace}/{self.name}" if self.kind == "ServiceAccount" else f"{self.kind} {self.name}"

    def groups(self) -> list[str]:
        if self.kind == "ServiceAccount":
            return ["system:serviceaccounts", f"system:serviceaccounts:{self.namespace}", "system:authenticated"]
        return [self.name, "system:authenticated"] if self.kind == "Group" else ["system:authenticated"]


@dataclass(frozen=True)
class Grant:
    group: str
    resource: str
    verb: str
    namespace: str
    """ALL for a ClusterRoleBinding."""
    names: tuple[str, ...] = ()
    via: str = ""
    """The binding and role that grant it."""


@dataclass(frozen=True, order=True)
class Capability:
    kind: str
    namespace: str = ""
    """Empty for cluster-wide capabilities."""

    def __str__(self) -> str:
        return f"{self.kind} in {self.namespace}" if self.namespace else self.kind


@dataclass
class Reach:
    subject: Subject
    capabilities: dict[Capability, str] = field(default_factory=dict)
    """Capability -> how (the grant, or the service account it is held through)."""

    def secret_namespaces(self, namespaces: Iterable[str]) -> list[str]:
        """Namespaces whose Secrets the subject can read, directly or through what it can run or become."""
        if Capability("escalate") in self.capabilities:
            return sorted(namespaces)
        return sorted(ns for ns in namespaces
                      if any(Capability(kind, ns) in self.capabilities for kind in REACHES_SECRETS))


# -- reading the objects ----------------------------------------------------------------------------------------

def _group_version(obj: dict[str, Any]) -> str:
    return obj.get("apiVersion") or ""


def _kind(obj: dict[str, Any]) -> str:
    return obj.get("kind") or ""


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _selected(labels: dict[str, str], selector: dict[str, Any]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def cluster_role_rules(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every ClusterRole's rules, aggregated ones (and the built-in admin, edit and view) filled from their selectors."""
    cluster_roles = {_meta(o).get("name"): o for o in objects if _kind(o) == "ClusterRole"}
    rules = {name: list(rules) for name, rules in BUILT_IN_ROLES.items()}
    for name, role in cluster_roles.items():
        rules[name] = list(role.get("rules") or [])
    aggregating = {name: (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
                   for name, role in cluster_roles.items() if role.get("aggregationRule")}
    for built_in in ("admin", "edit", "view"):
        aggregating.setdefault(built_in, [{"matchLabels": {f"{RBAC_GROUP}/aggregate-to-{built_in}": "true"}}])
    # The controller copies rules in rounds; a fixed point covers aggregations of aggregations.
    changed = True
    while changed:
        changed = False
        for name, selectors in aggregating.items():
            for other, role in cluster_roles.items():
                if other == name or not any(_selected(_meta(role).get("labels") or {}, s) for s in selectors):
                    continue
                for rule in rules.get(other, []):
                    if rule not in rules.setdefault(name, []):
                        rules[name].append(rule)
                        changed = True
    return rules


def _grants(rules: list[dict[str, Any]], namespace: str, via: str) -> Iterator[Grant]:
    for rule in rules:
        if rule.get("nonResourceURLs"):
            continue
        names = tuple(rule.get("resourceNames") or ())
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    yield Grant(group, resource, verb, namespace, names, via)


def _subject(entry: dict[str, Any], binding_namespace: str) -> Subject:
    if entry.get("kind") == "ServiceAccount":
        return Subject("ServiceAccount", entry.get("name", ""), entry.get("namespace") or binding_namespace)
    return Subject(entry.get("kind", ""), entry.get("name", ""))


def bindings(objects: list[dict[str, Any]]) -> tuple[dict[Subject, list[Grant]], list[str]]:
    """Each subject's grants, and the bindings to roles that are neither rendered nor built in."""
    cluster_rules = cluster_role_rules(objects)
    roles = {(_meta(o).get("namespace"), _meta(o).get("name")): o.get("rules") or []
             for o in objects if _kind(o) == "Role"}
    grants: dict[Subject, list[Grant]] = defaultdict(list)
    unknown = []
    for binding in objects:
        kind = _kind(binding)
        if kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        namespace = ALL if kind == "ClusterRoleBinding" else _meta(binding).get("namespace") or "default"
        ref = binding.get("roleRef") or {}
        role_kind, role_name = ref.get("kind"), ref.get("name")
        rules = (cluster_rules.get(role_name) if role_kind == "ClusterRole"
                 else roles.get((namespace, role_name)))
        where = f"{kind} {_meta(binding).get('name')} -> {role_kind} {role_name}"
        if rules is None:
            unknown.append(where)
            continue
        for entry in binding.get("subjects") or []:
            grants[_subject(entry, namespace if namespace != ALL else "")] += list(_grants(rules, namespace, where))
    return grants, unknown


def _matches(grant: Grant, group: str, resource: str, verbs: Iterable[str]) -> bool:
    if grant.group not in (group, "*"):
        return False
    if grant.verb != "*" and grant.verb not in verbs:
        return False
    if grant.resource in (resource, "*"):
        return True
    base, _, sub = resource.partition("/")
    granted_base, _, granted_sub = grant.resource.partition("/")
    return bool(sub) and ((granted_base == base and granted_sub == "*") or (granted_base == "*" and granted_sub == sub))


# -- admission --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """An admission request a capability would need admitted."""

    operation: str
    group: str
    resource: str
    namespace: str
    subresource: str = ""
    object: dict[str, Any] | None = None
    old_object: dict[str, Any] | None = None


class Admission:
    """The cluster's ValidatingAdmissionPolicies bound with Deny, evaluated with a CEL interpreter.

    Rules the interpreter cannot evaluate fail closed only where the policy says ``failurePolicy: Fail``,
    as the API server does; policies with parameters are not evaluated (they refuse nothing here).
    """

    def __init__(self, objects: list[dict[str, Any]]):
        denying = {(o.get("spec") or {}).get("policyName") for o in objects
                   if _kind(o) == "ValidatingAdmissionPolicyBinding"
                   and "Deny" in ((o.get("spec") or {}).get("validationActions") or [])}
        self.policies = [o for o in objects if _kind(o) == "ValidatingAdmissionPolicy"
                         and _meta(o).get("name") in denying and not (o.get("spec") or {}).get("paramKind")]
        self._programs: dict[str, Any] = {}

    def _evaluate(self, expression: str, activation: dict[str, Any]) -> Any:
        import celpy

        program = self._programs.get(expression)
        if program is None:
            environment = celpy.Environment()
            program = self._programs[expression] = environment.program(environment.compile(expression))
        return program.evaluate(celpy.json_to_cel(activation))

    def refused_by(self, subject: Subject, probe: Probe) -> str | None:
        """The name of a policy that refuses ``probe`` by ``subject``, or None when admission lets it through."""
        if not self.policies:
            return None
        request = {
            "operation": probe.operation, "namespace": probe.namespace if probe.namespace != OTHER_NAMESPACE else "other",
            "resource": {"group": probe.group, "version": "v1", "resource": probe.resource},
            "subResource": probe.subresource, "name": "probe",
            "userInfo": {"username": subject.username, "groups": subject.groups()},
        }
        activation = {"request": request, "object": probe.object, "oldObject": probe.old_object, "params": None}
        for policy in self.policies:
            spec = policy.get("spec") or {}
            if not _rule_matches((spec.get("matchConstraints") or {}).get("resourceRules") or [], probe):
                continue
            fail_closed = spec.get("failurePolicy", "Fail") == "Fail"
            try:
                variables = {}
                for variable in spec.get("variables") or []:
                    variables[variable["name"]] = self._evaluate(variable["expression"],
                                                                 {**activation, "variables": variables})
                scope = {**activation, "variables": variables}
                if not all(bool(self._evaluate(c["expression"], scope)) for c in spec.get("matchConditions") or []):
                    continue
                if not all(bool(self._evaluate(v["expression"], scope)) for v in spec.get("validations") or []):
                    return _meta(policy).get("name")
            except Exception:  # noqa: BLE001  (the API server applies failurePolicy to any evaluation error)
                if fail_closed:
                    return _meta(policy).get("name")
        return None


def _rule_matches(rules: list[dict[str, Any]], probe: Probe) -> bool:
    resource = f"{probe.resource}/{probe.subresource}" if probe.subresource else probe.resource
    for rule in rules:
        if not ({probe.group, "*"} & set(rule.get("apiGroups") or [])):
            continue
        if not ({probe.operation, "*"} & set(rule.get("operations") or [])):
            continue
        resources = set(rule.get("resources") or [])
        if resource in resources or "*/*" in resources or (not probe.subresource and "*" in resources) or (
                probe.subresource and f"*/{probe.subresource}" in resources) or (
                probe.subresource and f"{probe.resource}/*" in resources):
            return True
    return False


# -- capabilities -----------------------------------------------------------------------------------------------

def _object(group: str, resource: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": f"{group}/v1" if group else "v1", "kind": resource,
            "metadata": {"name": "probe", "namespace": namespace}, "spec": {}}


NODE_BEFORE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "probe", "labels": {"role": "worker"}},
               "spec": {"unschedulable": False}}
NODE_CHANGES = (
    {**NODE_BEFORE, "spec": {"unschedulable": False, "taints": [{"key": "probe", "effect": "NoExecute"}]}},
    {**NODE_BEFORE, "metadata": {"name": "probe", "labels": {"role": "probe"}}},
)
"""A NoExecute taint (evicts what does not tolerate it) and a label change (steers scheduling)."""


class Analysis:
    def __init__(self, objects: list[dict[str, Any]]):
        self.objects = list(objects)
        self.grants, self.unknown_roles = bindings(self.objects)
        self.admission = Admission(self.objects)
        names = {_meta(o).get("name") for o in self.objects if _kind(o) == "Namespace"}
        names |= {_meta(o).get("namespace") for o in self.objects if _meta(o).get("namespace")}
        names |= {"default", "kube-system"}
        self.namespaces = sorted(n for n in names if n)
        self.service_accounts: dict[str, set[Subject]] = defaultdict(set)
        for namespace in self.namespaces:
            self.service_accounts[namespace].add(Subject("ServiceAccount", "default", namespace))
        for obj in self.objects:
            if _kind(obj) == "ServiceAccount":
                namespace = _meta(obj).get("namespace") or "default"
                self.service_accounts[namespace].add(Subject("ServiceAccount", _meta(obj).get("name", ""), namespace))
        for subject in self.grants:
            if subject.kind == "ServiceAccount":
                self.service_accounts[subject.namespace].add(subject)
        self._direct: dict[Subject, dict[Capability, str]] = {}
        self._computing: set[Subject] = set()
        self._becomes: dict[Subject, dict[Subject, str]] = {}

    # What one subject holds by its own bindings (and those of the groups it belongs to).
    def _own_grants(self, subject: Subject) -> list[Grant]:
        found = list(self.grants.get(subject, []))
        for group in subject.groups():
            if group != subject.name:
                found += self.grants.get(Subject("Group", group), [])
        return found

    def _where(self, grant: Grant) -> list[str]:
        return [*self.namespaces, OTHER_NAMESPACE] if grant.namespace == ALL else [grant.namespace]

    def direct(self, subject: Subject) -> dict[Capability, str]:
        if subject in self._direct:
            return self._direct[subject]
        self._computing.add(subject)
        found: dict[Capability, str] = {}
        becomes: dict[Subject, str] = {}
        own = self._own_grants(subject)
        # Whoever may delete or rewrite the admission policies is not held by them.
        unfenced = any(not g.names and _matches(g, "admissionregistration.k8s.io", resource, WRITE) for g in own
                       for resource in ("validatingadmissionpolicies", "validatingadmissionpolicybindings"))

        def admitted(probe: Probe) -> bool:
            return unfenced or self.admission.refused_by(subject, probe) is None

        def mediated(group: str, resource: str, namespace: str) -> bool:
            controllers = [a for accounts in self.service_accounts.values() for a in accounts
                           if a.name in MEDIATED[(group, resource)]]
            if subject in controllers:
                return False  # its own writes of what it creates are judged as such
            if not controllers:
                return True
            return any(c not in self._computing and Capability("run-workloads", namespace) in self.direct(c)
                       for c in controllers)

        def add(capability: Capability, grant: Grant, detail: str = "") -> None:
            found.setdefault(capability, f"{grant.verb} {grant.group or 'core'}/{grant.resource}"
                                         f"{' ' + '/'.join(grant.names) if grant.names else ''}{detail} ({grant.via})")

        for grant in own:
            # Impersonation and RBAC escalation are not namespaced in effect: they grant anything.
            if _matches(grant, "", "users", ["impersonate"]) or _matches(grant, "", "groups", ["impersonate"]) or \
                    _matches(grant, "authentication.k8s.io", "uids", ["impersonate"]) or \
                    _matches(grant, "authentication.k8s.io", "userextras/scopes", ["impersonate"]):
                add(Capability("escalate"), grant)
            for resource in ("roles", "clusterroles"):
                if _matches(grant, RBAC_GROUP, resource, ["escalate", "bind"]):
                    add(Capability("escalate"), grant)
            if _matches(grant, "certificates.k8s.io", "certificatesigningrequests/approval", ["update", "patch"]):
                add(Capability("escalate"), grant)
            for group, resource in sorted(ADMISSION):
                if _matches(grant, group, resource, WRITE) and admitted(
                        Probe("UPDATE", group, resource, "", object=_object(group, resource, ""))):
                    add(Capability("change-admission"), grant)
            if _matches(grant, "", "nodes/proxy", ["get", "create", "update", "patch"]):
                for namespace in [*self.namespaces, OTHER_NAMESPACE]:
                    add(Capability("enter-pods", namespace), grant, " (the kubelet API of every node)")
            if _matches(grant, "", "nodes", ["update", "patch"]) and any(
                    admitted(Probe("UPDATE", "", "nodes", "", object=after, old_object=NODE_BEFORE))
                    for after in NODE_CHANGES):
                add(Capability("change-nodes"), grant)
            for namespace in self._where(grant):
                if _matches(grant, "", "secrets", ["get", "list", "watch"]):
                    add(Capability("read-secrets", namespace), grant)
                for group, resource in sorted(WORKLOADS):
                    for verb, operation in (("create", "CREATE"), ("update", "UPDATE"), ("patch", "UPDATE")):
                        if _matches(grant, group, resource, [verb]) and admitted(
                                Probe(operation, group, resource, namespace, object=_object(group, resource, namespace),
                                      old_object=None if operation == "CREATE" else _object(group, resource, namespace))):
                            add(Capability("run-workloads", namespace), grant)
                for group, resource in sorted(MEDIATED):
                    if _matches(grant, group, resource, ["create", "update", "patch"]) and mediated(
                            group, resource, namespace):
                        add(Capability("run-workloads", namespace), grant, " (its controller creates the pods)")
                for resource, subresource, verbs, operation in (
                        ("pods", "exec", ["create", "get"], "CONNECT"), ("pods", "attach", ["create", "get"], "CONNECT"),
                        ("pods", "ephemeralcontainers", ["update", "patch"], "UPDATE")):
                    if _matches(grant, "", f"{resource}/{subresource}", verbs) and admitted(
                            Probe(operation, "", resource, namespace, subresource, object={})):
                        add(Capability("enter-pods", namespace), grant)
                if _matches(grant, "", "pods/portforward", ["create", "get"]) and admitted(
                        Probe("CONNECT", "", "pods", namespace, "portforward", object={})):
                    add(Capability("port-forward", namespace), grant)
                if _matches(grant, "", "serviceaccounts/token", ["create"]) and admitted(
                        Probe("CREATE", "", "serviceaccounts", namespace, "token", object={})):
                    add(Capability("mint-tokens", namespace), grant)
                    for account in self.service_accounts.get(namespace, ()):
                        if not grant.names or account.name in grant.names:
                            becomes.setdefault(account, f"mints its tokens ({grant.via})")
                if _matches(grant, "", "serviceaccounts", ["impersonate"]):
                    for account in self.service_accounts.get(namespace, ()):
                        if not grant.names or account.name in grant.names:
                            becomes.setdefault(account, f"impersonates it ({grant.via})")
                for resource in ("deployments", "statefulsets", "replicasets"):
                    if _matches(grant, "apps", f"{resource}/scale", ["update", "patch"]) and admitted(
                            Probe("UPDATE", "apps", resource, namespace, "scale", object={})):
                        add(Capability("scale", namespace), grant)
        for capability in list(found):
            if capability.kind in ("run-workloads", "enter-pods"):
                for account in self.service_accounts.get(capability.namespace, ()):
                    becomes.setdefault(account, f"{capability} runs as it ({found[capability]})")
        self._direct[subject], self._becomes[subject] = found, becomes
        self._computing.discard(subject)
        return found

    def reach(self, subject: Subject) -> Reach:
        """Everything ``subject`` holds, through every service account it can become, to a fixed point."""
        result = Reach(subject, dict(self.direct(subject)))
        seen, queue = {subject}, [subject]
        while queue:
            current = queue.pop()
            self.direct(current)
            for account, how in self._becomes[current].items():
                if account in seen:
                    continue
                seen.add(account)
                queue.append(account)
                for capability, detail in self.direct(account).items():
                    result.capabilities.setdefault(capability, f"as {account} ({how}): {detail}")
        if Capability("escalate") in result.capabilities:
            # Whoever can grant itself anything holds everything.
            for namespace in [*self.namespaces, OTHER_NAMESPACE]:
                for kind in PER_NAMESPACE:
                    result.capabilities.setdefault(Capability(kind, namespace), "through escalate")
            for kind in CLUSTER_WIDE:
                result.capabilities.setdefault(Capability(kind), "through escalate")
        return result

    def subjects(self) -> list[Subject]:
        """Every bound subject and every service account (each holds what the groups it belongs to hold)."""
        return sorted(set(self.grants) | {a for accounts in self.service_accounts.values() for a in accounts})


def own_namespace(subject: Subject) -> str | None:
    return subject.namespace if subject.kind == "ServiceAccount" else None


@dataclass(frozen=True)
class Finding:
    subject: Subject
    capability: Capability
    how: str

    def __str__(self) -> str:
        return f"{self.subject} can {self.capability}: {self.how}"


def findings(analysis: Analysis, protected: Iterable[str] = ()) -> list[Finding]:
    """What least privilege forbids: any cluster-wide capability, any per-namespace one outside the subject's own
    namespace, and in a ``protected`` namespace any one at all (its own service accounts included, which must then be
    listed as exceptions). Bindings to anonymous or unauthenticated subjects are findings whatever they grant."""
    protected = set(protected)
    found = []
    for subject in analysis.subjects():
        reach = analysis.reach(subject)
        for capability, how in sorted(reach.capabilities.items()):
            if capability.namespace and capability.namespace == own_namespace(subject) \
                    and capability.namespace not in protected:
                continue
            found.append(Finding(subject, capability, how))
        if (subject.kind, subject.name) in ANONYMOUS and analysis.grants.get(subject):
            found.append(Finding(subject, Capability("anonymous-access"),
                                 "; ".join(sorted({g.via for g in analysis.grants[subject]}))))
    return found


def excepted(finding: Finding, exceptions: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The exception that covers ``finding``: same subject, the capability listed (or "*"), the namespace listed."""
    for entry in exceptions:
        if entry.get("subject") != _subject_key(finding.subject):
            continue
        kinds = entry.get("capabilities") or []
        if "*" not in kinds and finding.capability.kind not in kinds:
            continue
        namespaces = entry.get("namespaces") or ["*"]
        if finding.capability.namespace and "*" not in namespaces and finding.capability.namespace not in namespaces:
            continue
        return entry
    return None


def _subject_key(subject: Subject) -> str:
    """How exceptions name a subject: `ServiceAccount ns/name`, `Group name`, `User name`."""
    return str(subject)
