"""Run a schedule level by level with torch ops: forward and a hand-written backward.

Why one ``autograd.Function`` for the whole schedule instead of torch autograd per op: a level
reads the outputs of any earlier levels, and under autograd every write into a shared buffer
is a ``CopySlices`` node whose backward copies the whole buffer (O(levels · N · B)). Here the
forward runs without autograd and writes each level's activations straight into one node-major
buffer ``H [N - n_in, B]`` of the computed nodes (the inputs stay in ``x.T``), so a level reads
its sources as a slice or a gather of ``H`` whatever the number of levels; the backward walks
the levels in reverse with a gradient buffer of the same shape, and skips the inputs' gradient
unless ``x`` needs one. A layered net does the work of its ``torch.nn.Linear`` layers, and a
sparse one only the work of its edges.

The backward is written by hand; asked for a differentiable gradient (``create_graph=True``)
it hands over to :func:`graphnets.kernels.replay.differentiable_grads`, so double backward works.
"""

from __future__ import annotations

import warnings
from typing import cast

import torch

from ..core.schedule import LevelPlan, Schedule
from . import fused as _fused
from .fused import keep, scratch, transpose
from .replay import differentiable_grads

__all__ = ["run_levels"]

# torch warns once per process that CSR support is beta; the kernels are tested against the
# reference evaluator, so the warning tells a user nothing they can act on.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _t(t: torch.Tensor | None) -> torch.Tensor:
    """A plan tensor the level's kind guarantees to be set (a cast for the type checker)."""
    return cast(torch.Tensor, t)


def _part(rows: torch.Tensor, part) -> torch.Tensor:
    return rows[part[0] : part[1]] if isinstance(part, tuple) else rows.index_select(0, part)


def _sources(xt: torch.Tensor, H: torch.Tensor, lv: LevelPlan, contiguous: bool) -> torch.Tensor:
    """The level's source rows: inputs first, then computed nodes, in position order."""
    parts = []
    if lv.src_in is not None:
        parts.append(_part(xt, lv.src_in))
    if lv.src_h is not None:
        parts.append(_part(H, lv.src_h))
    X = parts[0] if len(parts) == 1 else torch.cat(parts)
    return X.contiguous() if contiguous else X


def _add_part(rows: torch.Tensor, part, g: torch.Tensor) -> None:
    if isinstance(part, tuple):
        rows[part[0] : part[1]] += g
    else:
        rows.index_add_(0, part, g)


def _part_size(part) -> int:
    return part[1] - part[0] if isinstance(part, tuple) else int(part.numel())


def _dense_weight(w: torch.Tensor, lv: LevelPlan, sched: Schedule) -> torch.Tensor:
    """The level's ``[n_dst, n_sources]`` block: a view when complete, else zeros with the edge
    weights written in at their flat positions (one 1-D ``index_copy_``).

    The block of an incomplete level is the schedule's scratch buffer, handed back with
    :func:`_release` once the product is taken: its missing edges' zeros never change, so a
    reused block only needs the weights written in again, no new zeroed memory per step.
    """
    n_dst = lv.stop - lv.start
    if lv.complete:
        return w.view(n_dst, -1)
    W = sched.workspace.pop(f"W{lv.start}", None) if w.device.type == "cpu" else None
    if W is None or W._use_count() != 1 or W.dtype != w.dtype:
        W = w.new_zeros(n_dst * lv.num_sources)
    W.index_copy_(0, _t(lv.flat), w)
    return W.view(n_dst, -1)


def _release(W: torch.Tensor, lv: LevelPlan, sched: Schedule) -> None:
    """Hand an incomplete level's block (from :func:`_dense_weight`) back to the schedule."""
    if not lv.complete:
        keep(sched, f"W{lv.start}", W.view(-1))


def _cpp(lv: LevelPlan, w: torch.Tensor):
    """The C++ module when this sparse level runs on its CSR kernels (CPU, float32/64), else
    ``None`` (torch's CSR products)."""
    return _fused.extension() if lv.cpp and _cpp_ok(w) else None


