"""Run a schedule level by level with torch ops: forward and a hand-written backward.

Why one ``autograd.Function`` for the whole schedule instead of torch autograd per op: a level
reads the outputs of any earlier levels, and under autograd every write into a shared buffer
is a ``CopySlices`` node whose backward copies the whole buffer (O(levels · N · B)). Here the
forward keeps one node-major tensor ``[n_level, B]`` per level (a *chunk*; chunk 0 is ``x.T``),
and the backward walks the levels in reverse, allocating a chunk's gradient only when something
flows into it and skipping the inputs' gradient unless ``x`` needs one. A layered net thus does
exactly the work of ``torch.nn.Linear`` layers, and a sparse one only the work of its edges.

The backward is first-order only (``once_differentiable``): double backward raises.
"""

from __future__ import annotations

import warnings

import torch
from torch.autograd.function import once_differentiable

from ..schedule import LevelPlan, Schedule
from .fused import transpose

__all__ = ["run_levels"]

# torch warns once per process that CSR support is beta; the kernels are tested against the
# reference evaluator, so the warning tells a user nothing they can act on.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _base(chunks: list[torch.Tensor], lv: LevelPlan) -> torch.Tensor:
    """The chunks holding this level's sources (one chunk: a view; several: concatenated)."""
    if lv.c1 == lv.c2:
        return chunks[lv.c1]
    return torch.cat(chunks[lv.c1 : lv.c2 + 1])


def _sources(base: torch.Tensor, lv: LevelPlan, contiguous: bool) -> torch.Tensor:
    if lv.cols is None:
        X = base[lv.lo - lv.base : lv.hi - lv.base]
    else:
        X = base.index_select(0, lv.cols_local)
    return X.contiguous() if contiguous else X


def _dense_weight(w: torch.Tensor, lv: LevelPlan) -> torch.Tensor:
    n_dst = lv.stop - lv.start
    if lv.complete:
        return w.view(n_dst, -1)
    W = w.new_zeros(n_dst, lv.num_sources)
    W[lv.dst, lv.col] = w
    return W


def _csr(w: torch.Tensor, lv: LevelPlan) -> torch.Tensor:
    return torch.sparse_csr_tensor(
        lv.crow, lv.col, w, (lv.stop - lv.start, lv.num_sources), check_invariants=False
    )


def _bias_rows(b: torch.Tensor, batch: int) -> torch.Tensor:
    """A fresh ``[n, B]`` tensor of biases (never a view of ``b``: callers write into it)."""
    return b.new_empty(b.shape[0], batch).copy_(b[:, None])


def _forward_level(chunks, w, b, lv: LevelPlan, batch: int) -> torch.Tensor:
    """Pre-activations ``[n_dst, B]`` of one level."""
    if lv.kind == "bias":
        return _bias_rows(b, batch)
    X = _sources(_base(chunks, lv), lv, contiguous=lv.kind != "dense")
    if lv.kind == "dense":
        return torch.addmm(b[:, None], _dense_weight(w, lv), X)
    if lv.kind == "sparse":
        return (_csr(w, lv) @ X).add_(b[:, None])
    return _bias_rows(b, batch).index_add_(0, lv.dst, X.index_select(0, lv.col) * w[:, None])


def _backward_level(chunks, gZ, w, gw_out: torch.Tensor, lv: LevelPlan, need_src: bool):
    """Write the level's weight gradient into ``gw_out [E_l]``; return the sources' gradient.

    A complete dense block writes its ``gZ @ X.T`` straight into ``gw_out`` (no second copy of
    the largest gradient). Returns ``None`` when the sources need no gradient.
    """
    X = _sources(_base(chunks, lv), lv, contiguous=lv.kind != "dense")
    gX = None
    if lv.kind == "dense":
        if lv.complete:
            torch.mm(gZ, X.T, out=gw_out.view(lv.stop - lv.start, -1))
        else:
            gw_out.copy_((gZ @ X.T)[lv.dst, lv.col])
        if need_src:
            gX = _dense_weight(w, lv).T @ gZ
    elif lv.kind == "sparse":
        gw_out.copy_(torch.sparse.sampled_addmm(_csr(w, lv), gZ, X.T, beta=0.0).values())
        if need_src:
            wt = torch.sparse_csr_tensor(
                lv.crow_t, lv.col_t, w[lv.perm_t], (lv.num_sources, lv.stop - lv.start),
                check_invariants=False,
            )
            gX = wt @ gZ
    else:
        gZe = gZ.index_select(0, lv.dst)
        torch.sum(gZe * X.index_select(0, lv.col), 1, out=gw_out)
        if need_src:
            gX = X.new_zeros(X.shape).index_add_(0, lv.col, gZe * w[:, None])
    return gX


