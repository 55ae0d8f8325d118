"""One object per Lambda execution environment, built on first use: what the handlers' wiring holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerEnvironment(Generic[T]):
    """Built from the environment on first use and kept for the environment's life (a warm invocation
    reuses its clients, budget and caches); the local runtime and tests install their own instead."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            self._value = self._build()
        return self._value

    def install(self, replacement: T | None) -> None:
        """Use `replacement` (None: build from the environment on next use)."""
        self._value = replacement
