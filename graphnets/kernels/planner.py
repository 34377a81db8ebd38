"""Compile a structure into a :class:`~graphnets.core.schedule.Schedule`: which kernel runs
each level, chosen by a cost model that lives here, next to the kernels it chooses between.

Every level picks one kernel:

``dense``
    the level's weights scattered into a ``[n_dst, n_src]`` block (a free view when the block is
    complete and already in order, as in an MLP), one ``addmm``;
``sparse``
    a CSR matrix times the sources: on CPU in float32/float64 the C++ kernels ``csr_spmm`` /
    ``csr_sddmm`` of :mod:`graphnets.kernels.fused` (when built), elsewhere torch's CSR product,
    ``sampled_addmm`` for the weight gradient and a prebuilt transposed CSR for the source
    gradient;
``scatter``
    gather–multiply–``index_add_`` (the message passing of torch-geometric).

``fused`` runs the whole graph in one call of a small C++ kernel (:mod:`graphnets.kernels.fused`):
for deep, narrow graphs the per-level dispatch of the other kernels dominates.

``levelwise`` chooses per level: with the C++ CSR kernels, the cheaper of a dense block and CSR
by the predicted cost of each (so a pruned level never runs slower than its dense block), else
by density and size; ``auto`` does the same, except that it runs small graphs and deep narrow
graphs ``fused`` on CPU (when the C++ kernel is built). Both choose
only kernels that compute in the parameters' dtype on their device: ``sparse`` needs float32 or
float64 (torch's CSR products, :data:`SPARSE_DTYPES`), ``fused`` a CPU and float32 or float64
(:data:`FUSED_DTYPES`); ``dense`` and ``scatter`` run any floating dtype anywhere. The
thresholds come from ``benchmarks/bench_kernels.py`` run on 2 CPU cores (see
``docs/benchmarks.md``).
"""

from __future__ import annotations

import numpy as np
import torch

from .._util.checks import choice
from ..core.activations import Activation, parse_activation
from ..core.levels import reachable
from ..core.schedule import LevelPlan, Order, Schedule, is_range, node_order, restricted_order
from ..core.structure import Structure
from . import fused as _fused

__all__ = [
    "KERNELS",
    "FUSED_DTYPES",
    "SPARSE_DTYPES",
    "check_kernel",
    "compile_schedule",
    "restrict_schedule",
    "predicted_costs",
    "recompile_levels",
]

#: Kernels a schedule can be forced to use.
KERNELS: tuple[str, ...] = ("auto", "levelwise", "dense", "sparse", "scatter", "fused")

# Measured by benchmarks/bench_kernels.py on 2 cores, batch 256 (docs/benchmarks.md).
DENSE_MIN_DENSITY = 0.2  # torch kernels: a level this dense (over its distinct sources) runs dense
SCATTER_MAX_EDGES = 128  # torch kernels: below this many edges a level skips CSR and scatters
# With the C++ CSR kernels (CPU, float32/64) a level runs dense or sparse by predicted cost,
# per pass over a batch of 256 (forward, weight gradient, source gradient), measured on one
# core of the 2-core machine (benchmarks/bench_kernels.py --threads 1, docs/benchmarks.md):
DENSE_CELL_NS = 5.5  # BLAS: per cell of the [n_dst, n_sources] block, missing edges included
DENSE_SCATTER_NS = 1.0  # an incomplete block: writing each weight in, gathering its gradient
CSR_EDGE_NS = 8.5  # the C++ CSR kernels: per edge (csr_spmm ~7.5, the weight gradient ~7-9.5)
# The C++ weight gradient of a level at least this dense runs its edges by blocks of
# SDDMM_BLOCK destinations, then source, so the edges of a block that share a source row read
# it from L1 (at 1/4 a source has two edges in a block of 8 on average)
SDDMM_BLOCK = 8
SDDMM_BLOCK_MIN_DENSITY = 0.25
# auto runs the fused C++ kernel (when built) where it is predicted faster than the level-wise
# kernels. Costs of one training step (forward, cross-entropy, backward) at batch 256 on one
# core, fitted to 12 nets timed fused and level-wise interleaved (the pruned 784-300-100-10 nets
# of bench_prune_speed.py, dense MLPs of 4k-266k edges, small DAGs; docs/benchmarks.md):
FUSED_CALL_US = 140.0  # fused: a fixed cost per call ...
FUSED_EDGE_NS = 20.0  # ... plus this per edge between computed nodes ...
FUSED_INPUT_EDGE_NS = 19.5  # ... or this per edge from an input
LEVEL_US = 85.0  # level-wise: a cost per level (dispatch, Python) ...
DENSE_EDGE_NS = 14.0  # ... plus this per edge of a dense level (BLAS) ...
SPARSE_EDGE_NS = 36.0  # ... or of a sparse / scatter level (CSR, index_add_)
# A level-wise schedule that is a chain of complete dense layers (an MLP, :func:`dense_chain`)
# runs batch-major as nn.Sequential does, with less per level; fitted to 11 MLPs of 832-266k
# edges and 2-4 layers timed as chains (training steps, batch 256, one core, interleaved):
CHAIN_US = 60.0  # a fixed cost per step ...
CHAIN_LEVEL_US = 52.0  # ... plus this per layer ...
CHAIN_EDGE_NS = 11.0  # ... and this per edge (BLAS)