class _Grads:
    """Per-chunk gradient buffers, allocated on first use; a borrowed buffer is cloned on write."""

    def __init__(self, sched: Schedule, like: torch.Tensor):
        self.sched = sched
        self.like = like
        self.g: list[torch.Tensor | None] = [None] * len(sched.chunk_start)
        self.borrowed: set[int] = set()

    def get(self, c: int) -> torch.Tensor:
        g = self.g[c]
        if g is None:
            n = self.sched.chunk_stop[c] - self.sched.chunk_start[c]
            g = self.g[c] = self.like.new_zeros(n, self.like.shape[1])
        elif c in self.borrowed:
            g = self.g[c] = g.clone()
            self.borrowed.discard(c)
        return g

    def add(self, lv: LevelPlan, gX: torch.Tensor, need_x: bool) -> None:
        s = self.sched
        if lv.c1 == lv.c2:
            if lv.c1 == 0 and not need_x:
                return
            size = s.chunk_stop[lv.c1] - s.chunk_start[lv.c1]
            if self.g[lv.c1] is None and lv.cols is None and lv.lo == lv.base and lv.hi - lv.lo == size:
                self.g[lv.c1] = gX  # the first gradient of the whole chunk: take it as it is
                return
            g = self.get(lv.c1)
            if lv.cols is None:
                g[lv.lo - lv.base : lv.hi - lv.base] += gX
            else:
                g.index_add_(0, lv.cols_local, gX)
            return
        span = s.chunk_stop[lv.c2] - lv.base
        full = gX.new_zeros(span, gX.shape[1])
        if lv.cols is None:
            full[lv.lo - lv.base : lv.hi - lv.base] = gX
        else:
            full.index_copy_(0, lv.cols_local, gX)
        for c in range(lv.c1, lv.c2 + 1):
            a, z = s.chunk_start[c] - lv.base, s.chunk_stop[c] - lv.base
            if z > a and (c > 0 or need_x):
                self.get(c).add_(full[a:z])


class _LevelwiseRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, sched: Schedule):  # type: ignore[override]
        # x [B, n_in], w [E] and b [N] in schedule order.
        batch = x.shape[0]
        # CSR products and gathers want node-major rows; dense levels take x.T as a free view.
        xt = transpose(x) if sched.inputs_contiguous else x.T
        chunks: list[torch.Tensor] = [xt]
        zs: list[torch.Tensor | None] = [None]
        for lv in sched.levels:
            Z = _forward_level(chunks, w[lv.estart : lv.estop], b[lv.start : lv.stop], lv, batch)
            if len(lv.groups) <= 1:
                A = lv.groups[0][0].forward(Z) if lv.groups else Z
            else:
                A = torch.cat([act.forward(Z[s:e]) for act, s, e in lv.groups])
            chunks.append(A)
            zs.append(Z if any(act.needs_z for act, _, _ in lv.groups) else None)
        if sched.out_chunk is not None:
            A = chunks[sched.out_chunk]
            y = A.T if sched.out_local is None else A.index_select(0, sched.out_local).T
        else:
            y = torch.cat(chunks[1:]).index_select(0, sched.out_pos - sched.num_inputs).T
        y = y.contiguous()  # row-major [B, n_out], what losses expect ...
        if y._is_view():  # ... and never a view of a saved tensor
            y = y.clone()
        ctx.sched = sched
        ctx.n_chunks = len(chunks)
        ctx.z_at = [i for i, z in enumerate(zs) if z is not None]
        # Save x itself when xt is only a view of it (autograd forbids saving such views).
        ctx.xt_is_view = xt._is_view()
        ctx.save_for_backward(w, x if ctx.xt_is_view else xt, *chunks[1:],
                              *(zs[i] for i in ctx.z_at))
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):  # type: ignore[override]
        sched: Schedule = ctx.sched
        saved = ctx.saved_tensors
        w, xt = saved[0], saved[1]
        if ctx.xt_is_view:
            xt = xt.T
        chunks = [xt, *saved[2 : 1 + ctx.n_chunks]]
        zs: list = [None] * ctx.n_chunks
        for i, z in zip(ctx.z_at, saved[1 + ctx.n_chunks :]):
            zs[i] = z
        need_x = ctx.needs_input_grad[0]
        grads = _Grads(sched, chunks[-1])
        gyt = gy.T
        if sched.out_chunk is not None:
            if sched.out_local is None:
                grads.g[sched.out_chunk] = gyt
                grads.borrowed.add(sched.out_chunk)
            else:
                grads.get(sched.out_chunk).index_add_(0, sched.out_local, gyt)
        else:
            for c, (idx, cols) in sched.out_split.items():
                grads.get(c).index_add_(0, idx, gyt.index_select(0, cols))
        gw = torch.empty_like(w)  # every edge belongs to one level, which fills its slice
        gb = w.new_zeros(sched.num_nodes)
        for k in range(len(sched.levels) - 1, -1, -1):
            lv = sched.levels[k]
            gA = grads.g[k + 1]
            if gA is None:  # nothing downstream depends on this level
                gw[lv.estart : lv.estop] = 0
                continue
            A, Z = chunks[k + 1], zs[k + 1]
            if len(lv.groups) <= 1:
                gZ = lv.groups[0][0].backward(gA, Z if Z is not None else A, A) if lv.groups else gA
            else:
                gZ = torch.cat([
                    act.backward(gA[s:e], (Z if Z is not None else A)[s:e], A[s:e])
                    for act, s, e in lv.groups
                ])
            gb[lv.start : lv.stop] = gZ.sum(1)
            if lv.kind == "bias":
                continue
            need_src = need_x or lv.hi > sched.num_inputs
            gX = _backward_level(
                chunks, gZ, w[lv.estart : lv.estop], gw[lv.estart : lv.estop], lv, need_src
            )
            if gX is not None:
                grads.add(lv, gX, need_x)
        gx = None
        if need_x:
            g0 = grads.g[0]
            gx = g0.T if g0 is not None else torch.zeros_like(xt.T)
        return gx, gw, gb, None


def run_levels(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Evaluate ``sched`` on ``x [B, n_in]`` with weights ``w`` and biases ``b`` in schedule order."""
    return _LevelwiseRun.apply(x, w, b, sched)
