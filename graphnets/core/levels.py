"""Levels of a directed graph: pure functions over ``edge_index`` arrays.

The level of a node is 0 for sources (nodes without in-edges, inputs among them) and
``1 + max(level of its in-neighbours)`` otherwise: the layer index rule of ``002_…`` §4.3 and the
evaluation layers of ``001_…`` §4.5. Computed by Kahn's algorithm one generation at a time, with
numpy doing the work of a generation in a few vectorised calls, so 1M-edge graphs level in
well under a second.

Not checked here: labels, roles, duplicate edges (see :class:`graphnets.Structure`).
"""

from __future__ import annotations

import numpy as np

from .._util.arrays import unique_counts, unique_sorted

__all__ = ["CycleError", "levels", "find_cycle", "reachable", "insert_edges"]


class CycleError(ValueError):
    """The feed-forward edges of a graph contain a cycle; ``cycle`` holds its node indices."""

    def __init__(self, message: str, cycle: list[int]):
        super().__init__(message)
        self.cycle = cycle


def _csr(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``values`` by ``keys`` in ``0..n-1``: returns ``(ptr [n+1], grouped values)``."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, values[order]


# Below this many edges, a plain Python Kahn walk beats per-generation numpy calls (deep, small
# graphs have hundreds of generations of a few nodes each); measured in benchmarks/bench_build.py.
PYTHON_MAX_EDGES = 100_000


def _successors(ptr: np.ndarray, out: np.ndarray, frontier: np.ndarray) -> np.ndarray:
    """The heads of all out-edges of ``frontier`` (with repeats), without a Python loop."""
    starts = ptr[frontier]
    counts = ptr[frontier + 1] - starts
    total = int(counts.sum())
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return out[offsets + np.arange(total)]


def levels(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> np.ndarray:
    """Level of every node (``int64 [num_nodes]``), or ``CycleError`` naming one cycle.

    Example:
        >>> levels(np.array([0, 0, 1]), np.array([1, 2, 2]), 3).tolist()
        [0, 1, 2]
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    if src.size <= PYTHON_MAX_EDGES:
        level = _levels_python(src, dst, num_nodes)
    else:
        level = _levels_numpy(src, dst, num_nodes)
    if level.size and level.min() < 0:
        raise CycleError("", find_cycle(src, dst, level < 0))
    return level


def _levels_python(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> np.ndarray:
    ptr, out = _csr(src, dst, num_nodes)
    ptr_l, out_l = ptr.tolist(), out.tolist()
    remaining = np.bincount(dst, minlength=num_nodes).tolist()
    level = [-1] * num_nodes
    frontier = [i for i, r in enumerate(remaining) if r == 0]
    depth = 0
    while frontier:
        nxt = []
        for v in frontier:
            level[v] = depth
            for u in out_l[ptr_l[v] : ptr_l[v + 1]]:
                remaining[u] -= 1
                if remaining[u] == 0:
                    nxt.append(u)
        frontier = nxt
        depth += 1
    return np.asarray(level, dtype=np.int64)


def _levels_numpy(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> np.ndarray:
    remaining = np.bincount(dst, minlength=num_nodes)
    ptr, out = _csr(src, dst, num_nodes)
    level = np.full(num_nodes, -1, dtype=np.int64)
    frontier = np.flatnonzero(remaining == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        hit, times = unique_counts(_successors(ptr, out, frontier))
        remaining[hit] -= times
        frontier = hit[remaining[hit] == 0]
        depth += 1
    return level


def find_cycle(src: np.ndarray, dst: np.ndarray, candidates: np.ndarray) -> list[int]:
    """One directed cycle among the nodes flagged in ``candidates`` (left over by Kahn).

    Every left-over node has a left-over in-neighbour, so walking backwards from any of them
    must revisit a node; the revisited stretch, reversed, is a cycle.
    """
    keep = candidates[src] & candidates[dst]
    pred = np.full(candidates.shape[0], -1, dtype=np.int64)
    pred[dst[keep]] = src[keep]
    node = int(np.flatnonzero(candidates)[0])
    seen: dict[int, int] = {}
    path: list[int] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = int(pred[node])
    cycle = path[seen[node] :]
    cycle.reverse()
    return cycle


def reachable(src: np.ndarray, dst: np.ndarray, num_nodes: int, start: np.ndarray) -> np.ndarray:
    """Boolean mask of the nodes reachable from ``start`` along ``src → dst`` edges."""
    ptr, out = _csr(np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64), num_nodes)
    seen = np.zeros(num_nodes, dtype=bool)
    frontier = unique_sorted(np.asarray(start, dtype=np.int64))
    seen[frontier] = True
    while frontier.size:
        nxt = unique_sorted(_successors(ptr, out, frontier))
        frontier = nxt[~seen[nxt]]
        seen[frontier] = True
    return seen


def insert_edges(
    level: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    num_nodes: int,
    new_src: np.ndarray,
    new_dst: np.ndarray,
) -> np.ndarray:
    """The levels after appending the edges ``new_src -> new_dst`` to ``src -> dst``, updated
    online instead of recomputed, or ``CycleError`` naming a cycle they close.

    Online update (the layered form of online topological ordering, ``001_…`` §2.5): the new
    edges are inserted one at a time; an edge ``u -> v`` with ``level[v] <= level[u]`` lifts
    ``v`` to ``level[u] + 1`` and the lift propagates to successors (over the old edges and the
    new ones inserted so far) that are no longer above their predecessor. The edge closes a
    cycle exactly when the lift reaches ``u``. Only lifted nodes are visited.

    Example:
        >>> insert_edges(np.array([0, 1, 0]), np.array([0]), np.array([1]), 3,
        ...              np.array([1]), np.array([2])).tolist()
        [0, 1, 2]
    """
    level = np.array(level, dtype=np.int64, copy=True)
    new_src = np.asarray(new_src, dtype=np.int64)
    new_dst = np.asarray(new_dst, dtype=np.int64)
    if not np.any(level[new_dst] <= level[new_src]):
        return level
    ptr, succ = _csr(np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64), num_nodes)
    added: dict[int, list[int]] = {}  # successors through the new edges inserted so far
    for u, v in zip(new_src.tolist(), new_dst.tolist(), strict=True):
        added.setdefault(u, []).append(v)
        if level[v] > level[u]:
            continue
        level[v] = level[u] + 1
        parent = {v: u}
        stack = [v]
        while stack:
            x = stack.pop()
            for w in succ[ptr[x] : ptr[x + 1]].tolist() + added.get(x, []):
                if level[w] > level[x]:
                    continue
                if w == u:  # v reaches u: u -> v closes a cycle
                    cycle = [x]
                    while cycle[-1] != v:
                        cycle.append(parent[cycle[-1]])
                    cycle.reverse()  # v ... x, then x -> u -> v closes it
                    raise CycleError("", [u] + cycle)
                level[w] = level[x] + 1
                parent[w] = x
                stack.append(w)
    return level
