"""Daily, hash-chained, signed manifest of the audit log objects, and its verification.

Runs as a CronJob in the tools image (Python 3 and boto3) and is importable for tests and for
auditors. Each day's manifest lists the previous day's log objects with their SHA-256, carries the
SHA-256 of the previous manifest, and is signed with HMAC-SHA256 under a key held as a Secret. A
deleted, altered or added log object, a missing day, or an edited manifest breaks verification.
The job also refuses to run against a bucket whose Object Lock is not COMPLIANCE with at least the
configured retention.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
from typing import Any

LOGS = "logs"
MANIFESTS = "manifests"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sign(key: bytes, manifest: dict[str, Any]) -> str:
    payload = json.dumps({k: v for k, v in manifest.items() if k != "signature"}, sort_keys=True).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _object_hashes(s3, bucket: str, prefix: str) -> list[dict[str, Any]]:
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found.append({"key": item["Key"], "size": len(body), "sha256": _sha256(body)})
    return sorted(found, key=lambda o: o["key"])


def _get(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def check_lock(s3, bucket: str, retention_days: int) -> None:
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"].get("Rule", {})
    retention = rule.get("DefaultRetention", {})
    days = retention.get("Days", 0) or 365 * retention.get("Years", 0)
    if retention.get("Mode") != "COMPLIANCE" or days < retention_days:
        raise RuntimeError(f"bucket {bucket} must default to COMPLIANCE retention of at least {retention_days} days, "
                           f"found {retention or 'none'}")


def write_manifest(s3, bucket: str, prefix: str, day: datetime.date, key: bytes) -> dict[str, Any]:
    objects = _object_hashes(s3, bucket, f"{prefix}/{LOGS}/{day.isoformat()}/")
    if not objects:
        raise RuntimeError(f"no audit log objects for {day}: the shipper stopped or objects were removed")
    previous = _get(s3, bucket, f"{prefix}/{MANIFESTS}/{(day - datetime.timedelta(days=1)).isoformat()}.json")
    manifest = {"day": day.isoformat(), "objects": objects,
                "previousManifestSha256": _sha256(previous) if previous is not None else None}
    manifest["signature"] = _sign(key, manifest)
    body = json.dumps(manifest, sort_keys=True, indent=1).encode()
    # Object Lock buckets accept writes only with an integrity checksum.
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{MANIFESTS}/{day.isoformat()}.json", Body=body,
                  ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())  # noqa: S324 (required by S3)
    return manifest


def verify(s3, bucket: str, prefix: str, first: datetime.date, last: datetime.date, key: bytes) -> list[str]:
    """Problems found in the chain of manifests from ``first`` to ``last``; empty when intact."""
    problems, previous_body = [], None
    day = first
    while day <= last:
        body = _get(s3, bucket, f"{prefix}/{MANIFESTS}/{day.isoformat()}.json")
        if body is None:
            problems.append(f"{day}: manifest missing")
            previous_body, day = None, day + datetime.timedelta(days=1)
            continue
        manifest = json.loads(body)
        if not hmac.compare_digest(manifest.get("signature", ""), _sign(key, manifest)):
            problems.append(f"{day}: signature does not match")
        if previous_body is not None and manifest.get("previousManifestSha256") != _sha256(previous_body):
            problems.append(f"{day}: chain broken (previous manifest changed)")
        current = _object_hashes(s3, bucket, f"{prefix}/{LOGS}/{day.isoformat()}/")
        if current != manifest.get("objects"):
            problems.append(f"{day}: log objects differ from the manifest")
        previous_body, day = body, day + datetime.timedelta(days=1)
    return problems


def main() -> int:  # pragma: no cover - runs in the CronJob
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name=os.environ.get("S3_REGION", "us-east-1"))
    bucket, prefix = os.environ["BUCKET"], os.environ.get("PREFIX", "onprem-llm")
    check_lock(s3, bucket, int(os.environ["RETENTION_DAYS"]))
    day = datetime.date.today() - datetime.timedelta(days=1)
    manifest = write_manifest(s3, bucket, prefix, day, os.environ["SIGNING_KEY"].encode())
    print(f"manifest for {day}: {len(manifest['objects'])} objects")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
