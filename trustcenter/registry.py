"""Named registries on the application: the worker's periodic tasks and the retention purgers.

Domains register what they need at start-up (`create_app`); the worker and
`trustcenter retention purge` read the registry of their own application, so
two applications in one process never run each other's tasks.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from flask import Flask

F = TypeVar("F", bound=Callable[..., object])
WORKER_TASKS = "worker_tasks"
RETENTION_PURGERS = "retention_purgers"


class Registry(Generic[F]):
    """Functions by name, in registration order; a name names one function (registering it again is a no-op)."""

    def __init__(self) -> None:
        self._entries: dict[str, F] = {}

    def register(self, name: str, func: F) -> None:
        if self._entries.get(name, func) is not func:
            raise ValueError(f"{name!r} is already registered to another function")
        self._entries[name] = func

    def items(self) -> list[tuple[str, F]]:
        return list(self._entries.items())

    def __iter__(self) -> Iterator[F]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)


def registry(app: Flask, name: str) -> Registry:
    """The application's registry called `name`, created on first use."""
    found = app.extensions.get(name)
    if found is None:
        found = app.extensions[name] = Registry()
    return found
