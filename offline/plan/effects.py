"""What a plan does to the running service: each touched resource's effect, and a verdict per model and site.

The plan (``offline.plan.update``) says what the engine changes; this says what clients see meanwhile,
from the same inventories and the stack's config:

- Secrets and ConfigMaps updated in place keep existing (mounted files follow within the kubelet's
  sync); replaced with a fixed name they are deleted before they are created, and whatever reads them
  in between fails: a pod starting, a pull with that pull secret, the gateway's listener certificate.
- A pod template change rolls the workload. A Deployment with ``maxSurge`` needs a free GPU per surge
  replica, which the pool may not have while KEDA holds every replica; with ``maxUnavailable`` it
  serves on one replica fewer. A StatefulSet or a single replica restarts in place: with one replica
  the model is down while it restarts. A replaced workload is down until the new one is Ready.
- The key the gateway sends must be one every replica accepts, before and after the roll (the key
  generations on the gateway's credential and the replicas' template, see ``VllmService``).
- The gateway must speak the scheme every replica serves: turning ``gateway.upstreamTls`` on or off switches the
  gateway's side (its BackendTLSPolicy) at once while the replicas roll one by one, so requests fail until the last
  one restarted. A renewed certificate of the same CA changes neither side's scheme: no request fails.
- Envoy Gateway keys each rate-limit rule's counters by its position: a rule that moves restarts its
  counts (a monthly quota its month-to-date usage). A reservation rule (charged on arrival only) that
  moves restarts its window's reservations: its callers may start one more window of generations.
- A Kubernetes version change replaces every node, one at a time: a model with one replica is down
  while its pod moves.

Times are the estimates the simulated `up` uses (``waits`` config): planning figures, not measurements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from components.builders.ai_gateway import REDIS_NAMESPACE
from components.builders.serving_tls import CERTIFICATE_ANNOTATION
from components.config import PlatformConfig
from components.planning import capacity, waits
from offline.plan.update import Plan, Step

SECRET, CONFIG_MAP = "kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap"
WORKLOADS = {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
             "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"}
CLUSTERS = {"kubernetes:cluster.x-k8s.io/v1beta1:Cluster", "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster"}
TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
RELEASE = "kubernetes:helm.sh/v3:Release"
ACCEPTED_KEYS = "onprem-llm.io/api-keys"
KEY_GENERATION = "onprem-llm.io/api-key-generation"
TLS_SECRET = "llm-gateway-tls"


@dataclass(frozen=True)
class Effect:
    name: str
    type: str
    kind: str
    """``in place``, ``rolling``, ``replaced``, ``deleted`` or ``created``."""
    detail: str
    outage: bool = False
    """Whether requests fail (or a model is unavailable) while it happens."""


@dataclass
class Impact:
    effects: list[Effect] = field(default_factory=list)
    models: dict[str, list[str]] = field(default_factory=dict)
    """Per model key: what clients of that model see; empty when no request fails."""
    site: list[str] = field(default_factory=list)
    """What clients of every model see (the gateway, the cluster)."""
    counters: list[str] = field(default_factory=list)
    """Rate-limit counters of usage (budgets, quotas, requests) that restart or move."""
    reservations: list[str] = field(default_factory=list)
    """Reservation counters (tokens reserved on arrival) that restart or move."""
    evaluations: list[str] = field(default_factory=list)
    """Per model, the last evaluation record config holds for what it will serve (and for its candidate)."""

    def verdict(self, key: str) -> str:
        problems = self.models.get(key, []) + self.site
        return "; ".join(problems) if problems else "no request fails"

    def summary(self) -> list[str]:
        lines = [f"{key}: {self.verdict(key)}" for key in sorted(self.models)]
        lines += [f"counters: {line}" for line in self.counters]
        lines += [f"reservations: {line}" for line in self.reservations]
        lines += [f"evaluation: {line}" for line in self.evaluations]
        return lines


def _by_name(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["type"], r["name"]): r for r in document["resources"]}


def _template(inputs: dict[str, Any]) -> dict[str, Any]:
    spec = inputs.get("spec") or {}
    if "leaderWorkerTemplate" in spec:
        return (spec["leaderWorkerTemplate"].get("leaderTemplate") or {})
    return spec.get("template") or {}


def _accepted(resource: dict[str, Any] | None) -> set[str]:
    annotations = ((_template(resource["inputs"]).get("metadata") or {}).get("annotations") or {}) if resource else {}
    return set(filter(None, str(annotations.get(ACCEPTED_KEYS, "")).split(",")))


def _sent(resource: dict[str, Any] | None) -> str | None:
    annotations = ((resource or {}).get("inputs", {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(KEY_GENERATION)


def _model_of(name: str, keys: list[str]) -> str | None:
    for key in sorted(keys, key=len, reverse=True):
        if name == key or name.startswith(f"{key}-") or name.startswith(f"gateway-{key}-"):
            return key
    return None


def _minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))


def _restart_minutes(model, cfg: PlatformConfig) -> int:
    """Up to how long one replica takes to come back: image pull, its weights if it stages them, the load budget."""
    staged = model.weights.access_mode == "ReadWriteOnce"
    return _minutes(waits.replica_start_seconds(model.startup_timeout_seconds, cfg.waits, staged_in_pod=staged,
                                                size_gib=model.weights.size_gib))


def assess(result: Plan, baseline: dict[str, Any], current: dict[str, Any], cfg: PlatformConfig) -> Impact:
    """The plan's effect on service (the config is the stack's after the update)."""
    impact = Impact(models={key: [] for key in cfg.models})
    old, new = _by_name(baseline), _by_name(current)
    keys = list(cfg.models)
    pool_gpus = cfg.gpu_nodes_now * cfg.gpu_pool.gpus_per_node
    # The engine deletes last: a workload this update removes (a candidate at promotion) holds its GPUs while the
    # others roll.
    free_at_max = max(0, pool_gpus - capacity.plan(cfg).gpus_needed - _held_until_deleted(result, old))

    def note(effect: Effect, key: str | None) -> None:
        impact.effects.append(effect)
        if effect.outage:
            impact.models.get(key, impact.site).append(effect.detail)

    for step in result.changed:
        key = _model_of(step.name, keys)
        if step.type in (SECRET, CONFIG_MAP):
            note(_secret_effect(step, step.name.endswith("-tls") or _named(new, step) == TLS_SECRET), key)
        elif step.type in WORKLOADS:
            note(_workload_effect(step, old, new, cfg, key, free_at_max), key)
        elif step.type in CLUSTERS and step.op == "update":
            _cluster_effect(step, cfg, note)
        elif step.type == RELEASE and step.op == "update":
            note(Effect(step.name, step.type, "rolling", "helm upgrade: the chart's own pods roll as it defines them, "
                        "each with its disruption budget; serving pods are not touched"), None)
        elif step.op == "delete" and key:
            note(Effect(step.name, step.type, "deleted", "removed with its model"), None)
        elif step.op == "create":
            note(Effect(step.name, step.type, "created", "new"), None)
        elif step.op == "replace":
            note(Effect(step.name, step.type, "replaced", f"replaced ({', '.join(step.replace_reasons)})"), None)
        else:
            note(Effect(step.name, step.type, "in place", "updated in place"), None)

    for key in keys:
        _key_consistency(key, old, new, impact)
        _scheme_consistency(key, old, new, impact, cfg)
    moved = _moved_counters(old, new)
    impact.counters = [line for reserved, line in moved if not reserved]
    impact.reservations = [line for reserved, line in moved if reserved]
    impact.evaluations = _evaluations(cfg)
    return impact


def _evaluations(cfg: PlatformConfig) -> list[str]:
    """What config records of each model's evaluation, so a promotion's plan shows the score it rests on."""
    lines = []
    required = cfg.evaluation.require_passing
    for key, m in cfg.models.items():
        for role, record, identity in (("current", m.evaluation, m.weights_identity),
                                       ("candidate", m.candidate.evaluation if m.candidate else None,
                                        m.candidate_model.weights_identity if m.candidate_model else None)):
            if identity is None or (record is None and role == "current" and not required and m.candidate is None):
                continue
            if record is None:
                lines.append(f"{key} ({role}, {identity[:19]}): no evaluation recorded"
                             + (" (evaluation.requirePassing refuses it)" if required and role == "current" else ""))
                continue
            verdict = "passed" if record.score >= cfg.evaluation.pass_score else "below"
            lines.append(f"{key} ({role}, {identity[:19]}): score {record.score:g} {verdict} passScore "
                         f"{cfg.evaluation.pass_score:g}, question set {record.question_set[:19]}, result "
                         f"{record.result_digest[:19]}")
    return lines


def _held_until_deleted(result: Plan, old: dict) -> int:
    """GPUs of the model workloads the update deletes, at their scalers' maximum: busy until the update's end."""
    held = 0
    for step in result.changed:
        if step.op != "delete" or step.type not in WORKLOADS:
            continue
        inputs = old[(step.type, step.name)]["inputs"]
        containers = (_template(inputs).get("spec") or {}).get("containers") or []
        gpus = sum(int(((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu", 0)) for c in containers)
        name = _named_inputs(old[(step.type, step.name)])
        scalers = [r["inputs"]["spec"] for r in old.values() if r["type"] == SCALED_OBJECT
                   and ((r["inputs"].get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name]
        replicas = scalers[0].get("maxReplicaCount", 1) if scalers else (inputs.get("spec") or {}).get("replicas", 1)
        size = ((inputs.get("spec") or {}).get("leaderWorkerTemplate") or {}).get("size", 1)
        held += gpus * int(replicas) * int(size)
    return held


def _named(document: dict, step: Step) -> str:
    resource = document.get((step.type, step.name)) or {}
    return _named_inputs(resource)


def _named_inputs(resource: dict[str, Any]) -> str:
    return str(((resource.get("inputs") or {}).get("metadata") or {}).get("name", ""))


def _secret_effect(step: Step, listener: bool) -> Effect:
    if step.op == "update":
        return Effect(step.name, step.type, "in place", "updated in place: it keeps existing, mounted files follow")
    if step.op == "replace" and step.delete_before_replace:
        what = "the gateway's HTTPS listener has no certificate" if listener else \
            "whatever reads it (a pod starting, an image pull) fails"
        return Effect(step.name, step.type, "replaced", f"{step.name} deleted, then created: meanwhile {what}",
                      outage=listener)
    return Effect(step.name, step.type, step.op if step.op != "replace" else "replaced", step.op)


def _strategy(inputs: dict[str, Any]) -> dict[str, Any]:
    spec = inputs.get("spec") or {}
    return ((spec.get("strategy") or spec.get("rolloutStrategy") or {}).get("rollingUpdate")
            or (spec.get("rolloutStrategy") or {}).get("rollingUpdateConfiguration") or {})


def _is_counter_store(inputs: dict) -> bool:
    spec = inputs.get("spec") or {}
    return ((inputs.get("metadata") or {}).get("namespace") == REDIS_NAMESPACE
            and (spec.get("strategy") or {}).get("type") == "Recreate")


def _workload_effect(step: Step, old: dict, new: dict, cfg: PlatformConfig, key: str | None,
                     free_at_max: int) -> Effect:
    model = cfg.models.get(key) if key else None
    restart = _restart_minutes(model, cfg) if model else 10
    if step.op == "create":
        return Effect(step.name, step.type, "created", "new replicas start")
    if step.op == "delete":
        return Effect(step.name, step.type, "deleted", "removed", outage=False)
    if step.op == "replace":
        return Effect(step.name, step.type, "replaced",
                      f"{key or step.name} unavailable for up to {restart} min: the workload is deleted before the new one "
                      "is Ready", outage=True)
    if not any(d.startswith("spec.template") or d.startswith("spec.leaderWorkerTemplate") for d in step.diffs):
        return Effect(step.name, step.type, "in place", "updated in place, no pod restarts")
    inputs = new[(step.type, step.name)]["inputs"]
    strategy = _strategy(inputs)
    if model is None and _is_counter_store(inputs):
        # One pod stopped before its successor starts (one ReadWriteOnce volume): the rate-limit counters are gone
        # for those seconds, and the gateway does what rateLimitFailure says.
        closed = cfg.gateway.rate_limit_failure == "closed"
        return Effect(step.name, step.type, "rolling",
                      f"{step.name} stopped, then started again (Recreate): for those seconds the gateway "
                      + ("refuses every request (rateLimitFailure closed)" if closed else
                         "lets requests through without limits (rateLimitFailure open)"), outage=closed)
    gpus = capacity.layout_of(cfg, model).gpus if model else 1
    if step.type.endswith(":StatefulSet") or (model and model.replicas.min == 1 and str(strategy.get("maxSurge")) in ("0", "")):
        if model and model.replicas.min >= 2:
            return Effect(step.name, step.type, "rolling", "rolling, one replica at a time out of service: no GPU needed")
        return Effect(step.name, step.type, "rolling",
                      f"{key or step.name} unavailable for up to {restart} min while its one replica restarts "
                      "(raise replicas.min to 2 to keep serving)", outage=True)
    if str(strategy.get("maxUnavailable")) not in ("0", "None", "") and str(strategy.get("maxSurge")) in ("0", "None"):
        return Effect(step.name, step.type, "rolling", "rolling, one replica at a time out of service: no GPU needed")
    room = (f"the pool has {free_at_max} free at replicas.max" if free_at_max >= gpus else
            "the pool has none free while KEDA holds replicas.max (a workload this update deletes, such as a promoted "
            "candidate, holds its GPUs until the update's end): the rollout waits for KEDA to scale down, the old "
            "replicas keep serving")
    return Effect(step.name, step.type, "rolling", f"rolling with a surge replica: needs {gpus} free GPU(s); {room}")


def _cluster_effect(step: Step, cfg: PlatformConfig, note) -> None:
    version = any("version" in d for d in step.diffs)
    if not version:
        note(Effect(step.name, step.type, "in place", "node pools resized in place; nothing running restarts"), None)
        return
    note(Effect(step.name, step.type, "rolling", "every node replaced one at a time, control plane first; each pod is "
                "evicted once, within its disruption budget"), None)
    for key, model in cfg.models.items():
        if model.replicas.min < 2:
            note(Effect(step.name, step.type, "rolling",
                        f"{key} unavailable for up to {_restart_minutes(model, cfg)} min while its one replica moves to a "
                        "replaced node "
                        "(raise replicas.min to 2 to keep serving)", outage=True), key)


def _key_consistency(key: str, old: dict, new: dict, impact: Impact) -> None:
    """The gateway's key must be accepted by old and new replicas alike while the pods roll."""
    workloads = [(t, n) for (t, n) in new if t in WORKLOADS and n == f"{key}-server"]
    credential = ("kubernetes:core/v1:Secret", f"gateway-{key}-credential")
    if not workloads or credential not in new:
        return
    accepted_before, accepted_after = _accepted(old.get(workloads[0])), _accepted(new.get(workloads[0]))
    sent_before, sent_after = _sent(old.get(credential)), _sent(new.get(credential))
    if not (accepted_before and accepted_after and sent_before and sent_after):
        return
    while_rolling = accepted_before & accepted_after
    refused = [g for g in {sent_before, sent_after} if g not in while_rolling]
    if refused:
        impact.models[key].append(
            f"requests refused (401) until every replica restarted: the gateway sends key {sent_after} while replicas "
            f"accept {','.join(sorted(accepted_before))} before and {','.join(sorted(accepted_after))} after; rotate in "
            "stages (apiKeyStage prepare, switch, done)")


