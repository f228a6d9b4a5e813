"""The site a stack previews against: derived from the stack's own names, or described by an inventory file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from offline import site
from offline.run import ROOT, evaluate
from offline.world import FakeWorld, LookupFailed, Mode
from tests.conftest import offline_cli

SITE_FILE = ROOT / "tests" / "data" / "site-dev.yaml"
NEW_SITE = {"server": "vcenter.dr.stmarys.local", "datacenter": "StMarys-DC", "computeCluster": "GPU-Cluster-01",
            "datastore": "vsanDatastore-stmarys", "workloadNetwork": "dvpg-llm-workload", "storagePolicy": "stmarys-encrypted"}


def _inventory(tmp_path: Path, edit) -> Path:
    document = yaml.safe_load(SITE_FILE.read_text())
    edit(document["vcenters"]["vcenter-lab.hospital.example"])
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _world(path: Path) -> FakeWorld:
    return FakeWorld("dev", inventory=site.load(path), inventory_source=site.source(path))


def test_no_vcenter_name_is_written_into_the_offline_engine():
    for path in (ROOT / "offline").rglob("*.py"):
        text = path.read_text()
        for stack in ("dev", "prod", "prod-standby"):
            server = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["onprem-llm:vsphere"]["server"]
            assert server not in text, f"{path} names the vCenter of the {stack} stack"


def test_a_new_sites_own_names_preview_with_no_extra_file(tmp_path):
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["onprem-llm:vsphere"].update(NEW_SITE)
    stack_file = tmp_path / "Pulumi.stmarys.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--config", str(stack_file))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    # With a file that describes the site but lacks the stack's datastore, the same stack fails, naming both.
    inventory = tmp_path / "stmarys-site.yaml"
    inventory.write_text(yaml.safe_dump({"vcenters": {NEW_SITE["server"]: {
        "datacenters": {NEW_SITE["datacenter"]: {"clusters": {NEW_SITE["computeCluster"]: {}},
                                                 "datastores": ["local-esx01"], "networks": [NEW_SITE["workloadNetwork"]]}},
        "storagePolicies": [NEW_SITE["storagePolicy"]]}}}))
    result = offline_cli("preview", "--stack", "dev", "--stand-in-secrets", "--config", str(stack_file),
                         "--site-inventory", str(inventory))
    assert result.returncode == 2, result.stdout[-2000:]
    assert "datastore 'vsanDatastore-stmarys' not found" in result.stderr
    assert f"site inventory {inventory}" in result.stderr and "local-esx01" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_derived_site_holds_exactly_the_stacks_names(raw_config):
    raw = raw_config("prod")
    derived = site.derived(raw)
    assert list(derived) == [raw["vsphere"]["server"]]
    datacenter = derived[raw["vsphere"]["server"]]["datacenters"][raw["vsphere"]["datacenter"]]
    assert datacenter["datastores"] == [raw["vsphere"]["datastore"]]
    assert derived[raw["vsphere"]["server"]]["supervisors"] == {raw["tanzu"]["supervisorId"]: []}


def test_a_name_the_site_inventory_lacks_fails_naming_it_and_the_file(raw_config):
    raw = raw_config("dev")
    raw["vsphere"]["datacenter"] = "dc-nowhere"
    with pytest.raises(LookupFailed, match=rf"datacenter 'dc-nowhere' not found .*site inventory {SITE_FILE}"):
        evaluate("dev", raw, world=_world(SITE_FILE), mode=Mode.PREVIEW)


def test_a_site_inventory_without_the_stacks_vcenter_names_the_vcenters_it_has(raw_config, tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"vcenters": {"vc.other.example": {}}}')
    with pytest.raises(LookupFailed, match=r"vCenter 'vcenter-lab.hospital.example' is not in site inventory .*"
                                           r"vc\.other\.example.*vsphere\.server"):
        evaluate("dev", raw_config("dev"), world=_world(path), mode=Mode.PREVIEW)


def test_the_shipped_site_file_fits_the_dev_stack_and_an_existing_namespace_is_refused(raw_config, tmp_path):
    assert evaluate("dev", raw_config("dev"), world=_world(SITE_FILE), mode=Mode.PREVIEW).graph.records
    path = _inventory(tmp_path, lambda vc: vc["supervisors"]["domain-c1008"]["namespaces"].append("llm-platform-dev"))
    with pytest.raises(LookupFailed, match="vSphere Namespace 'llm-platform-dev': it exists already.*supervisorNamespace"):
        evaluate("dev", raw_config("dev"), world=_world(path))
    path = _inventory(tmp_path, lambda vc: vc["supervisors"].pop("domain-c1008"))
    with pytest.raises(LookupFailed, match="Supervisor 'domain-c1008' not found.*tanzu.supervisorId"):
        evaluate("dev", raw_config("dev"), world=_world(path))


def test_the_gpu_pool_must_fit_the_hosts_the_site_lists(raw_config, tmp_path):
    raw = raw_config("dev")
    path = _inventory(tmp_path, lambda vc: vc["datacenters"]["dc-lab"]["clusters"]["lab-gpu-cluster"]["hosts"].update(
        {h: {"gpus": ["L40S", "L40S"]} for h in vc["datacenters"]["dc-lab"]["clusters"]["lab-gpu-cluster"]["hosts"]}))
    with pytest.raises(site.SiteInventoryError, match=r"gpuPool.gpuModel: 'A100-80GB'.*\{'L40S': 4\}"):
        site.check_gpus(site.load(path), site.source(path), raw)
    raw["gpuPool"].update(gpuModel="L40S", mode="passthrough", nodes=3, gpusPerNode=2)
    with pytest.raises(site.SiteInventoryError, match="6 L40S GPUs in passthrough.*have 4"):
        site.check_gpus(site.load(path), site.source(path), raw)
    raw["gpuPool"]["nodes"] = 2
    site.check_gpus(site.load(path), site.source(path), raw)


@pytest.mark.parametrize(("text", "expected"), [
    ("vcenters: {}", "vcenters: List should have at least 1 item|vcenters: Dictionary should have at least 1 item"),
    ("vcenters:\n  vc.example:\n    datacenter: {}\n", r"vcenters.vc.example.datacenter: Extra inputs are not permitted"),
    ("vcenters: [1", "not valid YAML"),
])
def test_a_malformed_site_inventory_names_the_file_and_the_key(tmp_path, text, expected):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    with pytest.raises(site.SiteInventoryError, match=expected) as caught:
        site.load(path)
    assert str(path) in str(caught.value)
