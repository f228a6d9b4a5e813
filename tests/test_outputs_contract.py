"""The stack outputs as a contract: schema current and versioned, outputs valid, secrets secret."""

from __future__ import annotations

import json

import jsonschema
import pytest

from components.outputs import SECRET_OUTPUTS, StackOutputs
from offline.record import Secret, redact, reveal
from tests.conftest import STACKS
from tools import outputs_schema


@pytest.fixture(scope="module")
def schema():
    return json.loads(outputs_schema.SCHEMA.read_text())


def test_committed_schema_is_current_and_its_version_recorded():
    assert outputs_schema.problems() == []


def test_a_schema_change_without_a_new_version_is_refused(monkeypatch):
    changed = outputs_schema.schema_text().replace('"Workload cluster name."', '"Renamed."')
    monkeypatch.setattr(outputs_schema, "schema_text", lambda: changed)
    assert any("CONTRACT_VERSION" in problem for problem in outputs_schema.problems())


@pytest.mark.parametrize("stack", STACKS)
def test_exported_outputs_validate_against_the_schema(stack, evaluations, schema):
    outputs = reveal(evaluations[stack].outputs)
    jsonschema.validate(outputs, schema)
    StackOutputs.model_validate(outputs)
    assert set(outputs) == {field.alias or name for name, field in StackOutputs.model_fields.items()}


def test_redacted_outputs_json_keeps_its_shape(prod, schema, rendered):
    written = json.loads((rendered["prod"] / "outputs.json").read_text())
    assert written == redact(prod.outputs)
    jsonschema.validate(written, schema)


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_output_is_plain(stack, evaluations):
    outputs = evaluations[stack].outputs
    assert set(SECRET_OUTPUTS) == {"kubeconfig", "grafanaAdminPassword"}
    for name in SECRET_OUTPUTS:
        assert isinstance(outputs[name], Secret) or outputs[name] is None, name
    plain = json.dumps({k: v for k, v in reveal(outputs).items() if k not in SECRET_OUTPUTS})
    for value in evaluations[stack].world.secret_values:
        assert value not in plain


def test_schema_rejects_a_missing_output(prod, schema):
    outputs = reveal(prod.outputs)
    del outputs["models"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(outputs, schema)
