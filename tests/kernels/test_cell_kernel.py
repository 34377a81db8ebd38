"""The recurrent cell C++ kernel (graphnets.kernels.recurrent) against the cells' torch path."""

import pytest
import torch

from graphnets import cells
from graphnets.kernels import recurrent as cell_kernel
from graphnets.nn import cells as nn_cells

MODES = cells.MODES
D64 = torch.float64

pytestmark = pytest.mark.skipif(
    not cell_kernel.available(), reason=f"no cell kernel: {cell_kernel.why_unavailable()}"
)


def _state(cell, B, seed=3):
    gen = torch.Generator().manual_seed(seed)
    h0 = torch.randn(1, B, cell.num_hidden, dtype=D64, generator=gen)
    if cell.mode == "lstm":
        return (h0, torch.randn(1, B, cell.num_hidden, dtype=D64, generator=gen))
    return h0


def _run_all(cell, kernel, x, state):
    """Outputs, final states and the gradients of x, the state and every parameter."""
    cell.kernel = kernel
    cell.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    parts = state if isinstance(state, tuple) else (state,)
    parts = tuple(s.clone().requires_grad_() for s in parts)
    out, last = cell(x, parts if cell.mode == "lstm" else parts[0])
    last = last if isinstance(last, tuple) else (last,)
    w = torch.linspace(-1, 1, out.numel(), dtype=D64).view_as(out)
    loss = (out * w).sum() + sum((s * s).sum() for s in last)
    loss.backward()
    grads = [x.grad, *(s.grad for s in parts), *(p.grad for p in cell.parameters())]
    return [out.detach(), *(s.detach() for s in last), *grads]


def _prior(mode, seed=0):
    return cells.watts_strogatz(mode, 5, 24, 4, 0.3, seed=seed, dtype=D64)


@pytest.fixture(params=["dense", "sparse"])
def recurrent(request, monkeypatch):
    """Both ways of the kernel's recurrent product: masked dense matmul, per edge."""
    monkeypatch.setattr(nn_cells, "SPARSE_RECURRENT", 0.0 if request.param == "dense" else 2.0)
    return request.param


