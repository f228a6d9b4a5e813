"""Verify the site's OpenSSF model-signing signature of a staged revision before the model may start.

Runs in the weights-verifier image (images/weights-verifier/: Python and the pinned ``model-signing``, which
the vLLM image lacks), after the staging step fetched the revision and its signature file and checked every
byte against the pinned manifest: as the second init container of a pod that stages its own weights, or as
the container of the staging Job after its staging init container. It only reads the weights volume. The
environment says what to verify:

- ``MODEL_DIR``: the revision's directory; ``SIGNATURE_FILE``: the signature's path in it (a Sigstore bundle
  in the OpenSSF model signing format, as ``model_signing sign`` writes it).
- ``SIGNATURE_METHOD``: ``key`` (``SIGNING_PUBLIC_KEY``, the PEM of the signer's EC public key),
  ``certificate`` (``SIGNING_CA_CHAIN``, the PEM of the site's CA chain, and ``SIGNER_IDENTITY``, a subject
  alternative name or the subject DN the signing certificate must carry) or ``sigstore`` (keyless:
  ``SIGNER_IDENTITY``, ``SIGSTORE_OIDC_ISSUER`` and ``SIGSTORE_TRUST_CONFIG``, the trust root of the Sigstore
  that logged the signature; without it the public Sigstore's, fetched over the network).
- ``MODEL_REPO``, ``MODEL_REVISION``, ``WEIGHTS_MANIFEST_DIGEST``: what the result line names.

Every file of the directory must be covered by the signature with its signed digest, and every signed file
must be there: a changed, missing or unsigned file, a signature of another key or a broken chain fails with
the file or the reason named. The staging marker and the hub's metadata are the program's own and are left
out of the comparison; files the signer chose to leave out (its ``ignore_paths``) are too, and the staging
step refuses any such file that is not a weights, config or tokenizer file of the manifest anyway. On success
it prints one record line to stdout, ``RECORD_MARKER`` and JSON with the signer (key fingerprint, certificate
subject, or keyless identity) next to the manifest digest; refusals go to stderr. With audit shipping on, the
log shipper keeps that line alone of this container's log and ships it to the audit store under
``<prefix>/logs/<day>/weights-signature/``, sealed in that day's signed manifest (components/resources/audit.py);
every other line stays in the pod's log on the node.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import pathlib
import re
import sys

RECORD_MARKER = "onprem-llm-weights-signature "
"""Prefix of the one line a successful verification prints (the signer beside the manifest digest)."""
MARKER = ".staged-revision"
HUB_METADATA = ".cache"
# The program's own files in a staged directory (components/jobs/stage_weights.py): never part of a signature.
PROGRAM_FILES = (MARKER, HUB_METADATA)


class SignatureRefused(Exception):
    """The directory does not match a valid signature; ``problems`` names each file or reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def key_fingerprint(public_key_pem: str) -> str:
    """``sha256:`` of the key's DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER | sha256sum`)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(public_key_pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _bundle(signature: pathlib.Path) -> dict:
    try:
        return json.loads(signature.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SignatureRefused([f"{signature.name} is not a model-signing signature (a Sigstore bundle in JSON): "
                                f"{error}"]) from None


def _predicate(bundle: dict) -> dict:
    """The signed statement's predicate: how the signer hashed the model and the digest of each file.

    Read before the signature is checked, so only to choose the hashing and to word a mismatch: the comparison
    itself holds the files to what the signature really vouches for."""
    try:
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        predicate = statement["predicate"]
        dict(predicate["serialization"])
        return predicate
    except (KeyError, TypeError, ValueError) as error:
        raise SignatureRefused([f"the signature holds no model-signing statement ({type(error).__name__}: {error}); "
                                "sign the directory with `model_signing sign`"]) from None


def _signed_digests(predicate: dict) -> dict[str, str]:
    return {r.get("name"): f"{r.get('algorithm')}:{r.get('digest')}" for r in predicate.get("resources", [])
            if isinstance(r, dict)}


def _hashing(serialization: dict, ignored: list[str]):
    from model_signing import hashing

    algorithm = serialization.get("hash_type", "sha256")
    if serialization.get("method") == "shards":
        config = hashing.Config().use_shard_serialization(hashing_algorithm=algorithm,
                                                          shard_size=int(serialization["shard_size"]))
    else:
        config = hashing.Config().use_file_serialization(hashing_algorithm=algorithm)
    # Symlinks could point outside the directory the manifest describes; the staging step writes none.
    return config.set_ignored_paths(paths=ignored, ignore_git_paths=False).set_allow_symlinks(False)


def _file_problems(message: str, signed: dict[str, str]) -> list[str]:
    """model_signing's "Signature mismatch" list, one line per file in the staging step's words."""
    try:
        diffs = ast.literal_eval(message.removeprefix("Signature mismatch: "))
    except (ValueError, SyntaxError):
        return [message]
    found = []
    for diff in diffs:
        files = diff.partition("': ")[2].split(", ")
        if diff.startswith("Extra files found"):
            found += [f"{f} is not covered by the signature" for f in files]
        elif diff.startswith("Missing files"):
            found += [f"{f} is signed but missing" for f in files]
        elif changed := re.match(r"Hash mismatch for '(.+?)': ", diff):
            found.append(f"{changed[1]} differs from the signed file (signed {signed.get(changed[1], '?')})")
        else:
            found.append(diff)
    return found


def _signing_certificate(bundle: dict):
    from cryptography import x509

    chain = bundle.get("verificationMaterial", {}).get("x509CertificateChain", {}).get("certificates", [])
    if not chain:
        raise SignatureRefused(["the signature carries no certificate chain: it was not made with a certificate "
                                "(`model_signing sign certificate`)"])
    return x509.load_der_x509_certificate(base64.b64decode(chain[0]["rawBytes"]))


def certificate_names(certificate) -> list[str]:
    """What a signing certificate can be known by: its subject DN and every subject alternative name."""
    from cryptography import x509

    names = [certificate.subject.rfc4514_string()]
    try:
        alternatives = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    return names + [str(v) for kind in (x509.RFC822Name, x509.UniformResourceIdentifier, x509.DNSName)
                    for v in alternatives.get_values_for_type(kind)]


def verify(model_dir: pathlib.Path, signature_file: str, method: str, *, public_key: str | None = None,
           ca_chain: str | None = None, identity: str | None = None, oidc_issuer: str | None = None,
           trust_config: str | None = None, scratch: pathlib.Path | None = None) -> str:
    """Check ``model_dir`` against its signature; return the signer. Raises SignatureRefused naming each problem."""
    from cryptography.hazmat.primitives import hashes
    from model_signing import verifying

    signature = model_dir / signature_file
    if not signature.is_file():
        raise SignatureRefused([f"{signature_file} is missing: the staging step fetches it from the mirror beside "
                                "the weights; sign the revision there (`model_signing sign`)"])
    bundle = _bundle(signature)
    predicate = _predicate(bundle)
    scratch = scratch or pathlib.Path(os.environ.get("TMPDIR", "/tmp"))

    def material(name: str, text: str | None) -> pathlib.Path:
        path = scratch / name
        path.write_text(text or "")
        return path

    config, signer = verifying.Config(), ""
    try:
        if method == "key":
            signer = f"key {key_fingerprint(public_key or '')}"
            config.use_elliptic_key_verifier(public_key=material("signing-key.pem", public_key))
        elif method == "certificate":
            # The signer is named from the verified certificate below.
            config.use_certificate_verifier(certificate_chain=[material("ca-chain.pem", ca_chain)])
        elif method == "sigstore":
            config.use_sigstore_verifier(
                identity=identity or "", oidc_issuer=oidc_issuer or "",
                trust_config=material("trust-config.json", trust_config) if trust_config else None)
            signer = f"sigstore {identity} from {oidc_issuer}"
        else:
            raise SignatureRefused([f"SIGNATURE_METHOD {method!r} is none of key, certificate, sigstore"])
        config.set_hashing_config(_hashing(predicate["serialization"], [signature_file, *PROGRAM_FILES]))
        config.verify(model_dir, signature)
    except SignatureRefused:
        raise
    except ValueError as error:
        if str(error).startswith("Signature mismatch: "):
            raise SignatureRefused(_file_problems(str(error), _signed_digests(predicate))) from None
        raise SignatureRefused([f"{signature_file} does not verify ({method}): {error}"]) from None
    except Exception as error:  # noqa: BLE001 - cryptography, OpenSSL and sigstore each raise their own
        reason = str(error) or type(error).__name__
        raise SignatureRefused([f"{signature_file} does not verify ({method}): {reason}"]) from None
    if method == "certificate":
        certificate = _signing_certificate(bundle)
        names = certificate_names(certificate)
        if identity not in names:
            raise SignatureRefused([f"{signature_file} is signed by a certificate of the site's CA issued to "
                                    f"{', '.join(names)}, not to {identity}"])
        signer = f"certificate {identity} (sha256:{certificate.fingerprint(hashes.SHA256()).hex()})"
    return signer


def main() -> int:
    env = os.environ
    model_dir = pathlib.Path(env["MODEL_DIR"])
    repo, revision = env.get("MODEL_REPO", ""), env.get("MODEL_REVISION", "")
    try:
        signer = verify(model_dir, env["SIGNATURE_FILE"], env["SIGNATURE_METHOD"],
                        public_key=env.get("SIGNING_PUBLIC_KEY"), ca_chain=env.get("SIGNING_CA_CHAIN"),
                        identity=env.get("SIGNER_IDENTITY"), oidc_issuer=env.get("SIGSTORE_OIDC_ISSUER"),
                        trust_config=env.get("SIGSTORE_TRUST_CONFIG"))
    except SignatureRefused as refused:
        for problem in refused.problems:
            print(problem, file=sys.stderr)
        print(f"refused: the signature of {repo}@{revision} does not vouch for {model_dir} "
              f"({len(refused.problems)} problem(s)); the model does not start on these bytes", file=sys.stderr)
        return 1
    record = {"model": repo, "revision": revision, "weightsManifest": env.get("WEIGHTS_MANIFEST_DIGEST", "unverified"),
              "signatureMethod": env["SIGNATURE_METHOD"], "signer": signer}
    print(f"verified the signature of {repo}@{revision}: signed by {signer}")
    print(RECORD_MARKER + json.dumps(record, sort_keys=True, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
