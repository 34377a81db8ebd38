"""Builders (networkx, edge lists, igraph, layer sizes, torch.nn) and the round trips back."""

import copy

import igraph as ig
import networkx as nx
import numpy as np
import pytest
import torch
from _graphs import GRAPHS
from torch import nn

import graphnets
from graphnets.reference import evaluate


def _weights_by_edge(net):
    return dict(zip(net.edges(), net.weight.detach().tolist(), strict=True))


# -- from_networkx ----------------------------------------------------------------------------
def _attr_graph(with_weights: bool = True):
    G = nx.DiGraph()
    G.add_node("x0")
    G.add_node("x1", bias=0.0, activation="identity")  # allowed on an input
    G.add_node("h0", bias=0.25, activation="tanh")
    G.add_node("h1")  # nothing given: default activation, bias 0
    G.add_node("h2", activation="leaky_relu(0.2)")
    G.add_node("y0", bias=-1.5)  # output without activation: output_activation
    G.add_node("y1", activation="sigmoid")  # output with its own activation
    edges = [
        ("x0", "h0", 0.5),
        ("x1", "h0", None),
        ("x0", "h1", -2.0),
        ("x1", "h2", None),
        ("h0", "y0", 1.25),
        ("h1", "y0", None),
        ("h2", "y1", 3.0),
        ("h0", "y1", None),
    ]
    for u, v, w in edges:
        if w is None or not with_weights:
            G.add_edge(u, v)
        else:
            G.add_edge(u, v, weight=w)
    return G


def test_from_networkx_uses_attributes_where_present():
    G = _attr_graph()
    net = graphnets.from_networkx(G, ["x0", "x1"], ["y0", "y1"], activation="elu", seed=3)
    assert net.labels == list(G.nodes)
    assert net.edges() == list(G.edges)  # weight order follows G.edges
    w = _weights_by_edge(net)
    for u, v, given in G.edges(data="weight"):
        if given is not None:
            assert w[(u, v)] == given
    # Missing weights get the same fan-in initialisation as a graph without any weights.
    bare = graphnets.from_networkx(
        _attr_graph(with_weights=False), ["x0", "x1"], ["y0", "y1"], activation="elu", seed=3
    )
    w_bare = _weights_by_edge(bare)
    for u, v, given in G.edges(data="weight"):
        if given is None:
            assert w[(u, v)] == w_bare[(u, v)]
            assert w[(u, v)] != 0
    bias = dict(zip(net.labels, net.bias.detach().tolist(), strict=True))
    assert bias == {"x0": 0.0, "x1": 0.0, "h0": 0.25, "h1": 0.0, "h2": 0.0, "y0": -1.5, "y1": 0.0}
    assert net.activations == {
        "x0": "identity",
        "x1": "identity",
        "h0": "tanh",
        "h1": "elu",
        "h2": "leaky_relu(0.2)",
        "y0": "identity",
        "y1": "sigmoid",
    }
    x = torch.randn(4, 2)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_from_networkx_output_activation_default():
    net = graphnets.from_networkx(
        _attr_graph(), ["x0", "x1"], ["y0", "y1"], output_activation="tanh", seed=0
    )
    assert net.activations["y0"] == "tanh"
    assert net.activations["y1"] == "sigmoid"  # the node's own attribute wins


def test_from_networkx_graph_inputs_outputs():
    G = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")], inputs=["a"], outputs=["c"])
    net = graphnets.from_networkx(G, seed=0)
    assert net.inputs == ["a"] and net.outputs == ["c"]
    # Arguments win over the graph attributes.
    net = graphnets.from_networkx(G, ["a"], ["b", "c"], seed=0)
    assert net.outputs == ["b", "c"]