#: Parameter dtypes the fused C++ kernel computes in.
FUSED_DTYPES = (torch.float32, torch.float64)
#: Parameter dtypes the sparse kernel computes in (torch has no CSR product for half precision
#: on CPU, and its backward's ``sampled_addmm`` none on any device).
SPARSE_DTYPES = (torch.float32, torch.float64)


def check_kernel(kernel: object) -> str:
    """``kernel`` if it is one of :data:`KERNELS`, else ``ValueError`` listing them."""
    return choice(kernel, KERNELS, "kernel")


def _dense_ns(edges, cells):
    """Predicted ns of one pass of a level run as a dense block (``edges`` of ``cells``)."""
    return DENSE_CELL_NS * cells + DENSE_SCATTER_NS * edges * (edges < cells)


def _costs(
    n_in: int,
    level_by_pos: np.ndarray,
    dp: np.ndarray,
    sp: np.ndarray,
    cpp: bool = False,
    chain: bool = False,
) -> tuple[float, float]:
    """Predicted µs of one step, fused and level-wise, from scheduled edge positions
    (``cpp``: the level-wise sparse levels run on the C++ CSR kernels; ``chain``: the level-wise
    schedule is a chain of complete dense layers, :func:`_would_chain`)."""
    computed_levels = int(np.count_nonzero(np.bincount(level_by_pos[n_in:])))
    n_edges = dp.size
    if n_edges == 0:
        return FUSED_CALL_US, LEVEL_US * computed_levels
    edge_level = level_by_pos[dp]
    num_levels = int(level_by_pos.max()) + 1
    edges = np.bincount(edge_level, minlength=num_levels)
    nodes = np.bincount(level_by_pos[n_in:], minlength=num_levels)
    # distinct sources per level: distinct (level, source) pairs (sorting beats hashing here)
    pairs = np.sort(edge_level * level_by_pos.size + sp)
    first = np.ones(pairs.size, dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    sources = np.bincount(pairs[first] // level_by_pos.size, minlength=num_levels)
    cells = nodes * np.maximum(sources, 1)
    if cpp:
        dense = (edges > 0) & (_dense_ns(edges, cells) <= CSR_EDGE_NS * edges)
        per_pass = np.where(dense, _dense_ns(edges, cells), CSR_EDGE_NS * edges)
        # three passes (forward, weight gradient, sources' gradient), two for a level fed by
        # inputs only: the inputs' gradient is not computed unless x asks for one
        top_source = np.zeros(num_levels, dtype=np.int64)
        np.maximum.at(top_source, edge_level, sp)
        passes = np.where(top_source < n_in, 2, 3)
        levelwise = LEVEL_US * computed_levels + 1e-3 * float((passes * per_pass).sum())
    else:
        dense = (edges > 0) & (edges >= DENSE_MIN_DENSITY * cells)
        e_dense = int(edges[dense].sum())
        levelwise = LEVEL_US * computed_levels + 1e-3 * (
            DENSE_EDGE_NS * e_dense + SPARSE_EDGE_NS * (n_edges - e_dense)
        )
    if chain:
        levelwise = CHAIN_US + CHAIN_LEVEL_US * computed_levels + 1e-3 * CHAIN_EDGE_NS * n_edges
    e_input = int((sp < n_in).sum())
    fused = FUSED_CALL_US + 1e-3 * (
        FUSED_INPUT_EDGE_NS * e_input + FUSED_EDGE_NS * (n_edges - e_input)
    )
    return fused, levelwise


def predicted_costs(structure: Structure) -> dict[str, float]:
    """The cost model ``auto`` decides by: predicted µs per step (batch 256) of each path.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([784, 300, 100, 10], kernel="levelwise")
        >>> costs = predicted_costs(net.structure)
        >>> costs["levelwise"] < costs["fused"]
        True
    """
    o = node_order(structure)
    n_in = int(structure.inputs.numel())
    position = np.empty(structure.num_nodes, dtype=np.int64)
    position[o.order] = np.arange(structure.num_nodes)
    chain = _would_chain(
        n_in,
        o.level_by_pos,
        o.dst_pos,
        o.src_pos,
        [structure.activations[i] for i in o.order.tolist()],
        position[structure.outputs.numpy()],
    )
    fused, levelwise = _costs(n_in, o.level_by_pos, o.dst_pos, o.src_pos, _fused.available(), chain)
    return {"fused": fused, "levelwise": levelwise}


def _would_chain(
    n_in: int,
    level_by_pos: np.ndarray,
    dp: np.ndarray,
    sp: np.ndarray,
    acts_by_pos: list[str],
    out_pos: np.ndarray,
) -> bool:
    """Whether the level-wise schedule of this order would be a :func:`dense_chain`, read from
    the positions before any plan is made: no computed node without in-edges, every edge from
    the level just below its destination's, every level complete, one activation per level,
    and the outputs the last level in order."""
    n = level_by_pos.size
    if dp.size == 0 or n == n_in:
        return False
    nodes = np.bincount(level_by_pos, minlength=int(level_by_pos.max()) + 1)
    if nodes[0] != n_in or not nodes[1:].all():
        return False
    edge_level = level_by_pos.take(dp)
    if not np.array_equal(level_by_pos.take(sp), edge_level - 1):
        return False
    edges = np.bincount(edge_level, minlength=nodes.size)
    if not np.array_equal(edges[1:], nodes[1:] * nodes[:-1]):
        return False
    acts = np.asarray(acts_by_pos[n_in:], dtype=object)
    same_level = level_by_pos[n_in + 1 :] == level_by_pos[n_in:-1]
    if not (acts[1:] == acts[:-1])[same_level].all():
        return False
    return bool(np.array_equal(out_pos, np.arange(n - nodes[-1], n)))


def compile_schedule(
    structure: Structure,
    kernel: str = "auto",
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    capturable: bool = False,
) -> Schedule:
    """Compile ``structure`` into a :class:`Schedule` on ``device`` for parameters of ``dtype``.

    Args:
        structure: the validated topology (its delay-0 edges are scheduled).
        kernel: one of :data:`KERNELS` (default: ``"auto"``).
        device: where the plan's index tensors live (default: CPU).
        dtype: the parameters' dtype; ``auto`` runs fused only for :data:`FUSED_DTYPES`
            (default: ``torch.float32``).
        capturable: a schedule whose steps never synchronise with the host, for CUDA graph
            capture (:class:`~graphnets.kernels.cudagraph.CudaGraphed`): dense blocks with
            missing edges run as CSR (scatter for dtypes without a CSR product), since their
            check for a NaN leaked through a missing edge reads a value on the host
            (default: ``False``).

    Raises:
        ValueError: for an unknown kernel, or ``"fused"`` on a device other than CPU.
        TypeError: for ``"fused"`` with a dtype not in :data:`FUSED_DTYPES`, or ``"sparse"``
            with one not in :data:`SPARSE_DTYPES`.
        RuntimeError: for ``"fused"`` when the C++ kernel cannot be built here.
    """
    check_kernel(kernel)
    return _assemble(
        structure, kernel, torch.device(device), dtype, node_order(structure), capturable
    )


def restrict_schedule(sched: Schedule, structure: Structure, edge_map: np.ndarray) -> Schedule:
    """The schedule of ``structure``, a copy of ``sched``'s graph with some edges removed.

    Removing edges never invalidates a layering, so the node order and levels of ``sched`` are
    kept (the levels may now be deeper than the layer index rule would give, until the next
    :func:`compile_schedule`); only the plans are rebuilt from the surviving edges, which stay
    sorted. ``edge_map`` is the old → new edge id map (``-1`` removed).

    Example:
        >>> import graphnets, numpy as np
        >>> net = graphnets.mlp([3, 4, 2], seed=0, kernel="levelwise")
        >>> kept = np.arange(net.num_edges) % 4 != 0
        >>> sub, emap, _ = net.structure.subgraph(kept, np.ones(9, bool))
        >>> restrict_schedule(net.schedule, sub, emap).kinds()
        ['bias', 'dense', 'dense']
    """
    return _assemble(
        structure, sched.kernel, sched.device, sched.dtype, restricted_order(sched, edge_map)
    )


def _assemble(
    structure: Structure,
    kernel: str,
    device: torch.device,
    dtype: torch.dtype,
    o: Order,
    capturable: bool = False,
) -> Schedule:
    """Plans from a node and edge order (see :class:`~graphnets.core.schedule.Order`)."""
    order, level_by_pos, sp, dp, eorder = o
    n = structure.num_nodes
    n_in = int(structure.inputs.numel())
    num_levels = int(level_by_pos.max()) + 1 if n else 0
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    level_ptr = np.searchsorted(level_by_pos, np.arange(num_levels + 1))
    edge_ptr = np.searchsorted(dp, level_ptr)
    acts_by_pos = [structure.activations[i] for i in order.tolist()]

    use_fused = kernel == "fused"
    # sparse levels run on the C++ CSR kernels where they can (else on torch's CSR products)
    cpp = device.type == "cpu" and dtype in FUSED_DTYPES and kernel != "fused"
    cpp = cpp and kernel in ("auto", "levelwise", "sparse") and _fused.available()
    if kernel == "auto" and device.type == "cpu" and dtype in FUSED_DTYPES:
        chain = _would_chain(
            n_in, level_by_pos, dp, sp, acts_by_pos, position[structure.outputs.numpy()]
        )
        fused_us, levelwise_us = _costs(n_in, level_by_pos, dp, sp, cpp, chain)
        if fused_us < levelwise_us:
            use_fused = _fused.available()
    if use_fused and device.type != "cpu":
        raise ValueError(f"kernel 'fused' runs on CPU only, got device {device}")
    if use_fused and dtype not in FUSED_DTYPES:
        raise TypeError(
            f"kernel 'fused' computes in float32 or float64, got {dtype}; use kernel='auto' or "
            "'levelwise' for other dtypes"
        )
    if kernel == "sparse" and dtype not in SPARSE_DTYPES:
        raise TypeError(
            f"kernel 'sparse' computes in float32 or float64 (torch's CSR products), got {dtype}; "
            "use kernel='auto', 'levelwise', 'dense' or 'scatter' for other dtypes"
        )
    if kernel == "fused" and not _fused.available():
        raise RuntimeError(
            f"kernel 'fused' is unavailable here ({_fused.why_unavailable()}); use "
            "kernel='auto', which falls back to the level-wise kernels"
        )

    # positions with no path to an output along the scheduled edges (see LevelPlan.dead)
    out_pos = position[structure.outputs.numpy()]
    dead = ~reachable(dp, sp, n, out_pos) if n else np.zeros(0, dtype=bool)
    levels: list[LevelPlan] = []
    for ell in range(num_levels):
        start, stop = int(level_ptr[ell]), int(level_ptr[ell + 1])
        if ell == 0:
            start = n_in  # inputs are given, not computed
        es, ee = int(edge_ptr[ell]), int(edge_ptr[ell + 1])
        groups = _groups(acts_by_pos, start, stop)
        if use_fused:  # the C++ kernel needs no per-level plans: only the bounds, for summaries
            levels.append(LevelPlan(start, stop, es, ee, "fused", groups))
            continue
        if ee == es:
            plan = LevelPlan(start, stop, es, ee, "bias", groups)
        else:
            plan = _plan_level(
                kernel, start, stop, es, ee, sp[es:ee], dp[es:ee] - start, groups, dtype, cpp
            )
            if capturable and plan.kind == "dense" and not plan.complete:
                plan = _plan_level(
                    "sparse" if dtype in SPARSE_DTYPES else "scatter",
                    start,
                    stop,
                    es,
                    ee,
                    sp[es:ee],
                    dp[es:ee] - start,
                    groups,
                    dtype,
                    cpp,
                )
            _split_sources(plan, n_in)
        if dead[start:stop].any():
            plan.dead = torch.from_numpy(np.flatnonzero(dead[start:stop]))
            plan.dead_edges = torch.from_numpy(np.flatnonzero(dead[dp[es:ee]]))
        levels.append(plan)
    edge_identity = _is_identity(eorder)
    fused = None
    if use_fused:
        fused = _fused_arrays(n, n_in, dp, sp, acts_by_pos, eorder, order, dead)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a))  # moved with the rest at the end

    node_identity = bool(np.array_equal(order, np.arange(n)))
    sched = Schedule(
        kernel=kernel,
        num_nodes=n,
        num_inputs=n_in,
        order=t(order),
        position=t(position),
        edge_order=None if edge_identity else t(eorder),
        out_pos=t(out_pos),
        levels=levels,
        node_identity=node_identity,
        src_pos=t(sp),
        dst_pos=t(dp),
        inputs_contiguous=_inputs_contiguous(levels, use_fused),
        dense_chain=not use_fused and dense_chain(levels, n_in, out_pos),
        fused=fused,
        dtype=dtype,
        fused_keep_z=use_fused
        and any(parse_activation(a).needs_z for a in set(acts_by_pos[n_in:])),
    )
    return sched.to(device) if device.type != "cpu" else sched


