"""Header field names to PEP 3333 environ keys ('Content-Type' -> 'CONTENT_TYPE').

Rule: a leaf module (imports nothing of ours), so the parser and the environ builder both use it without
importing each other; the cache is bounded so a client sending random names cannot grow it.
"""

from __future__ import annotations

_CACHE_LIMIT = 1024
_SPECIAL_KEYS = {"HTTP_CONTENT_TYPE": "CONTENT_TYPE", "HTTP_CONTENT_LENGTH": "CONTENT_LENGTH"}
_key_cache: dict[bytes, str | None] = {}


def compute_environ_key(name: bytes) -> str | None:
    """'Content-Type' -> 'CONTENT_TYPE', 'X-Real-IP' -> 'HTTP_X_REAL_IP'; None for names with '_'."""
    if b"_" in name:
        return None
    key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
    return _SPECIAL_KEYS.get(key, key)


def environ_key(name: bytes) -> str | None:
    """`compute_environ_key` with a bounded cache (the hot path: called once per header)."""
    try:
        return _key_cache[name]
    except KeyError:
        key = compute_environ_key(name)
        if len(_key_cache) < _CACHE_LIMIT:
            _key_cache[name] = key
        return key
