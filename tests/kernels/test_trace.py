"""The per-node trace (graphnets.kernels.trace) against torch modules and the reference."""

import pytest
import torch
from _graphs import GRAPHS

import graphnets
from graphnets.kernels.trace import trace
from graphnets.reference import evaluate


def _node_values(net, x):
    """Every node's pre-activation and activation, neuron by neuron (the reference evaluator's
    walk, keeping all values): ``z, a [B, N]``."""
    s = net.structure
    acts = [graphnets.parse_activation(a) for a in s.activations]
    src, dst = s.edge_index.tolist()
    z = torch.zeros(x.shape[0], s.num_nodes, dtype=x.dtype)
    a = torch.zeros_like(z)
    a[:, s.inputs] = z[:, s.inputs] = x
    for i in sorted(range(s.num_nodes), key=lambda i: s.level[i]):
        if i in s.inputs.tolist():
            continue
        z[:, i] = net.bias[i].detach() + sum(
            (
                net.weight[e].detach() * a[:, u]
                for e, (u, v) in enumerate(zip(src, dst, strict=True))
                if v == i
            ),
            torch.zeros(x.shape[0], dtype=x.dtype),
        )
        a[:, i] = acts[i].forward(z[:, i])
    return z, a


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_trace_values_equal_the_per_neuron_reference(graph):
    net = GRAPHS[graph]().double()
    x = torch.randn(5, len(net.inputs), dtype=torch.float64)
    t = trace(net, x)
    z, a = _node_values(net, x)
    torch.testing.assert_close(t.pre_activations(), z)
    torch.testing.assert_close(t.activations(), a)
    torch.testing.assert_close(t.y, net(x))
    torch.testing.assert_close(t.y, evaluate(net, x))


def test_trace_node_gradients_equal_torchs_on_an_mlp():
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    net = graphnets.from_torch(seq)
    x, y = torch.randn(7, 4), torch.randint(0, 3, (7,))
    z1 = seq[0](x)
    z1.retain_grad()
    out = seq[2](seq[1](z1))
    out.retain_grad()
    torch.nn.functional.cross_entropy(out, y, reduction="sum").backward()
    t = trace(net, x)
    delta = t.node_gradients(torch.nn.functional.cross_entropy(t.y, y, reduction="sum"))
    hidden = [net.structure.index[(1, k)] for k in range(6)]
    outputs = [net.structure.index[(2, k)] for k in range(3)]
    torch.testing.assert_close(delta[:, hidden], z1.grad)
    torch.testing.assert_close(delta[:, outputs], out.grad)
    assert bool((delta[:, net.structure.inputs] == 0).all())


@pytest.mark.parametrize("graph", ["skip_dag", "prior", "mixed_activations"])
def test_trace_edge_gradients_are_outer_products_of_activations_and_deltas(graph):
    # dL/dw_e = Σ_n a_src(n) · δ_dst(n): what RigL reads for edges that do not exist yet
    net = GRAPHS[graph]().double()
    x = torch.randn(6, len(net.inputs), dtype=torch.float64)
    t = trace(net, x)
    loss = t.y.pow(2).sum()
    delta = t.node_gradients(loss, retain_graph=True)
    (gw,) = torch.autograd.grad(loss, [net.weight])
    src, dst = net.edge_index
    torch.testing.assert_close((t.activations()[:, src] * delta[:, dst]).sum(0), gw)


def test_trace_refuses_a_recurrent_net():
    ei = torch.tensor([[0, 1, 1], [1, 1, 2]])
    net = graphnets.from_edges(ei, 3, [0], [2], delay=[0, 1, 0], seed=0)
    with pytest.raises(ValueError, match=r"cannot trace a recurrent net .* unroll it first"):
        trace(net, torch.randn(2, 1))


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_node_errors_equal_the_trace(graph):
    from graphnets.kernels.trace import node_errors

    net = GRAPHS[graph]().double()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, len(net.inputs), generator=g, dtype=torch.float64)
    gy = torch.randn(6, len(net.outputs), generator=g, dtype=torch.float64)
    t = trace(net, x)
    a, delta = node_errors(net, x, gy)
    torch.testing.assert_close(a, t.activations().detach())
    torch.testing.assert_close(delta, t.node_gradients(t.y, gy))
    only, none = node_errors(net, x)
    torch.testing.assert_close(only, a)
    assert none is None


def test_node_errors_in_half_precision_and_of_a_recurrent_net():
    from graphnets.kernels.trace import node_errors

    net = graphnets.mlp([3, 4, 2], seed=0)
    x, gy = torch.randn(5, 3), torch.randn(5, 2)
    a, d = node_errors(net.to(torch.bfloat16), x, gy)
    assert a.dtype == d.dtype == torch.bfloat16
    ei = torch.tensor([[0, 1, 1], [1, 1, 2]])
    rec = graphnets.from_edges(ei, 3, [0], [2], delay=[0, 1, 0], seed=0)
    with pytest.raises(ValueError, match=r"cannot trace a recurrent net"):
        node_errors(rec, torch.randn(2, 1))
