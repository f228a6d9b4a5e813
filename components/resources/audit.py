"""AuditShipping: the API-server audit log and the gateway's access log, kept six years, tamper-evident.

Fluent Bit (pinned) tails the Kubernetes API server's audit log on the control-plane nodes and the
gateway proxies' access log, and keeps the one record line of each evaluation Job and of each weights
signature check (every other line of those containers stays on the node); it buffers them on the node
(a restarted pod resumes where it stopped), and uploads them to an S3-compatible bucket with Object
Lock in COMPLIANCE mode, over TLS, with Content-MD5 (required by Object Lock) and never-overwritten
object keys, with a shipping identity that may only put log objects. Reading node logs needs hostPath,
so the `logging` namespace is a Pod Security exception with its reason; a default-deny policy still
applies.

Sealing runs apart, in the restricted `audit-sealing` namespace, with its own identity; nothing else runs
there, no chart installs into it, and the program is the one baked into the digest-pinned tools image
(`components/builders/audit_tools.py`), never a ConfigMap. At deploy time
a Job creates or verifies the bucket's lock before the shipper is installed, and every day a CronJob
signs (Ed25519) a hash-chained manifest of every log object version, catches up missed days, and
anchors each manifest's digest in a second store (`components/jobs/audit_manifest.py`). The signing
key is a file from a Secret in that namespace, which no operator or auditor role can read; auditors
verify with the public key alone (ConfigMap `audit-public-key`, and `audit.signingPublicKey` in the
stack file).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.builders import audit_tools, evaluation
from components.builders import k8s as _k8s
from components.builders.charts import image_digest, release_args
from components.builders.monitoring import MONITOR_LABELS
from components.builders.vllm_pod import VERIFY_CONTAINER, container_security, pod_security
from components.config.model import AuditConfig
from components.jobs.evaluate_model import AUDIT_MARKER
from components.jobs.verify_signature import RECORD_MARKER as SIGNATURE_MARKER
from components.planning import waits
from components.planning.monitoring.rules import MANIFEST_CRONJOB
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:AuditShipping"
NAMESPACE = "logging"
FLUENT_BIT_IMAGE = "cr.fluentbit.io/fluent/fluent-bit"
SEALING_NAMESPACE = "audit-sealing"
CREDENTIALS = "audit-s3"
"""Fluent Bit's shipping identity, as an AWS shared credentials file."""
SEALING_CREDENTIALS = "audit-sealing-s3"
"""The sealing identity (profile default) and the anchor store's (profile anchor), as one credentials file."""
SIGNING_KEY = "audit-signing-key"
PUBLIC_KEY = "audit-public-key"
RETENTION_CONFIG = "audit-retention"
PREFIX = "onprem-llm"
API_SERVER_AUDIT_LOG = "/var/log/kubernetes/kube-apiserver.log"
# Fluent Bit serves its own metrics on the HTTP server port.
FLUENT_BIT_METRICS_PORT = 2020
CREDENTIALS_DIR = "/etc/aws"
SIGNING_DIR = "/etc/audit-signing"


@dataclass(frozen=True)
class AuditShippingArgs:
    settings: AuditConfig
    cluster: ClusterCore
    gateway_namespace: str
    privileged_reason: str
    access_key_id: pulumi.Input[str]
    secret_access_key: pulumi.Input[str]
    """The shipping identity: s3:PutObject under <prefix>/logs/ only."""
    api_server_cidrs: tuple[str, ...]
    seal_access_key_id: pulumi.Input[str] = ""
    seal_secret_access_key: pulumi.Input[str] = ""
    """The sealing identity: list and read object versions, read the lock configuration, put <prefix>/manifests/."""
    signing_key: pulumi.Input[str] = ""
    """Ed25519 private key (PEM) that signs the manifests."""
    anchor_access_key_id: pulumi.Input[str] | None = None
    anchor_secret_access_key: pulumi.Input[str] | None = None
    prefix: str = PREFIX
    """Prefix of this cluster's objects in the bucket (each site seals its own chain)."""
    monitoring: pulumi.Resource | None = None
    """The Release that installs the ServiceMonitor CRD; the shipper's metrics are scraped only with it."""
    evaluation_namespace: str | None = None
    """Where the evaluation Jobs run (evaluation enabled): their logs, the answers behind a promotion's record, ship too."""
    signature_namespace: str | None = None
    """Where weights signatures are verified (a served model has weightsSignature): each check's record line ships."""


