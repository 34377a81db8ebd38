"""Errors of graphnets.io.convert: graph types and torch models; messages pinned."""

import math
import re

import igraph as ig
import networkx as nx
import pytest
import torch
from _graphs import chain, edges_net
from torch import nn

import graphnets


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
    [(nn.BatchNorm1d(4), "1"), (nn.Conv1d(1, 1, 1), "1"), (nn.Softmax(dim=1), "1")],
    ids=["BatchNorm1d", "Conv1d", "Softmax"],
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


@pytest.mark.parametrize(
    "which, index, value",
    [("weight", (1, 2), math.nan), ("weight", (0, 0), -math.inf), ("bias", (3,), math.inf)],
)
def test_errors_from_torch_non_finite_parameters(which, index, value):
    # A non-finite parameter used to be copied in silently.
    seq = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 4))
    layer = seq[0] if which == "weight" else seq[2]
    with torch.no_grad():
        getattr(layer, which)[index] = value
    where = "0" if which == "weight" else "2"
    shown = ", ".join(map(str, index))
    with pytest.raises(
        ValueError,
        match=rf"layer {where} \(Linear\) has {which}\[{shown}\] = {value}; a GraphNet's weights "
        r"and biases must be finite",
    ):
        graphnets.from_torch(seq)


@pytest.mark.parametrize("dropout", [nn.Dropout(0.5), nn.AlphaDropout(0.1), nn.Dropout1d(0.2)])
def test_errors_from_torch_dropout_in_training_mode(dropout):
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), dropout, nn.Linear(4, 2))
    with pytest.raises(
        ValueError,
        match=rf"layer 2 \({type(dropout).__name__}\) is in training mode, where it zeroes values "
        r"at random; a GraphNet has no dropout, so it can compute the module's eval-mode "
        r"function only: convert module\.eval\(\) \(graphnets\.from_torch\(model\.eval\(\)\)\)",
    ):
        graphnets.from_torch(seq)
    graphnets.from_torch(seq.eval())  # the fix the message gives works


@pytest.mark.parametrize("start, end", [(0, -1), (1, 2), (2, -1)])
def test_errors_from_torch_flatten_other_dims(start, end):
    seq = nn.Sequential(nn.Flatten(start, end), nn.Linear(3, 2))
    with pytest.raises(
        TypeError,
        match=rf"cannot convert layer 0 \(Flatten\(start_dim={start}, end_dim={end}\)\): "
        r"from_torch takes nn\.Flatten\(\) \(start_dim=1\), a no-op on the \[B, features\] "
        r"input of a GraphNet",
    ):
        graphnets.from_torch(seq)


# -- from_igraph -------------------------------------------------------------------------------
def test_errors_igraph_nan_weight():
    # A NaN weight used to be read as "no weight" and initialised; None is the missing value.
    g = ig.Graph(n=3, edges=[(0, 2), (1, 2)], directed=True)
    g.es["weight"] = [math.nan, 1.0]
    with pytest.raises(
        ValueError, match=r"weight of edge 0 -> 2 is nan; weights and biases must be finite"
    ):
        graphnets.from_igraph(g, [0, 1], [2])


@pytest.mark.parametrize("ids", [[-1], [3], [True], ["a"], [0.0]])
@pytest.mark.parametrize("what", ["inputs", "outputs"])
def test_errors_igraph_role_attribute_not_vertex_ids(what, ids):
    # g["inputs"] = [-1] used to be read as the last vertex.
    g = ig.Graph(n=3, edges=[(0, 2), (1, 2)], directed=True)
    g["inputs"], g["outputs"] = [0, 1], [2]
    g[what] = ids
    with pytest.raises(
        ValueError,
        match=rf"g\['{what}'\] holds {re.escape(repr(ids[0]))}, which is not a vertex index "
        rf"\(0\.\.2\); it lists vertex indices, as GraphNet\.to_igraph writes them "
        rf"\(or pass {what}= labels\)",
    ):
        graphnets.from_igraph(g)
    g[what] = 0
    with pytest.raises(ValueError, match=rf"g\['{what}'\] must be a list of vertex indices, got 0"):
        graphnets.from_igraph(g)