def _cpp_ok(w: torch.Tensor) -> bool:
    return w.device.type == "cpu" and w.dtype in (torch.float32, torch.float64)


def _csr(w: torch.Tensor, lv: LevelPlan) -> torch.Tensor:
    return torch.sparse_csr_tensor(
        _t(_t(lv.crow)),
        _t(_t(lv.col)),
        w,
        (lv.stop - lv.start, lv.num_sources),
        check_invariants=False,
    )


def _leaked(dense: torch.Tensor, lv: LevelPlan) -> bool:
    """Whether a dense product of an incomplete block may hold a NaN that no edge carries.

    The zeros of a missing edge turn an infinite or NaN source into ``0 · inf = NaN`` for every
    destination of the level, where the semantics (and the other kernels) add nothing. Such a
    NaN only ever adds NaNs, so a result without one is exact; one with a NaN is recomputed
    edge by edge (a rare path: it needs a non-finite value). On CUDA the test synchronises.
    """
    # one reduction instead of isnan().any()'s mask: a NaN anywhere makes the sum NaN (so does
    # +inf + -inf, a false alarm that only costs the exact recomputation)
    return not lv.complete and bool(dense.sum().isnan())


def _scatter_forward(X, out, w, b, lv: LevelPlan) -> None:
    out.copy_(b[:, None])
    out.index_add_(0, _t(lv.dst), X.index_select(0, _t(lv.col)) * w[:, None])


def _scatter_sources_grad(X, gZe, w, lv: LevelPlan) -> torch.Tensor:
    """The sources' gradient edge by edge, from ``gZe``, the destinations' gradient per edge."""
    return X.new_zeros(X.shape).index_add_(0, _t(lv.col), gZe * w[:, None])


def _forward_level(xt, H, out, w, b, lv: LevelPlan, sched: Schedule) -> None:
    """Write the level's pre-activations ``[n_dst, B]`` into ``out`` (its rows of ``H``)."""
    if lv.kind == "bias":
        out.copy_(b[:, None])
        return
    X = _sources(xt, H, lv, contiguous=lv.kind != "dense")
    if lv.kind == "dense":
        W = _dense_weight(w, lv, sched)
        torch.addmm(b[:, None], W, X, out=out)
        _release(W, lv, sched)
        if _leaked(out, lv):
            _scatter_forward(X, out, w, b, lv)
    elif lv.kind == "sparse":
        cpp = _cpp(lv, w)
        if cpp is not None:
            cpp.csr_spmm(_t(lv.crow), _t(lv.col), w, None, X, out, b)
        else:
            torch.add(_csr(w, lv) @ X, b[:, None], out=out)
    else:
        _scatter_forward(X, out, w, b, lv)


def _backward_level(
    xt, H, gZ, w, gw_out: torch.Tensor, lv: LevelPlan, need_src: bool, sched: Schedule
):
    """Write the level's weight gradient into ``gw_out [E_l]``; return the sources' gradient.

    A complete dense block writes its ``gZ @ X.T`` straight into ``gw_out`` (no second copy of
    the largest gradient). Returns ``None`` when the sources need no gradient.
    """
    X = _sources(xt, H, lv, contiguous=lv.kind != "dense")
    gX = None
    if lv.kind == "dense":
        if lv.complete:
            torch.mm(gZ, X.T, out=gw_out.view(lv.stop - lv.start, -1))
        else:
            torch.index_select((gZ @ X.T).view(-1), 0, _t(lv.flat), out=gw_out)
        if need_src:
            W = _dense_weight(w, lv, sched)
            gX = W.T @ gZ
            _release(W, lv, sched)
            if _leaked(gX, lv):
                gX = _scatter_sources_grad(X, gZ.index_select(0, _t(lv.dst)), w, lv)
    elif lv.kind == "sparse" and _cpp(lv, w) is not None:
        cpp = _cpp(lv, w)
        gZ = gZ.contiguous()
        if lv.sddmm_order is not None:
            cpp.sddmm_ordered(lv.sddmm_order, _t(lv.dst), _t(lv.col), gZ, X, gw_out)
        else:
            cpp.csr_sddmm(_t(lv.crow), _t(lv.col), gZ, X, gw_out)
        if need_src:
            gX = X.new_empty(X.shape)
            cpp.csr_spmm(_t(lv.crow_t), _t(lv.col_t), w, _t(lv.perm_t), gZ, gX, None)
    elif lv.kind == "sparse":
        gw_out.copy_(torch.sparse.sampled_addmm(_csr(w, lv), gZ, X.T, beta=0.0).values())
        if need_src:
            wt = torch.sparse_csr_tensor(
                _t(_t(lv.crow_t)),
                _t(_t(lv.col_t)),
                w[_t(_t(lv.perm_t))],
                (lv.num_sources, lv.stop - lv.start),
                check_invariants=False,
            )
            gX = wt @ gZ
    else:
        gZe = gZ.index_select(0, _t(lv.dst))
        torch.sum(gZe * X.index_select(0, _t(lv.col)), 1, out=gw_out)
        if need_src:
            gX = _scatter_sources_grad(X, gZe, w, lv)
    return gX


