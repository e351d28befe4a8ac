"""An explicit, ordered registry of named plug-in factories (attacks, detectors).

Registration order is the order the scan runs them in. A second registration under a taken name is
refused unless `replace=True`: a silent overwrite would swap a check without anyone noticing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str, factory: Callable[..., T], *, replace: bool = False) -> None:
        if name in self._factories and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered; pass replace=True to swap it")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        if name not in self._factories:
            raise KeyError(f"{self.kind} {name!r} is not registered")
        del self._factories[name]

    def create(self, name: str, **kwargs) -> T:
        if name not in self._factories:
            raise KeyError(f"unknown {self.kind} {name!r}; registered: {', '.join(self._factories)}")
        return self._factories[name](**kwargs)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    @contextmanager
    def registered(self, name: str, factory: Callable[..., T]) -> Iterator[None]:
        """Register `name` for the duration of a block (tests, one-off experiments)."""
        self.register(name, factory)
        try:
            yield
        finally:
            self.unregister(name)
