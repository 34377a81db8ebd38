"""A net to networkx, igraph and a dense matrix: the writers that read a net without changing it.

Their readers (``from_networkx``, ``from_igraph``) are in :mod:`graphnets.io.convert`; a round
trip rebuilds the same function.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["to_networkx", "to_igraph", "to_dense", "roles"]


def roles(structure) -> list[str]:
    """``"input"``, ``"hidden"`` or ``"output"`` for every node."""
    role = ["hidden"] * structure.num_nodes
    for i in structure.inputs.tolist():
        role[i] = "input"
    for i in structure.outputs.tolist():
        role[i] = "output"
    return role


def to_networkx(net):
    """A ``networkx.DiGraph`` with the same labels and the parameters as attributes.

    Nodes carry ``bias``, ``activation`` and ``role`` (``input``/``hidden``/``output``), edges
    carry ``weight`` (and ``delay`` in a recurrent net); ``G.graph["inputs"]``/``["outputs"]``
    hold the ordered labels and ``G.graph["dtype"]`` the parameters' dtype (e.g. ``"float64"``),
    so ``from_networkx(net.to_networkx())`` rebuilds the same function in the same dtype.
    networkx lists edges grouped by source node, so the rebuilt net's ``weight`` may be in
    another order than this one's (compare edges by their label pairs, ``net.edges()``).

    Raises:
        ValueError: for a recurrent net with two edges between one pair of nodes (a
            ``networkx.DiGraph`` holds one; use :func:`to_igraph`).
    """
    import networkx as nx

    s = net.structure
    G = nx.DiGraph(inputs=net.inputs, outputs=net.outputs, dtype=_dtype_name(net))
    role = roles(s)
    bias = net.bias.detach().cpu().tolist()
    for i, lab in enumerate(s.labels):
        G.add_node(lab, bias=bias[i], activation=s.activations[i], role=role[i])
    w = net.weight.detach().cpu().tolist()
    if not s.is_recurrent:
        G.add_weighted_edges_from((u, v, wi) for (u, v), wi in zip(net.edges(), w, strict=True))
        return G
    d = s.delay.tolist()
    for (u, v), wi, di in zip(net.edges(), w, d, strict=True):
        if G.has_edge(u, v):
            raise ValueError(
                f"edge {u!r} -> {v!r} exists with delays {G.edges[u, v]['delay']} and {di}; "
                "a networkx.DiGraph holds one edge per pair (use to_igraph() or "
                "net.edges() with net.delay)"
            )
        G.add_edge(u, v, weight=wi, delay=di)
    return G


def to_igraph(net):
    """An ``igraph.Graph`` (directed): vertex ``i`` is node ``i``, edge ``e`` is edge ``e``.

    Vertex attributes ``label`` (the original label), ``name`` (``str(label)``), ``bias``,
    ``activation``, ``role``; edge attributes ``weight`` and ``delay``; graph attributes
    ``inputs`` and ``outputs`` (vertex indices, in order) and ``dtype`` (the parameters' dtype,
    e.g. ``"float64"``), so ``from_igraph(net.to_igraph())`` rebuilds the same function.
    """
    import igraph as ig

    s = net.structure
    g = ig.Graph(n=s.num_nodes, edges=s.edge_index.T.tolist(), directed=True)
    g.vs["label"] = list(s.labels)
    g.vs["name"] = [str(lab) for lab in s.labels]
    g.vs["bias"] = net.bias.detach().cpu().tolist()
    g.vs["activation"] = list(s.activations)
    g.vs["role"] = roles(s)
    g.es["weight"] = net.weight.detach().cpu().tolist()
    g.es["delay"] = s.delay.tolist()
    g["inputs"] = s.inputs.tolist()
    g["outputs"] = s.outputs.tolist()
    g["dtype"] = _dtype_name(net)
    return g


def _dtype_name(net) -> str:
    """The parameters' dtype as a plain name (``"float64"``): graph files can store a string."""
    return str(net.weight.dtype).removeprefix("torch.")


def to_dense(net, delay: int = 0) -> torch.Tensor:
    """The ``[N, N]`` weight matrix ``W[dst, src]`` with rows and columns in ``net.order``.

    Inputs come first and levels follow in order, so a layered net gives the block
    sub-diagonal matrix of Eq. (1) of ``004_…``: ``z = W a + b`` for every node at once.
    Differentiable with respect to ``weight``. ``delay`` picks the edges of one delay: a
    recurrent net is ``z(t) = Σ_d W_d a(t - d) + b`` with ``W_d = to_dense(delay=d)``
    (default: ``0``, the feed-forward edges: all edges of a feed-forward net).
    """
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"delay must be an int >= 0, got {delay!r}")
    pos = net.schedule.position
    s = net.structure
    weight = net.weight
    ids = (s.delay == delay).nonzero()[:, 0]
    src, dst = s.edge_index[:, ids].to(pos.device)
    W = weight.new_zeros(s.num_nodes, s.num_nodes)
    return W.index_put((pos[dst], pos[src]), weight[ids.to(weight.device)])
