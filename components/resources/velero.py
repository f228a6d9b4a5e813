"""Velero: Kubernetes backups of one cluster to the S3 store at the standby site."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.builders import audit_tools
from components.builders import k8s as _k8s
from components.builders.charts import image_digest, mirrored, pinned_reference, release_args
from components.builders.monitoring import MONITOR_LABELS
from components.builders.vllm_pod import container_security, pod_security
from components.config import BackupStorageConfig
from components.config.model import RegistryConfig
from components.planning import waits
from components.planning.dr_plan import cron_for_interval
from components.resources.tanzu_cluster import ClusterCore

TYPE = "onprem:platform:Velero"
NAMESPACE = "velero"
CREDENTIALS = "velero-s3"
CA_SECRET = "velero-s3-ca"
REPOSITORY_SECRET = "velero-repo-credentials"
"""Velero's Kopia repositories are encrypted with the password in this Secret; without it Velero creates them
with its published default password (static-passw0rd), which protects nothing."""
EXCLUDED_RESOURCES = ("secrets",)
"""Never in a backup: every Secret of the backed-up namespaces is recreated by `pulumi up` from the stack's
secrets and generated values, so a backup bucket holds no credential and no key."""
LOCATION = "default"
METRICS_PORT = 8085


@dataclass(frozen=True)
class BackupSchedule:
    name: str
    interval_minutes: int
    ttl_hours: int
    namespaces: tuple[str, ...]


@dataclass(frozen=True)
class VeleroArgs:
    cluster: ClusterCore
    storage: BackupStorageConfig
    access_mode: str
    """ReadWrite at the primary; ReadOnly at the standby, which restores but never writes."""
    access_key_id: pulumi.Input[str]
    secret_access_key: pulumi.Input[str]
    api_server_cidrs: tuple[str, ...]
    schedules: tuple[BackupSchedule, ...] = ()
    file_system_backup: bool = False
    pod_security: tuple[str, str] = ("baseline", "")
    """Pod Security level of the namespace and why: baseline for data mover pods (they run as root),
    privileged for file-system backup (the node agent reads pod volumes from the host)."""
    monitoring: pulumi.Resource | None = None
    """The Release that installs the ServiceMonitor CRD; Velero's metrics are scraped only with it."""
    repository_password: pulumi.Input[str] | None = None
    """Password of the Kopia repositories (the same at both sites, or the standby cannot restore)."""
    lock_check_image: str | None = None
    """Image of the audit tools (Python 3, boto3): with storage.objectLockDays, a Job verifies the bucket's lock."""


