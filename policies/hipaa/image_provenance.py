"""Images come from allowed registries, pinned by tag, and by digest where required."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from hipaa._k8s import containers, pod_spec
from hipaa._rule import Resource, Rule

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_problems(path: str, image: str, config: dict) -> list[str]:
    problems = []
    first = image.split("/", 1)[0]
    # As container runtimes read a reference: a first part with a dot, a port or "localhost" is a registry.
    registry = first if "/" in image and ("." in first or ":" in first or first == "localhost") else "docker.io"
    allowed = config.get("allowedRegistries") or []
    if registry not in allowed:
        problems.append(f"{path}.image {image!r}: registry {registry!r} is not in allowedRegistries {allowed}")
    reference = _DIGEST.sub("", image)
    tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else None
    if tag in (None, "latest"):
        problems.append(f"{path}.image {image!r} must carry a release tag, never latest or none")
    if config.get("requireDigest") and not _DIGEST.search(image):
        problems.append(f"{path}.image {image!r} must be pinned by @sha256 digest")
    return problems


def check(resource: Resource, config: dict) -> list[str]:
    pod = pod_spec(resource)
    if pod is None:
        return []
    return [problem for path, c in containers(pod) for problem in image_problems(path, c.get("image") or "", config)]


RULE = Rule(
    name="image-provenance",
    title="Images are pinned and from allowed registries",
    citation="164.312(c)(1)",
    severity=Severity.HIGH,
    description="Container images come from the site's allowed registries with a release tag, and a sha256 digest "
    "where required. A floating or foreign image can change the code that handles ePHI without review.",
    check=check,
    config={
        "allowedRegistries": {"type": "array", "items": {"type": "string"}, "default": [],
                              "description": "Registry hosts images may come from."},
        "requireDigest": {"type": "boolean", "default": True, "description": "Require @sha256 digests."},
    },
)
