"""AriaIntegration: the design document's Aria Automation project and vSphere cloud account, as code.

Aria gives a site self-service and governance beside Pulumi (catalog items, approvals, quotas on
the GPU zone). Pulumi stays the source of truth for everything created here: edits made in the Aria
UI to these objects are reverted by the next `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumiverse_vra as vra

from components.config.model import AriaConfig, VsphereConfig
from components.resources.gpu_host_pool import GpuHostPool

TYPE = "onprem:platform:AriaIntegration"


@dataclass(frozen=True)
class AriaIntegrationArgs:
    aria: AriaConfig
    vsphere: VsphereConfig
    """The vCenter the cloud account connects to (the GPU host pool's)."""
    host_pool: GpuHostPool
    vsphere_password: pulumi.Input[str]
    refresh_token: pulumi.Input[str]


class AriaIntegration(pulumi.ComponentResource):
    project_id: pulumi.Output[str]
    cloud_account_id: pulumi.Output[str]
    zone_id: pulumi.Output[str]

    def __init__(self, name: str, args: AriaIntegrationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        aria, site, pool = args.aria, args.vsphere, args.host_pool
        provider = vra.Provider(
            f"{name}-vra",
            url=aria.url,
            refresh_token=pulumi.Output.secret(args.refresh_token),
            insecure=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        invoke = pulumi.InvokeOptions(parent=self, provider=provider)

        # Aria names a vSphere region after the datacenter's managed object id.
        region_name = pool.datacenter_id.apply(lambda moid: f"Datacenter:{moid}")
        account = vra.cloudaccount.VSphere(
            f"{name}-vsphere",
            name=f"{name}-{site.server}",
            description="vCenter of the on-prem LLM platform (managed by Pulumi)",
            hostname=site.server,
            username=site.user,
            password=pulumi.Output.secret(args.vsphere_password),
            regions=[region_name],
            accept_self_signed_cert=aria.accept_self_signed_cert,
            tags=[vra.cloudaccount.VSphereTagArgs(key="managed-by", value="pulumi")],
            opts=child,
        )
        # Assumed: creating the account enables the regions it names before returning, so this lookup
        # (skipped in preview: the account id is unknown) finds the region right after the create.
        region = vra.region.get_region_output(cloud_account_id=account.id, region=region_name, opts=invoke)
        # Aria enumerates vCenter at its data collection (every 10 minutes by default), so right after
        # `pulumi up` creates the GPU resource pool no lookup can find it as a fabric compute yet. The
        # zone selects computes by the pool's platform tag instead: Aria adds the pool to the zone at
        # its next data collection, and until then the zone has no compute to place machines on.
        zone = vra.zone.Zone(
            f"{name}-gpu-zone",
            name=f"{aria.project_name}-gpu",
            description="GPU hosts of the on-prem LLM platform",
            region_id=region.id,
            tags_to_matches=[vra.zone.ZoneTagsToMatchArgs(key=pool.role_tag_category, value=pool.platform_tag)],
            placement_policy="DEFAULT",
            # Capability tags match the vSphere tags on the GPU hosts, so blueprints can demand them.
            tags=[vra.zone.ZoneTagArgs(key=pool.role_tag_category, value=tag) for tag in pool.role_tags],
            opts=child,
        )
        project = vra.project.Project(
            f"{name}-project",
            name=aria.project_name,
            description=aria.project_description,
            administrator_roles=[vra.project.ProjectAdministratorRoleArgs(email=e, type="user") for e in aria.administrators],
            member_roles=[vra.project.ProjectMemberRoleArgs(email=e, type="user") for e in aria.members],
            zone_assignments=[vra.project.ProjectZoneAssignmentArgs(
                zone_id=zone.id, priority=1, cpu_limit=aria.cpu_limit, memory_limit_mb=aria.memory_limit_mb,
                storage_limit_gb=aria.storage_limit_gb, max_instances=aria.max_instances,
            )],
            opts=child,
        )
        self.project_id, self.cloud_account_id, self.zone_id = project.id, account.id, zone.id
        self.register_outputs({"projectId": project.id, "cloudAccountId": account.id, "zoneId": zone.id})
