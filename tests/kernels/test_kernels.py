"""Every kernel against the per-neuron reference evaluator: outputs and all gradients."""

import pytest
import torch
from _graphs import GRAPHS, forward_backward, reference
from torch.autograd import gradcheck
from torch.func import functional_call

import graphnets
from graphnets.reference import evaluate

KERNELS = ["dense", "sparse", "scatter", "fused", "auto", "levelwise"]
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def _data(net, batch: int, dtype: torch.dtype, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, len(net.inputs), generator=gen, dtype=dtype)
    gy = torch.randn(batch, len(net.outputs), generator=gen, dtype=dtype)
    return x, gy


def _assert_matches(got, want, dtype):
    for name, g, w in zip(("y", "weight.grad", "bias.grad", "x.grad"), got, want, strict=True):
        assert g.dtype == dtype, name
        torch.testing.assert_close(g, w, **TOL[dtype], msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_kernels_match_reference(graph, kernel, dtype):
    net = GRAPHS[graph]().to(dtype)
    x, gy = _data(net, 9, dtype)
    want = reference(net, x, gy)
    # The comparison means something only if the net is alive: outputs vary with x and
    # most weights get a gradient.
    assert bool((want[0].std(0) > 1e-3).all())
    assert float((want[1] != 0).double().mean()) > 0.5
    assert net.compile(kernel) is net
    assert net.kernel == kernel
    _assert_matches(forward_backward(net, x, gy), want, dtype)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("batch", [1, 2, 100])
def test_kernels_batch_sizes(kernel, batch):
    # Batch 1, a tiny batch, and one large enough for the fused kernel to split between threads.
    net = GRAPHS["skip_dag"]().double().compile(kernel)
    x, gy = _data(net, batch, torch.float64, seed=batch)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float64)


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_noncontiguous_x(kernel):
    net = GRAPHS["wide_sparse"]().double().compile(kernel)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(40, 6, generator=gen, dtype=torch.float64).T  # [6, 40], not contiguous
    assert not x.is_contiguous()
    gy = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float64)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", ["mlp", "deep", "wide_sparse"])
