"""The audit Jobs run the program baked into the digest-pinned tools image, alone in the sealing namespace."""

from __future__ import annotations

import hashlib
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from components.builders import audit_tools
from components.jobs import audit_manifest
from offline.checks import schemas
from offline.checks.preview import objects_by_cluster
from tests.test_image_requirements import requirements

ROOT = Path(__file__).parent.parent
IMAGE = ROOT / "images" / "audit-tools"
WORKLOAD_KINDS = {"Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob"}
TOOLS_IMAGE = "harbor-a.hospital.example/platform/audit-tools:1.1.0@sha256:"


def _pod(record) -> dict:
    spec = record.inputs["spec"]
    return (spec["jobTemplate"]["spec"] if record.type.endswith("CronJob") else spec)["template"]["spec"]


def _audit_jobs(evaluation) -> list:
    return [r for r in evaluation.graph if r.type in ("kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob")
            and _pod(r)["containers"][0]["image"].startswith(TOOLS_IMAGE)]


def test_the_dockerfile_bakes_the_program_where_the_jobs_run_it():
    dockerfile = (IMAGE / "Dockerfile").read_text()
    copies = re.findall(r"^COPY (?:--chmod=(\d+) )?(\S+) (\S+)$", dockerfile, re.MULTILINE)
    assert ("0444", "components/jobs/audit_manifest.py", audit_tools.PROGRAM_PATH) in copies
    assert audit_tools.PROGRAM_SOURCE.resolve() == (ROOT / "components/jobs/audit_manifest.py").resolve()
    # The base comes from the site's registry, pinned by the builder; no default to fall back on.
    assert re.search(r"^ARG BASE$", dockerfile, re.MULTILINE) and "FROM ${BASE}" in dockerfile
    assert re.search(r"^USER 65532", dockerfile, re.MULTILINE)


def test_the_images_packages_are_the_versions_the_program_is_tested_with():
    # Pins, hashes and constraints.txt's versions: tests/test_image_requirements.py, for both images.
    image = requirements(IMAGE / "requirements.txt")
    assert {"boto3", "botocore", "cryptography"} <= set(image)
    assert {name: pin for name, (pin, _) in image.items() if pin != f"=={version(name)}"} == {}


def test_every_audit_job_runs_the_images_program_pinned_by_its_digest(prod):
    jobs = _audit_jobs(prod)
    # The bucket check and the daily seal (Velero's bucket-lock check, with dr.backupStorage.objectLockDays, too).
    assert {(r.inputs["metadata"]["namespace"], r.type.rsplit(":", 1)[1]) for r in jobs} == {
        ("audit-sealing", "Job"), ("audit-sealing", "CronJob")}
    digest = hashlib.sha256(audit_tools.PROGRAM_SOURCE.read_bytes()).hexdigest()
    for record in jobs:
        container = _pod(record)["containers"][0]
        # Isolated: no PYTHON* variable, user site or script directory changes what the interpreter loads.
        assert container["command"][:3] == ["python3", "-I", audit_tools.PROGRAM_PATH], record.name
        assert {"name": audit_manifest.PROGRAM_DIGEST_ENV, "value": digest} in container["env"], record.name
        assert not any((v.get("configMap") or {}).get("name") not in (None, "site-trust-bundle")
                       for v in _pod(record)["volumes"]), record.name
    assert not [r for r in prod.graph if r.type == "kubernetes:core/v1:ConfigMap"
                and "def seal_pending" in str(r.inputs.get("data"))], "no ConfigMap carries the program"


def test_the_program_refuses_to_run_as_another_release(tmp_path):
    program = tmp_path / "audit_manifest.py"
    program.write_bytes(b"print('sealing')\n")
    audit_manifest.verify_program(str(program), hashlib.sha256(b"print('sealing')\n").hexdigest())
    with pytest.raises(SystemExit, match="rebuild the audit tools image"):
        audit_manifest.verify_program(str(program), hashlib.sha256(b"print('other')\n").hexdigest())


@pytest.mark.parametrize("expected", [None, ""])
def test_the_program_refuses_to_run_without_the_digest_it_must_have(tmp_path, expected):
    program = tmp_path / "audit_manifest.py"
    program.write_bytes(b"print('sealing')\n")
    with pytest.raises(SystemExit, match=f"{audit_manifest.PROGRAM_DIGEST_ENV} is not set"):
        audit_manifest.verify_program(str(program), expected)


def test_the_program_checks_itself_before_importing_any_package():
    source = audit_tools.PROGRAM_SOURCE.read_text()
    entry = source[source.index("def main("):]
    assert entry.index("verify_program(") < entry.index("import boto3")


def test_nothing_but_the_sealing_jobs_runs_in_the_sealing_namespace(prod, chart_checks):
    objects = objects_by_cluster(prod.graph, chart_checks["prod"].releases, schemas.CLUSTER_SCOPED)["primary-workload"]
    here = [o for o in objects if (o.get("metadata") or {}).get("namespace") == "audit-sealing"]
    workloads = {(o["kind"], o["metadata"]["name"]) for o in here if o.get("kind") in WORKLOAD_KINDS}
    assert {kind for kind, _ in workloads} == {"Job", "CronJob"} and len(workloads) == 2, workloads
    assert all("helm.sh/chart" not in (o["metadata"].get("labels") or {}) for o in here), "no chart installs here"
    # Of the two, only the seal mounts the signing key.
    mounting = [r.name for r in _audit_jobs(prod) if any(
        (v.get("secret") or {}).get("secretName") == "audit-signing-key" for v in _pod(r)["volumes"])]
    assert mounting == ["audit-manifest"]
    accounts = {o["metadata"]["name"] for o in here if o.get("kind") == "ServiceAccount"}
    assert accounts == {"audit-manifest"}
    assert not [o for o in objects if o.get("kind") in ("RoleBinding", "Role")
                and o["metadata"].get("namespace") == "audit-sealing"], "no role is granted in the sealing namespace"
