"""Runs the Pulumi program in-process under mocks and returns what the engine would have seen."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import runpy
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import Output
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.config import PROJECT, SECRET_KEYS, PlatformConfig, parse_config
from components.config.stack_file import SecureValue, read_stack_file
from offline import site as site_inventory
from offline.graph import ResourceGraph
from offline.record import Invoke, OfflineMocks, RecordingMonitor, Secret, normalise, reveal
from offline.world import FakeWorld, Mode

ROOT = Path(__file__).resolve().parent.parent
ORGANIZATION = "organization"
# The program's own log lines (pulumi.log) go here; a failing program also raises, so nothing is lost.
PROGRAM_LOG = logging.getLogger("offline.program")
PROGRAM_LOG.propagate = False
PROGRAM_LOG.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Evaluation:
    """One run of the program: the recorded resource graph, invokes and resolved stack outputs."""

    stack: str
    graph: ResourceGraph
    invokes: list[Invoke]
    outputs: dict[str, Any]
    """Stack outputs as plain data; secret outputs are ``Secret`` markers, unknown ones ``Unknown``."""
    world: FakeWorld
    mode: Mode = Mode.UP
    warnings: tuple[str, ...] = ()
    """What the program sent to the engine's warning channel (`pulumi.log.warn`), as the CLI shows it."""


def stack_config(stack: str, config_file: Path | None = None, project: str = PROJECT) -> dict[str, Any]:
    """Every config key ``Pulumi.<stack>.yaml`` sets, read as the Pulumi CLI reads it.

    The project's keys come without the ``project:`` prefix; keys of other namespaces keep theirs.
    Secrets stored in the file (``{secure: v1:...}``) are ``SecureValue`` markers: offline they cannot
    be decrypted, and a stand-in takes their place. Raises ConfigError for a file Pulumi would refuse.
    """
    path = config_file or ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(f"no stack file {path}; stacks here: {stacks}")
    return read_stack_file(path, project).namespace(project)


def _engine_value(value: Any, world: FakeWorld, name: str) -> tuple[str, bool]:
    """A value as the CLI passes it: text as is, anything else as JSON (sorted keys, as Go writes maps);
    secure values replaced by stand-ins. Returns the text and whether the engine marks it secret."""
    if isinstance(value, SecureValue):
        return world.stand_in_secret(name), True
    secure = False

    def plain(item: Any) -> Any:
        nonlocal secure
        if isinstance(item, SecureValue):
            secure = True
            return world.stand_in_secret(name)
        if isinstance(item, dict):
            return {k: plain(v) for k, v in item.items()}
        if isinstance(item, list):
            return [plain(v) for v in item]
        return item

    value = plain(value)
    return (value if isinstance(value, str) else json.dumps(value, sort_keys=True)), secure


