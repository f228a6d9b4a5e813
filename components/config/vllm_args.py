"""``models.<key>.extraArgs``: further ``vllm serve`` flags, refused where they undo what the platform sets.

vLLM reads its flags with argparse (its FlexibleArgumentParser): ``--flag=value`` and ``--flag value``
are the same, underscores in a flag's name read as dashes (``--max_model_len``), a unique prefix of a
flag selects it (``--max-model``), and a few flags have short aliases (``-tp``, ``-pp``, ``-dp``, ``-q``).
A flag given twice takes its last value, so an extra flag after the platform's overrides it: that is
refused for every flag the platform manages, in every one of these forms.

Every other flag must be one the pinned vLLM defines: components/config/vllm_flags.json lists them, derived
by tools/vllm_flags.py from that version's own argument definitions, with the flags earlier pins had that it
removed and what replaced them.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from components.config.fields import DASHES, SecretValueError

FLAGS_FILE = Path(__file__).resolve().parent / "vllm_flags.json"

MANAGED: dict[str, str] = {
    "--model": "the platform serves the staged weights directory of huggingfaceRepo@revision",
    "--served-model-name": "set servedModelName",
    "--tensor-parallel-size": "set tensorParallelSize (sizing and the pod's GPU request follow it)",
    "--pipeline-parallel-size": "set nodesPerReplica: a replica across nodes is a pipeline of one stage per node, "
    "sized by the capacity plan",
    "--distributed-executor-backend": "the platform runs one node's GPUs with multiprocessing and a replica across nodes "
    "over the Ray cluster of its LeaderWorkerSet group",
    "--nnodes": "set nodesPerReplica: the nodes of a replica form a Ray cluster in a LeaderWorkerSet group",
    "--node-rank": "set nodesPerReplica: the nodes of a replica form a Ray cluster in a LeaderWorkerSet group",
    "--master-addr": "set nodesPerReplica: the group's workers join the leader's Ray cluster",
    "--master-port": "set nodesPerReplica: the group's workers join the leader's Ray cluster",
    "--headless": "set nodesPerReplica: the group's workers join the leader's Ray cluster",
    "--data-parallel-size": "scale with replicas.min/replicas.max; each replica is its own pod",
    "--data-parallel-size-local": "scale with replicas.min/replicas.max; each replica is its own pod",
    "--gpu-memory-utilization": "set gpuMemoryUtilization (memory sizing follows it)",
    "--max-model-len": "set maxModelLen (KV-cache sizing follows it)",
    "--max-num-seqs": "set maxNumSeqs (capacity planning follows it)",
    "--override-generation-config": "set maxTokens: the platform caps every request's max_tokens with it, and the "
    "gateway reserves that ceiling",
    "--dtype": "set dtype",
    "--kv-cache-dtype": "set kvCacheDtype",
    "--quantization": "set quantization",
    "--port": "the Service, probes and NetworkPolicies use port 8000",
    "--host": "the platform binds the server for its Service and probes",
    "--uds": "the Service and probes reach the server over TCP 8000",
    "--api-key": "the platform sets VLLM_API_KEY from the endpoint's Secret",
    "--disable-log-requests": "removed from vLLM; request logging is off by default",
    "--enable-log-requests": "it writes prompts (ePHI) to the container log",
    "--enable-log-outputs": "it writes completions (ePHI) to the container log",
    "--download-dir": "weights are staged on the weights volume before the server starts",
    "--revision": "set revision (the staged commit)",
    "--code-revision": "set revision (the staged commit)",
    "--tokenizer-revision": "set revision (the staged commit)",
    "--trust-remote-code": "it runs the model repository's own Python code; staging fetches no code (safetensors, "
    "configs and tokenizers only), so use an architecture the pinned vLLM implements",
    "--config": "a config file could set any managed flag; set the keys of models.<name> instead",
    "--ssl-keyfile": "set gateway.upstreamTls: the platform mounts the key, and the gateway, probes and Prometheus "
    "follow the scheme",
    "--ssl-certfile": "set gateway.upstreamTls: the platform mounts the certificate, and the gateway, probes and "
    "Prometheus follow the scheme",
    "--ssl-cert-reqs": "the gateway's proxies and Prometheus present no client certificate; a required one refuses "
    "them all",
    "--ssl-ca-certs": "the gateway's proxies and Prometheus present no client certificate to verify",
}
SHORT: dict[str, str] = {
    "-tp": "--tensor-parallel-size",
    "-pp": "--pipeline-parallel-size",
    "-dp": "--data-parallel-size",
    "-dpl": "--data-parallel-size-local",
    "-q": "--quantization",
}
FLAGS_OF_THEIR_OWN = frozenset({"--tokenizer"})
"""vLLM flags that are also the start of a managed flag's name; argparse takes an exact name over a prefix."""
_CREDENTIAL_WORDS = {"password", "passwd", "secret", "token", "apikey", "credential", "credentials"}


