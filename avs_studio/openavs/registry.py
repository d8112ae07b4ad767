"""Name -> factory registries for the pipeline stages (configuration picks by name, never if/elif)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

PIPELINE_PARAMS = ("device",)  # passed by the pipeline to every factory, never set in a stage's table


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

    def signature(self, name: str) -> inspect.Signature:
        """The factory's signature, annotations evaluated where they can be: the stage's parameters."""
        return signature(self.factory(name))


def signature(factory: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(factory, eval_str=True)
    except (NameError, TypeError, SyntaxError):  # an annotation names something not importable here
        return inspect.signature(factory)


def ignoring_device(cls: Callable[..., Any]) -> Callable[..., Any]:
    """A factory of ``cls`` that takes (and drops) the pipeline's ``device``; its signature is ``cls``'s
    plus ``device``, so a profile's parameters are checked against ``cls``."""

    def factory(device: str | None = None, **params: Any) -> Any:
        return cls(**params)

    sig = signature(cls)
    params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    rest = [p for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD]
    device = inspect.Parameter("device", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str | None)
    factory.__signature__ = sig.replace(parameters=[*params, device, *rest])  # type: ignore[attr-defined]
    factory.__name__ = factory.__qualname__ = f"make_{getattr(cls, '__name__', 'stage')}"
    factory.__module__ = getattr(cls, "__module__", __name__)
    return factory


DESCRIBERS = Registry("audio describer")
TRANSLATORS = Registry("prompt translator")
SEGMENTERS = Registry("text segmenter")
POINT_SEGMENTERS = Registry("point segmenter")

register_describer = DESCRIBERS.register
register_translator = TRANSLATORS.register
register_segmenter = SEGMENTERS.register
register_point_segmenter = POINT_SEGMENTERS.register
