"""Every documented error, with its message pinned: it names the bad value and says the fix."""

import re

import igraph as ig
import networkx as nx
import pytest
import torch
from torch import nn

import graphnets
from graphnets import CycleError, priors


def _chain(**kw):
    """x0, x1 -> h -> y as a networkx graph."""
    G = nx.DiGraph([("x0", "h"), ("x1", "h"), ("h", "y")], **kw)
    return G


def _edges(pairs, n, inputs, outputs, **kw):
    ei = torch.tensor(pairs, dtype=torch.long).T
    return graphnets.from_edges(ei, n, inputs, outputs, **kw)


# -- topology ---------------------------------------------------------------------------------
def _cycle_names(message):
    m = re.search(r"the feed-forward edges contain a cycle: (.*); remove one of its edges", message)
    assert m, message
    return [eval(part) for part in m.group(1).split(" -> ")]  # labels are printed as repr


def _is_rotation(names, cycle):
    assert names[0] == names[-1], names
    ring = names[:-1]
    k = ring.index(cycle[0])
    return ring[k:] + ring[:k] == cycle


def test_errors_cycle_names_its_nodes():
    G = nx.DiGraph([("x", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "y")])
    with pytest.raises(
        CycleError,
        match=r"contain a cycle: '[abc]' -> '[abc]' -> '[abc]' -> "
        r"'[abc]'; remove one of its edges$",
    ) as info:
        graphnets.from_networkx(G, ["x"], ["y"])
    assert _is_rotation(_cycle_names(str(info.value)), ["a", "b", "c"])
    assert isinstance(info.value, ValueError)
    assert sorted(info.value.cycle) == [1, 2, 3]  # node indices of a, b, c


def test_errors_cycle_tuple_labels():
    labels = [("in", 0), ("h", 1), ("h", 2), ("out", 0)]
    with pytest.raises(CycleError, match=r"contain a cycle: .*\('h', 1\).*\('h', 2\)") as info:
        _edges([(0, 1), (1, 2), (2, 1), (2, 3)], 4, [("in", 0)], [("out", 0)], labels=labels)
    assert _is_rotation(_cycle_names(str(info.value)), [("h", 1), ("h", 2)])


def test_errors_cycle_two_nodes_among_dag():
    # The cycle is off the path from input to output: still reported, by its nodes only.
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("p", "q"), ("q", "p"), ("q", "y")])
    with pytest.raises(CycleError) as info:
        graphnets.from_networkx(G, ["x"], ["y"])
    assert sorted(_cycle_names(str(info.value))[:-1]) == ["p", "q"]


