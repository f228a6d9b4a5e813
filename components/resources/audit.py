"""AuditShipping: the API-server audit log and the gateway's access log, kept six years, tamper-evident.

Fluent Bit (pinned) tails the Kubernetes API server's audit log on the control-plane nodes and the
gateway proxies' access log, and uploads them to an S3-compatible bucket with Object Lock in
COMPLIANCE mode, over TLS, with Content-MD5 (required by Object Lock) and never-overwritten object
keys. Reading node logs needs hostPath, so the `logging` namespace is a Pod Security exception with
its reason; a default-deny policy still applies. A daily CronJob writes a signed, hash-chained
manifest of the previous day's objects (`components/jobs/audit_manifest.py`) and refuses a bucket whose
lock is weaker than configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import versions
from components.builders import k8s as _k8s
from components.builders.charts import release_args
from components.builders.monitoring import MONITOR_LABELS
from components.builders.vllm_pod import container_security, pod_security
from components.config.model import AuditConfig
from components.planning import waits
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:AuditShipping"
NAMESPACE = "logging"
CREDENTIALS = "audit-s3"
RETENTION_CONFIG = "audit-retention"
PREFIX = "onprem-llm"
MANIFEST_SCRIPT = Path(__file__).parent.parent / "jobs" / "audit_manifest.py"
API_SERVER_AUDIT_LOG = "/var/log/kubernetes/kube-apiserver.log"
# Fluent Bit serves its own metrics on the HTTP server port.
FLUENT_BIT_METRICS_PORT = 2020


@dataclass(frozen=True)
class AuditShippingArgs:
    settings: AuditConfig
    cluster: ClusterCore
    gateway_namespace: str
    privileged_reason: str
    access_key_id: pulumi.Input[str]
    secret_access_key: pulumi.Input[str]
    api_server_cidrs: tuple[str, ...]
    monitoring: pulumi.Resource | None = None
    """The Release that installs the ServiceMonitor CRD; the shipper's metrics are scraped only with it."""


