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

from .activations import parse_activation
from .levels import CycleError, levels as _levels

__all__ = ["Structure"]


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

    __slots__ = ("edge_index", "labels", "inputs", "outputs", "activations", "delay", "_level",
                 "_index")

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
        self.delay = _check_delay(delay, self.edge_index.shape[1])
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
            names = " -> ".join(_fmt(self.labels[i]) for i in err.cycle + err.cycle[:1])
            hint = ("remove one of its edges or give one a delay >= 1" if self.is_recurrent
                    else "remove one of its edges")
            raise CycleError(
                f"the feed-forward edges contain a cycle: {names}; {hint}", err.cycle
            ) from None

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
        src, dst = self.edge_index.numpy()
        delay = self.delay.numpy()
        loops = np.flatnonzero((src == dst) & (delay == 0))
        if loops.size:
            lab = self.labels[src[loops[0]]]
            raise ValueError(
                f"self loop on node {_fmt(lab)} (edge {_fmt(lab)} -> {_fmt(lab)}); a "
                "feed-forward edge must join two different nodes (a recurrent self loop needs a "
                "delay >= 1)"
            )
        is_input = np.zeros(n, dtype=bool)
        is_input[inp] = True
        into = np.flatnonzero(is_input[dst])
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
        uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
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
        """Whether any edge has a delay ``>= 1``."""
        return bool(self.delay.numel()) and bool(self.delay.any())

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
        new = Structure.__new__(Structure)
        new.labels, new._index = self.labels, self._index
        new.edge_index = self.edge_index[:, torch.from_numpy(ids)]
        new.inputs, new.outputs, new.activations = self.inputs, self.outputs, self.activations
        new.delay = torch.zeros(ids.size, dtype=torch.long)
        new._level = self._level
        return new, ids

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
        rec = (f", delayed={int((self.delay > 0).sum())}" if self.is_recurrent else "")
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


def _check_delay(delay, num_edges: int) -> torch.Tensor:
    if delay is None:
        return torch.zeros(num_edges, dtype=torch.long)
    if isinstance(delay, np.ndarray):
        delay = torch.from_numpy(delay)
    if not isinstance(delay, torch.Tensor):
        try:
            delay = torch.as_tensor(list(delay))
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"delay must be a sequence of ints (one per edge), got {delay!r}"
                            ) from None
    if delay.dtype.is_floating_point or delay.dtype == torch.bool or delay.is_complex():
        raise TypeError(f"delay must hold integers (time steps), got dtype {delay.dtype}")
    delay = delay.detach().to("cpu", torch.long).reshape(-1).contiguous()
    if delay.numel() != num_edges:
        raise ValueError(f"expected {num_edges} delays (one per edge), got {delay.numel()}")
    if delay.numel() and int(delay.min()) < 0:
        e = int((delay < 0).nonzero()[0, 0])
        raise ValueError(f"delay of edge {e} is {int(delay[e])}; delays are ints >= 0 (0: "
                         "feed-forward, d >= 1: from d time steps back)")
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
