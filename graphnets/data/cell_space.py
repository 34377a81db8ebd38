r"""A generated cell search space whose true score is known: a test bed for architecture rankers.

:func:`synthetic_cells` draws cells as ``networkx.DiGraph``\ s in the two encodings of the NAS
benchmarks, and scores each with a hidden function of its operations and wiring:

- ``encoding="edge"`` (NAS-Bench-201 style): ``nodes`` nodes ``0 .. nodes-1``, every edge
  ``i → j`` with ``i < j`` present, each carrying an operation ``op`` drawn uniformly from
  :data:`EDGE_OPS`;
- ``encoding="node"`` (NAS-Bench-101 style): node 0 has ``op="input"``, node ``nodes-1``
  ``op="output"`` and every other node an operation drawn from :data:`NODE_OPS`; each edge
  ``i → j`` (``i < j``) is present with probability 1/2, then every middle node without a
  predecessor gets an edge from the input and every one without a successor an edge to the
  output, so every node lies on an input–output path.

The score (higher is better) is

.. math::
    s = \sum_{o} v_o\, c_o \;+\; \sum_{(a \to b \to c)} I[o_{ab}, o_{bc}]
        \;+\; 0.3\, \mathrm{depth} \;+\; \varepsilon

with :math:`c_o` how often operation :math:`o` occurs (on edges or nodes), :math:`v_o` a
hidden per-operation value, :math:`I` a hidden interaction for every two operations that follow
each other on a path (consecutive edges ``a → b → c`` for edge cells; for node cells, the
operations of ``a → b`` in sequence), ``depth`` the longest path of non-``"none"`` operations
from the first to the last node (edge cells) or the longest input–output path (node cells), and
:math:`\varepsilon \sim N(0, \text{noise}^2)`. :math:`v` and :math:`I` are drawn once from
``space_seed`` (standard normal; :math:`I` scaled by 0.5; ``"none"`` has value 0 and no
interactions), so cells of one space share the same hidden rule.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

__all__ = ["EDGE_OPS", "NODE_OPS", "ENCODINGS", "synthetic_cells"]

#: Operations of edge-encoded cells (as NAS-Bench-201).
EDGE_OPS: tuple[str, ...] = ("none", "skip", "conv1x1", "conv3x3", "avgpool3x3")
#: Operations of the middle nodes of node-encoded cells (as NAS-Bench-101).
NODE_OPS: tuple[str, ...] = ("conv1x1", "conv3x3", "maxpool3x3")
#: Accepted ``encoding`` names.
ENCODINGS: tuple[str, ...] = ("edge", "node")


def _hidden_rule(ops: tuple[str, ...], space_seed: int):
    rng = np.random.default_rng(space_seed)
    value = dict(zip(ops, rng.standard_normal(len(ops)), strict=True))
    inter = 0.5 * rng.standard_normal((len(ops), len(ops)))
    index = {o: i for i, o in enumerate(ops)}
    if "none" in index:
        value["none"] = 0.0
        inter[index["none"], :] = inter[:, index["none"]] = 0.0
    return value, inter, index


def _edge_cell(nodes: int, rng: np.random.Generator) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(nodes))
    for j in range(1, nodes):
        for i in range(j):
            g.add_edge(i, j, op=str(rng.choice(EDGE_OPS)))
    return g


def _node_cell(nodes: int, rng: np.random.Generator) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_node(0, op="input")
    for i in range(1, nodes - 1):
        g.add_node(i, op=str(rng.choice(NODE_OPS)))
    g.add_node(nodes - 1, op="output")
    for j in range(1, nodes):
        for i in range(j):
            if rng.random() < 0.5:
                g.add_edge(i, j)
    for i in range(1, nodes - 1):
        if g.in_degree(i) == 0:
            g.add_edge(0, i)
        if g.out_degree(i) == 0:
            g.add_edge(i, nodes - 1)
    if g.in_degree(nodes - 1) == 0:
        g.add_edge(0, nodes - 1)
    return g


def _score(g: nx.DiGraph, encoding: str, rule) -> float:
    value, inter, index = rule
    if encoding == "edge":
        ops = nx.get_edge_attributes(g, "op")
        s = sum(value[o] for o in ops.values())
        for a, b in g.edges:
            for c in g.successors(b):
                s += inter[index[ops[a, b]], index[ops[b, c]]]
        live = nx.DiGraph((a, b) for (a, b), o in ops.items() if o != "none")
        last = max(g.nodes)
        depth = 0
        if live.has_node(0) and live.has_node(last) and nx.has_path(live, 0, last):
            depth = max(len(p) - 1 for p in nx.all_simple_paths(live, 0, last))
    else:
        ops = nx.get_node_attributes(g, "op")
        s = sum(value[o] for o in ops.values() if o in value)
        for a, b in g.edges:
            if ops[a] in index and ops[b] in index:
                s += inter[index[ops[a]], index[ops[b]]]
        depth = nx.dag_longest_path_length(g)
    return float(s + 0.3 * depth)


def synthetic_cells(
    count: int,
    *,
    encoding: str = "edge",
    nodes: int = 4,
    noise: float = 0.1,
    seed: int | None = None,
    space_seed: int = 0,
) -> tuple[list[nx.DiGraph], np.ndarray]:
    """``count`` random cells of a generated search space and their scores.

    Args:
        count (int): how many cells, ``>= 1``.
        encoding (str): ``"edge"`` (an ``op`` per edge) or ``"node"`` (an ``op`` per node)
            (default: ``"edge"``).
        nodes (int): nodes per cell, ``>= 2`` for edge cells and ``>= 3`` for node cells
            (default: ``4``).
        noise (float): standard deviation of the Gaussian noise added to every score, ``>= 0``;
            ``0`` gives the true scores (default: ``0.1``).
        seed (int, optional): draws the cells and the noise.
        space_seed (int): draws the hidden rule (values and interactions) (default: ``0``).

    Returns:
        tuple: ``(graphs, scores)``: a list of ``networkx.DiGraph`` and a float64 array
        ``[count]``.

    Raises:
        ValueError: on a ``count``, ``encoding``, ``nodes`` or ``noise`` out of range.

    Example:
        >>> graphs, scores = synthetic_cells(3, encoding="edge", seed=0)
        >>> graphs[0].number_of_nodes(), graphs[0].number_of_edges(), scores.shape
        (4, 6, (3,))
        >>> sorted({op for g in graphs for *_, op in g.edges(data="op")}) <= sorted(EDGE_OPS)
        True
    """
    from .._util.checks import choice, positive_int

    count = positive_int(count, "count")
    encoding = choice(encoding, ENCODINGS, "encoding")
    least = 2 if encoding == "edge" else 3
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < least:
        raise ValueError(f"nodes must be an int >= {least} for {encoding} cells, got {nodes!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    rule = _hidden_rule(EDGE_OPS if encoding == "edge" else NODE_OPS, space_seed)
    rng = np.random.default_rng(seed)
    make = _edge_cell if encoding == "edge" else _node_cell
    graphs = [make(nodes, rng) for _ in range(count)]
    scores = np.array([_score(g, encoding, rule) for g in graphs])
    return graphs, scores + noise * rng.standard_normal(count)