def test_from_networkx_weights_exact_hand_computed():
    # y = 2 * relu(0.5 x0 - x1 + 0.1) + 3 x0 - 1 with identity output.
    G = nx.DiGraph()
    G.add_node("h", bias=0.1)
    G.add_node("y", bias=-1.0)
    G.add_weighted_edges_from(
        [("x0", "h", 0.5), ("x1", "h", -1.0), ("h", "y", 2.0), ("x0", "y", 3.0)]
    )
    net = graphnets.from_networkx(G, ["x0", "x1"], ["y"])
    x = torch.tensor([[1.0, 0.2], [0.0, 1.0]])
    want = 2 * torch.relu(0.5 * x[:, 0] - x[:, 1] + 0.1) + 3 * x[:, 0] - 1
    torch.testing.assert_close(net(x)[:, 0], want)


@pytest.mark.parametrize(
    "labels",
    [
        ["in", "hid", "out"],
        [10, 20, 30],
        [("in", 0), ("h", 0, "deep"), ("out", 0)],
        [("in", 0), 7, "out"],
    ],
    ids=["str", "int", "tuple", "mixed"],
)
def test_from_networkx_label_types(labels):
    a, b, c = labels
    G = nx.DiGraph([(a, b), (b, c), (a, c)])
    net = graphnets.from_networkx(G, [a], [c], activation="tanh", seed=0)
    assert net.inputs == [a] and net.outputs == [c]
    assert net.levels == [[a], [b], [c]]
    assert net.edges() == [(a, b), (a, c), (b, c)]
    x = torch.randn(3, 1)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_from_networkx_same_seed_same_weights():
    G = _attr_graph(with_weights=False)
    nets = [graphnets.from_networkx(G, ["x0", "x1"], ["y0", "y1"], seed=s) for s in (5, 5, 6)]
    assert torch.equal(nets[0].weight, nets[1].weight)
    assert not torch.equal(nets[0].weight, nets[2].weight)
    gen = torch.Generator().manual_seed(5)
    assert torch.equal(
        graphnets.from_networkx(G, ["x0", "x1"], ["y0", "y1"], seed=gen).weight, nets[0].weight
    )


# -- from_edges ---------------------------------------------------------------------------------
def test_from_edges_weights_biases_labels():
    ei = torch.tensor([[0, 1, 2, 0], [2, 2, 3, 3]])
    w = torch.tensor([0.5, -1.0, 2.0, 3.0])
    b = torch.tensor([0.0, 0.0, 0.1, -1.0])
    net = graphnets.from_edges(
        ei, 4, ["x0", "x1"], ["y"], weight=w, bias=b, labels=["x0", "x1", "h", "y"]
    )
    assert net.edges() == [("x0", "h"), ("x1", "h"), ("h", "y"), ("x0", "y")]
    assert torch.equal(net.weight.detach(), w)
    assert torch.equal(net.bias.detach(), b)
    assert torch.equal(net.edge_index, ei)
    assert net.activations == {"x0": "identity", "x1": "identity", "h": "relu", "y": "identity"}
    x = torch.tensor([[1.0, 0.2], [0.0, 1.0]])
    want = 2 * torch.relu(0.5 * x[:, 0] - x[:, 1] + 0.1) + 3 * x[:, 0] - 1
    torch.testing.assert_close(net(x)[:, 0], want)


def test_from_edges_default_labels_are_indices():
    net = graphnets.from_edges(torch.tensor([[0, 1, 2], [2, 2, 3]]), 4, [1, 0], [3], seed=0)
    assert net.labels == [0, 1, 2, 3]
    assert net.inputs == [1, 0]
    assert net.depth == 3


# -- from_igraph -------------------------------------------------------------------------------
def test_from_igraph_vertex_indices():
    g = ig.Graph(n=4, edges=[(0, 2), (1, 2), (2, 3)], directed=True)
    net = graphnets.from_igraph(g, [0, 1], [3], seed=0)
    assert net.labels == [0, 1, 2, 3]
    assert net.edges() == [(0, 2), (1, 2), (2, 3)]


