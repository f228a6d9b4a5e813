"""The audit bucket's lock, the daily signed manifests, their anchors outside the bucket, and verification.

Runs in the audit tools image (Python 3, boto3, cryptography) and is importable for tests and for
auditors. Three commands (``check-lock`` alone verifies another bucket's lock, e.g. Velero's):

- ``ensure-bucket`` (a Job at deploy time, before anything ships): the bucket exists with versioning
  and Object Lock whose default retention is COMPLIANCE for at least the configured days; with
  ``CREATE_BUCKET=true`` a missing bucket is created that way. Anything weaker stops the deployment.
- ``seal`` (daily): every day since the last sealed one is sealed, in order, so a missed day is
  caught up (and marked ``late``) instead of breaking the chain. A day's manifest lists every object
  version under that day's log prefix with its version id, size and SHA-256; carries the SHA-256 of
  the previous day's manifest; and is signed with Ed25519. The manifest's digest, version id and
  signature are then written to an anchor store outside the audit bucket.

``verify`` needs only the public key: it reports altered, deleted (delete markers) or removed
object versions, objects added after sealing, missing, rewritten or unanchored manifests, broken
links in the chain, the days that were sealed late or held no records (shipping gaps), and what the
trail must never hold (Secret payloads from the API server's audit policy, prompts in access logs,
lines of an evaluation's or a signature check's log other than its record line), found when the day
was sealed.

It is baked into the audit tools image (images/audit-tools/Dockerfile), never mounted at run time,
and refuses to run when its own SHA-256 is not the one the Job passes (AUDIT_PROGRAM_SHA256).

The signing key is a file mounted from a Secret in the sealing namespace, which no operator or
auditor role can read; the shipping credentials (Fluent Bit) cannot write manifests, and the sealing
credentials cannot write logs.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import sys
from typing import Any

LOGS = "logs"
MANIFESTS = "manifests"
FORMAT = 2


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _content_md5(body: bytes) -> str:
    # Object Lock buckets accept writes only with an integrity checksum.
    return base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 (required by S3)


# ---------------------------------------------------------------------------------------------
# Keys and signatures (Ed25519)
# ---------------------------------------------------------------------------------------------


def load_private_key(pem: bytes):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key (openssl genpkey -algorithm ed25519)")
    return key


def load_public_key(pem: bytes):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the verification key must be an Ed25519 public key")
    return key


def key_id(public_key) -> str:
    """SHA-256 of the raw public key, so a manifest names the key that signed it."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _sha256(raw)


def _payload(manifest: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in manifest.items() if k != "signature"}, sort_keys=True).encode()


def sign(private_key, manifest: dict[str, Any]) -> str:
    return base64.b64encode(private_key.sign(_payload(manifest))).decode()


def signature_valid(public_key, manifest: dict[str, Any]) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(base64.b64decode(manifest.get("signature") or ""), _payload(manifest))
    except (InvalidSignature, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# The bucket
# ---------------------------------------------------------------------------------------------


def check_lock(s3, bucket: str, retention_days: int, modes: tuple[str, ...] = ("COMPLIANCE",)) -> None:
    """Versioning on, and a default retention in one of ``modes`` of at least ``retention_days``."""
    try:
        rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"].get("Rule", {})
    except s3.exceptions.ClientError as error:
        raise RuntimeError(f"bucket {bucket} has no Object Lock ({error.response['Error']['Code']}); it can only be "
                           "enabled when a bucket is created: create a new bucket with Object Lock") from None
    retention = rule.get("DefaultRetention", {})
    days = retention.get("Days", 0) or 365 * retention.get("Years", 0)
    if retention.get("Mode") not in modes or days < retention_days:
        raise RuntimeError(f"bucket {bucket} must default to {' or '.join(modes)} retention of at least "
                           f"{retention_days} days, found {retention or 'none'}")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise RuntimeError(f"bucket {bucket} must have versioning enabled (Object Lock implies it)")


def ensure_bucket(s3, bucket: str, retention_days: int, create: bool, region: str = "us-east-1") -> str:
    """``created`` or ``verified``; raises when the bucket is missing (and may not be created) or weaker."""
    try:
        s3.head_bucket(Bucket=bucket)
        exists = True
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
        exists = False
    if not exists:
        if not create:
            raise RuntimeError(f"bucket {bucket} does not exist; create it with Object Lock (COMPLIANCE, "
                               f"{retention_days} days), or set audit.createBucket")
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True, **extra)
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": retention_days}}})
    check_lock(s3, bucket, retention_days)
    return "verified" if exists else "created"


