"""CRD validation rules (CEL): the Kubernetes functions against the Kubernetes documentation's examples,
and the API server's scoping of ``self``, defaults, escaping, messages and transition rules."""

from __future__ import annotations

import pytest

from offline.checks import cel_rules


def _eval(expression: str, self_value=None):
    compiled = cel_rules.compile_rule(expression)
    assert compiled.skip is None, compiled.skip
    from offline.checks.cel_library import VARIABLES

    return compiled.program.evaluate({"self": self_value, **VARIABLES})


# The examples the Kubernetes CEL documentation gives for each extension function the pinned CRDs call.
DOCUMENTED = [
    ("'TacoCat'.lowerAscii() == 'tacocat'", True),
    ("'TacoCÆt Xii'.lowerAscii() == 'tacocÆt xii'", True),
    ("'TacoCat'.upperAscii() == 'TACOCAT'", True),
    ("'TacoCÆt Xii'.upperAscii() == 'TACOCÆT XII'", True),
    ("'hello hello hello'.split(' ') == ['hello', 'hello', 'hello']", True),
    ("'hello hello hello'.split(' ', 0) == []", True),
    ("'hello hello hello'.split(' ', 1) == ['hello hello hello']", True),
    ("'hello hello hello'.split(' ', 2) == ['hello', 'hello hello']", True),
    ("'hello hello hello'.split(' ', -1) == ['hello', 'hello', 'hello']", True),
    ("'tacocat'.substring(4) == 'cat'", True),
    ("'tacocat'.substring(0, 4) == 'taco'", True),
    ("isIP('127.0.0.1')", True),
    ("isIP('::1')", True),
    ("isIP('127.0.0.256')", False),
    ("isIP(':::1')", False),
    ("isIP('fe80::1%eth0')", False),
    ("isIP('::ffff:127.0.0.1')", False),
    ("isIP('example.com')", False),
    ("format.dns1123Label().validate('my-name') == optional.none()", True),
    ("!format.dns1123Label().validate('my-name').hasValue()", True),
    ("format.dns1123Label().validate('My_Name').hasValue()", True),
    ("format.dns1123Label().validate('my.name').value() == ['must not contain dots']", True),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_kubernetes_functions_give_the_documented_results(expression, expected):
    assert bool(_eval(expression)) is expected


@pytest.mark.parametrize("expression", ["'tacocat'.substring(-1)", "'tacocat'.substring(2, 1)", "'taco'.substring(9)"])
def test_substring_out_of_range_is_an_error(expression):
    from celpy.evaluation import CELEvalError

    with pytest.raises(CELEvalError):
        _eval(expression)


def test_a_rule_calling_a_function_the_library_lacks_is_skipped_by_name():
    compiled = cel_rules.compile_rule("quantity(self).isGreaterThan(quantity('1Gi'))")
    assert compiled.program is None
    assert compiled.skip == "calls isGreaterThan, quantity, which the checker's CEL library lacks"
    assert cel_rules.skip_reason({"rule": "self == oldSelf", "optionalOldSelf": True}).startswith("optionalOldSelf")
    assert cel_rules.compile_rule("self.(").skip.startswith("cel-python cannot parse it")


SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.min <= self.max", "message": "min must not exceed max"},
                {"rule": "self.mode == 'Fast' || !has(self.burst)", "reason": "FieldValueForbidden",
                 "messageExpression": "'burst needs mode Fast, not ' + self.mode"},
            ],
            "properties": {
                "min": {"type": "integer"}, "max": {"type": "integer", "default": 10},
                "mode": {"type": "string", "default": "Slow"}, "burst": {"type": "integer"},
                "ratio": {"type": "number", "x-kubernetes-validations": [{"rule": "self < 1.0"}]},
                "namespace": {"type": "string"}, "my-key": {"type": "string"},
                "names": {"type": "object", "x-kubernetes-validations": [
                    {"rule": "!has(self.__namespace__) || self.__namespace__ == self.my__dash__key",
                     "message": "namespace must equal my-key", "fieldPath": ".namespace"}],
                    "properties": {"namespace": {"type": "string"}, "my-key": {"type": "string"}}},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "properties": {
                              "name": {"type": "string"},
                              "number": {"type": "integer", "x-kubernetes-validations": [
                                  {"rule": "self == oldSelf", "message": "number is immutable"}]}},
                              "x-kubernetes-validations": [{"rule": "self.number > 0", "message": "number must be positive"}]}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"},
                           "x-kubernetes-validations": [{"rule": "self.all(k, k.split('/')[0].size() < 5)",
                                                         "message": "label prefix too long"}]},
                "tags": {"type": "array", "items": {"type": "string"},
                         "x-kubernetes-validations": [{"rule": "self[3] == 'x'", "message": "fourth tag"}]},
            },
        },
    },
    "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('app-') && self.kind == 'Widget'",
                                  "message": "name must start with app-"}],
}


