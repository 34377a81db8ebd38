r"""Search spaces: the protocol every strategy uses, and the cell space.

A search space says which genotypes exist and how to move between them:

- :meth:`SearchSpace.sample` draws a random genotype;
- :meth:`SearchSpace.mutate` and :meth:`SearchSpace.crossover` make a new genotype from one or
  two parents (the parents are never changed);
- :meth:`SearchSpace.is_valid` / :meth:`SearchSpace.why_invalid` check a genotype;
- :meth:`SearchSpace.key` is a hashable identity (two genotypes with the same key are the same
  architecture, so a strategy never evaluates both);
- :meth:`SearchSpace.to_graph` is what a performance predictor reads.

Genotypes are ``networkx.DiGraph`` objects in both built-in spaces. An operator either returns a
valid genotype or raises :class:`Refused` saying why it cannot (for example, a mutation that
changes one op in a space with a single op).

:class:`CellSpace` is a fixed small DAG whose edges (``on="edges"``, the shape of NAS-Bench-201)
or interior nodes (``on="nodes"``, NAS-Bench-101-like cells) each take one operation; the
genotype carries it as the categorical attribute ``"op"``.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator, Sequence

import networkx as nx
import numpy as np

from ..._util.seeds import Seed, numpy_rng

__all__ = ["Refused", "SearchSpace", "CellSpace", "NAS_BENCH_201_OPS"]

#: The five operations of NAS-Bench-201 (Dong & Yang, 2020), in their order.
NAS_BENCH_201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)


class Refused(ValueError):
    """An operator cannot make a valid genotype from these parents; the message says why."""


class SearchSpace:
    """The protocol of a search space (see the module docstring); subclasses fill it in.

    ``rng`` arguments take anything ``graphnets._util.seeds.numpy_rng`` accepts: ``None``,
    an int seed, a ``torch.Generator`` or a ``numpy.random.Generator`` (used as it is).
    """

    #: Number of distinct genotypes, or ``None`` when it is not known (too many to count).
    size: int | None = None

    def sample(self, rng: Seed | np.random.Generator = None) -> nx.DiGraph:
        """A random valid genotype."""
        raise NotImplementedError

    def mutate(self, genotype: nx.DiGraph, rng: Seed | np.random.Generator = None) -> nx.DiGraph:
        """A valid genotype near ``genotype`` (which is not changed), or :class:`Refused`."""
        raise NotImplementedError

    def crossover(
        self, a: nx.DiGraph, b: nx.DiGraph, rng: Seed | np.random.Generator = None
    ) -> nx.DiGraph:
        """A valid child of ``a`` and ``b`` (which are not changed), or :class:`Refused`."""
        raise NotImplementedError

    def why_invalid(self, genotype: object) -> str | None:
        """``None`` if ``genotype`` belongs to the space, else the first reason it does not."""
        raise NotImplementedError

    def is_valid(self, genotype: object) -> bool:
        """Whether ``genotype`` belongs to the space."""
        return self.why_invalid(genotype) is None

    def check(self, genotype: object, what: str = "genotype") -> nx.DiGraph:
        """``genotype`` if it is valid, else ``ValueError`` with the reason."""
        reason = self.why_invalid(genotype)
        if reason is not None:
            raise ValueError(f"{what} is not in {self!r}: {reason}")
        return genotype  # type: ignore[return-value]

    def key(self, genotype: nx.DiGraph) -> Hashable:
        """A hashable identity: genotypes with equal keys are the same architecture."""
        raise NotImplementedError

    def to_graph(self, genotype: nx.DiGraph) -> object:
        """What a performance predictor reads for ``genotype`` (the genotype by default)."""
        return genotype


def _rng(rng: Seed | np.random.Generator) -> np.random.Generator:
    return numpy_rng(rng)


class CellSpace(SearchSpace):
    r"""A fixed DAG whose edges (or interior nodes) each take one operation from ``ops``.

    With ``on="edges"`` every edge of ``edges`` is a position; with ``on="nodes"`` every node that
    has both predecessors and successors is one, and the sources and sinks carry the fixed ops
    ``"input"`` and ``"output"``. A genotype is a copy of the DAG with the attribute ``"op"`` on
    every position; the space has ``len(ops) ** positions`` genotypes.

    Mutation changes the op of one position to another op; crossover takes each position's op
    from either parent with probability ``1/2`` (uniform crossover).

    Args:
        edges: the DAG as ``(source, target)`` pairs of hashable nodes.
        ops: the operations, distinct strings.
        on: ``"edges"`` or ``"nodes"`` (default: ``"edges"``).

    Raises:
        ValueError: on an empty or cyclic DAG, a self loop, a repeated edge, empty or repeated
            ops, or an unknown ``on``.

    Example:
        >>> space = CellSpace.nas_bench_201()
        >>> space.size, len(space.positions)
        (15625, 6)
        >>> g = space.sample(0)
        >>> space.is_valid(space.mutate(g, 1)), space.key(g) == space.key(g.copy())
        (True, True)
    """

    def __init__(self, edges: Sequence[tuple], ops: Sequence[str], *, on: str = "edges") -> None:
        if on not in ("edges", "nodes"):
            raise ValueError(f"unknown on {on!r}; expected one of edges, nodes")
        edges = [tuple(e) for e in edges]
        if not edges:
            raise ValueError("expected at least one edge, got none")
        bad = [e for e in edges if len(e) != 2]
        if bad:
            raise ValueError(f"expected (source, target) pairs, got {bad[0]!r}")
        if len(set(edges)) != len(edges):
            dup = next(e for e in edges if edges.count(e) > 1)
            raise ValueError(f"edge {dup!r} is given twice; list every edge once")
        loops = [e for e in edges if e[0] == e[1]]
        if loops:
            raise ValueError(f"edge {loops[0]!r} is a self loop; a cell is a DAG")
        dag = nx.DiGraph(edges)
        if not nx.is_directed_acyclic_graph(dag):
            cycle = nx.find_cycle(dag)
            raise ValueError(f"the cell must be acyclic, got the cycle {cycle}")
        ops = list(ops)
        if not ops or not all(isinstance(o, str) for o in ops):
            raise ValueError(f"expected a non-empty sequence of op names (str), got {ops!r}")
        if len(set(ops)) != len(ops):
            raise ValueError(f"ops must be distinct, got {ops!r}")
        self.dag = dag
        self.edges = edges
        self.ops = tuple(ops)
        self.on = on
        if on == "edges":
            self.positions: list = list(edges)
            self.fixed: dict = {}
        else:
            order = list(nx.topological_sort(dag))
            self.positions = [v for v in order if dag.in_degree(v) and dag.out_degree(v)]
            self.fixed = {v: "input" for v in order if dag.in_degree(v) == 0}
            self.fixed.update({v: "output" for v in order if dag.out_degree(v) == 0})
            if not self.positions:
                raise ValueError(
                    "on='nodes' needs at least one node with both in- and out-edges, got none"
                )
        self.size = len(self.ops) ** len(self.positions)

    @classmethod
    def nas_bench_201(cls, ops: Sequence[str] = NAS_BENCH_201_OPS) -> CellSpace:
        """The cell of NAS-Bench-201: 4 nodes, the 6 edges ``i -> j`` (``i < j``), 5 ops each."""
        return cls([(i, j) for j in range(4) for i in range(j)], ops, on="edges")

    def __repr__(self) -> str:
        return (
            f"CellSpace({len(self.dag)} nodes, {len(self.edges)} edges, {len(self.ops)} ops "
            f"on {self.on}, {self.size} genotypes)"
        )

    # -- genotypes <-> op indices ------------------------------------------------------------
    def decode(self, indices: Sequence[int]) -> nx.DiGraph:
        """The genotype whose position ``p`` has op ``ops[indices[p]]``."""
        if len(indices) != len(self.positions):
            raise ValueError(
                f"expected {len(self.positions)} op indices (one per position), got {len(indices)}"
            )
        for i in indices:
            if not (0 <= int(i) < len(self.ops)):
                raise ValueError(f"op index {i} is out of range; expected 0..{len(self.ops) - 1}")
        g = nx.DiGraph()
        g.add_nodes_from(self.dag.nodes)
        g.add_edges_from(self.edges)
        if self.on == "edges":
            for (u, v), i in zip(self.positions, indices, strict=True):
                g.edges[u, v]["op"] = self.ops[int(i)]
        else:
            for v, op in self.fixed.items():
                g.nodes[v]["op"] = op
            for v, i in zip(self.positions, indices, strict=True):
                g.nodes[v]["op"] = self.ops[int(i)]
        return g

    def encode(self, genotype: nx.DiGraph) -> np.ndarray:
        """The op index of every position, ``int64 [positions]`` (the inverse of :meth:`decode`)."""
        self.check(genotype)
        index = {op: i for i, op in enumerate(self.ops)}
        attrs = genotype.edges if self.on == "edges" else genotype.nodes
        return np.array([index[attrs[p]["op"]] for p in self.positions], dtype=np.int64)

    def all(self) -> Iterator[nx.DiGraph]:
        """Every genotype of the space, in the order of ``itertools.product`` over positions."""
        for indices in itertools.product(range(len(self.ops)), repeat=len(self.positions)):
            yield self.decode(indices)

    # -- the protocol ------------------------------------------------------------------------
    def sample(self, rng: Seed | np.random.Generator = None) -> nx.DiGraph:
        """A genotype with every position's op drawn uniformly."""
        return self.decode(_rng(rng).integers(0, len(self.ops), len(self.positions)))

    def mutate(self, genotype: nx.DiGraph, rng: Seed | np.random.Generator = None) -> nx.DiGraph:
        """A copy of ``genotype`` with one random position set to a different op.

        Raises:
            Refused: if the space has a single op (there is no other op to change to).
            ValueError: if ``genotype`` is not in the space.
        """
        ids = self.encode(genotype)
        if len(self.ops) < 2:
            raise Refused(f"cannot mutate: the space has a single op {self.ops[0]!r}")
        gen = _rng(rng)
        p = int(gen.integers(len(ids)))
        ids[p] = (ids[p] + int(gen.integers(1, len(self.ops)))) % len(self.ops)
        return self.decode(ids)

    def crossover(
        self, a: nx.DiGraph, b: nx.DiGraph, rng: Seed | np.random.Generator = None
    ) -> nx.DiGraph:
        """Each position's op from ``a`` or ``b`` with probability ``1/2`` (uniform crossover)."""
        ia, ib = self.encode(a), self.encode(b)
        take = _rng(rng).random(len(ia)) < 0.5
        return self.decode(np.where(take, ia, ib))

    def why_invalid(self, genotype: object) -> str | None:
        if not isinstance(genotype, nx.DiGraph):
            return f"expected a networkx.DiGraph, got {type(genotype).__name__}"
        if set(genotype.nodes) != set(self.dag.nodes):
            return f"expected the nodes {sorted(self.dag.nodes, key=str)}, got {list(genotype)}"
        if set(genotype.edges) != set(self.edges):
            return f"expected the edges {self.edges}, got {list(genotype.edges)}"
        attrs = genotype.edges if self.on == "edges" else genotype.nodes
        for p in self.positions:
            op = attrs[p].get("op")
            if op not in self.ops:
                return f"{self.on[:-1]} {p!r} has op {op!r}; expected one of {', '.join(self.ops)}"
        for v, op in self.fixed.items():
            if genotype.nodes[v].get("op") != op:
                return f"node {v!r} must have op {op!r}, got {genotype.nodes[v].get('op')!r}"
        return None

    def key(self, genotype: nx.DiGraph) -> Hashable:
        """The ops of the positions, as a tuple of strings."""
        return tuple(self.ops[i] for i in self.encode(genotype))
