"""Errors of graphnets.nn.graphnet: parameters, inputs to forward, options; messages pinned."""

import re

import igraph as ig
import pytest
import torch
from _graphs import chain, edges_net

import graphnets
from graphnets import priors


# -- parameters -------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_errors_nonfinite_weight_networkx(bad):
    G = chain()
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
        edges_net(
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
    G = chain()
    G.nodes["h"]["bias"] = bad
    with pytest.raises(
        ValueError,
        match=rf"bias of node 'h' is {bad}; weights and biases must "
        r"be finite",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_nonfinite_bias_from_edges():
    with pytest.raises(ValueError, match=r"bias of node 'y' is -inf"):
        edges_net(
            [(0, 1), (1, 2)],
            3,
            ["x"],
            ["y"],
            labels=["x", "h", "y"],
            bias=torch.tensor([0.0, 0.0, float("-inf")]),
        )


def test_errors_input_bias_networkx():
    G = chain()
    G.nodes["x1"]["bias"] = 0.5
    with pytest.raises(
        ValueError,
        match=r"input node 'x1' has bias 0\.5; input nodes take x as "
        r"it is, so their bias must be 0",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_input_bias_from_edges():
    with pytest.raises(ValueError, match=r"input node 0 has bias -2\.0; .*bias must be 0"):
        edges_net([(0, 1)], 2, [0], [1], bias=torch.tensor([-2.0, 0.0]))


def test_errors_parameter_counts():
    s = graphnets.mlp([2, 1]).structure
    with pytest.raises(ValueError, match=r"expected 2 weights \(one per edge\), got 3"):
        graphnets.GraphNet(s, torch.ones(3))
    with pytest.raises(ValueError, match=r"expected 3 biases \(one per node\), got 2"):
        graphnets.GraphNet(s, bias=torch.zeros(2))


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
    # an integer x is converted, not the net (net.to(torch.int64) would be no advice at all)
    with pytest.raises(TypeError) as info:
        net(torch.ones(2, 3, dtype=torch.long))
    assert str(info.value).endswith("convert x with x.to(torch.float64)")
    assert "net.to(" not in str(info.value)


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
        graphnets.from_networkx(chain(), ["x0", "x1"], ["y"], kernel="cuda")
    with pytest.raises(ValueError, match=msg):
        graphnets.mlp([3, 2], kernel="cuda")


@pytest.mark.parametrize("seed", ["0", 1.5, True, [1]])
def test_errors_bad_seed(seed):
    msg = rf"seed must be None, an int or a torch\.Generator, got {re.escape(repr(seed))}"
    with pytest.raises(TypeError, match=msg):
        graphnets.mlp([3, 2], seed=seed)
    with pytest.raises(TypeError, match=msg):
        graphnets.from_networkx(chain(), ["x0", "x1"], ["y"], seed=seed)
    with pytest.raises(TypeError, match=msg):
        priors.watts_strogatz(2, 2, 10, 4, 0.3, seed=seed)
    with pytest.raises(TypeError, match=msg):
        graphnets.mlp([3, 2]).reset_parameters(seed=seed)
