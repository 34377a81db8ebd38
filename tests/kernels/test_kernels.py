"""Every kernel against the per-neuron reference evaluator: outputs and all gradients, on every
device present (the fused kernel on CPU only)."""

import math

import networkx as nx
import pytest
import torch
from _graphs import GRAPHS, MIXED_ACTIVATIONS, forward_backward, layered_net, reference
from torch.autograd import gradcheck, gradgradcheck
from torch.func import functional_call

import graphnets
from graphnets.core.levels import reachable
from graphnets.reference import evaluate

KERNELS = ["dense", "sparse", "scatter", "fused", "auto", "levelwise"]
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def _on(kernel: str, device: torch.device) -> None:
    """Skip a fused run off the CPU: the C++ kernel runs on CPU only."""
    if kernel == "fused" and device.type != "cpu":
        pytest.skip("the fused kernel runs on CPU only")


def _data(net, batch: int, dtype: torch.dtype, seed: int = 0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, len(net.inputs), generator=gen, dtype=dtype)
    gy = torch.randn(batch, len(net.outputs), generator=gen, dtype=dtype)
    return x.to(device), gy.to(device)


def _assert_matches(got, want, dtype, equal_nan=False):
    for name, g, w in zip(("y", "weight.grad", "bias.grad", "x.grad"), got, want, strict=True):
        assert g.dtype == dtype, name
        torch.testing.assert_close(
            g, w, **TOL[dtype], equal_nan=equal_nan, msg=lambda m, name=name: f"{name}: {m}"
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_kernels_match_reference(graph, kernel, dtype, device):
    _on(kernel, device)
    net = GRAPHS[graph]().to(device, dtype)
    x, gy = _data(net, 9, dtype, device=device)
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
def test_kernels_batch_sizes(kernel, batch, device):
    # Batch 1, a tiny batch, and one large enough for the fused kernel to split between threads.
    _on(kernel, device)
    net = GRAPHS["skip_dag"]().to(device, torch.float64).compile(kernel)
    x, gy = _data(net, batch, torch.float64, seed=batch, device=device)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("batch", [64, 129, 300])
@pytest.mark.parametrize("kernel", ["fused", "sparse"])
@pytest.mark.parametrize("graph", ["deep", "wide_sparse", "mixed_activations"])
def test_kernels_whole_tiles_and_remainders(graph, kernel, batch, dtype):
    # The C++ kernels add into register tiles of 32-128 batch columns and finish the columns
    # short of a tile in memory: batches of whole tiles, of tiles and a remainder, and of
    # several tiles, in both dtypes. The reference runs in float64 (a float32 reference's own
    # rounding over 129 samples of the deep net is ~2e-5, the kernels' tolerance).
    net = GRAPHS[graph]().to(dtype).compile(kernel)
    x, gy = _data(net, batch, dtype, seed=batch)
    exact = GRAPHS[graph]().to(torch.float64)
    want = reference(exact, x.double(), gy.double())
    _assert_matches(forward_backward(net, x, gy), [w.to(dtype) for w in want], dtype)


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_noncontiguous_x(kernel, device):
    _on(kernel, device)
    net = GRAPHS["wide_sparse"]().to(device, torch.float64).compile(kernel)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(40, 6, generator=gen, dtype=torch.float64).to(device).T  # [6, 40]
    assert not x.is_contiguous()
    gy = torch.randn(6, 3, generator=gen, dtype=torch.float64).to(device)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float64)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", ["mlp", "deep", "wide_sparse"])