def _engine_config(raw: dict[str, Any], world: FakeWorld, project: str,
                   secrets: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to the program: every key of every namespace, namespaced, as
    text; secrets from the file (stand-ins) and stand-ins for the secret keys in ``secrets`` not set."""
    config: dict[str, str] = {}
    secret_keys = []
    for key, value in raw.items():
        full = key if ":" in key else f"{project}:{key}"
        config[full], secure = _engine_value(value, world, full.split(":", 1)[1])
        if secure:
            secret_keys.append(full)
    for secret in secrets:
        key = f"{project}:{secret}"
        if key not in config:
            config[key] = world.stand_in_secret(secret)
            secret_keys.append(key)
    return config, secret_keys


def engine_config(stack: str, raw: dict[str, Any], secrets: tuple[str, ...],
                  project: str = PROJECT) -> tuple[dict[str, str], list[str]]:
    """What ``evaluate`` hands the program for ``raw`` (same stand-ins), to validate it before a run."""
    return _engine_config(raw, FakeWorld(stack), project, secrets)


def _no_stack_trace():
    """The SDK walks the call stack, with source lines, for every resource it registers, to send the engine the
    position that created it. Nothing offline reads it (the mocks' protocol carries none), and it costs a
    fifth of an evaluation; a test keeps this in step with the SDK."""
    return pulumi_resource.source_pb2.StackTrace()


@contextlib.contextmanager
def _no_cyclic_collection():
    """The evaluation keeps everything it builds (the resources, their outputs, the recorded graph) until it
    returns, so the cyclic collector's passes over the growing heap find nothing to free; they cost a fifth of
    a large stack's evaluation and made its time per resource grow with the stack. Collection resumes when it
    returns: the next one frees whatever the evaluation left behind."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def evaluate(stack: str, raw_config: dict[str, Any] | None = None, world: FakeWorld | None = None,
             program: Path = ROOT / "__main__.py", monitor: RecordingMonitor | None = None,
             project: str = PROJECT, secrets: tuple[str, ...] | None = None, mode: Mode = Mode.UP) -> Evaluation:
    """Run ``program`` for ``stack`` under mocks. Exceptions from the program propagate unchanged.

    ``monitor`` may be passed to inspect what was registered even when the program fails. Another
    project's program (``project``) gets stand-ins for the secret config keys in ``secrets``;
    this platform's program gets one for every key in SECRET_KEYS.

    ``mode`` is the deployment played (``offline.world.Mode``): the default, ``UP``, is `pulumi up` of
    a new stack, where every value resolves, which the manifests, the inventory and most tests need.
    ``PREVIEW`` is `pulumi preview` of a new stack: ids and computed outputs of resources being
    created are unknown, applies on them do not run, reads need objects that existed before, and
    invokes on unknowns are skipped. ``EXISTING`` previews a stack whose resources all exist.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if monitor is not None:
        world = monitor.mocks.world
    world = world or FakeWorld(stack)
    world.mode = mode
    raw = stack_config(stack, project=project) if raw_config is None else raw_config
    if world.inventory is None:
        world.inventory = site_inventory.derived(raw if "vsphere" in raw else _environment_config(project))
    site = _section(raw, "vsphere").get("server")
    if isinstance(site, str) and site:
        world.site = site
    for reference in referenced_stacks(raw):
        if reference not in world.stack_outputs:
            local = local_stack_reference(reference, project)
            if local is not None:
                world.stack_outputs[reference] = local
    if secrets is None:
        secrets = tuple(s.key for s in SECRET_KEYS) if project == PROJECT else ()
    config, secret_keys = _engine_config(raw, world, project, secrets)

    loop = asyncio.new_event_loop()
    loop.set_default_executor(_ThreadLoopsExecutor())
    # A failing program leaves futures whose exception is the one already raised to the caller;
    # asyncio would print each again when they are collected.
    loop.set_exception_handler(_quiet_unretrieved)
    asyncio.set_event_loop(loop)
    monitor = monitor or RecordingMonitor(OfflineMocks(world))
    warnings = _Warnings()
    PROGRAM_LOG.addHandler(warnings)
    captured_stack_trace = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = _no_stack_trace
    try:
        pulumi_settings.ROOT.set(None)
        pulumi_mocks.set_mocks(
            monitor.mocks, project=project, stack=stack, preview=mode is not Mode.UP,
            monitor=monitor, organization=ORGANIZATION, logger=PROGRAM_LOG,
        )
        set_all_config(config, secret_keys)
        with _no_cyclic_collection():
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__")))
            root = pulumi_settings.get_root_resource()
            outputs = {name: _resolve(value) for name, value in sorted(root.outputs.items())}
    finally:
        pulumi_resource._get_stack_trace = captured_stack_trace
        PROGRAM_LOG.removeHandler(warnings)
        set_all_config({}, [])
        pulumi_settings.reset_options()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
    return Evaluation(stack, ResourceGraph(monitor.records), monitor.invokes, outputs, world, mode,
                      tuple(warnings.messages))


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _ThreadLoopsExecutor(ThreadPoolExecutor):
    """The executor the SDK runs its RPCs in; each worker thread gets an event loop (deserializing
    resource references needs one), closed when the executor shuts down. Left to the garbage
    collector, those loops were finalized during interpreter exit, after their sockets, and
    printed a traceback now and then."""

    def __init__(self) -> None:
        self._loops: list[asyncio.AbstractEventLoop] = []
        super().__init__(initializer=self._give_thread_a_loop)

    def _give_thread_a_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loops.append(loop)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            for loop in self._loops:
                loop.close()


def _quiet_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if context.get("message", "").startswith(("Future exception was never retrieved", "Task exception was never retrieved")):
        PROGRAM_LOG.debug("%s: %r", context["message"], context.get("exception"))
        return
    loop.default_exception_handler(context)


def _resolve(value: Any) -> Any:
    output = Output.from_input(value)
    secret = _sync_await(output.is_secret())
    if not _sync_await(output.is_known()):
        return Secret(Unknown()) if secret else Unknown()
    resolved = _sync_await(output.future())
    plain = normalise(_unwrap(resolved))
    return Secret(plain) if secret else plain


def _unwrap(value: Any) -> Any:
    """Resolve Outputs nested in plain containers (maps of Outputs are legal export values)."""
    if isinstance(value, Output):
        return _resolve(value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unwrap(v) for v in value]
    return value


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def _environment_config(project: str) -> dict[str, Any]:
    """The project's config as `pulumi up` hands it to the language host (PULUMI_CONFIG), when no file is read."""
    try:
        document = json.loads(os.environ.get("PULUMI_CONFIG", "{}"))
    except json.JSONDecodeError:
        return {}
    config: dict[str, Any] = {}
    for key, value in document.items() if isinstance(document, dict) else ():
        namespace, _, name = key.partition(":")
        if namespace == project:
            try:
                config[name] = json.loads(value)
            except (TypeError, json.JSONDecodeError):
                config[name] = value
    return config


def referenced_stacks(raw: dict[str, Any]) -> list[str]:
    """The stacks a stack's program reads through a StackReference: a standby's primary."""
    site = _section(raw, "site")
    if site.get("role") == "standby" and isinstance(site.get("primaryStack"), str) and not site.get("primaryOutputsFile"):
        return [site["primaryStack"]]
    return []


_LOCAL_REFERENCES: dict[tuple[str, str, float], dict[str, Any]] = {}


def local_stack_reference(name: str, project: str = PROJECT) -> dict[str, Any] | None:
    """The outputs a StackReference to ``name`` reads, played by evaluating that stack's file here.

    The real engine reads the referenced stack's last checkpoint from the state backend. Offline the
    checkpoint is what a `pulumi up` of the local ``Pulumi.<stack>.yaml`` would leave. None when the name
    is not this project's or there is no such file (the read then fails as the engine's would).
    """
    parts = name.split("/")
    path = ROOT / f"Pulumi.{parts[-1]}.yaml"
    if len(parts) != 3 or parts[1] != project or not path.exists():
        return None
    key = (name, str(path), path.stat().st_mtime)
    if key not in _LOCAL_REFERENCES:
        _LOCAL_REFERENCES[key] = as_stack_reference(evaluate(parts[-1], project=project))
    return _LOCAL_REFERENCES[key]


def primary_mirror(raw: dict[str, Any], project: str = PROJECT) -> tuple[dict[str, Any] | None, str]:
    """A standby's view of its primary's siteMirror, read as the program reads it (file, else reference)."""
    site = _section(raw, "site")
    if site.get("role") != "standby":
        return None, ""
    if isinstance(site.get("primaryOutputsFile"), str):
        # Relative to the directory the command runs in, as the program reads it (Pulumi runs it in the project's).
        path = Path.cwd() / site["primaryOutputsFile"]
        if not path.exists():
            return None, ""
        document = {k: v for k, v in json.loads(path.read_text()).items() if k != "source"}
        return document, f"file {site['primaryOutputsFile']} ({document.get('digest')})"
    for reference in referenced_stacks(raw):
        local = local_stack_reference(reference, project)
        document = (local or {}).get("outputs", {}).get("siteMirror")
        if document:
            return document, f"stack {reference} ({document.get('digest')})"
    return None, ""


def platform_config(stack: str, raw: dict[str, Any] | None = None) -> PlatformConfig:
    """A stack's config as its program sees it (every secret taken as set; a standby's primary mirrored)."""
    raw = stack_config(stack) if raw is None else raw
    primary, source = primary_mirror(raw)
    return parse_config(raw, [s.key for s in SECRET_KEYS], primary=primary, primary_source=source)


def as_stack_reference(evaluation: Evaluation) -> dict[str, Any]:
    """An evaluated stack's outputs as the engine hands them to a StackReference in another stack."""
    secret_names = sorted(name for name, value in evaluation.outputs.items() if isinstance(value, Secret))
    return {"outputs": reveal(evaluation.outputs), "secretOutputNames": secret_names}
