"""Device and precision choice for the model-backed stages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


class DeviceError(ValueError):
    pass


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """ "auto" -> first CUDA device if there is one, else CPU; "cpu", "cuda", "cuda:N" as given."""
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f'device {device!r} asked for, but CUDA is not available; use device = "cpu" or "auto"'
            )
        dev = torch.device("cuda:0" if name == "cuda" else name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        return dev
    raise DeviceError(f'unknown device {device!r}; use "auto", "cpu", "cuda" or "cuda:N"')


def compute_dtype(device: torch.device) -> torch.dtype:
    """bf16 on CUDA (under autocast), fp32 on CPU."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """Inference mode plus bf16 autocast on CUDA; plain fp32 inference on CPU."""
    with torch.inference_mode():
        if device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                yield
        else:
            yield