# ---------------------------------------------------------------------------------------------
# Listing what the bucket holds
# ---------------------------------------------------------------------------------------------


def _versions(s3, bucket: str, prefix: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(object versions, delete markers) under ``prefix``."""
    versions, markers = [], []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        versions += page.get("Versions", [])
        markers += page.get("DeleteMarkers", [])
    return versions, markers


PAYLOAD_LEVELS = ("Request", "RequestResponse")
PROMPT_FIELDS = ("messages", "prompt", "input", "choices", "completion", "requestBody", "responseBody")
"""Fields of an OpenAI request or response: none may appear in the gateway's access log."""


EVALUATION_MARKER = "EVALUATION-RECORD "
"""The one line of an evaluation Job's log the shipper keeps (components/jobs/evaluate_model.py prints it)."""
SIGNATURE_MARKER = "onprem-llm-weights-signature "
"""The one line of a weights signature check's log the shipper keeps (components/jobs/verify_signature.py prints it)."""
SIGNATURE_LOGS = "weights-signature"
"""Where a day's signature records are shipped: <prefix>/logs/<day>/weights-signature/."""


def _lines(body: bytes) -> list[str]:
    import gzip

    try:
        return gzip.decompress(body).decode("utf-8", "replace").splitlines()
    except OSError:
        return body.decode("utf-8", "replace").splitlines()


def _shipped(body: bytes):
    """Fluent Bit's records of one shipped object (JSON lines; the raw log line under `log`)."""
    for line in _lines(body):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def _shipped_lines(body: bytes):
    """The raw log line of each shipped record."""
    return (r["log"] for r in _shipped(body) if isinstance(r.get("log"), str))


def _signature_record(line: str) -> bool:
    """Whether an object's line is a shipped record of the verifier's record line: from its stdout (it writes refusals
    to stderr), the marker, then a JSON object."""
    try:
        record = json.loads(line)
        logged = record["log"]
        return record.get("stream", "stdout") == "stdout" and logged.startswith(SIGNATURE_MARKER) and isinstance(
            json.loads(logged.removeprefix(SIGNATURE_MARKER)), dict)
    except (ValueError, TypeError, KeyError, AttributeError):
        return False


def _records(body: bytes):
    """The JSON records of one shipped object: the logged JSON where the raw line is JSON, else the record itself."""
    for record in _shipped(body):
        inner = record.get("log")
        if isinstance(inner, str):
            try:
                record = json.loads(inner)
            except ValueError:
                continue
        if isinstance(record, dict):
            yield record


def content_findings(key: str, body: bytes) -> list[str]:
    """What the audit trail must never hold, found in one object: Secret payloads, prompts or completions, and any
    line of an evaluation Job's or a weights signature check's log but its record line.

    The API server's audit policy on VKS is the platform's (VMware's); this is how the program verifies it: an
    event about a Secret recorded at Request or RequestResponse level, or carrying a request or response object,
    would put the Secret's data in the locked log for years.
    """
    findings = []
    for record in _records(body):
        reference = record.get("objectRef") or {}
        if record.get("kind") == "Event" and reference.get("resource") == "secrets" and (
                record.get("level") in PAYLOAD_LEVELS or "requestObject" in record or "responseObject" in record):
            findings.append(f"{key}: Secret {reference.get('namespace')}/{reference.get('name')} recorded at level "
                            f"{record.get('level')} (payload in the audit log)")
        if "/gateway/" in key and any(field in record for field in PROMPT_FIELDS):
            findings.append(f"{key}: an access log record holds request or response content")
    if f"/{LOGS}/" in key and "/evaluation/" in key and any(
            not line.startswith(EVALUATION_MARKER) for line in _shipped_lines(body)):
        findings.append(f"{key}: an evaluation log record other than the record line (prompts or answers)")
    # Every line of a signature object must be a record line: anything else is the verifier's other output, which
    # only the node keeps (stricter than the records above: a line that is not even Fluent Bit's JSON counts too).
    if f"/{LOGS}/" in key and f"/{SIGNATURE_LOGS}/" in key and any(
            not _signature_record(line) for line in _lines(body) if line.strip()):
        findings.append(f"{key}: a weights signature log record other than the record line")
    return sorted(set(findings))


def _record(s3, bucket: str, version: dict[str, Any], findings: list[str] | None = None) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
    if findings is not None:
        findings += content_findings(version["Key"], body)
    return {"key": version["Key"], "versionId": version["VersionId"], "size": len(body), "sha256": _sha256(body)}


def _day_objects(s3, bucket: str, prefix: str, day: datetime.date,
                 findings: list[str] | None = None) -> list[dict[str, Any]]:
    versions, _ = _versions(s3, bucket, f"{prefix}/{LOGS}/{day.isoformat()}/")
    return sorted((_record(s3, bucket, v, findings) for v in versions), key=lambda o: (o["key"], o["versionId"]))


def _manifest_key(prefix: str, day: datetime.date) -> str:
    return f"{prefix}/{MANIFESTS}/{day.isoformat()}.json"


def _get(s3, bucket: str, key: str, version_id: str | None = None) -> bytes | None:
    try:
        extra = {"VersionId": version_id} if version_id else {}
        return s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
    except (s3.exceptions.NoSuchKey, s3.exceptions.ClientError):
        return None


def _first_version(s3, bucket: str, key: str) -> tuple[bytes | None, list[dict[str, Any]]]:
    """The oldest version of ``key`` (the one written when the day was sealed) and every version."""
    versions, _ = _versions(s3, bucket, key)
    # S3 lists a key's versions newest first.
    versions = [v for v in versions if v["Key"] == key]
    if not versions:
        return None, []
    return _get(s3, bucket, key, versions[-1]["VersionId"]), versions


def sealed_days(s3, bucket: str, prefix: str) -> list[datetime.date]:
    versions, _ = _versions(s3, bucket, f"{prefix}/{MANIFESTS}/")
    days = set()
    for version in versions:
        name = version["Key"].rsplit("/", 1)[-1].removesuffix(".json")
        try:
            days.add(datetime.date.fromisoformat(name))
        except ValueError:
            continue
    return sorted(days)


def _first_log_day(s3, bucket: str, prefix: str) -> datetime.date | None:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/{LOGS}/", Delimiter="/")
    days = []
    for page in pages:
        for common in page.get("CommonPrefixes", []):
            try:
                days.append(datetime.date.fromisoformat(common["Prefix"].rstrip("/").rsplit("/", 1)[-1]))
            except ValueError:
                continue
    return min(days) if days else None


# ---------------------------------------------------------------------------------------------
# Sealing
# ---------------------------------------------------------------------------------------------


class Anchor:
    """Where each day's manifest digest goes: a second (locked) bucket that the audit bucket's writers cannot touch."""

    def __init__(self, s3, bucket: str, prefix: str):
        self.s3, self.bucket, self.prefix = s3, bucket, prefix

    def key(self, day: datetime.date) -> str:
        return f"{self.prefix}/{day.isoformat()}.json"

    def write(self, day: datetime.date, record: dict[str, Any]) -> None:
        body = json.dumps(record, sort_keys=True).encode()
        self.s3.put_object(Bucket=self.bucket, Key=self.key(day), Body=body, ContentMD5=_content_md5(body))

    def read(self, day: datetime.date) -> dict[str, Any] | None:
        body, _ = _first_version(self.s3, self.bucket, self.key(day))
        return json.loads(body) if body is not None else None


def write_manifest(s3, bucket: str, prefix: str, day: datetime.date, private_key, anchor: Anchor | None = None,
                   sealed_at: datetime.datetime | None = None, late: bool = False) -> dict[str, Any]:
    """Seal one day: its object versions, chained to the day before, signed, then anchored."""
    key = _manifest_key(prefix, day)
    if _get(s3, bucket, key) is not None:
        raise RuntimeError(f"{day} is already sealed; a manifest is written once")
    findings: list[str] = []
    objects = _day_objects(s3, bucket, prefix, day, findings)
    previous, _ = _first_version(s3, bucket, _manifest_key(prefix, day - datetime.timedelta(days=1)))
    sealed_at = sealed_at or datetime.datetime.now(datetime.UTC)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "day": day.isoformat(),
        "objects": objects,
        "previousDay": (day - datetime.timedelta(days=1)).isoformat() if previous is not None else None,
        "previousManifestSha256": _sha256(previous) if previous is not None else None,
        "sealedAt": sealed_at.isoformat(timespec="seconds"),
        "late": late,
        "empty": not objects,
        "contentFindings": findings,
        "keyId": key_id(private_key.public_key()),
    }
    manifest["signature"] = sign(private_key, manifest)
    body = json.dumps(manifest, sort_keys=True, indent=1).encode()
    put = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentMD5=_content_md5(body))
    if anchor is not None:
        anchor.write(day, {"day": day.isoformat(), "manifestKey": key, "manifestVersionId": put.get("VersionId"),
                           "manifestSha256": _sha256(body), "signature": manifest["signature"],
                           "keyId": manifest["keyId"]})
    return manifest


