"""DrSite: this site's part of disaster recovery, in its own stack.

Each site is its own stack and its own program run, so a failed site never stops the other's
`pulumi up`. At the primary, DR is the backups: Velero writes the serving and monitoring namespaces
to the backup bucket on the configured schedules. At the standby, Velero reads the same bucket with
keys that cannot write, and, once the standby takes over (``dr.active``) with
``dr.restoreFromSchedule``, restores the newest completed backup of that schedule.

What a recovery depends on lives outside both stacks, so no destroy can take it: the bucket and its
objects, and the repositories' encryption key (the secret ``backupRepositoryPassword``, kept in the
site's vault and set on both stacks). The objects here only point at them and are recreated from
config.

| mode | standby stack while not active | failover (`dr.active: true`) |
|---|---|---|
| backup-restore | nothing (its config is kept, checked by every preview) | the whole site, then a restore |
| pilot-light | cluster, GPU pool at dr.standbyGpuNodes (0 allowed), Velero reading | GPUs to gpuPool.nodes, models, gateway |
| warm-standby | the above plus every model Ready at dr.standbyReplicas, gateway, monitoring | replicas to the primary's bounds |
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.builders import k8s as _k8s
from components.builders.ai_gateway import REDIS_NAMESPACE
from components.config import DrConfig
from components.planning.dr_plan import DrFigures
from components.resources.tanzu_cluster import ClusterCore
from components.resources.velero import LOCATION, BackupSchedule, Velero, VeleroArgs
from components.resources.velero import NAMESPACE as VELERO_NAMESPACE

TYPE = "onprem:platform:DrSite"


@dataclass(frozen=True)
class DrSiteArgs:
    dr: DrConfig
    """Mode, targets, backup storage and, at a standby, whether it has taken over."""
    figures: DrFigures
    """Achieved RPO and RTO of this configuration."""
    cluster: ClusterCore
    """This site's workload cluster."""
    standby: bool
    """True at the standby: read the backups (and restore when active) instead of writing them."""
    access_key_id: pulumi.Input[str]
    """The backup bucket's identity: read-write at the primary, read-only at the standby."""
    secret_access_key: pulumi.Input[str]
    repository_password: pulumi.Input[str]
    """The Kopia repositories' encryption key, the same on both stacks (the secret ``backupRepositoryPassword``)."""
    api_server_cidrs: tuple[str, ...]
    pod_security: tuple[str, str]
    """Pod Security level of Velero's namespace and why (see VeleroArgs)."""
    monitoring: pulumi.Resource | None = None
    """This site's kube-prometheus-stack Release; Velero's ServiceMonitor waits for it. None: no monitoring here."""
    lock_check_image: str | None = None
    """Image that verifies the backup bucket's Object Lock (the audit tools image)."""


class DrSite(pulumi.ComponentResource):
    mode: str
    rpo_minutes: int
    rto_minutes: int
    backup_location: str
    restore_name: str | None
    """The Velero Restore this stack owns (an active standby with dr.restoreFromSchedule); else None."""

    def __init__(self, name: str, args: DrSiteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        dr, storage = args.dr, args.dr.backup_storage
        if storage is None:
            raise ValueError("dr.backupStorage is required; config validation should have refused this")
        self.mode, self.rpo_minutes, self.rto_minutes = dr.mode, args.figures.rpo_minutes, args.figures.rto_minutes
        self.restore_name = None
        velero = Velero(f"{name}-velero-{'standby' if args.standby else 'primary'}", VeleroArgs(
            cluster=args.cluster, storage=storage, access_mode="ReadOnly" if args.standby else "ReadWrite",
            access_key_id=args.access_key_id, secret_access_key=args.secret_access_key,
            api_server_cidrs=args.api_server_cidrs,
            schedules=() if args.standby else schedules(dr, args.cluster),
            file_system_backup=dr.file_system_backup, pod_security=args.pod_security,
            monitoring=args.monitoring, repository_password=args.repository_password,
            lock_check_image=None if args.standby else args.lock_check_image,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.backup_location = velero.location_name
        if args.standby and dr.active and dr.restore_from_schedule:
            self.restore_name = f"failover-{dr.restore_from_schedule}"
            # Velero restores the newest completed backup of the schedule; the object records what it restored.
            k8s.apiextensions.CustomResource(
                f"{name}-restore", api_version="velero.io/v1", kind="Restore",
                metadata=_k8s.metadata(self.restore_name, VELERO_NAMESPACE,
                                       _k8s.labels("velero", name, "restore")),
                spec={"scheduleName": dr.restore_from_schedule, "existingResourcePolicy": "none",
                      "includedNamespaces": [args.cluster.serving_namespace, args.cluster.monitoring_namespace],
                      "restorePVs": True},
                opts=pulumi.ResourceOptions(parent=self, provider=args.cluster.provider, depends_on=[velero]),
            )
        self.register_outputs({
            "mode": self.mode, "rpoMinutes": self.rpo_minutes, "rtoMinutes": self.rto_minutes,
            "backupLocation": self.backup_location, "restoreName": self.restore_name,
        })


def schedules(dr: DrConfig, cluster: ClusterCore) -> tuple[BackupSchedule, ...]:
    """The primary's backup schedules of its serving and monitoring namespaces and the quota counters."""
    namespaces = (cluster.serving_namespace, cluster.monitoring_namespace, REDIS_NAMESPACE)
    found = [BackupSchedule("platform-frequent", dr.backup_interval_minutes, dr.backup_ttl_hours, namespaces)]
    if dr.long_term_ttl_hours:
        # One copy a day kept long, for retention duties beyond the operational window.
        found.append(BackupSchedule("platform-daily", 24 * 60, dr.long_term_ttl_hours, namespaces))
    return tuple(found)


__all__ = ["LOCATION", "DrSite", "DrSiteArgs", "schedules"]