def _replayed(ctx, gy: torch.Tensor, sched: Schedule) -> tuple:
    """A level-wise backward's gradients as a graph (``create_graph=True``), from the ``x``,
    ``w`` and ``b`` its forward saved first: the replay of :mod:`graphnets.kernels.replay`."""
    x, w, b = ctx.saved_tensors[:3]
    needs = tuple(ctx.needs_input_grad[:3])
    return (*differentiable_grads(x, w, b, gy, sched, needs, net_order=False), None)


class _LevelwiseRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, sched: Schedule):
        # x [B, n_in], w [E] and b [N] in schedule order.
        n_in = sched.num_inputs
        # CSR products and gathers want node-major rows; dense levels take x.T as a free view.
        # the node-major copy and H are scratch buffers reused from the last call when free
        xt = (
            transpose(x, scratch(sched, "xt", x, x.shape[1], x.shape[0]))
            if sched.inputs_contiguous
            else x.T
        )
        H = scratch(sched, "H", x, sched.num_nodes - n_in, x.shape[0])
        zs: list[torch.Tensor] = []  # z of the activation groups whose backward needs it
        for lv in sched.levels:
            out = H[lv.start - n_in : lv.stop - n_in]
            _forward_level(xt, H, out, w[lv.estart : lv.estop], b[lv.start : lv.stop], lv, sched)
            for act, s, e in lv.groups:
                if act.needs_z:
                    zs.append(out[s:e].clone())
                act.forward_(out[s:e])
        y = H.index_select(0, sched.out_pos - n_in).T.contiguous()
        keep(sched, "H", H)
        if sched.inputs_contiguous:
            keep(sched, "xt", xt)
        ctx.sched = sched
        # x, w and b for a double backward (inputs: saving them copies nothing); xt too when it
        # is a copy of x, not a view of it (autograd forbids saving such views).
        ctx.xt_is_view = xt._is_view()
        ctx.save_for_backward(x, w, b, H, *([] if ctx.xt_is_view else [xt]), *zs)
        return y

    @staticmethod
    def backward(ctx, gy):
        sched: Schedule = ctx.sched
        if torch.is_grad_enabled():  # create_graph=True: a gradient autograd can differentiate
            return _replayed(ctx, gy, sched)
        n_in = sched.num_inputs
        x, w, _, H, *zs = ctx.saved_tensors
        xt = x.T if ctx.xt_is_view else zs.pop(0)
        need_x = ctx.needs_input_grad[0]
        G = scratch(sched, "G", H, *H.shape).zero_()
        G.index_add_(0, sched.out_pos - n_in, gy.T)
        gxt = xt.new_zeros(xt.shape) if need_x else None
        gw = torch.empty_like(w)  # every edge belongs to one level, which fills its slice
        gb = w.new_zeros(sched.num_nodes)
        z_iter = iter(reversed(zs))
        for lv in reversed(sched.levels):
            rows = slice(lv.start - n_in, lv.stop - n_in)
            gA, A = G[rows], H[rows]
            gZ = gA.clone() if len(lv.groups) != 1 else None
            for act, s, e in reversed(lv.groups):
                z = next(z_iter) if act.needs_z else A[s:e]
                g = act.backward(gA[s:e], z, A[s:e])
                if gZ is None:
                    gZ = g
                else:
                    gZ[s:e] = g
            if gZ is None:
                gZ = gA
            if lv.dead is not None:  # no path to an output: autograd would never reach them,
                gZ.index_fill_(0, lv.dead, 0)  # even where act'(z) is NaN (0 · NaN)
            gb[lv.start : lv.stop] = gZ.sum(1)
            if lv.kind == "bias":
                continue
            need_src = need_x or lv.hi > n_in
            gX = _backward_level(
                xt, H, gZ, w[lv.estart : lv.estop], gw[lv.estart : lv.estop], lv, need_src, sched
            )
            if lv.dead_edges is not None:  # 0, not 0 · (an infinite source)
                gw[lv.estart : lv.estop].index_fill_(0, lv.dead_edges, 0)
            if gX is None:
                continue
            k = 0
            if lv.src_in is not None:
                k = _part_size(lv.src_in)
                if gxt is not None:
                    _add_part(gxt, lv.src_in, gX[:k])
            if lv.src_h is not None:
                _add_part(G, lv.src_h, gX[k:])
        keep(sched, "G", G)
        return (None if gxt is None else gxt.T), gw, gb, None


