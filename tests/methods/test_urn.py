"""The URN (``004_…``): its forward against a hand-written ``W @ N`` loop with the same weights
(every update rule), its graph against the recurrent net's own step, the regulators against
their formulas, the soft threshold against its closed form, sparsification as a real edit that
changes nothing the URN computes, and every error message."""

import math

import networkx as nx
import pytest
import torch
import torch.nn.functional as F

import graphnets
from graphnets.methods.urn import (
    URN,
    Geometry,
    complete_structure,
    grid,
    iteration_structure,
    soft_threshold,
)


def _loop(W, b, x, urn, act=torch.relu, out_act=None):
    """The URN of Eq. 2-4, 6, 7 written out: N <- act(W N + b), I times."""
    S, d_in, d_out = urn.S, urn.d_in, urn.d_out
    out_act = act if out_act is None else out_act
    N = torch.zeros(x.shape[0], S, dtype=x.dtype)
    N[:, :d_in] = x
    values = [N]
    for _ in range(urn.iterations):
        Z = N @ W.T + b
        A = torch.cat([act(Z[:, : S - d_out]), out_act(Z[:, S - d_out :])], 1)
        if urn.residual == "input":
            A = A.clone()
            A[:, :d_in] = A[:, :d_in] + x
        elif urn.residual == "output":
            A = A.clone()
            A[:, S - d_out :] = A[:, S - d_out :] + N[:, S - d_out :]
        N = A
        values.append(N)
    return torch.stack(values)


def _urn(S=12, I=3, d_in=3, d_out=2, seed=0, **kw):
    urn = URN(S, I, d_in, d_out, seed=seed, **kw).double()
    with torch.no_grad():  # biases that matter, so every neuron is sometimes on and off
        urn.net.bias[:S] = torch.randn(S, generator=torch.Generator().manual_seed(seed + 1)) * 0.3
    return urn


def _x(urn, n=7, seed=2):
    return torch.randn(n, urn.d_in, generator=torch.Generator().manual_seed(seed)).double()


