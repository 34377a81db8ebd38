"""Where new edges may go, cut into blocks; the groups whose edge counts a round keeps.

Three spaces of allowed pairs ``u -> v`` (``v`` never an input, never ``u`` itself):

``"layers"``
    the level pairs of the net's edges when the rewirer was built: ``u`` in level ``L`` and ``v``
    in level ``M`` for some edge between levels ``L`` and ``M`` then (SET and RigL on layered
    nets). A group is one such level pair: a round moves edges within a weight matrix.
``"forward"``
    any pair with ``level(u) < level(v)``: skip edges allowed. A group is the level of ``v``.
``"acyclic"``
    any pair that keeps the graph acyclic: new edges may point "backwards" in the levels, and
    online topological ordering re-levels the net (``001_…`` §2.5, §4.5). One group.

The levels of ``"layers"`` and ``"forward"`` are fixed when the rewirer is built
(:func:`layering`) and kept for its whole life: every edge, old or new, goes from a lower to a
higher one, so they stay a topological order and no new edge can close a cycle. (The net's own
levels, by the layer index rule, would drop a node that lost all its in-edges to level 0, from
where no edge could ever reach it again.) For a strictly layered net, such as a sparse MLP, they
are its layers even where a sparse draw left a hidden node without in-edges; for any other net,
its levels.

A :class:`Block` is a set of source nodes and destination nodes all of whose pairs are allowed
(up to self loops and, in ``"acyclic"``, cycles); the blocks of a space partition it, and a
block's destinations are cut so that it never holds more than ``max_pairs`` pairs.

Whether ``v`` reaches ``u`` (an edge ``u -> v`` would close a cycle) is read from a bitset of
every node's descendants, :func:`descendants`: ``N²/8`` bytes (1.8 MB for 3,794 nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..._util.checks import choice
from ...core.levels import levels as _levels
from ...core.structure import Structure

__all__ = ["ALLOWED", "Block", "Space", "layering", "descendants", "reach_mask", "reaches"]

#: The spaces of allowed new edges (see the module docstring).
ALLOWED = ("layers", "forward", "acyclic")


@dataclass(frozen=True)
class Block:
    """Allowed pairs ``src × dst`` of one group.

    Attributes:
        src: ``LongTensor [n_src]``, source node ids (CPU).
        dst: ``LongTensor [n_dst]``, destination node ids (CPU).
        group: the group of every pair of the block.
    """

    src: torch.Tensor
    dst: torch.Tensor
    group: int

    @property
    def num_pairs(self) -> int:
        return int(self.src.numel() * self.dst.numel())


class Space:
    """The allowed new edges of a rewiring of ``structure`` and the groups of its edges.

    Args:
        structure (Structure): the net's structure when the rewirer is built.
        allowed (str): ``"layers"``, ``"forward"`` or ``"acyclic"`` (default: ``"layers"``).

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([3, 4, 2], seed=0)
        >>> space = Space(net.structure, "layers")
        >>> space.num_groups, [(len(b.src), len(b.dst)) for b in space.blocks()]
        (2, [(3, 4), (4, 2)])
        >>> Space(net.structure, "forward").blocks()[1].src.tolist()   # skip edges allowed
        [0, 1, 2, 3, 4, 5, 6]
    """

    def __init__(self, structure: Structure, allowed: str = "layers") -> None:
        if structure.is_recurrent:
            raise ValueError(
                "cannot rewire a recurrent net (one with delayed edges); rewiring edits the "
                "feed-forward graph of a net trained on batches"
            )
        self.allowed = choice(allowed, ALLOWED, "allowed")
        self.labels = structure.labels
        self.num_nodes = structure.num_nodes
        self.is_input = np.zeros(self.num_nodes, dtype=bool)
        self.is_input[structure.inputs.numpy()] = True
        #: the levels kept by ``"layers"`` and ``"forward"`` (:func:`layering`)
        self.layer = layering(structure)
        L = max(int(self.layer.max()) + 1, 1) if self.num_nodes else 1
        self._L = L
        if self.allowed == "layers":
            src, dst = structure.edge_index.numpy()
            codes = np.unique(self.layer[src] * L + self.layer[dst])
            #: ``[G, 2]`` the level pairs of ``"layers"``
            self.pairs = np.stack([codes // L, codes % L], 1)
            self._pair_id = np.full(L * L, -1, dtype=np.int64)
            self._pair_id[codes] = np.arange(codes.size)
            self.num_groups = int(codes.size)
        elif self.allowed == "forward":
            self.num_groups = L
        else:
            self.num_groups = 1
        self._blocks: dict[int, list[Block]] = {}
        self._known: tuple[Structure, np.ndarray] | None = None  # see remember()

    def check(self, structure: Structure) -> None:
        """``RuntimeError`` if the nodes changed since the rewirer was built."""
        if structure.labels is not self.labels and structure.labels != self.labels:
            raise RuntimeError(
                "the net's nodes changed since the rewirer was built (a node edit): its blocks "
                "and groups refer to node ids; build a new rewirer after editing nodes"
            )

    def groups(self, structure: Structure) -> np.ndarray:
        """The group of every edge of ``structure`` (``int64 [E]``).

        Raises:
            RuntimeError: for an edge outside the space (one added by hand between rounds).
        """
        self.check(structure)
        if self._known is not None and self._known[0] is structure:
            return self._known[1]
        src, dst = structure.edge_index.numpy()
        if self.allowed == "acyclic":
            return np.zeros(src.size, dtype=np.int64)
        lu, lv = self.layer[src], self.layer[dst]
        if self.allowed == "forward":
            bad = lu >= lv
            group = lv
        else:
            group = self._pair_id[lu * self._L + lv]
            bad = group < 0
        if bad.any():
            e = int(np.flatnonzero(bad)[0])
            raise RuntimeError(
                f"edge {structure.labels[src[e]]!r} -> {structure.labels[dst[e]]!r} lies outside "
                f"the space allowed={self.allowed!r} of this rewirer (levels {lu[e]} -> {lv[e]} "
                "when it was built); was it added by hand? Build the rewirer with "
                "allowed='acyclic' to accept any edge"
            )
        return group

    def remember(self, structure: Structure, groups: np.ndarray) -> None:
        """Note the groups of ``structure``'s edges, known from a round's edit (the survivors'
        groups, then those the new edges were grown in): :meth:`groups` of that very structure
        returns them instead of looking them up again; any other structure is looked up."""
        self._known = (structure, groups)

    def blocks(self, max_pairs: int = 1 << 22) -> list[Block]:
        """The blocks of the space, each of at most ``max_pairs`` pairs (or one destination)."""
        if max_pairs not in self._blocks:
            self._blocks[max_pairs] = self._make_blocks(max_pairs)
        return self._blocks[max_pairs]

    def _make_blocks(self, max_pairs: int) -> list[Block]:
        ids = np.arange(self.num_nodes)
        computed = ~self.is_input
        whole: list[tuple[np.ndarray, np.ndarray, int]] = []
        if self.allowed == "layers":
            for g, (lu, lv) in enumerate(self.pairs.tolist()):
                whole.append((ids[self.layer == lu], ids[(self.layer == lv) & computed], g))
        elif self.allowed == "forward":
            for lv in range(1, self._L):
                whole.append((ids[self.layer < lv], ids[(self.layer == lv) & computed], lv))
        else:
            whole.append((ids, ids[computed], 0))
        out = []
        for src, dst, g in whole:
            if src.size == 0 or dst.size == 0:
                continue
            step = max(1, max_pairs // src.size)
            for i in range(0, dst.size, step):
                out.append(Block(torch.from_numpy(src), torch.from_numpy(dst[i : i + step]), g))
        return out


def layering(structure: Structure) -> np.ndarray:
    """The layer of every node (``int64 [N]``): a net's layers if it is strictly layered, else
    its levels (the layer index rule).

    A net is strictly layered when its nodes can be given layers with every edge going from one
    layer to the next, the inputs in layer 0 and the outputs all in the last: the layers of an
    MLP, sparse or not. They are found by walking the edges both ways from the inputs. Where
    the layer index rule would put a hidden node without in-edges at level 0 (a sparse draw can
    leave one), this keeps it in its layer. A node without any edge takes layer 1.

    Example:
        >>> import torch
        >>> # inputs 0, 1; hidden 2, 3 (3 has no in-edge); output 4
        >>> s = Structure(torch.tensor([[0, 1, 2, 3], [2, 2, 4, 4]]), range(5), [0, 1], [4],
        ...               ["identity", "identity", "relu", "relu", "identity"])
        >>> s.level.tolist(), layering(s).tolist()
        ([0, 0, 1, 0, 2], [0, 0, 1, 1, 2])
    """
    n = structure.num_nodes
    src, dst = structure.edge_index.numpy()
    # both directions: the layer of a neighbour is this node's +1 (successor) or -1 (predecessor)
    ends = np.concatenate([src, dst])
    other = np.concatenate([dst, src])
    step = np.concatenate([np.ones(src.size, np.int64), -np.ones(src.size, np.int64)])
    order = np.argsort(ends, kind="stable")
    other, step = other[order], step[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
    layer = np.full(n, -1, dtype=np.int64)
    frontier = structure.inputs.numpy()
    layer[frontier] = 0
    while frontier.size:
        starts, counts = ptr[frontier], ptr[frontier + 1] - ptr[frontier]
        at = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        nodes = other[at]
        want = np.repeat(layer[frontier], counts) + step[at]
        new = layer[nodes] < 0
        layer[nodes[new]] = want[new]  # one of several proposals: checked below
        frontier = np.unique(nodes[new])
    has_edge = np.bincount(ends, minlength=n) > 0
    outs = layer[structure.outputs.numpy()]
    strict = (
        (layer[has_edge] >= 0).all()
        and (layer[dst] - layer[src] == 1).all()
        and (outs == outs.max()).all()
        and outs.max() == layer.max()
    )
    if not strict:
        return structure.level.copy()
    layer[~has_edge] = 1
    return layer


def descendants(structure: Structure) -> np.ndarray:
    """Every node's descendants as a bitset: ``uint64 [N, ⌈N/64⌉]``, bit ``u`` of row ``v`` set
    when a path leads from ``v`` to ``u`` (``v`` itself excluded).

    Computed level by level from the last: a node's descendants are its successors and theirs,
    OR-ed over its out-edges a chunk of edges at a time.

    Example:
        >>> import graphnets
        >>> s = graphnets.mlp([2, 2, 1], seed=0).structure
        >>> reaches(descendants(s), np.array([0, 4]), np.array([4, 0])).tolist()
        [True, False]
    """
    n = structure.num_nodes
    words = max(1, (n + 63) // 64)
    bits = np.zeros((n, words), dtype=np.uint64)
    src, dst = structure.edge_index.numpy()
    level = _levels(src, dst, n)
    order = np.lexsort((src, -level[src]))  # by source level, last first; then by source
    src, dst = src[order], dst[order]
    chunk = max(1, (1 << 24) // (8 * words))
    start = 0
    while start < src.size:
        # one level at a time, at most `chunk` edges at a time: every destination is final
        lv = level[src[start]]
        stop = min(start + chunk, int(np.searchsorted(-level[src], -lv, side="right")))
        s, d = src[start:stop], dst[start:stop]
        rows = bits[d]
        rows[np.arange(d.size), d >> 6] |= np.left_shift(np.uint64(1), (d & 63).astype(np.uint64))
        first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        bits[s[first]] |= np.bitwise_or.reduceat(rows, first, axis=0)
        start = stop
    return bits


def reaches(bits: np.ndarray, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Whether ``v[k]`` reaches ``u[k]`` (a path ``v ⇝ u``), from :func:`descendants`.

    Example:
        >>> import graphnets
        >>> s = graphnets.mlp([1, 1, 1], seed=0).structure  # 0 -> 1 -> 2
        >>> reaches(descendants(s), np.array([0, 2]), np.array([2, 0])).tolist()
        [True, False]
    """
    v = np.asarray(v, dtype=np.int64)
    u = np.asarray(u, dtype=np.int64)
    word = bits[v, u >> 6]
    return ((word >> (u & 63).astype(np.uint64)) & np.uint64(1)).astype(bool)


def reach_mask(bits: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``bool [n_src, n_dst]``: whether ``dst[j]`` reaches ``src[i]``, i.e. whether the edge
    ``src[i] -> dst[j]`` would close a cycle.

    Example:
        >>> import graphnets
        >>> s = graphnets.mlp([1, 1, 1], seed=0).structure  # 0 -> 1 -> 2
        >>> reach_mask(descendants(s), np.array([2]), np.array([0, 1])).tolist()
        [[True, True]]
    """
    # little-endian words: bit b of word w is byte 8w + b // 8, bit b % 8
    rows = np.unpackbits(
        bits[np.asarray(dst)].astype("<u8", copy=False).view(np.uint8), axis=1, bitorder="little"
    )
    return rows[:, np.asarray(src)].T.astype(bool)