def seal_pending(s3, bucket: str, prefix: str, today: datetime.date, private_key,
                 anchor: Anchor | None = None) -> list[dict[str, Any]]:
    """Seal every day after the last sealed one up to yesterday; the report lists each, late ones marked."""
    yesterday = today - datetime.timedelta(days=1)
    sealed = sealed_days(s3, bucket, prefix)
    first = min(_first_log_day(s3, bucket, prefix) or yesterday, yesterday)
    day = sealed[-1] + datetime.timedelta(days=1) if sealed else first
    report = []
    while day <= yesterday:
        manifest = write_manifest(s3, bucket, prefix, day, private_key, anchor, late=day < yesterday)
        report.append({"day": day.isoformat(), "objects": len(manifest["objects"]), "late": manifest["late"],
                       "empty": manifest["empty"], "contentFindings": len(manifest["contentFindings"])})
        day += datetime.timedelta(days=1)
    return report


# ---------------------------------------------------------------------------------------------
# Verification (auditors: the public key, read access to the buckets)
# ---------------------------------------------------------------------------------------------


def verify(s3, bucket: str, prefix: str, first: datetime.date, last: datetime.date, public_key,
           anchor: Anchor | None = None) -> list[str]:
    """Problems found from ``first`` to ``last``; empty when the trail is complete and intact."""
    problems: list[str] = []
    previous_body: bytes | None = None
    day = first
    while day <= last:
        key = _manifest_key(prefix, day)
        body, versions = _first_version(s3, bucket, key)
        if body is None:
            problems.append(f"{day}: manifest missing")
            previous_body, day = None, day + datetime.timedelta(days=1)
            continue
        if len(versions) > 1:
            problems.append(f"{day}: manifest rewritten ({len(versions)} versions); the first one is verified")
        _, markers = _versions(s3, bucket, key)
        if any(m["Key"] == key for m in markers):
            problems.append(f"{day}: manifest deleted (delete marker; the locked version remains)")
        manifest = json.loads(body)
        if not signature_valid(public_key, manifest):
            problems.append(f"{day}: signature does not match")
        if previous_body is not None and manifest.get("previousManifestSha256") != _sha256(previous_body):
            problems.append(f"{day}: chain broken (previous manifest changed)")
        if anchor is not None:
            anchored = anchor.read(day)
            if anchored is None:
                problems.append(f"{day}: no anchor outside the bucket")
            elif anchored.get("manifestSha256") != _sha256(body):
                problems.append(f"{day}: manifest does not match its anchor")
        if manifest.get("late"):
            problems.append(f"{day}: sealed late, at {manifest.get('sealedAt')} (a missed daily run)")
        if manifest.get("empty"):
            problems.append(f"{day}: no audit records were shipped (a gap in the trail)")
        problems += [f"{day}: {finding}" for finding in manifest.get("contentFindings") or []]
        problems += _object_problems(s3, bucket, prefix, day, manifest.get("objects") or [])
        previous_body, day = body, day + datetime.timedelta(days=1)
    return problems