class Velero(pulumi.ComponentResource):
    """Velero release, its isolated namespace, the backup location and the schedules."""

    location_name: str
    namespace: str

    def __init__(self, name: str, args: VeleroArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cluster, storage = args.cluster, args.storage
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        labels = _k8s.labels("velero", name, "backup")
        self.namespace, self.location_name = NAMESPACE, LOCATION

        level, reason = args.pod_security
        ns = _k8s.namespace(f"{name}-ns", NAMESPACE, name, "backup", level, cluster.kubernetes_version, on_cluster,
                            reason)
        in_ns = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[ns]))
        _k8s.baseline_network_policies(name, NAMESPACE, labels, in_ns)
        self._network_policies(name, args, labels, in_ns)

        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=_k8s.metadata(CREDENTIALS, NAMESPACE, labels),
            string_data={"cloud": pulumi.Output.secret(pulumi.Output.all(args.access_key_id, args.secret_access_key).apply(
                lambda keys: f"[default]\naws_access_key_id={keys[0]}\naws_secret_access_key={keys[1]}\n"
            ))},
            opts=in_ns,
        )
        pull = _k8s.registry_pull_secret(
            f"{name}-registry-pull", NAMESPACE, cluster.registry_server, cluster.registry_username,
            cluster.registry_password, labels, in_ns,
        )
        # The chart renders its ServiceMonitor only when the monitoring API exists at install time.
        needs: list[pulumi.Resource] = [ns, credentials, pull, *([args.monitoring] if args.monitoring else [])]
        if args.repository_password is not None:
            # Must exist before Velero first connects, or it creates the repository with its default password.
            needs.append(k8s.core.v1.Secret(
                f"{name}-repository", metadata=_k8s.metadata(REPOSITORY_SECRET, NAMESPACE, labels),
                string_data={"repository-password": pulumi.Output.secret(args.repository_password)},
                # The key itself is the secret backupRepositoryPassword, kept in the site's vault and set on both
                # stacks: this object only hands it to Velero, and is recreated from config after any loss.
                opts=in_ns,
            ))
        if storage.object_lock_days and args.lock_check_image:
            needs.append(self._lock_check(name, args, labels, in_ns))
        if storage.ca_cert:
            needs.append(k8s.core.v1.Secret(
                f"{name}-ca", metadata=_k8s.metadata(CA_SECRET, NAMESPACE, labels),
                string_data={"ca.crt": storage.ca_cert}, opts=in_ns,
            ))
        chart = versions.VELERO
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="velero",
            **release_args(chart, cluster.registry),
            namespace=NAMESPACE,
            values=velero_values(args),
            timeout=waits.release_seconds(cluster.waits),
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=needs)),
        )
        after_release = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[release]))

        location_spec = {
            "provider": "aws",
            "default": True,
            "accessMode": args.access_mode,
            "objectStorage": {"bucket": storage.bucket, "prefix": storage.prefix},
            "credential": {"name": CREDENTIALS, "key": "cloud"},
            "config": bsl_config(storage),
            # The standby sees replicated backups within a minute.
            "backupSyncPeriod": "1m0s",
            "validationFrequency": "1m0s",
        }
        if storage.ca_cert:
            location_spec["objectStorage"]["caCertRef"] = {"name": CA_SECRET, "key": "ca.crt"}
        k8s.apiextensions.CustomResource(
            f"{name}-location",
            api_version="velero.io/v1",
            kind="BackupStorageLocation",
            metadata=_k8s.metadata(LOCATION, NAMESPACE, labels),
            spec=location_spec,
            # No update may remove the way to the backups; a destroy refuses until it is unprotected. The backups
            # themselves live in the bucket, which no stack owns: a new location finds them (Velero syncs them in).
            opts=pulumi.ResourceOptions.merge(after_release, pulumi.ResourceOptions(protect=True)),
        )
        for schedule in args.schedules:
            k8s.apiextensions.CustomResource(
                f"{name}-schedule-{schedule.name}",
                api_version="velero.io/v1",
                kind="Schedule",
                metadata=_k8s.metadata(schedule.name, NAMESPACE, labels),
                spec=schedule_spec(schedule, args.file_system_backup),
                opts=after_release,
            )
        self.register_outputs({"locationName": self.location_name})

    def _lock_check(self, name: str, args: VeleroArgs, labels: dict[str, str],
                    opts: pulumi.ResourceOptions) -> k8s.batch.v1.Job:
        """Before Velero starts: the backup bucket's default retention is at least storage.objectLockDays."""
        storage = args.storage
        job_labels = {**labels, "app.kubernetes.io/component": "bucket-lock-check"}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-lock-check-sa", metadata=_k8s.metadata("bucket-lock-check", NAMESPACE, labels),
            automount_service_account_token=False, opts=opts)
        env = {"S3_URL": storage.s3_url, "S3_REGION": storage.region, "BUCKET": storage.bucket,
               "RETENTION_DAYS": str(storage.object_lock_days), "LOCK_MODES": "GOVERNANCE,COMPLIANCE",
               "HOME": "/tmp", "AWS_SHARED_CREDENTIALS_FILE": "/credentials/cloud"}
        seconds = waits.release_seconds(args.cluster.waits)
        return k8s.batch.v1.Job(
            f"{name}-lock-check",
            metadata=_k8s.metadata(f"bucket-lock-check-{storage.object_lock_days}", NAMESPACE, job_labels),
            spec=k8s.batch.v1.JobSpecArgs(backoff_limit=3, active_deadline_seconds=seconds,
                                          template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name="bucket-lock-check",
                    automount_service_account_token=False, enable_service_links=False, restart_policy="OnFailure",
                    image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=_k8s.PULL_SECRET)],
                    security_context=pod_security(),
                    containers=[k8s.core.v1.ContainerArgs(
                        name="check", image=args.lock_check_image, image_pull_policy="IfNotPresent",
                        # The audit tools image's own program (components/builders/audit_tools.py).
                        command=audit_tools.command("check-lock"),
                        env=[*(k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in env.items()), audit_tools.digest_env()],
                        resources=k8s.core.v1.ResourceRequirementsArgs(
                            requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "100m", "memory": "128Mi"}),
                        security_context=container_security(),
                        volume_mounts=[
                            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                            k8s.core.v1.VolumeMountArgs(name="credentials", mount_path="/credentials", read_only=True),
                        ],
                    )],
                    volumes=[
                        k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                            size_limit="64Mi")),
                        k8s.core.v1.VolumeArgs(name="credentials", secret=k8s.core.v1.SecretVolumeSourceArgs(
                            secret_name=CREDENTIALS, default_mode=0o400)),
                    ],
                ),
            )),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account], custom_timeouts=(
                pulumi.CustomTimeouts(create=waits.duration(seconds), update=waits.duration(seconds))))),
        )

    def _network_policies(self, name: str, args: VeleroArgs, labels: dict[str, str], opts: pulumi.ResourceOptions) -> None:
        _k8s.allow_store_and_api_egress(f"{name}-egress", "allow-object-store-and-api", NAMESPACE, labels,
                                        args.storage.egress_cidrs, args.api_server_cidrs, opts)
        _k8s.allow_metrics_scrape(f"{name}-metrics", NAMESPACE, labels, args.cluster.monitoring_namespace,
                                  METRICS_PORT, opts)

