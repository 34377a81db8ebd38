"""Kernels that run a compiled :class:`~graphnets.schedule.Schedule`.

``levelwise`` runs level by level with torch ops (dense / sparse / scatter per level, any
device); ``fused`` runs the whole graph in one C++ call (CPU).
"""

from __future__ import annotations

import torch

from ..schedule import Schedule
from .fused import run_fused
from .levelwise import run_levels

__all__ = ["run"]


def run(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Evaluate ``sched`` on ``x [B, n_in]``; ``w [E]`` and ``b [N]`` in schedule order."""
    if sched.fused is not None:
        return run_fused(x, w, b, sched)
    return run_levels(x, w, b, sched)