def test_from_igraph_names_and_attributes():
    g = ig.Graph(n=4, edges=[(0, 2), (1, 2), (2, 3), (0, 3)], directed=True)
    g.vs["name"] = ["x0", "x1", "h", "y"]
    g.es[0]["weight"] = 0.5  # the other edges have weight None: initialised
    g.es[2]["weight"] = 2.0
    g.vs[2]["bias"] = 0.1
    g.vs[2]["activation"] = "tanh"
    net = graphnets.from_igraph(g, ["x0", "x1"], ["y"], seed=1)
    assert net.labels == ["x0", "x1", "h", "y"]
    w = _weights_by_edge(net)
    assert w[("x0", "h")] == 0.5 and w[("h", "y")] == 2.0
    assert w[("x1", "h")] != 0 and w[("x0", "y")] != 0
    assert net.bias.detach().tolist() == pytest.approx([0.0, 0.0, 0.1, 0.0])
    assert net.activations["h"] == "tanh"
    x = torch.randn(5, 2)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_from_igraph_label_attribute_wins():
    g = ig.Graph(n=3, edges=[(0, 1), (1, 2)], directed=True)
    g.vs["name"] = ["a", "b", "c"]
    g.vs["label"] = [("in", 0), ("h", 0), ("out", 0)]
    net = graphnets.from_igraph(g, [("in", 0)], [("out", 0)], seed=0)
    assert net.labels == [("in", 0), ("h", 0), ("out", 0)]


# -- mlp ---------------------------------------------------------------------------------------
def test_mlp_structure():
    net = graphnets.mlp([4, 8, 3], activation="tanh", output_activation="sigmoid", seed=0)
    assert net.num_nodes == 15
    assert net.num_edges == 4 * 8 + 8 * 3
    assert net.depth == 3
    assert net.inputs == [(0, k) for k in range(4)]
    assert net.outputs == [(2, k) for k in range(3)]
    assert net.levels == [[(ell, u) for u in range(k)] for ell, k in enumerate([4, 8, 3])]
    assert set(net.activations[(1, u)] for u in range(8)) == {"tanh"}
    assert set(net.activations[(2, u)] for u in range(3)) == {"sigmoid"}


def test_mlp_equals_torch_sequential():
    net = graphnets.mlp([4, 8, 5, 3], activation="gelu", seed=0)
    with torch.no_grad():
        net.bias.normal_()
        net.bias[:4] = 0
    lin = []
    for ell, (k_in, k_out) in enumerate(zip([4, 8, 5], [8, 5, 3], strict=True)):
        layer = nn.Linear(k_in, k_out)
        w = _weights_by_edge(net)
        b = dict(zip(net.labels, net.bias.detach().tolist(), strict=True))
        with torch.no_grad():
            for o in range(k_out):
                layer.bias[o] = b[(ell + 1, o)]
                for i in range(k_in):
                    layer.weight[o, i] = w[((ell, i), (ell + 1, o))]
        lin.append(layer)
    seq = nn.Sequential(lin[0], nn.GELU(), lin[1], nn.GELU(), lin[2])
    x = torch.randn(6, 4)
    torch.testing.assert_close(net(x), seq(x))


def test_mlp_numpy_sizes():
    net = graphnets.mlp(np.array([3, 4, 2]), seed=0)
    assert net.num_edges == 20
    assert net.outputs == [(2, 0), (2, 1)]
    assert all(type(v) is int for lab in net.labels for v in lab)


def test_mlp_no_hidden_layer():
    net = graphnets.mlp([3, 2], seed=0)
    assert net.num_edges == 6 and net.depth == 2
    x = torch.randn(4, 3)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_mlp_seed():
    a, b = graphnets.mlp([3, 4, 2], seed=1), graphnets.mlp([3, 4, 2], seed=1)
    assert torch.equal(a.weight, b.weight)
    assert not torch.equal(
        graphnets.mlp([3, 4, 2], seed=1).weight, graphnets.mlp([3, 4, 2], seed=2).weight
    )