def _credential(name: str) -> bool:
    words = re.split(r"[-_.]+", name.lower().lstrip("-"))
    pairs = {f"{a}-{b}" for a, b in zip(words, words[1:], strict=False)}
    return bool(_CREDENTIAL_WORDS & set(words)) or bool({"api-key", "private-key", "access-key"} & pairs)


def _long_name(arg: str) -> str:
    """``--max_model_len=1`` -> ``--max-model-len`` (vLLM turns underscores into dashes before the first '.')."""
    name = arg.split("=", 1)[0]
    head, dot, tail = name[2:].partition(".")
    return "--" + head.replace("_", "-") + dot + tail


def _managed(arg: str) -> str | None:
    """The managed flag an argument sets, if any."""
    if arg.startswith("--"):
        name = _long_name(arg).split(".", 1)[0]
        if name in MANAGED:
            return name
        if len(name) > 3 and name not in FLAGS_OF_THEIR_OWN:
            prefixed = sorted(flag for flag in MANAGED if flag.startswith(name))
            if prefixed:
                return prefixed[0]
        return None
    if arg.startswith("-") and not arg.startswith("--"):
        name = arg.split("=", 1)[0]
        for short in sorted(SHORT, key=len, reverse=True):
            if name == short or (name.startswith(short) and (short == "-q" or name[len(short):].isdigit())):
                return SHORT[short]
    return None


@cache
def pinned_flags() -> dict:
    """The pinned vLLM's flags: version, long flags, short flags and removed flags with their replacements."""
    return json.loads(FLAGS_FILE.read_text())


def _unknown_flag(arg: str) -> str | None:
    """Why ``arg`` is not a flag of the pinned vLLM, or None when it is one (or a unique prefix of one)."""
    data = pinned_flags()
    version = data["version"]
    if arg.startswith("--"):
        name = _long_name(arg).split(".", 1)[0]
        flags = data["flags"]
        if name in flags:
            return None
        removed = data["removed"].get(name)
        if removed is not None:
            instead = (f"use {removed['replacement']} instead" if removed["replacement"]
                       else "drop it (vLLM names no replacement)")
            return f"was removed from vLLM after {removed['lastIn']}; the pinned vLLM is {version}: {instead}"
        if len(name) > 3 and len([f for f in flags if f.startswith(name)]) == 1:
            return None
        return f"is not a flag of vLLM {version}, the pinned version (see `vllm serve --help=all`)"
    name = arg.split("=", 1)[0]
    if any(name == short or name.startswith(short) for short in data["short"]):
        return None
    return f"is not a flag of vLLM {version}, the pinned version"


def check_extra_args(args: tuple[str, ...]) -> None:
    """Raise ValueError naming the first problem in ``args`` and what to set instead."""
    for index, arg in enumerate(args):
        for word in arg.split():
            name = word.split("=", 1)[0]
            if word.startswith("-") and _credential(name):
                raise SecretValueError(
                    f"extraArgs[{index}] passes a credential flag ({name}) on the command line, readable in the pod "
                    "spec; secrets reach the server from Kubernetes Secrets, never from extraArgs")
    for index, arg in enumerate(args):
        label = f"extraArgs[{index}]"
        if arg[:1] in DASHES:
            fixed = "--" + arg.lstrip("".join(DASHES)).lstrip("-")
            raise ValueError(f"{label} starts with a typographic dash (pasted from a document); "
                             f"write it with ASCII hyphens: {fixed.split('=', 1)[0]!r}")
        if not arg.startswith("-"):
            continue
        name = arg.split("=", 1)[0]
        if any(c.isspace() for c in name):
            first = name.split()[0]
            raise ValueError(f"{label} {arg!r} holds a flag and its value in one item; write "
                             f"'{first}=<value>' or two items: '{first}', '<value>'")
        if _long_name(arg) == "--uvicorn-log-level":
            value = arg.split("=", 1)[1] if "=" in arg else (args[index + 1] if index + 1 < len(args) else "")
            if value.strip().lower() == "trace":
                raise ValueError(f"{label} sets --uvicorn-log-level trace, which logs every request and response body "
                                 "(prompts and completions are ePHI); use info or warning")
        managed = _managed(arg)
        if managed is not None:
            spelled = "" if name == managed else f" (as {name!r})"
            raise ValueError(f"{label} {arg!r} sets {managed}{spelled}, which the platform manages: "
                             f"{MANAGED[managed]}. Drop it from extraArgs")
        unknown = _unknown_flag(arg)
        if unknown is not None:
            raise ValueError(f"{label} {name!r} {unknown}")