def test_kernels_parameter_gradients_without_x_gradient(graph, kernel, device):
    # When x needs no gradient the level-wise kernels skip the input layer's source gradient;
    # the parameter gradients must not change.
    _on(kernel, device)
    net = GRAPHS[graph]().to(device, torch.float64)
    x, gy = _data(net, 5, torch.float64, device=device)
    want = reference(net, x, gy)
    net.compile(kernel).zero_grad(set_to_none=True)
    (net(x) * gy).sum().backward()
    torch.testing.assert_close(net.weight.grad, want[1], **TOL[torch.float64])
    torch.testing.assert_close(net.bias.grad, want[2], **TOL[torch.float64])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_single_sample(kernel, device):
    _on(kernel, device)
    net = GRAPHS["output_feeds"]().to(device).compile(kernel)
    x = torch.randn(2, device=device)
    y = net(x)
    assert y.shape == (2,)
    torch.testing.assert_close(y, net(x[None])[0])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_input_bias_gradient_zero(kernel, device):
    # Inputs are never biased, so their bias gets no gradient.
    _on(kernel, device)
    net = GRAPHS["mlp"]().to(device).compile(kernel)
    x, gy = _data(net, 4, torch.float32, device=device)
    _, _, gb, _ = forward_backward(net, x, gy)
    assert bool((gb[net.structure.inputs] == 0).all())


def _penalised(fn, net, x: torch.Tensor, square: bool):
    """Gradients of a gradient penalty (WGAN-GP style): ``‖∂f/∂x‖² + ‖y‖²`` with ``f`` the sum
    of the outputs (``square=False``: the output gradient is a constant) or of their squares
    (it depends on ``y``), differentiated w.r.t. weight, bias and x."""
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    f = (y**2).sum() if square else y.sum()
    (gx,) = torch.autograd.grad(f, x, create_graph=True)
    penalty = (gx**2).sum() + (y**2).sum()
    return torch.autograd.grad(penalty, [net.weight, net.bias, x])


