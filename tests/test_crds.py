"""Custom resources against the CRDs of the pinned charts (and the Supervisor's), as the API server would."""

from __future__ import annotations

import copy

import pytest

from offline.checks import crds
from offline.checks.preview import supervisor_crds
from offline.render import manifest
from offline.run import evaluate, stack_config
from tests.conftest import STACKS


def _documents(evaluation):
    return [manifest(r) for r in evaluation.graph.kubernetes_objects()]


def _find(evaluation, kind, name=None):
    return copy.deepcopy(next(d for d in _documents(evaluation)
                              if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)))


@pytest.fixture(scope="module")
def schemas(chart_checks, chart_tools):
    """Every CRD the prod charts install, plus the Supervisor's from the artifacts directory."""
    documents = supervisor_crds(chart_tools[0])
    for release in chart_checks["prod"].releases:
        documents += [o for o in release.objects if (o.get("apiVersion"), o.get("kind")) == crds.CRD]
    return crds.schemas_from(documents)


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_validates_against_the_crd_of_its_pinned_chart(stack, chart_checks):
    report = chart_checks[stack].crd_report
    assert report.errors == []
    assert report.unvalidated == [], "every custom resource kind comes with a CRD from a pinned chart or the Supervisor"
    assert report.validated >= (50 if stack.startswith("prod") else 35)


def test_the_program_and_chart_kinds_all_have_schemas(schemas):
    for kind in ("ScaledObject", "ServiceMonitor", "PrometheusRule", "HTTPRouteFilter", "ClusterPolicy",
                 "Cluster", "BackupStorageLocation", "Schedule", "EnvoyProxy"):
        assert any(k == kind for _, k in schemas), kind


def _errors(document, schemas):
    return [(e.path, e.reason) for e in crds.validate(document, schemas)]


def test_misspelt_scale_target_field_is_rejected(prod, schemas):
    scaler = _find(prod, "ScaledObject")
    scaler["spec"]["scaleTargetRef"]["nam"] = scaler["spec"]["scaleTargetRef"].pop("name")
    errors = _errors(scaler, schemas)
    assert ("spec.scaleTargetRef.nam", "unknown field") in errors
    assert ("spec.scaleTargetRef.name", "required field is missing") in errors


def test_misspelt_schedule_field_is_rejected(prod, schemas):
    schedule = _find(prod, "Schedule", "platform-frequent")
    schedule["spec"]["template"]["includedNamespace"] = schedule["spec"]["template"].pop("includedNamespaces")
    assert ("spec.template.includedNamespace", "unknown field") in _errors(schedule, schemas)


def test_rule_without_expr_is_rejected(prod, schemas):
    rule = _find(prod, "PrometheusRule")
    del rule["spec"]["groups"][1]["rules"][0]["expr"]
    assert ("spec.groups[1].rules[0].expr", "required field is missing") in _errors(rule, schemas)


def test_types_enums_and_int_or_string(prod, schemas):
    monitor = _find(prod, "ServiceMonitor")
    endpoint = monitor["spec"]["endpoints"][0]
    endpoint["targetPort"] = 8000
    assert _errors(monitor, schemas) == []
    endpoint["targetPort"] = "http"
    assert _errors(monitor, schemas) == []
    endpoint["targetPort"] = 8000.5
    assert any(path == "spec.endpoints[0].targetPort" for path, _ in _errors(monitor, schemas))
    location = _find(prod, "BackupStorageLocation")
    location["spec"]["accessMode"] = "WriteOnly"
    assert any("is not one of" in reason for _, reason in _errors(location, schemas))
    scaler = _find(prod, "ScaledObject")
    scaler["spec"]["minReplicaCount"] = "1"
    assert ("spec.minReplicaCount", "must be of type integer, not str") in _errors(scaler, schemas)


def test_preserved_unknown_fields_are_accepted(prod, schemas):
    cluster = _find(prod, "Cluster")
    # Cluster API variable values are free-form JSON.
    cluster["spec"]["topology"]["variables"][0]["value"] = {"anything": ["goes"]}
    assert _errors(cluster, schemas) == []


def test_a_field_the_pinned_crd_does_not_know_is_an_error(prod, schemas):
    """The GPU Operator of v25.3 read no licensingConfig.secretName: its CRD would have dropped it."""
    release = prod.graph.named("primary-gpu-operator", "kubernetes:helm.sh/v3:Release")
    assert release.inputs["values"]["driver"]["licensingConfig"]["secretName"] == "licensing-config"
    key = ("nvidia.com/v1", "ClusterPolicy")
    schema = schemas[key]
    licensing = schema["properties"]["spec"]["properties"]["driver"]["properties"]["licensingConfig"]
    assert "secretName" in licensing["properties"], "the pinned chart's ClusterPolicy CRD carries secretName"
    document = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "probe"},
                "spec": {"driver": {"licensingConfig": {"secretNme": "x"}}}}
    assert ("spec.driver.licensingConfig.secretNme", "unknown field") in _errors(document, schemas)


def test_tanzu_kubernetes_cluster_is_listed_as_unvalidated(schemas):
    raw = stack_config("dev")
    raw["tanzu"]["clusterApi"] = "tkc"
    report = crds.check(_documents(evaluate("dev", raw)), schemas)
    assert "run.tanzu.vmware.com/v1alpha3/TanzuKubernetesCluster" in report.unvalidated
    assert report.errors == []
