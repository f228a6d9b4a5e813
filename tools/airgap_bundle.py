"""Assembles, on a connected machine, what an air-gapped deploy host needs to run Pulumi for this project.

    python -m tools.airgap_bundle --out DIR [--stack STACK ...] [--platform linux-amd64] [--dry-run]

The bundle (docs/air-gapped-deploy-host.md says how to install it on the deploy host):

- ``cli/``: the Pulumi CLI of the version the program's SDK is pinned to (requirements.txt ``pulumi==``);
- ``plugins/``: the resource plugins of the pinned provider SDKs (``pulumi-kubernetes==`` is plugin
  ``kubernetes`` of that version), from the Pulumi CDN, or from GitHub for plugins whose package names a
  ``github://`` server (``vra`` from pulumiverse);
- ``wheels/``: the program's and the policy pack's Python packages (``pip download`` of requirements.txt
  and policies/requirements.txt under constraints.txt);
- ``charts/`` and ``mirror-<stack>.json``: every chart archive and image each stack pulls, from
  ``python -m offline mirror``;
- ``SHA256SUMS`` of every file fetched, and ``MANIFEST.json``: what was fetched, from where, with which
  checksum, and what could not be fetched (with the reason). Nothing is faked: an archive that could not be
  downloaded is listed as not fetched, with its source URL and the checksum the lock records, if any.

With ``--dry-run`` nothing is downloaded or written: it prints the same list.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = (ROOT / "requirements.txt", ROOT / "policies" / "requirements.txt")
CONSTRAINTS = ROOT / "constraints.txt"
LOCK = ROOT / "artifacts.lock.json"
CDN = "https://get.pulumi.com/releases"
PLATFORMS = {"linux-amd64": ("linux", "x64"), "linux-arm64": ("linux", "arm64"), "darwin-arm64": ("darwin", "arm64"),
             "windows-amd64": ("windows", "x64")}
"""Plugin platform name to the CLI archive's (os, arch)."""


@dataclass(frozen=True)
class Artifact:
    kind: str
    """cli, plugin, wheels, chart or images."""
    name: str
    version: str
    source: str
    file: str
    """Path inside the bundle."""
    sha256: str | None = None
    """Expected checksum, where the lock records one."""
    fetched: bool = False
    note: str = ""


def pins(path: Path) -> dict[str, str]:
    """Exact pins (name==version) of a requirements file, by normalised name."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s;#]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def _plugin_server(package: str) -> str | None:
    """The ``server`` the provider package's pulumi-plugin.json names (None: the Pulumi CDN)."""
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "pulumi-plugin.json":
            return json.loads(file.read_text()).get("server")
    return None


def plugin_url(name: str, version: str, platform: str, server: str | None) -> str:
    archive = f"pulumi-resource-{name}-v{version}-{platform}.tar.gz"
    if server and server.startswith("github://api.github.com/"):
        owner = server.removeprefix("github://api.github.com/").strip("/")
        return f"https://github.com/{owner}/pulumi-{name}/releases/download/v{version}/{archive}"
    return f"{server.rstrip('/') if server else CDN + '/plugins'}/{archive}"


def recorded_checksums() -> dict[str, str]:
    """sha256 of plugin and CLI archives by file name, where artifacts.lock.json records them (``pulumi``)."""
    lock = json.loads(LOCK.read_text())
    return {entry["file"]: entry["sha256"] for entry in lock.get("pulumi", {}).get("archives", [])}


def pulumi_artifacts(platform: str) -> list[Artifact]:
    """The CLI and the resource plugins of the pinned SDKs."""
    program = pins(REQUIREMENTS[0])
    checksums = recorded_checksums()
    os_name, arch = PLATFORMS[platform]
    version = program["pulumi"]
    cli_file = f"pulumi-v{version}-{os_name}-{arch}.{'zip' if os_name == 'windows' else 'tar.gz'}"
    found = [Artifact("cli", "pulumi", version, f"{CDN}/sdk/{cli_file}", f"cli/{cli_file}", checksums.get(cli_file))]
    for package, pinned in sorted(program.items()):
        if package == "pulumi" or not package.startswith(("pulumi-", "pulumiverse-")):
            continue
        name = package.split("-", 1)[1]
        url = plugin_url(name, pinned, platform, _plugin_server(package))
        file = url.rsplit("/", 1)[1]
        found.append(Artifact("plugin", name, pinned, url, f"plugins/{file}", checksums.get(file)))
    return found