class _DenseChain(torch.autograd.Function):
    """A chain of complete dense layers (:func:`graphnets.kernels.planner.dense_chain`: an MLP)
    batch-major, as ``nn.Sequential`` runs it: per layer one ``addmm`` and the activation, and
    back one product for the weight gradient, one for the sources' and a sum for the bias.
    The general path's node-major buffers cost a dense net its Python and copies per level:
    ~0.15 ms a step on the 784-300-100-10 net, 4-9% of it (``benchmarks/bench_prune_speed.py``).
    """

    @staticmethod
    def forward(ctx, x, w, b, sched: Schedule):
        layers = [lv for lv in sched.levels if lv.stop > lv.start]
        h, saved = x, []
        for lv in layers:
            W = w[lv.estart : lv.estop].view(lv.stop - lv.start, -1)
            z = torch.addmm(b[lv.start : lv.stop], h, W.T)
            act = lv.groups[0][0]
            if act.needs_z:  # the backward reads z: keep it, the activation out of place
                saved.append(z)
                h = act.forward(z)
            else:
                h = act.forward_(z)
            saved.append(h)
        ctx.sched, ctx.layers = sched, layers
        ctx.save_for_backward(x, w, b, *saved)
        return h

    @staticmethod
    def backward(ctx, gy):
        sched: Schedule = ctx.sched
        if torch.is_grad_enabled():  # create_graph=True: a gradient autograd can differentiate
            return _replayed(ctx, gy, sched)
        x, w, _, *saved = ctx.saved_tensors
        layers = ctx.layers
        gw = torch.empty_like(w)  # every edge belongs to one layer, which fills its slice
        gb = w.new_zeros(sched.num_nodes)  # the inputs' entries stay 0
        g, gx = gy, None
        for k in range(len(layers) - 1, -1, -1):
            lv = layers[k]
            act = lv.groups[0][0]
            a = saved.pop()
            z = saved.pop() if act.needs_z else a
            g = act.backward(g, z, a)
            src = (saved[-1] if saved else x) if k else x
            n_dst = lv.stop - lv.start
            torch.mm(g.T, src, out=gw[lv.estart : lv.estop].view(n_dst, -1))
            torch.sum(g, 0, out=gb[lv.start : lv.stop])
            if k or ctx.needs_input_grad[0]:
                g = g @ w[lv.estart : lv.estop].view(n_dst, -1)
                if not k:
                    gx = g
        return gx, gw, gb, None


def run_levels(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Evaluate ``sched`` on ``x [B, n_in]``; weights ``w`` and biases ``b`` in schedule order."""
    if sched.dense_chain:
        return _DenseChain.apply(x, w, b, sched)
    return _LevelwiseRun.apply(x, w, b, sched)
