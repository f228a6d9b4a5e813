"""TLS from the gateway to the model servers (``gateway.upstreamTls``): every piece that follows vLLM's scheme.

Prompts and completions cross the pod network between the gateway's proxies and vLLM. With TLS on:

- vLLM serves HTTPS on its one port (``--ssl-certfile``/``--ssl-keyfile``, flags of the pinned vLLM in
  components/config/vllm_flags.json) from a ``kubernetes.io/tls`` Secret mounted read-only;
- the pod template carries the certificate's SHA-256, so a renewed certificate rolls the replicas (the Secret
  itself is updated in place, and the old replicas keep serving the certificate they loaded);
- the kubelet's probes speak HTTPS (the kubelet does not verify the certificate; it never carries prompts);
- the gateway verifies vLLM against the site's CA bundle and the Service's DNS name through a Gateway API
  ``BackendTLSPolicy`` on each model's Envoy Gateway ``Backend`` (Envoy Gateway v1.9 resolves a policy whose
  target is a Backend, internal/gatewayapi/backendtlspolicy.go; the AI gateway's examples do the same);
- Prometheus scrapes ``/metrics`` over HTTPS, verifying the same CA and name.
"""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from components.builders.k8s import TRUST_BUNDLE, TRUST_BUNDLE_KEY
from components.config.certificates import fingerprint

MOUNT_DIR = "/etc/onprem-llm/serving-tls"
CERTIFICATE_FILE = f"{MOUNT_DIR}/tls.crt"
KEY_FILE = f"{MOUNT_DIR}/tls.key"
VOLUME = "serving-tls"
CERTIFICATE_ANNOTATION = "onprem-llm.io/serving-certificate"
"""Pod template annotation of replicas serving HTTPS: SHA-256 of their certificate, so a new certificate rolls them.
Plain-HTTP replicas carry none (their template stays as it was before TLS existed)."""
POLICY_API_VERSION = "gateway.networking.k8s.io/v1"
POLICY_KIND = "BackendTLSPolicy"


def secret_name(workload: str) -> str:
    """The model's serving certificate and key (``kubernetes.io/tls``), in the serving namespace."""
    return f"{workload}-serving-tls"


def service_host(service: str, namespace: str) -> str:
    """The name the gateway and Prometheus verify the certificate against: the Service's cluster DNS name."""
    return f"{service}.{namespace}.svc.cluster.local"


def scheme(tls: bool) -> str:
    return "https" if tls else "http"


def vllm_args() -> list[str]:
    return ["--ssl-certfile", CERTIFICATE_FILE, "--ssl-keyfile", KEY_FILE]


def volume(secret: str) -> k8s.core.v1.VolumeArgs:
    # Group-readable through the pod's fsGroup (vLLM runs as a non-root UID), nobody else's.
    return k8s.core.v1.VolumeArgs(name=VOLUME, secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=secret,
                                                                                       default_mode=0o440))


def mount() -> k8s.core.v1.VolumeMountArgs:
    # A directory mount, not subPath: the kubelet keeps the files in step with the Secret.
    return k8s.core.v1.VolumeMountArgs(name=VOLUME, mount_path=MOUNT_DIR, read_only=True)


def pod_annotation(certificate: str | None) -> dict[str, str]:
    return {CERTIFICATE_ANNOTATION: fingerprint(certificate)} if certificate else {}


def backend_tls_policy_spec(backend: str, host: str) -> dict[str, Any]:
    """The gateway's upstream TLS to one model Backend: the site's CAs (ConfigMap ``site-trust-bundle`` beside the
    Backend), the Service's DNS name as SNI and as the name the certificate must carry."""
    return {
        "targetRefs": [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": backend}],
        "validation": {
            "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": TRUST_BUNDLE}],
            "hostname": host,
        },
    }


def scrape_tls_config(host: str) -> dict[str, Any]:
    """Prometheus's check of vLLM's certificate: the site's CAs from the ConfigMap in the ServiceMonitor's namespace,
    and the Service's name (it scrapes pod addresses, which the certificate does not carry)."""
    return {"ca": {"configMap": {"name": TRUST_BUNDLE, "key": TRUST_BUNDLE_KEY}}, "serverName": host}
