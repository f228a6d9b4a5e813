"""Imports only go down the layers (docs/architecture.md, "Layers and the import rule").

Every import statement is read with `ast`, including imports inside functions and under
`TYPE_CHECKING`, so a layer cannot be crossed by hiding the import where it runs late.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# The rules, as data. A pattern is a module name, or `package.*` for the package and everything
# under it; the longest matching pattern wins, so an exact name overrides its package's pattern.
# A module may import its own rank or lower, never higher.
# ---------------------------------------------------------------------------------------------

RANKS: dict[str, int] = {
    "components": 0,                  # the root package: a docstring only
    "components.config.model": 0,     # the config's shape
    "components.config.issues": 0,    # one problem of the config, and the error listing them
    "components.config.fields": 0,    # parsers of free-text fields (CIDRs, image references, host names, ...)
    "components.config.certificates": 0,  # the model servers' serving certificate: chain, names, issuer
    "components.config.messages": 0,  # pydantic's errors as what to write, secrets never shown
    "components.config.stack_file": 0,  # the stack file read as the Pulumi CLI reads it
    "components.config.vllm_args": 0,   # the vLLM flags the platform manages, in every spelling
    "components.config.site_mirror": 0,  # what a standby takes from its primary's outputs
    "components.config.question_set": 0,  # the site's evaluation questions, read from the site repository
    "components.jobs.*": 0,           # runs alone in a Job; may be read by any layer (see ISOLATED)
    "components.planning.*": 1,       # pure planning: sizing, capacity, DR, exceptions, monitoring
    "components.outputs": 1,          # the outputs contract
    "components.versions": 1,         # reader of artifacts.lock.json: every pinned chart, CRD and image
    "components.vcenter_api": 1,      # a client of vCenter's REST API, for what pulumi-vsphere does not manage
    "components.supervisor_login": 1,  # how long the Supervisor login lasts
    "components.config": 2,           # load_config: the models plus the cross-field rules
    "components.config.rules": 2,     # cross-field rules, which use planning
    "components.builders.*": 3,       # Kubernetes objects and chart values
    "components.resources.*": 4,      # one ComponentResource per file
    "components.platform": 5,         # wiring
    "components.primary_site": 5,     # a standby's read of its primary's outputs (StackReference or file)
}

PROVISIONAL_RANKS: dict[str, int] = {}
"""Modules ranked by what they import today rather than what they hold, until they are moved."""

PURE = ("components.config.*", "components.planning.*", "components.jobs.*", "components.outputs",
        "components.versions")
"""Modules that never import the Pulumi SDK or a provider: they are planning and data, testable alone."""

PULUMI = ("pulumi", "pulumi_kubernetes", "pulumi_vsphere", "pulumi_random", "pulumiverse_vra")

ISOLATED = ("components.jobs.*",)
"""Modules shipped into the cluster as a file of their own, where the project cannot be imported."""

PROJECT = ("components", "offline", "tools", "tests", "policies", "hipaa", "bench", "examples")
"""Top-level packages of the project (the pack imports itself as `hipaa`, from policies/)."""

NOT_FROM_COMPONENTS = ("offline", "tools", "tests", "policies")
"""The program's code stands alone: the engine, generators, tests and policy pack sit beside it."""

NOT_FROM_POLICIES = ("components", "offline", "tools")
"""The Pulumi CLI loads the pack from its own directory, as a program of its own."""


# ---------------------------------------------------------------------------------------------
# Reading imports
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__main__"


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> list[Import]:
    """Every module `source` imports. `from a import b` counts as importing `a.b` when that is a module."""
    found = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.append(Import(module, candidate if candidate in known else target, node.lineno))
    return found


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    paths = [root / "__main__.py", *sorted(root.glob("components/**/*.py")), *sorted(root.glob("offline/**/*.py")),
             *sorted(root.glob("tools/**/*.py")), *sorted(root.glob("tests/**/*.py")),
             *sorted(root.glob("policies/**/*.py")), *sorted(root.glob("bench/**/*.py"))]
    return {module_name(path, root): path for path in paths if path.exists()}


def all_imports(modules: dict[str, Path]) -> list[Import]:
    known = set(modules)
    return [imp for name, path in modules.items()
            for imp in imports_of(path.read_text(), name, _is_package(path), known)]


# ---------------------------------------------------------------------------------------------
# Judging them
# ---------------------------------------------------------------------------------------------


