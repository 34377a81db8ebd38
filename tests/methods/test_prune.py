"""Pruning: scores against independent computations, selections' per-class counts, schedules'
step sizes, real removal of edges and nodes, optimizer state, and every error message."""

import math

import networkx as nx
import pytest
import torch
import torch.nn.functional as F

import graphnets
from graphnets import prune
from graphnets.reference import evaluate


class _Ref(torch.nn.Module):
    """The reference evaluator as a module, so torch.func can swap its weights (double backward)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return evaluate(self.net, x)


def _data(net, n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, len(net.inputs), generator=g, dtype=net.weight.dtype)
    y = torch.randint(0, len(net.outputs), (n,), generator=g)
    return x, y


def _skip_net(activation="relu"):
    # a graph with a skip connection (input -> output) and hidden nodes on two levels
    G = nx.DiGraph(
        [
            ("x0", "h0"),
            ("x1", "h0"),
            ("x1", "h1"),
            ("h0", "h1"),
            ("h0", "y0"),
            ("h1", "y0"),
            ("h1", "y1"),
            ("x0", "y1"),
            ("h0", "y1"),
        ]
    )
    for v in ("h0", "h1"):
        G.nodes[v]["activation"] = activation
    return graphnets.from_networkx(G, ["x0", "x1"], ["y0", "y1"], seed=3).double()


# -- scores -----------------------------------------------------------------------------------
def test_prune_magnitude_is_abs_weight():
    net = graphnets.mlp([4, 5, 3], seed=0)
    assert torch.equal(prune.magnitude(net), net.weight.detach().abs())


def test_prune_random_scores_seeded():
    net = graphnets.mlp([4, 5, 3], seed=0)
    a, b = prune.random_scores(net, seed=1), prune.random_scores(net, seed=1)
    assert torch.equal(a, b) and a.shape == (net.num_edges,)
    assert not torch.equal(a, prune.random_scores(net, seed=2))
    assert bool(((a >= 0) & (a < 1)).all())


@pytest.mark.parametrize("make", [lambda: graphnets.mlp([4, 5, 3], seed=0).double(), _skip_net])
def test_prune_taylor_against_reference_autograd(make):
    net = make()
    x, y = _data(net)
    w = net.weight
    (g,) = torch.autograd.grad(F.cross_entropy(evaluate(net, x), y), [w])
    assert torch.allclose(prune.taylor(net, x, y), -w.detach() * g, atol=1e-12)
    assert net.weight.grad is None


def _brute_hessian_diag(net, x, y):
    ref = _Ref(net)

    def loss(w):
        out = torch.func.functional_call(
            ref, {"net.weight": w, "net.bias": net.bias.detach()}, (x,)
        )
        return F.cross_entropy(out, y)

    return torch.autograd.functional.hessian(loss, net.weight.detach().clone()).diagonal()


def _brute_gauss_newton_diag(net, x, y):
    ref = _Ref(net)
    G = torch.zeros(net.num_edges, dtype=torch.float64)
    for n in range(x.shape[0]):

        def out(w, n=n):
            return torch.func.functional_call(
                ref, {"net.weight": w, "net.bias": net.bias.detach()}, (x[n : n + 1],)
            )[0]

        J = torch.autograd.functional.jacobian(out, net.weight.detach().clone())  # [C, E]
        p = torch.softmax(out(net.weight.detach()), 0)
        H = torch.diag(p) - torch.outer(p, p)
        G += torch.einsum("ce,cd,de->e", J, H, J)
    return G / x.shape[0]


@pytest.mark.parametrize("make", [lambda: graphnets.mlp([3, 4, 3, 2], seed=0).double(), _skip_net])
def test_prune_hessian_diagonal_equals_true_hessian_for_relu(make):
    # ReLU nets with linear outputs are piecewise linear in each single weight: there the
    # Gauss-Newton diagonal is the exact Hessian diagonal
    net = make()
    x, y = _data(net)
    exact = _brute_hessian_diag(net, x, y)
    assert torch.allclose(prune.hessian_diagonal(net, x, y, batch_size=5), exact, atol=1e-12)
    assert torch.allclose(prune.obd(net, x, y), 0.5 * net.weight.detach() ** 2 * exact, atol=1e-12)


def test_prune_hessian_diagonal_tanh_is_gauss_newton():
    net = _skip_net("tanh")
    x, y = _data(net)
    assert torch.allclose(
        prune.hessian_diagonal(net, x, y), _brute_gauss_newton_diag(net, x, y), atol=1e-12
    )


def test_prune_hessian_diagonal_mse_loss():
    # a 2-2 linear net with MSE: H = (2/(B C)) Σ_n x_j² exactly, per edge j -> k
    net = graphnets.mlp([2, 2], seed=0).double()
    x = torch.randn(7, 2, dtype=torch.float64)
    t = torch.randn(7, 2, dtype=torch.float64)
    h = prune.hessian_diagonal(net, x, t, loss=F.mse_loss)
    src = net.edge_index[0]
    assert torch.allclose(h, (2 / (7 * 2)) * (x**2).sum(0)[src], atol=1e-12)


def test_prune_node_scores_sum_in_and_out():
    net = _skip_net()
    s = torch.arange(net.num_edges, dtype=torch.float64)
    expect = torch.zeros(net.num_nodes, dtype=torch.float64)
    for e, (u, v) in enumerate(net.edge_index.T.tolist()):
        expect[u] += s[e]
        expect[v] += s[e]
    assert torch.equal(prune.node_scores(net, s), expect)


def test_prune_edge_groups_are_destination_levels():
    net = graphnets.mlp([3, 4, 2], seed=0)
    assert prune.edge_groups(net).tolist() == [1] * 12 + [2] * 8


# -- amount -----------------------------------------------------------------------------------
def test_prune_check_amount():
    assert prune.check_amount(0, 10) == 0 and prune.check_amount(10, 10) == 10
    assert prune.check_amount(0.0, 10) == 0 and prune.check_amount(1.0, 10) == 10
    assert prune.check_amount(0.34, 10) == 3


@pytest.mark.parametrize(
    "amount, err, match",
    [
        (11, ValueError, r"amount must be a count in \[0, 10\], got 11"),
        (-1, ValueError, r"amount must be a count in \[0, 10\], got -1"),
        (1.5, ValueError, r"amount must be a fraction in \[0, 1\], got 1.5"),
        (-0.1, ValueError, r"amount must be a fraction in \[0, 1\], got -0.1"),
        (math.nan, ValueError, r"amount must be a fraction in \[0, 1\], got nan"),
        (True, TypeError, r"amount must be an int \(how many\) or a float .*got bool True"),
        ("5", TypeError, r"got str '5'"),
    ],
)
def test_prune_check_amount_errors(amount, err, match):
    with pytest.raises(err, match=match):
        prune.check_amount(amount, 10)


# -- selection --------------------------------------------------------------------------------
def test_prune_select_blinded_global_smallest():
    s = torch.tensor([5.0, 0.1, 3.0, 0.2, 4.0, 0.3])
    mask = prune.select_blinded(s, 3)
    assert mask.tolist() == [False, True, False, True, False, True]
    assert prune.select_blinded(s, 0.5).sum() == 3


def test_prune_select_uniform_same_fraction_per_class():
    g = torch.Generator().manual_seed(0)
    groups = torch.tensor([0] * 40 + [1] * 100 + [2] * 60)
    s = torch.rand(200, generator=g) + groups  # class 0 holds all the small scores
    mask = prune.select_uniform(s, 0.3, groups)
    assert [int(mask[groups == c].sum()) for c in range(3)] == [12, 30, 18]
    for c in range(3):  # within a class, the smallest
        sc, mc = s[groups == c], mask[groups == c]
        assert sc[mc].max() < sc[~mc].min()


def test_prune_select_uniform_largest_remainder():
    groups = torch.tensor([0] * 3 + [1] * 3 + [2] * 4)
    mask = prune.select_uniform(torch.arange(10.0), 5, groups)  # quotas 1.5, 1.5, 2.0
    assert int(mask.sum()) == 5
    assert [int(mask[groups == c].sum()) for c in range(3)] == [2, 1, 2]


def test_prune_select_distributed_threshold_lambda_sigma():
    g = torch.Generator().manual_seed(0)
    groups = torch.tensor([0] * 50 + [1] * 80 + [2] * 70)
    scale = torch.tensor([0.1, 1.0, 3.0])[groups]
    w = torch.randn(200, generator=g) * scale
    mask = prune.select_distributed(w.abs(), 60, groups, w)
    assert int(mask.sum()) == 60
    sigma = torch.stack([w[groups == c].abs().std(unbiased=False) for c in range(3)])[groups]
    ratio = w.abs() / sigma
    # one λ for all classes: every pruned |w|/σ_c is below every kept one
    assert ratio[mask].max() <= ratio[~mask].min()


def test_prune_select_distributed_scale_invariant_vs_blinded():
    base = torch.linspace(0.1, 1.0, 10)
    w = torch.cat([base, 100 * base])
    groups = torch.tensor([0] * 10 + [1] * 10)
    dist = prune.select_distributed(w, 6, groups, w)
    assert [int(dist[groups == c].sum()) for c in range(2)] == [3, 3]
    blind = prune.select_blinded(w, 6)
    assert [int(blind[groups == c].sum()) for c in range(2)] == [6, 0]


def test_prune_select_distributed_zero_sigma_class_last():
    w = torch.tensor([1.0, 1.0, 1.0, 0.5, 2.0, 3.0])
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    assert prune.select_distributed(w, 3, groups, w).tolist() == [False] * 3 + [True] * 3


def test_prune_selection_errors():
    s = torch.rand(4)
    with pytest.raises(TypeError, match="expected scores to be a torch.Tensor, got list"):
        prune.select_blinded([1.0, 2.0], 1)
    with pytest.raises(
        ValueError, match=r"expected 4 group ids \(one per element\), got shape \[3\]"
    ):
        prune.select_uniform(s, 1, torch.tensor([0, 1, 1]))
    with pytest.raises(TypeError, match="groups must be an integer tensor .*got torch.float32"):
        prune.select_uniform(s, 1, torch.zeros(4))
    with pytest.raises(ValueError, match=r"scores contain NaN \(at element 2\)"):
        prune.select_blinded(torch.tensor([0.0, 1.0, math.nan, 2.0]), 1)
    with pytest.raises(ValueError, match=r"expected 4 scores \(one per element\), got shape \[3\]"):
        prune.select_distributed(s, 1, torch.zeros(4, dtype=torch.long), torch.rand(3))


# -- schedules --------------------------------------------------------------------------------
def test_prune_step_really_removes_smallest_edges():
    net = graphnets.mlp([4, 8, 3], seed=0)
    w = net.weight.detach().clone()
    keep = torch.sort(w.abs(), stable=True).indices[14:]
    kept_edges = [net.edges()[i] for i in sorted(keep.tolist())]
    assert prune.prune_step(net, 14) == 14
    assert net.num_edges == 42 and net.edges() == kept_edges
    x = torch.randn(5, 4)
    assert torch.allclose(net(x), evaluate(net, x), atol=1e-6)


def test_prune_one_shot_uniform_per_level():
    net = graphnets.mlp([10, 10, 10], seed=0)
    rec = prune.one_shot(net, 0.3, select="uniform")
    assert rec == [{"step": 1, "removed": 60, "edges": 140, "compression": pytest.approx(0.3)}]
    assert torch.bincount(prune.edge_groups(net)).tolist() == [0, 70, 70]


def test_prune_fixed_size_steps_and_retrain():
    net = graphnets.mlp([10, 10, 10], seed=0)
    calls = []
    rec = prune.fixed_size(net, 0.19, 5, retrain=lambda n, step: calls.append(step) or n.num_edges)
    assert [r["removed"] for r in rec] == [38] * 5
    assert [r["edges"] for r in rec] == [162, 124, 86, 48, 10]
    assert rec[-1]["compression"] == pytest.approx(0.95)
    assert calls == [1, 2, 3, 4, 5] and [r["retrain"] for r in rec] == [162, 124, 86, 48, 10]


def test_prune_relative_fraction_of_remaining():
    net = graphnets.mlp([10, 10, 10], seed=0)
    rec = prune.relative(net, 0.5, 4, select="distributed")
    assert [r["removed"] for r in rec] == [100, 50, 25, 12]
    assert [r["edges"] for r in rec] == [100, 50, 25, 13] and net.num_edges == 13


def test_prune_bucket_capacity():
    net = graphnets.mlp([3, 4, 2], seed=0)
    mags = []

    def score(n):
        mags.append(n.num_edges)
        return prune.magnitude(n)

    w = torch.sort(net.weight.detach().abs()).values
    cap = float(w[:5].sum()) + 1e-6
    rec = prune.bucket(net, cap, 1, score=score)
    assert rec[0]["removed"] == 5 and net.num_edges == 15
    assert mags == [20]  # the scores of one step are computed once


def test_prune_callable_scores_recomputed_each_step():
    net = graphnets.mlp([6, 6, 3], seed=0)
    seen = []
    prune.fixed_size(net, 5, 3, score=lambda n: seen.append(n.num_edges) or prune.magnitude(n))
    assert seen == [54, 49, 44]


def test_prune_taylor_and_obd_in_a_schedule():
    net = graphnets.mlp([4, 6, 3], seed=0)
    x, y = _data(net, 20)
    rec = prune.relative(net, 0.25, 2, score=lambda n: prune.obd(n, x, y))
    assert [r["edges"] for r in rec] == [32, 24]
    rec = prune.one_shot(net, 4, score=lambda n: prune.taylor(n, x, y), select="uniform")
    assert net.num_edges == 20


def test_prune_nodes_by_node_score():
    net = graphnets.mlp([4, 6, 3], seed=0)
    ns = prune.node_scores(net, prune.magnitude(net))
    hidden = [i for i, lab in enumerate(net.labels) if lab[0] == 1]
    weakest = sorted(hidden, key=lambda i: float(ns[i]))[:2]
    gone = {net.labels[i] for i in weakest}
    rec = prune.one_shot(net, 2, unit="nodes")
    assert rec == [{"step": 1, "removed": 2, "nodes": 4, "compression": pytest.approx(1 / 3)}]
    assert net.num_nodes == 11 and net.num_edges == 4 * 4 + 4 * 3
    assert not gone & set(net.labels)


def test_prune_optimizer_state_carried():
    torch.manual_seed(0)
    net = graphnets.mlp([4, 6, 3], seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = _data(net, 16)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    before = {k: v.clone() for k, v in opt.state[net.weight].items() if v.dim() == 1}
    keep = ~prune.select_blinded(prune.magnitude(net), 10)
    prune.one_shot(net, 10, optimizer=opt)
    for key, value in before.items():
        assert torch.equal(opt.state[net.weight][key], value[keep])
    opt.zero_grad()
    F.cross_entropy(net(x), y).backward()
    opt.step()  # still a working optimizer


def test_prune_schedule_errors():
    net = graphnets.mlp([4, 6, 3], seed=0)
    with pytest.raises(TypeError, match="expected a graphnets.GraphNet, got Linear"):
        prune.one_shot(torch.nn.Linear(2, 2), 1)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        prune.fixed_size(net, 1, 0)
    with pytest.raises(ValueError, match=r"5 steps of 10 would remove 50 of 42 edges"):
        prune.fixed_size(net, 10, 5)
    with pytest.raises(ValueError, match=r"amount must be a count in \[0, 42\], got 43"):
        prune.one_shot(net, 43)
    with pytest.raises(TypeError, match=r"fraction must be a float .*got int 2"):
        prune.relative(net, 2, 3)
    with pytest.raises(ValueError, match=r"fraction must be a fraction in \[0, 1\], got 1.5"):
        prune.relative(net, 1.5, 3)
    with pytest.raises(ValueError, match="capacity must be a non-negative finite number, got -1"):
        prune.bucket(net, -1, 2)
    with pytest.raises(ValueError, match="bucket pruning needs non-negative scores, got -1.0"):
        prune.bucket(net, 1.0, 1, score=-torch.ones(42))
    with pytest.raises(
        ValueError,
        match="select must be one of blinded, uniform, distributed or a callable, got 'global'",
    ):
        prune.one_shot(net, 1, select="global")
    with pytest.raises(ValueError, match="unit must be one of edges, nodes, got 'neurons'"):
        prune.one_shot(net, 1, unit="neurons")
    with pytest.raises(TypeError, match="retrain must be a callable retrain.*got int"):
        prune.one_shot(net, 1, retrain=3)
    with pytest.raises(ValueError, match=r"expected 42 scores \(one per edge\), got shape \[3\]"):
        prune.one_shot(net, 1, score=torch.ones(3))
    with pytest.raises(
        ValueError, match="a select callable must return a boolean mask of 42 entries with 2 True"
    ):
        prune.one_shot(net, 2, select=lambda s, k, g: torch.zeros(42, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"expected x \[B, features\] and y \[B\]"):
        prune.taylor(net, torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="expected x and y to be torch.Tensors, got list"):
        prune.obd(net, [[0.0] * 4], torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        prune.hessian_diagonal(
            net, torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), batch_size=0
        )
    assert net.num_edges == 42  # no failed call pruned anything


def test_prune_custom_select_and_groups():
    net = graphnets.mlp([4, 6, 3], seed=0)
    # one class per destination node, uniform: every hidden/output node loses the same share
    groups = lambda n: n.edge_index[1].clone()  # noqa: E731
    prune.one_shot(net, 0.5, select="uniform", groups=groups)
    assert torch.bincount(net.edge_index[1]).tolist()[4:] == [2] * 6 + [3] * 3
    prune.one_shot(net, 3, select=lambda s, k, g: torch.arange(s.numel()) < k)
    assert net.num_edges == 18


def _recurrent_net():
    ei = torch.tensor([[0, 1, 1], [1, 1, 2]])  # 1 -> 1 is delayed
    return graphnets.from_edges(ei, 3, [0], [2], delay=[0, 1, 0], seed=0)


@pytest.mark.parametrize("score", [prune.obd, prune.hessian_diagonal])
def test_prune_second_order_scores_refuse_recurrent_nets(score):
    # OBD on a recurrent net used to return scores (of the net without its delayed edges).
    net = _recurrent_net()
    x, y = torch.randn(4, 1), torch.zeros(4, dtype=torch.long)
    with pytest.raises(
        ValueError,
        match=r"cannot trace a recurrent net \(one with delayed edges\): its values depend on "
        r"the time step; unroll it first \(graphnets\.unroll\(net, steps\)\)",
    ):
        score(net, x, y)
