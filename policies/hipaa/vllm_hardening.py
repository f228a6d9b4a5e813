"""vLLM containers send no telemetry, expose no dev endpoints, and take their API key from a Secret."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import containers, pod_spec
from hipaa._rule import Resource, Rule


def _is_vllm(container: dict) -> bool:
    return "vllm" in (container.get("image") or "").rsplit("/", 1)[-1].split(":")[0]


def _role(container: dict) -> str | None:
    """``server`` (runs the API server), ``worker`` (a Ray worker of a group across nodes) or None (staging jobs).

    A command replaces `vllm serve`: a group's leader runs it after starting Ray, its workers only join Ray,
    and the weights staging runs a Python script.
    """
    command = " ".join(str(part) for part in container.get("command") or [])
    if not command or "vllm serve" in command:
        return "server"
    if "ray start" in command:
        return "worker"
    return None


TRUST_REMOTE_CODE = "--trust-remote-code"
SHORTEST_PREFIX = len("--trust-rem")
"""argparse takes a unique prefix for the flag; `--trust-re` is shared with `--trust-request-chat-template`."""


def trusts_remote_code(container: dict) -> str | None:
    """The argument that makes vLLM run the model repository's own Python code, if any (shell command lines too)."""
    for part in [*(container.get("command") or []), *(container.get("args") or [])]:
        for token in str(part).split():
            name, has_value, value = token.partition("=")
            if not name.startswith("--"):
                continue
            name = "--" + name[2:].replace("_", "-")
            if (name == TRUST_REMOTE_CODE or (len(name) >= SHORTEST_PREFIX and TRUST_REMOTE_CODE.startswith(name))) \
                    and not (has_value and value.lower() in ("false", "0", "no")):
                return token
    return None


def check(resource: Resource, config: dict) -> list[str]:
    pod = pod_spec(resource)
    if pod is None:
        return []
    problems = []
    for path, container in containers(pod):
        role = _role(container)
        if not _is_vllm(container) or role is None:
            continue
        env = {var.get("name"): var for var in container.get("env") or []}
        for name in ("VLLM_NO_USAGE_STATS", "DO_NOT_TRACK"):
            if (env.get(name) or {}).get("value") != "1":
                problems.append(f"{path}.env {name} must be \"1\": vLLM sends usage statistics off-site by default")
        if "ray start" in " ".join(str(part) for part in container.get("command") or []) and \
                (env.get("RAY_USAGE_STATS_ENABLED") or {}).get("value") != "0":
            problems.append(f"{path}.env RAY_USAGE_STATS_ENABLED must be \"0\": Ray sends usage statistics off-site by "
                            "default")
        flag = trusts_remote_code(container)
        if flag:
            problems.append(f"{path} passes {flag}: vLLM would run Python code from the model repository inside the "
                            "server that holds every prompt; serve architectures vLLM implements itself")
        if "VLLM_SERVER_DEV_MODE" in env:
            problems.append(f"{path}.env VLLM_SERVER_DEV_MODE enables unauthenticated admin endpoints; remove it")
        if (env.get("HF_HUB_OFFLINE") or {}).get("value") != "1":
            problems.append(f"{path}.env HF_HUB_OFFLINE must be \"1\": serve pre-staged weights, never download at start")
        if role == "worker":
            continue  # no API server: no key, no probes (the group's leader carries them)
        key = env.get("VLLM_API_KEY") or {}
        if not ((key.get("valueFrom") or {}).get("secretKeyRef")):
            problems.append(f"{path}.env VLLM_API_KEY must come from valueFrom.secretKeyRef")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if ((container.get(probe) or {}).get("httpGet") or {}).get("path") != "/health":
                problems.append(f"{path}.{probe} must GET /health")
    if any(_is_vllm(c) for _, c in containers(pod)) and pod.get("enableServiceLinks") is not False:
        problems.append("spec.enableServiceLinks must be false: injected VLLM_PORT variables crash vLLM")
    return problems


RULE = Rule(
    name="vllm-hardening",
    title="vLLM servers are locked down",
    citation="164.312(e)(1)",
    severity=Severity.HIGH,
    description="vLLM containers (and the Ray of a group across nodes) opt out of usage statistics, never enable dev "
    "mode or --trust-remote-code, read their API key from a Secret, serve only pre-staged weights and probe /health. "
    "Telemetry and hub downloads are network paths out of the site, dev-mode endpoints can stop or reconfigure the "
    "server, and remote code runs the model repository's Python next to every prompt.",
    check=check,
)
