"""Preview artefacts: manifests valid for the cluster's Kubernetes version, no secret leaks, determinism."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

from offline.render import tree, write_outputs
from offline.run import evaluate, stack_config


def _all_files(directory):
    return sorted(p for p in directory.rglob("*") if p.is_file())


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_builtin_manifests_pass_strict_schema_validation(stack, rendered):
    version = stack_config(stack)["tanzu"]["kubernetesVersion"] + ".0"
    checked, custom = 0, 0
    for path in sorted((rendered[stack] / "manifests").glob("*.yaml")):
        try:
            kubernetes_validate.validate(yaml.safe_load(path.read_text()), version, strict=True)
            checked += 1
        except SchemaNotFoundError:
            custom += 1  # custom resources: the tool carries schemas for built-in kinds only
    assert checked >= 9 and custom >= 1


def test_validator_rejects_a_misspelt_field(rendered):
    path = next((rendered["prod"] / "manifests").glob("*networkpolicy--default-deny.yaml"))
    document = yaml.safe_load(path.read_text())
    document["spec"]["podSelectr"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, "1.32.0", strict=True)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_secret_value_reaches_any_written_file_or_the_tree(stack, rendered, evaluations):
    evaluation = evaluations[stack]
    assert len(evaluation.world.secret_values) >= 4
    texts = [p.read_text() for p in _all_files(rendered[stack])] + [tree(evaluation)]
    for value in evaluation.world.secret_values:
        assert not any(value in text for text in texts), f"secret stand-in {value[:20]}... leaked"


def test_secret_data_keeps_its_shape_with_values_redacted(rendered):
    path = next((rendered["prod"] / "manifests").glob("*secret--registry-pull.yaml"))
    document = yaml.safe_load(path.read_text())
    assert document["stringData"] == {".dockerconfigjson": "[secret]"}


def test_inventory_lists_every_resource_with_its_options(rendered, prod):
    inventory = json.loads((rendered["prod"] / "inventory.json").read_text())
    assert len(inventory["resources"]) == len(prod.graph)
    for resource in inventory["resources"]:
        assert {"type", "name", "urn", "parent", "provider", "inputs", "options"} <= set(resource)
        if not resource["read"]:
            assert "protect" in resource["options"] and "retainOnDelete" in resource["options"]


def test_manifests_carry_the_recommended_labels(rendered):
    for path in (rendered["prod"] / "manifests").glob("*.yaml"):
        labels = yaml.safe_load(path.read_text())["metadata"]["labels"]
        for key in ("name", "instance", "component", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels, f"{path.name} lacks app.kubernetes.io/{key}"


def test_two_runs_write_identical_bytes(rendered, tmp_path):
    again = evaluate("prod")
    write_outputs(again, tmp_path)
    first = {p.relative_to(rendered["prod"]): p.read_bytes() for p in _all_files(rendered["prod"])}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in _all_files(tmp_path)}
    assert first == second
