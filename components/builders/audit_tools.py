"""The audit tools image runs the sealing program baked into it, never a program handed to it at run time.

The seal signs with the audit key, so whatever runs it holds the key. A program mounted from a
ConfigMap would be code any writer of ConfigMaps in the sealing namespace could change, and no
capability analysis counts a ConfigMap write as running a workload. So the program
(`components/jobs/audit_manifest.py`) is copied into the image the site builds from
`images/audit-tools/Dockerfile` and pins by digest in `audit.toolsImage`; each Job passes the SHA-256
of this checkout's program, and the program refuses to run when its own file differs (an image built
from another release of the repository) or when no digest is passed. That check is a self-check by the file it
checks: the image digest is the control, the SHA-256 only catches an image of another release.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pulumi_kubernetes as k8s

PROGRAM_SOURCE = Path(__file__).parent.parent / "jobs" / "audit_manifest.py"
PROGRAM_PATH = "/opt/onprem-llm/audit_manifest.py"
"""Where images/audit-tools/Dockerfile puts the program, owned by root and read-only."""
DIGEST_ENV = "AUDIT_PROGRAM_SHA256"
"""Read by audit_manifest.py (PROGRAM_DIGEST_ENV): the program it must be."""


def program_digest() -> str:
    return hashlib.sha256(PROGRAM_SOURCE.read_bytes()).hexdigest()


def command(subcommand: str) -> list[str]:
    # Isolated mode: no PYTHON* variable from the Job spec, no user site-packages, not the script's directory on the
    # path; only the image's own interpreter and packages run with the key.
    return ["python3", "-I", PROGRAM_PATH, subcommand]


def digest_env() -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(name=DIGEST_ENV, value=program_digest())
