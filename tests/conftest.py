"""Shared fixtures. ``device`` runs a test on every device present: the CPU, and CUDA when this
machine has it (the kernel, edit and recurrent tests take it). ``one_thread`` runs a module on
one torch thread (``pytestmark = pytest.mark.usefixtures("one_thread")``)."""

from __future__ import annotations

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """A device to build nets and data on (``cuda`` only where it is present)."""
    return torch.device(request.param)


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a module: GNN fits and trainings of tiny nets, for which extra
    threads only contend (several times slower on a shared, loaded machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def skip_unsupported(kernel: str, device: torch.device) -> None:
    """Skip a test of ``kernel`` on a device it does not run on (the fused kernel is CPU only)."""
    if kernel == "fused" and device.type != "cpu":
        pytest.skip("the fused C++ kernel runs on the CPU only")
