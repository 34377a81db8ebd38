"""Random-graph priors: turn any graph into a GraphNet, as in ``002_…`` §4.3 and Fig. 6.

Three steps, each a plain function:

1. :func:`orient` makes an undirected graph a DAG. Every edge ``u — v`` is directed from the
   endpoint of lower *rank* to the one of higher rank. With ``orientation="random"`` (default) the
   ranks are a random permutation drawn from ``seed``; with ``"index"`` the rank is the position
   in ``G.nodes`` (for integer-labelled generators: lower index → higher index). Any total order
   gives a DAG, so the result is always acyclic. A directed graph is taken as it is.
2. :func:`layer_index` gives every node the layer index of §4.3:
   ``v ↦ max({ind(s) | (s, v) ∈ E} ∪ {-1}) + 1``.
3. :func:`embed` puts the DAG between an input and an output layer (Fig. 6b): by default every
   input feeds every *source* of the DAG and every *sink* feeds every output
   (``inputs_to="all"`` / ``outputs_from="all"`` connect every node instead).
4. Optionally, :func:`add_recurrent` turns the net into a recurrent one (Fig. 6c) with delayed
   hidden → hidden edges: within every layer (``"level"``, the ``U h_{t-1}^l`` of ``002_…`` §2),
   from every node to itself (``"self"``) or between all hidden nodes (``"complete"``). Every
   builder here takes ``recurrent=`` for it.

Inputs are labelled ``("in", k)``, outputs ``("out", k)``; hidden nodes keep the graph's labels.
The same ``seed`` (an int or a ``torch.Generator``) gives the same graph, orientation and weights.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable

import networkx as nx
import numpy as np
import torch

from .._util.checks import is_int, nonnegative_int, positive_int
from .._util.seeds import spawn
from ..core.levels import levels as _levels
from ..io.convert import from_networkx
from ..nn.graphnet import GraphNet

__all__ = [
    "orient",
    "layer_index",
    "embed",
    "from_graph",
    "watts_strogatz",
    "barabasi_albert",
    "erdos_renyi",
    "add_recurrent",
    "RECURRENT",
    "ws_graph",
    "ba_graph",
]

#: The recurrent connection patterns of :func:`add_recurrent`.
RECURRENT = ("level", "self", "complete")


def orient(
    G: nx.Graph, *, orientation: str = "random", seed: int | torch.Generator | None = None
) -> nx.DiGraph:
    """Direct an undirected graph into a DAG (see the module docstring for the rule).

    Args:
        G: an undirected ``networkx.Graph`` (a ``DiGraph`` is returned as a copy, unchanged).
        orientation: ``"random"`` (a seeded random rank per node) or ``"index"`` (rank = position
            in ``G.nodes``) (default: ``"random"``).
        seed: randomness of ``"random"``.

    Example:
        >>> import networkx as nx
        >>> sorted(orient(nx.path_graph(3), orientation="index").edges())
        [(0, 1), (1, 2)]
    """
    if orientation not in ("random", "index"):
        raise ValueError(f"unknown orientation {orientation!r}; expected 'random' or 'index'")
    if G.is_directed():
        return nx.DiGraph(G)
    if G.is_multigraph():
        raise TypeError("expected a simple graph, got a multigraph; merge parallel edges first")
    nodes = list(G.nodes)
    if orientation == "index":
        rank = {v: i for i, v in enumerate(nodes)}
    else:
        (s,) = spawn(seed, 1)
        perm = np.random.default_rng(s).permutation(len(nodes))
        rank = {v: int(r) for v, r in zip(nodes, perm, strict=True)}
    D = nx.DiGraph()
    D.add_nodes_from(G.nodes(data=True))
    for u, v, data in G.edges(data=True):
        if u == v:
            raise ValueError(f"self loop on node {u!r}; a prior graph must have no self loops")
        a, b = (u, v) if rank[u] < rank[v] else (v, u)
        D.add_edge(a, b, **data)
    return D


def layer_index(D: nx.DiGraph) -> dict[Hashable, int]:
    """Layer index of every node of a DAG (``002_…`` §4.3): sources 0, else 1 + max over preds.

    Example:
        >>> import networkx as nx
        >>> layer_index(nx.DiGraph([(0, 1), (1, 2), (0, 2)]))
        {0: 0, 1: 1, 2: 2}
    """
    nodes = list(D.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    ei = np.array([(index[u], index[v]) for u, v in D.edges], dtype=np.int64).reshape(-1, 2).T
    lv = _levels(ei[0], ei[1], len(nodes))
    return dict(zip(nodes, lv.tolist(), strict=True))


def embed(
    D: nx.DiGraph,
    n_inputs: int,
    n_outputs: int,
    *,
    inputs_to: str = "sources",
    outputs_from: str = "sinks",
    activation: str = "relu",
    output_activation: str | None = None,
    seed: int | torch.Generator | None = None,
    kernel: str = "auto",
    recurrent: str | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> GraphNet:
    """Embed a DAG between ``n_inputs`` inputs and ``n_outputs`` outputs (``002_…`` Fig. 6b).

    Args:
        D: the hidden DAG (its labels are kept).
        n_inputs, n_outputs: sizes of the input and output layers.
        inputs_to: ``"sources"`` (every input feeds every node without in-edges) or ``"all"``
            (every node) (default: ``"sources"``).
        outputs_from: ``"sinks"`` (every node without out-edges feeds every output) or ``"all"``
            (default: ``"sinks"``).
        activation, output_activation, seed, kernel: as in :func:`graphnets.from_networkx`.
        recurrent (str, optional): add delay-1 hidden → hidden edges with
            :func:`add_recurrent` (``"level"``, ``"self"`` or ``"complete"``; Fig. 6c)
            (default: ``None``, a feed-forward net).
        dtype (torch.dtype, optional): the parameters' dtype (default: torch's default dtype).
        device (torch.device or str, optional): the parameters' device (default: CPU).

    Every builder below takes these options too (``**options``). Nodes are ordered inputs, the
    DAG's nodes, outputs; edges (and so ``weight``) follow networkx's order for that graph:
    grouped by source node, in node order.
    """
    for name, val in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive int, got {val!r}")
    for name, val, ok in (
        ("inputs_to", inputs_to, "sources"),
        ("outputs_from", outputs_from, "sinks"),
    ):
        if val not in (ok, "all"):
            raise ValueError(f"unknown {name} {val!r}; expected {ok!r} or 'all'")
    if D.number_of_nodes() == 0:
        raise ValueError("the prior graph has no nodes; give it at least one")
    ins = [("in", k) for k in range(n_inputs)]
    outs = [("out", k) for k in range(n_outputs)]
    clash = next((v for v in ins + outs if v in D), None)
    if clash is not None:
        raise ValueError(
            f"the prior graph has a node labelled {clash!r}, which is reserved for "
            "the input/output layer; relabel it"
        )
    hidden = list(D.nodes)
    sources = hidden if inputs_to == "all" else [v for v in hidden if D.in_degree(v) == 0]
    sinks = hidden if outputs_from == "all" else [v for v in hidden if D.out_degree(v) == 0]
    N = nx.DiGraph(inputs=ins, outputs=outs)
    N.add_nodes_from(ins)
    N.add_nodes_from(D.nodes(data=True))
    N.add_nodes_from(outs)
    N.add_edges_from((i, s) for s in sources for i in ins)
    N.add_edges_from(D.edges(data=True))
    N.add_edges_from((s, o) for o in outs for s in sinks)
    if recurrent is not None and recurrent not in RECURRENT:  # before any work is done
        raise ValueError(
            f"unknown recurrent pattern {recurrent!r}; expected one of "
            f"{', '.join(map(repr, RECURRENT))} or None"
        )
    net = from_networkx(
        N,
        ins,
        outs,
        activation=activation,
        output_activation=output_activation,
        seed=seed,
        kernel=kernel,
        dtype=torch.get_default_dtype() if dtype is None else dtype,
        device=device,
    )
    if recurrent is not None:
        add_recurrent(net, recurrent, seed=None if seed is None else spawn(seed, 1)[0])
    return net


def add_recurrent(
    net: GraphNet,
    connect: str = "level",
    *,
    delay: int = 1,
    seed: int | torch.Generator | None = None,
    optimizer=None,
):
    """Make a net recurrent: delayed edges between its hidden nodes (``002_…`` Fig. 6c).

    A graph edit (:meth:`GraphNet.add_edges`): the new edges get fan-in weights from ``seed``
    and are appended after the existing ones.

    Args:
        net (GraphNet): the net, edited in place.
        connect (str): ``"level"`` (every hidden node to every hidden node of its level, itself
            included: the per-layer ``U h_{t-1}^l`` of ``002_…`` §2), ``"self"`` (every hidden
            node to itself) or ``"complete"`` (every hidden node to every hidden node)
            (default: ``"level"``).
        delay (int): the delay of the new edges, ``>= 1`` (default: ``1``).
        seed (int or torch.Generator, optional): randomness of the new weights.
        optimizer (torch.optim.Optimizer, optional): as in :meth:`GraphNet.add_edges`.

    Returns:
        EditRecord: the edit (also in ``net.history``).

    Raises:
        ValueError: on an unknown ``connect``, a ``delay < 1``, or a net that already has one
            of the new edges at this delay.

    Example:
        >>> net = watts_strogatz(7, 2, 12, 4, 0.3, seed=0, activation="tanh")
        >>> record = add_recurrent(net, "self")
        >>> net.is_recurrent, len(net.state_labels)
        (True, 12)
    """
    if connect not in RECURRENT:
        raise ValueError(
            f"unknown recurrent pattern {connect!r}; expected one of "
            f"{', '.join(map(repr, RECURRENT))}"
        )
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 1:
        raise ValueError(f"delay must be an int >= 1 for recurrent edges, got {delay!r}")
    s = net.structure
    hidden = np.ones(s.num_nodes, dtype=bool)
    hidden[s.inputs.numpy()] = False
    hidden[s.outputs.numpy()] = False
    h = np.flatnonzero(hidden)
    if connect == "self":
        src, dst = h, h
    else:
        src, dst = (a.reshape(-1) for a in np.meshgrid(h, h, indexing="ij"))
        if connect == "level":
            same = s.level[src] == s.level[dst]
            src, dst = src[same], dst[same]
    lab = s.labels
    return net.add_edges(
        [lab[i] for i in src.tolist()],
        [lab[i] for i in dst.tolist()],
        delay=int(delay),
        seed=seed,
        optimizer=optimizer,
    )


def from_graph(
    G: nx.Graph,
    n_inputs: int,
    n_outputs: int,
    *,
    orientation: str = "random",
    seed: int | torch.Generator | None = None,
    **options,
) -> GraphNet:
    """Any graph as a prior: :func:`orient` it (undirected) and :func:`embed` it.

    ``options`` go to :func:`embed` (``inputs_to``, ``outputs_from``, ``activation``, ...).

    Example:
        >>> import networkx as nx
        >>> net = from_graph(nx.cycle_graph(6), 3, 2, seed=0)
        >>> net.num_nodes
        11
    """
    s_orient, s_weights = spawn(seed, 2)
    return embed(
        orient(G, orientation=orientation, seed=s_orient),
        n_inputs,
        n_outputs,
        seed=s_weights,
        **options,
    )


def watts_strogatz(
    n_inputs: int,
    n_outputs: int,
    n: int,
    k: int,
    p: float,
    *,
    seed: int | torch.Generator | None = None,
    **options,
) -> GraphNet:
    """A Watts–Strogatz small-world prior (``networkx.watts_strogatz_graph(n, k, p)``).

    Args:
        n_inputs, n_outputs (int): sizes of the input and output layers.
        n (int): hidden nodes of the random graph.
        k (int): ring neighbours of every node, ``0 <= k < n`` (odd ``k`` acts as ``k - 1``, as
            in networkx).
        p (float): rewiring probability in ``[0, 1]``.
        seed (int or torch.Generator, optional): fixes the graph, the orientation and the
            weights.
        **options: passed to :func:`embed` (``inputs_to``, ``outputs_from``, ``activation``,
            ``output_activation``, ``kernel``, ``recurrent``, ``dtype``, ``device``).

    Raises:
        ValueError: for ``k >= n``, a ``p`` outside ``[0, 1]`` (``nan`` included) or sizes that are
            not positive ints.

    Example:
        >>> net = watts_strogatz(64, 10, 100, 4, 0.3, seed=1)
        >>> net.inputs[0], net.outputs[-1]
        (('in', 0), ('out', 9))
    """
    G, s_rest = ws_graph(n, k, p, seed)
    return from_graph(G, n_inputs, n_outputs, seed=s_rest, **options)


def ws_graph(n: int, k: int, p: float, seed) -> tuple[nx.Graph, int | None]:
    """The Watts–Strogatz graph of a seed and the seed left for what follows (orientation,
    weights); shared with the cell builders (:mod:`graphnets.cells`)."""
    n, k, p = positive_int(n, "n"), nonnegative_int(k, "k"), _probability(p)
    if k >= n:
        raise ValueError(f"k={k} must be smaller than n={n}; choose a smaller k or a larger n")
    s_graph, s_rest = spawn(seed, 2)
    return nx.watts_strogatz_graph(n, k, p, seed=s_graph), s_rest


def _probability(p: object, name: str = "p") -> float:
    """``p`` as a float if it is a real number in ``[0, 1]`` (NaN is not), else ``ValueError``."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}={p!r} must be a probability in [0, 1]")
    return float(p)


