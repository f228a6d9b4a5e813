"""The stack file is read as the Pulumi CLI reads it (Go yaml.v3 into config.Map), without Pulumi."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config import SECRET_KEYS, ConfigError, misspells_project, parse_config
from components.config.stack_file import SecureValue, read_stack_file, resolve_plain
from offline.run import ROOT, stack_config

ALL_SECRETS = [s.key for s in SECRET_KEYS]


def _file(tmp_path: Path, text: str, name: str = "Pulumi.dev.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _dev_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    assert old in text, old
    return _file(tmp_path, text.replace(old, new, 1))


def _refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        read_stack_file(path, "onprem-llm")
    return caught.value


# -- YAML 1.2 scalars as yaml.v3 resolves them ---------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1e6", 1e6), ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("True", True),
    ("FALSE", False), ("~", None), ("null", None), ("0x1F", 31), ("0o17", 15), ("1_000", 1000), ("+12", 12),
    ("2024-01-31", "2024-01-31"), ("1.29", 1.29), (".5", 0.5), ("v0.12.0", "v0.12.0"), ("10.0.0.0/8", "10.0.0.0/8"),
])
def test_plain_scalars_resolve_as_yaml_1_2(text, value):
    assert resolve_plain(text) == value and type(resolve_plain(text)) is type(value)


def test_an_integral_float_in_an_object_reaches_the_program_as_an_int(tmp_path):
    path = _dev_with(tmp_path, "    requestsPerMonth: 50000\n", "    requestsPerMonth: 1e6\n")
    raw = read_stack_file(path, "onprem-llm").namespace("onprem-llm")
    assert raw["cost"]["requestsPerMonth"] == 1_000_000 and isinstance(raw["cost"]["requestsPerMonth"], int)
    assert parse_config(raw, ALL_SECRETS).cost.requests_per_month == 1_000_000


def test_yes_is_text_so_a_boolean_field_refuses_it(tmp_path):
    path = _dev_with(tmp_path, "    allowUnverifiedSsl: false\n", "    allowUnverifiedSsl: off\n")
    with pytest.raises(ConfigError, match=r"vsphere.allowUnverifiedSsl: 'off': must be true or false; YAML 1.2"):
        parse_config(stack_config("dev", path), ALL_SECRETS)


# -- duplicate keys, at any depth --------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "path"), [
    ("  onprem-llm:cost:\n", "  onprem-llm:dr:\n    enabled: true\n  onprem-llm:cost:\n", "dr"),
    ("    prometheusRetentionDays: 7\n", "    prometheusRetentionDays: 7\n    prometheusRetentionDays: 30\n",
     "observability.prometheusRetentionDays"),
    ("      replicas:\n        min: 1\n", "      replicas:\n        min: 1\n        min: 2\n",
     "models.llama-2-7b-chat.replicas.min"),
    ("config:\n", "secretsprovider: passphrase\nsecretsprovider: passphrase\nconfig:\n", "secretsprovider"),
])
def test_duplicate_keys_are_refused_with_both_lines(tmp_path, old, new, path):
    error = _refused(_dev_with(tmp_path, old, new))
    issue = next(i for i in error.issues if i.path == path)
    assert "already defined at line" in issue.reason or "set twice (first at line" in issue.reason
    assert issue.location and issue.location.startswith("Pulumi.dev.yaml:")


def test_the_old_config_form_of_a_key_is_the_same_key(tmp_path):
    path = _dev_with(tmp_path, "  onprem-llm:aria:\n", "  onprem-llm:config:aria:\n")
    assert stack_config("dev", path)["aria"] == {"enabled": False}
    error = _refused(_dev_with(tmp_path, "  onprem-llm:cost:\n", "  onprem-llm:config:dr:\n    enabled: false\n"
                                                                 "  onprem-llm:cost:\n"))
    assert any(i.path == "dr" and "set twice" in i.reason for i in error.issues)


# -- keys ---------------------------------------------------------------------------------------------------------


def _line_of(text: str) -> int:
    """Where ``text`` (a whole line) is in the sample dev stack file, 1-based."""
    lines = (ROOT / "Pulumi.dev.yaml").read_text().splitlines(keepends=True)
    return lines.index(text) + 1


def test_a_key_without_namespace_is_refused_with_the_prefixed_form(tmp_path):
    key = "  onprem-llm:gpuPool:\n"
    error = _refused(_dev_with(tmp_path, key, "  gpuPool:\n"))
    assert "`onprem-llm:gpuPool`" in str(error) and f"Pulumi.dev.yaml:{_line_of(key)}:3" in str(error)


def test_a_config_key_outside_config_is_refused(tmp_path):
    error = _refused(_file(tmp_path, "onprem-llm:dr:\n  enabled: false\n"))
    assert "config keys go under `config:`" in str(error)


def test_an_unknown_top_level_key_gets_a_suggestion(tmp_path):
    error = _refused(_dev_with(tmp_path, "config:\n", "confg:\n"))
    assert "did you mean `config:`?" in str(error)


def test_keys_of_other_namespaces_are_passed_on_untouched(tmp_path):
    path = _dev_with(tmp_path, "config:\n", "config:\n  tls:precision: 2\n  pulumi:tags:\n    team: platform\n")
    raw = stack_config("dev", path)
    assert raw["tls:precision"] == 2 and raw["pulumi:tags"] == {"team": "platform"}
    parse_config(raw, ALL_SECRETS)


def test_config_of_the_providers_the_program_builds_itself_is_refused_not_ignored(tmp_path, prod):
    """`vsphere:password` configures the default provider; no vSphere, Kubernetes or Aria resource uses one."""
    explicit = [r for r in prod.graph.records if r.custom and r.type.split(":", 1)[0] in ("vsphere", "kubernetes", "vra")
                and not r.type.startswith("pulumi:providers:")]
    assert explicit and all(r.provider for r in explicit)
    path = _dev_with(tmp_path, "config:\n", "config:\n  vsphere:password: hunter2\n  kubernetes:context: lab\n"
                                            "  vra:url: https://aria.hospital.example\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(stack_config("dev", path), ALL_SECRETS)
    issues = {i.path: i for i in caught.value.issues}
    assert "hunter2" not in str(caught.value)
    assert "set the secret vspherePassword" in issues["vsphere:password"].reason
    assert "rotate it" in issues["vsphere:password"].reason
    assert "set aria.url" in issues["vra:url"].reason and "silently ignored" in issues["kubernetes:context"].reason


@pytest.mark.parametrize("namespace", ["onprem_llm", "onprem-lm", "onpremllm", "OnPrem-LLM", "on-prem-llm",
                                       "onprem-llms", "onprem", "onprem-llm-prod"])
def test_a_namespace_like_the_projects_is_refused_with_the_right_key(tmp_path, namespace):
    assert misspells_project(namespace)
    path = _dev_with(tmp_path, "  onprem-llm:dr:\n", f"  {namespace}:dr:\n")
    raw = stack_config("dev", path)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, ALL_SECRETS)
    issue = next(i for i in caught.value.issues if i.path == f"{namespace}:dr")
    assert "write `onprem-llm:dr`" in issue.reason and "silently vanish" in issue.reason


@pytest.mark.parametrize("namespace", ["vsphere", "kubernetes", "pulumi", "random", "vra", "aws", "tls", "harbor"])
def test_provider_namespaces_are_not_taken_for_misspellings(namespace):
    assert not misspells_project(namespace)


# -- secrets as `pulumi config set --secret` writes them ---------------------------------------------------------


def test_a_secure_value_is_a_set_secret(tmp_path):
    path = _dev_with(tmp_path, "config:\n", "config:\n  onprem-llm:hfToken:\n    secure: v1:AAABBBCCC=\n")
    raw = stack_config("dev", path)
    assert isinstance(raw["hfToken"], SecureValue) and "AAABBB" not in repr(raw["hfToken"])
    others = [k for k in ALL_SECRETS if k != "hfToken"]
    parse_config(raw, others)


def test_a_mapping_with_secure_and_more_keys_is_an_object_not_a_secret(tmp_path):
    path = _dev_with(tmp_path, "config:\n", "config:\n  onprem-llm:hfToken:\n    secure: v1:AAA\n    other: 1\n")
    with pytest.raises(ConfigError, match="hfToken: <secret, not shown>: is a secret .* set in plain text"):
        parse_config(stack_config("dev", path), ALL_SECRETS)


def test_a_secure_value_inside_a_section_is_refused_without_showing_it(tmp_path):
    path = _dev_with(tmp_path, "    datastore: vsan-lab\n", "    datastore: vsan-lab\n    password:\n"
                                                             "      secure: v1:QUJDREVGR0hJSktM\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(stack_config("dev", path), ALL_SECRETS)
    assert "vsphere: <secret, not shown>: is stored encrypted" in str(caught.value)
    assert "QUJDREVGR0hJSktM" not in str(caught.value)


# -- syntax errors: file, line, column, a hint, no traceback --------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "where", "hint"), [
    ("    vsphereOperatorGroup: HOSPITAL.EXAMPLE\\llm-operators\n",
     '    vsphereOperatorGroup: "HOSPITAL.EXAMPLE\\llm-operators"\n', None, "single quotes"),
    ("    datastore: vsan-lab\n", "\tdatastore: vsan-lab\n", "Pulumi.dev.yaml:15:1", "not allow tabs"),
    ("    datacenter: dc-lab\n", '    datacenter: "dc-lab\n', "Pulumi.dev.yaml:", "line 13 opens a quote"),
    ("    computeCluster: lab-gpu-cluster\n", "    computeCluster: lab: gpu\n", "Pulumi.dev.yaml:14:", "must be quoted"),
    ("    datastore: vsan-lab\n", "\u00a0   datastore: vsan-lab\n", "Pulumi.dev.yaml:16:", "line 15 holds a non-breaking"),
])
def test_a_syntax_error_names_file_line_column_and_the_fix(tmp_path, old, new, where, hint):
    error = _refused(_dev_with(tmp_path, old, new))
    (issue,) = error.issues
    where = where or f"Pulumi.dev.yaml:{_line_of(old)}:"
    assert issue.path.startswith(where) and "YAML syntax error" in issue.reason and hint in issue.reason


def test_a_syntax_error_on_a_credential_line_does_not_show_the_line(tmp_path):
    path = _dev_with(tmp_path, "config:\n", 'config:\n  onprem-llm:vspherePassword: "Winter\\q2024"\n')
    error = _refused(path)
    assert "Winter" not in str(error) and "YAML syntax error" in str(error)


def test_the_config_package_imports_no_pulumi():
    """The stack-file reader and the checks run where no Pulumi SDK is installed (and layer below it)."""
    import subprocess
    import sys

    probe = ("import pkgutil, importlib, sys, components.config as c\n"
             "for m in pkgutil.walk_packages(c.__path__, 'components.config.'):\n"
             "    importlib.import_module(m.name)\n"
             "print(sorted(n for n in sys.modules if n == 'pulumi' or n.startswith('pulumi.')))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_anchors_aliases_and_merge_keys_read_as_yaml_v3_reads_them(tmp_path):
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    text = text.replace("      weights:\n        sizeGib: 40", "      weights: &weights\n        sizeGib: 40", 1)
    start = text.index("      weights:", text.index("    mistral-7b-instruct:"))
    end = text.index("      resources:", start)
    text = text[:start] + "      weights:\n        <<: *weights\n        sizeGib: 60\n" + text[end:]
    raw = stack_config("prod", _file(tmp_path, text, "Pulumi.prod.yaml"))
    assert raw["models"]["mistral-7b-instruct"]["weights"] == {
        "sizeGib": 60, "accessMode": "ReadWriteMany", "storageClass": "vsan-file-services-a"}
    parse_config(raw, ALL_SECRETS)
