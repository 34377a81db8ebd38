"""The CUDA-graph executor against the per-neuron reference: values and gradients, captured again
after an edit. The capture tests run where CUDA is present and skip elsewhere; the capturable
schedule and the CPU fallback are tested everywhere."""

import pytest
import torch
from _graphs import GRAPHS, forward_backward, reference

import graphnets
from graphnets.kernels import compile_schedule

TOL = dict(rtol=1e-10, atol=1e-12)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _data(net, batch, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, len(net.inputs), generator=gen, dtype=torch.float64)
    gy = torch.randn(batch, len(net.outputs), generator=gen, dtype=torch.float64)
    return x.to(device), gy.to(device)


def _graphed_step(graphed, net, x, gy):
    """``forward_backward`` through the graphed executor."""
    return forward_backward(net, x, gy, fn=lambda _net, x: graphed(x))


@pytest.mark.parametrize("graph", list(GRAPHS))
@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_cudagraph_capturable_schedule_never_syncs(graph, device):
    # The one host synchronisation of the level-wise kernels is the NaN check of an incomplete
    # dense block: a capturable schedule has none (CSR or scatter instead); complete blocks stay.
    s = GRAPHS[graph]().structure
    for dtype in (torch.float32, torch.float16):
        sched = compile_schedule(s, "levelwise", device, dtype, capturable=True)
        assert all(lv.kind != "dense" or lv.complete for lv in sched.levels)
        plain = compile_schedule(s, "levelwise", device, dtype)
        assert [lv.kind == "dense" and lv.complete for lv in plain.levels] == [
            lv.kind == "dense" and lv.complete for lv in sched.levels
        ]


@pytest.mark.parametrize("graph", ["mlp", "prior", "wide_sparse"])
def test_cudagraph_capturable_schedule_matches_reference_on_cpu(graph):
    # The capturable plan computes the same function (run here on CPU, where it is not captured).
    net = GRAPHS[graph]().double()
    x, gy = _data(net, 7, "cpu")
    want = reference(net, x, gy)
    net._schedule = compile_schedule(
        net.structure, "levelwise", "cpu", torch.float64, capturable=True
    )
    got = forward_backward(net, x, gy)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, **TOL)


def test_cudagraph_cpu_fallback_is_the_net():
    net = GRAPHS["skip_dag"]().double()
    graphed = graphnets.CudaGraphed(net)
    x, gy = _data(net, 5, "cpu")
    want = reference(net, x, gy)
    got = _graphed_step(graphed, net, x, gy)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, **TOL)
    assert graphed.captures == 0


def test_cudagraph_rejects_recurrent_nets():
    net = graphnets.from_edges(
        torch.tensor([[0, 1, 1], [1, 1, 2]]), 3, [0], [2], delay=[0, 1, 0], seed=0
    )
    with pytest.raises(ValueError, match="feed-forward"):
        graphnets.CudaGraphed(net)


@needs_cuda
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_cudagraph_matches_reference(graph):
    net = GRAPHS[graph]().to("cuda", torch.float64)
    graphed = graphnets.CudaGraphed(net)
    x, gy = _data(net, 9, "cuda")
    want = reference(net, x, gy)
    for _ in range(2):  # the capture call, then a replay
        got = _graphed_step(graphed, net, x, gy)
        for g, w in zip(got, want, strict=True):
            torch.testing.assert_close(g, w, **TOL)
    assert graphed.captures == 1


@needs_cuda
def test_cudagraph_sees_optimizer_steps_and_recaptures_after_an_edit():
    net = GRAPHS["wide_sparse"]().to("cuda", torch.float64)
    graphed = graphnets.CudaGraphed(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, gy = _data(net, 6, "cuda")
    _graphed_step(graphed, net, x, gy)
    opt.step()  # parameters change in place: the replay reads them
    x2, gy2 = _data(net, 6, "cuda", seed=1)
    got = _graphed_step(graphed, net, x2, gy2)
    for g, w in zip(got, reference(net, x2, gy2), strict=True):
        torch.testing.assert_close(g, w, **TOL)
    assert graphed.captures == 1
    net.remove_edges(torch.arange(net.num_edges) % 3 == 0)  # an edit: captured again
    got = _graphed_step(graphed, net, x2, gy2)
    for g, w in zip(got, reference(net, x2, gy2), strict=True):
        torch.testing.assert_close(g, w, **TOL)
    assert graphed.captures == 2


@needs_cuda
def test_cudagraph_nan_through_a_missing_edge_stays_out():
    # 0 * inf is NaN: a capturable plan runs incomplete blocks edge by edge, so an infinite
    # input reaches only its own edges' destinations, as in the reference.
    net = GRAPHS["prior"]().to("cuda", torch.float64)
    graphed = graphnets.CudaGraphed(net)
    x, gy = _data(net, 4, "cuda")
    x[0, 0] = float("inf")
    want = reference(net, x, gy)
    got = _graphed_step(graphed, net, x, gy)
    torch.testing.assert_close(got[0], want[0], equal_nan=True, **TOL)