def _matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return module == pattern[:-2] or module.startswith(pattern[:-1])
    return module == pattern


def rank(module: str, table: dict[str, int] | None = None) -> int | None:
    table = {**RANKS, **PROVISIONAL_RANKS} if table is None else table
    hits = [pattern for pattern in table if _matches(module, pattern)]
    return table[max(hits, key=len)] if hits else None


def _top(module: str) -> str:
    return module.split(".")[0]


def _in(module: str, patterns: tuple[str, ...]) -> bool:
    return any(_matches(module, pattern) for pattern in patterns)


def violations(imports: list[Import], table: dict[str, int] | None = None) -> list[str]:
    found = []
    for imp in imports:
        where = f"{imp.importer} (line {imp.line}) imports {imp.imported}"
        importer_top, imported_top = _top(imp.importer), _top(imp.imported)
        if imp.imported == "__main__":
            found.append(f"{where}: nothing imports the program (`__main__.py`); the engine runs it")
        if importer_top == "components" and imported_top in NOT_FROM_COMPONENTS:
            found.append(f"{where}: nothing under components/ imports {', '.join(NOT_FROM_COMPONENTS)}")
        if _matches(imp.importer, "policies.hipaa.*") and imported_top in NOT_FROM_POLICIES:
            found.append(f"{where}: policies/hipaa imports nothing from {', '.join(NOT_FROM_POLICIES)}")
        if importer_top != "components":
            continue
        if _in(imp.importer, PURE) and imported_top in PULUMI:
            found.append(f"{where}: pure modules ({', '.join(PURE)}) never import the Pulumi SDK or a provider")
        if _in(imp.importer, ISOLATED) and imported_top in PROJECT:
            found.append(f"{where}: {', '.join(ISOLATED)} imports nothing from the project")
        if imported_top == "components":
            low, high = rank(imp.importer, table), rank(imp.imported, table)
            if low is not None and high is not None and high > low:
                found.append(f"{where}: rank {low} may not import rank {high} (imports only go down the layers)")
    return found


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_every_module_of_components_has_a_rank():
    unranked = [name for name in project_modules() if _top(name) == "components" and rank(name) is None]
    assert not unranked, f"give these modules a rank in RANKS (tests/test_layers.py): {unranked}"


def test_imports_only_go_down_the_layers():
    modules = project_modules()
    assert len([m for m in modules if _top(m) == "components"]) > 30, "found too few modules to judge"
    problems = violations(all_imports(modules))
    assert not problems, "\n".join(problems)


def test_the_checker_catches_forbidden_imports(tmp_path):
    files = {
        "components/__init__.py": "",
        "components/config/__init__.py": "",
        "components/config/model.py": "def late():\n    from components.platform import build\n",
        "components/planning/__init__.py": "",
        "components/planning/sizing.py": "import pulumi\n",
        "components/jobs/__init__.py": "",
        "components/jobs/job.py": "from components.config import model\n",
        "components/resources/__init__.py": "",
        "components/resources/thing.py": "from ..builders import k8s\nfrom offline import run\n",
        "components/builders/__init__.py": "",
        "components/builders/k8s.py": "from components.resources import thing\n",
        "components/platform.py": "from components.resources import thing\nimport __main__\n",
        "policies/hipaa/rule.py": "from components.config import model\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    imports = all_imports(project_modules(tmp_path))
    problems = violations(imports)
    expected = [
        "components.config.model (line 2) imports components.platform: rank 0 may not import rank 5",
        "components.planning.sizing (line 1) imports pulumi: pure modules",
        "components.jobs.job (line 1) imports components.config.model: components.jobs.* imports nothing",
        "components.resources.thing (line 2) imports offline: nothing under components/ imports",
        "components.builders.k8s (line 1) imports components.resources.thing: rank 3 may not import rank 4",
        "components.platform (line 2) imports __main__: nothing imports the program",
        "policies.hipaa.rule (line 1) imports components.config.model: policies/hipaa imports nothing",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), f"not caught: {text}\n" + "\n".join(problems)
    assert len(problems) == len(expected), "\n".join(problems)
    # A relative import resolves like an absolute one, and importing a lower rank is allowed.
    assert Import("components.resources.thing", "components.builders.k8s", 1) in imports


def test_a_module_without_a_rank_is_named():
    assert rank("components.newthing") is None
    assert rank("components.config.newthing") is None
    assert rank("components.planning.newthing") == 1
    assert rank("components.versions") == 1