def _object_problems(s3, bucket: str, prefix: str, day: datetime.date, recorded: list[dict[str, Any]]) -> list[str]:
    problems = []
    versions, markers = _versions(s3, bucket, f"{prefix}/{LOGS}/{day.isoformat()}/")
    present = {(v["Key"], v["VersionId"]) for v in versions}
    deleted = {m["Key"] for m in markers if m.get("IsLatest")}
    for entry in recorded:
        where = f"{entry['key']} ({entry['versionId']})"
        if (entry["key"], entry["versionId"]) not in present:
            problems.append(f"{day}: {where} removed")
            continue
        body = _get(s3, bucket, entry["key"], entry["versionId"])
        if body is None or _sha256(body) != entry["sha256"] or len(body) != entry["size"]:
            problems.append(f"{day}: {where} altered")
        if entry["key"] in deleted:
            problems.append(f"{day}: {where} deleted (delete marker; the locked version remains)")
    known = {(e["key"], e["versionId"]) for e in recorded}
    for key, version in sorted(present - known):
        problems.append(f"{day}: {key} ({version}) added after sealing")
    return problems


# ---------------------------------------------------------------------------------------------
# The Job's entry point
# ---------------------------------------------------------------------------------------------


PROGRAM_DIGEST_ENV = "AUDIT_PROGRAM_SHA256"
"""The SHA-256 of the program the stack was previewed with (components/builders/audit_tools.py)."""


