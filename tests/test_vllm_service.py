"""VllmService: arguments, environment, probes, security, storage, autoscaling, isolation, secrets."""

from __future__ import annotations

import json

import pytest

from components.builders import serving_tls
from components.builders.vllm_pod import vllm_args
from components.config import SECRET_KEYS, parse_config
from offline.record import Secret
from offline.run import evaluate, stack_config

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
# Everything the vLLM container may set: variables vLLM, huggingface_hub or the OS actually read.
READ_BY_VLLM = {
    "VLLM_API_KEY", "VLLM_NO_USAGE_STATS", "DO_NOT_TRACK", "HF_HUB_OFFLINE", "HF_HOME",
    "VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT", "HOME", "TMPDIR",
}
PSA_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}


def _workloads(evaluation):
    """The model servers' workloads (the gateway's rate-limit store is a Deployment too)."""
    return [r for r in evaluation.graph.of_type(DEPLOYMENT) + evaluation.graph.of_type(STATEFULSET)
            if "onprem:platform:VllmService" in r.urn]


def _pod(record):
    return record.inputs["spec"]["template"]["spec"]


def _staging(record):
    """The staging container of a Job: its only container, or its init container when a verifier follows it."""
    pod = _pod(record)
    return next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == "stage-weights")


def _vllm(record):
    return next(c for c in _pod(record)["containers"] if c["name"] == "vllm")


@pytest.fixture(scope="module")
def tp2():
    """dev with two GPUs per node, tensor parallel 2 and a TLS Ingress."""
    raw = stack_config("dev")
    raw["gpuPool"]["gpusPerNode"] = 2
    model = raw["models"]["llama-2-7b-chat"]
    model["tensorParallelSize"] = 2
    model["ingress"] = {"host": "llm.hospital.example", "tlsSecret": "llm-tls"}
    return evaluate("dev", raw)


def test_vllm_runs_vllm_serve_with_flags_from_config(prod):
    cfg = parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS])
    container = _vllm(prod.graph.named("llama-2-7b-chat-server"))
    assert "command" not in container, "the image's entrypoint is `vllm serve`; args are appended"
    # prod serves HTTPS (gateway.upstreamTls): the certificate's flags follow the model's own.
    assert container["args"] == vllm_args(cfg.models["llama-2-7b-chat"]) + serving_tls.vllm_args()
    args = container["args"]
    assert args[0] == "/models/meta-llama--Llama-2-7b-chat-hf/f5db02db724555f92da89c216ac04704f23d4590"
    flags = dict(zip(args[1::2], args[2::2], strict=True))
    assert flags["--served-model-name"] == "llama-2-7b-chat"
    assert flags["--tensor-parallel-size"] == "1" and flags["--port"] == "8000"
    assert flags["--max-model-len"] == "4096" and flags["--gpu-memory-utilization"] == "0.9"
    # No maxTokens in prod for this model: a quarter of its context caps each request's max_tokens.
    assert json.loads(flags["--override-generation-config"]) == {"max_new_tokens": 1024}
    mistral = _vllm(prod.graph.named("mistral-7b-instruct-server"))["args"]
    assert json.loads(dict(zip(mistral[1::2], mistral[2::2], strict=True))["--override-generation-config"]) == {
        "max_new_tokens": 1536}
    assert "--api-key" not in args


def test_vllm_container_sets_only_variables_something_reads(evaluations):
    for evaluation in evaluations.values():
        for workload in _workloads(evaluation):
            names = {e["name"] for e in _vllm(workload)["env"]}
            assert names <= READ_BY_VLLM, f"{workload.urn}: {names - READ_BY_VLLM}"
            env = {e["name"]: e.get("value") for e in _vllm(workload)["env"]}
            assert env["VLLM_NO_USAGE_STATS"] == "1" and env["DO_NOT_TRACK"] == "1" and env["HF_HUB_OFFLINE"] == "1"


def test_api_key_comes_from_its_secret_and_never_in_plain_text(prod):
    container = _vllm(prod.graph.named("llama-2-7b-chat-server"))
    key = next(e for e in container["env"] if e["name"] == "VLLM_API_KEY")
    assert key["valueFrom"]["secretKeyRef"] == {"name": "llama-2-7b-chat-api-key", "key": "api-key"}
    assert "value" not in key
    assert isinstance(prod.graph.named("llama-2-7b-chat-api-key", "kubernetes:core/v1:Secret").inputs["stringData"], Secret)


def test_probes_use_health_on_the_api_port_with_a_startup_budget(evaluations):
    for evaluation in evaluations.values():
        for workload in _workloads(evaluation):
            container = _vllm(workload)
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                tls = {"scheme": "HTTPS"} if "--ssl-certfile" in container["args"] else {}
                assert container[probe]["httpGet"] == {"path": "/health", "port": "http", **tls}, probe
                assert "initialDelaySeconds" not in container[probe]
            startup = container["startupProbe"]
            assert startup["periodSeconds"] * startup["failureThreshold"] >= 1200
            assert [p["containerPort"] for p in container["ports"]] == [8000]


