"""A simulated `pulumi up` of a new stack: the engine's order, the API each step needs, and its waits.

The engine starts each step as soon as every resource it depends on is done, and runs the rest in
parallel; a resource without an edge to the Release that installs its CRD may well be created first.
So each step here is checked against what its cluster is certain to serve when it starts: the
built-in APIs of the stack's Kubernetes version, the kinds the vSphere Supervisor serves (on
Supervisor providers), and the CRDs of every Release in its dependency closure on the same
cluster. A kind outside that set fails as the provider fails after its short retries ("no matches
for kind"). Charts are held to the same rule for the objects they render.

Each step that pulumi-kubernetes waits on (workloads until Ready, Jobs until complete, PVCs until
bound, objects with `pulumi.com/waitFor`, Releases until installed) is compared with its timeout:
``customTimeouts`` or the provider's default, a Release's ``timeout``. How long the work takes is
estimated from the ``waits`` config and from the objects themselves (a startup probe's budget, the
weights volume's size). A wait its timeout cannot cover
fails as the provider's would. The step durations also give the first `up`'s critical path.

What a wait covers is what the provider checks, not the work behind it (../shared/reference/day2.md):
a Cluster API `Cluster`'s Ready summarises the control plane and the infrastructure, not the workers;
a Release ends with its chart's own pods, not what an operator starts later (the GPU Operator's driver
DaemonSets); a Service is ready once it has its cluster IP, whether or not any endpoint is. So a GPU
workload's own wait must cover a worker VM still being built and its driver being installed.

Sources: pulumi-kubernetes' await logic (PVCs wait to be bound, or pending with WaitForFirstConsumer;
the 10- and 5-minute defaults) and its create retries; ../shared/reference/pulumi-engine.md and day2.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from components.config.model import PlatformConfig
from components.planning import waits
from offline.charts.render import RenderedRelease, dependency_closure
from offline.checks import schemas
from offline.checks.crds import is_custom
from offline.graph import HELM_RELEASE, ResourceGraph
from offline.record import Record
from offline.render import cluster_of

SUPERVISOR_KINDS = {
    ("cluster.x-k8s.io/v1beta1", "Cluster"), ("cluster.x-k8s.io/v1beta2", "Cluster"),
    ("run.tanzu.vmware.com/v1alpha3", "TanzuKubernetesCluster"),
    ("vmoperator.vmware.com/v1alpha2", "VirtualMachineClass"), ("vmoperator.vmware.com/v1alpha3", "VirtualMachineClass"),
}
"""Kinds a vSphere 8 Supervisor serves to its namespaces (Cluster API, TKG, VM Operator)."""
SUPERVISOR_IDENTIFIER = "supervisor/"
"""Prefix of the clusterIdentifier the program gives every Supervisor provider."""

DEFAULT_TIMEOUTS = {"Deployment": 600, "StatefulSet": 600, "DaemonSet": 600, "ReplicaSet": 600, "Job": 600,
                    "Pod": 600, "Service": 600, "Ingress": 600, "PersistentVolumeClaim": 300}
"""pulumi-kubernetes' create timeouts, seconds, where a resource sets no customTimeouts."""
WAIT_FOR_DEFAULT = 600
RELEASE_DEFAULT = 300
QUICK = 5.0
"""Seconds a step without a readiness wait takes (an API call)."""


@dataclass(frozen=True)
class Step:
    record: Record
    start: float
    """Seconds after `pulumi up` began (estimated)."""
    after: str | None
    """URN of the dependency that finished last, which this step waited for."""
    duration: float
    timeout: float | None
    """The wait's limit; None when the provider does not wait."""
    why: str = ""
    """What the estimate is made of."""

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass
class UpResult:
    steps: list[Step] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return max((s.end for s in self.steps), default=0.0)

    def critical_path(self) -> list[Step]:
        """The chain of steps that ends last, first step first."""
        by_urn = {s.record.urn: s for s in self.steps}
        path, step = [], max(self.steps, key=lambda s: s.end, default=None)
        while step is not None:
            path.append(step)
            step = by_urn.get(step.after) if step.after else None
        return list(reversed(path))


def parse_duration(text: str) -> float | None:
    """Seconds in a Go duration ("45m", "1h30m", "300s"); None when empty."""
    if not text:
        return None
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def _kind(record: Record) -> tuple[str, str]:
    return str(record.inputs.get("apiVersion", "")), str(record.inputs.get("kind", ""))


def _label(record: Record) -> str:
    metadata = record.inputs.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{record.type} {record.name} ({where}{metadata.get('name', record.name)})"


def _is_supervisor(provider: Record | None) -> bool:
    return bool(provider) and str(provider.inputs.get("clusterIdentifier", "")).startswith(SUPERVISOR_IDENTIFIER)


