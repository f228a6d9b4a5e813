"""The Supervisor login in supervisorKubeconfig must outlast the run's waits on the Supervisor."""

from __future__ import annotations

import base64
import datetime
import json
import time

import pulumi
import pytest

from components.supervisor_login import LoginExpired, require_login_lasts, token_expiry
from offline.run import evaluate
from offline.world import FakeWorld, Mode, fake_kubeconfig

NOW = datetime.datetime(2026, 12, 7, 8, 0, tzinfo=datetime.UTC)


def _jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def _login(expires: datetime.datetime) -> str:
    return fake_kubeconfig("supervisor", _jwt({"sub": "svc-llm-platform@vsphere.local", "exp": int(expires.timestamp())}))


def test_the_expiry_is_read_from_the_current_contexts_token():
    assert token_expiry(_login(NOW + datetime.timedelta(hours=10))) == NOW + datetime.timedelta(hours=10)


@pytest.mark.parametrize("kubeconfig", [
    fake_kubeconfig("supervisor", "not-a-jwt"),  # an opaque token: nothing to read
    fake_kubeconfig("supervisor", _jwt({"sub": "sa"})),  # a JWT without exp (a long-lived token)
    "apiVersion: v1\nkind: Config\nusers:\n- name: a\n  user:\n    client-certificate-data: QQ==\n",
    "{not yaml: [",
])
def test_credentials_without_a_readable_expiry_are_not_judged(kubeconfig):
    assert token_expiry(kubeconfig) is None
    require_login_lasts(kubeconfig, 10**9, "anything", now=NOW)


def test_a_login_that_ends_before_the_longest_wait_is_refused_with_when_and_how_to_log_in_again():
    kubeconfig = _login(NOW + datetime.timedelta(minutes=20))
    require_login_lasts(kubeconfig, 20 * 60, "the cluster wait", now=NOW)  # exactly long enough
    with pytest.raises(LoginExpired) as caught:
        require_login_lasts(kubeconfig, 75 * 60, "the cluster wait", now=NOW)
    message = str(caught.value)
    assert "expires in 20 min, at 2026-12-07 08:20 UTC" in message and "up to 75 min (the cluster wait)" in message
    assert "kubectl vsphere login" in message and "pulumi config set --secret supervisorKubeconfig" in message
    token = kubeconfig.split("token: ")[1].split("\n")[0]
    assert token not in message
    with pytest.raises(LoginExpired, match="expired at 2026-12-07 07:00 UTC"):
        require_login_lasts(_login(NOW - datetime.timedelta(hours=1)), 60, "x", now=NOW)


class _LoggedIn(FakeWorld):
    """A site whose Supervisor login, the stand-in for ``supervisorKubeconfig``, lasts ``seconds`` from now."""

    def __init__(self, stack: str, seconds: float):
        super().__init__(stack)
        self.seconds = seconds

    def stand_in_secret(self, key):
        if key == "supervisorKubeconfig":
            return _login(datetime.datetime.fromtimestamp(time.time() + self.seconds, datetime.UTC))
        return super().stand_in_secret(key)


def test_the_preview_refuses_a_login_that_would_expire_while_the_cluster_builds():
    with pytest.raises(pulumi.RunError, match=r"supervisorKubeconfig: <secret, not shown>: its Supervisor login expires "
                       r"in [45] min.*the workload cluster's create or rolling-update wait"):
        evaluate("dev", world=_LoggedIn("dev", 5 * 60), mode=Mode.PREVIEW)


def test_a_fresh_login_of_a_working_day_passes():
    evaluate("dev", world=_LoggedIn("dev", 10 * 3600), mode=Mode.PREVIEW)
