"""Importing the project's modules registers nothing: only running the program does."""

from __future__ import annotations

import subprocess
import sys

from offline.run import ROOT

PROBE = """
import importlib, pulumi, pulumi.runtime.mocks as m
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from offline.record import OfflineMocks, RecordingMonitor
from offline.world import FakeWorld
monitor = RecordingMonitor(OfflineMocks(FakeWorld("dev")))
m.set_mocks(monitor.mocks, project="onprem-llm", stack="dev", preview=False, monitor=monitor)
import pkgutil, components, offline
MODULES = [m.name for package in (components, offline)
           for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".") if not m.name.endswith("__main__")]
assert len(MODULES) > 25, MODULES
def body():
    for name in MODULES:
        importlib.import_module(name)
    EXTRA
_sync_await(run_pulumi_func(body))
print(len(monitor.records))
"""


def _records_after_import(extra: str = "pass") -> str:
    result = subprocess.run([sys.executable, "-c", PROBE.replace("EXTRA", extra)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_components_and_offline_registers_no_resource():
    assert _records_after_import() == "0"


def test_the_probe_would_see_a_resource_registered_during_import():
    assert _records_after_import('pulumi.ComponentResource("test:probe:Thing", "probe")') == "1"
