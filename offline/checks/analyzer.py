"""Runs the policy pack the way `pulumi preview --policy-pack` does: as its own process, over gRPC.

The CLI starts the pack with `python -m pulumi.policy <engine address> <pack directory>`, reads the
port the pack prints, asks it for its policies (GetAnalyzerInfo), configures it with the stack's
policy config (levels resolved, schema defaults applied), sends every resource to Analyze and all
of them to AnalyzeStack, then stops it. This module does the same with the analyzer stubs that
ship in the pulumi SDK, so it proves the pack loads and serves as the CLI expects.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.checks.policy import PACK_DIR, PolicyReport, Violation, analysed, effective_level

_LEVELS = {value: name.lower() for name, value in analyzer_pb2.EnforcementLevel.items()}
_LEVEL_VALUES = {name.lower(): value for name, value in analyzer_pb2.EnforcementLevel.items()}
STARTUP_SECONDS = 60


class PackProcess:
    """The pack started as a child process; connecting waits for the port it prints.

    Starting it early lets its start-up (Python, pulumi, the pack's imports) overlap other work.
    """

    def __init__(self) -> None:
        # The engine address only matters for log calls; the pack under analysis makes none.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
            cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    @contextmanager
    def connect(self):
        """A connected AnalyzerStub; the process stops when the block ends."""
        try:
            line = self.process.stdout.readline().strip()
            if not line.isdigit():
                self.process.kill()
                raise RuntimeError(f"policy pack did not start: {line!r} {self.process.stderr.read()[-2000:]}")
            channel = grpc.insecure_channel(f"127.0.0.1:{line}", options=[("grpc.max_receive_message_length", 400 << 20)])
            grpc.channel_ready_future(channel).result(timeout=STARTUP_SECONDS)
            try:
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
            finally:
                channel.close()
        finally:
            self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@contextmanager
def policy_pack_process():
    """The pack as a child process; yields a connected AnalyzerStub and stops the process after."""
    with PackProcess().connect() as analyzer:
        yield analyzer


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(value)))
    return struct


def _properties(info: analyzer_pb2.PolicyInfo, pack_config: dict[str, Any]) -> dict[str, Any]:
    """Schema defaults first (the engine applies them, the SDK does not), then the configured values."""
    schema = json_format.MessageToDict(info.configSchema.properties) if info.HasField("configSchema") else {}
    values = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
    entry = pack_config.get(info.name)
    if isinstance(entry, dict):
        values.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
    return values


def _options(entry: dict[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    options = entry.get("options") or {}
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(options.get("protect")),
        ignoreChanges=list(options.get("ignoreChanges") or []),
        deleteBeforeReplace=bool(options.get("deleteBeforeReplace")),
        additionalSecretOutputs=list(options.get("additionalSecretOutputs") or []),
        parent=entry.get("parent") or "",
    )


def _provider(entry: dict[str, Any], by_urn: dict[str, dict]) -> analyzer_pb2.AnalyzerProviderResource | None:
    provider = by_urn.get(entry.get("provider") or "")
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=provider["type"], properties=_struct(provider["inputs"]),
                                                 urn=provider["urn"], name=provider["name"])


def _violations(response: analyzer_pb2.AnalyzeResponse, descriptions: dict[str, str],
                default_urn: str = "") -> list[Violation]:
    """Diagnostics as violations; a resource policy's diagnostic names no URN, the engine adds the resource's."""
    found = []
    for diagnostic in response.diagnostics:
        # The pack reports "<description>\n<message>"; keep the message as the in-process runner does.
        message = diagnostic.message.removeprefix(descriptions.get(diagnostic.policyName, "") + "\n")
        found.append(Violation(diagnostic.policyName, diagnostic.urn or default_urn, message,
                               _LEVELS[diagnostic.enforcementLevel]))
    return found


def run_pack_process(inventory: dict[str, Any], pack_config: dict[str, Any],
                     started: PackProcess | None = None) -> tuple[PolicyReport, analyzer_pb2.AnalyzerInfo]:
    """Analyze an inventory through the pack process (``started``, or a new one); returns the report and
    what the pack announced."""
    entries = analysed(inventory)
    by_urn = {r["urn"]: r for r in inventory["resources"]}
    report = PolicyReport()
    with (started or PackProcess()).connect() as analyzer:
        info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
        descriptions = {policy.name: policy.description for policy in info.policies}
        configs = {}
        for policy in info.policies:
            level = effective_level(policy.name, _LEVELS[policy.enforcementLevel], pack_config)
            report.levels[policy.name] = level
            configs[policy.name] = analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL_VALUES[level],
                                                             properties=_struct(_properties(policy, pack_config)))
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=configs))
        for entry in entries:
            provider = _provider(entry, by_urn)
            request = analyzer_pb2.AnalyzeRequest(
                type=entry["type"], properties=_struct(entry["inputs"]), urn=entry["urn"], name=entry["name"],
                options=_options(entry), **({"provider": provider} if provider is not None else {}),
            )
            report.violations += _violations(analyzer.Analyze(request), descriptions, entry["urn"])
        resources = [
            analyzer_pb2.AnalyzerResource(
                type=entry["type"], properties=_struct(entry["inputs"]), urn=entry["urn"], name=entry["name"],
                options=_options(entry), parent=entry.get("parent") or "",
                dependencies=list((entry.get("options") or {}).get("dependencies") or []),
                **({"provider": p} if (p := _provider(entry, by_urn)) is not None else {}),
            )
            for entry in entries
        ]
        report.violations += _violations(analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)),
                                         descriptions)
    for policy in info.policies:
        if report.levels[policy.name] != "disabled":
            report.checked[policy.name] = 1 if policy.policy_type == analyzer_pb2.POLICY_TYPE_STACK else len(entries)
    report.violations.sort(key=lambda v: (v.policy, v.urn, v.message))
    return report, info
