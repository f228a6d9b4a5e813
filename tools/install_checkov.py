"""Installs the pinned checkov into an environment of its own, from requirements-checkov.txt.

    python -m tools.install_checkov [--prefix DIR]     # default .cache/checkov; prints the checkov path

checkov pins boto3 to a release the program's environment cannot share, so it gets its own virtualenv
with every dependency locked. Nothing is downloaded but those packages, from the configured index;
an environment that already holds the locked checkov is left as it is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-checkov.txt"
DEFAULT_PREFIX = ROOT / ".cache" / "checkov"


def pinned_version() -> str:
    line = next(line for line in LOCK.read_text().splitlines() if line.startswith("checkov=="))
    return line.split("==", 1)[1].strip()


def executable(prefix: Path = DEFAULT_PREFIX) -> Path:
    return prefix / "bin" / "checkov"


def installed_version(prefix: Path) -> str | None:
    python = prefix / "bin" / "python"
    if not python.is_file():
        return None
    found = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('checkov'))"],
                           capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prefix", default=str(DEFAULT_PREFIX), help="virtualenv to install checkov into")
    args = parser.parse_args(argv)
    prefix = Path(args.prefix)
    if installed_version(prefix) != pinned_version():
        venv.EnvBuilder(with_pip=True, clear=prefix.exists()).create(prefix)
        subprocess.run([str(prefix / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(LOCK)], check=True)
        print(f"installed checkov {pinned_version()} to {prefix}")
    print(executable(prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
