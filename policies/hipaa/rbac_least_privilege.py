"""Only break-glass may read Secrets, exec, attach or port-forward into pods, or change NetworkPolicies."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import name_of, namespace_of
from hipaa._rule import Resource, Rule

RBAC = "kubernetes:rbac.authorization.k8s.io/v1"
ROLES = (f"{RBAC}:Role", f"{RBAC}:ClusterRole")
BINDINGS = (f"{RBAC}:RoleBinding", f"{RBAC}:ClusterRoleBinding")
BUILT_IN = {
    "cluster-admin": "every permission",
    "admin": "Secrets, pods/exec, pods/attach, pods/portforward and RBAC in a namespace",
    "edit": "Secrets, pods/exec, pods/attach, pods/portforward and NetworkPolicies in a namespace",
}
"""Built-in ClusterRoles that grant what only break-glass may hold."""
READS = {"get", "list", "watch", "*"}
WRITES = {"create", "update", "patch", "delete", "deletecollection", "*"}
SENSITIVE = {
    ("", "secrets"): READS | WRITES,
    ("", "pods/exec"): {"create", "get", "*"},
    ("", "pods/attach"): {"create", "get", "*"},
    ("", "pods/portforward"): {"create", "get", "*"},
    ("", "serviceaccounts/token"): {"create", "*"},
    ("networking.k8s.io", "networkpolicies"): WRITES,
    ("rbac.authorization.k8s.io", "roles"): {"escalate", "bind", "*"},
    ("rbac.authorization.k8s.io", "clusterroles"): {"escalate", "bind", "*"},
}
"""(API group, resource) -> verbs that read credentials, enter a container, or lift network or RBAC limits."""


def grants(rules: list[dict]) -> list[str]:
    """What in ``rules`` only break-glass may hold, as `verb group/resource` phrases."""
    found = []
    for rule in rules or []:
        groups, resources, verbs = (set(rule.get(k) or []) for k in ("apiGroups", "resources", "verbs"))
        if "impersonate" in verbs:
            found.append("impersonate")
        for (group, resource), risky in SENSITIVE.items():
            group_match = group in groups or "*" in groups
            resource_match = resource in resources or "*" in resources or (
                "/" not in resource and f"{resource}/*" in resources)
            hit = verbs & risky
            if group_match and resource_match and hit:
                found.append(f"{'/'.join(sorted(hit))} {group or 'core'}/{resource}")
    return sorted(set(found))


SECRETS = " core/secrets"


def _account(subject: dict, binding: Resource) -> str | None:
    if subject.get("kind") != "ServiceAccount":
        return None
    return f"{subject.get('namespace') or namespace_of(binding)}/{subject.get('name')}"


def check(resources: list[Resource], config: dict) -> list[tuple[str, str]]:
    allowed = config["breakGlassGroup"]
    secret_accounts = config.get("secretAccounts") or {}
    roles: dict[tuple[str, str | None, str], list[str]] = {}
    for role in (r for r in resources if r.type in ROLES):
        scope = None if role.type.endswith(":ClusterRole") else namespace_of(role)
        found = grants(role.props.get("rules") or [])
        if found:
            roles[(role.provider, scope, name_of(role))] = found
    violations = []
    for binding in (r for r in resources if r.type in BINDINGS):
        ref = binding.props.get("roleRef") or {}
        name = ref.get("name")
        if ref.get("kind") == "ClusterRole":
            granted = [BUILT_IN[name]] if name in BUILT_IN else roles.get((binding.provider, None, name))
        else:
            granted = roles.get((binding.provider, namespace_of(binding), name))
        if not granted:
            continue
        for subject in binding.props.get("subjects") or []:
            if subject.get("kind") == "Group" and subject.get("name") == allowed:
                continue
            # A controller recorded with its reason may hold Secret rights (and only those) in the roles it is bound to.
            held = [g for g in granted if not (_account(subject, binding) in secret_accounts and g.endswith(SECRETS))]
            if not held:
                continue
            violations.append((binding.urn, f"{name_of(binding)} binds {ref.get('kind')} {name} ({'; '.join(held)}) "
                                            f"to {subject.get('kind')} {subject.get('name')!r}; only the break-glass "
                                            f"group {allowed!r} may hold it: grant a purpose-built role instead"))
    return violations


RULE = Rule(
    name="rbac-least-privilege",
    title="Secrets, exec and network changes only for break-glass",
    citation="164.312(a)(1)",
    severity=Severity.CRITICAL,
    description="No binding gives anyone but the break-glass group a role that reads or writes Secrets, execs, "
    "attaches or port-forwards into pods, mints service account tokens, changes NetworkPolicies or escalates RBAC, "
    "the built-in edit, admin and cluster-admin included. Any of these reads the API keys, the audit signing key or "
    "the prompts in a running model server, or opens a path around the gateway.",
    check=check,
    stack=True,
    config={"breakGlassGroup": {"type": "string", "default": "", "description": "The group that alone may hold them."},
            "secretAccounts": {"type": "object", "additionalProperties": {"type": "string"}, "default": {},
                               "description": "Controllers' service accounts (namespace/name) whose roles the program "
                                              "writes and that may hold Secret rights in them, each with the reason."}},
)