@pytest.mark.parametrize("square", [False, True], ids=["constant_gy", "gy_of_y"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", ["skip_dag", "mixed_activations", "deep", "wide_sparse", "mlp"])
def test_kernels_double_backward_matches_reference(graph, kernel, square, device):
    # A gradient penalty goes through the gradient: every kernel must differentiate its own
    # backward as autograd differentiates the per-neuron reference (it used to drop the
    # penalty's share silently when the output gradient was a constant).
    _on(kernel, device)
    net = GRAPHS[graph]().to(device, torch.float64).compile(kernel)
    x, _ = _data(net, 4, torch.float64, device=device)
    want = _penalised(lambda x: evaluate(net, x), net, x, square)
    got = _penalised(net, net, x, square)
    assert float(want[0].abs().max()) > 0
    for name, g, w in zip(("weight", "bias", "x"), got, want, strict=True):
        torch.testing.assert_close(g, w, **TOL[torch.float64], msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_hessian_vector_product(kernel, device):
    # Hessian-vector product of a loss w.r.t. the weights (double backward through w).
    _on(kernel, device)
    net = GRAPHS["output_feeds"]().to(device, torch.float64).compile(kernel)
    x, t = _data(net, 5, torch.float64, device=device)
    v = torch.randn(net.num_edges, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    v = v.to(device)

    def hvp(fn):
        (gw,) = torch.autograd.grad(((fn(x) - t) ** 2).sum(), net.weight, create_graph=True)
        return torch.autograd.grad((gw * v).sum(), net.weight)[0]

    want = hvp(lambda x: evaluate(net, x))
    assert float(want.abs().max()) > 0
    torch.testing.assert_close(hvp(net), want, **TOL[torch.float64])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_double_backward_through_time(kernel, device):
    # A recurrent net's steps run on the same kernels: a penalty on the gradient of a whole
    # sequence against the unrolled net, evaluated neuron by neuron.
    _on(kernel, device)
    net = graphnets.priors.watts_strogatz(
        2, 2, 8, 2, 0.3, activation="tanh", recurrent="self", seed=0, kernel=kernel
    ).to(device, torch.float64)
    T, B = 3, 4
    x0 = torch.randn(T, B, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    unrolled = graphnets.unroll(net, T)

    def penalised(fn):
        x = x0.to(device).requires_grad_(True)
        (gx,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        return torch.autograd.grad((gx**2).sum(), [net.weight, net.bias])

    def reference_run(x):
        y = evaluate(unrolled, x.transpose(0, 1).reshape(B, T * 2))
        return y.reshape(B, T, 2).transpose(0, 1)

    want = penalised(reference_run)
    assert float(want[0].abs().max()) > 0
    for g, w in zip(penalised(net.run), want, strict=True):
        torch.testing.assert_close(g, w, **TOL[torch.float64])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_gradgradcheck(kernel, device):
    # Numerical second derivatives, independent of the reference evaluator.
    _on(kernel, device)
    net = GRAPHS["hidden_sources"]().to(device, torch.float64).compile(kernel)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, len(net.inputs), generator=gen, dtype=torch.float64).to(device)
    w = net.weight.detach().clone().requires_grad_(True)
    b = net.bias.detach().clone().requires_grad_(True)

    def fn(x, w, b):
        return functional_call(net, {"weight": w, "bias": b}, (x,))

    assert gradgradcheck(fn, (x.requires_grad_(True), w, b), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", ["hidden_sources", "output_feeds", "mixed_activations", "deep"])
def test_kernels_gradcheck(graph, kernel, device):
    _on(kernel, device)
    net = GRAPHS[graph]().to(device, torch.float64).compile(kernel)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(3, len(net.inputs), generator=gen, dtype=torch.float64).to(device)
    x.requires_grad_(True)
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


def _kernels_on(device: torch.device) -> list[str]:
    return [k for k in KERNELS if k != "fused" or device.type == "cpu"]


def test_kernels_agree_after_parameter_update(device):
    # A compiled schedule holds no copy of the parameters: an optimizer step is seen by every
    # kernel.
    net = GRAPHS["wide_sparse"]().to(device, torch.float64)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, gy = _data(net, 4, torch.float64, device=device)
    (net(x) * gy).sum().backward()
    opt.step()
    want = reference(net, x, gy)[0]
    for kernel in _kernels_on(device):
        torch.testing.assert_close(net.compile(kernel)(x), want, **TOL[torch.float64])


def test_kernels_graph_with_no_edges(device):
    # Every non-input node is a source: y is act(bias), whatever x is.
    net = graphnets.from_edges(
        torch.empty(2, 0, dtype=torch.long),
        3,
        [0],
        [1, 2],
        bias=torch.tensor([0.0, 0.5, -2.0]),
        output_activation="relu",
    ).to(device)
    x = torch.randn(4, 1, device=device)
    want = torch.tensor([[0.5, 0.0]], device=device).expand(4, 2)
    for kernel in _kernels_on(device):
        torch.testing.assert_close(net.compile(kernel)(x), want)


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_empty_batch(kernel, device):
    _on(kernel, device)
    net = GRAPHS["wide_sparse"]().to(device).compile(kernel)
    x = torch.randn(0, 40, device=device, requires_grad=True)
    y = net(x)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 40)
    assert bool((net.weight.grad == 0).all()) and bool((net.bias.grad == 0).all())


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_kernels_without_autograd(kernel, mode, device):
    _on(kernel, device)
    net = GRAPHS["deep"]().to(device).compile(kernel)
    x = torch.randn(5, 3, device=device)
    want = evaluate(net, x).detach()
    with getattr(torch, mode)():
        y = net(x)
    assert not y.requires_grad
    torch.testing.assert_close(y, want, **TOL[torch.float32])


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_frozen_parameters_input_gradient(kernel, device):
    # Saliency-style use: parameters frozen, gradient with respect to x only.
    _on(kernel, device)
    net = GRAPHS["mixed_activations"]().to(device, torch.float64).compile(kernel)
    x, gy = _data(net, 4, torch.float64, device=device)
    want = reference(net, x, gy)[3]
    net.zero_grad(set_to_none=True)
    net.requires_grad_(False)
    xg = x.clone().requires_grad_(True)
    (gx,) = torch.autograd.grad((net(xg) * gy).sum(), xg)
    torch.testing.assert_close(gx, want, **TOL[torch.float64])
    assert net.weight.grad is None


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_dead_branch_gradients_are_zero(kernel, device):
    # h -> q -> r leads nowhere: its levels get no gradient, so their weights' gradients are 0
    # (the level-wise backward skips such levels and must still write zeros for them).
    _on(kernel, device)
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("h", "q"), ("q", "r"), ("x", "y")])
    net = graphnets.from_networkx(G, ["x"], ["y"], seed=0).to(device).compile(kernel)
    x = torch.randn(4, 1, device=device)
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


@pytest.mark.parametrize("graph", ["deep", "wide_sparse", "mlp"])
@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_graphs_in_flight(kernel, graph):
    # The kernels reuse their scratch buffers only once no autograd graph holds them: three
    # forwards before their backwards, a retained graph run twice, and changing batch sizes
    # must all give the reference gradients.
    net = GRAPHS[graph]().compile(kernel)
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


def _buffers(net) -> dict[str, int]:
    ws = net.schedule.workspace
    return {k: v.data_ptr() for k, v in ws.items() if isinstance(v, torch.Tensor)}


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_scratch_reused_and_a_kept_loss_still_backwards(kernel):
    # Steps after the first run in the buffers of the one before (the CPU kernels keep them on
    # the schedule); a loss kept from an earlier step holds its own, so a later step's writes
    # leave its gradients exact, and so does a parameter update in between.
    net = GRAPHS["wide_sparse"]().compile(kernel)
    gen = torch.Generator().manual_seed(4)
    x1, x2 = (torch.randn(7, len(net.inputs), generator=gen) for _ in range(2))
    gy = torch.randn(7, len(net.outputs), generator=gen)
    want1 = reference(net, x1, gy)[1:3]
    kept = (net(x1) * gy).sum()  # its graph holds the first buffers
    net.zero_grad(set_to_none=True)
    (net(x2) * gy).sum().backward()
    before = _buffers(net)
    assert before, "no scratch buffer kept"
    (net(x2) * gy).sum().backward()  # nothing holds the buffers now: reused
    assert _buffers(net) == before
    net.zero_grad(set_to_none=True)
    kept.backward()
    torch.testing.assert_close(net.weight.grad, want1[0], **TOL[torch.float32])
    torch.testing.assert_close(net.bias.grad, want1[1], **TOL[torch.float32])
    with torch.no_grad():
        net.weight.mul_(0.5)  # an optimizer step
    _assert_matches(forward_backward(net, x2, gy), reference(net, x2, gy), torch.float32)


def test_kernels_copies_and_pickles_start_without_scratch():
    # Scratch buffers belong to one schedule: a deep copy or a pickle of a net that has run
    # carries none (never shared with, nor a stale copy of, the original's) and still computes
    # the same outputs.
    import copy
    import pickle

    net = GRAPHS["deep"]().compile("fused")
    x = torch.randn(6, len(net.inputs), generator=torch.Generator().manual_seed(5))
    net(x).sum().backward()
    assert _buffers(net)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.schedule.workspace == {}
        torch.testing.assert_close(other(x), net(x), rtol=0, atol=0)


# -- NaN and infinities ------------------------------------------------------------------------
#: Pre-activations where activations and their gradients are easy to get wrong.
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e30, -1e30, 30.0, -30.0, 1.5, -1.5]


def _special_net() -> graphnets.GraphNet:
    """Input ``j`` feeds output ``(act, j)`` with weight 1 and bias 0, for every activation: the
    outputs are ``act(SPECIAL[j])`` and the bias gradients ``act'(SPECIAL[j])`` (batch 1)."""
    G = nx.DiGraph()
    inputs = [("x", j) for j in range(len(SPECIAL))]
    G.add_nodes_from(inputs)
    for act in MIXED_ACTIVATIONS:
        for j in range(len(SPECIAL)):
            G.add_node((act, j), activation=act)
            G.add_edge(("x", j), (act, j), weight=1.0)
    outputs = [v for v in G if v[0] != "x"]
    return graphnets.from_networkx(G, inputs, outputs)


def _torch_agrees(net, dtype) -> torch.Tensor:
    """``[n_out]``: where torch gives one answer whether an activation runs on a whole vector
    (its vectorised loop) or on one element. They differ for float32 GELU at +inf (NaN against
    inf); there either answer is torch's, so no kernel is held to one of them."""
    agree = []
    for act, j in net.outputs:
        f = graphnets.core.activations.parse_activation(act).forward
        whole = f(torch.tensor(SPECIAL, dtype=dtype))[j]
        alone = f(torch.tensor(SPECIAL[j : j + 1], dtype=dtype))[0]
        agree.append(bool(torch.isclose(whole, alone, equal_nan=True)))
    return torch.tensor(agree)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_activations_propagate_nan_and_inf(kernel, dtype, device):
    # ReLU(NaN) is NaN in torch; the fused kernel used to give 0 (and its gradient 0 for 1), and
    # ELU's gradient at NaN is 1 in torch.
    _on(kernel, device)
    net = _special_net().to(device, dtype).compile(kernel)
    x = torch.tensor([SPECIAL], dtype=dtype, device=device)
    gy = torch.ones(1, len(net.outputs), dtype=dtype, device=device)
    y, _, gb, _ = forward_backward(net, x, gy)
    y_ref, _, gb_ref, _ = reference(net, x, gy)
    agree = _torch_agrees(net, dtype).to(device)
    assert int(agree.sum()) >= len(agree) - 2  # the exemption stays an exemption
    assert bool(y_ref[0, agree].isnan().any()) and bool(y_ref[0].isinf().any())
    torch.testing.assert_close(y[0, agree], y_ref[0, agree], **TOL[dtype], equal_nan=True)
    out = net.structure.outputs.to(device)
    torch.testing.assert_close(gb[out], gb_ref[out], **TOL[dtype], equal_nan=True)


def _feeds_an_output(net) -> bool:
    """Whether every node has a path to an output (see the xfail below)."""
    src, dst = net.structure.edge_index.numpy()
    return bool(reachable(dst, src, net.num_nodes, net.structure.outputs.numpy()).all())


def _nonfinite_data(net, dtype, device):
    x, gy = _data(net, 5, dtype, device=device)
    x[0, 0], x[1, -1], x[2, 0], x[3, len(net.inputs) // 2] = math.nan, math.inf, -math.inf, 1e300
    return x, gy


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("graph", [g for g in GRAPHS if g != "wide_sparse"])
def test_kernels_propagate_nan_and_inf_through_graphs(graph, kernel, device):
    # A NaN or infinite input reaches exactly the nodes it has a path to, in the outputs and in
    # every gradient. A dense level of an incomplete block used to spread it to every node of
    # the level (0 · inf = NaN for each missing edge).
    _on(kernel, device)
    net = GRAPHS[graph]().to(device, torch.float64).compile(kernel)
    assert _feeds_an_output(net)
    x, gy = _nonfinite_data(net, torch.float64, device)
    want = reference(net, x, gy)
    assert bool(want[0].isnan().any()) and not bool(want[0].isnan().all())
    _assert_matches(forward_backward(net, x, gy), want, torch.float64, equal_nan=True)


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_nan_in_a_node_without_outputs(kernel):
    # a node with no path to an output gets no gradient from autograd; the kernels used to
    # multiply its zero gradient by act'(z), NaN where z is NaN or infinite, and spread it to its
    # in-edges' weights and its sources (now the schedule marks such nodes, LevelPlan.dead)
    net = GRAPHS["wide_sparse"]().double().compile(kernel)
    assert not _feeds_an_output(net)
    x, gy = _nonfinite_data(net, torch.float64, "cpu")
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float64, True)


def _torch_csr(net):
    """The net with its sparse levels moved off the C++ CSR kernels onto torch's CSR products."""
    for lv in net.schedule.levels:
        lv.cpp = False
    return net


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("path", ["cpp", "torch"])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_kernels_sparse_paths_match_reference(graph, path, dtype):
    # On CPU a sparse level runs on the C++ CSR kernels when built, else on torch's CSR
    # products (CUDA, other builds): both against the per-neuron reference.
    from graphnets.kernels import fused

    net = GRAPHS[graph]().to(dtype).compile("sparse")
    sparse = [lv for lv in net.schedule.levels if lv.kind == "sparse"]
    assert sparse
    assert all(lv.cpp for lv in sparse) == fused.available()
    if path == "torch":
        _torch_csr(net)
    x, gy = _data(net, 9, dtype)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), dtype)


