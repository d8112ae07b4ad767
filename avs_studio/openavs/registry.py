"""Name -> factory registries for the pipeline stages (configuration picks by name, never if/elif)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class UnknownStageError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
            self._factories[name] = factory
            return factory

        return deco

    def add(self, name: str, factory: Callable[..., Any]) -> None:
        self._factories[name] = factory

    def remove(self, name: str) -> None:
        self._factories.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def factory(self, name: str) -> Callable[..., Any]:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise UnknownStageError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def create(self, name: str, **params: Any) -> Any:
        return self.factory(name)(**params)

    def __contains__(self, name: str) -> bool:
        return name in self._factories


DESCRIBERS = Registry("audio describer")
TRANSLATORS = Registry("prompt translator")
SEGMENTERS = Registry("text segmenter")
POINT_SEGMENTERS = Registry("point segmenter")

register_describer = DESCRIBERS.register
register_translator = TRANSLATORS.register
register_segmenter = SEGMENTERS.register
register_point_segmenter = POINT_SEGMENTERS.register