class _Estimates:
    """How long each waited-on step takes, from the waits config and the objects themselves."""

    def __init__(self, graph: ResourceGraph, cfg: PlatformConfig):
        self.graph, self.waits = graph, cfg.waits
        self.claims = {(self._namespace(r), (r.inputs.get("metadata") or {}).get("name")): r
                       for r in graph if r.type == "kubernetes:core/v1:PersistentVolumeClaim"}

    @staticmethod
    def _namespace(record: Record) -> str:
        return (record.inputs.get("metadata") or {}).get("namespace", "")

    @staticmethod
    def _pod(record: Record) -> dict[str, Any]:
        return ((record.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}

    def _size_gib(self, record: Record, pod: dict[str, Any]) -> float:
        """The weights volume a pod stages into: its claim template, or the PVC it mounts."""
        for template in (record.inputs.get("spec") or {}).get("volumeClaimTemplates") or []:
            return _gib(((template.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage"))
        for volume in pod.get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            pvc = self.claims.get((self._namespace(record), claim))
            if pvc is not None:
                return _gib(((pvc.inputs.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage"))
        return 0.0

    def workload(self, record: Record) -> tuple[float, str]:
        pod = self._pod(record)
        containers = pod.get("containers") or []
        probe = next((c["startupProbe"] for c in containers if c.get("startupProbe")), None)
        gpus = any("nvidia.com/gpu" in ((c.get("resources") or {}).get("limits") or {}) for c in containers)
        if probe is None and not gpus:
            return self.waits.chart_install_seconds, "pods pulled and Ready"
        budget = probe["failureThreshold"] * probe.get("periodSeconds", 10) if probe else 0
        staged = bool(pod.get("initContainers"))
        size = self._size_gib(record, pod) if staged else 0.0
        seconds = waits.replica_start_seconds(budget, self.waits, staged_in_pod=staged, size_gib=size, new_node=gpus)
        parts = [f"image pull {self.waits.image_pull_seconds}s", f"start-up budget {budget}s"]
        if gpus:
            parts[:0] = [f"GPU worker VM {self.waits.cluster_node_seconds}s (not covered by the Cluster's Ready)",
                         f"driver install {self.waits.driver_install_seconds}s (not covered by the GPU Operator's "
                         "Release)"]
        if staged:
            parts.append(f"weights {size:g} GiB at {self.waits.weights_download_mib_per_second:g} MiB/s")
        return seconds, " + ".join(parts)

    def job(self, record: Record) -> tuple[float, str]:
        pod = ((record.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
        size = self._size_gib(record, pod)
        seconds = self.waits.image_pull_seconds + waits.download_seconds(size, self.waits)
        return seconds, f"image pull {self.waits.image_pull_seconds}s + weights {size:g} GiB"

    def release(self, record: Record) -> tuple[float, str]:
        # Every Release, the GPU Operator's included, ends with its chart's own pods Ready.
        return self.waits.chart_install_seconds, "chart pods pulled and Ready (not what its operator starts later)"

    def cluster(self, record: Record) -> tuple[float, str]:
        topology = (record.inputs.get("spec") or {}).get("topology") or {}
        control_plane = int((topology.get("controlPlane") or {}).get("replicas", 1))
        return (control_plane * self.waits.cluster_node_seconds,
                f"{control_plane} control-plane node(s) one by one, {self.waits.cluster_node_seconds}s each (Ready "
                "covers no worker)")


def _gib(quantity: Any) -> float:
    text = str(quantity or "0")
    for suffix, factor in (("Ti", 1024), ("Gi", 1), ("Mi", 1 / 1024)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / 2**30 if text.replace(".", "").isdigit() else 0.0


def _wait(record: Record, estimates: _Estimates) -> tuple[float | None, tuple[float, str] | None]:
    """(timeout, (estimate, why)) of the step's readiness wait; (None, None) when the provider does not wait."""
    custom = parse_duration(((record.options.get("customTimeouts") or {}).get("create")) or "")
    if record.type == HELM_RELEASE:
        return float(record.inputs.get("timeout") or RELEASE_DEFAULT), estimates.release(record)
    api_version, kind = _kind(record)
    annotations = (record.inputs.get("metadata") or {}).get("annotations") or {}
    if annotations.get("pulumi.com/skipAwait") == "true":
        return None, None
    if "pulumi.com/waitFor" in annotations:
        return custom or WAIT_FOR_DEFAULT, estimates.cluster(record) if kind in ("Cluster", "TanzuKubernetesCluster") \
            else (QUICK, "condition set by its controller")
    if is_custom({"apiVersion": api_version}) or kind not in DEFAULT_TIMEOUTS:
        return None, None
    timeout = custom or DEFAULT_TIMEOUTS[kind]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"):
        return timeout, estimates.workload(record)
    if kind == "Job":
        return timeout, estimates.job(record)
    if kind == "Service":
        # Ready once it has its cluster IP, whether or not any endpoint is.
        return timeout, (QUICK, "cluster IP assigned (endpoints are not waited for)")
    return timeout, (QUICK, "bound by its storage class")


def simulate(graph: ResourceGraph, releases: list[RenderedRelease] | None, cfg: PlatformConfig) -> UpResult:
    """Every step of a first `pulumi up` in the engine's order, with what fails and why.

    ``releases`` are the rendered charts; None when they could not be rendered (no artifacts
    directory), and then which custom kinds the charts install is unknown and not judged.
    """
    result = UpResult()
    if releases is None:
        result.skipped.append("custom resources against the CRDs their Releases install: the charts were not rendered")
    minor = cfg.tanzu.kubernetes_version
    closure = dependency_closure(graph)
    rendered = {r.record.urn: r for r in releases or ()}
    estimates = _Estimates(graph, cfg)
    providers = {r.urn: r for r in graph if r.type.startswith("pulumi:providers:")}
    ends: dict[str, float] = {}
    for record in graph.topological_order():
        before = max((u for u in graph.depends_on(record) if u in ends), key=lambda u: ends[u], default=None)
        start = ends[before] if before else 0.0
        if record.type.startswith("kubernetes:") and not record.read and (releases is not None or _builtin(record)):
            result.failures += _api_problems(record, graph, closure, rendered, providers, minor)
        timeout, estimate = _wait(record, estimates) if record.custom and not record.read else (None, None)
        duration, why = estimate if estimate else (QUICK if record.custom else 0.0, "")
        if timeout is not None and estimate is not None and duration > timeout:
            result.failures.append(
                f"{_label(record)}: the provider would time out after {timeout / 60:g} min waiting for it to be ready; "
                f"the work takes about {duration / 60:.0f} min ({why}); raise its timeout (waits config) or its "
                "customTimeouts")
        ends[record.urn] = start + duration
        result.steps.append(Step(record, start, before, duration, timeout, why))
    return result


def _builtin(record: Record) -> bool:
    return record.type != HELM_RELEASE and not is_custom({"apiVersion": _kind(record)[0]})


def _served(record: Record, graph: ResourceGraph, closure: dict[str, set[str]], rendered: dict[str, RenderedRelease],
            providers: dict[str, Record], minor: str, api_version: str, kind: str) -> bool:
    if not is_custom({"apiVersion": api_version}):
        return schemas.served(minor, api_version, kind)
    if _is_supervisor(providers.get(record.provider_urn)) and (api_version, kind) in SUPERVISOR_KINDS:
        return True
    cluster = cluster_of(record)
    return any((api_version, kind) in rendered[urn].installs()
               for urn in closure.get(record.urn, ()) if urn in rendered and rendered[urn].cluster == cluster)


def _api_problems(record: Record, graph: ResourceGraph, closure: dict[str, set[str]],
                  rendered: dict[str, RenderedRelease], providers: dict[str, Record], minor: str) -> list[str]:
    if record.type == HELM_RELEASE:
        release = rendered.get(record.urn)
        if release is None:
            return []
        own = release.installs()
        problems = []
        for obj in release.objects:
            api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
            if (api_version, kind) in own or _served(record, graph, closure, rendered, providers, minor, api_version, kind):
                continue
            name = (obj.get("metadata") or {}).get("name", "?")
            problems.append(f"{_label(record)}: the chart renders {kind} {name} ({api_version}), which the cluster "
                            "does not serve when the release installs; helm would fail with \"no matches for kind\"")
        return problems
    api_version, kind = _kind(record)
    if not kind or _served(record, graph, closure, rendered, providers, minor, api_version, kind):
        return []
    return [f"{_label(record)}: creation failed because the Kubernetes API server reported that the apiVersion for "
            f"this resource does not exist: no matches for kind \"{kind}\" in version \"{api_version}\"; "
            "make it depend on the Release that installs its CRD"]


def table(result: UpResult) -> str:
    """The first `up` as the preview prints it: the estimated duration, the critical path, the failures."""
    lines = [f"Simulated first `pulumi up`: {len(result.steps)} steps, about {result.seconds / 60:.0f} min "
             f"end to end (estimates from the waits config), {len(result.failures)} failure(s)"]
    path = [s for s in result.critical_path() if s.duration > QUICK]
    if path:
        lines.append("  longest chain: " + " -> ".join(f"{s.record.name} ({s.duration / 60:.0f} min)" for s in path))
    lines += [f"  failure: {failure}" for failure in result.failures]
    lines += [f"  skipped: {reason}" for reason in result.skipped]
    return "\n".join(lines) + "\n"