def ba_graph(n: int, m: int, seed) -> tuple[nx.Graph, int | None]:
    """The Barabási–Albert graph of a seed and the seed left (see :func:`ws_graph`)."""
    n = positive_int(n, "n")
    if not is_int(m) or not 1 <= m < n:
        raise ValueError(f"m={m!r} must satisfy 1 <= m < n={n}, as an int")
    s_graph, s_rest = spawn(seed, 2)
    return nx.barabasi_albert_graph(n, m, seed=s_graph), s_rest


def barabasi_albert(
    n_inputs: int,
    n_outputs: int,
    n: int,
    m: int,
    *,
    seed: int | torch.Generator | None = None,
    **options,
) -> GraphNet:
    """A Barabási–Albert preferential-attachment prior (``networkx.barabasi_albert_graph``).

    Args:
        n_inputs, n_outputs (int): sizes of the input and output layers.
        n (int): hidden nodes of the random graph.
        m (int): edges from every new node to existing ones, ``1 <= m < n``.
        seed (int or torch.Generator, optional): fixes the graph, the orientation and the
            weights.
        **options: passed to :func:`embed` (``inputs_to``, ``outputs_from``, ``activation``,
            ``output_activation``, ``kernel``, ``recurrent``, ``dtype``, ``device``).

    Raises:
        ValueError: for ``m`` outside ``1 .. n-1`` or sizes that are not positive ints.

    Example:
        >>> barabasi_albert(4, 2, 20, 2, seed=0).num_nodes
        26
    """
    G, s_rest = ba_graph(n, m, seed)
    return from_graph(G, n_inputs, n_outputs, seed=s_rest, **options)