def test_pod_meets_pod_security_restricted(evaluations):
    for evaluation in evaluations.values():
        for workload in _workloads(evaluation) + evaluation.graph.of_type("kubernetes:batch/v1:Job"):
            pod = _pod(workload)
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            assert pod["enableServiceLinks"] is False and pod["automountServiceAccountToken"] is False
            for container in pod["containers"] + pod.get("initContainers", []):
                ctx = container["securityContext"]
                assert ctx["allowPrivilegeEscalation"] is False, workload.urn
                assert ctx["capabilities"]["drop"] == ["ALL"]
                assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] > 0
                assert ctx["readOnlyRootFilesystem"] is True
            for volume in pod["volumes"]:
                assert set(volume) - {"name"} <= PSA_VOLUME_TYPES, volume


def test_gpu_placement_and_spread(prod):
    pod = _pod(prod.graph.named("llama-2-7b-chat-server"))
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"


def test_resources_are_guaranteed_and_count_the_shared_memory(prod):
    pod = _pod(prod.graph.named("llama-2-7b-chat-server"))
    resources = _vllm(prod.graph.named("llama-2-7b-chat-server"))["resources"]
    assert resources["requests"] == resources["limits"]
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    shm = next(v for v in pod["volumes"] if v["name"] == "shm")["emptyDir"]
    assert shm == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert resources["limits"]["memory"] == "50Gi"  # 48 GiB + 2 GiB of /dev/shm


def test_tensor_parallel_two_gets_two_gpus_and_a_larger_shm(tp2):
    workload = tp2.graph.named("llama-2-7b-chat-server")
    assert _vllm(workload)["resources"]["limits"]["nvidia.com/gpu"] == "2"
    shm = next(v for v in _pod(workload)["volumes"] if v["name"] == "shm")["emptyDir"]
    assert shm["sizeLimit"] == "8Gi"
    assert "--tensor-parallel-size" in _vllm(workload)["args"]
    assert _vllm(workload)["args"][_vllm(workload)["args"].index("--tensor-parallel-size") + 1] == "2"


def test_scaled_object_targets_the_workload_on_queue_depth(evaluations):
    for evaluation in evaluations.values():
        assert not evaluation.graph.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
        for scaler in evaluation.graph.of_type(SCALED_OBJECT):
            model = scaler.inputs["metadata"]["name"]
            workload = evaluation.graph.named(f"{model}-server")
            target = scaler.inputs["spec"]["scaleTargetRef"]
            expected = {"apiVersion": "apps/v1", "kind": workload.inputs["kind"], "name": workload.inputs["metadata"]["name"]}
            assert target == expected
            assert "replicas" not in workload.inputs["spec"], "KEDA owns the replica count"
            queue = next(t for t in scaler.inputs["spec"]["triggers"] if t["name"] == "queue-depth")
            assert queue["metadata"]["query"].startswith("sum(vllm:num_requests_waiting{")
            assert 'namespace="llm-serving"' in queue["metadata"]["query"]
            assert queue["metricType"] == "AverageValue"
            assert "metricName" not in queue["metadata"]
            spec = scaler.inputs["spec"]
            assert spec["fallback"]["replicas"] == spec["minReplicaCount"] >= 1


def test_prod_scaled_object_bounds_come_from_config(prod):
    spec = prod.graph.named("mistral-7b-instruct-scaler").inputs["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 2)
    query = next(t for t in spec["triggers"] if t["name"] == "queue-depth")["metadata"]["query"]
    assert 'model_name="mistral-7b-instruct"' in query


def test_network_policy_admits_only_the_gateway_proxies_and_prometheus_on_the_api_port(prod):
    policy = prod.graph.named("llama-2-7b-chat-api-ingress").inputs["spec"]
    selector = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "llama-2-7b-chat"}
    assert policy["podSelector"]["matchLabels"] == selector
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    # Consumer namespaces (clinical-notes) get nothing: they call the gateway with their own tokens.
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "api-gateway"}},
         "podSelector": {"matchLabels": {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
                                         "app.kubernetes.io/managed-by": "envoy-gateway",
                                         "gateway.envoyproxy.io/owning-gateway-name": "llm-gateway",
                                         "gateway.envoyproxy.io/owning-gateway-namespace": "api-gateway"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
         "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus", "onprem-llm.io/role": "metrics-scraper"}}},
    ]


def test_prometheus_pods_carry_the_label_the_model_port_admits(prod):
    values = prod.graph.named("observability-kube-prometheus-stack").inputs["values"]
    assert values["prometheus"]["prometheusSpec"]["podMetadata"]["labels"] == {"onprem-llm.io/role": "metrics-scraper"}


