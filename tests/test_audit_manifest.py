"""The audit trail's bucket, manifests and anchors against moto's in-memory S3 with Object Lock.

Each test builds the trail the Jobs build, then tampers with it the way someone with write access
to the audit bucket could (add, overwrite, delete, rewrite a manifest, skip days), and checks that
verification, holding only the public key, reports exactly that.
"""

from __future__ import annotations

import datetime
import gzip
import json

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from moto import mock_aws

from components.jobs import audit_manifest as am
from components.jobs import evaluate_model, verify_signature

BUCKET, ANCHORS, PREFIX = "audit", "anchors", "onprem-llm"
DAY1, DAY2, DAY3 = datetime.date(2026, 11, 24), datetime.date(2026, 11, 25), datetime.date(2026, 11, 26)
PRIVATE = Ed25519PrivateKey.generate()
PUBLIC = PRIVATE.public_key()
SESSION = boto3.Session()
"""One session for every test: it keeps the S3 service model it loaded, so each test's client is made in
milliseconds. moto intercepts the client's requests all the same (it hooks each request as it is sent)."""


def _lock(client, bucket, mode="COMPLIANCE", days=2555):
    client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, "Days": days}}})


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = SESSION.client("s3", region_name="us-east-1")
        for bucket in (BUCKET, ANCHORS):
            client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
            _lock(client, bucket)
        yield client


@pytest.fixture
def anchor(s3):
    return am.Anchor(s3, ANCHORS, "anchors")


def _log(s3, day, name, body=b'{"user":"u1","status":200}\n'):
    return s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/{day.isoformat()}/gateway/{name}.gz", Body=body,
                         ContentMD5=am._content_md5(body))


def _seal_two_days(s3, anchor):
    _log(s3, DAY1, "a"), _log(s3, DAY1, "b"), _log(s3, DAY2, "c")
    return am.seal_pending(s3, BUCKET, PREFIX, DAY3, PRIVATE, anchor)


def _verify(s3, anchor, last=DAY2, key=PUBLIC):
    return am.verify(s3, BUCKET, PREFIX, DAY1, last, key, anchor)


def test_an_intact_trail_verifies_with_the_public_key_alone(s3, anchor):
    report = _seal_two_days(s3, anchor)
    assert [r["day"] for r in report] == ["2026-11-24", "2026-11-25"]
    assert report[0]["late"] is True and report[1]["late"] is False  # the first day was caught up
    problems = _verify(s3, anchor)
    assert problems == ["2026-11-24: sealed late, at " + json.loads(s3.get_object(
        Bucket=BUCKET, Key=f"{PREFIX}/manifests/2026-11-24.json")["Body"].read())["sealedAt"] + " (a missed daily run)"]


def test_manifests_record_object_versions_and_the_signing_key(s3, anchor):
    put = _log(s3, DAY1, "a")
    manifest = am.write_manifest(s3, BUCKET, PREFIX, DAY1, PRIVATE, anchor)
    assert manifest["objects"][0]["versionId"] == put["VersionId"]
    assert manifest["keyId"] == am.key_id(PUBLIC)
    assert am.signature_valid(PUBLIC, manifest)
    assert not am.signature_valid(Ed25519PrivateKey.generate().public_key(), manifest)


def test_a_manifest_is_written_once(s3):
    _log(s3, DAY1, "a")
    am.write_manifest(s3, BUCKET, PREFIX, DAY1, PRIVATE)
    with pytest.raises(RuntimeError, match="already sealed"):
        am.write_manifest(s3, BUCKET, PREFIX, DAY1, PRIVATE)


def test_an_object_added_after_sealing_is_reported(s3, anchor):
    _seal_two_days(s3, anchor)
    forged = _log(s3, DAY1, "forged")
    assert f"2026-11-24: {PREFIX}/logs/2026-11-24/gateway/forged.gz ({forged['VersionId']}) added after sealing" \
        in _verify(s3, anchor)


def test_an_overwritten_object_is_reported_and_its_sealed_version_still_verifies(s3, anchor):
    _seal_two_days(s3, anchor)
    _log(s3, DAY2, "c", body=b'{"user":"someone-else"}\n')
    problems = _verify(s3, anchor)
    assert any(p.startswith("2026-11-25:") and p.endswith("added after sealing") for p in problems)
    assert not any("altered" in p or "removed" in p for p in problems)


def test_a_deleted_object_shows_as_a_delete_marker_over_the_locked_version(s3, anchor):
    _seal_two_days(s3, anchor)
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-24/gateway/a.gz")
    problems = _verify(s3, anchor)
    assert any(p.startswith("2026-11-24:") and "a.gz" in p and "delete marker" in p for p in problems)


def test_a_locked_version_cannot_be_removed(s3, anchor):
    put = _log(s3, DAY1, "a")
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-24/gateway/a.gz", VersionId=put["VersionId"])


