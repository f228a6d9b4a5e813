"""GpuHostPool and TanzuCluster: the vSphere objects, the workload cluster and its add-ons."""

from __future__ import annotations

import re

import pytest

from components import versions
from offline.record import Secret
from offline.run import evaluate, stack_config

VM_CLASS = "vsphere:index/virtualMachineClass:VirtualMachineClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"


def _gpu_pool(cluster_spec):
    return next(md for md in cluster_spec["topology"]["workers"]["machineDeployments"] if md["name"] == "gpu")


def _override(pool, name):
    return next(o["value"] for o in pool["variables"]["overrides"] if o["name"] == name)


def test_prod_gpu_class_carries_the_vgpu_profile_with_full_memory_reservation(prod):
    gpu_class = prod.graph.named("primary-gpu-class", VM_CLASS)
    assert gpu_class.inputs["vgpuDevices"] == ["grid_a100-80c"]
    assert gpu_class.inputs["memoryReservation"] == 100
    assert gpu_class.inputs["cpus"] == 16 and gpu_class.inputs["memory"] == 128 * 1024
    system_class = prod.graph.named("primary-system-class", VM_CLASS)
    assert "vgpuDevices" not in system_class.inputs


def test_prod_cluster_has_three_control_plane_nodes_and_a_gpu_pool_on_the_vgpu_class(prod):
    cluster = prod.graph.named("primary-cluster")
    assert cluster.type == "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"
    spec = cluster.inputs["spec"]
    assert spec["topology"]["controlPlane"]["replicas"] == 3
    assert spec["topology"]["version"] == "v1.32.0---vmware.6-fips-vkr.2"
    gpu = _gpu_pool(spec)
    assert gpu["replicas"] == 4
    assert _override(gpu, "vmClass") == prod.graph.named("primary-gpu-class").inputs["name"]
    assert gpu["metadata"]["annotations"]["run.tanzu.vmware.com/resolve-os-image"] == "os-name=ubuntu"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in _override(gpu, "nodePoolTaints")
    mounts = {v["mountPath"]: v["capacity"]["storage"] for v in _override(gpu, "nodePoolVolumes")}
    assert mounts == {"/var/lib/containerd": "200Gi", "/var/lib/kubelet": "70Gi"}


def test_dev_cluster_is_a_single_gpu_pilot(dev):
    spec = dev.graph.named("primary-cluster").inputs["spec"]
    assert spec["topology"]["controlPlane"]["replicas"] == 1
    assert _gpu_pool(spec)["replicas"] == 1


def test_cluster_uses_the_encryption_policy_as_storage_class(prod):
    variables = {v["name"]: v["value"] for v in prod.graph.named("primary-cluster").inputs["spec"]["topology"]["variables"]}
    assert variables["storageClass"] == variables["defaultStorageClass"] == "llm-encrypted-a"


def test_vsphere_namespace_binds_the_policy_and_classes_on_the_supervisor(prod):
    namespace = prod.graph.named("primary-vsphere-namespace")
    assert namespace.inputs["supervisor"] == "domain-c2010"
    assert namespace.inputs["name"] == "llm-platform-prod"
    policy_lookup = next(i for i in prod.invokes if i.token.endswith("getPolicy") and i.args["name"] == "llm-encrypted-a")
    assert policy_lookup
    assert len(namespace.inputs["storagePolicies"]) == 1 and re.match(r"^[0-9a-f-]{36}$", namespace.inputs["storagePolicies"][0])
    classes = namespace.inputs["vmServices"][0]["vmClasses"]
    assert prod.graph.named("primary-gpu-class").inputs["name"] in classes
    assert prod.graph.named("primary-cluster").urn not in namespace.options["dependencies"]
    assert namespace.urn in prod.graph.named("primary-cluster").options["dependencies"]


@pytest.mark.parametrize(("release", "chart"), [("primary-gpu-operator", versions.GPU_OPERATOR),
                                                ("primary-keda", versions.KEDA)])
def test_add_on_releases_are_pinned_and_pulled_from_the_registry_mirror(prod, release, chart):
    record = prod.graph.named(release, RELEASE)
    digest = stack_config("prod")["tanzu"]["registry"]["chartDigests"][chart.name]
    assert record.inputs["chart"] == f"oci://harbor-a.hospital.example/charts/{chart.name}@{digest}"
    assert record.inputs["version"] == chart.version
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", record.inputs["version"]), "a chart version must be exact"
    assert "repositoryOpts" not in record.inputs, "an air-gapped site reaches no chart repository"


def test_gpu_operator_uses_the_private_vgpu_driver_with_nls_licensing(prod):
    values = prod.graph.named("primary-gpu-operator", RELEASE).inputs["values"]
    driver = values["driver"]
    assert driver["repository"] == "harbor-a.hospital.example/nvaie"
    assert driver["licensingConfig"] == {"secretName": "licensing-config", "nlsEnabled": True}
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    assert values["vgpuManager"]["enabled"] is False and values["migManager"]["enabled"] is False
    licensing = prod.graph.named("primary-nls-licensing")
    assert isinstance(licensing.inputs["stringData"], Secret)
    assert licensing.urn in prod.graph.named("primary-gpu-operator").options["dependencies"]


def _labels(record):
    return record.inputs["metadata"]["labels"]