def test_errors_self_loop():
    G = _chain()
    G.add_edge("h", "h")
    with pytest.raises(
        ValueError,
        match=r"self loop on node 'h' \(edge 'h' -> 'h'\); a "
        r"feed-forward edge must join two different nodes",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_edge_into_input():
    G = _chain()
    G.add_edge("h", "x1")
    with pytest.raises(
        ValueError,
        match=r"edge 'h' -> 'x1' enters input node 'x1'; input nodes "
        r"take no in-edges",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


@pytest.mark.parametrize("which", ["inputs", "outputs"])
def test_errors_label_not_in_graph(which):
    args = {"inputs": ["x0", "x1"], "outputs": ["y"]}
    args[which] = args[which][:1] + ["nope"]
    with pytest.raises(
        ValueError,
        match=rf"{which} name 'nope', which is not a node of the "
        r"graph \(its nodes are e\.g\. 'x0', 'h', 'x1', \.\.\.\)",
    ):
        graphnets.from_networkx(_chain(), args["inputs"], args["outputs"])


def test_errors_label_not_in_graph_from_edges():
    with pytest.raises(ValueError, match=r"outputs name 5, which is not a node of the graph"):
        _edges([(0, 1), (1, 2)], 3, [0], [5])


def test_errors_unhashable_label():
    with pytest.raises(ValueError, match=r"inputs name \['x0'\], which is not a node"):
        graphnets.from_networkx(_chain(), [["x0"]], ["y"])


def test_errors_overlapping_inputs_outputs():
    with pytest.raises(
        ValueError,
        match=r"node 'x1' is both an input and an output; inputs and "
        r"outputs must be disjoint",
    ):
        graphnets.from_networkx(_chain(), ["x0", "x1"], ["y", "x1"])


@pytest.mark.parametrize("which", ["inputs", "outputs"])
def test_errors_empty_inputs_outputs(which):
    args = {"inputs": ["x0", "x1"], "outputs": ["y"]}
    args[which] = []
    with pytest.raises(
        ValueError,
        match=rf"{which} must name at least one node, got an empty "
        r"list",
    ):
        graphnets.from_networkx(_chain(), args["inputs"], args["outputs"])


def test_errors_repeated_input():
    with pytest.raises(
        ValueError,
        match=r"inputs list node 'x0' more than once; each node may "
        r"appear once",
    ):
        graphnets.from_networkx(_chain(), ["x0", "x1", "x0"], ["y"])


def test_errors_inputs_not_a_list():
    with pytest.raises(
        TypeError,
        match=r"inputs must be an ordered list of node labels, got "
        r"'x0'",
    ):
        graphnets.from_networkx(_chain(), "x0", ["y"])
    with pytest.raises(
        TypeError,
        match=r"outputs must be an ordered list of node labels, got "
        r"\{'y'\}",
    ):
        graphnets.from_networkx(_chain(), ["x0", "x1"], {"y"})


def test_errors_inputs_missing():
    with pytest.raises(
        ValueError,
        match=r"inputs and outputs are needed: pass them, or set "
        r"G\.graph\['inputs'\]",
    ):
        graphnets.from_networkx(_chain())


def test_errors_duplicate_edge():
    with pytest.raises(
        ValueError,
        match=r"duplicate edge 0 -> 2 \(edges 0 and 2\); give each "
        r"pair at most one edge \(sum their weights\)",
    ):
        _edges([(0, 2), (1, 2), (0, 2), (2, 3)], 4, [0, 1], [3])


def test_errors_duplicate_edge_labels():
    with pytest.raises(ValueError, match=r"duplicate edge 'h' -> 'y' \(edges 2 and 3\)"):
        _edges([(0, 2), (1, 2), (2, 3), (2, 3)], 4, ["a", "b"], ["y"], labels=["a", "b", "h", "y"])


def test_errors_duplicate_edge_igraph():
    g = ig.Graph(n=3, edges=[(0, 1), (1, 2), (1, 2)], directed=True)
    with pytest.raises(ValueError, match=r"duplicate edge 1 -> 2 \(edges 1 and 2\)"):
        graphnets.from_igraph(g, [0], [2])


# -- parameters -------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_errors_nonfinite_weight_networkx(bad):
    G = _chain()
    G.edges["x1", "h"]["weight"] = bad
    with pytest.raises(
        ValueError,
        match=rf"weight of edge 'x1' -> 'h' is {bad}; weights and "
        r"biases must be finite",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_nonfinite_weight_from_edges():
    with pytest.raises(
        ValueError,
        match=r"weight of edge 'h' -> 'y' is nan; weights and biases "
        r"must be finite",
    ):
        _edges(
            [(0, 2), (1, 2), (2, 3)],
            4,
            ["a", "b"],
            ["y"],
            labels=["a", "b", "h", "y"],
            weight=torch.tensor([1.0, 2.0, float("nan")]),
        )


def test_errors_nonfinite_weight_igraph():
    g = ig.Graph(n=3, edges=[(0, 1), (1, 2)], directed=True)
    g.vs["name"] = ["x", "h", "y"]
    g.es["weight"] = [1.0, float("inf")]
    with pytest.raises(ValueError, match=r"weight of edge 'h' -> 'y' is inf"):
        graphnets.from_igraph(g, ["x"], ["y"])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_errors_nonfinite_bias_networkx(bad):
    G = _chain()
    G.nodes["h"]["bias"] = bad
    with pytest.raises(
        ValueError,
        match=rf"bias of node 'h' is {bad}; weights and biases must "
        r"be finite",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_nonfinite_bias_from_edges():
    with pytest.raises(ValueError, match=r"bias of node 'y' is -inf"):
        _edges(
            [(0, 1), (1, 2)],
            3,
            ["x"],
            ["y"],
            labels=["x", "h", "y"],
            bias=torch.tensor([0.0, 0.0, float("-inf")]),
        )


def test_errors_input_bias_networkx():
    G = _chain()
    G.nodes["x1"]["bias"] = 0.5
    with pytest.raises(
        ValueError,
        match=r"input node 'x1' has bias 0\.5; input nodes take x as "
        r"it is, so their bias must be 0",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_input_bias_from_edges():
    with pytest.raises(ValueError, match=r"input node 0 has bias -2\.0; .*bias must be 0"):
        _edges([(0, 1)], 2, [0], [1], bias=torch.tensor([-2.0, 0.0]))


def test_errors_parameter_counts():
    s = graphnets.mlp([2, 1]).structure
    with pytest.raises(ValueError, match=r"expected 2 weights \(one per edge\), got 3"):
        graphnets.GraphNet(s, torch.ones(3))
    with pytest.raises(ValueError, match=r"expected 3 biases \(one per node\), got 2"):
        graphnets.GraphNet(s, bias=torch.zeros(2))


# -- activations ------------------------------------------------------------------------------
ACCEPTED = (
    r"expected one of identity, relu, tanh, sigmoid, leaky_relu, elu, softplus, gelu, "
    r"silu \(parameters in brackets"
)


def test_errors_unknown_activation_keyword():
    with pytest.raises(ValueError, match=r"unknown activation 'rleu'; " + ACCEPTED):
        graphnets.from_networkx(_chain(), ["x0", "x1"], ["y"], activation="rleu")
    with pytest.raises(ValueError, match=r"unknown activation 'softmax'; " + ACCEPTED):
        graphnets.mlp([2, 3, 1], output_activation="softmax")


def test_errors_unknown_activation_attribute():
    G = _chain()
    G.nodes["h"]["activation"] = "sigmoidal"
    with pytest.raises(ValueError, match=r"unknown activation 'sigmoidal'; " + ACCEPTED):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_activated_input():
    G = _chain()
    G.nodes["x0"]["activation"] = "relu"
    with pytest.raises(
        ValueError,
        match=r"input node 'x0' has activation 'relu'; inputs are "
        r"never activated",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


# -- forward ----------------------------------------------------------------------------------
def test_errors_x_dtype():
    net = graphnets.mlp([3, 2], seed=0)
    with pytest.raises(
        TypeError,
        match=r"expected x of dtype torch\.float32 \(the network's "
        r"parameters\), got torch\.float64; convert x with "
        r"x\.to\(torch\.float32\)",
    ):
        net(torch.randn(2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"expected x of dtype torch\.float64 .* got torch\.int64"):
        net.double()(torch.ones(2, 3, dtype=torch.long))


@pytest.mark.parametrize("shape", [(2, 4), (2, 3, 1), (4,), ()])
def test_errors_x_shape(shape):
    net = graphnets.mlp([3, 2], seed=0)
    with pytest.raises(
        ValueError,
        match=r"expected x of shape \[B, 3\] \(one column per input "
        r"node\), got " + re.escape(str(list(shape))),
    ):
        net(torch.randn(shape))


def test_errors_x_device():
    net = graphnets.mlp([3, 2], seed=0)
    with pytest.raises(
        ValueError,
        match=r"expected x on device cpu \(the network's parameters\), "
        r"got meta; move x with x\.to\('cpu'\)",
    ):
        net(torch.empty(2, 3, device="meta"))


def test_errors_x_not_a_tensor():
    net = graphnets.mlp([3, 2], seed=0)
    with pytest.raises(
        TypeError,
        match=r"expected x to be a torch\.Tensor of shape \[B, 3\], "
        r"got list",
    ):
        net([[1.0, 2.0, 3.0]])


# -- options ----------------------------------------------------------------------------------
def test_errors_unknown_kernel():
    msg = r"unknown kernel 'cuda'; expected one of auto, levelwise, dense, sparse, scatter, fused"
    net = graphnets.mlp([3, 2], seed=0)
    with pytest.raises(ValueError, match=msg):
        net.compile("cuda")
    assert net.kernel == "auto"  # a failed compile leaves the net as it was
    with pytest.raises(ValueError, match=msg):
        graphnets.from_networkx(_chain(), ["x0", "x1"], ["y"], kernel="cuda")
    with pytest.raises(ValueError, match=msg):
        graphnets.mlp([3, 2], kernel="cuda")


@pytest.mark.parametrize("seed", ["0", 1.5, True, [1]])
def test_errors_bad_seed(seed):
    msg = rf"seed must be None, an int or a torch\.Generator, got {re.escape(repr(seed))}"
    with pytest.raises(TypeError, match=msg):
        graphnets.mlp([3, 2], seed=seed)
    with pytest.raises(TypeError, match=msg):
        graphnets.from_networkx(_chain(), ["x0", "x1"], ["y"], seed=seed)
    with pytest.raises(TypeError, match=msg):
        priors.watts_strogatz(2, 2, 10, 4, 0.3, seed=seed)
    with pytest.raises(TypeError, match=msg):
        graphnets.mlp([3, 2]).reset_parameters(seed=seed)


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


# -- edge_index -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ei",
    [torch.tensor([[0, 1, 2]]), torch.tensor([0, 1]), torch.zeros(3, 2, dtype=torch.long)],
    ids=["1xE", "1d", "3xE"],
)
def test_errors_edge_index_shape(ei):
    with pytest.raises(
        ValueError,
        match=r"edge_index must have shape \[2, E\], got " + re.escape(str(list(ei.shape))),
    ):
        graphnets.from_edges(ei, 3, [0], [2])


def test_errors_edge_index_float():
    with pytest.raises(
        TypeError,
        match=r"edge_index must hold integers, got dtype "
        r"torch\.float32",
    ):
        graphnets.from_edges(torch.tensor([[0.0, 1.0], [1.0, 2.0]]), 3, [0], [2])


@pytest.mark.parametrize("bad", [3, 10, -1])
def test_errors_edge_index_out_of_range(bad):
    with pytest.raises(
        ValueError,
        match=rf"edge_index refers to node {bad}, but there are 3 "
        r"nodes \(valid indices 0\.\.2\)",
    ):
        graphnets.from_edges(torch.tensor([[0, bad], [1, 2]]), 3, [0], [2])


def test_errors_from_edges_num_nodes_and_labels():
    ei = torch.tensor([[0], [1]])
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(
            ValueError,
            match=rf"num_nodes must be a positive int, got "
            rf"{re.escape(repr(bad))}",
        ):
            graphnets.from_edges(ei, bad, [0], [1])
    with pytest.raises(ValueError, match=r"expected 2 labels \(num_nodes\), got 3"):
        graphnets.from_edges(ei, 2, ["a"], ["b"], labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"duplicate node label 'a'; labels must be unique"):
        graphnets.from_edges(ei, 3, ["a"], ["b"], labels=["a", "b", "a"])


# -- mlp --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [[], [3], [3, 0], [3, -1, 2], [3, 2.0], [3, True], [3, "2"]])
def test_errors_mlp_sizes(sizes):
    with pytest.raises(
        ValueError,
        match=r"sizes must list at least two positive ints \(inputs, "
        r"\.\.\., outputs\), got " + re.escape(repr(sizes)),
    ):
        graphnets.mlp(sizes)


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


# -- load -------------------------------------------------------------------------------------
def test_errors_load_torch_file_without_header(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(
        ValueError,
        match=r"'.*other\.pt' is not a saved GraphNet \(no "
        r"'graphnets\.GraphNet' header\)",
    ):
        graphnets.load(path)
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match=r"is not a saved GraphNet"):
        graphnets.load(path)


def test_errors_load_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not a network\n")
    with pytest.raises(ValueError, match=r"'.*notes\.txt' is not a saved GraphNet"):
        graphnets.load(path)


def test_errors_load_newer_format(tmp_path):
    net = graphnets.mlp([2, 1], seed=0)
    path = tmp_path / "n.pt"
    net.save(path)
    state = torch.load(path, weights_only=True)
    state["version"] = 99
    torch.save(state, path)
    with pytest.raises(
        ValueError,
        match=r"was saved by a newer graphnets \(format 99, this one "
        r"reads up to 2\); upgrade graphnets",
    ):
        graphnets.load(path)


# -- priors -----------------------------------------------------------------------------------
def test_errors_priors_generators():
    with pytest.raises(
        ValueError,
        match=r"k=10 must be smaller than n=10; choose a smaller k or "
        r"a larger n",
    ):
        priors.watts_strogatz(2, 2, 10, 10, 0.3)
    with pytest.raises(ValueError, match=r"m=0 must satisfy 1 <= m < n=10"):
        priors.barabasi_albert(2, 2, 10, 0)
    with pytest.raises(ValueError, match=r"p=1\.5 must be a probability in \[0, 1\]"):
        priors.erdos_renyi(2, 2, 10, 1.5)


def test_errors_priors_orient():
    with pytest.raises(
        ValueError,
        match=r"unknown orientation 'sorted'; expected 'random' or "
        r"'index'",
    ):
        priors.orient(nx.path_graph(3), orientation="sorted")
    G = nx.path_graph(3)
    G.add_edge(1, 1)
    with pytest.raises(
        ValueError,
        match=r"self loop on node 1; a prior graph must have no self "
        r"loops",
    ):
        priors.orient(G)
    with pytest.raises(TypeError, match=r"expected a simple graph, got a multigraph"):
        priors.orient(nx.MultiGraph([(0, 1), (0, 1)]))


def test_errors_priors_embed():
    D = nx.DiGraph([(0, 1)])
    with pytest.raises(ValueError, match=r"n_inputs must be a positive int, got 0"):
        priors.embed(D, 0, 1)
    with pytest.raises(ValueError, match=r"n_outputs must be a positive int, got 1\.0"):
        priors.embed(D, 1, 1.0)
    with pytest.raises(
        ValueError,
        match=r"unknown inputs_to 'every'; expected 'sources' or "
        r"'all'",
    ):
        priors.embed(D, 1, 1, inputs_to="every")
    with pytest.raises(
        ValueError,
        match=r"unknown outputs_from 'sources'; expected 'sinks' or "
        r"'all'",
    ):
        priors.embed(D, 1, 1, outputs_from="sources")
    with pytest.raises(ValueError, match=r"the prior graph has no nodes; give it at least one"):
        priors.embed(nx.DiGraph(), 1, 1)
    with pytest.raises(
        ValueError,
        match=r"the prior graph has a node labelled \('in', 0\), "
        r"which is reserved",
    ):
        priors.embed(nx.DiGraph([(("in", 0), 1)]), 1, 1)


def test_errors_priors_directed_cycle():
    with pytest.raises(CycleError, match=r"contain a cycle"):
        priors.from_graph(nx.DiGraph([(0, 1), (1, 2), (2, 0)]), 1, 1)
