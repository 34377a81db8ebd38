"""Emergence: URNs whose weights embed a known net (the MLP of Eq. 1, a skip through a residual
input, an accumulating residual output) are read back as exactly that net; trained URNs are read
off as GraphNets whose outputs equal theirs within ``tol``; the edge directions of Fig. 6 by
iteration and by height; the pictures; the errors."""

import numpy as np
import pytest
import torch

from graphnets.data import shells
from graphnets.methods.urn import (
    URN,
    choose_threshold,
    direction_counts,
    emerge,
    emergence_figure,
    fit,
    grid,
    neuron_order,
)


def _set(urn, weights, bias=None):
    """Set ``W[dst, src] = w`` for ``{(dst, src): w}``, every other weight 0."""
    S = urn.S
    W = torch.zeros(S, S, dtype=torch.float64)
    for (i, j), w in weights.items():
        W[i, j] = w
    with torch.no_grad():
        urn.net.weight.copy_(W.reshape(-1))
        urn.net.bias.zero_()
        for i, b in (bias or {}).items():
            urn.net.bias[i] = b


def test_emerge_reads_back_the_mlp_embedded_as_in_eq_1():
    # the W of Eq. 1: inputs 0-2 -> layer 1 (neurons 3-8) -> layer 2 (9-12) -> outputs 18, 19
    g = torch.Generator().manual_seed(0)
    W1 = 0.5 + 0.5 * torch.rand(6, 3, generator=g, dtype=torch.float64)
    W2 = 0.5 + 0.5 * torch.rand(4, 6, generator=g, dtype=torch.float64)
    W3 = torch.randn(2, 4, generator=g, dtype=torch.float64)
    urn = URN(20, 3, 3, 2, output_activation="identity", seed=0).double()
    weights = {(3 + a, b): W1[a, b] for a in range(6) for b in range(3)}
    weights |= {(9 + a, 3 + b): W2[a, b] for a in range(4) for b in range(6)}
    weights |= {(18 + a, 9 + b): W3[a, b] for a in range(2) for b in range(4)}
    bias = {i: -0.1 for i in range(3, 13)} | {18: 0.3, 19: -0.2}
    _set(urn, weights, bias)
    x = torch.rand(25, 3, generator=g, dtype=torch.float64)
    net, report = emerge(urn, x, tol=0)
    h1 = torch.relu(x @ W1.T - 0.1)
    h2 = torch.relu(h1 @ W2.T - 0.1)
    y = h2 @ W3.T + torch.tensor([0.3, -0.2], dtype=torch.float64)
    torch.testing.assert_close(net(x), y, rtol=0, atol=1e-12)
    torch.testing.assert_close(urn(x), y, rtol=0, atol=1e-12)
    assert net.levels == [
        [("x", k) for k in range(3)],
        [(i, 1) for i in range(3, 9)],
        [(i, 2) for i in range(9, 13)],
        [(18, 3), (19, 3)],
    ]
    assert net.num_edges == 18 + 24 + 8 == report.edges == report.urn_edges
    assert report.hidden == [6, 4, 0] and report.active == 12 and report.neurons == 15
    assert [d["edges"] for d in report.layers] == [0, 18, 24, 8]
    assert (report.forward, report.backward, report.same) == (50, 0, 0)
    assert report.skip_edges == 0 and report.reused == 0 and report.max_diff <= 1e-12
    assert report.first_active.tolist() == [0] * 3 + [1] * 6 + [2] * 4 + [-1] * 5 + [3, 3]
    assert report.z_directions is None and report.threshold == 0.0


