"""Timeouts derived from the waits section: the arithmetic, and where the program applies it."""

from __future__ import annotations

import pytest

from components.config import ConfigError, parse_config
from components.config.model import SECRET_KEYS, WaitsConfig
from components.planning import waits
from offline.run import evaluate

DEFAULTS = WaitsConfig()
FAST = WaitsConfig(image_pull_seconds=60, driver_install_seconds=120, cluster_node_seconds=300,
                   chart_install_seconds=120, weights_download_mib_per_second=100, safety_factor=1)


def test_duration_rounds_up_to_whole_minutes():
    assert waits.duration(60) == "1m"
    assert waits.duration(61) == "2m"
    assert waits.duration(5400) == "90m"


def test_cluster_builds_control_plane_nodes_one_at_a_time_then_the_workers():
    assert waits.cluster_create_seconds(3, 6, FAST) == (3 + 1) * 300
    assert waits.cluster_create_seconds(1, 0, FAST) == 300
    assert waits.cluster_update_seconds(3, 6, FAST) == 9 * 300


def test_every_estimate_is_padded_by_the_safety_factor():
    padded = WaitsConfig(**{**FAST.model_dump(), "safety_factor": 2})
    assert waits.release_seconds(padded) == 2 * waits.release_seconds(FAST) == 240
    assert waits.gpu_operator_release_seconds(FAST) == 60 + 120


def test_download_takes_size_over_throughput():
    assert waits.download_seconds(40, FAST) == pytest.approx(40 * 1024 / 100)
    assert waits.download_job_seconds(40, FAST) == 60 + 410


def test_a_replica_waits_for_its_worker_driver_pull_staging_and_load():
    """Nothing else waits for the GPU workers or the driver: the Cluster's Ready and the GPU Operator's Release
    end before either exists, so a new workload's wait covers them (worker VM 300 s, driver 120 s)."""
    assert waits.workload_create_seconds(1200, FAST) == 300 + 120 + 60 + 1200
    assert waits.workload_create_seconds(1200, FAST, staged_in_pod=True, size_gib=40) == 300 + 120 + 60 + 410 + 1200
    # A rolling update replaces replicas one by one on nodes that already have the driver.
    assert waits.workload_update_seconds(1200, 3, FAST) == 3 * (60 + 1200)
    assert waits.progress_deadline_seconds(1200, FAST) == 300 + 120 + 60 + 1200


def test_default_vllm_wait_covers_the_allowed_start_up_and_more_than_the_provider_default():
    """The issue: 10 minutes of waiting for a replica allowed 20 minutes to start, plus pull and driver."""
    startup = 1200
    work = startup + DEFAULTS.image_pull_seconds + DEFAULTS.driver_install_seconds
    assert waits.workload_create_seconds(startup, DEFAULTS) > work
    assert waits.cluster_create_seconds(3, 6, DEFAULTS) > 600


def test_waits_section_is_validated():
    raw = {"waits": {"safetyFactor": 0.5, "imagePullSeconds": 5}}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    assert "waits.safetyFactor: 0.5" in str(caught.value)
    assert "waits.imagePullSeconds: 5" in str(caught.value)


def _minutes(text: str) -> int:
    return int(text.removesuffix("m"))


def test_prod_timeouts_come_from_the_estimates(prod, dev, raw_config):
    cluster = prod.graph.named("primary-cluster")
    assert cluster.options["protect"] is True
    assert cluster.options["customTimeouts"]["create"] == waits.duration(waits.cluster_create_seconds(3, 6, DEFAULTS))
    server = prod.graph.named("llama-2-7b-chat-server")
    assert server.options["customTimeouts"]["create"] == waits.duration(waits.workload_create_seconds(1200, DEFAULTS))
    assert server.inputs["spec"]["progressDeadlineSeconds"] == waits.progress_deadline_seconds(1200, DEFAULTS)
    job = prod.graph.named("llama-2-7b-chat-download")
    assert job.inputs["spec"]["activeDeadlineSeconds"] == waits.download_job_seconds(40, DEFAULTS)
    assert _minutes(job.options["customTimeouts"]["create"]) * 60 >= job.inputs["spec"]["activeDeadlineSeconds"]
    # Weights staged by each pod (dev's ReadWriteOnce volumes): the wait covers the download too.
    staged = dev.graph.named("llama-2-7b-chat-server")
    assert staged.options["customTimeouts"]["create"] == waits.duration(
        waits.workload_create_seconds(1200, DEFAULTS, staged_in_pod=True, size_gib=40))
    releases = prod.graph.of_type("kubernetes:helm.sh/v3:Release")
    assert len(releases) == 8
    for release in releases:
        expected = waits.gpu_operator_release_seconds(DEFAULTS) if release.name.endswith("gpu-operator") \
            else waits.release_seconds(DEFAULTS)
        assert release.inputs["timeout"] == expected, release.urn


def test_changing_the_estimates_changes_the_timeouts(raw_config):
    raw = raw_config("dev")
    raw["waits"] = {"clusterNodeSeconds": 1200, "chartInstallSeconds": 60, "safetyFactor": 1}
    evaluation = evaluate("dev", raw)
    assert evaluation.graph.named("primary-cluster").options["customTimeouts"]["create"] == "40m"
    assert evaluation.graph.named("primary-keda").inputs["timeout"] == 60
