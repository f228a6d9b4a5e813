"""What every policy module declares, and how it becomes a CrossGuard policy.

A rule's check is a pure function of plain data (type, props, options, config), so tests call it
directly and the offline engine can run it without a policy server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

FRAMEWORK = "HIPAA Security Rule"


@dataclass(frozen=True)
class Resource:
    """A resource as a policy sees it: engine type token, camelCase props, and the protect option."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    protect: bool = False
    provider: str = ""
    """URN of the resource's provider: for Kubernetes objects, which cluster they live in."""


@dataclass(frozen=True)
class Rule:
    name: str
    """Stable kebab-case name; policy config and reports key on it."""
    title: str
    citation: str
    """The 45 CFR section the rule serves, e.g. 164.312(a)(1)."""
    severity: Severity
    description: str
    """Two sentences: what is checked, and why it matters for ePHI."""
    check: Callable[..., Iterable[Any]]
    """Resource rules: (Resource, config) -> messages. Stack rules: (list[Resource], config) -> (urn, message)."""
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY
    """The rule's own level; policy config may change it per stack."""
    stack: bool = False
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the rule's knobs; each has a default."""

    @property
    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items()}

    def full_description(self) -> str:
        return f"{self.description} (45 CFR {self.citation})"

    def settings(self, config: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults merged with the given config: the engine applies schema defaults, the SDK does not."""
        return {**self.defaults, **{k: v for k, v in (config or {}).items() if k != "enforcementLevel"}}

    def evaluate(self, resource: Resource, config: dict[str, Any]) -> list[str]:
        """A resource rule's messages, the workloads a LeaderWorkerSet stands for judged each in turn."""
        from hipaa._k8s import workload_views

        return [f"{prefix}{message}" for prefix, view in workload_views(resource)
                for message in self.check(view, config)]

    def evaluate_stack(self, resources: list[Resource], config: dict[str, Any]) -> list[tuple[str, str]]:
        """A stack rule's (urn, message) pairs, with every LeaderWorkerSet in the list as its workloads."""
        from hipaa._k8s import workload_views

        return list(self.check([view for r in resources for _, view in workload_views(r)], config))


def to_policy(rule: Rule) -> ResourceValidationPolicy | StackValidationPolicy:
    common = dict(
        name=rule.name,
        description=rule.full_description(),
        display_name=rule.title,
        severity=rule.severity,
        framework=PolicyComplianceFramework(
            name=FRAMEWORK, version="2013", reference=f"45 CFR {rule.citation}", specification=rule.title,
        ),
        tags=["hipaa", "onprem-llm"],
        config_schema=PolicyConfigSchema(properties=rule.config) if rule.config else None,
    )
    if rule.stack:
        def validate_stack(args, report_violation):
            resources = [_from_policy_resource(r) for r in args.resources]
            for urn, message in rule.evaluate_stack(resources, rule.settings(args.get_config())):
                report_violation(message, urn)

        return StackValidationPolicy(validate=validate_stack, enforcement_level=rule.enforcement, **common)

    def validate(args, report_violation):
        resource = Resource(args.resource_type, args.name, args.urn, args.props or {},
                            bool(args.opts.protect) if args.opts else False, _provider_urn(args.provider))
        for message in rule.evaluate(resource, rule.settings(args.get_config())):
            report_violation(message)

    return ResourceValidationPolicy(validate=validate, enforcement_level=rule.enforcement, **common)


def _provider_urn(provider) -> str:
    return getattr(provider, "urn", "") or "" if provider is not None else ""


def _from_policy_resource(resource) -> Resource:
    return Resource(resource.resource_type, resource.name, resource.urn, resource.props or {},
                    bool(resource.opts.protect) if resource.opts else False, _provider_urn(resource.provider))
