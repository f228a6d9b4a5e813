"""Every image the clusters pull and every chart the Releases install is pinned by digest where the stack requires it.

The digests of the site's copies come from config (tanzu.registry.imageDigests, chartDigests), the tags from
artifacts.lock.json; the program writes them into each chart's values, and the preview refuses what is left.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from components import versions
from components.config import ConfigError
from offline.checks import images
from offline.graph import HELM_RELEASE
from offline.run import ROOT, evaluate
from tests.conftest import STACKS, needs_artifacts, offline_cli
from tests.test_config import _parse, _set, stack_config

PROXY_KEY = "envoyproxy/envoy:distroless-v1.39.0"
SITE_PROVIDED = ("/nvaie/driver", "/vllm/", "/audit-tools")


@pytest.mark.parametrize("stack", STACKS)
def test_every_image_the_stack_pulls_names_its_digest(stack, chart_checks):
    checks = chart_checks[stack]
    assert checks.digests_required, f"{stack} requires digests (compliance.requireImageDigest)"
    unpinned = sorted({u.image for u in checks.image_uses if "@sha256:" not in u.image})
    assert unpinned == [], f"{stack}: images pulled by tag alone: {unpinned}"
    assert checks.images == [] and checks.unpinned_charts == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_release_pulls_its_chart_by_the_mirror_copys_digest(stack, evaluations):
    registry = stack_config(stack)["tanzu"]["registry"]
    for release in evaluations[stack].graph.of_type(HELM_RELEASE):
        reference = release.inputs["chart"]
        name = reference.split("@", 1)[0].rsplit("/", 1)[-1]
        assert reference == f"oci://{registry['server']}/charts/{name}@{registry['chartDigests'][name]}", release.urn


@pytest.mark.parametrize("stack", STACKS)
def test_the_lock_records_every_image_the_charts_render(stack, chart_checks):
    """A chart bump that changes an image's tag (or adds an image) must update the lock, or no digest is set."""
    locked = {image.path: image.tag for chart in versions.charts().values() for image in chart.images}
    locked |= {image.path: image.tag for image in versions.images().values()}
    for release in chart_checks[stack].releases:
        for use in images.image_uses(release.objects):
            if any(part in use.image for part in SITE_PROVIDED):
                continue
            key = images.site_key(use.image)
            path, _, tag = key.rpartition(":") if ":" in key.rsplit("/", 1)[-1] else (key, "", "")
            assert path in locked, f"{release.name}: {use.image} ({use.where}) is not in {versions.LOCK_FILE.name}"
            if tag and path != "kubectl":  # kubectl is tagged with the cluster's version by the charts
                assert tag == locked[path], f"{release.name}: {use.image} renders tag {tag}, the lock pins {locked[path]}"


def test_the_chart_values_carry_the_sites_digest_of_the_prompt_carrying_proxy(evaluations):
    digest = stack_config("prod")["tanzu"]["registry"]["imageDigests"][PROXY_KEY]
    release = evaluations["prod"].graph.named("gateway-envoy-gateway", HELM_RELEASE)
    proxy = release.inputs["values"]["global"]["images"]["envoyProxy"]["image"]
    assert proxy == f"harbor-a.hospital.example/{PROXY_KEY}@{digest}"


def test_without_a_digest_the_program_keeps_the_charts_tag(raw_config):
    raw = raw_config("dev")
    del raw["tanzu"]["registry"]["imageDigests"]["kedacore/keda:2.20.2"]
    raw["compliance"]["requireImageDigest"] = False
    release = evaluate("dev", raw).graph.named("primary-keda", HELM_RELEASE)
    assert "keda" not in release.inputs["values"]["image"], "no digest: the chart's own tag, never a made-up one"
    assert release.inputs["values"]["image"]["metricsApiServer"]["tag"].startswith("2.20.2@sha256:")


def test_the_production_preview_refuses_an_image_and_a_chart_without_digest(tmp_path):
    """Drop the proxy's digest and keda's chart digest from the prod stack file: the preview fails naming both."""
    needs_artifacts()
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    registry = document["config"]["onprem-llm:tanzu"]["registry"]
    del registry["imageDigests"][PROXY_KEY]
    del registry["chartDigests"]["keda"]
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    result = offline_cli("preview", "--stack", "prod", "--stand-in-secrets", "--config", str(stack_file))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    image = f"harbor-a.hospital.example/{PROXY_KEY}"
    refused = [line for line in result.stdout.splitlines() if line.strip().startswith("image:")]
    assert refused and all(image in line for line in refused), refused
    assert any(f'{image} has no digest' in line and f'set tanzu.registry.imageDigests."{PROXY_KEY}"' in line
               and "EnvoyProxy api-gateway/llm-gateway-proxy" in line for line in refused), refused
    assert re.search(r"chart oci://harbor-a\.hospital\.example/charts/keda is pulled by version, not digest.*"
                     r"set tanzu\.registry\.chartDigests\.keda", result.stdout)
    assert "Preview FAILED" in result.stdout and "Preview passed" not in result.stdout


def _raw(stack: str, changes) -> dict:
    raw = copy.deepcopy(stack_config(stack))
    for path, value in changes:
        _set(raw, path, value)
    return raw


@pytest.mark.parametrize(("entries", "words"), [
    ({"envoyproxy/envoy": "sha256:" + "a" * 64}, "is not '<path>:<tag>'"),
    ({"harbor-a.hospital.example/envoyproxy/envoy:v1": "sha256:" + "a" * 64}, "without its host"),
    ({PROXY_KEY: "a" * 64}, "needs the algorithm"),
    ({PROXY_KEY: "sha256:" + "A" * 64}, "lowercase"),
])
def test_a_malformed_digest_entry_is_refused_naming_it(entries, words):
    with pytest.raises(ConfigError) as caught:
        _parse(_raw("prod", [("tanzu.registry.imageDigests", entries)]))
    issue = next(i for i in caught.value.issues if i.path == "tanzu.registry.imageDigests")
    assert words in issue.reason and next(iter(entries)) in issue.reason


def test_a_site_digest_that_differs_from_the_locked_one_is_refused():
    redis = versions.REDIS
    wrong = "sha256:" + "b" * 64
    with pytest.raises(ConfigError) as caught:
        _parse(_raw("prod", [("tanzu.registry.imageDigests", {redis.key: wrong})]))
    issue = next(i for i in caught.value.issues if i.path == f"tanzu.registry.imageDigests.{redis.key}")
    assert redis.digest in issue.reason and "crane copy" in issue.reason
