r"""The neuron-level search space: genotypes are GraphNet structures within budgets.

A genotype of :class:`NeuronSpace` is a ``networkx.DiGraph`` in the form
:func:`graphnets.from_networkx` reads: ``graph["inputs"]`` and ``graph["outputs"]`` name the
fixed input and output neurons (``"x0", "x1", ...`` and ``"y0", "y1", ...``), hidden neurons are
labelled by ints and carry the attribute ``"activation"``; outputs are linear. A genotype is
valid when

- its inputs and outputs are the space's, the inputs have no in-edges, the outputs no out-edges;
- it is acyclic, every hidden neuron has an in-edge and an out-edge and every output an in-edge
  (so every neuron lies on a path from an input to an output: nothing is dead);
- it has at most ``max_hidden`` hidden neurons and ``max_edges`` edges, and its **depth** (the
  number of edges on its longest path; one hidden layer is depth 2) is at most ``max_depth``;
- every hidden activation is one of ``activations``.

Mutations are graph edits (:data:`MUTATIONS`): add / remove an edge, add a neuron between two
neurons, remove a neuron (bridging its predecessors to its successors), rewire one end of an
edge, insert a random sub-graph of depth at most two on an edge (``002_…`` Fig. 8a), change a
neuron's activation. Crossovers (:data:`CROSSOVERS`, ``002_…`` §4.4): swap the longest simple
paths, bridge crossover (join the part of one parent before a bridge to the part of the other
after one), layer-matching crossover (every matched level gets the mean of the parents' widths).

Each operator tries its candidates in random order and returns the first valid result, or
raises :class:`~graphnets.methods.search.spaces.Refused` saying why none is valid;
:meth:`NeuronSpace.mutate` / :meth:`NeuronSpace.crossover` pick operators at random and fall
back to the others when one refuses.

Identity (:meth:`NeuronSpace.key`) is the Weisfeiler–Lehman hash of the graph with the inputs,
outputs and activations as labels: isomorphic genotypes share a key (hidden labels do not
matter). Not checked: two non-isomorphic genotypes could in principle share a hash; the search
would then skip the second as a duplicate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Sequence

import networkx as nx
import numpy as np

from ..._util.checks import positive_int
from ..._util.seeds import Seed
from ..._util.seeds import numpy_rng as _rng
from ...core.activations import parse_activation
from .spaces import Refused, SearchSpace

__all__ = ["NeuronSpace", "MUTATIONS", "CROSSOVERS"]

#: Names of the mutations of :class:`NeuronSpace`.
MUTATIONS: tuple[str, ...] = (
    "add_edge",
    "remove_edge",
    "add_node",
    "remove_node",
    "rewire",
    "insert_subgraph",
    "activation",
)
#: Names of the crossovers of :class:`NeuronSpace`.
CROSSOVERS: tuple[str, ...] = ("path", "bridge", "layers")

#: How many candidates an operator checks before it refuses.
_TRIES = 40


class NeuronSpace(SearchSpace):
    r"""Neuron-level DAGs with fixed inputs and outputs, within node, edge and depth budgets.

    Args:
        inputs (int): number of input neurons.
        outputs (int): number of output neurons.
        max_hidden (int): most hidden neurons (default: ``16``).
        max_edges (int): most edges (default: ``256``).
        max_depth (int): most edges on a path from an input to an output (default: ``4``).
        activations (sequence of str): the hidden activations to choose from
            (default: ``("relu", "tanh", "sigmoid")``).
        mutations, crossovers (sequence of str): the operators used by :meth:`mutate` and
            :meth:`crossover` (default: all of :data:`MUTATIONS` and :data:`CROSSOVERS`).
        density (float): probability of each extra forward edge in :meth:`sample`
            (default: ``0.1``).

    Raises:
        ValueError: on a budget that is not a positive int, ``max_edges < outputs`` (no valid
            genotype), an unknown activation or operator name.

    Example:
        >>> space = NeuronSpace(4, 2, max_hidden=6, max_edges=30, max_depth=3)
        >>> g = space.sample(0)
        >>> space.is_valid(g), space.is_valid(space.mutate(g, 1))
        (True, True)
        >>> net = space.to_graph(g)  # a GraphNet
        >>> len(net.inputs), len(net.outputs)
        (4, 2)
    """

    def __init__(
        self,
        inputs: int,
        outputs: int,
        *,
        max_hidden: int = 16,
        max_edges: int = 256,
        max_depth: int = 4,
        activations: Sequence[str] = ("relu", "tanh", "sigmoid"),
        mutations: Sequence[str] = MUTATIONS,
        crossovers: Sequence[str] = CROSSOVERS,
        density: float = 0.1,
    ) -> None:
        self.n_inputs = positive_int(inputs, "inputs")
        self.n_outputs = positive_int(outputs, "outputs")
        self.max_hidden = positive_int(max_hidden, "max_hidden")
        self.max_edges = positive_int(max_edges, "max_edges")
        self.max_depth = positive_int(max_depth, "max_depth")
        if self.max_edges < self.n_outputs:
            raise ValueError(
                f"max_edges={max_edges} leaves no valid genotype: every one of the "
                f"{outputs} outputs needs an in-edge; choose max_edges >= {outputs}"
            )
        activations = list(activations)
        if not activations:
            raise ValueError("expected at least one activation, got none")
        for a in activations:
            parse_activation(a)  # raises naming the accepted ones
        self.activations = tuple(activations)
        for name in mutations:
            if name not in MUTATIONS:
                raise ValueError(f"unknown mutation {name!r}; expected one of {MUTATIONS}")
        for name in crossovers:
            if name not in CROSSOVERS:
                raise ValueError(f"unknown crossover {name!r}; expected one of {CROSSOVERS}")
        if not mutations:
            raise ValueError(f"expected at least one mutation of {MUTATIONS}, got none")
        self.mutations = tuple(mutations)
        self.crossovers = tuple(crossovers)
        if not (isinstance(density, (int, float)) and 0 <= density <= 1):
            raise ValueError(f"density must be a probability in [0, 1], got {density!r}")
        self.density = float(density)
        self.inputs = [f"x{i}" for i in range(self.n_inputs)]
        self.outputs = [f"y{i}" for i in range(self.n_outputs)]
        self._io = set(self.inputs) | set(self.outputs)
        self.size = None

    def __repr__(self) -> str:
        return (
            f"NeuronSpace({self.n_inputs} inputs, {self.n_outputs} outputs, "
            f"max_hidden={self.max_hidden}, max_edges={self.max_edges}, "
            f"max_depth={self.max_depth}, activations={list(self.activations)})"
        )

    # -- helpers ---------------------------------------------------------------------------------
    def empty(self) -> nx.DiGraph:
        """A genotype with the inputs and outputs and nothing else (not valid on its own)."""
        g = nx.DiGraph(inputs=list(self.inputs), outputs=list(self.outputs))
        g.add_nodes_from(self.inputs)
        g.add_nodes_from(self.outputs)
        return g

    def hidden(self, g: nx.DiGraph) -> list:
        """The hidden neurons of ``g``, in node order."""
        return [v for v in g if v not in self._io]

    @staticmethod
    def _new_label(g: nx.DiGraph) -> int:
        ints = [v for v in g if isinstance(v, int)]
        return max(ints) + 1 if ints else 0

    def depth(self, g: nx.DiGraph) -> int:
        """Edges on the longest path of ``g``."""
        return int(nx.dag_longest_path_length(g)) if g.number_of_edges() else 0

    def to_graph(self, genotype: nx.DiGraph) -> object:
        """The genotype as a :class:`~graphnets.GraphNet` (fresh weights, seed 0)."""
        return self.to_net(genotype, seed=0)

    def to_net(self, genotype: nx.DiGraph, *, seed: Seed = None, **options):
        """The genotype as a trainable :class:`~graphnets.GraphNet` (``options`` go to
        :func:`graphnets.from_networkx`)."""
        from ...io.convert import from_networkx

        self.check(genotype)
        return from_networkx(genotype, seed=seed, **options)

    # -- validity --------------------------------------------------------------------------------
    def why_invalid(self, genotype: object) -> str | None:
        g = genotype
        if not isinstance(g, nx.DiGraph):
            return f"expected a networkx.DiGraph, got {type(g).__name__}"
        if list(g.graph.get("inputs", ())) != self.inputs:
            return f"graph['inputs'] must be {self.inputs[:3]}... ({self.n_inputs} inputs)"
        if list(g.graph.get("outputs", ())) != self.outputs:
            return f"graph['outputs'] must be {self.outputs[:3]}... ({self.n_outputs} outputs)"
        missing = [v for v in self.inputs + self.outputs if v not in g]
        if missing:
            return f"the input/output neuron {missing[0]!r} is missing"
        for v in self.inputs:
            if g.in_degree(v):
                return f"input {v!r} has an in-edge from {next(iter(g.pred[v]))!r}"
        for v in self.outputs:
            if g.out_degree(v):
                return f"output {v!r} has an out-edge to {next(iter(g.succ[v]))!r}"
            if not g.in_degree(v):
                return f"output {v!r} has no in-edge"
        if nx.number_of_selfloops(g):
            return f"self loop on {next(nx.nodes_with_selfloops(g))!r}"
        hidden = self.hidden(g)
        if len(hidden) > self.max_hidden:
            return f"{len(hidden)} hidden neurons, more than max_hidden={self.max_hidden}"
        if g.number_of_edges() > self.max_edges:
            return f"{g.number_of_edges()} edges, more than max_edges={self.max_edges}"
        for v in hidden:
            if not g.in_degree(v) or not g.out_degree(v):
                side = "in" if not g.in_degree(v) else "out"
                return f"hidden neuron {v!r} has no {side}-edge (it would be dead)"
            act = g.nodes[v].get("activation")
            if act not in self.activations:
                return (
                    f"hidden neuron {v!r} has activation {act!r}; expected one of "
                    f"{', '.join(self.activations)}"
                )
        if not nx.is_directed_acyclic_graph(g):
            return f"it has the cycle {nx.find_cycle(g)}"
        depth = self.depth(g)
        if depth > self.max_depth:
            return (
                f"depth {depth} (edges on the longest path), more than max_depth={self.max_depth}"
            )
        return None

    def key(self, genotype: nx.DiGraph) -> Hashable:
        """Weisfeiler–Lehman hash of the genotype labelled by roles and activations."""
        g = nx.DiGraph()
        for v in genotype:
            if v in self._io:
                g.add_node(v, tag=str(v))
            else:
                g.add_node(v, tag="h:" + str(genotype.nodes[v].get("activation")))
        g.add_edges_from(genotype.edges)
        with warnings.catch_warnings():
            # networkx 3.5 warns that directed hashes changed in that version (a bug fix); keys
            # are compared within one installation, so the warning says nothing to our users
            warnings.simplefilter("ignore", UserWarning)
            return nx.weisfeiler_lehman_graph_hash(
                g, node_attr="tag", iterations=self.max_depth + 1
            )

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, rng: Seed | np.random.Generator = None) -> nx.DiGraph:
        """A random valid genotype: hidden neurons spread over random levels, each given an
        in-edge from a lower level and an out-edge to a higher one, every output an in-edge, then
        extra forward edges with probability ``density`` while the edge budget lasts."""
        gen = _rng(rng)
        for _ in range(100):
            g = self._sample_once(gen)
            if self.is_valid(g):
                return g
        raise RuntimeError(f"could not sample a valid genotype of {self!r} in 100 tries")

    def _sample_once(self, gen: np.random.Generator) -> nx.DiGraph:
        hidden_levels = self.max_depth - 1
        most = min(self.max_hidden, (self.max_edges - self.n_outputs) // 2)
        n = int(gen.integers(0, most + 1)) if hidden_levels >= 1 else 0
        g = self.empty()
        if n == 0:
            for y in self.outputs:
                g.add_edge(self.inputs[int(gen.integers(self.n_inputs))], y)
            return g
        n_levels = int(gen.integers(1, min(hidden_levels, n) + 1))
        levels = np.sort(
            np.concatenate(
                [np.arange(1, n_levels + 1), gen.integers(1, n_levels + 1, n - n_levels)]
            )
        )
        by_level: dict[int, list] = {0: list(self.inputs)}
        for i, l in enumerate(levels.tolist()):
            g.add_node(i, activation=self.activations[int(gen.integers(len(self.activations)))])
            by_level.setdefault(l, []).append(i)
        by_level[n_levels + 1] = list(self.outputs)
        level_of = {v: l for l, vs in by_level.items() for v in vs}

        def below(l: int) -> list:
            return [v for k in range(l) for v in by_level.get(k, [])]

        def above(l: int) -> list:
            return [v for k in range(l + 1, n_levels + 2) for v in by_level.get(k, [])]

        for l in range(1, n_levels + 1):
            prev = by_level[l - 1]
            for v in by_level[l]:
                # one in-edge from the level just below keeps the level (and so the depth) exact
                g.add_edge(prev[int(gen.integers(len(prev)))], v)
        for v in range(n):
            if not g.out_degree(v):
                up = above(level_of[v])
                g.add_edge(v, up[int(gen.integers(len(up)))])
        for y in self.outputs:
            if not g.in_degree(y):
                low = below(n_levels + 1)
                g.add_edge(low[int(gen.integers(len(low)))], y)
        if self.density > 0:
            nodes = [v for v in g if v not in self.outputs]
            for u in nodes:
                up = above(level_of[u])
                hits = [v for v, r in zip(up, gen.random(len(up)), strict=True) if r < self.density]
                for v in hits:
                    if g.number_of_edges() >= self.max_edges:
                        return g
                    g.add_edge(u, v)
        return g

    # -- mutations -------------------------------------------------------------------------------
    def mutate(self, genotype: nx.DiGraph, rng: Seed | np.random.Generator = None) -> nx.DiGraph:
        """A mutated copy of ``genotype``: the space's mutations in random order, the first that
        succeeds.

        Raises:
            Refused: if no mutation can make a valid genotype from this one.
            ValueError: if ``genotype`` is not in the space.
        """
        self.check(genotype)
        gen = _rng(rng)
        reasons = []
        for i in gen.permutation(len(self.mutations)):
            name = self.mutations[int(i)]
            try:
                return self.apply_mutation(name, genotype, gen)
            except Refused as err:
                reasons.append(f"{name}: {err}")
        raise Refused("no mutation applies; " + "; ".join(reasons))

    def apply_mutation(
        self, name: str, genotype: nx.DiGraph, rng: Seed | np.random.Generator = None
    ) -> nx.DiGraph:
        """The mutation ``name`` (one of :data:`MUTATIONS`) applied to a copy of ``genotype``.

        Raises:
            Refused: if it cannot make a valid genotype; ValueError on an unknown name.
        """
        if name not in MUTATIONS:
            raise ValueError(f"unknown mutation {name!r}; expected one of {MUTATIONS}")
        gen = _rng(rng)
        candidates: Callable[[nx.DiGraph, np.random.Generator], list] = getattr(self, f"_m_{name}")
        return self._first_valid(candidates(genotype, gen), f"mutation {name}")

    def _first_valid(self, candidates, what: str) -> nx.DiGraph:
        """The first valid graph of ``candidates`` (a generator), checking at most _TRIES."""
        last = "there is no candidate"
        for tried, g in enumerate(candidates):
            if tried >= _TRIES:
                break
            reason = self.why_invalid(g)
            if reason is None:
                return g
            last = reason
        raise Refused(f"{what} found no valid result (last candidate: {last})")

    def _pairs(self, g: nx.DiGraph, gen: np.random.Generator):
        """Random ``(u, v)`` with ``u`` not an output, ``v`` not an input, not yet an edge."""
        sources = [v for v in g if v not in self.outputs]
        targets = [v for v in g if v not in self.inputs]
        for _ in range(4 * _TRIES):
            u = sources[int(gen.integers(len(sources)))]
            v = targets[int(gen.integers(len(targets)))]
            if u != v and not g.has_edge(u, v) and not nx.has_path(g, v, u):
                yield u, v

    def _act(self, gen: np.random.Generator) -> str:
        return self.activations[int(gen.integers(len(self.activations)))]

    def _m_add_edge(self, g, gen):
        for u, v in self._pairs(g, gen):
            c = g.copy()
            c.add_edge(u, v)
            yield c

    def _m_remove_edge(self, g, gen):
        edges = list(g.edges)
        for i in gen.permutation(len(edges)):
            c = g.copy()
            c.remove_edge(*edges[int(i)])
            yield c

    def _m_add_node(self, g, gen):
        for u, v in self._pairs(g, gen):
            c = g.copy()
            w = self._new_label(c)
            c.add_node(w, activation=self._act(gen))
            c.add_edges_from([(u, w), (w, v)])
            yield c

    def _m_remove_node(self, g, gen):
        hidden = self.hidden(g)
        for i in gen.permutation(len(hidden)):
            w = hidden[int(i)]
            c = g.copy()
            bridge = [(p, s) for p in g.pred[w] for s in g.succ[w]]
            c.remove_node(w)
            c.add_edges_from(bridge)
            yield c

    def _m_rewire(self, g, gen):
        edges = list(g.edges)
        sources = [v for v in g if v not in self.outputs]
        targets = [v for v in g if v not in self.inputs]
        for i in gen.permutation(len(edges)):
            u, v = edges[int(i)]
            if gen.random() < 0.5:  # keep the source, move the target
                u2, v2 = u, targets[int(gen.integers(len(targets)))]
            else:
                u2, v2 = sources[int(gen.integers(len(sources)))], v
            if u2 == v2 or g.has_edge(u2, v2):
                continue
            c = g.copy()
            c.remove_edge(u, v)
            c.add_edge(u2, v2)
            yield c

    def _m_insert_subgraph(self, g, gen):
        edges = list(g.edges)
        for i in gen.permutation(len(edges)):
            u, v = edges[int(i)]
            c = g.copy()
            c.remove_edge(u, v)
            first = self._new_label(c)
            depth = int(gen.integers(1, 3))
            widths = [int(gen.integers(1, 3)) for _ in range(depth)]
            layers, label = [], first
            for w in widths:
                layers.append(list(range(label, label + w)))
                label += w
            for layer in layers:
                for x in layer:
                    c.add_node(x, activation=self._act(gen))
            c.add_edges_from((u, x) for x in layers[0])
            c.add_edges_from((x, v) for x in layers[-1])
            for a, b in zip(layers, layers[1:], strict=False):
                for x in a:  # every neuron of a layer feeds one of the next, and is fed
                    c.add_edge(x, b[int(gen.integers(len(b)))])
                for y in b:
                    if not c.in_degree(y):
                        c.add_edge(a[int(gen.integers(len(a)))], y)
            yield c

    def _m_activation(self, g, gen):
        if len(self.activations) < 2:
            return
        hidden = self.hidden(g)
        for i in gen.permutation(len(hidden)):
            w = hidden[int(i)]
            c = g.copy()
            now = c.nodes[w]["activation"]
            c.nodes[w]["activation"] = self._act_other(now, gen)
            yield c

    def _act_other(self, now: str, gen: np.random.Generator) -> str:
        others = [a for a in self.activations if a != now]
        return others[int(gen.integers(len(others)))]

    # -- crossovers ------------------------------------------------------------------------------
    def crossover(
        self, a: nx.DiGraph, b: nx.DiGraph, rng: Seed | np.random.Generator = None
    ) -> nx.DiGraph:
        """A child of ``a`` and ``b``: the space's crossovers in random order, the first that
        succeeds.

        Raises:
            Refused: if no crossover can make a valid child of these parents (or the space has
                no crossovers).
            ValueError: if a parent is not in the space.
        """
        self.check(a, "parent a")
        self.check(b, "parent b")
        gen = _rng(rng)
        reasons = []
        for i in gen.permutation(len(self.crossovers)):
            name = self.crossovers[int(i)]
            try:
                return self.apply_crossover(name, a, b, gen)
            except Refused as err:
                reasons.append(f"{name}: {err}")
        raise Refused("no crossover applies; " + ("; ".join(reasons) or "the space has none"))

    def apply_crossover(
        self, name: str, a: nx.DiGraph, b: nx.DiGraph, rng: Seed | np.random.Generator = None
    ) -> nx.DiGraph:
        """The crossover ``name`` (one of :data:`CROSSOVERS`) of ``a`` and ``b``.

        Raises:
            Refused: if it cannot make a valid child; ValueError on an unknown name.
        """
        if name not in CROSSOVERS:
            raise ValueError(f"unknown crossover {name!r}; expected one of {CROSSOVERS}")
        gen = _rng(rng)
        return self._first_valid(getattr(self, f"_x_{name}")(a, b, gen), f"crossover {name}")

    def _repair(self, c: nx.DiGraph, gen: np.random.Generator) -> nx.DiGraph:
        """Drop hidden neurons left without an in- or out-edge (repeatedly), and give an output
        left without an in-edge one from a random input."""
        while True:
            dead = [v for v in self.hidden(c) if not c.in_degree(v) or not c.out_degree(v)]
            if not dead:
                break
            c.remove_nodes_from(dead)
        for y in self.outputs:
            if not c.in_degree(y):
                c.add_edge(self.inputs[int(gen.integers(self.n_inputs))], y)
        return c

    def _paste(self, c: nx.DiGraph, src: nx.DiGraph, nodes: Sequence) -> dict:
        """Copy the hidden ``nodes`` of ``src`` (with their activations) into ``c`` under fresh
        labels; return the label map."""
        start = self._new_label(c)
        mapping = {v: start + i for i, v in enumerate(nodes)}
        for v, w in mapping.items():
            c.add_node(w, activation=src.nodes[v]["activation"])
        return mapping

    def _x_path(self, a, b, gen):
        """Swap longest simple paths: ``a`` with its longest path's hidden neurons replaced by a
        chain of those of ``b``'s longest path, between ``a``'s path ends."""
        pa, pb = nx.dag_longest_path(a), nx.dag_longest_path(b)
        for first, second in ((a, b), (b, a))[: 1 + int(gen.integers(2))]:
            p1, p2 = (pa, pb) if first is a else (pb, pa)
            c = first.copy()
            c.remove_nodes_from(p1[1:-1])
            mapping = self._paste(c, second, p2[1:-1])
            chain = [p1[0], *(mapping[v] for v in p2[1:-1]), p1[-1]]
            c.add_edges_from(zip(chain, chain[1:], strict=False))
            yield self._repair(c, gen)

    def _bridges(self, g: nx.DiGraph) -> list[tuple]:
        """Edges whose removal leaves every input on one side and every output on the other."""
        out = []
        und = g.to_undirected(as_view=True)
        for u, v in nx.bridges(und):
            if not g.has_edge(u, v):
                u, v = v, u
            h = nx.Graph(und)
            h.remove_edge(u, v)
            side = nx.node_connected_component(h, u)
            if all(x in side for x in self.inputs) and not any(y in side for y in self.outputs):
                out.append((u, v, side))
        return out

    def _x_bridge(self, a, b, gen):
        """Bridge crossover: ``a`` up to one of its bridges, then ``b`` after one of its."""
        ba, bb = self._bridges(a), self._bridges(b)
        if not ba or not bb:
            which = "a" if not ba else "b"
            raise Refused(
                f"parent {which} has no bridge (an edge that alone joins the inputs' side to the "
                "outputs' side)"
            )
        pairs = [(x, y) for x in ba for y in bb]
        for i in gen.permutation(len(pairs)):
            (u, _, side_a), (_, v2, side_b) = pairs[int(i)]
            c = a.subgraph(side_a).copy()
            c.graph.update(a.graph)
            after = [v for v in b if v not in side_b]
            hidden_after = [v for v in after if v not in self._io]
            mapping = self._paste(c, b, hidden_after)
            mapping.update({y: y for y in self.outputs})
            c.add_nodes_from(self.outputs)
            c.add_edges_from(
                (mapping[s], mapping[t]) for s, t in b.subgraph(after).edges if s in mapping
            )
            c.add_edge(u, mapping[v2])
            yield c

    def _levels(self, g: nx.DiGraph) -> dict[int, list]:
        level: dict = {}
        for v in nx.topological_sort(g):
            level[v] = 1 + max((level[p] for p in g.pred[v]), default=-1)
        out: dict[int, list] = {}
        for v in self.hidden(g):
            out.setdefault(level[v], []).append(v)
        return out

    def _x_layers(self, a, b, gen):
        """Layer matching: for each hidden level both parents have, the child (from ``a``) gets
        the mean of the two widths (rounded at random), adding copies of a level's neurons (same
        in- and out-edges, an activation from ``b``'s level) or removing neurons with bridging;
        each neuron of a matched level takes the activation of a random neuron of ``b``'s level
        with probability 1/2."""
        la, lb = self._levels(a), self._levels(b)
        matched = sorted(set(la) & set(lb))
        if not matched:
            raise Refused("the parents have no hidden level in common")
        for _ in range(_TRIES):
            c = a.copy()
            for l in matched:
                mine, theirs = la[l], lb[l]
                mean = (len(mine) + len(theirs)) / 2
                want = int(np.floor(mean + gen.random()))
                for v in mine:
                    if gen.random() < 0.5:
                        c.nodes[v]["activation"] = b.nodes[theirs[int(gen.integers(len(theirs)))]][
                            "activation"
                        ]
                if want > len(mine):
                    for _ in range(want - len(mine)):
                        src = mine[int(gen.integers(len(mine)))]
                        w = self._new_label(c)
                        act = b.nodes[theirs[int(gen.integers(len(theirs)))]]["activation"]
                        c.add_node(w, activation=act)
                        c.add_edges_from((p, w) for p in a.pred[src] if p in c)
                        c.add_edges_from((w, s) for s in a.succ[src] if s in c)
                elif want < len(mine):
                    for i in gen.permutation(len(mine))[: len(mine) - want]:
                        w = mine[int(i)]
                        if w not in c:
                            continue
                        bridge = [(p, s) for p in c.pred[w] for s in c.succ[w]]
                        c.remove_node(w)
                        c.add_edges_from(bridge)
            yield self._repair(c, gen)
