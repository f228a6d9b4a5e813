"""Config that used to be accepted and fail later, refused as valid, or refused with a fix that did not work.

Each class has a refusal (key, value, a fix) and, where the fix is a value, a check that the fix is accepted.
"""

from __future__ import annotations

import copy
import re

import pytest

from components.config import ConfigError
from components.config import fields as f
from components.config.stack_file import read_stack_file
from tests.test_config import _parse, _set, stack_config

LLAMA = "models.llama-2-7b-chat"
MISTRAL = "models.mistral-7b-instruct"


def _raw(stack: str, changes) -> dict:
    raw = copy.deepcopy(stack_config(stack))
    for path, value in changes:
        _set(raw, path, value)
    return raw


def _issues(stack: str, changes) -> dict[str, object]:
    with pytest.raises(ConfigError) as caught:
        _parse(_raw(stack, changes))
    return {i.path: i for i in caught.value.issues}


def _accepted(stack: str, changes) -> None:
    _parse(_raw(stack, changes))


def test_an_image_on_a_registry_the_pull_secret_has_no_credentials_for():
    two = ("compliance.allowedRegistries", ["harbor-a.hospital.example", "harbor-b.hospital.example"])
    issue = _issues("prod", [two, (f"{LLAMA}.image.repository", "harbor-b.hospital.example/vllm/vllm-openai")])[
        f"{LLAMA}.image.repository"]
    assert "pull secret holds credentials for tanzu.registry.server" in issue.reason
    fix = re.search(r"mirror it into [^:]+: (\S+)$", issue.reason).group(1)
    _accepted("prod", [two, (f"{LLAMA}.image.repository", fix)])


def test_a_quantization_the_dtype_cannot_serve():
    issue = _issues("dev", [(f"{LLAMA}.quantization", "awq"), (f"{LLAMA}.dtype", "bfloat16")])[f"{LLAMA}.dtype"]
    assert "float16 only" in issue.reason and issue.value == "bfloat16"
    _accepted("dev", [(f"{LLAMA}.quantization", "awq"), (f"{LLAMA}.dtype", "float16")])
    _accepted("dev", [(f"{LLAMA}.quantization", "fp8"), (f"{LLAMA}.dtype", "bfloat16")])


def test_the_issuer_given_as_its_discovery_url():
    url = "https://sso.hospital.example/realms/clinical/.well-known/openid-configuration"
    issue = _issues("prod", [("gateway.oidc.issuer", url)])["gateway.oidc.issuer"]
    fix = re.search(r"'(https://[^']+)'$", issue.reason).group(1)
    assert fix == "https://sso.hospital.example/realms/clinical"
    _accepted("prod", [("gateway.oidc.issuer", fix)])


@pytest.mark.parametrize("claim", ["groups", "roles", "realm_access.roles", "Groups"])
def test_a_group_claim_with_several_values_per_token(claim):
    issue = _issues("prod", [("gateway.oidc.groupClaim", claim)])["gateway.oidc.groupClaim"]
    assert "single-valued" in issue.reason and "'department'" in issue.reason
    _accepted("prod", [("gateway.oidc.groupClaim", "department")])


def test_an_endpoint_the_model_cannot_serve():
    issue = _issues("prod", [("gateway.modelAccess.mistral-7b-instruct.endpoints", ["chat", "embeddings"])])[
        "gateway.modelAccess.mistral-7b-instruct.endpoints"]
    assert "embeddings cannot be served" in issue.reason and "open ['chat'] only" in issue.reason
    _accepted("prod", [("gateway.modelAccess.mistral-7b-instruct.endpoints", ["chat"])])
    # An embedding model (the pooling runner) serves embeddings and nothing else.
    pooling = (f"{MISTRAL}.extraArgs", ["--runner", "pooling"])
    _accepted("prod", [pooling, ("gateway.modelAccess.mistral-7b-instruct.endpoints", ["embeddings"])])
    issue = _issues("prod", [pooling])["gateway.modelAccess.mistral-7b-instruct.endpoints"]
    assert "chat, completions cannot be served" in issue.reason


# prod lists its quotas; these cases write them as the mapping the config also takes.
AS_MAPPING = ("gateway.monthlyTokenQuotas", {"clinical-informatics": 200_000_000, "radiology": 100_000_000,
                                             "cardiology": 50_000_000})


