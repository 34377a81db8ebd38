"""Errors of graphnets.io.convert: graph types and torch models; messages pinned."""

import igraph as ig
import networkx as nx
import pytest
import torch
from torch import nn

import graphnets


def _chain(**kw):
    """x0, x1 -> h -> y as a networkx graph."""
    G = nx.DiGraph([("x0", "h"), ("x1", "h"), ("h", "y")], **kw)
    return G


def _edges(pairs, n, inputs, outputs, **kw):
    ei = torch.tensor(pairs, dtype=torch.long).T
    return graphnets.from_edges(ei, n, inputs, outputs, **kw)


# -- graph types ------------------------------------------------------------------------------
def test_errors_undirected_networkx():
    with pytest.raises(
        TypeError,
        match=r"expected a networkx\.DiGraph, got Graph \(orient it "
        r"first, e\.g\. with graphnets.priors.orient\)",
    ):
        graphnets.from_networkx(nx.Graph([(0, 1)]), [0], [1])


def test_errors_not_a_graph():
    with pytest.raises(TypeError, match=r"expected a networkx\.DiGraph, got list$"):
        graphnets.from_networkx([(0, 1)], [0], [1])


def test_errors_multidigraph():
    with pytest.raises(
        TypeError,
        match=r"expected a simple networkx\.DiGraph, got a "
        r"MultiDiGraph; merge parallel edges into one edge first",
    ):
        graphnets.from_networkx(nx.MultiDiGraph([(0, 1), (0, 1)]), [0], [1])


def test_errors_igraph_types():
    with pytest.raises(TypeError, match=r"expected an igraph\.Graph, got DiGraph"):
        graphnets.from_igraph(nx.DiGraph([(0, 1)]), [0], [1])
    with pytest.raises(TypeError, match=r"expected a directed igraph\.Graph; orient it first"):
        graphnets.from_igraph(ig.Graph(n=2, edges=[(0, 1)]), [0], [1])
    g = ig.Graph(n=2, edges=[(0, 1)], directed=True)
    g.vs["name"] = ["a", "a"]
    with pytest.raises(ValueError, match=r"vertex labels must be unique"):
        graphnets.from_igraph(g, ["a"], ["a"])


# -- from_torch -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer, where",
    [(nn.Dropout(), "1"), (nn.Conv1d(1, 1, 1), "1"), (nn.Softmax(dim=1), "1")],
    ids=["Dropout", "Conv1d", "Softmax"],
)
def test_errors_from_torch_unsupported_layer(layer, where):
    seq = nn.Sequential(nn.Linear(3, 4), layer, nn.Linear(4, 2))
    name = type(layer).__name__
    with pytest.raises(
        TypeError,
        match=rf"cannot convert layer {where} \({name}\): from_torch "
        r"takes nn\.Linear and the elementwise activations ReLU",
    ):
        graphnets.from_torch(seq)


def test_errors_from_torch_nested_layer_named():
    seq = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.BatchNorm1d(4)))
    with pytest.raises(TypeError, match=r"cannot convert layer 1\.1 \(BatchNorm1d\)"):
        graphnets.from_torch(seq)


def test_errors_from_torch_activation_first():
    with pytest.raises(
        ValueError,
        match=r"layer 0 \(ReLU\) comes before any nn\.Linear; inputs "
        r"are never activated",
    ):
        graphnets.from_torch(nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))


def test_errors_from_torch_two_activations():
    with pytest.raises(
        ValueError,
        match=r"layer 2 \(Sigmoid\) follows another activation; a node "
        r"has one activation, so merge them into one module",
    ):
        graphnets.from_torch(
            nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Sigmoid(), nn.Linear(4, 2))
        )


def test_errors_from_torch_sizes():
    with pytest.raises(
        ValueError,
        match=r"layer 1 \(Linear\) expects 5 inputs but the layer "
        r"before gives 4",
    ):
        graphnets.from_torch(nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)))


def test_errors_from_torch_not_sequential():
    with pytest.raises(
        TypeError,
        match=r"expected an nn\.Sequential of nn\.Linear and "
        r"elementwise activations, got ModuleList",
    ):
        graphnets.from_torch(nn.ModuleList([nn.Linear(2, 2)]))
    with pytest.raises(ValueError, match=r"the module holds no nn\.Linear layer"):
        graphnets.from_torch(nn.Sequential())
