"""Runs promtool, the Prometheus project's own checker, from tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml


def promtool() -> str:
    """Path of promtool. Locally a missing promtool skips; in CI (CI=true) it fails."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found: install the Debian package `prometheus` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def write_rules(directory: Path, groups: list[dict], name: str = "rules.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path
