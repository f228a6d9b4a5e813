"""`python -m offline preview` on broken stack files: exit 2, one message, no traceback, no secret, nothing printed first."""

from __future__ import annotations

import subprocess
import sys

import pytest

from components.config import SECRET_KEYS
from offline.run import ROOT
from tests.conftest import offline_cli

PASSWORD = "Winter2024!hospital"
TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789"
CIPHERTEXT = "v1:ZW5jcnlwdGVkLWJ5LXRoZS1zdGFjaw=="


def _preview(tmp_path, text: str, *extra: str, stack: str = "dev", in_process: bool = False) -> subprocess.CompletedProcess:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text)
    args = ("preview", "--stack", stack, "--config", str(path), *extra)
    if in_process:
        return offline_cli(*args)
    return subprocess.run([sys.executable, "-m", "offline", *args], cwd=ROOT, capture_output=True, text=True, timeout=180)


def _edited(stack: str, old: str, new: str) -> str:
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert old in text, old
    return text.replace(old, new, 1)


def _refused(result: subprocess.CompletedProcess, *fragments: str, secrets: tuple[str, ...] = ()) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert result.stdout == "", "nothing is printed before the config is valid"
    assert "Traceback" not in output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    for secret in secrets:
        assert secret not in output


def test_a_sample_stack_without_its_secrets_fails_listing_the_commands(tmp_path):
    result = _preview(tmp_path, (ROOT / "Pulumi.dev.yaml").read_text())
    required = ["vspherePassword", "supervisorKubeconfig", "registryPassword", "nlsClientToken", "gatewayTlsCert",
                "gatewayTlsKey"]
    commands = [next(s.command for s in SECRET_KEYS if s.key == key) for key in required]
    _refused(result, *commands, "--stand-in-secrets")
    assert "hfToken" not in result.stderr, "only the secrets this stack needs are asked for"


def test_secrets_set_in_the_stack_file_are_used_without_asking_for_stand_ins(tmp_path):
    required = ["vspherePassword", "supervisorKubeconfig", "registryPassword", "nlsClientToken", "gatewayTlsCert",
                "gatewayTlsKey"]
    secure = "".join(f"  onprem-llm:{key}:\n    secure: {CIPHERTEXT}\n" for key in required)
    result = _preview(tmp_path, _edited("dev", "config:\n", f"config:\n{secure}"))
    assert result.returncode == 0, result.stderr
    assert "onprem:platform:VllmService" in result.stdout
    assert CIPHERTEXT not in result.stdout + result.stderr


def _line_of(stack: str, text: str) -> int:
    """Line number of ``text`` in a sample stack file, so cases do not break when the file grows."""
    return (ROOT / f"Pulumi.{stack}.yaml").read_text().splitlines().index(text) + 1


BROKEN_FILES = [
    ("bad-escape", "dev", "    vsphereOperatorGroup: HOSPITAL.EXAMPLE\\llm-operators\n",
     '    vsphereOperatorGroup: "HOSPITAL.EXAMPLE\\llm-operators"\n',
     (f"Pulumi.dev.yaml:{_line_of('dev', '    vsphereOperatorGroup: HOSPITAL.EXAMPLE' + chr(92) + 'llm-operators')}:",
      "YAML syntax error"), ()),
    ("tab", "dev", "    datastore: vsan-lab\n", "\tdatastore: vsan-lab\n",
     (f"Pulumi.dev.yaml:{_line_of('dev', '    datastore: vsan-lab')}:1", "tabs"), ()),
    ("duplicate-section", "prod", "  onprem-llm:cost:\n", "  onprem-llm:dr:\n    enabled: false\n  onprem-llm:cost:\n",
     (f"dr: '<duplicate>': set twice (first at line {_line_of('prod', '  onprem-llm:dr:')})",), ()),
    ("misspelt-namespace", "prod", "  onprem-llm:dr:\n", "  onprem_llm:dr:\n",
     ("onprem_llm:dr: '<mapping>': namespace 'onprem_llm'", "write `onprem-llm:dr`"), ()),
    ("plain-password", "dev", "config:\n", f"config:\n  onprem-llm:vspherePassword: {PASSWORD}\n",
     ("vspherePassword: <secret, not shown>: is a secret", "pulumi config set --secret vspherePassword"), (PASSWORD,)),
    ("password-in-section", "dev", "    datastore: vsan-lab\n", f"    datastore: vsan-lab\n    password: {PASSWORD}\n",
     ("vsphere.password: <secret, not shown>",), (PASSWORD,)),
    ("url-credential", "dev", "    mirrorUrl: https://models-lab.hospital.example/hf\n",
     f"    mirrorUrl: https://bob:{PASSWORD}@models-lab.hospital.example/hf\n",
     ("models.llama-2-7b-chat.mirrorUrl: <secret, not shown>", "https://<redacted>@models-lab"), (PASSWORD,)),
    ("token-flag", "dev", "      memoryGib: 48\n", f"      memoryGib: 48\n      extraArgs: [--hf-token={TOKEN}]\n",
     ("credential flag (--hf-token)",), (TOKEN,)),
    ("secure-in-section", "dev", "    datastore: vsan-lab\n", f"    datastore: vsan-lab\n    password:\n"
                                                             f"      secure: {CIPHERTEXT}\n",
     ("vsphere: <secret, not shown>: is stored encrypted",), (CIPHERTEXT,)),
    ("shared-namespace", "prod", "    kedaNamespace: keda\n", "    kedaNamespace: monitoring\n",
     ("addons.kedaNamespace: 'monitoring': must differ from tanzu.monitoringNamespace",
      f"(Pulumi.prod.yaml:{_line_of('prod', '    kedaNamespace: keda')})"), ()),
    ("latency-in-ms", "prod", "    latencyP95ThresholdSeconds: 2\n", "    latencyP95ThresholdSeconds: 2000\n",
     ("2000 looks like milliseconds: did you mean 2?",), ()),
    ("profile-of-another-gpu", "prod", "    vgpuProfile: grid_a100-80c\n", "    vgpuProfile: grid_l40s-48c\n",
     ("belongs to L40S, not gpuPool.gpuModel A100-80GB",), ()),
    ("unknown-nested-key", "prod", "      tensorParallelSize: 1\n", "      tensorParalelSize: 1\n",
     ("models.llama-2-7b-chat.tensorParalelSize: 1: unknown key (misspelt?); did you mean tensorParallelSize?",), ()),
]


@pytest.mark.parametrize(("name", "stack", "old", "new", "fragments", "secrets"), BROKEN_FILES, ids=[b[0] for b in BROKEN_FILES])
def test_a_broken_stack_file_is_refused_before_anything_is_printed(tmp_path, name, stack, old, new, fragments, secrets):
    result = _preview(tmp_path, _edited(stack, old, new), "--stand-in-secrets", "--out", str(tmp_path / "out"),
                      stack=stack, in_process=True)
    _refused(result, *fragments, secrets=secrets)
    assert not (tmp_path / "out").exists()


def test_make_preview_asks_for_stand_ins_explicitly():
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-n", "preview"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "-m offline preview --stack dev --stand-in-secrets" in result.stdout