def bsl_config(storage: BackupStorageConfig) -> dict[str, str]:
    """The AWS plugin's settings: the store asked to encrypt every object Velero writes."""
    config = {"region": storage.region, "s3Url": storage.s3_url, "s3ForcePathStyle": "true",
              "serverSideEncryption": storage.server_side_encryption}
    if storage.kms_key_id:
        config["kmsKeyId"] = storage.kms_key_id
    return config


def schedule_spec(schedule: BackupSchedule, file_system_backup: bool) -> dict:
    template = {
        "includedNamespaces": list(schedule.namespaces),
        "excludedResources": list(EXCLUDED_RESOURCES),
        "storageLocation": LOCATION,
        "ttl": f"{schedule.ttl_hours}h0m0s",
        # Weights are re-staged from their source, never restored: their volumes carry the exclude label.
        "snapshotVolumes": not file_system_backup,
        "snapshotMoveData": not file_system_backup,
        "defaultVolumesToFsBackup": file_system_backup,
    }
    return {
        "schedule": cron_for_interval(schedule.interval_minutes),
        # If true, deleting the Schedule would delete its backups.
        "useOwnerReferencesInBackup": False,
        "template": template,
    }


def _digest(registry: RegistryConfig, image: versions.PinnedImage) -> dict[str, str]:
    digest = image_digest(registry, image)
    return {"digest": digest} if digest else {}


def velero_values(args: VeleroArgs) -> dict:
    registry = args.cluster.registry_server
    site = args.cluster.registry
    restricted_pod = {"runAsNonRoot": True, "runAsUser": 65532, "fsGroup": 65532,
                      "seccompProfile": {"type": "RuntimeDefault"}}
    restricted_container = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}}
    plugin_image = versions.VELERO_AWS_PLUGIN
    plugin = {
        "name": "velero-plugin-for-aws",
        "image": pinned_reference(site, plugin_image),
        "imagePullPolicy": "IfNotPresent",
        "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        "securityContext": restricted_container,
        # It copies the plugin binary into the shared volume and exits.
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}},
    }
    # Kopia's uploads and restores hold chunks in memory; the limits bound them (the chart sets none).
    node_agent: dict = {"podSecurityContext": restricted_pod, "containerSecurityContext": restricted_container,
                        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"},
                                      "limits": {"cpu": "2", "memory": "2Gi"}}}
    if not args.file_system_backup:
        # CSI snapshot data movement runs in data mover pods that mount the snapshot's PVC; only
        # file-system backup reads pod volumes from the host.
        node_agent["disableHostPath"] = True
    return {
        # The chart writes `repository@digest` when a digest is given (the tag then only documents it).
        "image": {"repository": mirrored(registry, "docker.io/velero/velero"), "imagePullSecrets": [_k8s.PULL_SECRET],
                  **_digest(site, versions.VELERO.image("docker.io/velero/velero"))},
        "initContainers": [plugin],
        "podSecurityContext": restricted_pod,
        "containerSecurityContext": restricted_container,
        # Velero's own documented sizing for the server; the CRD upgrade Job only applies manifests.
        "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "upgradeJobResources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "100m", "memory": "256Mi"}},
        # Helm never upgrades the CRDs in a chart's crds/ folder; the chart's hook Job applies them
        # on every upgrade, with kubectl from the private registry.
        "upgradeCRDs": True,
        # The CRD upgrade Job runs the Velero image itself (pinned above); the chart's kubectl serves only its
        # cleanup Job, which the platform does not render.
        "kubectl": {"image": {"repository": mirrored(registry, "registry.k8s.io/kubectl")}},
        "credentials": {"useSecret": True, "existingSecret": CREDENTIALS},
        # Locations and schedules are typed objects of this program, so policies and reviews see them.
        "configuration": {
            "backupStorageLocation": [],
            "volumeSnapshotLocation": [],
            "uploaderType": "kopia",
            "features": "EnableCSI",
            "defaultSnapshotMoveData": not args.file_system_backup,
            "defaultVolumesToFsBackup": args.file_system_backup,
        },
        "snapshotsEnabled": not args.file_system_backup,
        # The node agent runs both CSI snapshot data movement and file-system backup.
        "deployNodeAgent": True,
        "nodeAgent": node_agent,
        # Settings of a ServiceMonitor go only where one is rendered: the chart reads them behind `enabled`.
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True, "additionalLabels": MONITOR_LABELS}
                    if args.monitoring is not None else {"enabled": False}},
        "schedules": {},
    }