def test_api_key_rotation_keeps_the_previous_key_while_the_gateway_switches(prod, raw_config):
    from offline.run import evaluate

    password = "random:index/randomPassword:RandomPassword"
    assert prod.graph.named("llama-2-7b-chat-api-key", password).inputs["keepers"] == {"rotation": "0"}
    raw = raw_config("dev")
    raw["models"]["llama-2-7b-chat"].update(apiKeyRotation=3, apiKeyStage="prepare")
    rotated = evaluate("dev", raw_config=raw)
    # Generation 3 lives in the odd slot; the even slot still holds generation 2, the key the gateway sends.
    assert rotated.graph.named("llama-2-7b-chat-api-key-odd", password).inputs["keepers"] == {"rotation": "3"}
    assert rotated.graph.named("llama-2-7b-chat-api-key", password).inputs["keepers"] == {"rotation": "2"}
    template = rotated.graph.named("llama-2-7b-chat-server").inputs["spec"]["template"]
    assert template["metadata"]["annotations"]["onprem-llm.io/api-keys"] == "g2,g3"
    container = template["spec"]["containers"][0]
    assert container["args"][-3:] == ["--api-key", "$(VLLM_API_KEY)", "$(VLLM_API_KEY_PREVIOUS)"]
    # Each generation has its slot's entry: 3 is odd, 2 even. Both entries always exist, so a pod restarting on an
    # older template still finds the key it was made to accept.
    assert {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e} == {
        "VLLM_API_KEY": "api-key-odd", "VLLM_API_KEY_PREVIOUS": "api-key"}
    assert set(rotated.graph.named("llama-2-7b-chat-api-key", "kubernetes:core/v1:Secret").inputs["stringData"].value) \
        == {"api-key", "api-key-odd"}
    credential = rotated.graph.named("gateway-llama-2-7b-chat-credential").inputs["metadata"]["annotations"]
    assert credential["onprem-llm.io/api-key-generation"] == "g2"
    raw["models"]["llama-2-7b-chat"]["apiKeyStage"] = "done"
    done = evaluate("dev", raw_config=raw).graph.named("llama-2-7b-chat-server").inputs["spec"]["template"]
    assert done["metadata"]["annotations"]["onprem-llm.io/api-keys"] == "g3"
    assert "--api-key" not in done["spec"]["containers"][0]["args"]


