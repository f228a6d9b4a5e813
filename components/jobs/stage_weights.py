"""Stage one model revision into its weights directory and verify every byte before the model may start.

Runs in the vLLM image (it ships huggingface_hub) as the staging Job or the init container, and is
importable for tests and for ``python -m tools.weights_manifest``. The environment says what to stage:

- ``MODEL_REPO``, ``MODEL_REVISION``, ``MODEL_DIR``: the repository, its pinned commit, the directory.
- ``WEIGHTS_MANIFEST``: JSON ``{"relative/path": "<sha256 hex>"}`` of every file the model needs, recorded
  when the model was mirrored; ``WEIGHTS_MANIFEST_DIGEST`` its digest (``sha256:`` of the canonical JSON),
  which the program also records as the served revision's identity. Only the manifest's files are
  fetched, and the directory must then hold exactly them, each with its digest.
- ``ALLOW_PICKLE``: ``1`` accepts pickle checkpoints (``*.bin``, ``*.pt``...), which run code when loaded;
  config refuses it in production.
- ``WEIGHTS_SIGNATURE``: the path, in the revision, of the site's model-signing signature, fetched beside the
  files and required; the next step (components/jobs/verify_signature.py, in the verifier image) checks it.

Without a manifest (config allows that outside production) the file patterns are still enforced and the
staging prints the manifest of what it fetched, so the site can record it. A file that differs from the
manifest, is missing, or is not allowed fails the staging with its name; changed and unexpected files are
removed so no later start can load them and the next run fetches them again. The directory is verified on
every run, also when the revision was staged before, so bytes changed on the volume are caught too.

Idempotent: a marker records the staged revision and manifest; resumable: snapshot_download continues
partial files. Each revision has its own directory under /models/<repo>/; after staging, this revision
and the one staged before it stay (the previous one is still served until the rollout finishes, and it
makes a rollback a restart), and every other revision directory is removed, so superseded weights never
fill the volume. Staging order is the marker's mtime; re-staging a revision touches its marker.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import pathlib
import shutil
import sys

MARKER = ".staged-revision"
# huggingface_hub keeps its download metadata here inside local_dir; never served.
HUB_METADATA = ".cache"
ALLOWED_PATTERNS = ("*.safetensors", "*.json", "tokenizer.model", "*.tiktoken", "*.txt", "*.jinja")
"""Weights, configs, tokenizers and chat templates: what a model needs, and none of it runs code when read."""
PICKLE_PATTERNS = ("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt")
"""Pickle checkpoints: loading one runs the code it carries."""


def manifest_digest(manifest: dict[str, str]) -> str:
    """The identity of a manifest: sha256 of its canonical JSON (sorted keys, no blanks)."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def allowed(relative: str, allow_pickle: bool) -> bool:
    patterns = ALLOWED_PATTERNS + (PICKLE_PATTERNS if allow_pickle else ())
    return any(fnmatch.fnmatch(pathlib.PurePosixPath(relative).name, p) for p in patterns)


