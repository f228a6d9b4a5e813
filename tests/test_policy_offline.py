"""The pack run offline over whole stacks, as `python -m offline policy` and the preview do."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from offline.__main__ import main
from offline.checks.compliance import compliance
from offline.checks.policy import PolicyReport, run_pack
from offline.render import inventory
from offline.run import ROOT
from tests.conftest import STACKS
from tools.policy_config import CONFIG_DIR, for_stack, render


@pytest.fixture(scope="module")
def prod_inventory(prod):
    return inventory(prod)


def _config(stack):
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_committed_policy_config_matches_the_stack(stack):
    assert (CONFIG_DIR / f"{stack}.json").read_text() == render(for_stack(stack)), \
        f"run `python -m tools.policy_config --stack {stack} --write`"


@pytest.mark.parametrize("stack", STACKS)
def test_sample_stacks_pass_every_policy(stack, evaluations):
    report = run_pack(inventory(evaluations[stack]), _config(stack))
    assert report.violations == []
    assert len(report.levels) >= 15 and all(report.checked.values())


def test_dev_downgrades_only_the_documented_policies():
    levels = {name: entry.get("enforcementLevel") for name, entry in _config("dev").items() if isinstance(entry, dict)}
    assert {name for name, level in levels.items() if level} == {"stateful-protected", "vsphere-tls"}
    assert not any(isinstance(e, dict) and "enforcementLevel" in e for e in _config("prod").values())


def _mutate(inventory_doc, name, change, type_suffix=""):
    document = copy.deepcopy(inventory_doc)
    record = next(r for r in document["resources"] if r["name"] == name and r["type"].endswith(type_suffix))
    change(record, document)
    return document


def _privileged(record, _):
    record["inputs"]["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True


def _no_memory_limit(record, _):
    del record["inputs"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]


def _load_balancer(record, _):
    record["inputs"]["spec"]["type"] = "LoadBalancer"


def _delete(record, document):
    document["resources"].remove(record)


def _optional_jwt(record, _):
    record["inputs"]["spec"]["jwt"]["optional"] = True


def _no_reservations(record, _):
    rules = record["inputs"]["spec"]["rateLimit"]["global"]["rules"]
    rules[:] = [r for r in rules if "response" in r.get("cost", {"response": None})]


MUTATIONS = [
    ("gateway-authentication", _optional_jwt, "", "gateway-authentication", "HTTPRoute::gateway-models-route-0"),
    ("gateway-authentication", _optional_jwt, "", "ai-gateway-authenticated", "SecurityPolicy::gateway-authentication"),
    ("gateway-strip-identity-headers", _delete, "", "gateway-identity-headers-stripped",
     "SecurityPolicy::gateway-authentication"),
    ("gateway-token-limits", _no_reservations, "", "ai-gateway-token-reservation", "AIGatewayRoute::gateway-route"),
    ("gateway-token-limits", _delete, "", "ai-gateway-token-limited", "AIGatewayRoute::gateway-route"),
    ("llama-2-7b-chat-server", _privileged, "", "pod-security-restricted", "Deployment::llama-2-7b-chat-server"),
    ("llama-2-7b-chat-server", _no_memory_limit, "", "container-resources", "Deployment::llama-2-7b-chat-server"),
    ("llama-2-7b-chat-api", _load_balancer, "Service", "no-external-services", "Service::llama-2-7b-chat-api"),
    ("primary-serving-default-deny", _delete, "", "default-deny-network-policy", "Namespace::primary-ns-serving"),
]


@pytest.mark.parametrize(("name", "change", "suffix", "policy", "urn_end"), MUTATIONS, ids=[m[3] for m in MUTATIONS])
def test_cli_exits_1_and_names_policy_and_resource(prod_inventory, tmp_path, capsys, name, change, suffix, policy,
                                                   urn_end):
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(_mutate(prod_inventory, name, change, suffix)))
    # The command's main in this process, with the pack in-process too: that the pack's own process (over gRPC)
    # reports these very mutations as the in-process run does is test_analyzer's, and the command as a process,
    # exit code and all, is test_cli_passes_the_unchanged_inventory's.
    code = main(["policy", "--inventory", str(path), "--in-process"])
    out = capsys.readouterr()
    assert code == 1, out.out + out.err
    assert f"[mandatory] {policy}: " in out.out
    assert urn_end in out.out


def test_cli_passes_the_unchanged_inventory(prod_inventory, tmp_path):
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(prod_inventory))
    result = subprocess.run([sys.executable, "-m", "offline", "policy", "--inventory", str(path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "0 mandatory" in result.stdout


def test_advisory_violations_do_not_fail(prod_inventory):
    document = _mutate(prod_inventory, "primary-vsphere", lambda r, _: r["inputs"].update(allowUnverifiedSsl="true"))
    config = {**_config("prod"), "vsphere-tls": {"enforcementLevel": "advisory"}}
    report = run_pack(document, config)
    assert [v.policy for v in report.violations] == ["vsphere-tls"] and report.mandatory == []


def test_compliance_report_lists_sections_exceptions_and_organisational_controls(prod_inventory):
    config = _config("prod")
    document = compliance(run_pack(prod_inventory, config), config)
    assert "164.312(a)(1)" in document["sections"] and "164.316(b)(2)" in document["sections"]
    assert {"policy": "pod-security-restricted", "namespace": "gpu-operator",
            "reason": "GPU driver and container toolkit load kernel modules and reconfigure containerd"} in document["exceptions"]
    assert any("Business Associate" in control for control in document["organisational"])
    assert document["mandatoryViolations"] == 0


def test_compliance_report_lists_every_checkov_exception_with_its_reason():
    from offline.checks import checkov
    from offline.checks.compliance import markdown

    document = compliance(PolicyReport(), _config("prod"))
    entries = checkov.load()
    assert len(document["checkovExceptions"]) == len(entries) > 0
    text = markdown(document)
    for entry, row in zip(entries, document["checkovExceptions"], strict=True):
        assert row == {"checks": ", ".join(entry.checks), "chart": entry.chart, "objects": entry.objects(),
                       "reason": entry.reason}
        assert f"| {row['checks']} | {entry.chart} | {row['objects']} | {entry.reason} |" in text
