"""The images the site builds install exactly the recorded wheels, on a base named by digest."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
IMAGES = {"audit-tools": "BASE", "weights-verifier": "PYTHON_IMAGE"}
"""Each image and the build argument naming its base image."""
DIGEST = "sha256:" + "0" * 64


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path: Path) -> dict[str, tuple[str, list[str]]]:
    """Each requirement of a pip requirements file: normalized name -> (the whole line's specifier, its hashes)."""
    found = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        requirement, *options = line.split()
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        found[_name(name)] = (requirement[len(name):], [o.removeprefix("--hash=") for o in options])
    return found


def _constraints() -> dict[str, str]:
    return {_name(name): version for name, version in
            re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (ROOT / "constraints.txt").read_text(), re.MULTILINE)}


@pytest.mark.parametrize("image", IMAGES)
def test_every_requirement_is_pinned_with_its_wheels_hashes_at_the_locked_version(image):
    found = requirements(ROOT / "images" / image / "requirements.txt")
    assert len(found) >= 3
    locked = _constraints()
    for name, (specifier, hashes) in found.items():
        assert re.fullmatch(r"==[^=<>!~*,;\s]+", specifier), (name, specifier)
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), (name, hashes)
        assert locked.get(name) == specifier.removeprefix("=="), (name, specifier, locked.get(name))


def test_a_requirement_without_a_hash_or_pin_is_caught(tmp_path):
    loose = tmp_path / "requirements.txt"
    loose.write_text("six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\nboto3>=1.0\n")
    found = requirements(loose)
    assert found["six"] == ("==1.17.0", ["sha256:" + "a" * 64])
    assert found["boto3"] == (">=1.0", [])


@pytest.mark.parametrize("image", IMAGES)
def test_pip_installs_only_hashed_binary_wheels_and_no_dependency_of_its_own_choice(image):
    dockerfile = (ROOT / "images" / image / "Dockerfile").read_text().replace("\\\n", " ")
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert len(installs) == 1
    for flag in ("--require-hashes", "--only-binary=:all:", "--no-deps", "-r "):
        assert flag in installs[0], flag


def _base_check(image: str) -> str:
    """The RUN command that checks the base image argument, as the shell runs it (the argument in its environment)."""
    dockerfile = (ROOT / "images" / image / "Dockerfile").read_text().replace("\\\n", " ")
    argument = IMAGES[image]
    lines = dockerfile.splitlines()
    start = lines.index(f"FROM ${{{argument}}}")
    # Re-declared after FROM, so the RUN sees it; the check runs before anything is installed.
    assert lines[start + 1:].index(f"ARG {argument}") < 3
    runs = [line.removeprefix("RUN ") for line in lines[start + 1:] if line.startswith("RUN ")]
    assert argument in runs[0] and "pip" not in runs[0]
    return runs[0]


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize(("base", "builds"), [
    ("harbor.example/library/python:3.12-slim@" + DIGEST, True),
    ("harbor.example/library/python@" + DIGEST, True),
    ("harbor.example/library/python:3.12-slim", False),
    ("harbor.example/library/python:3.12-slim@sha256:abc", False),
    ("", False),
])
def test_the_build_refuses_a_base_image_not_named_by_digest(image, base, builds):
    result = subprocess.run(["sh", "-c", _base_check(image)], env={IMAGES[image]: base, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True)
    assert (result.returncode == 0) is builds, result.stderr
    if not builds:
        assert "by digest" in result.stderr