def test_a_monthly_quota_smaller_than_one_windows_budget():
    issue = _issues("prod", [AS_MAPPING, ("gateway.monthlyTokenQuotas.cardiology", 50_000)])[
        "gateway.monthlyTokenQuotas.cardiology"]
    assert "less than one minute's budget" in issue.reason and "set at least 200000" in issue.reason
    _accepted("prod", [AS_MAPPING, ("gateway.monthlyTokenQuotas.cardiology", 200_000)])


@pytest.mark.parametrize("key", ["imagePullSeconds", "driverInstallSeconds", "clusterNodeSeconds", "chartInstallSeconds"])
def test_waits_have_an_upper_bound_and_name_the_milliseconds_slip(key):
    issue = _issues("dev", [("waits", {key: 900_000})])[f"waits.{key}"]
    assert "did you mean 900?" in issue.reason
    _accepted("dev", [("waits", {key: 900})])


def test_a_kubernetes_version_below_the_minimum_and_examples_that_meet_it():
    issues = _issues("dev", [("tanzu.tkr", "v1.30.1---vmware.1-fips.1-tkg.5"), ("tanzu.kubernetesVersion", "1.30")])
    assert "needs 1.32 or newer" in issues["tanzu.tkr"].reason
    assert "is below 1.32" in issues["tanzu.kubernetesVersion"].reason
    for reason in (issues["tanzu.tkr"].reason, issues["tanzu.kubernetesVersion"].reason):
        example = re.search(r"e\.g\. ['\"]([^'\"]+)['\"]", reason).group(1)
        (f.tkr if example.startswith("v") else f.kubernetes_minor)(example)


def test_a_tkr_written_as_its_version_cannot_be_an_object_name():
    issue = _issues("dev", [("tanzu.tkr", "v1.32.0+vmware.6-fips-vkr.2")])["tanzu.tkr"]
    fix = re.search(r"'([^']+)'$", issue.reason).group(1)
    assert fix == "v1.32.0---vmware.6-fips-vkr.2"
    _accepted("dev", [("tanzu.tkr", fix)])


@pytest.mark.parametrize("path", ["observability.runbookBaseUrl", "gateway.oidc.jwksUri", "aria.url"])
def test_a_credential_in_a_urls_query_string_is_refused_without_its_value(path):
    issue = _issues("prod", [(path, "https://git.hospital.example/page?private_token=glpat-s3cr3t&ref=main")])[path]
    assert issue.secret and "query string (private_token=<redacted>)" in issue.reason and "s3cr3t" not in issue.reason
    _accepted("prod", [(path, "https://git.hospital.example/page?ref=main")])


def test_the_registry_a_standby_lacks_in_its_allow_list_is_named_once_at_its_own_key():
    issues = _issues("prod-standby", [("compliance.allowedRegistries", ["harbor-a.hospital.example"])])
    assert list(issues) == ["tanzu.registry.server"]
    assert "add 'harbor-b.hospital.example' there" in issues["tanzu.registry.server"].reason
    _accepted("prod-standby", [("compliance.allowedRegistries", ["harbor-a.hospital.example", "harbor-b.hospital.example"])])


@pytest.mark.parametrize(("value", "fix"), [("100M", 100_000_000), ("2.5B", 2_500_000_000), ("300k", 300_000)])
def test_a_count_with_a_suffix_is_hinted_in_full(value, fix):
    issue = _issues("prod", [AS_MAPPING, ("gateway.monthlyTokenQuotas.cardiology", value)])[
        "gateway.monthlyTokenQuotas.cardiology"]
    assert issue.reason.endswith(f"write {fix}")
    _accepted("prod", [AS_MAPPING, ("gateway.monthlyTokenQuotas.cardiology", fix)])


def test_quoting_a_version_is_hinted_only_when_the_quoted_text_is_valid():
    good = _issues("dev", [("tanzu.kubernetesVersion", 1.32)])["tanzu.kubernetesVersion"]
    assert 'e.g. "1.32"' in good.reason
    bad = _issues("dev", [("tanzu.kubernetesVersion", 1.3)])["tanzu.kubernetesVersion"]
    assert "must still be valid" in bad.reason and "quote it as you mean it" not in bad.reason
    assert "is below 1.32" in bad.reason