@pytest.mark.parametrize("kernel", ["sparse", "levelwise"])
def test_kernels_large_sparse_level_split_between_threads(kernel):
    # Levels of 6,000+ edges at batch 600 are split between threads by the C++ CSR kernels
    # (above 2^19 multiply-adds per pass); the result must not depend on it.
    gen = torch.Generator().manual_seed(3)
    n_in, n_h, n_out = 200, 100, 4
    keep = torch.rand(n_h, n_in, generator=gen) < 0.3
    dst, src = keep.nonzero().T
    edges = [torch.stack([src, n_in + dst])]
    edges.append(torch.cartesian_prod(torch.arange(n_h) + n_in, torch.arange(n_out) + n_in + n_h).T)
    net = graphnets.from_edges(
        torch.cat(edges, 1),
        n_in + n_h + n_out,
        list(range(n_in)),
        list(range(n_in + n_h, n_in + n_h + n_out)),
        activation="tanh",
        seed=0,
    ).double()
    net.compile(kernel)
    assert net.schedule.kinds()[1] == "sparse"
    assert net.schedule.levels[1].estop * 600 >= 2**19
    x, gy = _data(net, 600, torch.float64, seed=4)
    for threads in (1, 2):
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            got = forward_backward(net, x, gy)
        finally:
            torch.set_num_threads(old)
        _assert_matches(got, reference(net, x, gy), torch.float64)