def _serves_https(resource: dict[str, Any] | None) -> bool | None:
    """Whether a model workload's replicas serve HTTPS (their template names a serving certificate); None: absent."""
    if resource is None:
        return None
    annotations = (_template(resource["inputs"]).get("metadata") or {}).get("annotations") or {}
    return CERTIFICATE_ANNOTATION in annotations


def _scheme_consistency(key: str, old: dict, new: dict, impact: Impact, cfg: PlatformConfig) -> None:
    """The gateway switches its scheme to a model in one step; the replicas switch theirs one restart at a time."""
    workloads = [(t, n) for (t, n) in new if t in WORKLOADS and n == f"{key}-server"]
    if not workloads:
        return
    before, after = _serves_https(old.get(workloads[0])), _serves_https(new.get(workloads[0]))
    if before is None or before == after:
        return
    model = cfg.models.get(key)
    minutes = _restart_minutes(model, cfg) * max(1, model.replicas.max) if model else 10
    impact.models[key].append(
        f"requests fail for up to {minutes} min: the gateway {'starts' if after else 'stops'} verifying TLS to "
        f"{key} (its BackendTLSPolicy) as soon as it is applied, while each replica still serves "
        f"{'plain HTTP' if after else 'HTTPS'} until it restarts; turn gateway.upstreamTls on in a maintenance window")


