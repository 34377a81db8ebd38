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


def run(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, sched: Schedule
        ) -> torch.Tensor:
    """Evaluate ``sched`` on ``x [B, n_in]``; ``weight [E]`` and ``bias [N]`` in the net's order."""
    if sched.fused is not None:
        return run_fused(x, weight, bias, sched)
    w = weight if sched.edge_order is None else weight[sched.edge_order]
    b = bias if sched.node_identity else bias[sched.order]
    return run_levels(x, w, b, sched)