@pytest.mark.parametrize("mode", MODES)
def test_cell_kernel_matches_torch_path(mode, recurrent):
    cell = _prior(mode)
    assert cell._dense_recurrent() == (recurrent == "dense")
    assert cell.num_levels > 2
    x = torch.randn(7, 4, 5, dtype=D64, generator=torch.Generator().manual_seed(1))
    state = _state(cell, 4)
    got = _run_all(cell, "cpp", x, state)
    want = _run_all(cell, "torch", x, state)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_cell_kernel_float32_matches_torch_path(mode):
    cell = _prior(mode).float()
    x = torch.randn(5, 3, 5, generator=torch.Generator().manual_seed(2))
    out = {}
    for kernel in ("cpp", "torch"):
        cell.kernel = kernel
        cell.zero_grad(set_to_none=True)
        y, _ = cell(x)
        y.square().sum().backward()
        out[kernel] = [y.detach(), cell.weight.grad.clone(), cell.recurrent_weight.grad.clone()]
    for a, b in zip(out["cpp"], out["torch"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_cell_kernel_gradcheck(mode, recurrent):
    cell = cells.watts_strogatz(mode, 2, 6, 2, 0.5, seed=1, dtype=D64)
    assert cell.num_levels > 1
    cell.kernel = "cpp"
    x = torch.randn(3, 2, 2, dtype=D64, generator=torch.Generator().manual_seed(0))
    h0 = torch.randn(1, 2, 6, dtype=D64, generator=torch.Generator().manual_seed(1))
    params = list(cell.parameters())
    names = [n for n, _ in cell.named_parameters()]

    def f(x, h0, *values):
        out, last = torch.func.functional_call(
            cell, dict(zip(names, values, strict=True)), (x, (h0, h0) if mode == "lstm" else h0)
        )
        last = last if isinstance(last, tuple) else (last,)
        return (out, *last)

    inputs = [
        x.requires_grad_(),
        h0.requires_grad_(),
        *(p.detach().requires_grad_() for p in params),
    ]
    assert torch.autograd.gradcheck(f, inputs)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("edit", ["magnitude_prune", "remove_edges"])
def test_cell_kernel_after_edits_while_an_old_loss_is_alive(mode, edit, recurrent):
    cell = _prior(mode, seed=4)
    opt = torch.optim.Adam(cell.parameters(), lr=0.01)
    x = torch.randn(6, 3, 5, dtype=D64, generator=torch.Generator().manual_seed(5))
    loss = cell(x)[0].square().sum()
    loss.backward()
    opt.step()
    if edit == "magnitude_prune":
        cells.magnitude_prune(cell, 0.4, optimizer=opt)
    else:
        skips = (cell.edge_index[0] >= cell.num_inputs).nonzero().flatten()
        cell.remove_edges("i2h", skips[::3], optimizer=opt)
        cell.remove_edges("h2h", torch.arange(0, cell.num_edges["h2h"], 4), optimizer=opt)
    assert cell.num_levels > 1
    opt.zero_grad()
    state = _state(cell, 3)
    got = _run_all(cell, "cpp", x, state)
    want = _run_all(cell, "torch", x, state)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)
    cell.kernel = "auto"
    cell(x)[0].square().sum().backward()
    before = [p.detach().clone() for p in cell.parameters()]
    opt.step()
    assert all(not torch.equal(p, b) for p, b in zip(cell.parameters(), before, strict=True))
    del loss  # alive until here: through the edit, the new backwards and the step


def test_cell_kernel_batch_first_and_no_recurrent_edges():
    cell = cells.watts_strogatz("gru", 3, 10, 4, 0.3, seed=0, dtype=D64, batch_first=True)
    cell.remove_edges("h2h", torch.arange(cell.num_edges["h2h"]))
    x = torch.randn(2, 5, 3, dtype=D64)
    state = _state(cell, 2)
    for a, b in zip(
        _run_all(cell, "cpp", x, state), _run_all(cell, "torch", x, state), strict=True
    ):
        torch.testing.assert_close(a, b)


def test_cell_kernel_auto_is_the_kernel_on_cpu_float():
    cell = _prior("lstm")
    out, _ = cell(torch.randn(3, 2, 5, dtype=D64))
    assert "_CellRun" in type(out.grad_fn).__name__ or "CellRun" in str(out.grad_fn.name())


@pytest.mark.parametrize("mode", MODES)
def test_cell_kernel_double_backward_matches_torch_path(mode):
    # create_graph=True: the kernel's backward differentiates its torch replay
    cell = cells.watts_strogatz(mode, 3, 8, 2, 0.5, seed=2, dtype=D64)
    x = torch.randn(3, 2, 3, dtype=D64, generator=torch.Generator().manual_seed(0))
    state = _state(cell, 2)
    res = {}
    for kernel in ("cpp", "torch"):
        cell.kernel = kernel
        cell.zero_grad(set_to_none=True)
        xx = x.clone().requires_grad_()
        out, last = cell(xx, state)
        last = last if isinstance(last, tuple) else (last,)
        loss = out.sin().sum() + sum(s.cos().sum() for s in last)
        (gx, gw) = torch.autograd.grad(loss, [xx, cell.weight], create_graph=True)
        (gx.square().sum() + gw.square().sum()).backward()
        res[kernel] = [gx.detach(), gw.detach(), xx.grad] + [p.grad for p in cell.parameters()]
    for a, b in zip(res["cpp"], res["torch"], strict=True):
        torch.testing.assert_close(a, b)


def test_cell_kernel_errors():
    cell = _prior("rnn_relu")
    with pytest.raises(ValueError, match="unknown kernel 'fused'; expected one of 'auto'"):
        cell.kernel = "fused"
    cell.kernel = "cpp"
    with pytest.raises(RuntimeError, match="kernel='cpp' runs float32 / float64 on the CPU"):
        cell.to(torch.bfloat16)(torch.randn(3, 2, 5, dtype=torch.bfloat16))


@pytest.mark.parametrize("state", [False, True])
def test_cell_kernel_one_level_lstm_places_for_torch_layer(state):
    # a dense one-level LSTM runs torch's own layer on matrices placed by the kernel module
    cell = cells.complete("lstm", 3, 5, seed=0, dtype=D64)
    assert cell.num_levels == 1 and cell._dense_recurrent()
    x = torch.randn(4, 2, 3, dtype=D64, generator=torch.Generator().manual_seed(0))
    s = _state(cell, 2) if state else (torch.zeros(1, 2, 5, dtype=D64),) * 2
    for a, b in zip(_run_all(cell, "auto", x, s), _run_all(cell, "torch", x, s), strict=True):
        torch.testing.assert_close(a, b)
    res = {}
    for kernel in ("auto", "torch"):
        cell.kernel = kernel
        cell.zero_grad(set_to_none=True)
        (gw,) = torch.autograd.grad(cell(x)[0].sin().sum(), [cell.weight], create_graph=True)
        gw.square().sum().backward()
        res[kernel] = [gw.detach()] + [p.grad for p in cell.parameters()]
    for a, b in zip(res["auto"], res["torch"], strict=True):
        torch.testing.assert_close(a, b)
