"""The on-disk cache of renders and digests: JSON files keyed by a hash of everything that determines them.

Kept under ``.cache/`` in the checkout, or ONPREM_LLM_CACHE. Entries never go stale: a key changes
whenever an input does. Delete the directory to reclaim space.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

CACHE_ENVIRONMENT = "ONPREM_LLM_CACHE"
REPO = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    root = Path(os.environ.get(CACHE_ENVIRONMENT) or REPO / ".cache")
    return root / "offline"



def digest(value: Any) -> str:
    """sha256 of a JSON value with sorted keys: a cache key for large rendered objects, computed fast."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)).hexdigest()


def cached(key: str, kind: str, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON result, stored under the cache directory by key and kind."""
    path = cache_dir() / f"{key}.{kind}.json"
    if path.is_file():
        return orjson.loads(path.read_bytes())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(orjson.dumps(result))
    temporary.replace(path)
    return result