def verify_program(path: str, expected: str | None) -> None:
    """Refuses to run as another program than the stack's: an image built from another release holds other code.

    Without the expected digest it refuses too: a Job spec that dropped the variable would otherwise skip the check.
    This catches an image from another release, nothing more: the file checks itself, so an image built to lie passes;
    the image digest pinned in audit.toolsImage is what decides the code."""
    if not expected:
        raise SystemExit(f"{PROGRAM_DIGEST_ENV} is not set: the stack passes the program's SHA-256 to every audit Job; "
                         "run the Job as the stack renders it")
    with open(path, "rb") as handle:
        actual = _sha256(handle.read())
    if actual != expected:
        raise SystemExit(f"{path} has SHA-256 {actual}, the stack expects {expected}: rebuild the audit tools image "
                         "from this release (images/audit-tools/Dockerfile) and pin its digest in audit.toolsImage")


def main(argv: list[str]) -> int:  # pragma: no cover - runs in the Jobs
    # Before any third-party import: nothing of the image's packages runs before the program is known to be this one.
    verify_program(os.path.abspath(__file__), os.environ.get(PROGRAM_DIGEST_ENV))
    import boto3

    command = argv[1] if len(argv) > 1 else "seal"
    s3 = boto3.session.Session(profile_name="default").client(
        "s3", endpoint_url=os.environ["S3_URL"], region_name=os.environ.get("S3_REGION", "us-east-1"))
    bucket, prefix = os.environ["BUCKET"], os.environ.get("PREFIX", "onprem-llm")
    retention = int(os.environ["RETENTION_DAYS"])
    if command == "check-lock":
        check_lock(s3, bucket, retention, tuple(os.environ.get("LOCK_MODES", "COMPLIANCE").split(",")))
        print(json.dumps({"bucket": bucket, "outcome": "verified", "days": retention}))
        return 0
    if command == "ensure-bucket":
        outcome = ensure_bucket(s3, bucket, retention, os.environ.get("CREATE_BUCKET") == "true",
                                os.environ.get("S3_REGION", "us-east-1"))
        print(json.dumps({"bucket": bucket, "outcome": outcome, "objectLock": "COMPLIANCE", "days": retention}))
        return 0
    check_lock(s3, bucket, retention)
    with open(os.environ["SIGNING_KEY_FILE"], "rb") as handle:
        private_key = load_private_key(handle.read())
    anchor = None
    if os.environ.get("ANCHOR_BUCKET"):
        anchor_s3 = boto3.session.Session(profile_name="anchor").client(
            "s3", endpoint_url=os.environ["ANCHOR_S3_URL"], region_name=os.environ.get("ANCHOR_REGION", "us-east-1"))
        anchor = Anchor(anchor_s3, os.environ["ANCHOR_BUCKET"], os.environ.get("ANCHOR_PREFIX", "anchors"))
    report = seal_pending(s3, bucket, prefix, datetime.datetime.now(datetime.UTC).date(), private_key, anchor)
    for line in report:
        print(json.dumps(line, sort_keys=True))
    if any(line["late"] or line["empty"] for line in report):
        print("caught up late or empty days; verify them and record the gap", file=sys.stderr)
    # Sealed all the same (the evidence is kept); failing the Job raises AuditManifestJobFailed.
    return 2 if any(line["contentFindings"] for line in report) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv))
