"""Pod templates against the API server's own validation: what the schemas let through and `create` refuses."""

from __future__ import annotations

import copy

import pytest

from offline.checks import pod_validation
from offline.render import manifest
from tests.conftest import SEVENTY_B, STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_no_pod_template_of_the_stack_or_its_charts_is_refused(stack, chart_checks):
    assert chart_checks[stack].charts_rendered
    assert chart_checks[stack].pod_validation == []


def test_both_templates_of_a_set_across_nodes_are_valid(seventy_b_checks):
    assert seventy_b_checks.pod_validation == []


def test_a_mount_of_a_volume_the_pod_lacks_is_refused(seventy_b_staged_in_pods):
    """Group pods that stage their own weights mount the token's Secret in their init container."""
    document = manifest(seventy_b_staged_in_pods.graph.named(f"{SEVENTY_B}-server"))
    worker = document["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    claimed = pod_validation.claim_templates(document)
    assert claimed == ["weights"]
    assert {m["name"] for c in worker["initContainers"] for m in c["volumeMounts"]} <= {
        v["name"] for v in worker["volumes"]} | set(claimed)
    assert pod_validation.violations([document]) == []
    worker["volumes"] = [v for v in worker["volumes"] if v["name"] != "hf-token"]
    (problem,) = pod_validation.violations([document])
    assert "spec.leaderWorkerTemplate.workerTemplate: initContainers[0](stage-weights).volumeMounts" in problem
    assert "'hf-token' is not a volume of the pod" in problem


def _pod(prod):
    return copy.deepcopy(manifest(prod.graph.named("mistral-7b-instruct-server"))["spec"]["template"]["spec"])


def test_the_rendered_pod_passes_and_each_broken_rule_is_named(prod):
    pod = _pod(prod)
    assert pod_validation.pod_problems(pod) == []

    cases = {
        "is declared twice": lambda p: p["volumes"].append(copy.deepcopy(p["volumes"][0])),
        "is the name of another container": lambda p: p["containers"].append(copy.deepcopy(p["containers"][0])),
        "is mounted twice": lambda p: p["containers"][0]["volumeMounts"].append(
            {**p["containers"][0]["volumeMounts"][0]}),
        "is not a port name": lambda p: p["containers"][0]["ports"][0].update(name="vllm-openai-http-port"),
        "is not an environment variable name": lambda p: p["containers"][0]["env"].append({"name": "A=B", "value": "y"}),
        "is above its limit": lambda p: p["containers"][0]["resources"]["requests"].update(cpu="64"),
        "must equal its limit": lambda p: p["containers"][0]["resources"]["requests"].update({"nvidia.com/gpu": "0"}),
        "required, as the request is set": lambda p: p["containers"][0]["resources"]["limits"].pop("nvidia.com/gpu"),
    }
    for expected, breaks in cases.items():
        broken = _pod(prod)
        breaks(broken)
        problems = pod_validation.pod_problems(broken)
        assert len(problems) == 1 and expected in problems[0], (expected, problems)


def test_a_selector_its_template_does_not_match_is_refused(prod):
    document = manifest(prod.graph.named("mistral-7b-instruct-server"))
    assert pod_validation.selector_problem(document) is None
    document["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] = "other"
    assert pod_validation.selector_problem(document) == (
        "spec.selector: the pod template's labels do not match it (app.kubernetes.io/instance)")


def test_quantities_compare_across_units():
    assert pod_validation.quantity("1Gi") == 2**30 and pod_validation.quantity("500m") == 0.5
    assert pod_validation.quantity("2") > pod_validation.quantity("1500m")
    assert pod_validation.quantity("lots") is None
