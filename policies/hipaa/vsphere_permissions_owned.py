"""vCenter permissions only on entities the stack creates."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._rule import Resource, Rule

ENTITY_PERMISSIONS = "vsphere:index/entityPermissions:EntityPermissions"
# What the program creates in vCenter and may therefore own every direct permission of.
OWNED_ENTITY_TYPES = ("ResourcePool", "Folder")


def check(resource: Resource, config: dict) -> list[str]:
    if resource.type != ENTITY_PERMISSIONS:
        return []
    entity_type = resource.props.get("entityType")
    if entity_type in config["ownedEntityTypes"]:
        return []
    return [f"{resource.name} grants on a {entity_type} ({resource.props.get('entityId')}), an entity the stack only "
            "looks up: the provider reads back every direct permission of its entity and removes the others' on the "
            "next update and on destroy; grant on the resource pool or folder the stack creates"]


RULE = Rule(
    name="vsphere-permissions-owned",
    title="vCenter permissions only on what the stack owns",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="Entity permissions are granted only on resource pools and folders the stack creates. The vSphere "
    "provider takes over every direct permission of the entity it manages, so a grant on a shared cluster or "
    "datacenter would strip the site's own administrators of their access.",
    check=check,
    config={"ownedEntityTypes": {"type": "array", "items": {"type": "string"}, "default": list(OWNED_ENTITY_TYPES),
                                 "description": "Entity types the stack creates and may manage the permissions of."}},
)
