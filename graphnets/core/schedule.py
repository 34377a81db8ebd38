"""The kernel-agnostic plan of a structure: node order, level slices and per-level edge blocks.

A :class:`Schedule` orders nodes so that every level is a contiguous slice of *positions*:
inputs first (in the order of ``x``'s columns), then every level in turn, nodes of a level
grouped by activation. Edges are ordered by (destination position, source position), so the
edges feeding a level are a contiguous block sorted by destination.

This module decides the order only; how each level runs (its :class:`LevelPlan` kind and
index tensors), and whether the whole graph runs in one fused call, is decided next to the
kernels, by :func:`graphnets.kernels.compile_schedule` (as DGL decides message passing next to
its kernels: the graph knows nothing about them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from .activations import Activation
from .structure import Structure

__all__ = ["Schedule", "LevelPlan", "Order", "node_order", "restricted_order", "replaced_order"]


@dataclass
class LevelPlan:
    """How one level runs. Positions ``start:stop``, scheduled edges ``estart:estop``."""

    start: int
    stop: int
    estart: int
    estop: int
    kind: str  # "bias" (no in-edges), "dense", "sparse", "scatter" or "fused" (whole graph)
    groups: list[tuple[Activation, int, int]]  # activation, local start, local stop
    lo: int = 0  # sources lie in positions lo:hi; all of them when cols is None ...
    hi: int = 0
    cols: torch.Tensor | None = None  # ... else these sorted positions
    # The sources split into inputs (rows of x.T) and computed nodes (rows of the buffer of
    # computed nodes, position - n_in): each part a (start, stop) slice, an index tensor, or None.
    src_in: tuple[int, int] | torch.Tensor | None = None
    src_h: tuple[int, int] | torch.Tensor | None = None
    dst: torch.Tensor | None = None  # [E_l] local destination of each edge
    col: torch.Tensor | None = None  # [E_l] local column (index into the sources) of each edge
    complete: bool = False  # dense block already in (dst, col) order: weights are a view
    flat: torch.Tensor | None = None  # [E_l] dst * num_sources + col: an incomplete dense block
    cpp: bool = False  # a sparse level run by the C++ CSR kernels (CPU, float32/64)
    crow: torch.Tensor | None = None  # CSR of the level, rows = destinations
    crow_t: torch.Tensor | None = None  # CSR of the transpose, rows = sources
    col_t: torch.Tensor | None = None
    perm_t: torch.Tensor | None = None  # edge order of the transposed CSR
    # the C++ weight gradient's edge order (blocks of destinations, then source), or None
    sddmm_order: torch.Tensor | None = None
    # local rows of the level's nodes with no path to an output: autograd never reaches them,
    # so their gradient is 0 even where act'(z) is NaN (None: every node reaches an output)
    dead: torch.Tensor | None = None
    dead_edges: torch.Tensor | None = None  # the level's edges into those nodes: gradient 0

    @property
    def num_sources(self) -> int:
        """Rows of the source block: ``hi - lo``, or the number of ``cols`` when gathered."""
        return self.hi - self.lo if self.cols is None else int(self.cols.numel())

    def tensors(self) -> dict[str, torch.Tensor]:
        names = (
            "cols",
            "src_in",
            "src_h",
            "dst",
            "col",
            "flat",
            "crow",
            "crow_t",
            "col_t",
            "perm_t",
            "sddmm_order",
            "dead",
            "dead_edges",
        )
        return {k: getattr(self, k) for k in names if isinstance(getattr(self, k), torch.Tensor)}


@dataclass
class Schedule:
    """A compiled plan: node and edge orders, per-level plans, and the fused kernel's arrays.

    ``order`` maps a position to a node, ``position`` a node to its position, ``edge_order``
    gives the edges in the order the kernels read them, ``out_pos`` the positions of the
    outputs, ``levels`` one plan per level, and :meth:`kinds` the kernel of every level.
    """

    kernel: str
    num_nodes: int
    num_inputs: int
    order: torch.Tensor  # [N] position -> node
    position: torch.Tensor  # [N] node -> position
    edge_order: torch.Tensor | None  # [E] scheduled edge -> weight index (None: identity)
    out_pos: torch.Tensor  # [n_out] positions of the outputs
    levels: list[LevelPlan]
    node_identity: bool
    src_pos: torch.Tensor  # [E] scheduled edges' source positions
    dst_pos: torch.Tensor  # [E] scheduled edges' destination positions
    inputs_contiguous: bool = False  # whether a level needs x.T as contiguous rows
    dense_chain: bool = False  # a chain of complete dense layers (levelwise.dense_chain)
    fused: dict[str, torch.Tensor] | None = None
    fused_keep_z: bool = False  # z is kept only if an activation's backward needs it
    dtype: torch.dtype = torch.float32  # the parameter dtype it was compiled for
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    # the kernels' scratch buffers, reused from call to call (see graphnets.kernels.fused)
    workspace: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # scratch buffers are not part of the plan: a pickled or deep-copied schedule starts
        # with none (a copy never shares the original's)
        return {**self.__dict__, "workspace": {}}

    @property
    def num_levels(self) -> int:
        return len(self.levels)

    def kinds(self) -> list[str]:
        """The kernel of every level (``"fused"`` for all when fused)."""
        return [lv.kind for lv in self.levels]

    def to(self, device: torch.device | str) -> Schedule:
        """The same plan with every index tensor on ``device``."""
        device = torch.device(device)
        if device == self.device:
            return self
        mv = lambda t: t.to(device) if isinstance(t, torch.Tensor) else t  # noqa: E731
        levels = []
        for lv in self.levels:
            new = LevelPlan(**lv.__dict__)
            for k, t in lv.tensors().items():
                setattr(new, k, t.to(device))
            levels.append(new)
        fields: dict[str, Any] = {k: mv(v) for k, v in self.__dict__.items()}
        fields["levels"] = levels
        if self.fused is not None:
            fields["fused"] = {k: mv(v) for k, v in self.fused.items()}
        fields["device"] = device
        fields["workspace"] = {}
        return Schedule(**fields)


class Order(NamedTuple):
    """A node and edge order: ``order[p]`` is the node at position ``p``, ``level_by_pos[p]`` its
    level; ``src_pos`` / ``dst_pos`` are the scheduled edges' source and destination positions,
    sorted by (destination, source), and ``edge_order[j]`` the weight index of scheduled edge
    ``j``."""

    order: np.ndarray
    level_by_pos: np.ndarray
    src_pos: np.ndarray
    dst_pos: np.ndarray
    edge_order: np.ndarray


def node_order(structure: Structure) -> Order:
    """Level, then inputs in ``x``'s order, then activation, then index; edges by (dst, src).

    Example:
        >>> from graphnets.core.structure import layered
        >>> node_order(layered([2, 2, 1], ["relu", "identity"])).order.tolist()
        [0, 1, 2, 3, 4]
    """
    n = structure.num_nodes
    n_in = int(structure.inputs.numel())
    level = structure.level
    input_rank = np.full(n, n_in, dtype=np.int64)
    input_rank[structure.inputs.numpy()] = np.arange(n_in)
    spec_ids: dict[str, int] = {}
    act_id = np.fromiter(
        (spec_ids.setdefault(a, len(spec_ids)) for a in structure.activations),
        dtype=np.int64,
        count=n,
    )
    order = np.lexsort((np.arange(n), act_id, input_rank, level))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    src, dst = structure.edge_index.numpy()
    sp, dp = position[src], position[dst]
    eorder = np.lexsort((sp, dp))
    return Order(order, level[order], sp[eorder], dp[eorder], eorder)


def restricted_order(sched: Schedule, edge_map: np.ndarray) -> Order:
    """The order of ``sched`` with some edges removed (``edge_map``: old → new edge id, ``-1``
    removed).

    Removing edges never invalidates a layering, so the node order and levels are kept (the
    levels may now be deeper than the layer index rule would give, until the next full
    compile); the surviving edges stay sorted.
    """
    eorder = (
        np.arange(sched.src_pos.numel())
        if sched.edge_order is None
        else sched.edge_order.cpu().numpy()
    )
    new_ids = edge_map[eorder]
    kept = new_ids >= 0
    level_by_pos = np.zeros(sched.num_nodes, dtype=np.int64)
    for k, lv in enumerate(sched.levels):
        level_by_pos[lv.start : lv.stop] = k
    return Order(
        sched.order.cpu().numpy(),
        level_by_pos,
        sched.src_pos.cpu().numpy()[kept],
        sched.dst_pos.cpu().numpy()[kept],
        new_ids[kept],
    )


def replaced_order(
    sched: Schedule,
    edge_map: np.ndarray,
    src_pos: np.ndarray,
    dst_pos: np.ndarray,
    first: int,
) -> Order | None:
    """The order of ``sched`` with some edges removed and the edges ``src_pos -> dst_pos``
    (positions) added as edges ``first, first + 1, ...``, or ``None`` when the node order cannot
    be kept: a new edge that does not go from a lower level of ``sched`` to a higher one, or one
    that repeats an edge (these are for the full check to name).

    A new edge from a lower to a higher level keeps the levels a layering, so the node order
    stays; the surviving edges stay sorted and the new ones are merged in (an argsort of the new
    edges, then one stable sort of the two sorted runs, which timsort merges in a pass; no full
    sort). ``edge_map`` is the old → new edge id map of the survivors (``-1`` removed).
    """
    n = sched.num_nodes
    level_by_pos = np.zeros(n, dtype=np.int64)
    for k, lv in enumerate(sched.levels):
        level_by_pos[lv.start : lv.stop] = k
    src_pos = np.asarray(src_pos, dtype=np.int64)
    dst_pos = np.asarray(dst_pos, dtype=np.int64)
    if not np.all(level_by_pos[src_pos] < level_by_pos[dst_pos]):
        return None
    eorder = (
        np.arange(sched.src_pos.numel())
        if sched.edge_order is None
        else sched.edge_order.cpu().numpy()
    )
    new_ids = edge_map[eorder]
    kept = np.flatnonzero(new_ids >= 0)  # indices, taken thrice (cheaper than a mask each time)
    sp, dp = sched.src_pos.cpu().numpy().take(kept), sched.dst_pos.cpu().numpy().take(kept)
    keys = dp * n + sp  # sorted: edges are ordered by (destination, source)
    # by (destination, source) (a repeated pair is refused below): two stable radix sorts on
    # int16 where positions fit, far faster than a sort of the int64 keys
    if n < 1 << 15:
        by = np.argsort(src_pos.astype(np.int16), kind="stable")
        by = by[np.argsort(dst_pos[by].astype(np.int16), kind="stable")]
    else:
        by = np.argsort(dst_pos * n + src_pos)
    new_keys = dst_pos[by] * n + src_pos[by]
    # the merged order: the survivors' keys and the new ones are two sorted runs, which a
    # stable sort (timsort for int64) merges in one pass: cheaper than a binary search of every
    # new key, and an equal neighbour is a pair given twice or one that is an edge already
    both = np.concatenate([keys, new_keys])
    merge = np.argsort(both, kind="stable")
    both = both.take(merge)
    if both.size > 1 and not np.all(both[1:] != both[:-1]):
        return None  # a pair given twice, or a pair that is an edge already

    def merged(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        return np.concatenate([old, new]).take(merge)

    return Order(
        sched.order.cpu().numpy(),
        level_by_pos,
        merged(sp, src_pos[by]),
        merged(dp, dst_pos[by]),
        merged(new_ids.take(kept), first + by),
    )


def is_range(a: np.ndarray) -> bool:
    """Whether the sorted ints ``a`` are consecutive."""
    return a.size == 0 or (a[-1] - a[0] + 1 == a.size and bool(np.all(np.diff(a) == 1)))
