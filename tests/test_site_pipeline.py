"""The site repository's pipeline, run as its CI file runs it, and the air-gapped deploy host's bundle."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from offline.run import ROOT
from tools import airgap_bundle, site_pipeline

TEMPLATE = ROOT / "examples" / "site-repository"


def _ci_command(job: str) -> list[str]:
    """The job's site pipeline command from the template's .gitlab-ci.yml, with this interpreter."""
    ci = yaml.safe_load((TEMPLATE / ".gitlab-ci.yml").read_text())
    (line,) = [line for line in ci[job]["script"] if isinstance(line, str) and "tools.site_pipeline" in line]
    words = shlex.split(line)
    assert words[0] == ".venv/bin/python"
    return [sys.executable, *words[1:]]


@pytest.mark.slow
def test_the_templates_pipeline_passes_on_the_shipped_stacks(tmp_path):
    command = _ci_command("offline-preview")
    command[command.index("--out") + 1] = str(tmp_path / "preview")
    result = subprocess.run([*command, "--stack", "prod", "--stack", "prod-standby"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "Site pipeline passed: prod, prod-standby"
    for stack in ("prod", "prod-standby"):
        assert re.search(rf"^{re.escape(stack)}\s+policy config\s+ok", result.stdout, re.M)
        assert re.search(rf"^{re.escape(stack)}\s+offline preview\s+ok\s+Preview passed", result.stdout, re.M)
        assert (tmp_path / "preview" / stack / "inventory.json").exists()


def test_the_pulumi_job_runs_only_where_a_backend_is_configured(monkeypatch):
    assert "PULUMI_BACKEND_URL" in yaml.safe_load((TEMPLATE / ".gitlab-ci.yml").read_text())["pulumi-preview"]["rules"][0]["if"]
    assert _ci_command("pulumi-preview")[-1] == "--pulumi"
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    step = site_pipeline.pulumi_preview_step("prod", ROOT)
    assert step.ok is None and "no state backend configured" in step.detail


def test_a_missing_or_stale_policy_config_fails_with_the_command_that_writes_it(tmp_path):
    (tmp_path / "policies" / "config").mkdir(parents=True)
    missing = site_pipeline.policy_config_step("prod", tmp_path)
    assert missing.ok is False and "python -m tools.policy_config --stack prod --write" in missing.detail
    stale = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())
    stale["image-provenance"]["allowedRegistries"] = ["registry.elsewhere.example"]
    (tmp_path / "policies" / "config" / "prod.json").write_text(json.dumps(stale))
    step = site_pipeline.policy_config_step("prod", tmp_path)
    assert step.ok is False and "differs from the stack file's" in step.detail
    assert site_pipeline.policy_config_step("prod", ROOT).ok is True


# -- the air-gapped deploy host ----------------------------------------------------------------------------


def test_the_bundle_lists_the_cli_and_plugins_of_the_pinned_sdks():
    pinned = airgap_bundle.pins(ROOT / "requirements.txt")
    found = {(a.kind, a.name): a for a in airgap_bundle.pulumi_artifacts("linux-amd64")}
    assert found["cli", "pulumi"].version == pinned["pulumi"]
    assert found["cli", "pulumi"].source == f"https://get.pulumi.com/releases/sdk/pulumi-v{pinned['pulumi']}-linux-x64.tar.gz"
    for package in ("pulumi-kubernetes", "pulumi-vsphere", "pulumi-random"):
        plugin = found["plugin", package.split("-", 1)[1]]
        assert plugin.version == pinned[package]
        assert plugin.source.startswith("https://get.pulumi.com/releases/plugins/pulumi-resource-")
    vra = found["plugin", "vra"]
    assert vra.version == pinned["pulumiverse-vra"]
    assert vra.source == (f"https://github.com/pulumiverse/pulumi-vra/releases/download/v{vra.version}/"
                          f"pulumi-resource-vra-v{vra.version}-linux-amd64.tar.gz")


def test_the_deploy_host_guide_names_the_pinned_versions():
    pinned = airgap_bundle.pins(ROOT / "requirements.txt")
    guide = (ROOT / "docs" / "air-gapped-deploy-host.md").read_text()
    named = {name or "pulumi": version for name, version in
             re.findall(r"^\| (?:Pulumi CLI|plugin `([a-z]+)`) \| ([0-9.]+) \|", guide, re.M)}
    assert named == {"pulumi": pinned["pulumi"], "kubernetes": pinned["pulumi-kubernetes"],
                              "vsphere": pinned["pulumi-vsphere"], "random": pinned["pulumi-random"],
                              "vra": pinned["pulumiverse-vra"]}


def test_an_archive_is_fetched_only_as_recorded_and_never_faked(tmp_path):
    archive = tmp_path / "src" / "pulumi-resource-random-v4.21.4-linux-amd64.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(b"plugin bytes")
    digest = hashlib.sha256(b"plugin bytes").hexdigest()
    out = tmp_path / "bundle"
    wanted = airgap_bundle.Artifact("plugin", "random", "4.21.4", archive.as_uri(), f"plugins/{archive.name}", digest)
    fetched = airgap_bundle.fetch(wanted, out)
    assert fetched.fetched and fetched.sha256 == digest and (out / wanted.file).read_bytes() == b"plugin bytes"
    tampered = airgap_bundle.fetch(airgap_bundle.Artifact(**{**wanted.__dict__, "sha256": "0" * 64}), out)
    assert not tampered.fetched and "differs from the lock's" in tampered.note and not (out / wanted.file).exists()
    absent = airgap_bundle.fetch(airgap_bundle.Artifact(**{**wanted.__dict__, "source": (tmp_path / "nope").as_uri()}),
                                 out)
    assert not absent.fetched and absent.note.startswith("not fetched:") and not (out / wanted.file).exists()


@pytest.mark.slow
def test_the_dry_run_lists_every_part_and_writes_nothing(tmp_path):
    out = tmp_path / "bundle"
    result = subprocess.run([sys.executable, "-m", "tools.airgap_bundle", "--out", str(out), "--dry-run", "--stack",
                             "prod"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert not out.exists()
    for part in ("cli     pulumi", "plugin  vra", "wheels  requirements.txt", "wheels  policies/requirements.txt",
                 "images  prod", "chart   gateway-helm"):
        assert part in result.stdout
    assert "sha256: not recorded" in result.stdout