def credentials_file(profiles: dict[str, tuple[str, str]]) -> str:
    """An AWS shared credentials file: boto3 and Fluent Bit read keys from it, never from the environment."""
    return "".join(f"[{name}]\naws_access_key_id={key}\naws_secret_access_key={secret}\n"
                   for name, (key, secret) in profiles.items())


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
            string_data={"credentials": pulumi.Output.secret(pulumi.Output.all(
                args.access_key_id, args.secret_access_key).apply(
                lambda keys: credentials_file({"default": (keys[0], keys[1])})))},
            opts=in_ns,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-retention",
            metadata=_k8s.metadata(RETENTION_CONFIG, NAMESPACE, labels),
            data={"bucket": settings.bucket, "s3Url": settings.s3_url, "objectLockMode": "COMPLIANCE",
                  "retentionDays": str(settings.retention_days), "flushSeconds": str(settings.flush_seconds),
                  "prefix": args.prefix, "sealingNamespace": SEALING_NAMESPACE,
                  "anchorBucket": settings.anchor.bucket if settings.anchor else ""},
            opts=in_ns,
        )
        pull = _k8s.registry_pull_secret(f"{name}-registry-pull", NAMESPACE, cluster.registry_server,
                                         cluster.registry_username, cluster.registry_password, labels, in_ns)
        trust = [_k8s.trust_bundle_config_map(f"{name}-trust-bundle", NAMESPACE, cluster.trust_bundle, labels, in_ns)] \
            if cluster.trust_bundle else []
        bucket_job = self._sealing(name, args, labels, on_cluster)
        chart = versions.FLUENT_BIT
        k8s.helm.v3.Release(
            f"{name}-fluent-bit",
            name="fluent-bit",
            **release_args(chart, cluster.registry),
            namespace=NAMESPACE,
            values=fluent_bit_values(settings, cluster.registry_server, args.gateway_namespace, args.monitoring is not None,
                                     args.prefix, trust_bundle=bool(cluster.trust_bundle),
                                     evaluation_namespace=args.evaluation_namespace,
                                     signature_namespace=args.signature_namespace,
                                     digest=image_digest(cluster.registry, chart.image(FLUENT_BIT_IMAGE))),
            timeout=waits.release_seconds(cluster.waits),
            # Nothing ships before the bucket is known to lock every object (the Job must succeed first);
            # the chart renders its ServiceMonitor only when the monitoring API exists at install time.
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                depends_on=[ns, credentials, pull, bucket_job, *trust, *([args.monitoring] if args.monitoring else [])])),
        )
        self.bucket, self.retention_days = settings.bucket, settings.retention_days
        self.register_outputs({"bucket": self.bucket, "retentionDays": self.retention_days})

    # -- sealing: its own namespace, identity and key ----------------------------------------------

    def _sealing(self, name: str, args: AuditShippingArgs, labels: dict[str, str],
                 on_cluster: pulumi.ResourceOptions) -> k8s.batch.v1.Job:
        settings, cluster = args.settings, args.cluster
        ns = _k8s.namespace(f"{name}-sealing-ns", SEALING_NAMESPACE, name, "audit-sealing", "restricted",
                            cluster.kubernetes_version, on_cluster)
        opts = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[ns]))
        _k8s.baseline_network_policies(f"{name}-sealing", SEALING_NAMESPACE, labels, opts)
        stores = list(settings.egress_cidrs) + (list(settings.anchor.egress_cidrs) if settings.anchor else [])
        _k8s.network_policy(f"{name}-sealing-egress", "allow-audit-stores", SEALING_NAMESPACE, labels, opts,
                            egress=[_k8s.to_peers(_k8s.ip_peers(tuple(dict.fromkeys(stores))), 443)])
        profiles = [args.seal_access_key_id, args.seal_secret_access_key]
        if settings.anchor is not None:
            profiles += [args.anchor_access_key_id, args.anchor_secret_access_key]
        k8s.core.v1.Secret(
            f"{name}-sealing-credentials",
            metadata=_k8s.metadata(SEALING_CREDENTIALS, SEALING_NAMESPACE, labels),
            string_data={"credentials": pulumi.Output.secret(pulumi.Output.all(*profiles).apply(
                lambda keys: credentials_file({"default": (keys[0], keys[1]),
                                               **({"anchor": (keys[2], keys[3])} if len(keys) > 2 else {})})))},
            opts=opts,
        )
        k8s.core.v1.Secret(f"{name}-signing-key", metadata=_k8s.metadata(SIGNING_KEY, SEALING_NAMESPACE, labels),
                           string_data={"signing-key.pem": pulumi.Output.secret(args.signing_key)}, opts=opts)
        k8s.core.v1.ConfigMap(f"{name}-public-key", metadata=_k8s.metadata(PUBLIC_KEY, SEALING_NAMESPACE, labels),
                              data={"signing-key.pub": settings.signing_public_key or ""}, opts=opts)
        k8s.core.v1.ServiceAccount(f"{name}-manifest-sa", metadata=_k8s.metadata("audit-manifest", SEALING_NAMESPACE, labels),
                                   automount_service_account_token=False, opts=opts)
        _k8s.registry_pull_secret(f"{name}-sealing-registry-pull", SEALING_NAMESPACE, cluster.registry_server,
                                  cluster.registry_username, cluster.registry_password, labels, opts)
        if cluster.trust_bundle:
            _k8s.trust_bundle_config_map(f"{name}-sealing-trust-bundle", SEALING_NAMESPACE, cluster.trust_bundle, labels,
                                         opts)

        job_labels = {**labels, "app.kubernetes.io/component": "audit-bucket"}
        # A changed bucket, retention or creation setting is a new Job, so every such deployment re-verifies.
        digest = hashlib.sha256(f"{settings.s3_url}|{settings.bucket}|{settings.retention_days}|"
                                f"{settings.create_bucket}".encode()).hexdigest()[:8]
        seconds = waits.release_seconds(cluster.waits)
        bucket_job = k8s.batch.v1.Job(
            f"{name}-bucket",
            metadata=_k8s.metadata(f"audit-bucket-{digest}", SEALING_NAMESPACE, job_labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=3, active_deadline_seconds=seconds,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels),
                    spec=self._tools_pod(args, "ensure-bucket", signing=False)),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                custom_timeouts=pulumi.CustomTimeouts(create=waits.duration(seconds), update=waits.duration(seconds)))),
        )
        cron_labels = {**labels, "app.kubernetes.io/component": "audit-manifest"}
        k8s.batch.v1.CronJob(
            f"{name}-manifest",
            metadata=_k8s.metadata(MANIFEST_CRONJOB, SEALING_NAMESPACE, cron_labels),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule="30 0 * * *",
                time_zone="Etc/UTC",
                concurrency_policy="Forbid",
                starting_deadline_seconds=6 * 3600,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=3,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=cron_labels),
                        spec=self._tools_pod(args, "seal", signing=True)),
                )),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[bucket_job])),
        )
        return bucket_job

    @staticmethod
    def _tools_pod(args: AuditShippingArgs, command: str, signing: bool) -> k8s.core.v1.PodSpecArgs:
        settings, anchor = args.settings, args.settings.anchor

        def env(var: str, value: str) -> k8s.core.v1.EnvVarArgs:
            return k8s.core.v1.EnvVarArgs(name=var, value=value)

        variables = [
            env("S3_URL", settings.s3_url), env("S3_REGION", settings.region), env("BUCKET", settings.bucket),
            env("PREFIX", args.prefix), env("RETENTION_DAYS", str(settings.retention_days)),
            env("CREATE_BUCKET", "true" if settings.create_bucket else "false"), env("HOME", "/tmp"),
            env("AWS_SHARED_CREDENTIALS_FILE", f"{CREDENTIALS_DIR}/credentials"), audit_tools.digest_env(),
        ]
        mounts = [
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
            k8s.core.v1.VolumeMountArgs(name="credentials", mount_path=CREDENTIALS_DIR, read_only=True),
        ]
        volumes = [
            k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")),
            k8s.core.v1.VolumeArgs(name="credentials", secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=SEALING_CREDENTIALS, default_mode=0o400)),
        ]
        if args.cluster.trust_bundle:
            # boto3 verifies the audit and anchor stores against the site's CA.
            variables.append(env("AWS_CA_BUNDLE", _k8s.TRUST_BUNDLE_FILE))
            mounts.append(_k8s.trust_bundle_mount())
            volumes.append(_k8s.trust_bundle_volume())
        if signing:
            variables.append(env("SIGNING_KEY_FILE", f"{SIGNING_DIR}/signing-key.pem"))
            if anchor is not None:
                variables += [env("ANCHOR_S3_URL", anchor.s3_url), env("ANCHOR_REGION", anchor.region),
                              env("ANCHOR_BUCKET", anchor.bucket), env("ANCHOR_PREFIX", f"{anchor.prefix}/{args.prefix}")]
            mounts.append(k8s.core.v1.VolumeMountArgs(name="signing-key", mount_path=SIGNING_DIR, read_only=True))
            volumes.append(k8s.core.v1.VolumeArgs(name="signing-key", secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=SIGNING_KEY, default_mode=0o400)))
        resources = {"cpu": "500m", "memory": "512Mi"}
        return k8s.core.v1.PodSpecArgs(
            service_account_name="audit-manifest",
            automount_service_account_token=False,
            enable_service_links=False,
            # A failed seal stays a failed pod (AuditManifestJobFailed), even when a retry then succeeds.
            restart_policy="Never" if signing else "OnFailure",
            image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=_k8s.PULL_SECRET)],
            security_context=pod_security(),
            containers=[k8s.core.v1.ContainerArgs(
                name="manifest" if signing else "bucket",
                image=settings.tools_image.reference,
                image_pull_policy="IfNotPresent",
                # The program is the image's own (components/builders/audit_tools.py), pinned with it by digest.
                command=audit_tools.command(command),
                env=variables,
                resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
                security_context=container_security(),
                volume_mounts=mounts,
            )],
            volumes=volumes,
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


