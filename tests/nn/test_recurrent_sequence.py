"""GraphNet.run on the C++ sequence kernel (graphnets.kernels.recurrent) against the step loop."""

import networkx as nx
import pytest
import torch
from test_recurrent import recurrent_net

import graphnets
from graphnets.kernels import recurrent as seq_kernel
from graphnets.nn import recurrent

D64 = torch.float64

pytestmark = pytest.mark.skipif(
    not seq_kernel.available(), reason=f"no kernel: {seq_kernel.why_unavailable()}"
)


def _x(T=6, B=3, n_in=2, dtype=D64, seed=0):
    return torch.randn(T, B, n_in, dtype=dtype, generator=torch.Generator().manual_seed(seed))


def _all(net, x, state):
    """y, final state and the gradients of x, the initial state, weight and bias."""
    net.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    state = state.clone().requires_grad_()
    y, last = net.run(x, state, return_state=True)
    w = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)
    ((y * w).sum() + last.square().sum()).backward()
    return [y.detach(), last.detach(), x.grad, state.grad, net.weight.grad, net.bias.grad]


def _loop_twin(net):
    """The same net run step by step (any kernel but ``auto`` keeps the step loop)."""
    twin = graphnets.GraphNet(net.structure, net.weight.detach(), net.bias.detach(), kernel="fused")
    return twin.to(net.weight.dtype)


def _assert_same(net, x, state, **tol):
    assert recurrent._use_sequence_kernel(net, x)
    twin = _loop_twin(net)
    assert not recurrent._use_sequence_kernel(twin, x)
    for a, b in zip(_all(net, x, state), _all(twin, x, state), strict=True):
        torch.testing.assert_close(a, b, **tol)


def _net(activation, output_activation=None, seed=0):
    G = nx.DiGraph()
    G.add_edges_from([("x0", "h0"), ("x1", "h0"), ("x1", "h1"), ("h0", "h2"), ("h1", "h2")])
    G.add_edges_from([("h2", "y0"), ("h0", "y0")])
    G.add_edge("h2", "h0", delay=1)
    G.add_edge("h1", "h1", delay=2)
    G.add_edge("y0", "h1", delay=1)
    G.add_edge("x0", "h2", delay=3)
    net = graphnets.from_networkx(
        G,
        ["x0", "x1"],
        ["y0"],
        activation=activation,
        output_activation=output_activation,
        seed=seed,
    ).to(D64)
    with torch.no_grad():
        net.bias.normal_(0, 0.3, generator=torch.Generator().manual_seed(seed))
        net.bias[net.structure.inputs] = 0
    return net


def test_sequence_kernel_matches_step_loop():
    net = recurrent_net()
    S = len(net.state_labels)
    state = torch.randn(3, S, dtype=D64, generator=torch.Generator().manual_seed(1))
    _assert_same(net, _x(), state)


@pytest.mark.parametrize(
    "activation",
    ["tanh", "relu", "sigmoid", "leaky_relu(0.2)", "elu", "softplus", "gelu", "silu", "identity"],
)
def test_sequence_kernel_activations(activation):
    net = _net(activation, output_activation="tanh")
    state = torch.randn(3, len(net.state_labels), dtype=D64)
    _assert_same(net, _x(), state)


def test_sequence_kernel_float32():
    net = recurrent_net().float()
    state = torch.randn(4, len(net.state_labels))
    _assert_same(net, _x(B=4, dtype=torch.float32), state, rtol=1e-4, atol=1e-5)


def test_sequence_kernel_batch_first_and_return_state():
    net = recurrent_net()
    x = _x(T=5, B=2)
    y, last = net.run(x.transpose(0, 1), batch_first=True, return_state=True)
    y2, last2 = _loop_twin(net).run(x, return_state=True)
    torch.testing.assert_close(y, y2.transpose(0, 1))
    torch.testing.assert_close(last, last2)


def test_sequence_kernel_gradcheck():
    net = _net("tanh", seed=3)
    x = _x(T=4, B=2).requires_grad_()
    state = torch.randn(2, len(net.state_labels), dtype=D64, requires_grad=True)
    w = net.weight.detach().clone().requires_grad_()
    b = net.bias.detach().clone().requires_grad_()
    plan = recurrent._plan(net)
    kplan = recurrent._sequence_plan(net, plan)

    def f(x, w, b, state):
        return recurrent._SequenceRun.apply(x, w, b, state, plan, kplan)

    assert torch.autograd.gradcheck(f, (x, w, b, state))


def test_sequence_kernel_double_backward_matches_step_loop():
    net = recurrent_net()
    x = _x(T=4, B=2)
    res = []
    for m in (net, _loop_twin(net)):
        m.zero_grad(set_to_none=True)
        xx = x.clone().requires_grad_()
        (gx, gw) = torch.autograd.grad(m.run(xx).sin().sum(), [xx, m.weight], create_graph=True)
        (gx.square().sum() + gw.square().sum()).backward()
        res.append([gx.detach(), gw.detach(), xx.grad, m.weight.grad, m.bias.grad])
    for a, b in zip(*res, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("edit", ["remove_edges", "magnitude_prune"])
def test_sequence_kernel_after_edits_while_an_old_loss_is_alive(edit):
    net = recurrent_net()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x = _x()
    loss = net.run(x).square().sum()
    loss.backward()
    opt.step()
    if edit == "remove_edges":
        net.remove_edges([0, 5, 9], optimizer=opt)
    else:
        scores = graphnets.prune.magnitude(net)  # the smallest 30% of |w|
        net.remove_edges(scores < scores.quantile(0.3), optimizer=opt)
    opt.zero_grad()
    state = torch.randn(3, len(net.state_labels), dtype=D64)
    _assert_same(net, x, state)
    net.run(x).square().sum().backward()
    opt.step()
    del loss  # alive until here: through the edit, the new backwards and the step


def test_sequence_kernel_only_for_auto():
    net = recurrent_net()
    assert recurrent._use_sequence_kernel(net, _x())
    net.compile("levelwise")
    assert not recurrent._use_sequence_kernel(net, _x())
    torch.testing.assert_close(net.run(_x()), _loop_twin(net).run(_x()))