def _doc(spec, name="app-one"):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "ns",
                                                                           "labels": {"a": "b"}}, "spec": spec}


def test_rules_see_self_at_their_node_with_defaults_applied():
    outcome = cel_rules.evaluate(_doc({"min": 3}), SCHEMA)
    assert outcome.refusals == []
    # spec (2), the root (1): max and mode come from their defaults, so neither rule errors.
    assert outcome.evaluated == 3
    assert cel_rules.evaluate(_doc({"min": 11}), SCHEMA).refusals == [("spec", "min must not exceed max")]


def test_message_expression_reason_and_field_path_shape_the_refusal():
    assert cel_rules.evaluate(_doc({"min": 1, "burst": 5}), SCHEMA).refusals == [
        ("spec", "burst needs mode Fast, not Slow (reason: FieldValueForbidden)")]
    refusals = cel_rules.evaluate(_doc({"min": 1, "names": {"namespace": "a", "my-key": "b"}}), SCHEMA).refusals
    assert refusals == [("spec.names.namespace", "namespace must equal my-key")]


def test_root_rules_read_name_and_kind_and_numbers_are_doubles():
    assert cel_rules.evaluate(_doc({"min": 1}, name="other"), SCHEMA).refusals == [("", "name must start with app-")]
    # An integer written where the schema says number is a double: 2 < 1.0 compares, and fails.
    assert cel_rules.evaluate(_doc({"min": 1, "ratio": 2}), SCHEMA).refusals == [("spec.ratio", "failed rule: self < 1.0")]


def test_item_and_map_rules_run_per_item_and_errors_refuse():
    refusals = cel_rules.evaluate(_doc({"min": 1, "ports": [{"name": "a", "number": 1}, {"name": "b", "number": 0}],
                                        "labels": {"toolong.example/x": "1", "ok": "2"}, "tags": ["a"]}), SCHEMA).refusals
    assert ("spec.ports[1]", "number must be positive") in refusals
    assert ("spec.labels", "label prefix too long") in refusals
    (tags,) = [r for r in refusals if r[0] == "spec.tags"]
    assert tags[1].endswith("evaluating rule: fourth tag")
    assert len(refusals) == 3


def test_a_rule_on_an_absent_field_is_not_evaluated():
    assert cel_rules.evaluate(_doc({"min": 1}), SCHEMA).evaluated == cel_rules.evaluate(
        _doc({"min": 1, "ratio": 0.5}), SCHEMA).evaluated - 1


def test_transition_rules_run_on_update_only_against_the_correlated_old_item():
    ports = [{"name": "a", "number": 1}, {"name": "b", "number": 2}]
    assert cel_rules.evaluate(_doc({"min": 1, "ports": ports}), SCHEMA).evaluated == 5
    old = _doc({"min": 1, "ports": list(reversed(ports))})
    # Reordered items correlate by their list-map key: nothing changed.
    same = cel_rules.evaluate(_doc({"min": 1, "ports": ports}), SCHEMA, old)
    assert same.refusals == [] and same.evaluated == 7
    changed = cel_rules.evaluate(_doc({"min": 1, "ports": [{"name": "a", "number": 9}, {"name": "c", "number": 2}]}),
                                 SCHEMA, old)
    assert changed.refusals == [("spec.ports[0].number", "number is immutable")]


def test_a_rule_the_evaluator_fails_on_is_named_not_passed(monkeypatch):
    """An exception inside cel-python is the checker's gap: the site is reported, the object neither passes nor fails."""
    from offline.checks import cel_library

    def broken(value):
        raise RuntimeError("internal")

    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"name": {
        "type": "string", "x-kubernetes-validations": [{"rule": "self.lowerAscii() == self", "message": "lower case"}]}}}}}
    cel_rules.compile_rule.cache_clear()
    monkeypatch.setitem(cel_library.FUNCTIONS, "lowerAscii", broken)
    try:
        outcome = cel_rules.evaluate(_doc({"name": "Abc"}), schema)
    finally:
        cel_rules.compile_rule.cache_clear()
    assert outcome.refusals == [] and outcome.evaluated == 0
    assert outcome.unevaluated == [("spec.name", "lower case", "cel-python failed: RuntimeError: internal")]


def test_a_transition_rule_compares_with_the_old_objects_default():
    """The stored object holds the default the API server applied: changing away from it is a change."""
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"driverType": {
        "type": "string", "default": "gpu", "x-kubernetes-validations": [
            {"rule": "self == oldSelf", "message": "driverType is immutable"}]}}}}}
    assert cel_rules.evaluate(_doc({"driverType": "vgpu"}), schema, _doc({})).refusals == [
        ("spec.driverType", "driverType is immutable")]
    assert cel_rules.evaluate(_doc({"driverType": "gpu"}), schema, _doc({})).refusals == []
