"""The daily audit manifest against an in-memory S3 with Object Lock: chained, signed, tamper-evident."""

from __future__ import annotations

import datetime
import hashlib

import boto3
import pytest
from moto import mock_aws

from components.jobs import audit_manifest

BUCKET, PREFIX, KEY = "audit", "onprem-llm", b"signing-key"
DAY1, DAY2 = datetime.date(2026, 11, 24), datetime.date(2026, 11, 25)


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        client.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2555}}})
        yield client


def _log(s3, day, name, body=b'{"user":"u1","status":200}\n'):
    import base64
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/{day.isoformat()}/gateway/{name}.gz", Body=body,
                  ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())  # noqa: S324


def _two_days(s3):
    _log(s3, DAY1, "a"), _log(s3, DAY1, "b"), _log(s3, DAY2, "c")
    audit_manifest.write_manifest(s3, BUCKET, PREFIX, DAY1, KEY)
    return audit_manifest.write_manifest(s3, BUCKET, PREFIX, DAY2, KEY)


def test_manifests_chain_and_verify(s3):
    second = _two_days(s3)
    assert second["previousManifestSha256"] is not None and len(second["objects"]) == 1
    assert audit_manifest.verify(s3, BUCKET, PREFIX, DAY1, DAY2, KEY) == []


def test_an_object_added_afterwards_is_detected(s3):
    _two_days(s3)
    _log(s3, DAY1, "forged")
    assert audit_manifest.verify(s3, BUCKET, PREFIX, DAY1, DAY2, KEY) == ["2026-11-24: log objects differ from the manifest"]


def test_a_rewritten_manifest_breaks_the_signature_or_the_chain(s3):
    _two_days(s3)
    import base64
    import json
    key = f"{PREFIX}/manifests/{DAY1.isoformat()}.json"
    forged = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    forged["objects"] = forged["objects"][:1]
    body = json.dumps(forged).encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())  # noqa: S324
    problems = audit_manifest.verify(s3, BUCKET, PREFIX, DAY1, DAY2, KEY)
    assert "2026-11-24: signature does not match" in problems
    assert "2026-11-25: chain broken (previous manifest changed)" in problems
    assert audit_manifest.verify(s3, BUCKET, PREFIX, DAY1, DAY2, b"other-key") != []


def test_a_missing_day_is_refused_and_reported(s3):
    _log(s3, DAY2, "c")
    with pytest.raises(RuntimeError, match="no audit log objects for 2026-11-24"):
        audit_manifest.write_manifest(s3, BUCKET, PREFIX, DAY1, KEY)
    audit_manifest.write_manifest(s3, BUCKET, PREFIX, DAY2, KEY)
    assert "2026-11-24: manifest missing" in audit_manifest.verify(s3, BUCKET, PREFIX, DAY1, DAY2, KEY)


def test_a_weaker_lock_is_refused(s3):
    audit_manifest.check_lock(s3, BUCKET, 2190)
    with pytest.raises(RuntimeError, match="COMPLIANCE retention of at least 3000 days"):
        audit_manifest.check_lock(s3, BUCKET, 3000)
    s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2555}}})
    with pytest.raises(RuntimeError):
        audit_manifest.check_lock(s3, BUCKET, 2190)
