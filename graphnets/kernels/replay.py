"""The kernels' double backward: a schedule replayed with plain torch ops under autograd.

The backward passes of :mod:`~graphnets.kernels.levelwise` and :mod:`~graphnets.kernels.fused`
are written by hand, so autograd cannot differentiate them. When a gradient is asked to be
differentiable itself (``torch.autograd.grad(..., create_graph=True)``: a gradient penalty, a
Hessian-vector product), their backward calls :func:`differentiable_grads` instead: it evaluates
the schedule again with torch ops that autograd records, and returns the gradient of that
evaluation, which autograd can differentiate as often as asked. The result equals the
first-order gradient (the tests compare both with the per-neuron reference evaluator) and costs
one more forward pass at the speed of torch's own ops.

A level reads its sources block by block (the inputs, then one block per earlier level): no
buffer is written in place, and no level copies the levels before it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.schedule import Schedule

__all__ = ["replay", "differentiable_grads"]


def replay(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """``y [B, n_out]`` of ``sched`` on ``x [B, n_in]``, recorded by autograd.

    ``w [E]`` and ``b [N]`` are in schedule order (``weight[sched.edge_order]``,
    ``bias[sched.order]``).
    """
    n_in, B = sched.num_inputs, x.shape[0]
    # Blocks of rows by position: the inputs, then every non-empty level.
    levels = [lv for lv in sched.levels if lv.stop > lv.start]
    stops = np.array([n_in] + [lv.stop for lv in levels])
    blocks = [x.T]
    src_pos = sched.src_pos.cpu().numpy()
    dev = x.device
    for lv in levels:
        z = b[lv.start : lv.stop, None].expand(-1, B)
        if lv.estop > lv.estart:
            sp = src_pos[lv.estart : lv.estop]
            dst = sched.dst_pos[lv.estart : lv.estop] - lv.start
            blk = np.searchsorted(stops, sp, side="right")  # the block of every source
            for k in np.unique(blk).tolist():
                sel = np.flatnonzero(blk == k)
                lo = 0 if k == 0 else int(stops[k - 1])
                rows = torch.from_numpy(sp[sel] - lo).to(dev)
                ids = torch.from_numpy(sel).to(dev)
                msg = blocks[k].index_select(0, rows) * w[lv.estart + ids, None]
                z = z.index_add(0, dst[ids], msg)
        a = [act.forward(z[s:e]) for act, s, e in lv.groups]
        blocks.append(a[0] if len(a) == 1 else torch.cat(a))
    return torch.cat(blocks).index_select(0, sched.out_pos).T


def differentiable_grads(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    gy: torch.Tensor,
    sched: Schedule,
    needs: tuple[bool, bool, bool],
    net_order: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """The gradients of ``(y · gy).sum()`` w.r.t. ``x``, ``weight`` and ``bias``, as a graph.

    Called from a kernel's backward under ``create_graph=True`` with the tensors the kernel saved;
    ``needs`` says which of the three want a gradient (``ctx.needs_input_grad``), ``net_order``
    whether ``weight`` and ``bias`` are in the net's order (the fused kernel) or already in
    schedule order (the level-wise kernels).
    """
    inputs = [t for t, need in zip((x, weight, bias), needs, strict=True) if need]
    with torch.enable_grad():
        w, b = weight, bias
        if net_order:
            w = w if sched.edge_order is None else w[sched.edge_order]
            b = b if sched.node_identity else b[sched.order]
        y = replay(x, w, b, sched)
        grads = iter(torch.autograd.grad(y, inputs, gy, create_graph=True, allow_unused=True))
    out = [next(grads) if need else None for need in needs]
    # An input that reaches no output gets zeros, as from the first-order kernels.
    for i, (t, need) in enumerate(zip((x, weight, bias), needs, strict=True)):
        if need and out[i] is None:
            out[i] = torch.zeros_like(t)
    return out[0], out[1], out[2]
