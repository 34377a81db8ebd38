"""Kernels that run a compiled :class:`~graphnets.core.schedule.Schedule`, and the planner that
chooses between them.

``levelwise`` runs level by level with torch ops (dense / sparse / scatter per level, any
device); ``fused`` runs the whole graph in one C++ call (CPU); :mod:`~graphnets.kernels.planner`
compiles a structure into a schedule, choosing per level by a cost model; ``trace`` evaluates a
net node by node with autograd, exposing every pre-activation to the methods that need them;
``replay`` evaluates a schedule again under autograd for a double backward; ``reference`` is the
slow, obviously right per-neuron evaluator the tests compare against.
"""

from __future__ import annotations

import torch

from ..core.schedule import Schedule
from .fused import run_fused
from .levelwise import run_levels
from .planner import (
    FUSED_DTYPES,
    KERNELS,
    SPARSE_DTYPES,
    check_kernel,
    compile_schedule,
    predicted_costs,
    restrict_schedule,
)

__all__ = [
    "run",
    "KERNELS",
    "FUSED_DTYPES",
    "SPARSE_DTYPES",
    "check_kernel",
    "compile_schedule",
    "restrict_schedule",
    "predicted_costs",
]


def run(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Evaluate ``sched`` on ``x [B, n_in]``; ``weight [E]`` and ``bias [N]`` in the net's order."""
    if sched.fused is not None:
        return run_fused(x, weight, bias, sched)
    w = weight if sched.edge_order is None else weight[sched.edge_order]
    b = bias if sched.node_identity else bias[sched.order]
    return run_levels(x, w, b, sched)