def test_a_pattern_refusal_names_the_form_not_a_regular_expression():
    issue = _issues("dev", [("tanzu.registry.chartPath", "/Platform/Charts/")])["tanzu.registry.chartPath"]
    assert "^" not in issue.reason and "[a-z" not in issue.reason
    fix = re.search(r"e\.g\. '([^']+)'", issue.reason).group(1)
    assert fix == "platform/charts"
    _accepted("dev", [("tanzu.registry.chartPath", fix)])


@pytest.mark.parametrize(("stack", "path", "secret"), [
    ("prod", "aria.token", "ariaRefreshToken"),
    ("prod", "audit.anchor.secretKey", "auditAnchorSecretAccessKey"),
    ("prod", "dr.backupStorage.secretAccessKey", "backupS3SecretAccessKey"),
    ("prod", "audit.signingKey", "auditSigningKey"),
    ("prod", "tanzu.registry.password", "registryPassword"),
])
def test_a_misplaced_credential_is_pointed_to_the_secret_of_its_section(stack, path, secret):
    issue = _issues(stack, [(path, "s3cr3t-value")])[path]
    assert issue.secret and f"pulumi config set --secret {secret}`" in issue.reason


def test_a_client_secret_for_the_idp_is_not_pointed_to_an_unrelated_secret():
    issue = _issues("prod", [("gateway.oidc.clientSecret", "s3cr3t")])["gateway.oidc.clientSecret"]
    assert "--secret" not in issue.reason and "needs no such credential" in issue.reason


def test_a_standby_is_pointed_to_its_read_only_backup_keys():
    issue = _issues("prod-standby", [("dr.backupStorage.accessKeyId", "AKIAEXAMPLE")])["dr.backupStorage.accessKeyId"]
    assert "backupS3ReadOnlyAccessKeyId" in issue.reason


def test_dot_local_e_mail_addresses_are_accepted_and_reserved_names_still_refused():
    _accepted("prod", [("observability.alertEmail.to", "oncall@stmarys.local"), ("gpuPool.alarmEmail", "vc@stmarys.local")])
    assert "gpuPool.alarmEmail" in _issues("prod", [("gpuPool.alarmEmail", "vc@host.invalid")])


# -- stack files read as the Pulumi CLI (go-yaml v3) reads them ---------------------------------------------


def _stack_file(tmp_path, section: str) -> object:
    path = tmp_path / "Pulumi.site.yaml"
    path.write_text("config:\n  onprem-llm:gateway:\n" + section)
    return path


def test_a_tab_between_a_value_and_its_comment_is_read_as_go_yaml_reads_it(tmp_path):
    values = read_stack_file(_stack_file(tmp_path, "    hostname: llm.stmarys.local\t# the name clients use\n"
                                                   "    namespace:\tapi-gateway\n"), "onprem-llm").values
    assert values["onprem-llm:gateway"] == {"hostname": "llm.stmarys.local", "namespace": "api-gateway"}
    # A tab is never indentation, in go-yaml either.
    with pytest.raises(ConfigError, match="tabs for indentation"):
        read_stack_file(_stack_file(tmp_path, "\thostname: llm.stmarys.local\n"), "onprem-llm")


def test_an_unquoted_leading_zero_key_is_refused_by_what_was_written(tmp_path):
    with pytest.raises(ConfigError) as caught:
        read_stack_file(_stack_file(tmp_path, "    monthlyTokenQuotas:\n      0123: 100000000\n"), "onprem-llm")
    (issue,) = caught.value.issues
    assert issue.path == "gateway.monthlyTokenQuotas" and issue.value == "0123"
    assert "octal number 83" in issue.reason and "quote it" in issue.reason and "('0123')" in issue.reason
    assert ":4:" in issue.location
    quoted = read_stack_file(_stack_file(tmp_path, "    monthlyTokenQuotas:\n      '0123': 100000000\n"), "onprem-llm")
    assert quoted.values["onprem-llm:gateway"]["monthlyTokenQuotas"] == {"0123": 100000000}


def test_a_value_starting_with_an_indicator_is_told_to_be_quoted(tmp_path):
    with pytest.raises(ConfigError) as caught:
        read_stack_file(_stack_file(tmp_path, "    hostname: *.stmarys.local\n"), "onprem-llm")
    assert "quote it: '*.stmarys.local'" in str(caught.value)
    quoted = read_stack_file(_stack_file(tmp_path, "    hostname: '*.stmarys.local'\n"), "onprem-llm")
    assert quoted.values["onprem-llm:gateway"]["hostname"] == "*.stmarys.local"