def test_mlp_fan_in_initialisation_bounds():
    net = graphnets.mlp([100, 50, 10], activation="relu", seed=0)
    w = net.weight.detach()
    first, second = w[: 100 * 50], w[100 * 50 :]
    assert float(first.abs().max()) <= (3**0.5) * (2**0.5) / 10
    assert float(second.abs().max()) <= (3**0.5) / 50**0.5
    assert float(first.abs().max()) > 0.9 * (3**0.5) * (2**0.5) / 10
    assert bool((net.bias == 0).all())


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_from_networkx_round_trip(graph):
    net = GRAPHS[graph]()
    G = net.to_networkx()
    back = graphnets.from_networkx(G)
    assert back.labels == net.labels
    assert back.inputs == net.inputs and back.outputs == net.outputs
    assert back.activations == net.activations
    assert _weights_by_edge(back) == _weights_by_edge(net)
    assert torch.equal(back.bias, net.bias)
    x = torch.randn(7, len(net.inputs))
    assert torch.equal(back(x), net(x))
    for lab, data in G.nodes(data=True):
        role = "input" if lab in net.inputs else "output" if lab in net.outputs else "hidden"
        assert data["role"] == role


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_from_igraph_round_trip(graph):
    net = GRAPHS[graph]()
    back = graphnets.from_igraph(net.to_igraph())
    assert back.labels == net.labels
    assert back.edges() == net.edges()
    assert back.inputs == net.inputs and back.outputs == net.outputs
    assert back.activations == net.activations
    assert torch.equal(back.weight, net.weight)
    assert torch.equal(back.bias, net.bias)
    x = torch.randn(7, len(net.inputs))
    assert torch.equal(back(x), net(x))


def test_to_igraph_attributes():
    net = GRAPHS["hidden_sources"]()
    g = net.to_igraph()
    assert g.is_directed()
    assert g.vcount() == net.num_nodes and g.ecount() == net.num_edges
    assert g.get_edgelist() == [tuple(e) for e in net.edge_index.T.tolist()]
    assert g.vs["label"] == net.labels
    assert g.vs["name"] == [str(lab) for lab in net.labels]
    assert g["inputs"] == net.structure.inputs.tolist()
    assert g.es["weight"] == net.weight.detach().tolist()


# -- from_torch --------------------------------------------------------------------------------
ACT_MODULES = [
    nn.ReLU(),
    nn.Tanh(),
    nn.Sigmoid(),
    nn.Identity(),
    nn.LeakyReLU(0.1),
    nn.GELU(),
    nn.GELU("tanh"),
    nn.ELU(0.5),
    nn.Softplus(2.0, 10.0),
    nn.SiLU(),
]


def _check_same_function(seq, net, dtype=torch.float32):
    torch.manual_seed(0)
    n_in = next(m for m in seq.modules() if isinstance(m, nn.Linear)).in_features
    x = (3 * torch.randn(8, n_in, dtype=dtype)).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    y_ref, y = seq(x), net(x2)
    assert y.dtype == dtype
    torch.testing.assert_close(y, y_ref)
    gy = torch.randn_like(y)
    (g_ref,) = torch.autograd.grad(y_ref, x, gy)
    (g,) = torch.autograd.grad(y, x2, gy)
    torch.testing.assert_close(g, g_ref)


@pytest.mark.parametrize("act", ACT_MODULES, ids=lambda m: repr(m))
def test_from_torch_activation(act):
    torch.manual_seed(1)
    seq = nn.Sequential(nn.Linear(4, 6), act, nn.Linear(6, 5), copy.deepcopy(act), nn.Linear(5, 3))
    net = graphnets.from_torch(seq)
    assert net.depth == 4
    _check_same_function(seq, net)