def _groups(acts: list[str], start: int, stop: int) -> list[tuple[Activation, int, int]]:
    groups: list[tuple[Activation, int, int]] = []
    i = start
    while i < stop:
        j = i
        while j < stop and acts[j] == acts[i]:
            j += 1
        groups.append((parse_activation(acts[i]), i - start, j - start))
        i = j
    return groups


def _split_sources(plan: LevelPlan, n_in: int) -> None:
    """Describe the level's sources as a part among the inputs and a part among computed nodes."""
    if plan.cols is None:
        if plan.lo < n_in:
            plan.src_in = (plan.lo, min(plan.hi, n_in))
        if plan.hi > n_in:
            plan.src_h = (max(plan.lo, n_in) - n_in, plan.hi - n_in)
        return
    cols = plan.cols
    k = int((cols < n_in).sum())
    if k:
        plan.src_in = cols[:k]
    if k < cols.numel():
        plan.src_h = cols[k:] - n_in


def _plan_level(
    kernel, start, stop, es, ee, src_pos, dst_local, groups, dtype, cpp=False
) -> LevelPlan:
    n_dst = stop - start
    n_edges = ee - es
    cols = np.sort(src_pos)
    cols = cols[np.concatenate(([True], cols[1:] != cols[:-1]))]
    lo, hi = int(cols[0]), int(cols[-1]) + 1
    n_cols = cols.size
    if kernel in ("auto", "levelwise") and cpp:  # the cheaper of a dense block and C++ CSR
        dense_ns = _dense_ns(n_edges, n_dst * n_cols)
        kind = "dense" if dense_ns <= CSR_EDGE_NS * n_edges else "sparse"
    elif kernel in ("auto", "levelwise"):
        if n_edges >= DENSE_MIN_DENSITY * n_dst * n_cols:
            kind = "dense"
        elif n_edges < SCATTER_MAX_EDGES or dtype not in SPARSE_DTYPES:
            kind = "scatter"
        else:
            kind = "sparse"
    else:
        kind = kernel
    plan = LevelPlan(start, stop, es, ee, kind, groups, lo=lo, hi=hi, cpp=cpp and kind == "sparse")
    # Dense blocks are built over the distinct sources only (gathered if scattered); sparse and
    # scatter kernels index the source range lo:hi directly, a view, so they never gather.
    if kind == "dense" and not is_range(cols):
        plan.cols = torch.from_numpy(cols)
        col_local = np.searchsorted(cols, src_pos)
        n_cols = cols.size
    else:
        col_local = src_pos - lo
        n_cols = hi - lo
    plan.dst = torch.from_numpy(np.ascontiguousarray(dst_local))
    plan.col = torch.from_numpy(np.ascontiguousarray(col_local))
    # Edges are sorted by (dst, src), so a complete block is already row-major.
    plan.complete = n_edges == n_dst * n_cols
    if kind == "dense" and not plan.complete:
        plan.flat = torch.from_numpy(np.ascontiguousarray(dst_local * n_cols + col_local))
    if kind == "sparse":
        crow = np.zeros(n_dst + 1, dtype=np.int64)
        np.cumsum(np.bincount(dst_local, minlength=n_dst), out=crow[1:])
        # by (column, destination): destinations are sorted already, so a stable sort by column
        # (a radix sort for int16) is lexsort((dst_local, col_local)), far faster
        perm_t = _stable_argsort(col_local, n_cols)
        crow_t = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(col_local, minlength=n_cols), out=crow_t[1:])
        plan.crow = torch.from_numpy(crow)
        plan.crow_t = torch.from_numpy(crow_t)
        plan.col_t = torch.from_numpy(np.ascontiguousarray(dst_local[perm_t]))
        plan.perm_t = torch.from_numpy(perm_t)
        if cpp and n_edges >= SDDMM_BLOCK_MIN_DENSITY * n_dst * n_cols:
            # the weight gradient by blocks of destinations, then source: a source row is
            # reused from L1 by the block's edges that share it (fused.cpp, sddmm_ordered)
            # lexsort((dst_local, col_local, dst_local // SDDMM_BLOCK)) as two stable radix
            # sorts: by column (destinations stay sorted within one), then by block
            by_col = perm_t
            blocks = (dst_local // SDDMM_BLOCK)[by_col]
            block_order = by_col[_stable_argsort(blocks, n_dst // SDDMM_BLOCK + 1)]
            plan.sddmm_order = torch.from_numpy(block_order)
    return plan


def _inputs_contiguous(levels: list[LevelPlan], use_fused: bool) -> bool:
    """Whether a level-wise schedule needs ``x.T`` as contiguous rows (a sparse or scatter level,
    or one reading a subset of columns, fed by inputs)."""
    return not use_fused and any(
        lv.src_in is not None and (lv.kind in ("sparse", "scatter") or lv.cols is not None)
        for lv in levels
    )


def dense_chain(levels: list[LevelPlan], n_in: int, out_pos) -> bool:
    """Whether a level-wise schedule is a chain of complete dense layers, as an MLP is: every
    non-empty level complete and dense with one activation and no dead nodes, the first reading
    exactly the inputs and each other one exactly the level before it (all of their nodes, in
    order), and the last level's nodes the outputs in order. Such a schedule runs batch-major
    as ``nn.Sequential`` does (:class:`graphnets.kernels.levelwise._DenseChain`), with none of
    the node-major buffers a general DAG needs."""
    lo, hi = 0, n_in
    chain = [lv for lv in levels if lv.stop > lv.start]
    for lv in chain:
        if not (
            lv.kind == "dense"
            and lv.complete
            and lv.cols is None
            and (lv.lo, lv.hi) == (lo, hi)
            and len(lv.groups) == 1
            and lv.dead is None
            and lv.dead_edges is None
        ):
            return False
        lo, hi = lv.start, lv.stop
    out = [int(p) for p in out_pos]
    return bool(chain) and out == list(range(lo, hi))


def _is_identity(order: np.ndarray) -> bool:
    """Whether ``order`` is ``0, 1, ..., n-1`` (the ends first: after an edit it rarely is)."""
    return order.size == 0 or (
        order[0] == 0
        and order[-1] == order.size - 1
        and bool(np.array_equal(order, np.arange(order.size)))
    )


def _stable_argsort(keys: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for ints in ``[0, bound)``: on int16 when they fit,
    where numpy's stable sort is a radix sort (~20x faster than on int64 at 10^5 keys)."""
    return np.argsort(keys.astype(np.int16) if bound < 1 << 15 else keys, kind="stable")


def _fused_arrays(
    n, n_in, dp, sp, acts_by_pos, weight_index, order, dead, nodes_of=None
) -> dict[str, torch.Tensor]:
    """The fused kernel's arrays: edges from computed nodes by destination, from inputs by input.

    ``dp``/``sp`` are the scheduled edges' positions, ``weight_index`` their index into
    ``weight``; see the ``Graph`` struct in :mod:`graphnets.kernels.fused`. ``nodes_of``: the
    arrays of a schedule with the same nodes, order and activations, whose per-node arrays are
    taken as they are (``acts_by_pos`` is then not read).
    """
    from_input = sp < n_in
    # the edges' indices from computed nodes and from inputs, each in dp's (sorted) order;
    # gathers by index from here (a boolean mask is a pass over every edge each time)
    hid = np.flatnonzero(~from_input)
    by_dst = np.flatnonzero(from_input)
    hid_dp, hid_sp = dp.take(hid), sp.take(hid)
    rowptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(hid_dp, minlength=n), out=rowptr[1:])
    # the same edges by source, for the backward's pull; those into dead positions left out
    into_dead = dead.take(hid_dp)
    if into_dead.any():
        live = np.flatnonzero(~into_dead)
        live_sp = hid_sp.take(live)
        # by (source, destination): dp is sorted, so a stable sort by source is that lexsort
        by_src = hid.take(live.take(_stable_argsort(live_sp, n)))
    else:  # every edge live (no gathers of all of them for nothing)
        live_sp = hid_sp
        by_src = hid.take(_stable_argsort(live_sp, n))
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(live_sp, minlength=n), out=out_ptr[1:])
    in_sp = sp.take(by_dst)
    by_input = by_dst.take(_stable_argsort(in_sp, n_in))
    in_ptr = np.zeros(n_in + 1, dtype=np.int64)
    np.cumsum(np.bincount(in_sp, minlength=n_in), out=in_ptr[1:])
    # and by destination (dp is sorted), for the forward
    irowptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(dp.take(by_dst), minlength=n), out=irowptr[1:])
    if nodes_of is not None:
        codes, params = nodes_of["codes"].numpy(), nodes_of["params"].numpy()
    else:
        # one parse per distinct activation, not per node: an edit recompiles this every time
        distinct = {a: i for i, a in enumerate(dict.fromkeys(acts_by_pos))}
        which = np.fromiter((distinct[a] for a in acts_by_pos), dtype=np.int64, count=n)
        parsed = [parse_activation(a) for a in distinct]
        codes = np.array([a.code for a in parsed], dtype=np.int64)[which]
        params = np.array([a.c_params for a in parsed], dtype=np.float64).reshape(-1, 2)[which]
    arrays = {
        "rowptr": rowptr,
        "src": hid_sp,
        "hw": weight_index.take(hid),
        "in_ptr": in_ptr,
        "in_dst": dp.take(by_input),
        "iw": weight_index.take(by_input),
        "node": order,
        "codes": codes,
        "params": params,
        "dead": dead.astype(np.int64),  # positions with no path to an output
        "out_ptr": out_ptr,
        "out_dst": dp.take(by_src),
        "ow": weight_index.take(by_src),
        "dead_w": weight_index.take(hid.take(np.flatnonzero(into_dead))),  # their gradient is 0
        "irowptr": irowptr,
        "isrc": in_sp,
        "iwd": weight_index.take(by_dst),
    }
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}