# -- the model --------------------------------------------------------------------------------
@pytest.mark.parametrize("residual", [None, "output", "input"])
def test_urn_forward_matches_w_at_n_loop(residual):
    urn = _urn(residual=residual)
    x = _x(urn)
    W = urn.weight_matrix().detach().clone()
    b = urn.net.bias.detach()[: urn.S]
    ref = _loop(W, b, x, urn)
    got = urn.activities(x)
    assert got.shape == (urn.iterations + 1, 7, urn.S)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(urn(x), ref[-1][:, -urn.d_out :], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("activation", "output_activation"), [("tanh", None), ("relu", "identity")]
)
def test_urn_forward_matches_loop_other_activations(activation, output_activation):
    urn = _urn(activation=activation, output_activation=output_activation, residual="output")
    x = _x(urn)
    act = {"tanh": torch.tanh, "relu": torch.relu}[activation]
    out_act = None if output_activation is None else (lambda z: z)
    ref = _loop(urn.weight_matrix().detach(), urn.net.bias.detach()[: urn.S], x, urn, act, out_act)
    torch.testing.assert_close(urn.activities(x), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("residual", [None, "output", "input"])
def test_urn_gradients_match_loop(residual):
    urn = _urn(residual=residual)
    x, y = _x(urn), torch.tensor([0, 1, 1, 0, 1, 0, 0])
    W = urn.weight_matrix().detach().clone().requires_grad_()
    b = urn.net.bias.detach()[: urn.S].clone().requires_grad_()
    F.cross_entropy(_loop(W, b, x, urn)[-1][:, -urn.d_out :], y).backward()
    F.cross_entropy(urn(x), y).backward()
    torch.testing.assert_close(urn.net.weight.grad.view(urn.S, urn.S), W.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(urn.net.bias.grad[: urn.S], b.grad, rtol=0, atol=1e-12)
    assert torch.equal(urn.net.bias.grad[urn.S :], torch.zeros(urn.d_in, dtype=torch.float64))


def test_urn_iteration_is_the_recurrent_nets_own_step():
    # one iteration of the URN is one step of urn.net, a plain recurrent GraphNet, with the
    # neuron values as its state (evaluated by the net's own step graph and kernel)
    urn = _urn()
    x = _x(urn)
    values = urn.activities(x)
    assert urn.net.state_labels == [(i, 1) for i in range(urn.S)]
    state = values[0]
    for ell in range(urn.iterations):
        y, state = urn.net.step(x, state)
        torch.testing.assert_close(state, values[ell + 1], rtol=0, atol=1e-12)
    torch.testing.assert_close(y, urn(x), rtol=0, atol=1e-12)


def test_urn_unrolled_net_with_the_input_as_its_state_is_the_urn():
    # graphnets.unroll of urn.net, its state inputs (label, -1) fed N^(0) = (x, 0, ..., 0)
    urn = _urn()
    x = _x(urn)
    unrolled = graphnets.unroll(urn.net, urn.iterations, state_inputs=True)
    assert unrolled.inputs[-urn.S :] == [(i, -1) for i in range(urn.S)]
    ignored = torch.zeros(7, urn.d_in * urn.iterations, dtype=torch.float64)  # no edges
    y = unrolled(torch.cat([ignored, urn.activities(x)[0]], 1))
    steps = y.view(7, urn.iterations, urn.d_out)
    for ell in range(urn.iterations):
        torch.testing.assert_close(steps[:, ell], urn.activities(x)[ell + 1, :, -urn.d_out :])
    torch.testing.assert_close(steps[:, -1], urn(x), rtol=0, atol=1e-12)


def test_urn_graph_is_complete_with_delay_one():
    urn = URN(5, 2, 2, 1, seed=0)
    G = urn.net.to_networkx()
    neurons = list(range(5))
    assert all(G.has_edge(u, v) for u in neurons for v in neurons)  # self loops included
    assert G.number_of_edges() == 25 and set(nx.get_edge_attributes(G, "delay").values()) == {1}
    assert urn.net.outputs == [4] and urn.net.inputs == [("x", 0), ("x", 1)]
    # the weights are W in destination-major order: the view shares storage
    W = urn.weight_matrix()
    assert W.data_ptr() == urn.net.weight.data_ptr()
    src, dst = urn.net.edge_index
    assert torch.equal(W[dst, src], urn.net.weight)


@pytest.mark.parametrize("output_activation", [None, "identity", "tanh"])
def test_urn_dense_phase_runs_one_complete_dense_level(output_activation):
    urn = URN(30, 4, 3, 2, output_activation=output_activation, seed=0)
    (level,) = [lv for lv in urn.schedule().levels if lv.kind != "bias"]
    assert level.kind == "dense" and level.complete
    # the weights are a free view: no gather of the edges, the neurons in index order
    assert urn.schedule().edge_order is None and urn.kernel == "dense"
    assert urn.schedule().out_pos.tolist() == list(range(30, 60))


def test_urn_he_normal_init_and_seed():
    urn = URN(300, 1, 2, 1, seed=0)
    w = urn.net.weight.detach().double()
    assert abs(float(w.mean())) < 0.01 * math.sqrt(2 / 300) * 10
    assert float(w.std()) == pytest.approx(math.sqrt(2 / 300), rel=0.01)
    tanh = URN(300, 1, 2, 1, seed=0, activation="tanh").net.weight.detach().double()
    assert float(tanh.std()) == pytest.approx(5 / 3 / math.sqrt(300), rel=0.01)
    assert torch.equal(urn.net.bias, torch.zeros(302))
    assert torch.equal(URN(300, 1, 2, 1, seed=0).net.weight, urn.net.weight)
    assert not torch.equal(URN(300, 1, 2, 1, seed=1).net.weight, urn.net.weight)


def test_urn_copies_and_pickles_after_a_forward():
    import copy
    import pickle

    urn = _urn()
    x = _x(urn)
    urn(x).sum().backward()  # the last forward's values hold an autograd graph
    for other in (copy.deepcopy(urn), pickle.loads(pickle.dumps(urn))):
        torch.testing.assert_close(other(x), urn(x), rtol=0, atol=0)
        assert other.net.weight is not urn.net.weight


def test_urn_single_sample_and_repr():
    urn = _urn()
    x = _x(urn)
    torch.testing.assert_close(urn(x[0]), urn(x)[0])
    assert (
        repr(urn)
        == "URN(S=12, iterations=3, d_in=3, d_out=2, edges=144, density=1.000, kernel=dense)"
    )
    r = repr(URN(20, 2, 3, 2, residual="input", activation="tanh", output_activation="identity"))
    assert "residual='input'" in r and "activation='tanh'" in r and "output_activation" in r


def test_complete_and_iteration_structure():
    s = complete_structure(3, 1, 1)
    assert s.edge_index.tolist() == [[0, 1, 2] * 3, [0, 0, 0, 1, 1, 1, 2, 2, 2]]
    it = iteration_structure(s, 3)
    assert it.inputs.tolist() == [3, 4, 5] and it.outputs.tolist() == [0, 1, 2]
    assert it.edge_index.tolist() == [[3, 4, 5] * 3, [0, 0, 0, 1, 1, 1, 2, 2, 2]]


# -- regulators ------------------------------------------------------------------------------
def test_urn_penalty_terms_against_formulas():
    geometry = grid(3, 2, 3, 2, beta=2.0)
    urn = _urn(S=18, d_in=6, geometry=geometry)
    x = _x(urn)
    values = urn.activities(x)
    W = urn.weight_matrix().detach()
    coords = geometry.coords
    # d_ij = sqrt(dx² + dy² + β dz²), by hand for every pair
    d = torch.zeros(18, 18, dtype=torch.float64)
    for i in range(18):
        for j in range(18):
            dx, dy, dz = (coords[i] - coords[j]).tolist()
            d[i, j] = math.sqrt(dx * dx + dy * dy + 2.0 * dz * dz)
    l1 = float(W.abs().sum())
    act = sum(float(values[ell].detach().abs().sum()) for ell in range(1, 4)) / 7
    syn = float((W.abs() * d**1.5).sum())
    assert urn.penalty(c_W=0.1).item() == pytest.approx(0.1 * l1, rel=1e-12)
    assert urn.penalty(c_N=0.2).item() == pytest.approx(0.2 * act, rel=1e-12)
    assert urn.penalty(c_syn=0.3, gamma=1.5).item() == pytest.approx(0.3 * syn, rel=1e-12)
    total = urn.penalty(c_W=0.1, c_N=0.2, c_syn=0.3, gamma=1.5)
    assert total.item() == pytest.approx(0.1 * l1 + 0.2 * act + 0.3 * syn, rel=1e-12)
    total.backward()  # differentiable in the weights and through the activities
    assert urn.net.weight.grad.abs().sum() > 0


def test_urn_penalty_reads_the_last_forward_only():
    urn = _urn()
    x = _x(urn)
    urn(x)
    before = urn.penalty(c_N=1.0).item()
    urn.activities(x, weight=torch.zeros_like(urn.net.weight))  # a what-if: not kept
    assert urn.penalty(c_N=1.0).item() == before


def test_soft_threshold_closed_form_and_argmin():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(200, generator=g, dtype=torch.float64)
    t = torch.rand(200, generator=g, dtype=torch.float64)
    ref = torch.where(w > t, w - t, torch.where(w < -t, w + t, torch.zeros_like(w)))
    got = soft_threshold(w, t)
    assert torch.equal(got, ref) and not bool(torch.signbit(got[got == 0]).any())
    assert torch.equal(soft_threshold(w, 0.5), soft_threshold(w, torch.full_like(w, 0.5)))
    # it is the proximal operator: argmin_u ½(u - w)² + t|u|, checked on a fine grid
    u = torch.linspace(-4, 4, 80001, dtype=torch.float64)
    for k in range(0, 200, 20):
        obj = 0.5 * (u - w[k]) ** 2 + t[k] * u.abs()
        assert float(u[obj.argmin()]) == pytest.approx(float(got[k]), abs=2e-4)


def test_urn_proximal_step_with_a_step_size_and_sgd():
    urn = _urn(geometry=grid(3, 1, 4, 2))
    w0 = urn.net.weight.detach().clone()
    zeros = urn.proximal_step(0.1, c_W=0.5)
    assert torch.equal(urn.net.weight.detach(), soft_threshold(w0, 0.05))
    assert zeros == int((soft_threshold(w0, 0.05) == 0).sum()) > 0
    sgd = torch.optim.SGD(urn.parameters(), lr=0.2)
    w1 = urn.net.weight.detach().clone()
    urn.proximal_step(sgd, c_W=0.1, c_syn=0.01, gamma=2.0)
    lengths = urn.synapse_lengths(2.0)
    assert torch.equal(urn.net.weight.detach(), soft_threshold(w1, 0.2 * (0.1 + 0.01 * lengths)))


def test_urn_proximal_step_in_adams_metric():
    urn = _urn()
    opt = torch.optim.Adam(urn.parameters(), lr=0.01, betas=(0.9, 0.99), eps=1e-6)
    x, y = _x(urn), torch.tensor([0, 1, 1, 0, 1, 0, 0])
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(urn(x), y).backward()
        opt.step()
    w = urn.net.weight.detach().clone()
    v = opt.state[urn.net.weight]["exp_avg_sq"] / (1 - 0.99**3)
    urn.proximal_step(opt, c_W=0.02)
    ref = soft_threshold(w, 0.01 * 0.02 / (v.sqrt() + 1e-6))
    torch.testing.assert_close(urn.net.weight.detach(), ref, rtol=1e-12, atol=1e-15)
    assert torch.equal(urn.net.weight == 0, ref == 0)


# -- dense to sparse ---------------------------------------------------------------------------
def test_urn_sparsify_is_an_edit_that_changes_nothing_computed():
    urn = _urn(S=60, d_in=4)
    opt = torch.optim.Adam(urn.parameters(), lr=0.01)
    x, y = _x(urn), torch.tensor([0, 1, 1, 0, 1, 0, 0])
    F.cross_entropy(urn(x), y).backward()
    opt.step()
    with torch.no_grad():  # 90% of the weights to exact zeros
        drop = torch.rand(3600, generator=torch.Generator().manual_seed(5)) < 0.9
        urn.net.weight[drop] = 0.0
    before = urn.activities(x)
    exp_avg = opt.state[urn.net.weight]["exp_avg"][~drop].clone()
    record = urn.sparsify(optimizer=opt)
    assert record.kind == "remove_edges" and len(record.removed_edge_ids) == int(drop.sum())
    assert urn.num_edges == int((~drop).sum()) and urn.density == pytest.approx(
        urn.num_edges / 3600
    )
    assert urn.kernel == "sparse"  # the planner's choice at 10% density
    torch.testing.assert_close(urn.activities(x), before, rtol=0, atol=1e-12)
    assert torch.equal(opt.state[urn.net.weight]["exp_avg"], exp_avg)
    # the loop with the dense W (zeros where removed) is still the reference
    ref = _loop(urn.weight_matrix().detach(), urn.net.bias.detach()[:60], x, urn)
    torch.testing.assert_close(urn.activities(x), ref, rtol=0, atol=1e-12)
    opt.zero_grad()
    F.cross_entropy(urn(x), y).backward()  # and training goes on after the edit
    opt.step()
    assert urn.sparsify() is None or urn.num_edges < int((~drop).sum())


def test_urn_sparsify_without_zeros_returns_none():
    urn = _urn()
    assert urn.sparsify() is None and urn.num_edges == 144


def test_urn_follows_edits_made_on_its_net():
    urn = _urn()
    x = _x(urn)
    urn.net.remove_edges([(0, 5), (3, 3), (11, 0)])  # graph tools edit urn.net directly
    ref = _loop(urn.weight_matrix().detach(), urn.net.bias.detach()[:12], x, urn)
    torch.testing.assert_close(urn.activities(x), ref, rtol=0, atol=1e-12)
    assert urn.weight_matrix()[5, 0] == 0 and urn.num_edges == 141


def test_urn_refuses_a_net_edited_into_something_else():
    urn = _urn()
    urn.net.add_edges([("x", 0)], [4])  # a delay-0 edge from an input: not a URN edge
    with pytest.raises(ValueError, match=r"edge \('x', 0\) -> 4 \(delay 0\) is not a URN edge"):
        urn(_x(urn))


# -- geometry ---------------------------------------------------------------------------------
def test_grid_layout_inputs_first_outputs_at_the_centre_last():
    g = grid(5, 3, 4, 3, beta=9.0)
    c = g.coords
    assert g.num_neurons == 60 and g.shape == (5, 3, 4)
    assert c[:15].tolist() == [[float(x), float(y), 1.0] for y in range(3) for x in range(5)]
    # the centre (2, 1), then the four at distance 1, ties row-major: (2, 0) and (1, 1)
    assert c[-3:].tolist() == [[2.0, 0.0, 4.0], [1.0, 1.0, 4.0], [2.0, 1.0, 4.0]]
    assert sorted(map(tuple, c.tolist())) == sorted(
        (float(x), float(y), float(z)) for z in range(1, 5) for y in range(3) for x in range(5)
    )
    d = g.distance(torch.tensor([0]), torch.tensor([59]))
    assert float(d[0]) == pytest.approx(math.sqrt(2**2 + 1**2 + 9.0 * 3**2))  # (0,0,1)-(2,1,4)


def test_geometry_errors():
    with pytest.raises(ValueError, match=r"depth must be at least 2"):
        grid(2, 2, 1, 1)
    with pytest.raises(ValueError, match=r"d_out must be an int in 1..4"):
        grid(2, 2, 3, 5)
    with pytest.raises(ValueError, match=r"beta must be a finite number >= 0, got -1.0"):
        grid(2, 2, 3, 1, beta=-1)
    with pytest.raises(ValueError, match=r"width must be a positive int, got 0"):
        grid(0, 2, 3, 1)
    with pytest.raises(ValueError, match=r"scale must be a tensor \[D\] with D = 2"):
        Geometry(torch.zeros(3, 2, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"coords must be a floating tensor \[S, D\]"):
        Geometry(torch.zeros(3, dtype=torch.float64), torch.ones(1, dtype=torch.float64))


# -- errors -----------------------------------------------------------------------------------
def test_urn_errors():
    with pytest.raises(ValueError, match=r"S must be a positive int, got 0"):
        URN(0, 2, 1, 1)
    with pytest.raises(ValueError, match=r"iterations must be a positive int, got 1.5"):
        URN(5, 1.5, 1, 1)
    with pytest.raises(
        ValueError, match=r"d_in \+ d_out must be at most S .* d_in=3, d_out=3, S=5"
    ):
        URN(5, 2, 3, 3)
    with pytest.raises(
        ValueError, match=r"unknown residual 'both'; expected None, 'output' or 'input'"
    ):
        URN(5, 2, 1, 1, residual="both")
    with pytest.raises(ValueError, match=r"geometry places 12 neurons, but the URN has S=5"):
        URN(5, 2, 1, 1, geometry=grid(2, 2, 3, 1))
    with pytest.raises(TypeError, match=r"geometry must be a graphnets.urn.Geometry"):
        URN(5, 2, 1, 1, geometry="grid")
    with pytest.raises(ValueError, match=r"unknown activation"):
        URN(5, 2, 1, 1, activation="nope")


def test_urn_call_errors():
    urn = _urn()
    with pytest.raises(ValueError, match=r"expected x of shape \[B, 3\] .* got \[4, 2\]"):
        urn(torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"expected x of dtype torch.float64"):
        urn(torch.zeros(4, 3))
    with pytest.raises(TypeError, match=r"expected x to be a torch.Tensor"):
        urn([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"expected weight of shape \[144\]"):
        urn.activities(_x(urn), weight=torch.zeros(3))
    with pytest.raises(ValueError, match=r"c_N needs the neuron values of a forward"):
        _urn().penalty(c_N=1.0)
    with pytest.raises(ValueError, match=r"c_W must be a finite number >= 0, got -1"):
        urn.penalty(c_W=-1)
    with pytest.raises(ValueError, match=r"c_syn must be a finite number >= 0, got nan"):
        urn.penalty(c_syn=float("nan"))
    with pytest.raises(ValueError, match=r"this URN has no geometry"):
        urn.penalty(c_syn=1.0)
    with pytest.raises(ValueError, match=r"gamma must be a finite number > 0, got 0.0"):
        _urn(S=12, d_in=4, geometry=grid(2, 2, 3, 2)).synapse_lengths(0)
    with pytest.raises(ValueError, match=r"step must be a step size >= 0 .* got -0.1"):
        urn.proximal_step(-0.1, c_W=1.0)
    other = torch.optim.SGD(graphnets.mlp([2, 2]).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"the optimizer does not optimise urn.net.weight"):
        urn.proximal_step(other, c_W=1.0)


def test_docs_urn_examples_run():
    # the page's example is a doctest: it runs and prints what the page shows
    import doctest
    from pathlib import Path

    page = Path(__file__).parents[2] / "docs" / "urn.md"
    result = doctest.testfile(str(page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
