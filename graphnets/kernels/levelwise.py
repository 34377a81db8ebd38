"""Run a schedule level by level with torch ops: forward and a hand-written backward.

Why one ``autograd.Function`` for the whole schedule instead of torch autograd per op: the
activations live in one node-major buffer ``H [N, B]`` written slice by slice. Under autograd
every slice write is a ``CopySlices`` node whose backward copies the whole buffer, so a deep
graph would cost O(levels · N · B). Here the forward runs without building a graph and the
backward walks the levels in reverse with a gradient buffer ``G [N, B]``, doing for each level
exactly the products that level needs.

The backward is first-order only (``once_differentiable``): double backward raises.
"""

from __future__ import annotations

import warnings

import torch
from torch.autograd.function import once_differentiable

from ..schedule import LevelPlan, Schedule

__all__ = ["run_levels"]

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def _sources(H: torch.Tensor, lv: LevelPlan) -> torch.Tensor:
    return H[lv.lo : lv.hi] if lv.cols is None else H.index_select(0, lv.cols)


def _dense_weight(w: torch.Tensor, lv: LevelPlan) -> torch.Tensor:
    n_dst = lv.stop - lv.start
    if lv.complete:
        return w.view(n_dst, -1)
    W = w.new_zeros(n_dst, lv.num_sources)
    W[lv.dst, lv.col] = w
    return W


def _csr(w: torch.Tensor, lv: LevelPlan) -> torch.Tensor:
    return torch.sparse_csr_tensor(lv.crow, lv.col, w, (lv.stop - lv.start, lv.num_sources))


def _forward_level(H, w, b, lv: LevelPlan) -> torch.Tensor:
    """Pre-activations ``[n_dst, B]`` of one level."""
    n_dst = lv.stop - lv.start
    if lv.kind == "bias":
        return b[:, None].expand(n_dst, H.shape[1]).clone()
    X = _sources(H, lv)
    if lv.kind == "dense":
        return torch.addmm(b[:, None], _dense_weight(w, lv), X)
    if lv.kind == "sparse":
        return (_csr(w, lv) @ X).add_(b[:, None])
    Z = b[:, None].expand(n_dst, H.shape[1]).clone()
    return Z.index_add_(0, lv.dst, X.index_select(0, lv.col) * w[:, None])


def _backward_level(H, G, gZ, w, lv: LevelPlan, need_src: bool) -> torch.Tensor:
    """Weight gradient ``[E_l]`` of one level; adds the sources' gradient into ``G``."""
    X = _sources(H, lv)
    if lv.kind == "dense":
        W = _dense_weight(w, lv)
        gW = gZ @ X.T
        gw = gW.reshape(-1) if lv.complete else gW[lv.dst, lv.col]
        if need_src:
            gX = W.T @ gZ
    elif lv.kind == "sparse":
        mask = _csr(w, lv)
        gw = torch.sparse.sampled_addmm(mask, gZ, X.T, beta=0.0).values()
        if need_src:
            wt = torch.sparse_csr_tensor(
                lv.crow_t, lv.col_t, w[lv.perm_t], (lv.num_sources, lv.stop - lv.start)
            )
            gX = wt @ gZ
    else:
        gZe = gZ.index_select(0, lv.dst)
        gw = (gZe * X.index_select(0, lv.col)).sum(1)
        if need_src:
            gX = torch.zeros_like(X).index_add_(0, lv.col, gZe * w[:, None])
    if need_src:
        if lv.cols is None:
            G[lv.lo : lv.hi] += gX
        else:
            G.index_add_(0, lv.cols, gX)
    return gw


class _LevelwiseRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, sched: Schedule):  # type: ignore[override]
        # x [B, n_in], w [E] and b [N] in schedule order.
        n_in = sched.num_inputs
        H = x.new_empty(sched.num_nodes, x.shape[0])
        H[:n_in] = x.T
        saved_z: dict[int, torch.Tensor] = {}
        for lv in sched.levels:
            Z = _forward_level(H, w[lv.estart : lv.estop], b[lv.start : lv.stop], lv)
            for act, s, e in lv.groups:
                out = H[lv.start + s : lv.start + e]
                if act.is_identity:
                    out.copy_(Z[s:e])
                    continue
                if act.name not in ("relu", "tanh", "sigmoid"):  # backward needs z
                    saved_z[lv.start + s] = Z[s:e]
                out.copy_(act.forward(Z[s:e]))
        y = H.index_select(0, sched.out_pos).T
        ctx.sched = sched
        ctx.saved_z = saved_z
        ctx.save_for_backward(H, w)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):  # type: ignore[override]
        sched: Schedule = ctx.sched
        H, w = ctx.saved_tensors
        need_x = ctx.needs_input_grad[0]
        n_in = sched.num_inputs
        G = torch.zeros_like(H)
        G.index_put_((sched.out_pos,), gy.T, accumulate=True)
        gw = torch.zeros_like(w)
        gb = torch.zeros(H.shape[0], dtype=H.dtype, device=H.device)
        for lv in reversed(sched.levels):
            gA = G[lv.start : lv.stop]
            gZ = torch.empty_like(gA)
            for act, s, e in lv.groups:
                a = H[lv.start + s : lv.start + e]
                z = ctx.saved_z.get(lv.start + s, a)
                gZ[s:e] = act.backward(gA[s:e], z, a)
            gb[lv.start : lv.stop] = gZ.sum(1)
            if lv.kind == "bias":
                continue
            # Sources below n_in are inputs: skip their gradient unless x asked for one.
            need_src = need_x or lv.hi > n_in
            gw[lv.estart : lv.estop] = _backward_level(
                H, G, gZ, w[lv.estart : lv.estop], lv, need_src
            )
        gx = G[:n_in].T if need_x else None
        return gx, gw, gb, None


def run_levels(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Evaluate ``sched`` on ``x [B, n_in]`` with weights ``w`` and biases ``b`` in schedule order."""
    return _LevelwiseRun.apply(x, w, b, sched)
