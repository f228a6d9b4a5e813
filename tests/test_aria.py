"""AriaIntegration: the cloud account, GPU zone and project as code, only where the switch is on."""

from __future__ import annotations

import pytest

from components.config import SECRET_KEYS, ConfigError, parse_config
from offline.record import Secret
from offline.run import stack_config

ACCOUNT = "vra:cloudaccount/vSphere:VSphere"
ZONE = "vra:zone/zone:Zone"
PROJECT = "vra:project/project:Project"


def test_prod_has_account_zone_and_project_on_an_explicit_vra_provider(prod):
    provider = prod.graph.named("aria-vra", "pulumi:providers:vra")
    assert provider.inputs["url"] == "https://aria.hospital.example"
    assert isinstance(provider.inputs["refreshToken"], Secret)
    assert provider.inputs["insecure"] == "false"
    for type_ in (ACCOUNT, ZONE, PROJECT):
        (record,) = prod.graph.of_type(type_)
        assert record.provider_urn == provider.urn, type_


def test_cloud_account_targets_the_gpu_pools_vcenter_and_datacenter(prod):
    account = prod.graph.named("aria-vsphere", ACCOUNT).inputs
    assert account["hostname"] == "vcenter-a.hospital.example"
    assert isinstance(account["password"], Secret)
    assert account["acceptSelfSignedCert"] is False
    provider = prod.graph.named("primary-vsphere")
    datacenter = prod.world.call("vsphere:index/getDatacenter:getDatacenter", {"name": "dc-a"},
                                 f"{provider.urn}::{provider.id}")
    assert account["regions"] == [f"Datacenter:{datacenter['id']}"]


def test_zone_selects_the_gpu_resource_pool_by_its_platform_tag_not_by_a_lookup(prod):
    """Aria discovers a new pool only at its next data collection: a lookup right after the create fails."""
    zone = prod.graph.named("aria-gpu-zone", ZONE).inputs
    pool = prod.graph.named("primary-gpu", "vsphere:index/resourcePool:ResourcePool")
    platform_tag = prod.graph.named("primary-tag-llm-platform")
    category = prod.graph.named("primary-role")
    assert pool.inputs["tags"] == [platform_tag.id]
    assert zone["tagsToMatches"] == [{"key": category.inputs["name"], "value": platform_tag.inputs["name"]}]
    assert "computeIds" not in zone
    assert not [i for i in prod.invokes if i.token == "vra:fabric/getCompute:getCompute"]
    assert {"key": "primary-llm-role", "value": "gpu-host"} in zone["tags"]


def test_project_has_its_people_the_zone_and_limits(prod):
    project = prod.graph.named("aria-project", PROJECT).inputs
    assert project["name"] == "llm-inference"
    assert project["administratorRoles"] == [{"email": "llm-platform-admins@hospital.example", "type": "user"}]
    (assignment,) = project["zoneAssignments"]
    assert assignment["zoneId"] == prod.graph.named("aria-gpu-zone").id
    assert (assignment["cpuLimit"], assignment["maxInstances"]) == (160, 12)


def test_outputs_carry_the_aria_ids(prod, dev):
    assert prod.outputs["ariaProjectId"] == prod.graph.named("aria-project").id
    assert prod.outputs["ariaZoneId"] == prod.graph.named("aria-gpu-zone").id
    assert dev.outputs["ariaProjectId"] is None


def test_dev_has_no_vra_resource_or_provider(dev):
    assert not [r for r in dev.graph if r.type.startswith(("vra:", "pulumi:providers:vra"))]
    assert not [i for i in dev.invokes if i.token.startswith("vra:")]


def test_missing_refresh_token_fails_validation_clearly():
    with pytest.raises(ConfigError) as caught:
        parse_config(stack_config("prod"), [s.key for s in SECRET_KEYS if s.key != "ariaRefreshToken"])
    assert "ariaRefreshToken: <missing>: secret (Aria Automation API refresh token) is required" in str(caught.value)
    assert "pulumi config set --secret ariaRefreshToken" in str(caught.value)


@pytest.mark.parametrize(("change", "path"), [
    ({"url": None}, "aria.url"),
    ({"acceptSelfSignedCert": True}, "aria.acceptSelfSignedCert"),
    ({"administrators": []}, "aria.administrators"),
])
def test_aria_settings_are_checked(change, path):
    raw = stack_config("prod")
    raw["aria"] = {k: v for k, v in {**raw["aria"], **change}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, [s.key for s in SECRET_KEYS])
    assert any(issue.path == path for issue in caught.value.issues)