def test_workload_namespaces_enforce_restricted_in_every_mode(prod):
    for name in ("primary-ns-serving", "primary-ns-monitoring", "primary-ns-keda"):
        labels = _labels(prod.graph.named(name, NAMESPACE))
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", name
            assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.32", name


def test_only_the_gpu_operator_and_log_shipper_namespaces_are_privileged_and_say_why(evaluations):
    for evaluation in evaluations.values():
        privileged = [
            r for r in evaluation.graph.of_type(NAMESPACE)
            if "privileged" in {_labels(r).get(f"pod-security.kubernetes.io/{m}") for m in ("enforce", "audit", "warn")}
        ]
        expected = {"gpu-operator", "logging"} if evaluation.stack.startswith("prod") else {"gpu-operator"}
        assert {r.inputs["metadata"]["name"] for r in privileged} == expected
        for record in privileged:
            reason = record.inputs["metadata"]["annotations"]["onprem-llm.io/pod-security-exception"]
            assert "hostPath" in reason or "kernel modules" in reason


def test_host_alarms_watch_connection_and_health_and_mail_the_configured_address(prod, dev):
    alarms = [r for r in prod.graph.of_type("vsphere:index/alarm:Alarm") if r.name.startswith("primary-")]
    paths = {a.inputs["stateExpressions"][0]["statePath"] for a in alarms}
    assert paths == {"runtime.connectionState", "overallStatus"}
    for alarm in alarms:
        assert alarm.inputs["entityType"] == "ClusterComputeResource"
        assert alarm.inputs["emailActions"][0]["to"] == "vsphere-oncall@hospital.example"
    assert all(not a.inputs.get("emailActions") for a in dev.graph.of_type("vsphere:index/alarm:Alarm"))


def test_gpu_resource_pool_is_tagged_as_platform_owned(prod):
    pool = prod.graph.named("primary-gpu", "vsphere:index/resourcePool:ResourcePool")
    tag = prod.graph.named("primary-tag-llm-platform")
    assert pool.inputs["tags"] == [tag.id]
    assert pool.inputs["parentResourcePoolId"].startswith("resgroup-")


def test_node_pools_are_exported(prod):
    gpu = next(p for p in prod.outputs["nodePools"] if p["name"] == "gpu")
    assert gpu == {"name": "gpu", "replicas": 4, "gpusPerNode": 1, "gpuMode": "vgpu", "vgpuProfile": "grid_a100-80c"}


@pytest.fixture(scope="module")
def passthrough(request):
    raw = stack_config("dev")
    raw["gpuPool"] = {**raw["gpuPool"], "mode": "passthrough", "existingVmClass": "a100-passthrough-16cpu-128gb"}
    del raw["gpuPool"]["vgpuProfile"]
    return evaluate("dev", raw)


def test_passthrough_uses_the_admin_made_class_and_the_public_driver_path(passthrough, dev):
    assert [r.name for r in passthrough.graph.of_type(VM_CLASS)] == ["primary-system-class"]
    gpu = _gpu_pool(passthrough.graph.named("primary-cluster").inputs["spec"])
    assert _override(gpu, "vmClass") == "a100-passthrough-16cpu-128gb"
    values = passthrough.graph.named("primary-gpu-operator", RELEASE).inputs["values"]
    assert "licensingConfig" not in values["driver"]
    assert values["migManager"]["enabled"] is True
    with pytest.raises(KeyError):
        passthrough.graph.named("primary-nls-licensing")
    assert dev.graph.named("primary-nls-licensing")


def test_tkc_switch_renders_a_tanzu_kubernetes_cluster(raw_config):
    raw = raw_config("prod")
    raw["tanzu"]["clusterApi"] = "tkc"
    cluster = evaluate("prod", raw).graph.named("primary-cluster")
    assert cluster.type == "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster"
    topology = cluster.inputs["spec"]["topology"]
    assert topology["controlPlane"]["replicas"] == 3
    gpu = next(p for p in topology["nodePools"] if p["name"] == "gpu")
    assert gpu["vmClass"] == "llm-gpu-grid-a100-80c-1x-16cpu-128gb"
    assert gpu["tkr"]["reference"]["name"] == "v1.32.0---vmware.6-fips-vkr.2"
    assert cluster.inputs["metadata"]["annotations"]["run.tanzu.vmware.com/resolve-os-image"] == "os-name=ubuntu"


def test_supervisor_and_workload_providers_have_stable_cluster_identifiers(prod, standby):
    """Without one, a changed kubeconfig (re-login, IP for FQDN, new CA) replaces everything on the provider."""
    def identifiers(evaluation):
        return {r.name: r.inputs.get("clusterIdentifier") for r in evaluation.graph.of_type("pulumi:providers:kubernetes")}

    assert identifiers(prod) == {
        "primary-supervisor": "supervisor/domain-c2010/llm-platform-prod",
        "primary-workload": "llm-platform-prod/llm-prod",
    }
    assert identifiers(standby) == {
        "standby-supervisor": "supervisor/domain-c3012/llm-platform-dr",
        "standby-workload": "llm-platform-dr/llm-dr",
    }


def test_workload_clusters_are_protected(evaluations):
    for evaluation in evaluations.values():
        for cluster in evaluation.graph.of_type("kubernetes:cluster.x-k8s.io/v1beta1:Cluster"):
            assert cluster.options["protect"] is True, cluster.urn
