"""What this process read from or wrote to the shared cache lately, kept in
its own memory too (a near cache), so a kept answer asked again on this
worker costs no round trip to Redis and no unpickling: with Redis, 1.85 M
instructions a kept answer -> 1.54 M (bench/instructions.py hit), and a
fifth of the CPU it costs the machine under gunicorn (Redis's included).

Only for keys whose value is never replaced by another answer
(meetings/directory_version.py: `cache_get`, `cache_set`): an answer's key
names the directory version, the span of time and the code it was made at,
so a copy is never staler than the shared one; a write anywhere changes the
version every request reads, and with it the key. Bounded by bytes (the
pickled size, as the shared cache holds it), least recently used out first.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings


class NearCache:
    """`settings.CACHE_NEAR_BYTES` of values at most (0: none kept), none
    larger than an eighth of it (the whole feed stays in the shared cache alone)."""

    def __init__(self) -> None:
        self._values: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, shared: Callable[[], object | None]):
        """The value kept here under `key`, else `shared()`'s (then kept here), or None."""
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
                return found[0]
        value = shared()
        if value is not None:
            self.keep(key, value)
        return value

    def keep(self, key: str, value) -> None:
        limit = settings.CACHE_NEAR_BYTES
        if not limit or (size := _pickled_size(value, at_most=limit // 8)) is None:
            return
        with self._lock:
            _, replaced = self._values.pop(key, (None, 0))
            self._values[key] = (value, size)
            self._bytes += size - replaced
            while self._bytes > limit:
                _, (_, dropped) = self._values.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0


class _TooLarge(Exception):
    pass


class _ByteCount:
    """A file that only counts what is written to it, up to `at_most`."""

    def __init__(self, at_most: int) -> None:
        self.size, self.at_most = 0, at_most

    def write(self, data) -> int:
        self.size += len(data)
        if self.size > self.at_most:
            raise _TooLarge
        return len(data)


def _pickled_size(value, *, at_most: int) -> int | None:
    """The size of `value` pickled, as the shared cache holds it, or None past
    `at_most`: counted as written, not built, since pickle hands a large bytes
    object to its file whole (the feed's 62 MB: 0.06 ms, where building the
    pickle took 45 ms and its size in memory)."""
    counted = _ByteCount(at_most)
    try:
        pickle.Pickler(counted, pickle.HIGHEST_PROTOCOL).dump(value)
    except _TooLarge:
        return None
    return counted.size
