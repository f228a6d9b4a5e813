"""The serving certificate of the model servers: what config checks before anything runs.

The certificate chain is public material in the stack file (`gateway.upstreamTls.certificate`); its
key is a Pulumi secret the program never reads. Checked here: the chain parses, its first
certificate is a server's (not a CA) with an ECDSA or RSA key (what Envoy accepts), it names every
Service the gateway calls, and it chains to a CA of `site.trustBundle` (what the gateway and
Prometheus verify it against). Validity dates are not checked: config must give the same answer
on every day, and a renewal is the site's schedule (docs/security.md says how).
"""

from __future__ import annotations

from collections.abc import Iterable

from components.config.fields import SecretValueError


def _load(value: str) -> list:
    from cryptography import x509

    if "PRIVATE KEY" in value:
        raise SecretValueError("holds a private key; give only the certificate chain here and set the key with "
                               "`pulumi config set --secret upstreamTlsKey < serving.key`. Rotate the key: the stack "
                               "file is in version control")
    if "-----BEGIN CERTIFICATE-----" not in value:
        raise ValueError("is not a PEM certificate chain; paste the server certificate, then any intermediate CA "
                         "certificates, as a YAML block scalar (`certificate: |`)")
    try:
        return x509.load_pem_x509_certificates(value.encode())
    except ValueError as error:
        raise ValueError(f"holds no readable PEM certificate ({error}); paste the issued .crt file as it is") from None


def server_chain(value: str) -> str:
    """Field check: a server certificate first (not a CA), with a key type Envoy verifies, then its issuers."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from components.config.fields import _is_ca

    chain = _load(value)
    leaf = chain[0]
    if _is_ca(leaf):
        raise ValueError(f"starts with a CA certificate ({leaf.subject.rfc4514_string()}); the server's own "
                         "certificate comes first, its issuing CAs after it")
    if not isinstance(leaf.public_key(), (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise ValueError(f"has a {type(leaf.public_key()).__name__.removeprefix('_')} key; Envoy verifies ECDSA and "
                         "RSA server certificates only: issue an ECDSA P-256 or RSA 2048+ certificate")
    return value


def dns_names(value: str) -> tuple[str, ...]:
    """The DNS names of the chain's server certificate (subjectAltName)."""
    from cryptography import x509

    leaf = _load(value)[0]
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(name.lower() for name in names.get_values_for_type(x509.DNSName))


def covers(names: Iterable[str], host: str) -> bool:
    """Whether a certificate for ``names`` is valid for ``host`` (RFC 6125: a wildcard stands for one whole label)."""
    host = host.lower()
    for name in names:
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def unverified_by(chain_pem: str, bundle_pem: str) -> str | None:
    """None when the chain leads to a CA of the bundle (each certificate issued by the next, the last by a bundle CA);
    else what breaks, in words."""
    from cryptography import x509

    chain = _load(chain_pem)
    for child, parent in zip(chain, chain[1:], strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except _NOT_ISSUED:
            return (f"{child.subject.rfc4514_string()} is not issued by the next certificate of the chain "
                    f"({parent.subject.rfc4514_string()}); order it server first, then each issuer")
    top = chain[-1]
    for ca in x509.load_pem_x509_certificates(bundle_pem.encode()):
        if ca.fingerprint(_sha256()) == top.fingerprint(_sha256()):
            return None
        try:
            top.verify_directly_issued_by(ca)
            return None
        except _NOT_ISSUED:
            continue
    return (f"its issuer ({top.issuer.rfc4514_string()}) is no CA of site.trustBundle, so the gateway and Prometheus "
            "would refuse it; add that CA to site.trustBundle, or issue the certificate from a CA already there")


def _not_issued() -> tuple[type[Exception], ...]:
    from cryptography.exceptions import InvalidSignature

    # ValueError: another issuer name; TypeError: a key type it cannot check; InvalidSignature: a forged or other key.
    return (InvalidSignature, ValueError, TypeError)


_NOT_ISSUED = _not_issued()


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def fingerprint(chain_pem: str) -> str:
    """SHA-256 of the server certificate (hex): the pod annotation that rolls the replicas onto a new certificate."""
    return _load(chain_pem)[0].fingerprint(_sha256()).hex()
