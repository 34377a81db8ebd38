"""Shared fixtures. ``device`` runs a test on every device present: the CPU, and CUDA when this
machine has it (the kernel, edit and recurrent tests take it)."""

from __future__ import annotations

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """A device to build nets and data on (``cuda`` only where it is present)."""
    return torch.device(request.param)


def skip_unsupported(kernel: str, device: torch.device) -> None:
    """Skip a test of ``kernel`` on a device it does not run on (the fused kernel is CPU only)."""
    if kernel == "fused" and device.type != "cpu":
        pytest.skip("the fused C++ kernel runs on the CPU only")
