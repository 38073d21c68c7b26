"""What a process keeps between requests: facts read, texts and fragments rendered, by key.

The short paths of the busiest posts (rounds/quick.py, surveys/answering.py, the event
registration) keep what they would otherwise read or render on every request. Each keeps at
most `size` entries and drops them all when full: a miss costs only a read or a render again.
Single dict operations are atomic under the GIL, so a race between threads only does that work
twice.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> V:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = value
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        found = self._entries.get(key)
        return found if found is not None else self.put(key, make())

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)