def _rule_identity(rule: dict[str, Any]) -> str:
    return json.dumps({"clientSelectors": rule.get("clientSelectors"), "unit": (rule.get("limit") or {}).get("unit")},
                      sort_keys=True)


def _reserves(rule: dict[str, Any]) -> bool:
    """A reservation: charged when the request arrives, nothing charged from the response."""
    cost = rule.get("cost") or {}
    return "response" not in cost and ((cost.get("request") or {}).get("number") or 0) > 0


def _global_rules(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return ((((resource["inputs"].get("spec") or {}).get("rateLimit") or {}).get("global") or {}).get("rules") or [])


def _moved_counters(old: dict, new: dict) -> list[tuple[bool, str]]:
    """(is a reservation, what moved) for each rule whose position changed."""
    found = []
    for (type_, name), resource in new.items():
        if type_ != TRAFFIC_POLICY or (type_, name) not in old:
            continue
        rules = _global_rules(old[(type_, name)])
        before, after = [_rule_identity(r) for r in rules], [_rule_identity(r) for r in _global_rules(resource)]
        for index, identity in enumerate(before):
            if identity in after and after.index(identity) != index:
                selectors = json.loads(identity)["clientSelectors"]
                where = (f"{name}: the rule {json.dumps(selectors, sort_keys=True)} moves from position {index} to "
                         f"{after.index(identity)}")
                if _reserves(rules[index]):
                    unit = ((rules[index].get("limit") or {}).get("unit") or "window").lower()
                    found.append((True, f"{where}: its reservations restart, so its callers may start one more "
                                        f"{unit}'s generations"))
                else:
                    found.append((False, f"{where}: its counters restart (a monthly quota's month-to-date use)"))
    return found


def render(impact: Impact) -> str:
    lines = ["", "Effect on running service:"]
    lines += [f"  {effect.kind:9} {effect.name}: {effect.detail}" for effect in impact.effects if effect.kind != "created"]
    lines += [f"  = {line}" for line in impact.summary()]
    return "\n".join(lines) + "\n"
