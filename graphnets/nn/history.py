"""What edits did: one :class:`EditRecord` per edit, kept in a net's :class:`History`.

A record keeps what its edit changed and nothing more: the ids of the removed edges and nodes,
the number of added ones, and the labels of the edges' endpoints (one tuple for the removed and
the added edges; when they are most of the nodes, the net's own tuple of labels, shared). The
full old → new index maps
(``edge_map``, ``node_map``) are rebuilt from these when asked for, so a rewiring run of
thousands of small edits on a million-edge net holds megabytes, not gigabytes
(``benchmarks/bench_edits.py`` measures it). ``History(maxlen=k)`` keeps only the last ``k``
records, for runs so long that even that adds up.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable, Sequence
from operator import itemgetter

import numpy as np
import torch

from .._util.checks import positive_int

__all__ = ["EditRecord", "History"]

KINDS = (
    "remove_edges",
    "add_edges",
    "replace_edges",
    "remove_nodes",
    "add_nodes",
    "set_weights",
    "set_biases",
)


def _compact(labels: Sequence[Hashable], *pairs: np.ndarray) -> tuple[tuple, list[np.ndarray]]:
    """The labels of the endpoints of all ``pairs`` (``[2, k]`` each) and each as indices into
    them: one tuple of endpoint labels shared by the removed and the added pairs of a record."""
    if all(p.size == 0 for p in pairs):
        return (), [np.zeros((2, 0), dtype=np.int32) for _ in pairs]
    # the distinct endpoints by marking them among the nodes: no sort of the pairs (a rewiring
    # round records tens of thousands of them)
    top = max(int(p.max()) for p in pairs if p.size)
    present = np.zeros(max(len(labels), top + 1), dtype=bool)
    for p in pairs:
        present[p.reshape(-1)] = True
    ends = np.flatnonzero(present)
    dtype = np.int32 if ends.size < 2**31 else np.int64
    if 2 * ends.size > len(labels) and isinstance(labels, tuple):
        # most nodes are endpoints (a rewiring round): the net's own tuple of labels, shared
        # (at most twice the endpoints' own tuple), and the ids as they are
        return labels, [p.astype(dtype) for p in pairs]
    rank = (np.cumsum(present) - 1).astype(dtype)
    ends_labels = itemgetter(*ends.tolist())(labels)  # one C call, not a generator
    ends_labels = ends_labels if ends.size > 1 else (ends_labels,)
    return ends_labels, [rank[p] if p.size else np.zeros((2, 0), dtype=dtype) for p in pairs]


def _sorted(ids: np.ndarray | None, empty: np.ndarray) -> np.ndarray:
    """``ids`` sorted as int64 (a new array), without a sort when they come sorted (the edits
    pass ``np.flatnonzero`` of a mask)."""
    if ids is None:
        return empty
    ids = np.asarray(ids).astype(np.int64)  # a copy: the record owns it
    return ids if ids.size < 2 or bool(np.all(ids[1:] >= ids[:-1])) else np.sort(ids)


class EditRecord:
    """What one edit did.

    Attributes:
        kind: ``"remove_edges"``, ``"add_edges"``, ``"replace_edges"`` (some removed, others
            added, in one edit), ``"remove_nodes"``, ``"add_nodes"``, ``"set_weights"`` or
            ``"set_biases"``.
        num_edges_before, num_nodes_before: the sizes before the edit.
        removed_edge_ids, removed_node_ids: ``LongTensor``, the old ids of what was removed
            (sorted).
        num_added_edges, num_added_nodes: how many were appended (after the surviving ones).
        edge_ids: for ``set_weights``, the ids of the edges set.
        node_ids: for ``set_biases``, the ids of the nodes set.
        removed_nodes, added_nodes: labels.
        removed_edges, added_edges: ``(src, dst)`` label pairs (built when first read: a pruning
            step may remove half a million edges).
        edge_map, node_map: ``LongTensor [E_before]`` / ``[N_before]``, the new id of every old
            edge / node, ``-1`` if removed (built when read).
    """

    __slots__ = (
        "kind",
        "num_edges_before",
        "num_nodes_before",
        "removed_edge_ids",
        "removed_node_ids",
        "num_added_edges",
        "num_added_nodes",
        "edge_ids",
        "node_ids",
        "removed_nodes",
        "added_nodes",
        "_removed",
        "_added",
    )

    def __init__(
        self,
        kind: str,
        num_edges_before: int,
        num_nodes_before: int,
        *,
        labels: Sequence[Hashable] = (),
        removed_edge_ids: np.ndarray | None = None,
        removed_pairs: np.ndarray | None = None,
        added_pairs: np.ndarray | None = None,
        removed_node_ids: np.ndarray | None = None,
        added_nodes: Iterable[Hashable] = (),
        edge_ids: np.ndarray | None = None,
        node_ids: np.ndarray | None = None,
    ) -> None:
        empty = np.zeros(0, dtype=np.int64)
        self.kind = kind
        self.num_edges_before = int(num_edges_before)
        self.num_nodes_before = int(num_nodes_before)
        self.removed_edge_ids = torch.from_numpy(_sorted(removed_edge_ids, empty))
        self.removed_node_ids = torch.from_numpy(
            np.sort(empty if removed_node_ids is None else removed_node_ids).astype(np.int64)
        )
        self.removed_nodes = [labels[i] for i in self.removed_node_ids.tolist()]
        self.added_nodes = list(added_nodes)
        self.num_added_nodes = len(self.added_nodes)
        self.num_added_edges = 0 if added_pairs is None else int(added_pairs.shape[1])
        self.edge_ids = (
            None
            if edge_ids is None
            else torch.from_numpy(np.asarray(edge_ids, dtype=np.int64).copy())
        )
        self.node_ids = (
            None
            if node_ids is None
            else torch.from_numpy(np.asarray(node_ids, dtype=np.int64).copy())
        )
        none = np.zeros((2, 0), np.int64)
        ends, (removed, added) = _compact(
            labels,
            none if removed_pairs is None else removed_pairs,
            none if added_pairs is None else added_pairs,
        )
        self._removed, self._added = (ends, removed), (ends, added)

    @staticmethod
    def _pairs(compact: tuple[tuple, np.ndarray]) -> list:
        ends, idx = compact
        return [(ends[a], ends[b]) for a, b in idx.T.tolist()]

    @property
    def removed_edges(self) -> list:
        return self._pairs(self._removed)

    @property
    def added_edges(self) -> list:
        return self._pairs(self._added)

    @staticmethod
    def _map(size: int, removed: torch.Tensor) -> torch.Tensor:
        keep = torch.ones(size, dtype=torch.bool)
        keep[removed] = False
        out = torch.full((size,), -1, dtype=torch.long)
        out[keep] = torch.arange(size - removed.numel())
        return out

    @property
    def edge_map(self) -> torch.Tensor:
        """``LongTensor [E_before]``: the new id of every old edge, ``-1`` if removed."""
        return self._map(self.num_edges_before, self.removed_edge_ids)

    @property
    def node_map(self) -> torch.Tensor:
        """``LongTensor [N_before]``: the new index of every old node, ``-1`` if removed."""
        return self._map(self.num_nodes_before, self.removed_node_ids)

    def nbytes(self) -> int:
        """Bytes the record holds: its arrays and its tuples of endpoint labels (the label objects
        themselves are the net's, shared)."""
        arrays = [self.removed_edge_ids, self.removed_node_ids, self._removed[1], self._added[1]]
        arrays += [ids for ids in (self.edge_ids, self.node_ids) if ids is not None]
        tuples = sys.getsizeof(self._removed[0])
        if self._added[0] is not self._removed[0]:  # counted once when both share one
            tuples += sys.getsizeof(self._added[0])
        return sum(int(a.nbytes) for a in arrays) + tuples

    def __repr__(self) -> str:
        counts = (
            ("removed_edges", self.removed_edge_ids.numel()),
            ("added_edges", self.num_added_edges),
            ("removed_nodes", len(self.removed_nodes)),
            ("added_nodes", len(self.added_nodes)),
            ("set", sum(0 if i is None else i.numel() for i in (self.edge_ids, self.node_ids))),
        )
        parts = [f"{k}={v}" for k, v in counts if v]
        return f"EditRecord({self.kind}, {', '.join(parts) or 'no change'})"


class History(Sequence):
    """The :class:`EditRecord` of every edit of a net, oldest first (a read-only sequence).

    Args:
        maxlen (int, optional): keep only the last ``maxlen`` records; older ones are dropped
            as new ones arrive and counted in :attr:`dropped` (default: ``None``, keep all).

    Attributes:
        count: how many edits were ever recorded (kept and dropped).
        dropped: how many old records were dropped to respect ``maxlen``.

    Example:
        >>> h = History(maxlen=2)
        >>> for k in range(3):
        ...     h.append(k)
        >>> list(h), h.count, h.dropped
        ([1, 2], 3, 1)
    """

    def __init__(self, *, maxlen: int | None = None) -> None:
        self.maxlen = None if maxlen is None else positive_int(maxlen, "maxlen")
        self.count = 0
        self.dropped = 0
        self._records: list = []

    def append(self, record) -> None:
        """Add the record of a new edit (dropping the oldest beyond ``maxlen``)."""
        self._records.append(record)
        self.count += 1
        if self.maxlen is not None and len(self._records) > self.maxlen:
            extra = len(self._records) - self.maxlen
            del self._records[:extra]
            self.dropped += extra

    def clear(self) -> None:
        """Forget every kept record (they count as dropped)."""
        self.dropped += len(self._records)
        self._records.clear()

    def __getitem__(self, i):  # type: ignore[override]
        return self._records[i]

    def __len__(self) -> int:
        return len(self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, History):
            other = other._records
        return isinstance(other, list) and self._records == other

    __hash__ = None  # type: ignore[assignment]

    def nbytes(self) -> int:
        """Bytes the kept records hold (see :meth:`EditRecord.nbytes`)."""
        return sum(r.nbytes() for r in self._records if isinstance(r, EditRecord))

    def __repr__(self) -> str:
        extra = f", {self.dropped} dropped" if self.dropped else ""
        cap = f", maxlen={self.maxlen}" if self.maxlen is not None else ""
        return f"History({self._records!r}{cap}{extra})"