def recompile_levels(
    sched: Schedule,
    structure: Structure,
    o: Order,
    changed: np.ndarray,
    *,
    same_activations: bool = False,
) -> Schedule:
    """The schedule of ``structure``, an edit of ``sched``'s graph with the same node order
    (``o``, e.g. :func:`~graphnets.core.schedule.replaced_order`), re-planning only the levels
    in ``changed`` (``bool [num_levels]``: those whose in-edges changed).

    The other levels keep their plans (index tensors local to the level), with their edge
    offsets moved and their dead nodes recomputed (an edge removed elsewhere can cut a node off
    from the outputs); a fused schedule rebuilds its arrays, which are global. The kernel
    choices stay those of ``sched`` (``auto``'s choice of fused or level-wise, made when the
    schedule was compiled, is kept until the next :func:`compile_schedule`). With
    ``same_activations`` (every node keeps its activation, as in ``replace_edges``) a fused
    schedule's per-node arrays are reused instead of parsed again.

    Example:
        >>> import graphnets, numpy as np
        >>> from graphnets.core.schedule import replaced_order
        >>> net = graphnets.mlp([3, 4, 2], seed=0, kernel="levelwise")
        >>> keep = np.arange(net.num_edges) != 0
        >>> sub, emap, _ = net.structure.subgraph(keep, np.ones(9, bool))
        >>> new = sub.add_edges([0], [3])  # 0 -> 3 again, as a new edge
        >>> o = replaced_order(net.schedule, emap, np.array([0]), np.array([3]), sub.num_edges)
        >>> recompile_levels(net.schedule, new, o, np.array([False, True, False])).kinds()
        ['bias', 'dense', 'dense']
    """
    _, level_by_pos, sp, dp, eorder = o
    n, n_in = sched.num_nodes, sched.num_inputs
    device, dtype, kernel = sched.device, sched.dtype, sched.kernel
    bounds = np.array([0] + [lv.stop for lv in sched.levels], dtype=np.int64)
    edge_ptr = np.searchsorted(dp, bounds)
    # positions with no path to an output: every edge goes to a higher level, so one pass from
    # the top level down marks the sources of the edges into live nodes (no graph search)
    live = np.zeros(n, dtype=bool)
    live[sched.out_pos.cpu().numpy()] = True
    for ell in range(len(sched.levels) - 1, 0, -1):
        es, ee = int(edge_ptr[ell]), int(edge_ptr[ell + 1])
        live[sp[es:ee][live[dp[es:ee]]]] = True
    dead = ~live
    use_fused = sched.fused is not None
    cpp = device.type == "cpu" and dtype in FUSED_DTYPES and kernel != "fused"
    cpp = cpp and kernel in ("auto", "levelwise", "sparse") and _fused.available()

    def on_device(plan: LevelPlan) -> LevelPlan:
        for k, t in plan.tensors().items():
            setattr(plan, k, t.to(device))
        return plan

    levels: list[LevelPlan] = []
    for ell, old in enumerate(sched.levels):
        start, stop = old.start, old.stop
        es, ee = int(edge_ptr[ell]), int(edge_ptr[ell + 1])
        if use_fused:
            levels.append(LevelPlan(start, stop, es, ee, "fused", old.groups))
            continue
        if not changed[ell]:
            plan = LevelPlan(**{**old.__dict__, "estart": es, "estop": ee})
        elif ee == es:
            plan = LevelPlan(start, stop, es, ee, "bias", old.groups)
        else:
            plan = _plan_level(
                kernel, start, stop, es, ee, sp[es:ee], dp[es:ee] - start, old.groups, dtype, cpp
            )
            _split_sources(plan, n_in)
        plan.dead = plan.dead_edges = None
        if dead[start:stop].any():
            plan.dead = torch.from_numpy(np.flatnonzero(dead[start:stop]))
            plan.dead_edges = torch.from_numpy(np.flatnonzero(dead[dp[es:ee]]))
        levels.append(on_device(plan) if device.type != "cpu" else plan)
    fused = None
    order = sched.order.cpu().numpy()
    if use_fused:
        if (
            sched.fused is not None
            and sched.fused["codes"].device.type == "cpu"
            and (same_activations)
        ):
            fused = _fused_arrays(n, n_in, dp, sp, None, eorder, order, dead, sched.fused)
        else:
            acts_by_pos = [structure.activations[i] for i in order.tolist()]
            fused = _fused_arrays(n, n_in, dp, sp, acts_by_pos, eorder, order, dead)
    edge_identity = _is_identity(eorder)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(device)

    return Schedule(
        kernel=kernel,
        num_nodes=n,
        num_inputs=n_in,
        order=sched.order,
        position=sched.position,
        edge_order=None if edge_identity else t(eorder),
        out_pos=sched.out_pos,
        levels=levels,
        node_identity=sched.node_identity,
        src_pos=t(sp),
        dst_pos=t(dp),
        inputs_contiguous=_inputs_contiguous(levels, use_fused),
        dense_chain=not use_fused and dense_chain(levels, n_in, sched.out_pos),
        fused=fused,
        dtype=dtype,
        fused_keep_z=sched.fused_keep_z,
        device=device,
    )
