"""graphnets.data.cell_space: the generated cells and their hidden scores."""

import networkx as nx
import numpy as np
import pytest

from graphnets.data.cell_space import EDGE_OPS, NODE_OPS, synthetic_cells


def test_edge_cells_complete_dags_with_ops():
    graphs, y = synthetic_cells(20, encoding="edge", nodes=5, seed=0)
    assert y.shape == (20,) and np.isfinite(y).all()
    for g in graphs:
        assert nx.is_directed_acyclic_graph(g) and g.number_of_edges() == 10
        assert all(op in EDGE_OPS for *_, op in g.edges(data="op"))


def test_node_cells_every_node_on_an_input_output_path():
    graphs, _ = synthetic_cells(30, encoding="node", nodes=7, seed=0)
    for g in graphs:
        assert g.nodes[0]["op"] == "input" and g.nodes[6]["op"] == "output"
        assert all(g.nodes[i]["op"] in NODE_OPS for i in range(1, 6))
        for i in range(1, 6):
            assert nx.has_path(g, 0, i) and nx.has_path(g, i, 6)


def test_scores_are_a_fixed_rule_plus_noise():
    a, clean = synthetic_cells(400, seed=3, noise=0.0)
    b, noisy = synthetic_cells(400, seed=3, noise=0.2)
    assert all(nx.utils.graphs_equal(g, h) for g, h in zip(a, b, strict=True))
    assert np.std(noisy - clean) == pytest.approx(0.2, rel=0.15)
    _, other_space = synthetic_cells(400, seed=3, noise=0.0, space_seed=1)
    assert not np.allclose(clean, other_space)
    # the score depends on the ops: two cells with the same ops score the same
    g = a[0]
    twin = nx.relabel_nodes(g, {}, copy=True)
    assert synthetic_cells(1, seed=3, noise=0.0)[1][0] == clean[0]
    assert nx.utils.graphs_equal(twin, g)


def test_cell_space_errors():
    with pytest.raises(ValueError, match="unknown encoding 'path'; expected one of edge, node"):
        synthetic_cells(3, encoding="path")
    with pytest.raises(ValueError, match="nodes must be an int >= 3 for node cells, got 2"):
        synthetic_cells(3, encoding="node", nodes=2)
    with pytest.raises(ValueError, match="noise must be a number >= 0, got -1"):
        synthetic_cells(3, noise=-1)
    with pytest.raises(ValueError, match="count must be a positive int, got 0"):
        synthetic_cells(0)
