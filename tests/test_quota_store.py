"""The quota counters survive a restart of their store: a real Redis run with the arguments the platform renders.

Envoy's rate-limit service keeps each counter as a key it increments (INCRBY) with the window as its
TTL. The store runs with the rendered `REDIS_ARGS` (port and directory moved to this test's own), is
killed without a chance to save (as an eviction or a node failure would), and started again on the
same directory: the month-to-date count must still be there. The same run with persistence off
loses it, so the test can tell the two apart.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from components.builders.ai_gateway import REDIS_ARGS

REDIS = shutil.which("redis-server")


def _needs_redis() -> None:
    if REDIS is None:
        reason = "needs redis-server (Debian package redis-server)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must not skip the quota store test: {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _args(port: int, directory: str, overrides: dict[str, str] | None = None) -> list[str]:
    """The rendered arguments, with the port and directory of this test (and any override) in place."""
    values = {"--port": str(port), "--dir": directory, "--bind": "127.0.0.1", **(overrides or {})}
    args, rendered = [REDIS], REDIS_ARGS[1:]
    for flag, value in zip(rendered[::2], rendered[1::2], strict=True):
        args += [flag, values.pop(flag, value)]
    for flag, value in values.items():
        args += [flag, value]
    return args


def _command(port: int, *words: str) -> bytes:
    """One RESP command and its raw reply."""
    payload = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload.encode())
        return conn.recv(4096)


def _start(args: list[str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if _command(port, "PING").startswith(b"+PONG"):
                return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise AssertionError("redis-server did not answer within 10 s")


def _count_after_a_crash(tmp_path, overrides: dict[str, str] | None = None) -> bytes:
    port, directory = _free_port(), str(tmp_path)
    args = _args(port, directory, overrides)
    server = _start(args, port)
    try:
        key = "token-limits_x-llm-group_radiology_2026-12"
        assert _command(port, "INCRBY", key, "123456") == b":123456\r\n"
        assert _command(port, "EXPIRE", key, "2592000") == b":1\r\n"
        time.sleep(1.5)  # appendfsync everysec: what a second old is on disk
    finally:
        server.kill()  # SIGKILL: no shutdown save, as a node failure or an OOM kill
        server.wait(timeout=10)
    server = _start(args, port)
    try:
        return _command(port, "GET", key)
    finally:
        server.kill()
        server.wait(timeout=10)


def test_month_to_date_counts_survive_a_killed_store(tmp_path):
    _needs_redis()
    assert _count_after_a_crash(tmp_path) == b"$6\r\n123456\r\n"


def test_without_the_append_only_file_the_counts_are_lost(tmp_path):
    """The store as it was rendered before: counters in memory only."""
    _needs_redis()
    assert _count_after_a_crash(tmp_path, {"--appendonly": "no"}) == b"$-1\r\n"


def test_the_rendered_store_keeps_its_counters_on_a_protected_volume(prod):
    deployment = prod.graph.named("gateway-redis", "kubernetes:apps/v1:Deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    (data,) = [v for v in pod["volumes"] if v["name"] == "data"]
    claim = prod.graph.named("gateway-redis-counters")
    assert data["persistentVolumeClaim"]["claimName"] == claim.inputs["metadata"]["name"]
    assert claim.options["protect"]
    assert pod["containers"][0]["args"] == REDIS_ARGS
    schedule = prod.graph.named("dr-velero-primary-schedule-platform-frequent")
    assert "gateway-redis" in schedule.inputs["spec"]["template"]["includedNamespaces"]
