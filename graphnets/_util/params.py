"""Replace a Parameter's values in place of its object, safely for autograd."""

from __future__ import annotations

import torch

__all__ = ["replace_data"]


def replace_data(param: torch.Tensor, new: torch.Tensor) -> None:
    """``param.data = new``, also when ``new`` has another shape and old graphs are alive.

    Autograd caches a parameter's gradient accumulator, with the shape it had when first used,
    for as long as any graph that used it is alive (a ``loss`` kept in a variable). Assigning
    data of another shape keeps that stale accumulator, and the next backward fails with
    "returned an invalid gradient ... expected shape compatible with [old]". torch resets the
    accumulator when the dtype changes, so the data passes through an empty tensor of another
    dtype first. The version counter is bumped, so a graph computed before the swap refuses to
    backpropagate (torch's "modified by an inplace operation" error) instead of using the new
    values with the old structure.
    """
    if new.shape != param.shape:
        other = torch.float32 if param.dtype != torch.float32 else torch.float64
        param.data = torch.empty(0, dtype=other, device=param.device)
    param.data = new
    torch.autograd.graph.increment_version(param)
