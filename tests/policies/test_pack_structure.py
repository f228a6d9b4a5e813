"""Every policy carries its metadata, cites a HIPAA section, and has a test module with good and bad cases."""

from __future__ import annotations

import re
from pathlib import Path

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from offline.checks.policy import hipaa

CITATIONS = {"164.312(a)(1)", "164.312(a)(2)(iv)", "164.312(b)", "164.312(c)(1)", "164.312(d)", "164.312(e)(1)",
             "164.308(a)(7)", "164.316(b)(2)"}
TESTS = Path(__file__).parent


def test_every_rule_has_metadata_a_citation_and_tests():
    names = [rule.name for rule in hipaa.RULES]
    assert len(names) == len(set(names)) >= 15
    for rule in hipaa.RULES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name) and rule.name != "all"
        assert rule.citation in CITATIONS, rule.name
        assert rule.title and rule.description.count(". ") >= 1, rule.name
        assert all("default" in schema and "description" in schema for schema in rule.config.values()), rule.name
        module = rule.check.__module__.rsplit(".", 1)[-1]
        test_file = TESTS / f"test_{module}.py"
        assert test_file.exists(), f"{rule.name} has no {test_file.name}"
        text = test_file.read_text()
        assert "def test_good_01" in text and "def test_bad_01" in text, test_file.name


def test_every_cited_section_is_served():
    assert {rule.citation for rule in hipaa.RULES} == CITATIONS


def test_rules_become_crossguard_policies_with_the_hipaa_framework():
    for rule, policy in zip(hipaa.RULES, hipaa.policies(), strict=True):
        assert isinstance(policy, StackValidationPolicy if rule.stack else ResourceValidationPolicy)
        assert policy.name == rule.name
        assert policy.framework.reference == f"45 CFR {rule.citation}"
        assert f"(45 CFR {rule.citation})" in policy.description


def test_pack_name_is_valid_and_main_only_assembles():
    assert re.fullmatch(r"[a-zA-Z0-9-_.]{1,100}", hipaa.PACK_NAME)
    main = (TESTS.parent.parent / "policies" / "__main__.py").read_text()
    assert "PolicyPack(" in main and "def " not in main