def test_kernels_incomplete_dense_block_matches_reference():
    # A dense level with missing edges writes its weights into a zero block through flat
    # indices, and gathers the gradient back through them.
    net = GRAPHS["prior"]().double().compile("dense")
    assert any(lv.flat is not None for lv in net.schedule.levels)
    x, gy = _data(net, 7, torch.float64)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float64)


@pytest.mark.parametrize("threads", [1, 2])
def test_kernels_fused_batch_split_between_threads(threads):
    # Above 2^19 multiply-adds per pass the fused kernel splits the batch between threads
    # (partial weight and bias gradients summed); the result must not depend on it. Batch 1,002:
    # shares of 501, not a multiple of the vector width; GELU, whose backward reads z.
    G = nx.watts_strogatz_graph(1200, 6, 0.3, seed=1)
    net = graphnets.priors.from_graph(G, 16, 5, orientation="index", seed=0, activation="gelu")
    net = net.double().compile("fused")
    assert net.num_edges * 1002 >= 2**19
    x, gy = _data(net, 1002, torch.float64, seed=2)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = forward_backward(net, x, gy)
    finally:
        torch.set_num_threads(old)
    _assert_matches(got, reference(net, x, gy), torch.float64)


def test_kernels_cpp_cache_directory_is_torchs(monkeypatch, tmp_path):
    # The fused kernel is loaded from the folder torch's cpp_extension builds it in, computed
    # without importing cpp_extension: both must name the same folder.
    from torch.utils.cpp_extension import _get_build_directory

    from graphnets.kernels import fused, recurrent
    from graphnets.kernels.cppbuild import cache_directory

    for name in (fused.extension_name(), recurrent.extension_name()):
        monkeypatch.delenv("TORCH_EXTENSIONS_DIR", raising=False)
        assert cache_directory(name) == _get_build_directory(name, False)
        monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
        assert cache_directory(name) == _get_build_directory(name, False)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(256, 784), (13, 21), (8, 8), (3, 5), (0, 4)])
