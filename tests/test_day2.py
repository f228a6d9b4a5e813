"""Routine changes planned against the deployed prod stack: what each does to running service.

Each test edits the stack (or names a rotated secret), plans the update against the deployed baseline
and reads the verdict per model: "no request fails", or the window clients would see.
"""

from __future__ import annotations

import copy

import pytest

from offline.plan.effects import assess
from offline.plan.update import plan
from offline.render import inventory
from offline.run import evaluate, platform_config, stack_config

LLAMA, MISTRAL = "llama-2-7b-chat", "mistral-7b-instruct"


@pytest.fixture(scope="module")
def deployed(prod):
    return inventory(prod)


def _update(baseline: dict, edit=None, rotated: tuple[str, ...] = (), raw: dict | None = None):
    """The plan and its effect of `pulumi up` with ``edit`` applied to the stack file (or ``raw``)."""
    raw = copy.deepcopy(raw or stack_config("prod"))
    if edit:
        edit(raw)
    current = inventory(evaluate("prod", raw))
    steps = plan(baseline, current, rotated=rotated)
    return steps, assess(steps, baseline, current, platform_config("prod", raw)), current, raw


def _rotation(raw: dict, generation: int, stage: str) -> None:
    raw["models"][LLAMA].update(apiKeyRotation=generation, apiKeyStage=stage)


def test_a_key_rotated_in_three_stages_never_refuses_a_request(deployed):
    stages = [(1, "prepare"), (1, "switch"), (1, "done")]
    baseline, raw = deployed, stack_config("prod")
    for generation, stage in stages:
        steps, impact, baseline, raw = _update(baseline, lambda r, g=generation, s=stage: _rotation(r, g, s), raw=raw)
        assert impact.verdict(LLAMA) == "no request fails", (stage, impact.models[LLAMA])
        changed = {s.name for s in steps.changed}
        if stage == "prepare":
            # The odd slot's key is generated; the replicas roll to accept both keys; the gateway still sends the old
            # one. (The Secret's new value in place is invisible to a plan: inventories hold values as [secret].)
            assert {f"{LLAMA}-api-key-odd", f"{LLAMA}-server"} <= changed
            assert f"gateway-{LLAMA}-credential" not in changed
        if stage == "switch":
            # Only the gateway's credential changes, in place; no replica restarts.
            assert changed == {f"gateway-{LLAMA}-credential"}
            assert steps.step(f"gateway-{LLAMA}-credential").op == "update"
        if stage == "done":
            assert f"{LLAMA}-server" in changed and f"gateway-{LLAMA}-credential" not in changed
    assert impact.verdict(MISTRAL) == "no request fails"


def test_a_key_rotated_at_once_names_the_refusals(deployed):
    _, impact, _, _ = _update(deployed, lambda r: _rotation(r, 1, "done"))
    (problem,) = impact.models[LLAMA]
    assert problem.startswith("requests refused (401) until every replica restarted")
    assert "apiKeyStage prepare, switch, done" in problem


def test_a_renewed_certificate_and_a_rotated_registry_password_keep_their_objects(deployed):
    steps, impact, _, _ = _update(deployed, rotated=("gatewayTlsCert", "gatewayTlsKey", "registryPassword"))
    changed = steps.changed
    assert {s.op for s in changed} == {"update"}, "mutable Secrets: written in place, never deleted"
    assert "gateway-tls" in {s.name for s in changed}
    assert len([s for s in changed if s.name.endswith("registry-pull") or "registry-pull-" in s.name]) >= 8
    assert all(impact.verdict(key) == "no request fails" for key in (LLAMA, MISTRAL))


def test_without_mutable_secrets_the_certificate_renewal_drops_the_listener(deployed):
    """The class the provider settings prevent: a Secret replaced under its fixed name is deleted first."""
    current = copy.deepcopy(deployed)
    baseline = copy.deepcopy(deployed)
    for document in (baseline, current):
        for resource in document["resources"]:
            if resource["type"] == "pulumi:providers:kubernetes":
                resource["inputs"].pop("enableSecretMutable", None)
    steps = plan(baseline, current, rotated=("gatewayTlsCert",))
    tls = steps.step("gateway-tls")
    assert tls.op == "replace" and tls.delete_before_replace
    impact = assess(steps, baseline, current, platform_config("prod"))
    assert "the gateway's HTTPS listener has no certificate" in impact.verdict(LLAMA)


def test_a_kubernetes_upgrade_names_the_window_of_single_replica_models(deployed):
    def edit(raw):
        raw["tanzu"].update(tkr="v1.33.1---vmware.1-fips-vkr.1", kubernetesVersion="1.33")
    _, impact, _, _ = _update(deployed, edit)
    for key in (LLAMA, MISTRAL):
        (window,) = impact.models[key]
        assert "unavailable for up to" in window and "raise replicas.min to 2" in window

    def two_replicas(raw):
        edit(raw)
        raw["gpuPool"]["nodes"] = 6
        for key in (LLAMA, MISTRAL):
            raw["models"][key]["replicas"] = {"min": 2, "max": 3}
    _, impact, _, _ = _update(deployed, two_replicas)
    assert impact.verdict(LLAMA) == "no request fails", "two replicas and a budget: one is always serving"


