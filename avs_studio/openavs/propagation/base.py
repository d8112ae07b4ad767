"""What a propagation engine is (a protocol), how one is chosen (a registry) and configured (TOML).

An engine carries the masks of one frame along a stream of frames in one direction: ``start(frame,
masks)`` opens a track on the anchor frame, ``track.step(frame)`` returns the masks of the next frame of
the stream. The caller decides the direction (it feeds frames backwards for backward propagation) and
fuses the two directions (see ``segment``). Engines hold a bounded state: whatever the stream's length,
a track keeps only what its next step needs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from avs_studio.openavs.registry import Registry

ENGINE_PREFIX = "propagation:"  # engine id in provenance: "propagation:flow"
DEFAULT_ENGINE = "flow"
DEFAULT_MAX_SECONDS = 10.0


@runtime_checkable
class Track(Protocol):
    def step(self, frame: np.ndarray) -> dict[int, np.ndarray]:
        """Bool (H, W) masks of the next frame of the stream, by object key."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Propagator(Protocol):
    name: str

    def start(self, frame: np.ndarray, masks: dict[int, np.ndarray]) -> Track:
        """Open a track on an anchor frame (uint8 RGB (H, W, 3)) with its non-empty bool masks."""
        ...

    def describe(self) -> dict[str, Any]:
        """Provenance: engine name, parameters, model names."""
        ...


PROPAGATORS = Registry("propagation engine")
register_propagator = PROPAGATORS.register


class PropagationConfigError(ValueError):
    """A propagation config is malformed; the message names the file, the key and the valid choices."""


@dataclass
class PropagationConfig:
    engine: str = DEFAULT_ENGINE
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # engine name -> factory parameters
    max_seconds: float = DEFAULT_MAX_SECONDS  # how far from a reviewed frame masks are carried
    device: str = "auto"
    source: str = ""  # the file it came from

    @property
    def engine_id(self) -> str:
        return ENGINE_PREFIX + self.engine

    def engine_params(self) -> dict[str, Any]:
        return dict(self.params.get(self.engine, {}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "params": self.engine_params(),
            "max_seconds": self.max_seconds,
            "device": self.device,
        }


TOP_KEYS = ("engine", "max_seconds", "device")


def parse_propagation_config(data: Mapping[str, Any], where: str = "config") -> PropagationConfig:
    from avs_studio.openavs.propagation import engine_names

    names = engine_names()
    unknown = [k for k in data if k not in TOP_KEYS and k not in names]
    if unknown:
        raise PropagationConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(TOP_KEYS)} and one table per "
            f"engine ({', '.join(names)})"
        )
    cfg = PropagationConfig(source=where)
    engine = data.get("engine", DEFAULT_ENGINE)
    if engine not in names:
        raise PropagationConfigError(f"{where}: engine {engine!r} is not known; valid: {', '.join(names)}")
    cfg.engine = engine
    seconds = data.get("max_seconds", DEFAULT_MAX_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 3600:
        raise PropagationConfigError(f"{where}: max_seconds must be a number of seconds in (0, 3600]")
    cfg.max_seconds = float(seconds)
    device = data.get("device", "auto")
    if not isinstance(device, str):
        raise PropagationConfigError(f'{where}: device must be a string like "cpu", "cuda" or "auto"')
    cfg.device = device
    for name in names:
        table = data.get(name, {})
        if not isinstance(table, Mapping):
            raise PropagationConfigError(f"{where}: [{name}] must be a table of that engine's parameters")
        cfg.params[name] = dict(table)
    return cfg


def load_propagation_config(
    path: str | Path | None = None, *, engine: str | None = None
) -> PropagationConfig:
    """The defaults, or a TOML file (`engine`, `max_seconds`, `device`, one table per engine); ``engine``
    overrides the file's choice."""
    data: dict[str, Any] = {}
    where = "propagation settings"
    if path is not None:
        p = Path(path).expanduser()
        where = str(p)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PropagationConfigError(f"propagation config {p} does not exist") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PropagationConfigError(f"propagation config {p} cannot be read: {exc}") from exc
    if engine is not None:
        data = {**data, "engine": engine}
    return parse_propagation_config(data, where)