class AuditShipping(pulumi.ComponentResource):
    bucket: str
    retention_days: int

    def __init__(self, name: str, args: AuditShippingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        settings, cluster = args.settings, args.cluster
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        labels = _k8s.labels("audit-shipping", name, "audit")
        ns = _k8s.namespace(f"{name}-ns", NAMESPACE, name, "audit", "privileged", cluster.kubernetes_version,
                            on_cluster, args.privileged_reason)
        in_ns = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[ns]))
        _k8s.baseline_network_policies(name, NAMESPACE, labels, in_ns)
        self._network_policies(name, args, labels, in_ns)

        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=_k8s.metadata(CREDENTIALS, NAMESPACE, labels),
            string_data={
                "AWS_ACCESS_KEY_ID": pulumi.Output.secret(args.access_key_id),
                "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(args.secret_access_key),
            },
            opts=in_ns,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-retention",
            metadata=_k8s.metadata(RETENTION_CONFIG, NAMESPACE, labels),
            data={"bucket": settings.bucket, "s3Url": settings.s3_url, "objectLockMode": "COMPLIANCE",
                  "retentionDays": str(settings.retention_days), "flushSeconds": str(settings.flush_seconds)},
            opts=in_ns,
        )
        pull = _k8s.registry_pull_secret(f"{name}-registry-pull", NAMESPACE, cluster.registry_server,
                                         cluster.registry_username, cluster.registry_password, labels, in_ns)
        chart = versions.FLUENT_BIT
        k8s.helm.v3.Release(
            f"{name}-fluent-bit",
            name="fluent-bit",
            **release_args(chart, cluster.registry),
            namespace=NAMESPACE,
            values=fluent_bit_values(settings, cluster.registry_server, args.gateway_namespace, args.monitoring is not None),
            timeout=waits.release_seconds(cluster.waits),
            # The chart renders its ServiceMonitor only when the monitoring API exists at install time.
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                depends_on=[ns, credentials, pull, *([args.monitoring] if args.monitoring else [])])),
        )
        self._manifest_job(name, settings, cluster, labels, in_ns)
        self.bucket, self.retention_days = settings.bucket, settings.retention_days
        self.register_outputs({"bucket": self.bucket, "retentionDays": self.retention_days})

    def _manifest_job(self, name: str, settings: AuditConfig, cluster: ClusterCore, labels: dict[str, str],
                      opts: pulumi.ResourceOptions) -> None:
        key = random.RandomPassword(f"{name}-manifest-key", length=64, special=False,
                                    opts=pulumi.ResourceOptions(parent=self))
        k8s.core.v1.Secret(f"{name}-manifest-key", metadata=_k8s.metadata("audit-manifest-key", NAMESPACE, labels),
                           string_data={"key": pulumi.Output.secret(key.result)}, opts=opts)
        k8s.core.v1.ConfigMap(f"{name}-manifest-script", metadata=_k8s.metadata("audit-manifest", NAMESPACE, labels),
                              data={"audit_manifest.py": MANIFEST_SCRIPT.read_text()}, opts=opts)
        k8s.core.v1.ServiceAccount(f"{name}-manifest-sa", metadata=_k8s.metadata("audit-manifest", NAMESPACE, labels),
                                   automount_service_account_token=False, opts=opts)

        def env(var: str, value: str | None = None, secret: tuple[str, str] | None = None) -> k8s.core.v1.EnvVarArgs:
            if secret:
                return k8s.core.v1.EnvVarArgs(name=var, value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret[0], key=secret[1])))
            return k8s.core.v1.EnvVarArgs(name=var, value=value)

        job_labels = {**labels, "app.kubernetes.io/component": "audit-manifest"}
        resources = {"cpu": "500m", "memory": "512Mi"}
        k8s.batch.v1.CronJob(
            f"{name}-manifest",
            metadata=_k8s.metadata("audit-manifest", NAMESPACE, job_labels),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule="30 0 * * *",
                concurrency_policy="Forbid",
                job_template=k8s.batch.v1.JobTemplateSpecArgs(spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=3,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels),
                        spec=k8s.core.v1.PodSpecArgs(
                            service_account_name="audit-manifest",
                            automount_service_account_token=False,
                            enable_service_links=False,
                            restart_policy="OnFailure",
                            image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=_k8s.PULL_SECRET)],
                            security_context=pod_security(),
                            containers=[k8s.core.v1.ContainerArgs(
                                name="manifest",
                                image=settings.tools_image.reference,
                                command=["python3", "/scripts/audit_manifest.py"],
                                env=[
                                    env("S3_URL", settings.s3_url), env("S3_REGION", settings.region),
                                    env("BUCKET", settings.bucket), env("PREFIX", PREFIX),
                                    env("RETENTION_DAYS", str(settings.retention_days)),
                                    env("HOME", "/tmp"),
                                    env("AWS_ACCESS_KEY_ID", secret=(CREDENTIALS, "AWS_ACCESS_KEY_ID")),
                                    env("AWS_SECRET_ACCESS_KEY", secret=(CREDENTIALS, "AWS_SECRET_ACCESS_KEY")),
                                    env("SIGNING_KEY", secret=("audit-manifest-key", "key")),
                                ],
                                resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
                                security_context=container_security(),
                                volume_mounts=[
                                    k8s.core.v1.VolumeMountArgs(name="scripts", mount_path="/scripts", read_only=True),
                                    k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                                ],
                            )],
                            volumes=[
                                k8s.core.v1.VolumeArgs(name="scripts", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                    name="audit-manifest")),
                                k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                                    size_limit="1Gi")),
                            ],
                        ),
                    ),
                )),
            ),
            opts=opts,
        )

    def _network_policies(self, name: str, args: AuditShippingArgs, labels: dict[str, str],
                          opts: pulumi.ResourceOptions) -> None:
        _k8s.allow_store_and_api_egress(f"{name}-egress", "allow-audit-store-and-api", NAMESPACE, labels,
                                        args.settings.egress_cidrs, args.api_server_cidrs, opts)
        _k8s.allow_metrics_scrape(f"{name}-metrics", NAMESPACE, labels, args.cluster.monitoring_namespace,
                                  FLUENT_BIT_METRICS_PORT, opts)