def test_from_torch_shared_activation_instance():
    # One activation module used after every layer is common torch style; each use counts.
    act = nn.Tanh()
    seq = nn.Sequential(nn.Linear(4, 6), act, nn.Linear(6, 5), act, nn.Linear(5, 3))
    net = graphnets.from_torch(seq)
    assert {net.activations[(2, u)] for u in range(5)} == {"tanh"}
    _check_same_function(seq, net)


def test_from_torch_shared_linear_instance():
    # A Linear applied twice (tied weights) is two layers of the function.
    torch.manual_seed(0)
    lin = nn.Linear(4, 4)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    net = graphnets.from_torch(seq)
    assert net.depth == 3
    _check_same_function(seq, net)


def test_from_torch_weight_layout():
    torch.manual_seed(0)
    lin = nn.Linear(2, 3)
    net = graphnets.from_torch(nn.Sequential(lin))
    w = _weights_by_edge(net)
    for o in range(3):
        for i in range(2):
            assert w[((0, i), (1, o))] == float(lin.weight.detach()[o, i])
    assert net.bias.detach()[2:].tolist() == lin.bias.detach().tolist()


def test_from_torch_final_activation_is_output_activation():
    seq = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid())
    net = graphnets.from_torch(seq)
    assert {net.activations[o] for o in net.outputs} == {"sigmoid"}
    _check_same_function(seq, net)


def test_from_torch_linear_without_bias():
    seq = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2))
    net = graphnets.from_torch(seq)
    assert net.bias.detach()[3:7].tolist() == [0.0] * 4
    _check_same_function(seq, net)


def test_from_torch_linear_then_linear():
    seq = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 4), nn.ELU(), nn.Linear(4, 2))
    net = graphnets.from_torch(seq)
    assert {net.activations[(1, u)] for u in range(5)} == {"identity"}
    _check_same_function(seq, net)


def test_from_torch_nested_sequential():
    seq = nn.Sequential(
        nn.Linear(3, 4),
        nn.Sequential(nn.SiLU(), nn.Sequential(nn.Linear(4, 4))),
        nn.Tanh(),
        nn.Linear(4, 2),
    )
    net = graphnets.from_torch(seq)
    assert net.depth == 4
    _check_same_function(seq, net)


def test_from_torch_single_linear():
    lin = nn.Linear(3, 2)
    net = graphnets.from_torch(lin)
    _check_same_function(nn.Sequential(lin), net)


def test_from_torch_float64():
    seq = nn.Sequential(nn.Linear(3, 6), nn.GELU(), nn.Linear(6, 2)).double()
    net = graphnets.from_torch(seq)
    assert net.weight.dtype == torch.float64 and net.bias.dtype == torch.float64
    _check_same_function(seq, net, torch.float64)


@pytest.mark.parametrize("kernel", ["dense", "sparse", "scatter", "fused"])
def test_from_torch_kernel(kernel):
    seq = nn.Sequential(nn.Linear(3, 6), nn.Softplus(), nn.Linear(6, 2))
    net = graphnets.from_torch(seq, kernel=kernel)
    assert net.kernel == kernel
    _check_same_function(seq, net)


def test_from_edges_float64_weights_keep_their_dtype():
    # Given float64 parameters are not rounded to float32: the net takes their dtype.
    ei = torch.tensor([[0, 1], [2, 2]])
    w = torch.tensor([0.1, 1 / 3], dtype=torch.float64)
    net = graphnets.from_edges(ei, 3, [0, 1], [2], weight=w)
    assert net.weight.dtype == torch.float64 and net.bias.dtype == torch.float64
    assert net.weight.tolist() == w.tolist()
    x = torch.tensor([[1.0, 3.0]], dtype=torch.float64)
    assert abs(net(x).item() - 1.1) < 1e-12  # float32 weights would be off by ~1e-8


