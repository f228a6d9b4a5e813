"""The artifacts directory: packaged charts and CRDs the project reads but never copies.

Chosen by ``--artifacts DIR`` or the environment variable ONPREM_LLM_ARTIFACTS; without either, the
``shared/artifacts`` folder beside the checkout is used when it exists. Every file is checked against
artifacts.lock.json before use: charts by content digest (their archive bytes differ in timestamps),
CRDs by git blob id.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from components import versions
from offline.charts.cache import REPO, cached

ENVIRONMENT = "ONPREM_LLM_ARTIFACTS"
NONE = "none"
"""The value that means "no artifacts directory": run as a clone without one would."""
BESIDE_CHECKOUT = REPO.parent / "shared" / "artifacts"
HOW_TO_GET = (f"set {ENVIRONMENT} (or --artifacts) to a directory holding charts/ and crds/, "
              "or fetch the locked versions on a connected machine with `make artifacts`")


class ArtifactsMissing(Exception):
    """No artifacts directory, or one that lacks or mismatches a locked file."""


@dataclass(frozen=True)
class ArtifactsDir:
    root: Path

    def chart_archive(self, chart: versions.Chart) -> Path:
        path = self.root / "charts" / chart.archive
        if not path.is_file():
            raise ArtifactsMissing(f"{path} is missing: chart {chart.name} {chart.version} is pinned in "
                                   f"{versions.LOCK_FILE.name}; {HOW_TO_GET}")
        found = content_digest(path)
        if found != chart.content_digest:
            raise ArtifactsMissing(f"{path} does not hold the locked chart {chart.name} {chart.version}: "
                                   f"content digest {found}, locked {chart.content_digest}")
        return path

    def crd_file(self, crd: versions.Crd) -> Path:
        path = self.root / "crds" / crd.file
        if not path.is_file():
            raise ArtifactsMissing(f"{path} is missing ({crd.repository} {crd.tag} {crd.path}); {HOW_TO_GET}")
        found = git_blob(path.read_bytes())
        if found != crd.git_blob:
            raise ArtifactsMissing(f"{path} is not the locked CRD: git blob {found}, locked {crd.git_blob}")
        return path


def locate(explicit: str | os.PathLike | None = None) -> ArtifactsDir | None:
    """The artifacts directory to use, or None when there is none (a user's own clone, or ``none``)."""
    chosen = explicit or os.environ.get(ENVIRONMENT)
    if chosen == NONE:
        return None
    if chosen:
        root = Path(chosen).expanduser().resolve()
        if not (root / "charts").is_dir():
            raise ArtifactsMissing(f"{root} has no charts/ directory; {HOW_TO_GET}")
        return ArtifactsDir(root)
    return ArtifactsDir(BESIDE_CHECKOUT) if (BESIDE_CHECKOUT / "charts").is_dir() else None


def git_blob(data: bytes) -> str:
    """The id `git hash-object` gives a file's bytes."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()  # noqa: S324 (git's object id)


def _content_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with tarfile.open(path) as archive:
        members = sorted((m for m in archive.getmembers() if m.isfile()), key=lambda m: m.name)
        for member in members:
            data = archive.extractfile(member).read()
            digest.update(member.name.encode() + b"\x00" + hashlib.sha256(data).hexdigest().encode() + b"\n")
    return digest.hexdigest()


def content_digest(path: Path) -> str:
    """sha256 over a chart archive's sorted member paths and the sha256 of each member."""
    stat = path.stat()
    identity = hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    return cached(identity, "content-digest", lambda: _content_digest(path))
