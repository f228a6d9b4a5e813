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

from components.builders.ai_gateway import (
    REDIS_ARGS,
    REDIS_AUTH_CONFIG,
    REDIS_AUTH_CONFIG_KEY,
    REDIS_AUTH_KEY,
    REDIS_AUTH_SECRET,
    redis_auth_config,
    redis_command,
)

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
    assert pod["containers"][0]["args"] == redis_command()
    schedule = prod.graph.named("dr-velero-primary-schedule-platform-frequent")
    assert "gateway-redis" in schedule.inputs["spec"]["template"]["includedNamespaces"]


def _session(port: int, *commands: tuple[str, ...]) -> bytes:
    """Several RESP commands on one connection (AUTH holds for the connection), and every reply."""
    payload = "".join(f"*{len(c)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in c) for c in commands)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload.encode())
        time.sleep(0.2)
        return conn.recv(4096)


def test_the_store_refuses_every_command_without_the_password_the_rate_limit_service_holds(tmp_path):
    """The rendered command, its configuration file written as the mounted Secret holds it."""
    _needs_redis()
    port, password = _free_port(), "a-rendered-password-stand-in"
    config = tmp_path / REDIS_AUTH_CONFIG_KEY
    config.write_text(redis_auth_config(password))
    command = redis_command()
    assert command[1] == REDIS_AUTH_CONFIG, "redis-server reads the mounted file first"
    data = tmp_path / "data"
    data.mkdir()
    args = [REDIS, str(config), *_args(port, str(data))[1:]]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if _command(port, "PING").startswith((b"-NOAUTH", b"+PONG")):
                    break
            except OSError:
                time.sleep(0.05)
        assert _command(port, "INCRBY", "token-limits_x-llm-group_radiology_2026-12", "1").startswith(b"-NOAUTH")
        assert _session(port, ("AUTH", "wrong"), ("GET", "x")).startswith(b"-WRONGPASS")
        replies = _session(port, ("AUTH", password), ("INCRBY", "token-limits_x-llm-group_radiology_2026-12", "7"))
        assert replies == b"+OK\r\n:7\r\n"
    finally:
        server.kill()
        server.wait(timeout=10)


def test_redis_and_the_rate_limit_service_read_the_same_password_from_their_own_namespaces_secret(prod):
    redis = prod.graph.named("gateway-redis", "kubernetes:apps/v1:Deployment")
    pod = redis.inputs["spec"]["template"]["spec"]
    (auth,) = [v for v in pod["volumes"] if v["name"] == "auth"]
    assert auth["secret"]["secretName"] == REDIS_AUTH_SECRET
    assert auth["secret"]["items"] == [{"key": REDIS_AUTH_CONFIG_KEY, "path": REDIS_AUTH_CONFIG_KEY}]
    assert "env" not in pod["containers"][0], "no secret in Redis's environment"
    secrets = [r for r in prod.graph.records if r.type == "kubernetes:core/v1:Secret"
               and (r.inputs.get("metadata") or {}).get("name") == REDIS_AUTH_SECRET]
    assert sorted(r.inputs["metadata"]["namespace"] for r in secrets) == ["envoy-gateway-system", "gateway-redis"]
    assert {type(r.inputs["stringData"]).__name__ for r in secrets} == {"Secret"}, "a Pulumi secret in both"
    data = {r.inputs["metadata"]["namespace"]: r.inputs["stringData"].value for r in secrets}
    assert data["gateway-redis"] == {REDIS_AUTH_CONFIG_KEY: redis_auth_config(data["envoy-gateway-system"][REDIS_AUTH_KEY])}
    controller = prod.graph.named("gateway-envoy-gateway", "kubernetes:helm.sh/v3:Release")
    rate_limit = controller.inputs["values"]["config"]["envoyGateway"]["provider"]["kubernetes"]["rateLimitDeployment"]
    assert rate_limit["container"]["env"] == [
        {"name": "REDIS_AUTH", "valueFrom": {"secretKeyRef": {"name": REDIS_AUTH_SECRET, "key": REDIS_AUTH_KEY}}}]
