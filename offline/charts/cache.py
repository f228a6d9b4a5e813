"""The on-disk cache of renders and digests: JSON files keyed by a hash of everything that determines them.

Kept under ``.cache/`` in the checkout, or ONPREM_LLM_CACHE. Entries never go stale: a key changes
whenever an input, or the code that computes the entry, does. So every change of a chart's values or
of the code adds entries and leaves the old ones unread: ``prune`` removes those no run has used for
``UNUSED_DAYS`` (each read marks its entry used), and the test suite calls it when it ends.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

CACHE_ENVIRONMENT = "ONPREM_LLM_CACHE"
REPO = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    root = Path(os.environ.get(CACHE_ENVIRONMENT) or REPO / ".cache")
    return root / "offline"


@functools.cache
def code_digest(*modules: str) -> str:
    """sha256 of the source of the named modules: part of a key whenever their code computes the cached result,
    so an edit to that code misses the cache instead of serving what the old code computed."""
    hashed = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"no module {name} to key a cache entry by")
        hashed.update(name.encode() + b"\0" + Path(spec.origin).read_bytes() + b"\0")
    return hashed.hexdigest()


def digest(value: Any) -> str:
    """sha256 of a JSON value with sorted keys: a cache key for large rendered objects, computed fast."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)).hexdigest()


UNUSED_DAYS = 14
"""An entry nothing read or wrote for this long is pruned: it answers for inputs or code no longer in use."""


def cached(key: str, kind: str, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON result, stored under the cache directory by key and kind."""
    path = cache_dir() / f"{key}.{kind}.json"
    try:
        stored = path.read_bytes()
    except FileNotFoundError:  # never computed, or pruned meanwhile by another run
        pass
    else:
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: prune keeps it
        return orjson.loads(stored)
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(orjson.dumps(result))
    temporary.replace(path)
    return result


def prune(days: float = UNUSED_DAYS) -> int:
    """Removes the entries no run has read or written for ``days``, and what writers killed mid-write left
    (``*.tmp``) as old; returns how many files it removed. A file it may not remove is left."""
    directory = cache_dir()
    if not directory.is_dir():
        return 0
    oldest = time.time() - days * 86400
    removed = 0
    for path in directory.iterdir():
        with contextlib.suppress(OSError):  # gone meanwhile (another run pruned it), or not ours to remove
            if path.suffix in (".json", ".tmp") and path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
    return removed
