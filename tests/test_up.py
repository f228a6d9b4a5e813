"""The simulated first `pulumi up`: custom resources never race their CRDs, no wait outlives its timeout."""

from __future__ import annotations

import pytest

from offline.charts.render import RenderedRelease
from offline.graph import HELM_RELEASE
from offline.plan import up
from offline.run import platform_config
from tests.conftest import STACKS, with_changed


def _cfg(stack):
    return platform_config(stack)



@pytest.mark.parametrize("stack", STACKS)
def test_the_first_up_of_each_stack_completes(stack, evaluations, chart_checks):
    result = up.simulate(evaluations[stack].graph, chart_checks[stack].releases, _cfg(stack))
    assert result.failures == []
    assert len(result.steps) == len(evaluations[stack].graph)


def test_a_custom_resource_without_its_release_fails_with_no_matches_for_kind(dev, chart_checks):
    keda = dev.graph.named("primary-keda", HELM_RELEASE).urn

    def forget_keda(record):
        record.options["dependencies"] = [d for d in record.options["dependencies"] if d != keda]

    graph = with_changed(dev.graph, "llama-2-7b-chat-scaler", forget_keda)
    result = up.simulate(graph, chart_checks["dev"].releases, _cfg("dev"))
    assert len(result.failures) == 1
    assert 'no matches for kind "ScaledObject" in version "keda.sh/v1alpha1"' in result.failures[0]
    assert "llama-2-7b-chat-scaler" in result.failures[0]


def test_a_chart_rendering_a_kind_its_cluster_does_not_serve_yet_fails(dev, chart_checks):
    releases = []
    for release in chart_checks["dev"].releases:
        if release.name == "primary-keda":
            monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "keda"}}
            release = RenderedRelease(release.record, release.chart, release.cluster, release.namespace,
                                      release.api_versions, [*release.objects, monitor])
        releases.append(release)
    result = up.simulate(dev.graph, releases, _cfg("dev"))
    assert any("primary-keda" in f and "ServiceMonitor keda" in f and "no matches for kind" in f for f in result.failures)


def test_a_gpu_workload_waits_for_the_worker_and_driver_nothing_else_waits_for(dev, chart_checks):
    """The Cluster's Ready covers no worker and the GPU Operator's Release no driver: the model's own wait must."""
    def default_timeouts(record):
        record.options["customTimeouts"] = {"create": "", "update": "", "delete": ""}

    graph = with_changed(dev.graph, "llama-2-7b-chat-server", default_timeouts)
    result = up.simulate(graph, chart_checks["dev"].releases, _cfg("dev"))
    assert len(result.failures) == 1
    assert "llama-2-7b-chat-server" in result.failures[0] and "time out after 10 min" in result.failures[0]
    assert "GPU worker VM" in result.failures[0] and "driver install" in result.failures[0]


def test_the_cluster_and_the_gpu_operator_release_are_ready_before_the_workers_and_driver(dev, chart_checks):
    result = up.simulate(dev.graph, chart_checks["dev"].releases, _cfg("dev"))
    steps = {s.record.name: s for s in result.steps}
    assert "covers no worker" in steps["primary-cluster"].why
    assert steps["primary-gpu-operator"].why.startswith("chart pods pulled and Ready (not what its operator starts")
    # A Service is ready with its cluster IP, long before the model's pods are.
    assert steps["llama-2-7b-chat-api"].duration < 10 < steps["llama-2-7b-chat-server"].duration / 60


def test_the_clusters_wait_covers_building_three_control_planes(prod, chart_checks):
    def ten_minutes(record):
        record.options["customTimeouts"] = {**record.options["customTimeouts"], "create": "10m"}

    graph = with_changed(prod.graph, "primary-cluster", ten_minutes)
    result = up.simulate(graph, chart_checks["prod"].releases, _cfg("prod"))
    assert any("primary-cluster" in f and "3 control-plane node(s)" in f for f in result.failures)


def test_supervisor_kinds_are_served_only_by_the_supervisor(dev, chart_checks):
    """The Supervisor serves Cluster API; a workload cluster does not (a Cluster created there fails)."""
    def as_a_cluster(record):
        record.inputs = {**record.inputs, "apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Cluster"}

    graph = with_changed(dev.graph, "primary-ns-serving", as_a_cluster)
    result = up.simulate(graph, chart_checks["dev"].releases, _cfg("dev"))
    assert len(result.failures) == 1 and 'no matches for kind "Cluster"' in result.failures[0]
    assert up.simulate(dev.graph, chart_checks["dev"].releases, _cfg("dev")).failures == [], \
        "the same kind on the Supervisor provider is served"


def test_the_longest_chain_starts_with_the_cluster(prod, chart_checks):
    result = up.simulate(prod.graph, chart_checks["prod"].releases, _cfg("prod"))
    path = [s.record.name for s in result.critical_path() if s.duration > up.QUICK]
    assert path[0] == "primary-cluster" and path[-1].endswith("-server")
    assert result.seconds > 3600, "a new site's first up takes more than an hour at the default estimates"


@pytest.mark.parametrize(("text", "seconds"), [("45m", 2700), ("1h30m", 5400), ("300s", 300), ("", None)])
def test_durations_are_read_as_go_writes_them(text, seconds):
    assert up.parse_duration(text) == seconds


def test_a_malformed_duration_is_refused():
    with pytest.raises(ValueError, match="not a duration"):
        up.parse_duration("10 minutes")


def test_without_rendered_charts_the_crd_order_is_skipped_not_passed(dev):
    result = up.simulate(dev.graph, None, _cfg("dev"))
    assert result.failures == [] and result.skipped == [
        "custom resources against the CRDs their Releases install: the charts were not rendered"]
    assert "skipped: custom resources" in up.table(result)