@pytest.mark.parametrize("delay", [-1, 1.5, True, "1"])
def test_errors_igraph_bad_delay(delay):
    g = ig.Graph(n=3, edges=[(0, 1), (1, 2)], directed=True)
    g.es["delay"] = [0, delay]
    with pytest.raises(
        ValueError,
        match=rf"edge 1 -> 2 has delay {re.escape(repr(delay))}; a delay is an int >= 0 "
        r"\(0: feed-forward, d >= 1: from d time steps back\)",
    ):
        graphnets.from_igraph(g, [0], [2])


# -- dtypes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int64, "float64", torch.bool, 64])
def test_errors_dtype_argument(dtype):
    match = r"dtype must be a floating torch\.dtype such as torch\.float64, got " + re.escape(
        repr(dtype)
    )
    with pytest.raises(TypeError, match=match):
        graphnets.from_networkx(chain(), ["x0", "x1"], ["y"], dtype=dtype)
    g = ig.Graph(n=2, edges=[(0, 1)], directed=True)
    with pytest.raises(TypeError, match=match):
        graphnets.from_igraph(g, [0], [1], dtype=dtype)
    with pytest.raises(TypeError, match=match):
        edges_net([(0, 1)], 2, [0], [1], dtype=dtype)


@pytest.mark.parametrize("stored", ["int32", "foo", "Tensor", 3])
def test_errors_graph_dtype_attribute(stored):
    G = chain(inputs=["x0", "x1"], outputs=["y"], dtype=stored)
    with pytest.raises(
        ValueError,
        match=rf"G\.graph\['dtype'\] is {re.escape(repr(stored))}; expected the name of a "
        r"floating torch dtype such as 'float64' \(or pass dtype=\)",
    ):
        graphnets.from_networkx(G)
    g = ig.Graph(n=2, edges=[(0, 1)], directed=True)
    g["dtype"] = stored
    with pytest.raises(ValueError, match=r"g\['dtype'\] is "):
        graphnets.from_igraph(g, [0], [1])


def test_errors_value_overflows_dtype():
    # 1e300 has no float32: it used to become inf silently (or a misleading "is inf").
    G = chain()
    G.edges["h", "y"]["weight"] = 1e300
    with pytest.raises(
        ValueError,
        match=r"weight of edge 'h' -> 'y' is 1e\+300, which torch\.float32 cannot hold \(it "
        r"would be inf\); pass dtype=torch\.float64",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])
    assert (
        graphnets.from_networkx(G, ["x0", "x1"], ["y"], dtype=torch.float64).weight.max() == 1e300
    )
    G = chain()
    G.nodes["h"]["bias"] = -1e300
    with pytest.raises(ValueError, match=r"bias of node 'h' is -1e\+300, which torch\.float32"):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])
    with pytest.raises(ValueError, match=r"weight of edge 1 is 1e\+300, which torch\.float16"):
        edges_net([(0, 2), (1, 2)], 3, [0, 1], [2], weight=[1.0, 1e300], dtype=torch.float16)
    with pytest.raises(ValueError, match=r"bias of node 2 is 70000\.0, which torch\.float16"):
        edges_net([(0, 2), (1, 2)], 3, [0, 1], [2], bias=[0, 0, 7e4], dtype=torch.float16)


# -- cycles ------------------------------------------------------------------------------------
def test_errors_long_cycle_message_is_short():
    # A 5,000-node cycle used to be spelt out in full: a 39,000-character message.
    n = 5000
    G = nx.DiGraph([(("h", i), ("h", (i + 1) % n)) for i in range(n)])
    G.add_edges_from([("x", ("h", 0)), (("h", 1), "y")])
    with pytest.raises(graphnets.CycleError) as err:
        graphnets.from_networkx(G, ["x"], ["y"])
    message = str(err.value)
    assert len(message) < 400, len(message)
    assert re.search(
        r"contain a cycle: \('h', \d+\) -> .* -> \.\.\. \(5000 nodes in all\) \.\.\. -> ",
        message,
    )
    assert len(err.value.cycle) == n  # the whole cycle is still there, for a program