def test_a_chart_bump_and_a_new_model_drop_no_request(deployed):
    baseline = copy.deepcopy(deployed)
    release = next(r for r in baseline["resources"] if r["name"] == "primary-keda")
    release["inputs"]["version"] = "2.0.0"
    steps = plan(baseline, deployed)
    impact = assess(steps, baseline, deployed, platform_config("prod"))
    assert [s.name for s in steps.changed] == ["primary-keda"] and impact.verdict(LLAMA) == "no request fails"

    def new_model(raw):
        raw["gpuPool"]["nodes"] = 5
        raw["models"]["mistral-7b-b"] = {**copy.deepcopy(raw["models"][MISTRAL]), "servedModelName": "mistral-7b-b",
                                         "replicas": {"min": 1, "max": 1}}
        raw["gateway"]["modelAccess"]["mistral-7b-b"] = raw["gateway"]["modelAccess"][MISTRAL]
    steps, impact, _, _ = _update(deployed, new_model)
    assert "mistral-7b-b-server" in {s.name for s in steps.changed if s.op == "create"}
    assert impact.verdict(LLAMA) == impact.verdict(MISTRAL) == "no request fails"


def test_a_new_revision_rolls_with_a_surge_the_pool_may_not_have(deployed):
    def edit(raw):
        raw["models"][LLAMA]["revision"] = "0123456789abcdef0123456789abcdef01234567"
    _, impact, _, _ = _update(deployed, edit)
    server = next(e for e in impact.effects if e.name == f"{LLAMA}-server")
    assert server.kind == "rolling" and "needs 1 free GPU(s)" in server.detail
    assert "the pool has none free while KEDA holds replicas.max" in server.detail
    assert impact.verdict(LLAMA) == "no request fails", "the old replicas serve until a new one is Ready"


def test_a_department_added_at_the_end_moves_no_counter_even_if_it_sorts_first(deployed):
    """prod lists its quotas (a list keeps its order, which keys each department's counters)."""
    def at_the_end(raw):
        raw["gateway"]["monthlyTokenQuotas"].append({"group": "anaesthesia", "tokens": 10_000_000})
        raw["gateway"]["modelAccess"][LLAMA]["groups"].append("anaesthesia")
    _, impact, _, _ = _update(deployed, at_the_end)
    assert impact.counters == []
    # The reservations sit after the quotas: they move, and each restarts one minute's reservations.
    assert len(impact.reservations) == 2 and all(
        "its reservations restart, so its callers may start one more minute's generations" in line
        for line in impact.reservations)

    def as_a_mapping(raw):
        """A mapping reaches the program sorted: the new group sorts first and every other count restarts."""
        quotas = {q["group"]: q["tokens"] for q in raw["gateway"]["monthlyTokenQuotas"]}
        raw["gateway"]["monthlyTokenQuotas"] = {**quotas, "anaesthesia": 10_000_000}
        raw["gateway"]["modelAccess"][LLAMA]["groups"].append("anaesthesia")
    _, impact, _, _ = _update(deployed, as_a_mapping)
    assert len(impact.counters) == 3 and all("its counters restart" in line for line in impact.counters)
    assert '"value": "clinical-informatics"' in impact.counters[0]


def test_turning_reservations_on_moves_no_counter_and_fails_no_request(deployed):
    """From what a stack rendered before it reserved tokens: no rule, no ceiling, no one-choice mutation."""
    baseline = copy.deepcopy(deployed)
    by_name = {r["name"]: r for r in baseline["resources"]}
    rules = by_name["gateway-token-limits"]["inputs"]["spec"]["rateLimit"]["global"]["rules"]
    rules[:] = [r for r in rules if "response" in r.get("cost", {"response": None})]
    assert len(rules) == 7, "requests per minute, three budgets, three quotas"
    for rule in by_name["gateway-route"]["inputs"]["spec"]["rules"]:
        for ref in rule["backendRefs"]:
            del ref["bodyMutation"]
    for key in (LLAMA, MISTRAL):
        args = next(c for c in by_name[f"{key}-server"]["inputs"]["spec"]["template"]["spec"]["containers"]
                    if c["name"] == "vllm")["args"]
        del args[args.index("--override-generation-config"):args.index("--override-generation-config") + 2]
    steps = plan(baseline, deployed)
    impact = assess(steps, baseline, deployed, platform_config("prod", stack_config("prod")))
    assert impact.counters == [] and impact.reservations == []
    assert {"gateway-token-limits", "gateway-route"} <= {s.name for s in steps.changed if s.op == "update"}
    servers = {e.name: e for e in impact.effects if e.name in (f"{LLAMA}-server", f"{MISTRAL}-server")}
    assert {e.kind for e in servers.values()} == {"rolling"}
    assert impact.verdict(LLAMA) == impact.verdict(MISTRAL) == "no request fails"


@pytest.mark.parametrize("failure, outage", [("open", False), ("closed", True)])
def test_a_new_counter_store_image_stops_it_before_its_successor_starts(deployed, failure, outage):
    """One Redis on a ReadWriteOnce claim rolls by Recreate: the gateway's rateLimitFailure decides the window."""
    baseline = copy.deepcopy(deployed)
    store = next(r for r in baseline["resources"] if r["type"] == "kubernetes:apps/v1:Deployment"
                 and r["inputs"]["spec"]["strategy"]["type"] == "Recreate"
                 and r["inputs"]["metadata"]["namespace"] == "gateway-redis")
    store["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = "harbor-a.hospital.example/redis:old"
    raw = copy.deepcopy(stack_config("prod"))
    raw["gateway"]["rateLimitFailure"] = failure
    current = deployed if failure == stack_config("prod")["gateway"]["rateLimitFailure"] else inventory(evaluate("prod", raw))
    steps = plan(baseline, current)
    impact = assess(steps, baseline, current, platform_config("prod", raw))
    effect = next(e for e in impact.effects if e.name == store["name"])
    assert "stopped, then started again (Recreate)" in effect.detail and effect.outage is outage
    assert ("refuses every request" in effect.detail) is outage