def evaluation_log_glob(namespace: str) -> str:
    """The kubelet's name for an evaluation container's log: <pod>_<namespace>_<container>-<container id>.log."""
    return f"/var/log/containers/*_{namespace}_{evaluation.CONTAINER}-*.log"


SIGNATURE_LOGS = "weights-signature"
"""The signature records' folder of a day (<prefix>/logs/<day>/weights-signature/), as the seal knows it."""
SIGNATURE_RECORD_REGEX = rf"^{SIGNATURE_MARKER.strip()}\s\{{.*\}}$"
r"""The verifier's record line and nothing else: its marker, then one JSON object to the end of the line.
``\s`` stands for the marker's own space, so the pattern holds no space for the config parser to split or trim."""


def signature_log_glob(namespace: str) -> str:
    """The kubelet's name for a verifier container's log, an init container's or the staging Job's alike:
    <pod>_<namespace>_<container>-<container id>.log."""
    return f"/var/log/containers/*_{namespace}_{VERIFY_CONTAINER}-*.log"


def fluent_bit_values(settings: AuditConfig, registry: str, gateway_namespace: str, monitored: bool,
                      prefix: str = PREFIX, trust_bundle: bool = False, evaluation_namespace: str | None = None,
                      digest: str | None = None, signature_namespace: str | None = None) -> dict:
    """``digest``: of the site's copy of the chart's Fluent Bit image (the chart writes ``repository:tag@digest``).
    ``signature_namespace``: where weights signatures are checked; None when no model has one (no input then)."""
    host = settings.s3_url.removeprefix("https://").split("/", 1)[0]
    # With the site's CA, the audit store's certificate is verified against it (ConfigMap site-trust-bundle).
    ca_file = f"    tls.ca_file {_k8s.TRUST_BUNDLE_FILE}\n" if trust_bundle else ""
    s3_common = (
        f"    bucket {settings.bucket}\n    region {settings.region}\n    endpoint {settings.s3_url}\n"
        f"    tls On\n    tls.verify On\n{ca_file}    compression gzip\n    send_content_md5 On\n"
        f"    upload_timeout {settings.flush_seconds}s\n    total_file_size 50M\n"
        f"    store_dir /buffers/s3\n    store_dir_limit_size {BUFFER_LIMIT_MB_PER_STREAM // 2}M\n"
        f"    retry_limit no_limits\n"
        f"    storage.total_limit_size {BUFFER_LIMIT_MB_PER_STREAM // 2}M\n"
    )
    tail_common = "    storage.type filesystem\n    Read_from_Head On\n"
    filters = []
    if evaluation_namespace:
        # Of an evaluation Job's log only its record line is kept: prompts and answers never reach the locked store.
        filters.append(f"[FILTER]\n    Name grep\n    Alias keep-evaluation-record\n    Match audit.evaluation\n"
                       f"    Regex log ^{AUDIT_MARKER.strip()}\\s\n")
    if signature_namespace:
        # Of a signature check's log only the record line is kept, and only from stdout: the verifier writes its
        # refusals (file names, reasons) to stderr, so no refusal passes for a record by how it starts.
        filters.append(f"[FILTER]\n    Name grep\n    Alias keep-{SIGNATURE_LOGS}-record\n    Match audit.{SIGNATURE_LOGS}\n"
                       f"    Logical_Op AND\n    Regex stream ^stdout$\n    Regex log {SIGNATURE_RECORD_REGEX}\n")
    return {
        "image": {"repository": f"{registry}/fluent/fluent-bit", **({"digest": digest} if digest else {})},
        "imagePullSecrets": [{"name": _k8s.PULL_SECRET}],
        # The shipping identity is a file, read through the AWS credential chain; no key in the environment.
        "env": [{"name": "AWS_SHARED_CREDENTIALS_FILE", "value": f"{CREDENTIALS_DIR}/credentials"}],
        # The API server writes its audit log on the control-plane nodes.
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        # It runs as root: the kubelet's container logs and the API server's audit log are root's, mode 0640
        # (a recorded checkov exception, policies/checkov-exceptions.yaml). What restricted still allows is kept.
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        # Its pipeline reads files and writes to S3; no filter asks the API server for pod metadata, so it holds
        # no token for it.
        "serviceAccount": {"automountServiceAccountToken": False},
        # Buffers are on disk (storage.type filesystem), so memory stays small; the limit bounds a runaway parser.
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        # `helm test` is never run by the platform; the chart's test pod (busybox:latest) is not rendered.
        "testFramework": {"enabled": False},
        # The shipper reads node logs and never writes them; only its own buffer directory is writable.
        "daemonSetVolumes": [
            {"name": "varlog", "hostPath": {"path": "/var/log"}},
            {"name": "etcmachineid", "hostPath": {"path": "/etc/machine-id", "type": "File"}},
            {"name": "buffers", "hostPath": {"path": BUFFER_HOST_PATH, "type": "DirectoryOrCreate"}},
            *([{"name": "site-trust", "configMap": {"name": _k8s.TRUST_BUNDLE}}] if trust_bundle else []),
            {"name": "aws-credentials", "secret": {"secretName": CREDENTIALS, "defaultMode": 0o400}},
        ],
        "daemonSetVolumeMounts": [
            {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
            {"name": "etcmachineid", "mountPath": "/etc/machine-id", "readOnly": True},
            {"name": "buffers", "mountPath": "/buffers"},
            *([{"name": "site-trust", "mountPath": _k8s.TRUST_BUNDLE_DIR, "readOnly": True}] if trust_bundle else []),
            {"name": "aws-credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True},
        ],
        # Alerts watch each stream per node, so every series carries the node it was read on.
        # Settings of a ServiceMonitor go only where one is rendered: the chart reads them behind `enabled`.
        "serviceMonitor": {"enabled": True, "selector": MONITOR_LABELS, "relabelings": [
            {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"}]}
        if monitored else {"enabled": False},
        "config": {
            "service": (
                "[SERVICE]\n    Daemon Off\n    Flush {{ .Values.flush }}\n    Log_Level {{ .Values.logLevel }}\n"
                "    Parsers_File /fluent-bit/etc/parsers.conf\n    Parsers_File /fluent-bit/etc/conf/custom_parsers.conf\n"
                "    HTTP_Server On\n    HTTP_Listen 0.0.0.0\n    HTTP_Port {{ .Values.metricsPort }}\n    Health_Check On\n"
                "    storage.path /buffers/chunks\n    storage.sync full\n    storage.checksum On\n"
                "    storage.metrics On\n    storage.backlog.mem_limit 16M\n"
            ),
            "inputs": (
                "[INPUT]\n    Name tail\n    Alias in-apiserver\n    Tag audit.apiserver\n"
                f"    Path {API_SERVER_AUDIT_LOG}\n    DB /buffers/audit.db\n{tail_common}\n"
                "[INPUT]\n    Name tail\n    Alias in-gateway\n    Tag audit.gateway\n"
                f"    Path /var/log/containers/*_{gateway_namespace}_envoy-*.log\n    multiline.parser cri\n"
                f"    DB /buffers/gateway.db\n{tail_common}"
                + (f"\n[INPUT]\n    Name tail\n    Alias in-evaluation\n    Tag audit.evaluation\n"
                   f"    Path {evaluation_log_glob(evaluation_namespace)}\n    multiline.parser cri\n"
                   f"    DB /buffers/evaluation.db\n{tail_common}" if evaluation_namespace else "")
                + (f"\n[INPUT]\n    Name tail\n    Alias in-{SIGNATURE_LOGS}\n    Tag audit.{SIGNATURE_LOGS}\n"
                   f"    Path {signature_log_glob(signature_namespace)}\n    multiline.parser cri\n"
                   f"    DB /buffers/{SIGNATURE_LOGS}.db\n{tail_common}" if signature_namespace else "")
            ),
            "filters": "\n".join(filters),
            "outputs": (
                f"[OUTPUT]\n    Name s3\n    Alias s3-apiserver\n    Match audit.apiserver\n{s3_common}"
                f"    s3_key_format /{prefix}/logs/%Y-%m-%d/apiserver/%H-%M-%S-$UUID.gz\n\n"
                f"[OUTPUT]\n    Name s3\n    Alias s3-gateway\n    Match audit.gateway\n{s3_common}"
                f"    s3_key_format /{prefix}/logs/%Y-%m-%d/gateway/%H-%M-%S-$UUID.gz\n"
                + (f"\n[OUTPUT]\n    Name s3\n    Alias s3-evaluation\n    Match audit.evaluation\n{s3_common}"
                   f"    s3_key_format /{prefix}/logs/%Y-%m-%d/evaluation/%H-%M-%S-$UUID.gz\n" if evaluation_namespace else "")
                + (f"\n[OUTPUT]\n    Name s3\n    Alias s3-{SIGNATURE_LOGS}\n    Match audit.{SIGNATURE_LOGS}\n{s3_common}"
                   f"    s3_key_format /{prefix}/logs/%Y-%m-%d/{SIGNATURE_LOGS}/%H-%M-%S-$UUID.gz\n"
                   if signature_namespace else "")
            ),
        },
        # Host of the audit store, for operators reading the values.
        "podAnnotations": {"onprem-llm.io/audit-store": host},
    }