@pytest.mark.parametrize("residual", [None, "input"])
def test_emerge_skip_edge_only_through_residual_inputs(residual):
    # 0 -> 3 -> 5 (the output), and 1 -> 5 read at every iteration
    urn = URN(6, 2, 2, 1, residual=residual, output_activation="identity", seed=0).double()
    _set(urn, {(3, 0): 1.0, (5, 3): 2.0, (5, 1): -1.5}, {0: -1.0, 1: -1.0, 3: 0.1, 5: 0.2})
    x = torch.rand(9, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    net, report = emerge(urn, x, tol=0)
    h = torch.relu(x[:, 0] + 0.1)
    if residual == "input":  # N_1 = x_1 at every iteration: an edge from x straight to (5, 2)
        y = 2.0 * h - 1.5 * x[:, 1] + 0.2
        assert set(net.edges()) == {(("x", 0), (3, 1)), ((3, 1), (5, 2)), (("x", 1), (5, 2))}
        assert report.skip_edges == 1
    else:  # the input neuron is overwritten by 0 after iteration 0
        y = 2.0 * h + 0.2
        assert set(net.edges()) == {(("x", 0), (3, 1)), ((3, 1), (5, 2))}
        assert report.skip_edges == 0
    torch.testing.assert_close(net(x)[:, 0], y, rtol=0, atol=1e-12)
    torch.testing.assert_close(urn(x)[:, 0], y, rtol=0, atol=1e-12)


def test_emerge_residual_output_accumulates():
    # x -> 2 -> 4 (output); 4 -> 4 with weight 0.5: y = x + 0.5 x
    urn = URN(5, 3, 1, 1, residual="output", output_activation="identity", seed=0).double()
    _set(urn, {(2, 0): 1.0, (4, 2): 1.0, (4, 4): 0.5})
    x = torch.rand(6, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    net, report = emerge(urn, x, tol=0)
    torch.testing.assert_close(net(x), 1.5 * x, rtol=0, atol=1e-12)
    torch.testing.assert_close(urn(x), 1.5 * x, rtol=0, atol=1e-12)
    assert set(net.edges()) == {
        (("x", 0), (2, 1)),
        ((2, 1), (4, 2)),
        ((4, 2), (4, 3)),
        ((4, 2), ("y", 0)),
        ((4, 3), ("y", 0)),
    }
    assert net.outputs == [("y", 0)] and report.skip_edges == 1  # (4, 2) -> y skips iteration 3
    assert report.reused == 1  # neuron 4 at iterations 2 and 3


def test_emerge_directions_by_iteration_and_by_height():
    # grid(2, 2, 3): inputs 0-3 at z=1, 4-7 at z=2, 8-10 and the output 11 at z=3
    geometry = grid(2, 2, 3, 1)
    urn = URN(12, 3, 4, 1, geometry=geometry, seed=0).double()
    weights = {(4, 0): 1.0, (5, 4): 1.0, (11, 5): 1.0, (8, 1): 1.0, (6, 8): 1.0, (11, 6): 1.0}
    _set(urn, weights)
    x = torch.rand(5, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    net, report = emerge(urn, x, tol=0)
    assert net.num_edges == 6
    # by iteration every kept weight goes forward; by height 0->4, 5->11, 1->8, 6->11 go up,
    # 4->5 stays on its plane and 8->6 goes down
    assert (report.forward, report.backward, report.same) == (6, 0, 0)
    assert report.z_directions == {"forward": 4, "backward": 1, "lateral": 1}
    assert direction_counts(np.array([1, 2, 3]), np.array([2, 2, 1])) == (1, 1, 1)


@pytest.mark.parametrize("residual", [None, "output", "input"])
def test_emerge_trained_urn_within_tol(residual):
    x, y, x_test, _ = shells(120, seed=0)
    urn = URN(30, 3, 10, 2, residual=residual, output_activation="identity", seed=0)
    fit(urn, x, y, epochs=2, batch_size=16, c_W=1e-3, c_N=1e-3, sparsify_every=4, seed=0)
    urn = urn.double()
    xt = x_test.double()
    exact, report = emerge(urn, xt, tol=0)
    assert report.max_diff <= 1e-12 and report.threshold == 0.0
    torch.testing.assert_close(exact(xt), urn(xt), rtol=0, atol=1e-12)
    loose, looser = emerge(urn, xt, tol=1e-2)
    assert float((loose(xt) - urn(xt)).detach().abs().max()) == pytest.approx(looser.max_diff)
    assert looser.max_diff <= 1e-2 and looser.threshold > 0
    assert loose.num_edges < exact.num_edges and looser.urn_edges < report.urn_edges


def test_choose_threshold_meets_its_budget():
    urn = URN(25, 3, 3, 2, seed=1).double()
    x = torch.randn(30, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = urn.net.weight.detach()
    for budget in (0.0, 1e-3, 1e-1):
        t = choose_threshold(urn, x, budget)
        kept = torch.where(w.abs() <= t, torch.zeros_like(w), w)
        moved = urn.activities(x, weight=kept)[-1][:, -2:] - urn(x)
        assert float(moved.detach().abs().max()) <= budget
        assert t == 0.0 or bool((w.abs() == t).any())  # a magnitude of the weights
    assert choose_threshold(urn, x, 1e-1) >= choose_threshold(urn, x, 1e-3) > 0


def test_emergence_figure_writes_a_png(tmp_path):
    urn = URN(20, 3, 3, 2, seed=0)
    x = torch.rand(10, 3, generator=torch.Generator().manual_seed(0))
    _, report = emerge(urn, x)
    order = neuron_order(report)
    assert bool((report.first_active[order].diff() >= 0).all()) and order.size == report.neurons
    last = neuron_order(report, 2)
    assert last[-2:].tolist() == [18, 19] and sorted(last.tolist()) == sorted(order.tolist())
    path = tmp_path / "fig.png"
    emergence_figure(urn, x, report, path, title="a URN")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    with pytest.raises(ValueError, match=r"this URN \(21 neurons\), got one of a URN of 20"):
        emergence_figure(URN(21, 3, 3, 2), x, report)
    with pytest.raises(TypeError, match=r"expected the Emergence report of emerge\(urn, x\)"):
        emergence_figure(urn, x, {"layers": []})


def test_emerge_errors():
    urn = URN(10, 2, 3, 2, seed=0)
    x = torch.rand(4, 3)
    with pytest.raises(TypeError, match=r"expected a graphnets.urn.URN, got GraphNet"):
        emerge(urn.net, x)
    with pytest.raises(ValueError, match=r"tol must be a finite number >= 0, got -1"):
        emerge(urn, x, tol=-1)
    with pytest.raises(ValueError, match=r"x must hold at least one sample"):
        emerge(urn, torch.zeros(0, 3))
    with pytest.raises(ValueError, match=r"expected x of shape \[B, 3\]"):
        emerge(urn, torch.zeros(4, 5))
