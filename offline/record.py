"""Mocks and a MockMonitor that record every resource with its inputs and options.

Values unknown in a preview stay ``pulumi.output.Unknown`` objects in recorded inputs; writers
print them as UNKNOWN_TEXT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import Mocks, rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_project, get_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from offline.urns import STACK_TYPE, make_urn
from offline.world import FakeWorld, Mode

READ_BACK = ("vsphere:index/entityPermissions:EntityPermissions",)
"""Types whose provider keeps in the state what it reads back, not what it was given: vsphere.EntityPermissions
reads every direct permission of its entity after create and on refresh (vmware/terraform-provider-vsphere#1517)."""


class Secret:
    """A value that was a Pulumi secret in the program. Written out only as REDACTED."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "Secret([secret])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("secret", repr(self.value)))


REDACTED = "[secret]"
UNKNOWN_TEXT = "[unknown]"
"""How a value that is unknown in a preview (``pulumi.output.Unknown``) is printed and written."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def normalise(value: Any) -> Any:
    """Engine-wire values to plain data: secrets marked, integral floats back to ints."""
    if rpc.is_rpc_secret(value):
        return Secret(normalise(value["value"]))
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _walk(value: Any, on_secret: Callable[[Any], Any], on_leaf: Callable[[Any], Any]) -> Any:
    if isinstance(value, Secret):
        return on_secret(value.value)
    if isinstance(value, dict):
        return {k: _walk(v, on_secret, on_leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, on_secret, on_leaf) for v in value]
    return on_leaf(value)


def reveal(value: Any) -> Any:
    """Secrets unwrapped, as a policy analyzer sees resource inputs."""
    return _walk(value, reveal, lambda leaf: leaf)


def _mask(value: Any) -> Any:
    # Keys of a secret map (a Secret's stringData keys) are not secret and keep the object's shape.
    return _walk(value, _mask, lambda leaf: REDACTED)


def redact(value: Any) -> Any:
    """Every secret leaf replaced by REDACTED; the shape of the data is kept."""
    return _walk(value, _mask, lambda leaf: leaf)


@dataclass
class Record:
    """One resource as the engine would see it at registration."""

    type: str
    name: str
    urn: str
    parent: str
    provider: str
    custom: bool
    read: bool
    id: str
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    """For providers that read back more than they were given (READ_BACK), the state the engine keeps."""

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class Invoke:
    token: str
    args: dict[str, Any]
    provider: str


class OfflineMocks(Mocks):
    """Answers resource registrations, reads and invokes from the fake world, as the engine would in
    the world's mode (see ``offline.world.Mode``)."""

    def __init__(self, world: FakeWorld):
        self.world = world

    def register(self, typ: str, name: str, urn: str, inputs: dict[str, Any], custom: bool,
                 provider: str = "") -> tuple[str, dict]:
        """Id and output state of a registered resource; ``inputs`` as deserialized from the wire."""
        if not custom:
            return "", {}  # components have no id, and register_outputs is not sent back as state
        plain = reveal(normalise(rpc.unwrap_rpc_secret(inputs)))
        if typ.startswith("pulumi:providers:"):
            self.world.register_provider(urn, typ, plain)
        if self.world.mode is Mode.PREVIEW:
            # Nothing is created: the id is unknown, and so is every output the provider computes.
            # Providers echo the inputs they were given (pulumi-kubernetes and the Terraform bridge do).
            return "", dict(inputs)
        self.world.check_reachable(provider, f"creating {urn or name}")
        resource_id = self.world.resource_id(typ, name, plain)
        self.world.created(typ, resource_id, plain)
        return resource_id, self.world.computed_state(typ, name, plain)

    def read(self, typ: str, name: str, resource_id: str, inputs: dict[str, Any], provider: str = "") -> dict:
        plain = reveal(normalise(rpc.unwrap_rpc_secret(inputs)))
        self.world.check_reachable(provider, f"reading {typ} {resource_id!r}")
        return self.world.read(typ, name, resource_id, plain)

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        if args.resource_id:
            return args.resource_id, self.read(args.typ, args.name, args.resource_id, args.inputs)
        return self.register(args.typ, args.name, "", args.inputs, bool(args.custom))

    def call(self, args: MockCallArgs) -> dict:
        return self.world.call(args.token, reveal(normalise(args.args)), args.provider)


class RecordingMonitor(MockMonitor):
    """Sees what ``new_resource`` cannot: parents, providers and resource options.

    It builds URNs as the engine does (the whole parent type chain), answers each registration in
    the world's mode, and skips a read whose id is unknown, as the engine's read step does in a
    preview. Invokes whose inputs or dependencies are unknown never get here: the Python SDK skips
    them itself, because this monitor, like the mock one, does not offer engine-side invoke gating.
    """

    def __init__(self, mocks: OfflineMocks):
        super().__init__(mocks)
        self.mocks: OfflineMocks = mocks
        self.records: list[Record] = []
        self.invokes: list[Invoke] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return make_urn(get_stack(), get_project(), parent, type_, name)

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()  # deserializing resource references needs one on this thread
        inputs = rpc.deserialize_properties(request.object)
        resource_id, state = self.mocks.register(request.type, request.name, urn, inputs, bool(request.custom),
                                                 request.provider)
        kept = normalise(state) if request.type in READ_BACK and resource_id else None
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        timeouts = request.customTimeouts
        self.records.append(Record(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=request.parent,
            provider=request.provider,
            custom=bool(request.custom),
            read=False,
            id=resource_id,
            inputs=normalise(inputs),
            options={
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "ignoreChanges": sorted(request.ignoreChanges),
                "dependencies": sorted(set(request.dependencies)),
                "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "replaceOnChanges": sorted(request.replaceOnChanges),
                "customTimeouts": {"create": timeouts.create, "update": timeouts.update, "delete": timeouts.delete},
                "deletedWith": request.deletedWith,
            },
            state=kept,
        ))
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state_proto)

    def ReadResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.properties)
        if request.id == rpc.UNKNOWN:
            # The engine's read step runs in a preview unless its id is unknown; then it is skipped
            # and the SDK resolves every output of the read as unknown.
            resource_id, state = "", {}
        else:
            resource_id, state = request.id, self.mocks.read(request.type, request.name, request.id, inputs,
                                                             request.provider)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        self.records.append(Record(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=request.parent,
            provider=request.provider,
            custom=True,
            read=True,
            id=resource_id,
            inputs=normalise(inputs),
            options={"dependencies": sorted(set(request.dependencies))},
        ))
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.ReadResourceResponse(urn=urn, properties=state_proto, id=resource_id)

    def Invoke(self, request):
        response = super().Invoke(request)
        self.invokes.append(Invoke(request.tok, normalise(rpc.deserialize_properties(request.args)), request.provider))
        return response
