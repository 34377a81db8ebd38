"""The topology of a GraphNet as plain tensors, validated once on construction.

Conventions used everywhere in graphnets:

* nodes are numbered ``0 .. num_nodes-1`` in construction order; ``labels[i]`` is the stable,
  user-facing label of node ``i`` (any hashable);
* ``edge_index`` is a ``LongTensor [2, E]``, row 0 the source, row 1 the destination; edge ``e``
  owns ``weight[e]`` of the module;
* ``inputs`` and ``outputs`` are ordered node-index tensors: ``x[:, k]`` feeds ``inputs[k]`` and
  ``y[:, k]`` is read from ``outputs[k]``;
* ``activations[i]`` is the canonical activation spec of node ``i`` (inputs: ``"identity"``,
  never applied);
* ``delay[e]`` is edge ``e``'s delay in time steps: ``0`` for a feed-forward edge, ``d >= 1``
  for a recurrent edge that carries its source's value from ``d`` steps back. Levels, and so the
  schedule, are those of the delay-0 edges alone: any directed graph, cycles and self loops
  included, is a valid structure as long as its delay-0 part is acyclic.

A structure holds no parameters and is cheap to copy. It is never modified in place: edits build
a new one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import torch

from .._util.arrays import unique_counts
from .activations import parse_activation
from .levels import CycleError, insert_edges, reachable
from .levels import levels as _levels

__all__ = ["Structure", "check_delay", "layered"]


def _fmt(label: Hashable) -> str:
    return repr(label)


class Structure:
    """Validated topology: labels, ``edge_index``, node roles and activations.

    Args:
        edge_index (LongTensor): ``[2, E]`` source and destination node indices.
        labels (sequence): one unique hashable label per node.
        inputs (sequence of int): input node indices, in the order of ``x``'s columns.
        outputs (sequence of int): output node indices, in the order of ``y``'s columns.
        activations (sequence of str): one activation spec per node.
        delay (LongTensor, optional): ``[E]`` delay of every edge, ints ``>= 0`` (default: all
            ``0``, a feed-forward net).

    Raises:
        ValueError: on delay-0 self loops, duplicate edges (same source, destination and delay),
            edges into inputs, negative delays, a cycle of delay-0 edges,
            empty / overlapping / repeated inputs or outputs, indices out of range, repeated
            labels or unknown activations. Each message names the offending nodes by label.
    """

    __slots__ = (
        "edge_index",
        "labels",
        "inputs",
        "outputs",
        "activations",
        "delay",
        "_level",
        "_index",
        "_recurrent",
    )

    def __init__(
        self,
        edge_index: torch.Tensor,
        labels: Sequence[Hashable],
        inputs: Sequence[int] | torch.Tensor,
        outputs: Sequence[int] | torch.Tensor,
        activations: Sequence[str],
        delay: Sequence[int] | torch.Tensor | None = None,
    ) -> None:
        self.labels: tuple = tuple(labels)
        n = len(self.labels)
        self._index: dict | None = None
        self.edge_index = _check_edge_index(edge_index, n)
        self.delay = check_delay(delay, self.edge_index.shape[1])
        self.inputs = _check_roles(inputs, "inputs", n)
        self.outputs = _check_roles(outputs, "outputs", n)
        if len(activations) != n:
            raise ValueError(f"expected {n} activations (one per node), got {len(activations)}")
        bad = next((a for a in activations if not isinstance(a, str)), None)
        if bad is not None:
            parse_activation(bad)  # raises the TypeError that names it
        canon = {a: parse_activation(a).spec for a in set(activations)}
        acts = [canon[a] for a in activations]
        for i in self.inputs.tolist():
            acts[i] = "identity"
        self.activations: tuple[str, ...] = tuple(acts)
        self._validate()
        src, dst = self._feedforward_edges()
        try:
            self._level: np.ndarray | None = _levels(src, dst, n)
        except CycleError as err:
            hint = (
                "remove one of its edges or give one a delay >= 1"
                if self.is_recurrent
                else "remove one of its edges"
            )
            raise CycleError(
                f"the feed-forward edges contain a cycle: {self.cycle_text(err.cycle)}; {hint}",
                err.cycle,
            ) from None

    def cycle_text(self, cycle: Sequence[int]) -> str:
        """``'a' -> 'b' -> 'a'`` for the cycle of node indices ``cycle``; a long cycle is shown
        by its first and last nodes and its length, so an error stays readable."""
        names = [_fmt(self.labels[i]) for i in list(cycle) + list(cycle[:1])]
        if len(names) > 13:
            names = names[:6] + [f"... ({len(cycle)} nodes in all) ..."] + names[-6:]
        return " -> ".join(names)

    def _feedforward_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Sources and destinations of the delay-0 edges (all edges of a feed-forward net)."""
        src, dst = self.edge_index.numpy()
        if self.is_recurrent:
            ff = self.delay.numpy() == 0
            return src[ff], dst[ff]
        return src, dst

    # -- validation -------------------------------------------------------------------------
    def _validate(self) -> None:
        n = self.num_nodes
        if len(self.index) != n:
            seen: set = set()
            for lab in self.labels:
                if lab in seen:
                    raise ValueError(f"duplicate node label {_fmt(lab)}; labels must be unique")
                seen.add(lab)
        inp, out = self.inputs.tolist(), self.outputs.tolist()
        both = set(inp) & set(out)
        if both:
            lab = self.labels[min(both)]
            raise ValueError(
                f"node {_fmt(lab)} is both an input and an output; inputs and outputs must be "
                "disjoint"
            )
        self._check_edges(0)

    def _check_edges(self, first: int) -> None:
        """Edges ``first:`` must not be delay-0 self loops nor enter inputs, and no edge may
        repeat another (same source, destination and delay)."""
        n = self.num_nodes
        src, dst = self.edge_index.numpy()
        delay = self.delay.numpy()
        loops = first + np.flatnonzero((src[first:] == dst[first:]) & (delay[first:] == 0))
        if loops.size:
            lab = self.labels[src[loops[0]]]
            raise ValueError(
                f"self loop on node {_fmt(lab)} (edge {_fmt(lab)} -> {_fmt(lab)}); a "
                "feed-forward edge must join two different nodes (a recurrent self loop needs a "
                "delay >= 1)"
            )
        is_input = np.zeros(n, dtype=bool)
        is_input[self.inputs.numpy()] = True
        into = first + np.flatnonzero(is_input[dst[first:]])
        if into.size:
            e = into[0]
            raise ValueError(
                f"edge {_fmt(self.labels[src[e]])} -> {_fmt(self.labels[dst[e]])} enters input "
                f"node {_fmt(self.labels[dst[e]])}; input nodes take no in-edges (their value is "
                "the input x)"
            )
        key = src * max(n, 1) + dst
        if self.is_recurrent:  # u -> v with delays 0 and 1 are two different connections
            key = key * (int(delay.max()) + 1) + delay
        uniq, counts = unique_counts(key)
        if uniq.size != key.size:
            k = uniq[np.flatnonzero(counts > 1)[0]]
            pos = np.flatnonzero(key == k)[:2].tolist()
            d = f" with delay {delay[pos[0]]}" if self.is_recurrent else ""
            raise ValueError(
                f"duplicate edge {_fmt(self.labels[src[pos[0]]])} -> "
                f"{_fmt(self.labels[dst[pos[0]]])}{d} (edges {pos[0]} and {pos[1]}); give each "
                f"pair at most one edge{' per delay' if d else ''} (sum their weights)"
            )

    # -- introspection ----------------------------------------------------------------------
    @property
    def level(self) -> np.ndarray:
        """Level of every node (``int64 [N]``): the layer index rule over the delay-0 edges
        (computed on first use)."""
        if self._level is None:
            src, dst = self._feedforward_edges()
            self._level = _levels(src, dst, self.num_nodes)
        return self._level

    @property
    def is_recurrent(self) -> bool:
        """Whether any edge has a delay ``>= 1`` (cached for this ``delay`` tensor: every
        forward call asks, and scanning a million delays costs ~0.1 ms)."""
        cached = getattr(self, "_recurrent", None)
        if cached is None or cached[0] is not self.delay:
            cached = (self.delay, bool(self.delay.numel()) and bool(self.delay.any()))
            self._recurrent: tuple[torch.Tensor, bool] = cached
        return cached[1]

    @property
    def max_delay(self) -> int:
        """The largest delay (``0`` for a feed-forward structure)."""
        return int(self.delay.max()) if self.delay.numel() else 0

    def feedforward(self) -> tuple[Structure, np.ndarray]:
        """The structure of the delay-0 edges alone and the ids of those edges in this one.

        A feed-forward structure returns itself and all edge ids.
        """
        ids = np.flatnonzero(self.delay.numpy() == 0)
        if not self.is_recurrent:
            return self, ids
        new = self._trusted(
            self.labels,
            self.edge_index[:, torch.from_numpy(ids)],
            self.inputs,
            self.outputs,
            self.activations,
            torch.zeros(ids.size, dtype=torch.long),
            self._level,
            self._index,
        )
        return new, ids

    # -- trusted constructors: results of operations that keep a valid structure valid --------
    @classmethod
    def _trusted(
        cls,
        labels: tuple,
        edge_index: torch.Tensor,
        inputs: torch.Tensor,
        outputs: torch.Tensor,
        activations: tuple,
        delay: torch.Tensor,
        level: np.ndarray | None = None,
        index: dict | None = None,
    ) -> Structure:
        """A structure from parts known to be valid, without validating them again."""
        new = cls.__new__(cls)
        new.labels, new.edge_index, new.inputs, new.outputs = labels, edge_index, inputs, outputs
        new.activations, new.delay, new._level, new._index = activations, delay, level, index
        return new

    def subgraph(
        self, keep_edges: np.ndarray, keep_nodes: np.ndarray
    ) -> tuple[Structure, np.ndarray, np.ndarray]:
        """The structure restricted to kept nodes and edges, with the old → new index maps.

        A subgraph of a valid structure is valid (no new cycle, duplicate or edge into an
        input), so only the indices are recomputed, and the levels when first asked for. Kept
        edges must join kept nodes; every input and output must be kept.

        Returns:
            ``(structure, edge_map [E], node_map [N])``, the maps giving the new id of every
            old edge / node (``-1`` if removed).
        """
        keep_edges = np.asarray(keep_edges, dtype=bool)
        keep_nodes = np.asarray(keep_nodes, dtype=bool)
        node_map = np.full(self.num_nodes, -1, dtype=np.int64)
        node_map[keep_nodes] = np.arange(int(keep_nodes.sum()))
        edge_map = np.full(self.num_edges, -1, dtype=np.int64)
        edge_map[keep_edges] = np.arange(int(keep_edges.sum()))
        ei = self.edge_index.numpy()[:, keep_edges]
        all_nodes = bool(keep_nodes.all())
        new = self._trusted(
            self.labels
            if all_nodes
            else tuple(lab for lab, k in zip(self.labels, keep_nodes, strict=True) if k),
            torch.from_numpy(node_map[ei]),
            torch.from_numpy(node_map[self.inputs.numpy()]),
            torch.from_numpy(node_map[self.outputs.numpy()]),
            self.activations
            if all_nodes
            else tuple(a for a, k in zip(self.activations, keep_nodes, strict=True) if k),
            self.delay[torch.from_numpy(keep_edges)],
            None,  # computed when first asked for: the schedule may not need it
            self._index if all_nodes else None,
        )
        return new, edge_map, node_map

    def add_edges(
        self,
        src: Sequence[int] | np.ndarray,
        dst: Sequence[int] | np.ndarray,
        delay: Sequence[int] | torch.Tensor | None = None,
    ) -> Structure:
        """This structure with the edges ``src[k] -> dst[k]`` (node indices) appended.

        Only the new edges are validated (as the constructor would), and the levels are updated
        online (:func:`graphnets.core.levels.insert_edges`) instead of recomputed.

        Raises:
            ValueError: as the constructor, for the new edges.
            CycleError: when the new delay-0 edges close a cycle (named).

        Example:
            >>> s = Structure(torch.tensor([[0, 1], [1, 2]]), "abc", [0], [2], ["identity"] * 3)
            >>> s.add_edges([0], [2]).num_edges, s.num_edges
            (3, 2)
        """
        src = np.asarray(src, dtype=np.int64).reshape(-1)
        dst = np.asarray(dst, dtype=np.int64).reshape(-1)
        if src.size != dst.size:
            raise ValueError(
                f"expected as many sources as destinations, got {src.size} and {dst.size}"
            )
        new_ei = _check_edge_index(torch.from_numpy(np.stack([src, dst])), self.num_nodes)
        new_delay = check_delay(delay, src.size)
        new = self._trusted(
            self.labels,
            torch.cat([self.edge_index, new_ei], 1),
            self.inputs,
            self.outputs,
            self.activations,
            torch.cat([self.delay, new_delay]),
            None,
            self._index,
        )
        new._check_edges(self.num_edges)
        ff = new_delay.numpy() == 0
        old_src, old_dst = self._feedforward_edges()
        try:
            new._level = insert_edges(
                self.level, old_src, old_dst, self.num_nodes, src[ff], dst[ff]
            )
        except CycleError as err:
            raise CycleError(
                f"adding these edges would close a feed-forward cycle: "
                f"{self.cycle_text(err.cycle)}; leave one of them out or give it a delay >= 1",
                err.cycle,
            ) from None
        return new

    def reach(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boolean masks ``[N]``: the nodes some input reaches, the nodes that reach some output
        (along all edges, delayed ones included), and the hidden nodes."""
        src, dst = self.edge_index.numpy()
        n = self.num_nodes
        hidden = np.ones(n, dtype=bool)
        hidden[self.inputs.numpy()] = False
        hidden[self.outputs.numpy()] = False
        return (
            reachable(src, dst, n, self.inputs.numpy()),
            reachable(dst, src, n, self.outputs.numpy()),
            hidden,
        )

    @property
    def index(self) -> dict:
        """Label → node index."""
        if self._index is None:
            self._index = {lab: i for i, lab in enumerate(self.labels)}
        return self._index

    @property
    def num_nodes(self) -> int:
        return len(self.labels)

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    @property
    def num_levels(self) -> int:
        return int(self.level.max()) + 1 if self.level.size else 0

    def lookup(self, labels: Sequence[Hashable], what: str = "nodes") -> list[int]:
        """Node indices of ``labels``; ``ValueError`` naming the first label not in the graph."""
        index = self.index
        out = []
        for lab in labels:
            try:
                out.append(index[lab])
            except (KeyError, TypeError):
                raise ValueError(
                    f"{what} name {_fmt(lab)}, which is not a node of the graph "
                    f"(it has {self.num_nodes} nodes, e.g. {_examples(self.labels)})"
                ) from None
        return out

    def __repr__(self) -> str:
        rec = f", delayed={int((self.delay > 0).sum())}" if self.is_recurrent else ""
        return (
            f"Structure(nodes={self.num_nodes}, edges={self.num_edges}{rec}, "
            f"inputs={len(self.inputs)}, outputs={len(self.outputs)}, levels={self.num_levels})"
        )


def _examples(labels: tuple) -> str:
    shown = ", ".join(_fmt(x) for x in labels[:3])
    return shown + (", ..." if len(labels) > 3 else "")


def _check_edge_index(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    if isinstance(edge_index, np.ndarray):
        edge_index = torch.from_numpy(edge_index)
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(
            f"edge_index must be a LongTensor of shape [2, E], got {type(edge_index).__name__}"
        )
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
    if edge_index.dtype.is_floating_point or edge_index.dtype == torch.bool:
        raise TypeError(f"edge_index must hold integers, got dtype {edge_index.dtype}")
    edge_index = edge_index.detach().to("cpu", torch.long).contiguous()
    if edge_index.numel():
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"edge_index refers to node {bad}, but there are {n} nodes (valid indices "
                f"0..{n - 1})"
            )
    return edge_index


def check_delay(
    delay: Sequence[int] | torch.Tensor | np.ndarray | None, num_edges: int
) -> torch.Tensor:
    """``delay`` as a ``LongTensor [num_edges]`` of ints ``>= 0`` (``None``: all 0), or the error
    that names the bad entry."""
    if delay is None:
        return torch.zeros(num_edges, dtype=torch.long)
    if isinstance(delay, np.ndarray):
        delay = torch.from_numpy(delay)
    if not isinstance(delay, torch.Tensor):
        try:
            # an empty list would become a float tensor: no delays are integers too
            delay = torch.as_tensor(list(delay), dtype=None if len(delay) else torch.long)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"delay must be a sequence of ints (one per edge), got {delay!r}"
            ) from None
    if delay.dtype.is_floating_point or delay.dtype == torch.bool or delay.is_complex():
        raise TypeError(f"delay must hold integers (time steps), got dtype {delay.dtype}")
    delay = delay.detach().to("cpu", torch.long).reshape(-1).contiguous()
    if delay.numel() != num_edges:
        raise ValueError(f"expected {num_edges} delays (one per edge), got {delay.numel()}")
    if delay.numel() and int(delay.min()) < 0:
        e = int((delay < 0).nonzero()[0, 0])
        raise ValueError(
            f"delay of edge {e} is {int(delay[e])}; delays are ints >= 0 (0: "
            "feed-forward, d >= 1: from d time steps back)"
        )
    return delay


def _check_roles(nodes: Sequence[int] | torch.Tensor, what: str, n: int) -> torch.Tensor:
    idx = torch.as_tensor(list(nodes) if not isinstance(nodes, torch.Tensor) else nodes)
    idx = idx.to("cpu", torch.long).reshape(-1)
    if idx.numel() == 0:
        raise ValueError(f"{what} must name at least one node, got none")
    if int(idx.min()) < 0 or int(idx.max()) >= n:
        raise ValueError(f"{what} refer to node index {idx.tolist()}, valid indices are 0..{n - 1}")
    if torch.unique(idx).numel() != idx.numel():
        vals, counts = torch.unique(idx, return_counts=True)
        raise ValueError(
            f"{what} list node index {int(vals[counts > 1][0])} more than once; each node may "
            "appear once"
        )
    return idx


def layered(sizes: Sequence[int], activations: Sequence[str]) -> Structure:
    """The structure of a dense layered net: layer sizes ``sizes`` (inputs first) and
    ``activations[l]`` for the nodes of layer ``l + 1``.

    Nodes are labelled ``(layer, unit)``; edges run layer by layer, destination-major, so a
    schedule needs no reordering and every level's weights are a view of ``weight``.

    Example:
        >>> layered([2, 3, 1], ["relu", "identity"])
        Structure(nodes=6, edges=9, inputs=2, outputs=1, levels=3)
    """
    offs = np.concatenate([[0], np.cumsum(sizes)])
    edges = []
    for ell in range(len(sizes) - 1):
        d = np.arange(offs[ell + 1], offs[ell + 2])
        s = np.arange(offs[ell], offs[ell + 1])
        edges.append(np.stack([np.tile(s, d.size), np.repeat(d, s.size)]))
    edge_index = torch.from_numpy(np.concatenate(edges, axis=1))
    labels = [(ell, u) for ell, k in enumerate(sizes) for u in range(k)]
    acts = ["identity"] * sizes[0]
    for ell, a in enumerate(activations):
        acts += [parse_activation(a).spec] * sizes[ell + 1]
    inputs = list(range(sizes[0]))
    outputs = list(range(int(offs[-2]), int(offs[-1])))
    return Structure(edge_index, labels, inputs, outputs, acts)