def sha256_of(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staged_files(target: pathlib.Path) -> list[str]:
    """Every file of the directory, as a relative POSIX path, except the marker and the hub's metadata."""
    files = []
    for path in sorted(target.rglob("*")):
        relative = path.relative_to(target).as_posix()
        if path.is_file() and relative != MARKER and not relative.startswith(HUB_METADATA + "/"):
            files.append(relative)
    return files


def manifest_of(target: pathlib.Path) -> dict[str, str]:
    """What a directory holds, as a manifest: recorded at mirroring time, then pinned in config."""
    return {relative: sha256_of(target / relative) for relative in staged_files(target)}


def problems(target: pathlib.Path, manifest: dict[str, str] | None, allow_pickle: bool,
             signature: str | None = None) -> list[tuple[str, str]]:
    """(file, what is wrong with it) for every file that fails; empty when the directory is exactly right.

    ``signature``: the signature file's path, required and otherwise left to the verifier."""
    found = []
    present = staged_files(target)
    if signature is not None:
        if signature in present:
            present.remove(signature)
        else:
            found.append((signature, "is missing: the site's signature of this revision must be in the mirror "
                                     "beside its files"))
    for relative in present:
        if not allowed(relative, allow_pickle):
            pickle = allowed(relative, True)
            kind = "a pickle checkpoint, which runs code when loaded" if pickle else "no weights, config or tokenizer file"
            found.append((relative, f"is {kind}; only {', '.join(ALLOWED_PATTERNS)} are accepted"))
        elif manifest is not None and relative not in manifest:
            found.append((relative, "is not in the weights manifest"))
    for relative, expected in sorted((manifest or {}).items()):
        path = target / relative
        if relative not in present:
            found.append((relative, "is missing"))
        elif (actual := sha256_of(path)) != expected:
            found.append((relative, f"has sha256 {actual}, the manifest says {expected}"))
    return found


def _remove_superseded(target: pathlib.Path) -> None:
    def staged_at(path: pathlib.Path) -> float:
        done = path / MARKER
        return done.stat().st_mtime if done.is_file() else 0.0

    others = [p for p in target.parent.iterdir() if p.is_dir() and p != target and not p.name.startswith(".")]
    for old in sorted(others, key=staged_at, reverse=True)[1:]:
        shutil.rmtree(old)
        print(f"removed superseded revision {old.name}")


def trust_site_ca() -> None:
    """The site's CA joins the public ones (certifi, which requests and httpx use): the mirror or an inspecting
    egress proxy presents a certificate of the site's CA, Hugging Face a public one."""
    site_ca = os.environ.get("SITE_TRUST_BUNDLE")
    if not site_ca:
        return
    import certifi

    bundle = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "ca-bundle.pem"
    bundle.write_text(pathlib.Path(certifi.where()).read_text() + "\n" + pathlib.Path(site_ca).read_text())
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        os.environ[name] = str(bundle)


def main() -> int:
    trust_site_ca()
    target = pathlib.Path(os.environ["MODEL_DIR"])
    repo, revision = os.environ["MODEL_REPO"], os.environ["MODEL_REVISION"]
    allow_pickle = os.environ.get("ALLOW_PICKLE") == "1"
    manifest = json.loads(os.environ["WEIGHTS_MANIFEST"]) if os.environ.get("WEIGHTS_MANIFEST") else None
    signature = os.environ.get("WEIGHTS_SIGNATURE") or None
    if manifest is not None and manifest_digest(manifest) != os.environ.get("WEIGHTS_MANIFEST_DIGEST"):
        print(f"the weights manifest of {repo}@{revision} is not the one the program pinned "
              f"({manifest_digest(manifest)} != {os.environ.get('WEIGHTS_MANIFEST_DIGEST')})", file=sys.stderr)
        return 1
    identity = manifest_digest(manifest) if manifest is not None else "unverified"
    marker = target / MARKER
    if marker.is_file() and marker.read_text().strip() == f"{revision} {identity}":
        print(f"{target} already holds {revision}; verifying it again")
    else:
        # Another revision's or manifest's marker must not vouch for these bytes while they change.
        marker.unlink(missing_ok=True)
        target.mkdir(parents=True, exist_ok=True)
        from huggingface_hub import snapshot_download

        patterns = sorted(manifest) if manifest is not None else list(
            ALLOWED_PATTERNS + (PICKLE_PATTERNS if allow_pickle else ()))
        patterns += [signature] if signature else []
        snapshot_download(repo_id=repo, revision=revision, local_dir=target, allow_patterns=patterns)
    failed = problems(target, manifest, allow_pickle, signature)
    if failed:
        marker.unlink(missing_ok=True)
        for relative, reason in failed:
            print(f"{relative} {reason}", file=sys.stderr)
            if not reason.startswith("is missing"):
                (target / relative).unlink()
        print(f"refused: {len(failed)} file(s) of {repo}@{revision} failed verification "
              f"({', '.join(r for r, _ in failed)}); the model does not start on these bytes", file=sys.stderr)
        return 1
    if manifest is None:
        print("no weights manifest pinned; the files staged, to record as models.<key>.weightsManifest:")
        fetched = {path: digest for path, digest in manifest_of(target).items() if path != signature}
        print(json.dumps(fetched, indent=2, sort_keys=True))
    marker.write_text(f"{revision} {identity}")
    print(f"staged {repo}@{revision} in {target}, weights manifest {identity}")
    _remove_superseded(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
