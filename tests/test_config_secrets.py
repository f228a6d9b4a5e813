"""Secrets: required ones are named with the command that sets them, and no message ever shows a value."""

from __future__ import annotations

import copy
import json

import pytest

from components.config import SECRET_KEYS, ConfigError, load_engine_config, parse_config
from offline.record import OfflineMocks, RecordingMonitor
from offline.run import engine_config, evaluate, stack_config
from offline.world import FakeWorld

ALL_SECRETS = tuple(s.key for s in SECRET_KEYS)
PASSWORD = "Winter2024!hospital"
TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789"


def _refusal(raw, secrets=ALL_SECRETS) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, secrets)
    return caught.value


def _engine(stack: str, secrets=ALL_SECRETS, edit=None):
    raw = copy.deepcopy(stack_config(stack))
    if edit:
        edit(raw)
    return engine_config(stack, raw, secrets)


def test_a_missing_secret_is_reported_with_the_exact_command():
    error = _refusal(stack_config("dev"), [k for k in ALL_SECRETS if k not in ("vspherePassword", "supervisorKubeconfig",
                                                                           "gatewayTlsCert")])
    text = str(error)
    assert "vspherePassword: <missing>: secret (password of vsphere.user) is required; set it with " \
           "`pulumi config set --secret vspherePassword`" in text
    # File-like secrets are read from standard input, so their content never passes through the shell.
    assert "`pulumi config set --secret supervisorKubeconfig < supervisor-kubeconfig.yaml`" in text
    assert "`pulumi config set --secret gatewayTlsCert < llm.crt`" in text


def test_a_secret_in_plain_text_in_the_stack_file_is_refused_without_its_value():
    raw = stack_config("dev")
    raw["vspherePassword"] = PASSWORD
    error = _refusal(raw)
    assert "vspherePassword: <secret, not shown>: is a secret (password of vsphere.user) but is set in plain text" in str(error)
    assert "`pulumi config set --secret vspherePassword`" in str(error)
    assert PASSWORD not in str(error)


def test_a_secret_passed_to_the_program_as_a_plain_value_is_refused():
    config, secret_keys = _engine("dev")
    secret_keys.remove("onprem-llm:registryPassword")
    with pytest.raises(ConfigError) as caught:
        load_engine_config(config, secret_keys)
    assert "registryPassword: <secret, not shown>: is a secret" in str(caught.value)
    assert config["onprem-llm:registryPassword"] not in str(caught.value)


def test_an_empty_secret_is_refused():
    config, secret_keys = _engine("dev")
    config["onprem-llm:hfToken"] = "  "
    secret_keys.append("onprem-llm:hfToken")
    with pytest.raises(ConfigError, match="hfToken: <secret, not shown>: secret is set but empty"):
        load_engine_config(config, secret_keys)


def test_no_message_shows_a_secret_value_even_where_a_field_repeats_it():
    config, secret_keys = _engine("dev")
    config["onprem-llm:vspherePassword"] = PASSWORD
    tanzu = json.loads(config["onprem-llm:tanzu"])
    tanzu["clusterName"] = PASSWORD
    config["onprem-llm:tanzu"] = json.dumps(tanzu)
    with pytest.raises(ConfigError) as caught:
        load_engine_config(config, secret_keys)
    assert "tanzu.clusterName" in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.mark.parametrize(("path", "value"), [
    ("models.llama-2-7b-chat.mirrorUrl", "https://bob:{p}@models-lab.hospital.example/hf"),
    ("gateway.oidc.issuer", "https://admin:{p}@sso.hospital.example/realms/clinical"),
    ("observability.runbookBaseUrl", "https://oauth2:{p}@git.hospital.example/runbook"),
    ("tanzu.registry.server", "robot:{p}@harbor-lab.hospital.example"),
    ("models.llama-2-7b-chat.image.repository", "https://robot:{p}@harbor-lab.hospital.example/vllm/vllm-openai"),
    ("models.llama-2-7b-chat.image.repository", "robot:{p}@harbor-lab.hospital.example/vllm/vllm-openai"),
    ("addons.gpuOperator.driverRepository", "robot:{p}@harbor-lab.hospital.example/nvaie"),
    ("vsphere.server", "svc:{p}@vcenter-lab.hospital.example"),
])
def test_a_credential_in_a_url_is_refused_and_redacted(path, value):
    raw = stack_config("dev")
    *parents, leaf = path.split(".")
    node = raw
    for part in parents:
        node = node[part]
    node[leaf] = value.format(p=PASSWORD)
    error = _refusal(raw)
    issue = next(i for i in error.issues if i.path == path)
    assert issue.secret and ("<redacted>@" in issue.reason or "credentials" in issue.reason)
    assert PASSWORD not in str(error)