def wheel_artifacts() -> list[Artifact]:
    return [Artifact("wheels", path.relative_to(ROOT).as_posix(), "pinned", f"pip download -r {path.relative_to(ROOT)} "
                     f"-c {CONSTRAINTS.name}", "wheels/") for path in REQUIREMENTS]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(artifact: Artifact, out: Path, timeout: float = 60) -> Artifact:
    """Download one archive; verify the recorded checksum. A failure is reported, never replaced by a stand-in."""
    target = out / artifact.file
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(artifact.source, timeout=timeout) as response, target.open("wb") as handle:  # noqa: S310
            shutil.copyfileobj(response, handle)
    except (urllib.error.URLError, OSError) as error:
        target.unlink(missing_ok=True)
        return Artifact(**{**asdict(artifact), "note": f"not fetched: {getattr(error, 'reason', error)}"})
    digest = _sha256(target)
    if artifact.sha256 and digest != artifact.sha256:
        target.unlink()
        return Artifact(**{**asdict(artifact), "note": f"not fetched: sha256 {digest} differs from the lock's"})
    note = "" if artifact.sha256 else "sha256 not recorded in artifacts.lock.json: record the one in SHA256SUMS"
    return Artifact(**{**asdict(artifact), "sha256": digest, "fetched": True, "note": note})


def download_wheels(out: Path) -> Artifact:
    target = out / "wheels"
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--dest", str(target),
               "--constraint", str(CONSTRAINTS)]
    for path in REQUIREMENTS:
        command += ["--requirement", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    fetched = result.returncode == 0
    note = f"{len(list(target.glob('*')))} files" if fetched else f"not fetched: pip exited {result.returncode}: " \
        f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ''}"
    return Artifact("wheels", "requirements.txt + policies/requirements.txt", "pinned",
                    "pip download -r requirements.txt -r policies/requirements.txt -c constraints.txt",
                    "wheels/", fetched=fetched, note=note)


def mirror_lists(stacks: list[str], out: Path | None) -> list[Artifact]:
    """Every chart and image each stack pulls (python -m offline mirror); with ``out``, the charts copied in."""
    from offline.charts import artifacts as chart_artifacts

    found = []
    for stack in stacks:
        result = subprocess.run([sys.executable, "-m", "offline", "mirror", "--stack", stack, "--stand-in-secrets",
                                 "--json"], cwd=ROOT, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"python -m offline mirror --stack {stack} failed:\n{result.stderr}")
        document = json.loads(result.stdout)
        found.append(Artifact("images", stack, "-", "python -m offline mirror", f"mirror-{stack}.json",
                              note=f"{len(document.get('images', []))} images"))
        if out is not None:
            (out / f"mirror-{stack}.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        directory = chart_artifacts.locate(None)
        for chart in document.get("charts", []):
            archive = f"{chart['name']}-{chart['version']}.tgz"
            source = directory.root / "charts" / archive if directory else None
            copied = False
            if out is not None and source is not None and source.exists():
                (out / "charts").mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, out / "charts" / archive)
                copied = True
            present = source is not None and source.exists()
            found.append(Artifact("chart", chart["name"], chart["version"], str(source or "artifacts directory"),
                                  f"charts/{archive}", fetched=copied, sha256=_sha256(source) if present else None,
                                  note="" if present else "not in the artifacts directory (see its README)"))
    return list({(a.kind, a.name, a.version): a for a in found}.values())


def table(found: list[Artifact]) -> str:
    lines = []
    for a in found:
        state = "fetched" if a.fetched else ("listed" if not a.note else a.note)
        lines.append(f"{a.kind:<8}{a.name:<45}{a.version:<12}{a.file}\n        source: {a.source}\n"
                     f"        sha256: {a.sha256 or 'not recorded'}; {state}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.airgap_bundle", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="directory to assemble the bundle in")
    parser.add_argument("--stack", action="append", help="stack whose charts and images to list (default: every "
                        "Pulumi.<stack>.yaml here)")
    parser.add_argument("--platform", default="linux-amd64", choices=sorted(PLATFORMS), help="the deploy host's platform")
    parser.add_argument("--dry-run", action="store_true", help="list what the bundle holds; download and write nothing")
    args = parser.parse_args(argv)
    stacks = args.stack or sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    out = None if args.dry_run else Path(args.out)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    found = pulumi_artifacts(args.platform)
    if out is not None:
        found = [fetch(a, out) for a in found]
    found += [download_wheels(out)] if out is not None else wheel_artifacts()
    found += mirror_lists(stacks, out)
    if out is not None:
        sums = [f"{a.sha256}  {a.file}" for a in found if a.fetched and a.sha256]
        (out / "SHA256SUMS").write_text("\n".join(sums) + ("\n" if sums else ""))
        (out / "MANIFEST.json").write_text(json.dumps([asdict(a) for a in found], indent=2) + "\n")
    sys.stdout.write(table(found))
    missing = [a for a in found if a.kind in ("cli", "plugin", "wheels") and not a.fetched]
    if out is not None and missing:
        sys.stdout.write(f"\nNOT in the bundle ({len(missing)}): {', '.join(f'{a.kind} {a.name}' for a in missing)}; "
                         "fetch them from the source above on a connected machine and add them under the path shown\n")
    return 1 if out is not None and missing else 0


if __name__ == "__main__":
    sys.exit(main())
