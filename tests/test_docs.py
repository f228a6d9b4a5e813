"""The generated references in docs/ match the code they are made from, and every alert has its runbook section."""

from __future__ import annotations

from pydantic import BaseModel

from components.config import model as config
from tools import config_reference, outputs_schema

OPERATING = config_reference.DOC.parent / "operating.md"
"""The runbook the alerts link to (observability.runbookBaseUrl)."""


def test_config_reference_matches_the_models():
    text = config_reference.DOC.read_text()
    assert config_reference.render_doc(text) == text, "docs/config-reference.md is stale; run `make docs`"


def test_every_config_field_is_described_and_typed():
    models = [
        v for v in vars(config).values()
        if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == config.__name__
    ]
    assert len(models) >= 10
    for model in models:
        for name, field in model.model_fields.items():
            if model is config.PlatformConfig:
                continue  # its fields are the sections, described by their models' docstrings
            assert field.description, f"{model.__name__}.{name} has no description"
            assert field.annotation is not None, f"{model.__name__}.{name} has no type"


def test_every_alert_links_to_a_runbook_section_that_exists(prod):
    runbook = OPERATING.read_text()
    rules = prod.graph.named("observability-rules").inputs["spec"]["groups"]
    alerts = {rule["alert"] for group in rules for rule in group["rules"] if "alert" in rule}
    assert len(alerts) >= 12
    for alert in alerts:
        assert f'<a id="alert-{alert.lower()}"></a>' in runbook, f"docs/operating.md runbook has no section for {alert}"


def test_runbook_urls_point_at_the_operating_guide(dev, prod):
    default = config.ObservabilityConfig.model_fields["runbook_base_url"].default
    assert (config_reference.DOC.parents[1] / default).resolve() == OPERATING.resolve()
    for stack in (dev, prod):
        rules = stack.graph.named("observability-rules").inputs["spec"]["groups"]
        urls = {rule["annotations"]["runbook_url"].split("#")[0] for group in rules for rule in group["rules"]
                if "alert" in rule}
        assert urls and all(url.endswith("docs/operating.md") for url in urls), urls


def test_outputs_reference_matches_the_contract():
    text = outputs_schema.DOC.read_text()
    assert outputs_schema.render_doc(text) == text, "docs/outputs-contract.md outputs reference is stale; run `make docs`"


def test_chart_versions_named_in_the_docs_are_the_locked_ones():
    import json
    import re

    root = config_reference.DOC.parent.parent
    charts = json.loads((root / "artifacts.lock.json").read_text())["charts"]
    pattern = re.compile(r"`(" + "|".join(map(re.escape, charts)) + r")` (v?\d+\.\d+\.\d+)")
    wrong = [f"{path.name}: {name} {version} (locked: {charts[name]['version']})"
             for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
             for name, version in pattern.findall(path.read_text())
             if version.lstrip("v") != charts[name]["version"].lstrip("v")]
    assert not wrong