BUFFER_HOST_PATH = "/var/lib/onprem-llm/fluent-bit"
"""Fluent Bit's chunks and tail positions live on the node, so a restarted pod resumes where it stopped."""
BUFFER_LIMIT_MB_PER_STREAM = 512
"""Unsent logs each stream may hold on a node before the oldest are dropped (and the alert fires)."""


def fluent_bit_values(settings: AuditConfig, registry: str, gateway_namespace: str, monitored: bool) -> dict:
    host = settings.s3_url.removeprefix("https://").split("/", 1)[0]
    s3_common = (
        f"    bucket {settings.bucket}\n    region {settings.region}\n    endpoint {settings.s3_url}\n"
        f"    tls On\n    tls.verify On\n    compression gzip\n    send_content_md5 On\n"
        f"    upload_timeout {settings.flush_seconds}s\n    total_file_size 50M\n"
        f"    store_dir /buffers/s3\n    store_dir_limit_size {BUFFER_LIMIT_MB_PER_STREAM // 2}M\n"
        f"    storage.total_limit_size {BUFFER_LIMIT_MB_PER_STREAM // 2}M\n"
    )
    tail_common = "    storage.type filesystem\n    Read_from_Head On\n"
    return {
        "image": {"repository": f"{registry}/fluent/fluent-bit"},
        "imagePullSecrets": [{"name": _k8s.PULL_SECRET}],
        "envFrom": [{"secretRef": {"name": CREDENTIALS}}],
        # The API server writes its audit log on the control-plane nodes.
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        # The shipper reads node logs and never writes them; only its own buffer directory is writable.
        "daemonSetVolumes": [
            {"name": "varlog", "hostPath": {"path": "/var/log"}},
            {"name": "etcmachineid", "hostPath": {"path": "/etc/machine-id", "type": "File"}},
            {"name": "buffers", "hostPath": {"path": BUFFER_HOST_PATH, "type": "DirectoryOrCreate"}},
        ],
        "daemonSetVolumeMounts": [
            {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
            {"name": "etcmachineid", "mountPath": "/etc/machine-id", "readOnly": True},
            {"name": "buffers", "mountPath": "/buffers"},
        ],
        "serviceMonitor": {"enabled": monitored, "selector": MONITOR_LABELS},
        "config": {
            "service": (
                "[SERVICE]\n    Daemon Off\n    Flush {{ .Values.flush }}\n    Log_Level {{ .Values.logLevel }}\n"
                "    Parsers_File /fluent-bit/etc/parsers.conf\n    Parsers_File /fluent-bit/etc/conf/custom_parsers.conf\n"
                "    HTTP_Server On\n    HTTP_Listen 0.0.0.0\n    HTTP_Port {{ .Values.metricsPort }}\n    Health_Check On\n"
                "    storage.path /buffers/chunks\n    storage.sync full\n    storage.checksum On\n"
                "    storage.metrics On\n    storage.backlog.mem_limit 16M\n"
            ),
            "inputs": (
                "[INPUT]\n    Name tail\n    Tag audit.apiserver\n"
                f"    Path {API_SERVER_AUDIT_LOG}\n    DB /buffers/audit.db\n{tail_common}\n"
                "[INPUT]\n    Name tail\n    Tag audit.gateway\n"
                f"    Path /var/log/containers/*_{gateway_namespace}_envoy-*.log\n    multiline.parser cri\n"
                f"    DB /buffers/gateway.db\n{tail_common}"
            ),
            "filters": "",
            "outputs": (
                f"[OUTPUT]\n    Name s3\n    Alias s3-apiserver\n    Match audit.apiserver\n{s3_common}"
                f"    s3_key_format /{PREFIX}/logs/%Y-%m-%d/apiserver/%H-%M-%S-$UUID.gz\n\n"
                f"[OUTPUT]\n    Name s3\n    Alias s3-gateway\n    Match audit.gateway\n{s3_common}"
                f"    s3_key_format /{PREFIX}/logs/%Y-%m-%d/gateway/%H-%M-%S-$UUID.gz\n"
            ),
        },
        # Host of the audit store, for operators reading the values.
        "podAnnotations": {"onprem-llm.io/audit-store": host},
    }
