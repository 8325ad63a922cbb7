"""Explicit name → class registries for sources and subtasks.

``@register`` on a class registers it under its own ``name`` attribute (the one line a new
source or subtask module needs); ``register("name")`` still names it explicitly. A name is
registered once; an unknown name fails with the list of known ones, so a typo on the command line
is answered with the fix rather than a KeyError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str | T) -> T | Callable[[T], T]:
        if not isinstance(name, str):  # used bare: @register on a class with a ``name``
            return self.register(name.name)(name)

        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def unregister(self, name: str) -> None:
        """Forget ``name`` (a plugin or a test that registered something for a while)."""
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
