"""Mocks and a MockMonitor that record every resource with its inputs and options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import Mocks, rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from offline.world import FakeWorld


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

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class Invoke:
    token: str
    args: dict[str, Any]
    provider: str


class OfflineMocks(Mocks):
    """Answers resource registrations and invokes from the fake world."""

    def __init__(self, world: FakeWorld):
        self.world = world

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        inputs = rpc.unwrap_rpc_secret(args.inputs)
        plain = reveal(normalise(inputs))
        if args.resource_id:
            return args.resource_id, self.world.read(args.typ, args.name, args.resource_id, plain)
        resource_id = self.world.resource_id(args.typ, args.name)
        if args.typ.startswith("pulumi:providers:"):
            self.world.register_provider(resource_id, plain)
        return resource_id, self.world.computed_state(args.typ, args.name, plain)

    def call(self, args: MockCallArgs) -> dict:
        return self.world.call(args.token, reveal(normalise(args.args)), args.provider)


class RecordingMonitor(MockMonitor):
    """Sees what ``new_resource`` cannot: parents, providers and resource options."""

    def __init__(self, mocks: OfflineMocks):
        super().__init__(mocks)
        self.records: list[Record] = []
        self.invokes: list[Invoke] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        timeouts = request.customTimeouts
        self.records.append(Record(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent,
            provider=request.provider,
            custom=bool(request.custom),
            read=False,
            id=response.id,
            inputs=normalise(rpc.deserialize_properties(request.object)),
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
        ))
        return response

    def ReadResource(self, request):
        response = super().ReadResource(request)
        self.records.append(Record(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent,
            provider=request.provider,
            custom=True,
            read=True,
            id=request.id,
            inputs=normalise(rpc.deserialize_properties(request.properties)),
            options={"dependencies": sorted(set(request.dependencies))},
        ))
        return response

    def Invoke(self, request):
        response = super().Invoke(request)
        self.invokes.append(Invoke(request.tok, normalise(rpc.deserialize_properties(request.args)), request.provider))
        return response