def test_download_egress_is_limited_to_the_download_pods_and_https(prod, dev):
    shared = prod.graph.named("llama-2-7b-chat-download-egress").inputs["spec"]
    assert shared["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "model-download"
    assert shared["egress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]
    per_replica = dev.graph.named("llama-2-7b-chat-download-egress").inputs["spec"]
    assert "app.kubernetes.io/component" not in per_replica["podSelector"]["matchLabels"]


def test_service_is_cluster_ip_with_a_named_port_and_never_called_vllm(evaluations):
    for evaluation in evaluations.values():
        for service in evaluation.graph.of_type("kubernetes:core/v1:Service"):
            if "onprem:platform:VllmService" not in service.urn:
                continue
            assert service.inputs["metadata"]["name"] != "vllm"
            assert service.inputs["spec"]["type"] == "ClusterIP"
            assert [p["name"] for p in service.inputs["spec"]["ports"]] == ["http"]


def test_shared_weights_are_staged_once_by_a_job_before_the_deployment(prod):
    pvc = prod.graph.named("llama-2-7b-chat-weights")
    assert pvc.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc.inputs["spec"]["storageClassName"] == "vsan-file-services-a"
    # Protected, not retained: a destroy deletes its namespace too, so a retain would keep nothing.
    assert pvc.options["protect"] and not pvc.options["retainOnDelete"]
    job = prod.graph.named("llama-2-7b-chat-download")
    assert pvc.urn in job.options["dependencies"]
    deployment = prod.graph.named("llama-2-7b-chat-server")
    assert deployment.type == DEPLOYMENT and job.urn in deployment.options["dependencies"]
    assert "initContainers" not in _pod(deployment)
    weights = next(v for v in _pod(deployment)["volumes"] if v["name"] == "weights")
    assert weights["persistentVolumeClaim"] == {"claimName": "llama-2-7b-chat-weights", "readOnly": True}
    assert deployment.inputs["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    env = {e["name"]: e for e in _staging(job)["env"]}
    # The token is a file from its Secret (huggingface_hub reads HF_TOKEN_PATH), never an environment variable.
    assert "HF_TOKEN" not in env and env["HF_TOKEN_PATH"]["value"] == "/var/run/secrets/huggingface/token"
    volume = next(v for v in _pod(job)["volumes"] if v["name"] == "hf-token")
    assert volume["secret"]["secretName"] == "llama-2-7b-chat-hf-token"
    mount = next(m for m in _staging(job)["volumeMounts"] if m["name"] == "hf-token")
    assert mount == {"name": "hf-token", "mountPath": "/var/run/secrets/huggingface", "readOnly": True}


def test_staging_verifies_the_pinned_manifest_and_replicas_carry_its_identity(prod):
    model = parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS]).models["llama-2-7b-chat"]
    identity = model.weights_identity
    assert identity.startswith("sha256:") and len(identity) == 71
    job = prod.graph.named("llama-2-7b-chat-download")
    env = {e["name"]: e.get("value") for e in _staging(job)["env"]}
    assert json.loads(env["WEIGHTS_MANIFEST"]) == dict(model.weights_manifest)
    assert env["WEIGHTS_MANIFEST_DIGEST"] == identity and "ALLOW_PICKLE" not in env
    deployment = prod.graph.named("llama-2-7b-chat-server")
    assert deployment.inputs["spec"]["template"]["metadata"]["annotations"]["onprem-llm.io/weights-manifest"] == identity
    relabel = prod.graph.named("llama-2-7b-chat-monitor").inputs["spec"]["endpoints"][0]["relabelings"]
    assert {"sourceLabels": ["__meta_kubernetes_pod_annotation_onprem_llm_io_weights_manifest"],
            "targetLabel": "weights_manifest", "action": "replace"} in relabel
    assert prod.outputs["models"]["llama-2-7b-chat"]["weightsManifest"] == identity


def test_without_a_manifest_the_replicas_say_their_weights_are_unverified(dev):
    workload = dev.graph.named("llama-2-7b-chat-server")
    assert workload.inputs["spec"]["template"]["metadata"]["annotations"]["onprem-llm.io/weights-manifest"] == "unverified"
    env = {e["name"] for e in _pod(workload)["initContainers"][0]["env"]}
    assert "WEIGHTS_MANIFEST" not in env


def test_per_replica_weights_are_staged_by_an_init_container(dev):
    workload = dev.graph.named("llama-2-7b-chat-server")
    assert workload.type == STATEFULSET
    spec = workload.inputs["spec"]
    assert spec["volumeClaimTemplates"][0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert spec["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "llm-encrypted-lab"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    stage = _pod(workload)["initContainers"][0]
    assert stage["command"][:2] == ["python3", "-c"]
    env = {e["name"]: e.get("value") for e in stage["env"]}
    assert env["HF_ENDPOINT"] == "https://models-lab.hospital.example/hf"
    assert "HF_TOKEN" not in env
    vllm_mount = next(m for m in _vllm(workload)["volumeMounts"] if m["name"] == "weights")
    assert vllm_mount["readOnly"] is True


def test_two_models_get_independent_objects(prod):
    by_model = {}
    for service in prod.graph.of_type("onprem:platform:VllmService"):
        children = prod.graph.children(service.urn)
        by_model[service.name] = {
            (c.inputs.get("kind"), c.inputs["metadata"]["name"]) for c in children if "metadata" in c.inputs
        }
    first, second = by_model.values()
    assert first and second and not first & second


def test_monitor_scrapes_metrics_on_the_api_port(prod):
    monitor = prod.graph.named("llama-2-7b-chat-monitor")
    assert monitor.inputs["metadata"]["labels"]["onprem-llm.io/monitor"] == "platform"
    (endpoint,) = monitor.inputs["spec"]["endpoints"]
    # prod's replicas serve HTTPS (gateway.upstreamTls): Prometheus verifies the site's CA and the Service's name.
    assert {k: v for k, v in endpoint.items() if k not in ("relabelings", "tlsConfig")} == {
        "port": "http", "path": "/metrics", "interval": "15s", "scheme": "https"}
    assert endpoint["tlsConfig"]["serverName"] == "llama-2-7b-chat-api.llm-serving.svc.cluster.local"


def test_optional_ingress_serves_only_the_api_over_tls(tp2, prod):
    ingress = tp2.graph.named("llama-2-7b-chat-ingress").inputs["spec"]
    assert ingress["tls"] == [{"hosts": ["llm.hospital.example"], "secretName": "llm-tls"}]
    assert [p["path"] for p in ingress["rules"][0]["http"]["paths"]] == ["/v1"]
    assert not prod.graph.of_type("kubernetes:networking.k8s.io/v1:Ingress")


def test_component_outputs(prod):
    """Clients reach a model through the gateway by its served name; its Service and key stay inside the platform."""
    assert prod.outputs["models"]["mistral-7b-instruct"]["servedModelName"] == "mistral-7b-instruct"
    service = prod.graph.named("mistral-7b-instruct-api", "kubernetes:core/v1:Service").inputs
    assert service["spec"]["ports"][0]["port"] == 8000
    assert prod.graph.named("mistral-7b-instruct-api-key", "kubernetes:core/v1:Secret")