# -- dtypes: given values are kept exactly -----------------------------------------------------
def _float64_net(graph: str) -> graphnets.GraphNet:
    """A test graph in float64 whose weights and biases float32 cannot hold exactly."""
    net = GRAPHS[graph]().double()
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        net.weight.copy_(torch.randn(net.num_edges, generator=gen, dtype=torch.float64))
        hidden = torch.ones(net.num_nodes, dtype=torch.bool)
        hidden[net.structure.inputs] = False
        net.bias[hidden] = torch.randn(int(hidden.sum()), generator=gen, dtype=torch.float64)
    assert not torch.equal(net.weight.float().double(), net.weight)
    return net


@pytest.mark.parametrize("via", ["networkx", "igraph"])
@pytest.mark.parametrize("graph", ["mlp", "skip_dag", "mixed_activations"])
def test_round_trip_keeps_float64(graph, via):
    # from_networkx(net64.to_networkx()) used to round every weight and bias to float32.
    net = _float64_net(graph)
    if via == "networkx":
        back = graphnets.from_networkx(net.to_networkx())
        assert _weights_by_edge(back) == _weights_by_edge(net)
    else:
        back = graphnets.from_igraph(net.to_igraph())
        assert torch.equal(back.weight, net.weight)
    assert back.weight.dtype == back.bias.dtype == torch.float64
    assert torch.equal(back.bias, net.bias)
    x = torch.randn(5, len(net.inputs), dtype=torch.float64)
    assert torch.equal(back(x), net(x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_round_trip_keeps_other_dtypes(dtype):
    net = GRAPHS["mlp"]().to(dtype)
    for back in (
        graphnets.from_networkx(net.to_networkx()),
        graphnets.from_igraph(net.to_igraph()),
    ):
        assert back.weight.dtype == dtype
        assert _weights_by_edge(back) == _weights_by_edge(net)
        assert torch.equal(back.bias, net.bias)


def test_from_networkx_dtype_reads_python_floats_exactly():
    G = nx.DiGraph()
    G.add_edge("x", "y", weight=0.1)
    G.add_node("y", bias=1 / 3)
    net = graphnets.from_networkx(G, ["x"], ["y"], dtype=torch.float64)
    assert net.weight.tolist() == [0.1] and net.bias.tolist() == [0.0, 1 / 3]
    # Without dtype (and no G.graph["dtype"]) Python floats become torch's default dtype, as
    # torch.tensor makes them; dtype= beats the graph's attribute.
    net = graphnets.from_networkx(G, ["x"], ["y"])
    assert net.weight.dtype == torch.float32 and net.weight.tolist() == [torch.tensor(0.1).item()]
    G.graph["dtype"] = "float64"
    assert graphnets.from_networkx(G, ["x"], ["y"]).weight.tolist() == [0.1]
    assert graphnets.from_networkx(G, ["x"], ["y"], dtype=torch.float16).weight.dtype == (
        torch.float16
    )


def test_from_igraph_dtype_argument():
    g = ig.Graph(n=3, edges=[(0, 2), (1, 2)], directed=True)
    g.es["weight"] = [0.1, None]  # None: initialised
    net = graphnets.from_igraph(g, [0, 1], [2], dtype=torch.float64, seed=0)
    assert net.weight.dtype == torch.float64 and net.weight[0].item() == 0.1


def test_from_edges_dtype_reads_lists_exactly(device):
    ei = torch.tensor([[0, 1], [2, 2]])
    net = graphnets.from_edges(
        ei,
        3,
        [0, 1],
        [2],
        weight=[0.1, 1 / 3],
        bias=[0, 0, 0.2],
        dtype=torch.float64,
        device=device,
    )
    assert net.weight.device.type == device.type
    assert net.weight.tolist() == [0.1, 1 / 3] and net.bias.tolist() == [0.0, 0.0, 0.2]
    # A float64 tensor asked for in float32 is rounded once, as asked.
    net = graphnets.from_edges(
        ei,
        3,
        [0, 1],
        [2],
        weight=torch.tensor([0.1, 0.2], dtype=torch.float64),
        dtype=torch.float32,
    )
    assert net.weight.dtype == torch.float32
    assert net.weight.tolist() == torch.tensor([0.1, 0.2]).tolist()


def test_mlp_dtype_and_device(device):
    net = graphnets.mlp([3, 4, 2], seed=1, dtype=torch.float64, device=device)
    assert net.weight.dtype == net.bias.dtype == torch.float64
    assert net.weight.device.type == device.type
    # The dtype does not change the draw: the same seed gives the same weights, rounded.
    assert torch.equal(net.weight.cpu().float(), graphnets.mlp([3, 4, 2], seed=1).weight)
    x = torch.randn(5, 3, dtype=torch.float64, device=device)
    torch.testing.assert_close(net(x), evaluate(net, x))


# -- igraph: delays ----------------------------------------------------------------------------
def test_from_igraph_round_trip_recurrent():
    # to_igraph writes edge delays; from_igraph used to drop them, so a recurrent net came back
    # feed-forward (or, with a delayed self loop, was refused).
    ei = torch.tensor([[0, 1, 1, 2, 1], [1, 1, 2, 1, 3]])
    net = graphnets.from_edges(ei, 4, [0], [3], delay=[0, 1, 0, 2, 0], seed=0)
    back = graphnets.from_igraph(net.to_igraph())
    assert back.is_recurrent
    assert back.delay.tolist() == [0, 1, 0, 2, 0]
    assert back.state_labels == net.state_labels
    x = torch.randn(6, 3, 1)
    torch.testing.assert_close(back.run(x), net.run(x), rtol=0, atol=0)


def test_from_igraph_delay_none_is_zero():
    g = ig.Graph(n=3, edges=[(0, 1), (1, 1), (1, 2)], directed=True)
    g.es["delay"] = [None, 1, None]
    net = graphnets.from_igraph(g, [0], [2], seed=0)
    assert net.delay.tolist() == [0, 1, 0]


# -- from_torch: layers that change nothing ---------------------------------------------------
def test_from_torch_flatten_and_dropout_in_eval_mode():
    # Research MLPs hold nn.Flatten and dropout: on the [B, features] input of a GraphNet the
    # first is a no-op, and in eval mode so is the second.
    torch.manual_seed(0)
    seq = nn.Sequential(
        nn.Flatten(),
        nn.Linear(12, 8),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(8, 6),
        nn.AlphaDropout(0.2),
        nn.Tanh(),
        nn.Dropout1d(0.3),
        nn.Linear(6, 3),
    ).eval()
    net = graphnets.from_torch(seq)
    assert net.depth == 4 and len(net.inputs) == 12
    assert set(net.activations[(1, u)] for u in range(8)) == {"relu"}
    assert set(net.activations[(2, u)] for u in range(6)) == {"tanh"}
    images = torch.randn(5, 3, 2, 2)
    torch.testing.assert_close(net(images.flatten(1)), seq(images))


def test_from_torch_dropout_without_probability_in_training_mode():
    seq = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.0), nn.ReLU(), nn.Linear(4, 2))
    assert seq.training
    _check_same_function(seq, graphnets.from_torch(seq))


def test_from_torch_keeps_dtype_and_values(device):
    seq = nn.Sequential(nn.Linear(3, 5), nn.SiLU(), nn.Linear(5, 2)).to(device, torch.float64)
    net = graphnets.from_torch(seq)
    assert net.weight.dtype == torch.float64 and net.weight.device.type == device.type
    assert torch.equal(net.weight[:15].reshape(5, 3), seq[0].weight.detach())
    assert torch.equal(net.bias[3:8], seq[0].bias.detach())


def test_from_torch_draws_no_random_numbers():
    # Every value is given, so the conversion leaves torch's global generator alone.
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    torch.manual_seed(0)
    graphnets.from_torch(seq)
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(3), after)