def test_kernels_transpose_matches_torch(shape, dtype):
    # The node-major copy of x the CSR levels read (8x8 register blocks for float rows, plain
    # tiles otherwise; the edges short of a block element by element), into a reused buffer.
    from graphnets.kernels.fused import transpose

    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    out = torch.full((shape[1], shape[0]), math.nan, dtype=dtype)
    assert transpose(x, out) is out
    torch.testing.assert_close(out, x.T, rtol=0, atol=0)
    strided = torch.randn(shape[1], shape[0], dtype=dtype).T  # columns not contiguous
    torch.testing.assert_close(transpose(strided), strided.T, rtol=0, atol=0)


def _sequential(*acts: type[torch.nn.Module]) -> torch.nn.Sequential:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for i, act in enumerate(acts):
        layers += [torch.nn.Linear((9, 8, 7, 6)[i], (8, 7, 6, 5)[i]), act()]
    return torch.nn.Sequential(*layers, torch.nn.Linear((9, 8, 7, 6)[len(acts)], 4)).double()


@pytest.mark.parametrize("kernel", ["dense", "levelwise"])
@pytest.mark.parametrize(
    "acts", [(torch.nn.ReLU, torch.nn.ReLU), (torch.nn.Tanh, torch.nn.GELU, torch.nn.ReLU)]
)
def test_kernels_dense_chain_is_sequential(acts, kernel, device):
    # A chain of complete dense layers (an MLP) runs batch-major as nn.Sequential does: the same
    # products in the same layout, so the outputs and every gradient match torch's (GELU's
    # backward reads z, which the chain keeps).
    seq = _sequential(*acts).to(device)
    net = graphnets.from_torch(seq).compile(kernel)
    assert net.schedule.dense_chain
    x = torch.randn(11, 9, dtype=torch.float64, device=device)
    gy = torch.randn(11, 4, dtype=torch.float64, device=device)
    got = forward_backward(net, x, gy)
    xs = x.clone().requires_grad_(True)
    (seq(xs) * gy).sum().backward()
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
    gw = torch.cat([m.weight.grad.reshape(-1) for m in linears])
    torch.testing.assert_close(got[0], seq(x).detach(), **TOL[torch.float64])
    torch.testing.assert_close(got[1], gw, **TOL[torch.float64])
    torch.testing.assert_close(got[3], xs.grad, **TOL[torch.float64])
    gb = got[2][len(net.inputs) :]
    torch.testing.assert_close(gb, torch.cat([m.bias.grad for m in linears]), **TOL[torch.float64])
    assert bool((got[2][: len(net.inputs)] == 0).all())


def _not_chains() -> dict[str, graphnets.GraphNet]:
    """Nets whose dense levels are not a chain of complete layers, each for its own reason."""
    pruned = layered_net()
    pruned.remove_edges([0, 5])
    return {
        "pruned": pruned,  # incomplete blocks
        "two_activations_in_a_layer": layered_net(("relu", "tanh", "relu", "tanh")),
        "outputs_reordered": layered_net(outputs=("y1", "y0")),
        "skip_dag": GRAPHS["skip_dag"](),  # levels read earlier levels too
        "bias_only_nodes": GRAPHS["hidden_sources"](),
    }


def test_kernels_dense_chain_for_a_layered_net():
    assert layered_net().compile("dense").schedule.dense_chain


@pytest.mark.parametrize("name", list(_not_chains()))
def test_kernels_dense_chain_only_for_chains(name):
    # Anything else runs the general level-wise path, and still matches the reference.
    net = _not_chains()[name].compile("dense")
    assert not net.schedule.dense_chain
    x, gy = _data(net, 6, torch.float32)
    _assert_matches(forward_backward(net, x, gy), reference(net, x, gy), torch.float32)
