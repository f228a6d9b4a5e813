"""The site's CA (site.trustBundle) reaches every call to an internal HTTPS service, and production needs it."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.builders import ai_gateway as ai
from components.builders import k8s as _k8s
from components.builders.vllm_pod import DOWNLOAD_SCRIPT
from components.config import ConfigError
from components.resources.observability_stack import ALERTMANAGER_TRUST_BUNDLE
from offline.record import Secret
from offline.run import stack_config
from tests.test_config import _parse

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _objects(evaluation, kind: str) -> list[dict]:
    return [r.inputs for r in evaluation.graph.kubernetes_objects() if r.inputs.get("kind") == kind]


def _pod_spec(obj: dict) -> dict:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def _mounts_bundle(pod: dict, container: dict) -> bool:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        source = volumes.get(mount["name"], {}).get("configMap", {})
        if mount["mountPath"] == _k8s.TRUST_BUNDLE_DIR and source.get("name") == _k8s.TRUST_BUNDLE:
            return True
    return False


def test_every_namespace_that_calls_internal_https_holds_the_bundle(prod):
    pem = stack_config("prod")["site"]["trustBundle"]
    held = {(c["metadata"]["namespace"]): c["data"][_k8s.TRUST_BUNDLE_KEY] for c in _objects(prod, "ConfigMap")
            if c["metadata"]["name"] == _k8s.TRUST_BUNDLE}
    assert set(held) >= {"api-gateway", "llm-serving", "monitoring", "logging", "audit-sealing"}
    assert set(held.values()) == {pem}


def test_the_jwks_fetch_goes_through_a_backend_that_trusts_the_site_ca(prod):
    (policy,) = [p for p in _objects(prod, "SecurityPolicy") if p["metadata"]["name"] == "require-jwt"]
    remote = policy["spec"]["jwt"]["providers"][0]["remoteJWKS"]
    (ref,) = remote["backendRefs"]
    (backend,) = [b for b in _objects(prod, "Backend") if b["metadata"]["name"] == ref["name"]]
    assert backend["metadata"]["namespace"] == policy["metadata"]["namespace"]
    host = remote["uri"].split("/")[2]
    assert backend["spec"]["endpoints"] == [{"fqdn": {"hostname": host, "port": ref["port"]}}]
    assert backend["spec"]["tls"] == {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": _k8s.TRUST_BUNDLE}],
                                      "sni": host}


def test_the_weights_download_trusts_the_site_ca(prod):
    jobs = [j for j in _objects(prod, "Job") if j["metadata"]["name"].endswith(tuple(
        f"-download-{m['revision'][:8]}" for m in stack_config("prod")["models"].values()))]
    assert len(jobs) == 2
    for job in jobs:
        pod = _pod_spec(job)
        # A signed model's Job stages in its init container and verifies in its container; the staging step downloads.
        (container,) = [c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == "stage-weights"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["SITE_TRUST_BUNDLE"] == _k8s.TRUST_BUNDLE_FILE and _mounts_bundle(pod, container)


def test_the_download_script_adds_the_site_ca_to_the_public_ones(tmp_path):
    """The script's own start, run as the Job runs it, up to the download."""
    import certifi

    site_ca = tmp_path / "ca.crt"
    site_ca.write_text(stack_config("prod")["site"]["trustBundle"])
    # The staging script is shipped whole (DOWNLOAD_SCRIPT); run its own start, the CA step, as the Job does.
    script = tmp_path / "stage.py"
    script.write_text(DOWNLOAD_SCRIPT)
    probe = (f"import os, runpy; ns = runpy.run_path({str(script)!r}, run_name='stage'); ns['trust_site_ca'](); "
             "print(os.environ['REQUESTS_CA_BUNDLE'], os.environ['SSL_CERT_FILE'])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            env={**os.environ, "SITE_TRUST_BUNDLE": str(site_ca), "TMPDIR": str(tmp_path)})
    requests_bundle, ssl_file = result.stdout.split()
    assert requests_bundle == ssl_file
    combined = Path(requests_bundle).read_text()
    assert Path(certifi.where()).read_text() in combined and site_ca.read_text() in combined


def test_the_audit_shipping_and_sealing_trust_the_site_ca(prod):
    release = prod.graph.named("audit-fluent-bit", "kubernetes:helm.sh/v3:Release").inputs["values"]
    outputs = release["config"]["outputs"]
    # Every output: the API server's, the gateway's and the weights signature records' (prod's llama is signed).
    assert outputs.count(f"tls.ca_file {_k8s.TRUST_BUNDLE_FILE}") == outputs.count("Name s3") == 3
    assert {"name": "site-trust", "configMap": {"name": _k8s.TRUST_BUNDLE}} in release["daemonSetVolumes"]
    assert {"name": "site-trust", "mountPath": _k8s.TRUST_BUNDLE_DIR, "readOnly": True} in release["daemonSetVolumeMounts"]
    sealing = [o for o in _objects(prod, "Job") + _objects(prod, "CronJob") if o["metadata"]["namespace"] == "audit-sealing"]
    assert sealing
    for obj in sealing:
        pod = _pod_spec(obj)
        for container in pod["containers"]:
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["AWS_CA_BUNDLE"] == _k8s.TRUST_BUNDLE_FILE and _mounts_bundle(pod, container)


def test_alertmanager_verifies_the_smtp_relay_against_the_site_ca(prod):
    secret = prod.graph.named("observability-alertmanager-config", "kubernetes:core/v1:Secret").inputs["stringData"]
    config = yaml.safe_load((secret.value if isinstance(secret, Secret) else secret)["alertmanager.yaml"])
    (email,) = next(r for r in config["receivers"] if "email_configs" in r)["email_configs"]
    assert email["tls_config"] == {"ca_file": ALERTMANAGER_TRUST_BUNDLE}
    assert f"/etc/alertmanager/configmaps/{_k8s.TRUST_BUNDLE}/{_k8s.TRUST_BUNDLE_KEY}" == ALERTMANAGER_TRUST_BUNDLE
    values = prod.graph.named("observability-kube-prometheus-stack", "kubernetes:helm.sh/v3:Release").inputs["values"]
    assert values["alertmanager"]["alertmanagerSpec"]["configMaps"] == [_k8s.TRUST_BUNDLE]


def test_without_a_bundle_nothing_refers_to_one(dev):
    assert "trustBundle" not in (stack_config("dev").get("site") or {})
    assert not [c for c in _objects(dev, "ConfigMap") if c["metadata"]["name"] == _k8s.TRUST_BUNDLE]
    (policy,) = [p for p in _objects(dev, "SecurityPolicy") if p["metadata"]["name"] == "require-jwt"]
    assert "backendRefs" not in policy["spec"]["jwt"]["providers"][0]["remoteJWKS"]
    assert ai.JWKS_BACKEND not in {b["metadata"]["name"] for b in _objects(dev, "Backend")}


def test_production_refuses_a_private_issuer_without_the_bundle_unless_waived():
    raw = copy.deepcopy(stack_config("prod"))
    del raw["site"]["trustBundle"]
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    (issue,) = [i for i in caught.value.issues if i.path == "site.trustBundle" and "jwksUri" in i.reason]
    assert "'sso.hospital.example'" in issue.reason and "401" in issue.reason and "trustBundleWaiver" in issue.reason
    # The waiver and a public IdP answer the JWKS fetch; the model servers' certificate still needs the site's CA.
    waived = {**raw, "site": {"trustBundleWaiver": "the IdP's certificate is issued by a public CA"}}
    public = copy.deepcopy(raw)
    public["gateway"]["oidc"]["jwksUri"] = "https://login.microsoftonline.com/tenant/discovery/v2.0/keys"
    for answered in (waived, public):
        with pytest.raises(ConfigError) as caught:
            _parse(answered)
        assert [(i.path, "gateway.upstreamTls is on" in i.reason) for i in caught.value.issues] == [
            ("site.trustBundle", True)]


@pytest.mark.parametrize(("text", "reason"), [
    ("MIIBlDCCATmgAwIBAgIDXu0nMAoGCCqGSM49BAMCMD4x", "is not PEM text (it looks base64-encoded"),
    ("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n", "holds no readable PEM certificate"),
    ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", "holds a private key"),
])
def test_a_malformed_bundle_is_refused_with_the_fix(text, reason):
    raw = copy.deepcopy(stack_config("prod"))
    raw["site"]["trustBundle"] = text
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    (issue,) = [i for i in caught.value.issues if i.path == "site.trustBundle"]
    assert reason in issue.reason