def test_a_rewritten_manifest_is_caught_by_its_versions_and_its_anchor(s3, anchor):
    _seal_two_days(s3, anchor)
    key = f"{PREFIX}/manifests/2026-11-24.json"
    forged = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    forged["objects"] = forged["objects"][:1]
    body = json.dumps(forged).encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentMD5=am._content_md5(body))
    problems = _verify(s3, anchor)
    assert "2026-11-24: manifest rewritten (2 versions); the first one is verified" in problems
    # The sealed version still verifies, so the rest of the chain holds.
    assert not any("chain broken" in p or "signature" in p for p in problems)


def test_a_manifest_forged_without_the_key_fails_its_signature_and_has_no_anchor(s3, anchor):
    _seal_two_days(s3, anchor)
    # Someone who can write the audit bucket, but holds neither the signing key nor anchor access, seals a day.
    _log(s3, DAY3, "c")
    am.write_manifest(s3, BUCKET, PREFIX, DAY3, Ed25519PrivateKey.generate())
    problems = _verify(s3, anchor, last=DAY3)
    assert "2026-11-26: signature does not match" in problems
    assert "2026-11-26: no anchor outside the bucket" in problems


def test_the_anchor_catches_a_manifest_that_differs_from_what_was_sealed(s3, anchor):
    _seal_two_days(s3, anchor)
    record = anchor.read(DAY2)
    assert record["manifestSha256"] and record["signature"] and record["manifestVersionId"]
    other = am.Anchor(s3, ANCHORS, "elsewhere")
    assert "2026-11-25: no anchor outside the bucket" in _verify(s3, other)


def test_missed_days_are_caught_up_in_order_and_empty_days_reported(s3, anchor):
    _log(s3, DAY1, "a")
    am.seal_pending(s3, BUCKET, PREFIX, DAY2, PRIVATE, anchor)          # seals DAY1 on time
    _log(s3, DAY3, "c")                                                  # DAY2 shipped nothing; the job missed DAY2
    report = am.seal_pending(s3, BUCKET, PREFIX, DAY3 + datetime.timedelta(days=1), PRIVATE, anchor)
    assert report == [{"day": "2026-11-25", "objects": 0, "late": True, "empty": True, "contentFindings": 0},
                      {"day": "2026-11-26", "objects": 1, "late": False, "empty": False, "contentFindings": 0}]
    problems = am.verify(s3, BUCKET, PREFIX, DAY1, DAY3, PUBLIC, anchor)
    assert "2026-11-25: no audit records were shipped (a gap in the trail)" in problems
    assert any(p.startswith("2026-11-25: sealed late") for p in problems)
    assert not any("chain broken" in p or "missing" in p for p in problems)
    assert am.seal_pending(s3, BUCKET, PREFIX, DAY3 + datetime.timedelta(days=1), PRIVATE, anchor) == []


def test_a_missing_manifest_is_reported(s3, anchor):
    _log(s3, DAY2, "c")
    am.write_manifest(s3, BUCKET, PREFIX, DAY2, PRIVATE, anchor)
    assert "2026-11-24: manifest missing" in _verify(s3, anchor)


def test_the_bucket_is_created_locked_or_verified_before_shipping(s3):
    assert am.ensure_bucket(s3, BUCKET, 2190, create=False) == "verified"
    with pytest.raises(RuntimeError, match="does not exist"):
        am.ensure_bucket(s3, "new-audit", 2555, create=False)
    assert am.ensure_bucket(s3, "new-audit", 2555, create=True) == "created"
    am.check_lock(s3, "new-audit", 2555)
    s3.create_bucket(Bucket="unlocked")
    with pytest.raises(RuntimeError, match="no Object Lock"):
        am.ensure_bucket(s3, "unlocked", 2190, create=False)


def test_a_weaker_lock_is_refused(s3):
    am.check_lock(s3, BUCKET, 2190)
    with pytest.raises(RuntimeError, match="COMPLIANCE retention of at least 3000 days"):
        am.check_lock(s3, BUCKET, 3000)
    _lock(s3, BUCKET, mode="GOVERNANCE")
    with pytest.raises(RuntimeError, match="must default to COMPLIANCE"):
        am.check_lock(s3, BUCKET, 2190)


def test_keys_load_from_pem_and_wrong_kinds_are_refused():
    pem = PRIVATE.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert am.key_id(am.load_private_key(pem).public_key()) == am.key_id(PUBLIC)
    from cryptography.hazmat.primitives.asymmetric import ec
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ValueError, match="Ed25519"):
        am.load_private_key(other)


def _gz_lines(*records):
    return gzip.compress("".join(json.dumps({"date": 1.0, "log": json.dumps(r)}) + "\n" for r in records).encode())


