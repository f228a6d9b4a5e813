"""No model server logs prompts or completions."""

from __future__ import annotations

from pulumi_policy import Severity

from hipaa._k8s import containers, pod_spec
from hipaa._rule import Resource, Rule

LOGGING_FLAGS = {
    "--enable-log-requests": "writes every prompt to the container log",
    "--enable-log-outputs": "writes every completion to the container log",
}
LOGGING_VALUES = {"--uvicorn-log-level": ("trace", "logs every request and response body")}
LOGGING_ENV = {
    "VLLM_DEBUG_LOG_API_SERVER_RESPONSE": "writes every API response to the container log",
}


def _flag(arg: str) -> tuple[str, str | None]:
    name, _, value = arg.partition("=")
    head, dot, tail = name[2:].partition(".")
    return "--" + head.replace("_", "-") + dot + tail, (value if "=" in arg else None)


def _is_vllm(container: dict) -> bool:
    return "vllm" in (container.get("image") or "").rsplit("/", 1)[-1].split(":")[0]


def check(resource: Resource, config: dict) -> list[str]:
    pod = pod_spec(resource)
    if pod is None:
        return []
    problems = []
    for path, container in containers(pod):
        if not _is_vllm(container):
            continue
        args = [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
        for index, arg in enumerate(args):
            if not arg.startswith("--"):
                continue
            name, value = _flag(arg)
            # argparse takes a unique prefix of a flag for the flag itself.
            for flag, why in LOGGING_FLAGS.items():
                if name == flag or (len(name) > 12 and flag.startswith(name)):
                    problems.append(f"{path} passes {arg}, which {why} (ePHI in logs kept for years); remove it")
            for flag, (bad, why) in LOGGING_VALUES.items():
                given = value if value is not None else (args[index + 1] if index + 1 < len(args) else "")
                if name == flag and given.lower() == bad:
                    problems.append(f"{path} passes {flag} {given}, which {why}; use info or warning")
        for var in container.get("env") or []:
            if var.get("name") in LOGGING_ENV and str(var.get("value", "")).lower() not in ("", "0", "false"):
                problems.append(f"{path}.env {var['name']} {LOGGING_ENV[var['name']]}; remove it")
    return problems


RULE = Rule(
    name="no-prompt-logging",
    title="Model servers log no prompts or completions",
    citation="164.312(a)(1)",
    severity=Severity.HIGH,
    description="vLLM containers never run with request or output logging (--enable-log-requests, "
    "--enable-log-outputs, uvicorn trace, API response debug logging). Prompts and completions are ePHI: in container "
    "logs they reach everyone who reads logs and the log pipeline, outside the gateway's access control.",
    check=check,
)
