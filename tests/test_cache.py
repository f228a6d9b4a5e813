"""The on-disk cache answers only for the same inputs and the same code: a change to either computes again."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import pytest

from offline.charts import cache
from offline.charts.helm import Helm
from offline.checks import capability

PROTECTED = {"protectedNamespaces": ["llm-serving"]}


def _secret_reader(user: str) -> list[dict]:
    """A Role that reads the protected namespace's Secrets, bound to ``user``."""
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "reader", "namespace": "llm-serving"},
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "reader", "namespace": "llm-serving"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]},
    ]


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENVIRONMENT, str(tmp_path))
    return tmp_path / "offline"


def _entries(directory, kind: str) -> set[str]:
    return {p.name for p in directory.glob(f"*.{kind}.json")} if directory.exists() else set()


def test_the_same_objects_hit_and_a_changed_object_misses(empty_cache, monkeypatch):
    first = capability.check({"workload": _secret_reader("alice")}, PROTECTED)
    assert first.secret_readers["workload"]["llm-serving"] == ["User alice"]
    (entry,) = _entries(empty_cache, "capability")

    # Served from the entry: the analysis does not run again.
    monkeypatch.setattr(capability, "_analyse", lambda *_: pytest.fail("the analysis ran for a cached input"))
    assert capability.check({"workload": _secret_reader("alice")}, PROTECTED) == first
    monkeypatch.undo()
    monkeypatch.setenv(cache.CACHE_ENVIRONMENT, str(empty_cache.parent))

    changed = capability.check({"workload": _secret_reader("bob")}, PROTECTED)
    assert changed.secret_readers["workload"]["llm-serving"] == ["User bob"], "not the stale report"
    assert len(_entries(empty_cache, "capability") - {entry}) == 1


def test_changed_settings_miss(empty_cache):
    capability.check({"workload": _secret_reader("alice")}, PROTECTED)
    unprotected = capability.check({"workload": _secret_reader("alice")}, {"protectedNamespaces": []})
    assert unprotected.secret_readers["workload"] == {}
    assert len(_entries(empty_cache, "capability")) == 2


def test_changed_analysis_code_misses(empty_cache, monkeypatch):
    capability.check({"workload": _secret_reader("alice")}, PROTECTED)
    monkeypatch.setattr(capability, "code_digest", lambda *modules: "an edited analysis")
    capability.check({"workload": _secret_reader("alice")}, PROTECTED)
    assert len(_entries(empty_cache, "capability")) == 2


def test_the_code_digest_follows_the_source(tmp_path, monkeypatch):
    module = tmp_path / "cache_probe_module.py"
    module.write_text("ANSWER = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    before = cache.code_digest("cache_probe_module")
    module.write_text("ANSWER = 2\n")
    cache.code_digest.cache_clear()
    assert cache.code_digest("cache_probe_module") != before
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        cache.code_digest("no_such_module")


def test_a_render_key_names_helm_its_runner_and_every_argument(monkeypatch):
    helm = Helm(binary=None, version="v3.0.0")
    arguments = ("digest", "release", "namespace", {"replicas": 1}, "v1.31.0", ("monitoring.coreos.com/v1",))
    key = helm.key(*arguments)
    assert key == helm.key(*arguments)
    assert Helm(binary=None, version="v3.0.1").key(*arguments) != key
    for index, changed in enumerate(("other", "other", "other", {"replicas": 2}, "v1.32.0", ())):
        assert helm.key(*arguments[:index], changed, *arguments[index + 1:]) != key, index
    monkeypatch.setattr("offline.charts.helm.code_digest", lambda *modules: "an edited runner")
    assert helm.key(*arguments) != key


def test_cached_yaml_texts_are_to_yamls_bytes_and_a_changed_document_misses(empty_cache):
    from offline.render import to_yaml, to_yaml_all

    documents = [{"kind": "ConfigMap", "data": {"long": "x " * 100 + "\"quoted\"\ttab"}}, {"kind": "Namespace"}]
    assert to_yaml_all(documents) == [to_yaml(d) for d in documents]
    assert to_yaml_all(documents) == [to_yaml(d) for d in documents], "read back from the entry"
    changed = [{**documents[0], "data": {"long": "changed"}}, documents[1]]
    assert to_yaml_all(changed) == [to_yaml(d) for d in changed]
    assert len(_entries(empty_cache, "yaml-text")) == 2


def test_prune_removes_entries_unused_for_its_days_and_a_read_keeps_one(empty_cache):
    for name in ("read", "unread", "recent"):
        cache.cached(name, "probe", lambda name=name: {"entry": name})
    month_ago = time.time() - 30 * 86400
    for name in ("read", "unread"):
        os.utime(empty_cache / f"{name}.probe.json", (month_ago, month_ago))
    assert cache.cached("read", "probe", lambda: pytest.fail("a stored entry is read, not computed")) == {"entry": "read"}
    orphan = empty_cache / "read.probe.json.123.456.tmp"  # a writer killed between writing and renaming
    orphan.write_text("{")
    os.utime(orphan, (month_ago, month_ago))
    assert cache.prune() == 2
    assert {p.name for p in empty_cache.iterdir()} == {"read.probe.json", "recent.probe.json"}


def test_an_entry_pruned_by_another_run_is_computed_again(empty_cache, monkeypatch):
    cache.cached("gone", "probe", lambda: {"entry": 1})
    real_read = Path.read_bytes

    def pruned_between_check_and_read(path):
        path.unlink(missing_ok=True)
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", pruned_between_check_and_read)
    assert cache.cached("gone", "probe", lambda: {"entry": 2}) == {"entry": 2}