def test_sealing_verifies_the_api_server_policy_records_no_secret_payload(s3, anchor):
    metadata_only = {"kind": "Event", "level": "Metadata", "verb": "get",
                     "objectRef": {"resource": "secrets", "namespace": "llm-serving", "name": "k"}}
    with_payload = {**metadata_only, "level": "RequestResponse", "responseObject": {"data": {"k": "c2VjcmV0"}}}
    body = _gz_lines(metadata_only)
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-24/apiserver/a.gz", Body=body, ContentMD5=am._content_md5(body))
    assert am.write_manifest(s3, BUCKET, PREFIX, DAY1, PRIVATE, anchor)["contentFindings"] == []
    body = _gz_lines(metadata_only, with_payload)
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-25/apiserver/b.gz", Body=body, ContentMD5=am._content_md5(body))
    (finding,) = am.write_manifest(s3, BUCKET, PREFIX, DAY2, PRIVATE, anchor)["contentFindings"]
    assert "Secret llm-serving/k recorded at level RequestResponse" in finding
    assert any("recorded at level RequestResponse" in p for p in _verify(s3, anchor))


def test_sealing_reports_prompt_content_in_the_access_log(s3):
    body = _gz_lines({"user": "u1", "status": 200}, {"user": "u2", "messages": [{"role": "user", "content": "x"}]})
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-24/gateway/a.gz", Body=body, ContentMD5=am._content_md5(body))
    assert am.write_manifest(s3, BUCKET, PREFIX, DAY1, PRIVATE)["contentFindings"] == [
        f"{PREFIX}/logs/2026-11-24/gateway/a.gz: an access log record holds request or response content"]


def test_sealing_reports_an_evaluation_log_line_other_than_the_record(s3):
    record = evaluate_model.audit_line({"model": "m", "revisionRole": "candidate", "score": 1.0, "passed": True,
                                        "answers": [{"id": "q1", "answer": "O-", "correct": True}]})
    assert "answers" not in json.loads(record.removeprefix(am.EVALUATION_MARKER))
    kept = gzip.compress((json.dumps({"date": 1.0, "log": record}) + "\n").encode())
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-24/evaluation/a.gz", Body=kept, ContentMD5=am._content_md5(kept))
    assert am.write_manifest(s3, BUCKET, PREFIX, DAY1, PRIVATE)["contentFindings"] == []
    leaked = gzip.compress((json.dumps({"date": 1.0, "log": '{"id": "q1", "answer": "O-"}'}) + "\n").encode())
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-25/evaluation/b.gz", Body=leaked,
                  ContentMD5=am._content_md5(leaked))
    assert am.write_manifest(s3, BUCKET, PREFIX, DAY2, PRIVATE)["contentFindings"] == [
        f"{PREFIX}/logs/2026-11-25/evaluation/b.gz: an evaluation log record other than the record line (prompts or answers)"]


def test_the_seal_knows_the_marker_the_evaluation_prints():
    assert am.EVALUATION_MARKER == evaluate_model.AUDIT_MARKER


def _signature_object(*records):
    return gzip.compress("".join(json.dumps({"date": 1.0, "stream": "stdout", "_p": "F", **r}) + "\n"
                                 for r in records).encode())


def test_sealing_reports_a_weights_signature_log_line_other_than_the_record(s3, anchor):
    record = verify_signature.RECORD_MARKER + json.dumps(
        {"model": "meta-llama/Llama-2-7b-chat-hf", "revision": "f5db02db", "weightsManifest": "sha256:" + "a" * 64,
         "signatureMethod": "key", "signer": "key sha256:" + "b" * 64}, sort_keys=True, separators=(",", ":"))
    kept = _signature_object({"log": record}, {"log": record})
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-24/weights-signature/a.gz", Body=kept,
                  ContentMD5=am._content_md5(kept))
    assert am.write_manifest(s3, BUCKET, PREFIX, DAY1, PRIVATE, anchor)["contentFindings"] == []
    # Each way another line of the verifier's log could have been shipped is reported: its summary, a refusal on
    # stderr, a refusal on stderr that reads like the record, the marker without a record, a raw line.
    leaks = [_signature_object({"log": record}, {"log": "verified the signature of m@r: signed by key sha256:b"}),
             _signature_object({"log": "config.json differs from the signed file", "stream": "stderr"}),
             _signature_object({"log": record, "stream": "stderr"}),
             _signature_object({"log": verify_signature.RECORD_MARKER + "not json"}),
             _signature_object({"log": record}) + gzip.compress(b"model.sig does not verify (key)\n")]
    for name, body in enumerate(leaks):
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/logs/2026-11-25/weights-signature/{name}.gz", Body=body,
                      ContentMD5=am._content_md5(body))
    assert am.write_manifest(s3, BUCKET, PREFIX, DAY2, PRIVATE, anchor)["contentFindings"] == [
        f"{PREFIX}/logs/2026-11-25/weights-signature/{name}.gz: a weights signature log record other than the record "
        "line" for name in range(len(leaks))]
    assert sum("weights signature log record" in p for p in _verify(s3, anchor)) == len(leaks)


def test_the_seal_knows_the_marker_the_verifier_prints():
    assert am.SIGNATURE_MARKER == verify_signature.RECORD_MARKER