@pytest.mark.parametrize(("section", "key", "secret"), [
    ("vsphere", "password", "vspherePassword"),
    ("vsphere", "vspherePassword", "vspherePassword"),
    ("gateway", "tlsKey", "gatewayTlsKey"),
    ("audit", "secretAccessKey", "auditS3SecretAccessKey"),
])
def test_a_credential_under_a_section_is_refused_redacted_with_the_secret_to_set(section, key, secret):
    raw = stack_config("prod")
    raw[section][key] = PASSWORD
    error = _refusal(raw)
    issue = next(i for i in error.issues if i.path == f"{section}.{key}")
    assert issue.secret and f"pulumi config set --secret {secret}" in issue.reason
    assert PASSWORD not in str(error)


@pytest.mark.parametrize("args", [
    [f"--hf-token={TOKEN}"], ["--api-key", PASSWORD], [f"--max-model-len=2048 --password {PASSWORD}"],
    ["--enable-prefix-caching", f"--ssl-keyfile-password={PASSWORD}"],
])
def test_credential_flags_in_extra_args_are_refused_without_their_value(args):
    raw = stack_config("dev")
    raw["models"]["llama-2-7b-chat"]["extraArgs"] = args
    error = _refusal(raw)
    issue = next(i for i in error.issues if i.path == "models.llama-2-7b-chat.extraArgs")
    assert issue.secret and "credential flag" in issue.reason
    assert PASSWORD not in str(error) and TOKEN not in str(error)


def test_a_misspelt_secret_key_is_pointed_to_the_secret_and_not_shown():
    raw = stack_config("prod")
    raw["hftoken"] = TOKEN
    error = _refusal(raw)
    assert "hftoken: <secret, not shown>: unknown config key; did you mean the secret hfToken?" in str(error)
    assert TOKEN not in str(error)


def test_a_secret_under_a_misspelt_namespace_is_not_shown():
    raw = stack_config("prod")
    raw["onprem_llm:vspherePassword"] = PASSWORD
    error = _refusal(raw)
    assert "onprem_llm:vspherePassword: <secret, not shown>: namespace 'onprem_llm'" in str(error)
    assert "write `onprem-llm:vspherePassword`" in str(error) and PASSWORD not in str(error)


def test_text_that_looks_like_a_credential_is_never_shown():
    raw = stack_config("dev")
    raw["tanzu"]["clusterName"] = TOKEN
    error = _refusal(raw)
    assert "tanzu.clusterName: <not shown: looks like a credential>" in str(error) and TOKEN not in str(error)


# -- the program itself: it sees every key as the engine passes them ------------------------------------------------


def test_the_program_refuses_a_misspelt_namespace_before_registering_anything():
    raw = copy.deepcopy(stack_config("prod"))
    raw["onprem_llm:dr"] = raw.pop("dr")
    monitor = RecordingMonitor(OfflineMocks(FakeWorld("prod")))
    with pytest.raises(Exception, match="namespace 'onprem_llm' is not the project's") as caught:
        evaluate("prod", raw, monitor=monitor)
    assert type(caught.value).__name__ == "RunError"
    assert monitor.records == [] and monitor.invokes == []


def test_the_program_refuses_a_plain_text_secret_without_printing_it():
    raw = copy.deepcopy(stack_config("dev"))
    raw["registryPassword"] = PASSWORD
    with pytest.raises(Exception) as caught:
        evaluate("dev", raw)
    assert "registryPassword: <secret, not shown>: is a secret" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_the_program_reads_the_config_as_the_cli_passes_it_in_the_environment(monkeypatch):
    """`pulumi up` hands config to the Python language host as PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS."""
    config, secret_keys = _engine("dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))
    evaluation = evaluate("dev", raw_config={}, secrets=())
    assert evaluation.graph.named("primary-cluster")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({**config, "onprem-lm:gateway": config["onprem-llm:gateway"]}))
    with pytest.raises(Exception, match="onprem-lm:gateway: '<mapping>': namespace 'onprem-lm'"):
        evaluate("dev", raw_config={}, secrets=())


def test_the_reference_says_when_each_secret_is_required_as_the_program_decides(raw_config):
    """No secret is described as needed by a stack that does not need it, and the DR keys by the role that does."""
    from offline.run import platform_config

    configs = {stack: platform_config(stack, raw_config(stack)) for stack in ("dev", "prod", "prod-standby")}
    for secret in SECRET_KEYS:
        needed = {stack for stack, cfg in configs.items() if secret.required_when(cfg)}
        if needed != set(configs):
            assert "always" not in secret.when and (" with " in secret.when or "(not" in secret.when
                                                    or "on a" in secret.when or "on the" in secret.when), (
                secret.key, secret.when, sorted(needed))
    by_key = {s.key: s for s in SECRET_KEYS}
    assert by_key["backupS3AccessKeyId"].required_when(configs["prod"]) and "primary" in by_key["backupS3AccessKeyId"].when
    assert not by_key["backupS3AccessKeyId"].required_when(configs["prod-standby"])
    assert by_key["backupS3ReadOnlyAccessKeyId"].required_when(configs["prod-standby"])
    assert "standby" in by_key["backupS3ReadOnlyAccessKeyId"].when
    assert "backup-restore" in by_key["vspherePassword"].when
