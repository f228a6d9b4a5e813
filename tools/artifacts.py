"""Fetch the locked third-party artifacts from upstream, or check a directory of them.

    python -m tools.artifacts check [--dir DIR]   # every locked chart and CRD present and matching the lock
    python -m tools.artifacts fetch --dir DIR     # on a connected machine: helm pull each chart, download each CRD

`fetch` uses the pinned helm (`make helm`) for charts, so OCI and https repositories both work, and
downloads CRDs from their repository's raw file at the locked tag; both are then checked like `check`
does: charts by content digest, CRDs by git blob id. Nothing here runs during a preview or a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from components import versions
from offline.charts import artifacts
from offline.charts.helm import locate as locate_helm


def check(directory: artifacts.ArtifactsDir) -> list[str]:
    """Problems with the directory's locked files; empty when every chart and CRD matches."""
    problems = []
    for chart in versions.charts().values():
        try:
            directory.chart_archive(chart)
        except artifacts.ArtifactsMissing as error:
            problems.append(str(error))
    for crd in versions.crds().values():
        try:
            directory.crd_file(crd)
        except artifacts.ArtifactsMissing as error:
            problems.append(str(error))
    return problems


def _raw_url(crd: versions.Crd) -> str:
    repository = crd.repository.removeprefix("https://github.com/")
    return f"https://raw.githubusercontent.com/{repository}/{crd.tag}/{crd.path}"


def fetch(root: Path) -> None:
    helm = locate_helm()
    (root / "charts").mkdir(parents=True, exist_ok=True)
    for chart in versions.charts().values():
        with tempfile.TemporaryDirectory() as scratch:
            if chart.repository.startswith("oci://"):
                command = [str(helm.binary), "pull", f"{chart.repository}/{chart.name}", "--version", chart.version]
            else:
                command = [str(helm.binary), "pull", chart.name, "--repo", chart.repository, "--version", chart.version]
            subprocess.run([*command, "--destination", scratch], check=True)
            pulled = next(Path(scratch).glob("*.tgz"))
            pulled.replace(root / "charts" / chart.archive)
    for crd in versions.crds().values():
        target = root / "crds" / crd.file
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(_raw_url(crd), timeout=60) as response:  # noqa: S310 (fixed https URL)
            target.write_bytes(response.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["check", "fetch"])
    parser.add_argument("--dir", help=f"artifacts directory (default for check: ${artifacts.ENVIRONMENT} "
                                      "or shared/artifacts beside the checkout)")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        if not args.dir:
            parser.error("fetch needs --dir")
        fetch(Path(args.dir))
    directory = artifacts.locate(args.dir)
    if directory is None:
        sys.stderr.write(f"no artifacts directory; {artifacts.HOW_TO_GET}\n")
        return 2
    problems = check(directory)
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    print(f"{directory.root}: {len(versions.charts())} charts and {len(versions.crds())} CRDs checked, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
