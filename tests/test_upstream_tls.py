"""TLS where prompts travel (gateway to vLLM) and no secrets in Envoy Gateway's extension feed (gateway.upstreamTls)."""

from __future__ import annotations

import copy
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.builders import serving_tls
from components.config import ConfigError
from components.config.certificates import covers, fingerprint
from offline.record import Secret
from offline.run import stack_config
from tests.test_config import ALL_SECRETS, _parse

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _ca(common: str = "Test CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common)).public_key(key.public_key())
            .serial_number(1).not_valid_before(START).not_valid_after(START + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca_key, ca_cert, names: list[str]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("servers")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(START)
            .not_valid_after(START + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _issues(raw, secrets=ALL_SECRETS) -> list:
    with pytest.raises(ConfigError) as caught:
        _parse(raw, secrets)
    return caught.value.issues


# -- config ---------------------------------------------------------------------------------------


def test_production_refuses_plaintext_to_vllm_naming_the_key():
    raw = copy.deepcopy(stack_config("prod"))
    raw["gateway"]["upstreamTls"]["enabled"] = False
    (issue,) = [i for i in _issues(raw) if i.path == "gateway.upstreamTls.enabled"]
    assert issue.value is False
    assert "production sends prompts from the gateway to vLLM over TLS" in issue.reason
    assert "set it to true" in issue.reason and "upstreamTlsKey" in issue.reason


def test_the_standby_refuses_plaintext_too():
    raw = copy.deepcopy(stack_config("prod-standby"))
    del raw["gateway"]["upstreamTls"]
    assert [i.path for i in _issues(raw)] == ["gateway.upstreamTls.enabled"]


def test_plain_http_outside_production_is_allowed():
    assert _parse(copy.deepcopy(stack_config("dev"))).gateway.upstream_tls.enabled is False


def test_a_certificate_for_other_names_is_refused_with_the_names_to_issue():
    ca_key, ca = _ca()
    raw = copy.deepcopy(stack_config("prod"))
    raw["site"]["trustBundle"] += _pem(ca)
    raw["gateway"]["upstreamTls"]["certificate"] = _leaf(ca_key, ca, ["*.other.svc.cluster.local"])
    (issue,) = [i for i in _issues(raw) if i.path == "gateway.upstreamTls.certificate"]
    assert "llama-2-7b-chat-api.llm-serving.svc.cluster.local" in issue.reason
    assert "*.llm-serving.svc.cluster.local" in issue.reason


def test_a_certificate_of_a_ca_the_gateway_does_not_trust_is_refused():
    ca_key, ca = _ca("Unknown CA")
    raw = copy.deepcopy(stack_config("prod"))
    raw["gateway"]["upstreamTls"]["certificate"] = _leaf(ca_key, ca, ["*.llm-serving.svc.cluster.local"])
    (issue,) = [i for i in _issues(raw) if i.path == "gateway.upstreamTls.certificate"]
    assert "CN=Unknown CA" in issue.reason and "site.trustBundle" in issue.reason


def test_tls_without_the_sites_ca_is_refused():
    raw = copy.deepcopy(stack_config("prod"))
    del raw["site"]["trustBundle"]
    raw["site"]["trustBundleWaiver"] = "the IdP's certificate is from a public CA"
    assert "site.trustBundle" in [i.path for i in _issues(raw)]


def test_a_private_key_in_place_of_the_certificate_is_refused_without_showing_it():
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    raw = copy.deepcopy(stack_config("prod"))
    raw["gateway"]["upstreamTls"]["certificate"] = key
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    assert "holds a private key" in str(caught.value)
    assert key.splitlines()[1] not in str(caught.value)


def test_the_key_is_a_required_secret_when_tls_is_on():
    raw = copy.deepcopy(stack_config("prod"))
    issues = _issues(raw, [s for s in ALL_SECRETS if s != "upstreamTlsKey"])
    assert any(i.path == "upstreamTlsKey" for i in issues), [i.path for i in issues]


def test_a_wildcard_stands_for_one_label_only():
    assert covers(["*.llm-serving.svc.cluster.local"], "a-api.llm-serving.svc.cluster.local")
    assert not covers(["*.svc.cluster.local"], "a-api.llm-serving.svc.cluster.local")
    assert not covers(["*.llm-serving.svc.cluster.local"], "llm-serving.svc.cluster.local")


# -- the rendered prod stack ----------------------------------------------------------------------


def _objects(evaluation, kind: str) -> dict[tuple[str, str], dict]:
    return {(o.inputs["metadata"].get("namespace", ""), o.inputs["metadata"]["name"]): o.inputs
            for o in evaluation.graph.kubernetes_objects() if o.inputs.get("kind") == kind}


def _plain(value):
    return value.value if isinstance(value, Secret) else value


def test_prod_reaches_every_model_backend_over_verified_tls(prod):
    cfg = _cfg("prod")
    backends, policies = _objects(prod, "Backend"), _objects(prod, "BackendTLSPolicy")
    config_maps = _objects(prod, "ConfigMap")
    served = [o for o in _objects(prod, "AIServiceBackend").values()]
    assert served, "no AIServiceBackend rendered"
    for service in served:
        ns, name = service["metadata"]["namespace"], service["spec"]["backendRef"]["name"]
        host = backends[(ns, name)]["spec"]["endpoints"][0]["fqdn"]["hostname"]
        policy = policies[(ns, name)]
        assert policy["spec"]["targetRefs"] == [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": name}]
        assert policy["spec"]["validation"]["hostname"] == host
        assert covers(_san(cfg), host)
        (ref,) = policy["spec"]["validation"]["caCertificateRefs"]
        bundle = config_maps[(ns, ref["name"])]["data"]["ca.crt"]
        issuer = x509.load_pem_x509_certificate(cfg.gateway.upstream_tls.certificate.encode()).issuer
        assert issuer in [c.subject for c in x509.load_pem_x509_certificates(bundle.encode())]


def _san(cfg):
    from components.config.certificates import dns_names
    return dns_names(cfg.gateway.upstream_tls.certificate)


def _cfg(stack: str):
    return _parse(copy.deepcopy(stack_config(stack)))


def _workloads(evaluation, stack: str = "prod"):
    for kind in ("Deployment", "StatefulSet"):
        for key, obj in _objects(evaluation, kind).items():
            if obj["metadata"].get("namespace") == _cfg(stack).tanzu.serving_namespace:
                yield key, obj


def test_prod_vllm_serves_https_from_a_rendered_secret_and_its_probes_follow(prod):
    cfg = _cfg("prod")
    secrets = _objects(prod, "Secret")
    found = 0
    for (ns, _), workload in _workloads(prod):
        template = workload["spec"]["template"]
        (container,) = [c for c in template["spec"]["containers"] if c["name"] == "vllm"]
        args = container["args"]
        assert args[args.index("--ssl-certfile") + 1] == serving_tls.CERTIFICATE_FILE
        assert args[args.index("--ssl-keyfile") + 1] == serving_tls.KEY_FILE
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == serving_tls.MOUNT_DIR]
        (volume,) = [v for v in template["spec"]["volumes"] if v["name"] == mount["name"]]
        secret = secrets[(ns, volume["secret"]["secretName"])]
        assert secret["type"] == "kubernetes.io/tls"
        assert isinstance(secret["stringData"], Secret), "the serving key must stay a Pulumi secret"
        data = {k: _plain(v) for k, v in _plain(secret["stringData"]).items()}
        assert data["tls.crt"] == cfg.gateway.upstream_tls.certificate
        assert "upstreamTlsKey" in data["tls.key"]  # the stack's secret (a stand-in offline)
        assert all(container[p]["httpGet"]["scheme"] == "HTTPS" for p in ("startupProbe", "readinessProbe", "livenessProbe"))
        assert template["metadata"]["annotations"][serving_tls.CERTIFICATE_ANNOTATION] == \
            fingerprint(cfg.gateway.upstream_tls.certificate)
        found += 1
    assert found == len(cfg.models)


def test_prod_scrapes_vllm_over_https_verifying_the_sites_ca(prod):
    monitors = [m for (ns, _), m in _objects(prod, "ServiceMonitor").items() if ns == _cfg("prod").tanzu.serving_namespace]
    config_maps = _objects(prod, "ConfigMap")
    assert monitors
    for monitor in monitors:
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["scheme"] == "https"
        ref = endpoint["tlsConfig"]["ca"]["configMap"]
        assert ref["key"] in config_maps[(monitor["metadata"]["namespace"], ref["name"])]["data"]
        assert covers(_san(_cfg("prod")), endpoint["tlsConfig"]["serverName"])


def test_envoy_gateway_sends_no_secret_to_the_extension_server(prod, evaluations):
    for evaluation in (prod, evaluations["dev"]):
        (release,) = [r for r in evaluation.graph.of_type("kubernetes:helm.sh/v3:Release") if r.name == "gateway-envoy-gateway"]
        translation = release.inputs["values"]["config"]["envoyGateway"]["extensionManager"]["hooks"]["xdsTranslator"][
            "translation"]
        assert translation["secret"] == {"includeAll": False}


def test_dev_keeps_plain_http_and_no_tls_objects(evaluations):
    dev = evaluations["dev"]
    assert not _objects(dev, "BackendTLSPolicy")
    for _, workload in _workloads(dev, "dev"):
        assert "--ssl-certfile" not in workload["spec"]["template"]["spec"]["containers"][0]["args"]
        assert serving_tls.CERTIFICATE_ANNOTATION not in (workload["spec"]["template"]["metadata"].get("annotations") or {})


# -- day 2: what turning TLS on does to running service ----------------------------------------------


def _with_tls(raw: dict, certificate: str, ca: str) -> dict:
    raw = copy.deepcopy(raw)
    raw.setdefault("site", {})["trustBundle"] = ca
    raw["gateway"]["upstreamTls"] = {"enabled": True, "certificate": certificate}
    return raw


def test_turning_tls_on_is_planned_as_failing_requests_and_a_renewal_is_not():
    from offline.plan.effects import assess
    from offline.plan.update import plan
    from offline.render import inventory
    from offline.run import evaluate, platform_config

    ca_key, ca = _ca()
    plain = copy.deepcopy(stack_config("dev"))
    serving = plain["tanzu"].get("servingNamespace", "llm-serving")
    first = _with_tls(plain, _leaf(ca_key, ca, [f"*.{serving}.svc.cluster.local"]), _pem(ca))
    baseline, on = inventory(evaluate("dev", plain)), inventory(evaluate("dev", first))
    impact = assess(plan(baseline, on), baseline, on, platform_config("dev", first))
    for key in plain["models"]:
        assert "requests fail for up to" in impact.verdict(key) and "maintenance window" in impact.verdict(key), key

    renewed = _with_tls(plain, _leaf(ca_key, ca, [f"*.{serving}.svc.cluster.local"]), _pem(ca))
    again = inventory(evaluate("dev", renewed))
    steps = plan(on, again)
    impact = assess(steps, on, again, platform_config("dev", renewed))
    assert {s.name for s in steps.changed} >= {f"{key}-server" for key in plain["models"]}, "a new certificate rolls"
    for key in plain["models"]:
        # Both certificates chain to the CA the gateway trusts: only the roll itself (as for any template change) is left.
        assert "verifying TLS" not in impact.verdict(key), impact.verdict(key)
