"""The pack's capability analysis over everything a cluster runs: the program's RBAC and every chart's.

The policy pack sees only the program's own objects; the charts' Roles, bindings and service accounts
exist only once helm renders them. Here the same analysis (policies/hipaa/_capability.py) runs per
cluster over both, with the ``effective-capability`` settings of the stack's pack config: the break-glass
group, the protected namespaces and the recorded exceptions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib.metadata import version as package_version
from typing import Any

from hipaa import _capability
from hipaa.effective_capability import judge

from offline.charts.cache import cached, code_digest, digest


@dataclass
class CapabilityReport:
    problems: list[str] = field(default_factory=list)
    """Each finding no exception covers, one line each."""
    excepted: list[str] = field(default_factory=list)
    """Each finding an exception covers, with the exception's reason."""
    secret_readers: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Per cluster, per protected namespace: every subject that can reach its Secrets, directly or not."""


ANALYSIS_MODULES = ("hipaa._capability", "hipaa.effective_capability", "hipaa._rule", __name__)
"""The code that computes a report: part of its cache key."""


def check(clusters: dict[str, list[dict[str, Any]]], config: dict[str, Any]) -> CapabilityReport:
    """The report, cached by the objects, the settings and the analysis' own code and CEL library: the analysis
    evaluates every admission policy's CEL for every subject and is the preview's largest check."""
    key = digest([code_digest(*ANALYSIS_MODULES), package_version("cel-python"), sorted(clusters.items()), config])
    return CapabilityReport(**cached(key, "capability", lambda: asdict(_analyse(clusters, config))))


def _analyse(clusters: dict[str, list[dict[str, Any]]], config: dict[str, Any]) -> CapabilityReport:
    report = CapabilityReport()
    protected = list(config.get("protectedNamespaces") or [])
    for cluster, objects in sorted(clusters.items()):
        analysis = _capability.Analysis(objects)
        problems, excepted = judge(analysis, config)
        report.problems += [f"{cluster}: {p}" for p in problems]
        report.excepted += [f"{cluster}: {e}" for e in excepted]
        readers: dict[str, list[str]] = {ns: [] for ns in protected}
        for subject in analysis.subjects():
            for namespace in analysis.reach(subject).secret_namespaces(protected):
                readers[namespace].append(str(subject))
        report.secret_readers[cluster] = readers
    return report
