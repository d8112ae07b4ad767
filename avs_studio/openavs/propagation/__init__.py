"""avs_studio.openavs.propagation: carry reviewed masks to the frames around them (see docs/CONTRACTS.md).

Engines (registry PROPAGATORS): `flow` (OpenCV optical flow, CPU, no weights), `sam2` / `sam3` (the SAM 2.1
and SAM 3 video trackers of transformers, streamed with a trimmed memory). Like the rest of openavs this
package knows nothing of the database: it takes frames and masks and returns masks.
"""

from __future__ import annotations

import importlib
from typing import Any

from avs_studio.openavs.propagation.base import (
    DEFAULT_ENGINE,
    ENGINE_PREFIX,
    PROPAGATORS,
    PropagationConfig,
    PropagationConfigError,
    Propagator,
    Track,
    load_propagation_config,
    parse_propagation_config,
    register_propagator,
)
from avs_studio.openavs.propagation.segment import (
    Cancelled,
    FrameResult,
    Segment,
    VideoFrames,
    plan_segments,
    run_segment,
)

# engine name -> module that registers it (imported when the engine is first built)
ENGINE_MODULES = {
    "flow": "avs_studio.openavs.propagation.flow",
    "sam2": "avs_studio.openavs.propagation.sam_video",
    "sam3": "avs_studio.openavs.propagation.sam_video",
}


def engine_names() -> list[str]:
    return sorted(set(ENGINE_MODULES) | set(PROPAGATORS.names()))


def create_engine(name: str, device: str = "auto", **params: Any) -> Propagator:
    """Build the engine ``name`` with its factory parameters ("tiny:FAMILY" paths resolved)."""
    module = ENGINE_MODULES.get(name)
    if name not in PROPAGATORS and module is not None:
        importlib.import_module(module)
    if any(isinstance(v, str) and v.startswith("tiny:") for v in params.values()):
        from avs_studio.openavs.config import resolve_tiny
        from avs_studio.openavs.propagation import models  # noqa: F401  (registers the tiny video families)

        params = resolve_tiny(params)
    return PROPAGATORS.create(name, device=device, **params)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINE_MODULES",
    "ENGINE_PREFIX",
    "PROPAGATORS",
    "Cancelled",
    "FrameResult",
    "PropagationConfig",
    "PropagationConfigError",
    "Propagator",
    "Segment",
    "Track",
    "VideoFrames",
    "create_engine",
    "engine_names",
    "load_propagation_config",
    "parse_propagation_config",
    "plan_segments",
    "register_propagator",
    "run_segment",
]