def erdos_renyi(
    n_inputs: int,
    n_outputs: int,
    n: int,
    p: float,
    *,
    seed: int | torch.Generator | None = None,
    **options,
) -> GraphNet:
    """An Erdős–Rényi ``G(n, p)`` prior (``networkx.gnp_random_graph``).

    Args:
        n_inputs, n_outputs (int): sizes of the input and output layers.
        n (int): hidden nodes of the random graph.
        p (float): probability of every edge, in ``[0, 1]``.
        seed (int or torch.Generator, optional): fixes the graph, the orientation and the
            weights.
        **options: passed to :func:`embed` (``inputs_to``, ``outputs_from``, ``activation``,
            ``output_activation``, ``kernel``, ``recurrent``, ``dtype``, ``device``).

    Raises:
        ValueError: for a ``p`` outside ``[0, 1]`` (``nan`` included) or sizes that are not
            positive ints.

    Example:
        >>> erdos_renyi(4, 2, 20, 0.2, seed=0).num_nodes
        26
    """
    n, p = positive_int(n, "n"), _probability(p)
    s_graph, s_rest = spawn(seed, 2)
    G = nx.gnp_random_graph(n, p, seed=s_graph)
    return from_graph(G, n_inputs, n_outputs, seed=s_rest, **options)