def test_kernels_parameter_gradients_without_x_gradient(graph, kernel):
    # When x needs no gradient the level-wise kernels skip the input layer's source gradient;
    # the parameter gradients must not change.
    net = GRAPHS[graph]().double()
    x, gy = _data(net, 5, torch.float64)
    want = reference(net, x, gy)
    net.compile(kernel).zero_grad(set_to_none=True)
    (net(x) * gy).sum().backward()
    torch.testing.assert_close(net.weight.grad, want[1], **TOL[torch.float64])
    torch.testing.assert_close(net.bias.grad, want[2], **TOL[torch.float64])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_single_sample(kernel):
    net = GRAPHS["output_feeds"]().compile(kernel)
    x = torch.randn(2)
    y = net(x)
    assert y.shape == (2,)
    torch.testing.assert_close(y, net(x[None])[0])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_input_bias_gradient_zero(kernel):
    # Inputs are never biased, so their bias gets no gradient.
    net = GRAPHS["mlp"]().compile(kernel)
    x, gy = _data(net, 4, torch.float32)
    _, _, gb, _ = forward_backward(net, x, gy)
    assert bool((gb[net.structure.inputs] == 0).all())


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_double_backward_raises(kernel):
    net = GRAPHS["mlp"]().compile(kernel)
    x = torch.randn(3, 5, requires_grad=True)
    (gx,) = torch.autograd.grad((net(x) ** 2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        gx.sum().backward()


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", ["hidden_sources", "output_feeds", "mixed_activations", "deep"])
def test_kernels_gradcheck(graph, kernel):
    net = GRAPHS[graph]().double().compile(kernel)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(3, len(net.inputs), generator=gen, dtype=torch.float64, requires_grad=True)
    w = net.weight.detach().clone().requires_grad_(True)
    b = net.bias.detach().clone().requires_grad_(True)

    def fn(x, w, b):
        return functional_call(net, {"weight": w, "bias": b}, (x,))

    assert gradcheck(fn, (x, w, b), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_kernels_fused_available():
    # The fused kernel must really be the C++ one here, or the "fused" tests above test nothing new.
    from graphnets.kernels import fused

    assert fused.available(), fused.why_unavailable()
    net = GRAPHS["mlp"]().compile("fused")
    assert net.schedule.fused is not None
    assert set(net.schedule.kinds()) == {"fused"}


def test_kernels_agree_after_parameter_update():
    # A compiled schedule holds no copy of the parameters: an optimizer step is seen by every
    # kernel.
    net = GRAPHS["wide_sparse"]().double()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, gy = _data(net, 4, torch.float64)
    (net(x) * gy).sum().backward()
    opt.step()
    want = reference(net, x, gy)[0]
    for kernel in KERNELS:
        torch.testing.assert_close(net.compile(kernel)(x), want, **TOL[torch.float64])


def test_kernels_graph_with_no_edges():
    # Every non-input node is a source: y is act(bias), whatever x is.
    net = graphnets.from_edges(
        torch.empty(2, 0, dtype=torch.long),
        3,
        [0],
        [1, 2],
        bias=torch.tensor([0.0, 0.5, -2.0]),
        output_activation="relu",
    )
    x = torch.randn(4, 1)
    for kernel in KERNELS:
        torch.testing.assert_close(net.compile(kernel)(x), torch.tensor([[0.5, 0.0]]).expand(4, 2))


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_empty_batch(kernel):
    net = GRAPHS["wide_sparse"]().compile(kernel)
    x = torch.randn(0, 40, requires_grad=True)
    y = net(x)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 40)
    assert bool((net.weight.grad == 0).all()) and bool((net.bias.grad == 0).all())


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_kernels_without_autograd(kernel, mode):
    net = GRAPHS["deep"]().compile(kernel)
    x = torch.randn(5, 3)
    want = evaluate(net, x).detach()
    with getattr(torch, mode)():
        y = net(x)
    assert not y.requires_grad
    torch.testing.assert_close(y, want, **TOL[torch.float32])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_frozen_parameters_input_gradient(kernel):
    # Saliency-style use: parameters frozen, gradient with respect to x only.
    net = GRAPHS["mixed_activations"]().double().compile(kernel)
    x, gy = _data(net, 4, torch.float64)
    want = reference(net, x, gy)[3]
    net.zero_grad(set_to_none=True)
    net.requires_grad_(False)
    xg = x.clone().requires_grad_(True)
    (gx,) = torch.autograd.grad((net(xg) * gy).sum(), xg)
    torch.testing.assert_close(gx, want, **TOL[torch.float64])
    assert net.weight.grad is None


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_dead_branch_gradients_are_zero(kernel):
    # h -> q -> r leads nowhere: its levels get no gradient, so their weights' gradients are 0
    # (the level-wise backward skips such levels and must still write zeros for them).
    import networkx as nx

    G = nx.DiGraph([("x", "h"), ("h", "y"), ("h", "q"), ("q", "r"), ("x", "y")])
    net = graphnets.from_networkx(G, ["x"], ["y"], seed=0, kernel=kernel)
    x = torch.randn(4, 1)
    for _ in range(2):  # twice: a stale buffer from the first call must not leak in
        net.zero_grad(set_to_none=True)
        net(x).sum().backward()
        dead = [e for e, (u, v) in enumerate(net.edges()) if v in ("q", "r")]
        assert net.weight.grad[dead].tolist() == [0.0, 0.0]
        assert net.bias.grad[[net.labels.index("q"), net.labels.index("r")]].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("layout", ["row-major", "transposed"])
@pytest.mark.parametrize("batch", [7, 8, 37])
def test_kernels_fused_input_blocks(layout, batch):
    # The fused kernel reads inputs eight columns at a time (AVX transposes for row-major float32
    # x, element by element otherwise); 20 inputs leave a block of 4, odd batches a row tail.
    net = graphnets.priors.erdos_renyi(20, 3, 30, 0.2, seed=5, kernel="fused")
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 20, generator=gen)
    if layout == "transposed":
        x = torch.randn(20, batch, generator=gen).T
    gy = torch.randn(batch, 3, generator=gen)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float32)


def test_kernels_fused_two_graphs_in_flight():
    # The fused kernel reuses its scratch buffers only once no autograd graph holds them: two
    # forwards before their backwards, a retained graph run twice, and changing batch sizes
    # must all give the reference gradients.
    net = GRAPHS["deep"]().compile("fused")
    gen = torch.Generator().manual_seed(3)
    xs = [torch.randn(b, len(net.inputs), generator=gen) for b in (5, 5, 9)]
    gys = [torch.randn(len(x), len(net.outputs), generator=gen) for x in xs]
    want = [reference(net, x, gy) for x, gy in zip(xs, gys, strict=True)]
    ys = [net(x) for x in xs]  # three graphs alive at once
    for y, gy, (_, w_ref, b_ref, _) in zip(
        reversed(ys), reversed(gys), reversed(want), strict=True
    ):
        gw, gb = torch.autograd.grad(y, [net.weight, net.bias], gy, retain_graph=True)
        torch.testing.assert_close(gw, w_ref, **TOL[torch.float32])
        gw2, gb2 = torch.autograd.grad(y, [net.weight, net.bias], gy)
        torch.testing.assert_close(gw2, gw)
        torch.testing.assert_close(gb2, gb)
        torch.testing.assert_close(gb, b_ref, **TOL[torch.float32])
