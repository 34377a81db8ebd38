"""Sparse MLPs: level densities of every distribution against their definitions, exact edge
counts, layout, seeds, and every error message."""

import math

import numpy as np
import pytest
import torch

import graphnets
from graphnets.builders.sparse import level_densities, sparse_mlp

SIZES = [784, 1000, 1000, 1000, 10]


def _total(sizes, p):
    params = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return sum(q * n for q, n in zip(p, params, strict=True)) / sum(params)


def test_level_densities_uniform():
    assert level_densities(SIZES, 0.03, "uniform") == [0.03] * 4


def test_level_densities_erdos_renyi_is_sets_rule():
    sizes = [64, 100, 50, 10]
    p = level_densities(sizes, 0.05, "erdos_renyi")
    ratio = [(a + b) / (a * b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    eps = p[0] / ratio[0]
    assert p == pytest.approx([eps * r for r in ratio], rel=1e-12)
    assert _total(sizes, p) == pytest.approx(0.05, rel=1e-12)


def test_level_densities_erk_makes_levels_dense_and_keeps_the_total():
    p = level_densities(SIZES, 0.03, "erk")
    assert p[3] == 1.0  # 1000 x 10 would need 1.25
    ratio = [(a + b) / (a * b) for a, b in zip(SIZES[:-2], SIZES[1:-1], strict=True)]
    eps = p[0] / ratio[0]
    assert p[:3] == pytest.approx([eps * r for r in ratio], rel=1e-12)
    assert _total(SIZES, p) == pytest.approx(0.03, rel=1e-12)
    # where nothing is capped, ERK is Erdős–Rényi
    assert level_densities(SIZES, 0.003, "erk") == level_densities(SIZES, 0.003, "erdos_renyi")


def test_sparse_mlp_counts_layout_and_weights():
    net = sparse_mlp([20, 30, 5], 0.2, distribution="uniform", seed=1)
    assert net.num_edges == round(0.2 * 600) + round(0.2 * 150)
    src, dst = net.edge_index
    layer = torch.tensor([lab[0] for lab in net.labels])
    assert torch.equal(layer[dst] - layer[src], torch.ones(net.num_edges, dtype=torch.long))
    order = dst * net.num_nodes + src  # destination-major, as the schedule wants
    assert torch.equal(order, order.sort().values)
    assert torch.bincount(layer[dst]).tolist() == [0, 120, 30]
    fan_in = torch.bincount(dst, minlength=net.num_nodes).clamp(min=1)[dst]
    assert bool((net.weight.abs() <= math.sqrt(6.0) / fan_in.sqrt() + 1e-6).all())  # relu gain
    x = torch.randn(4, 20)
    torch.testing.assert_close(net(x), graphnets.reference.evaluate(net, x))


def test_sparse_mlp_erk_budget_and_seeds():
    p = level_densities(SIZES, 0.01, "erk")
    net = sparse_mlp(SIZES, 0.01, seed=0)
    want = [round(q * a * b) for q, a, b in zip(p, SIZES[:-1], SIZES[1:], strict=True)]
    assert net.num_edges == sum(want)
    assert abs(net.num_edges - 0.01 * 2_794_000) <= 4
    again, other = sparse_mlp(SIZES, 0.01, seed=0), sparse_mlp(SIZES, 0.01, seed=1)
    assert torch.equal(net.edge_index, again.edge_index) and torch.equal(net.weight, again.weight)
    assert not torch.equal(net.edge_index, other.edge_index)


def test_sparse_mlp_per_level_densities_and_options():
    net = sparse_mlp([4, 6, 2], [0.5, 1.0], seed=0, history=3, dtype=torch.float64)
    assert net.num_edges == 12 + 12 and net.weight.dtype == torch.float64
    assert net.history.maxlen == 3
    assert sparse_mlp([3, 2], 1e-9, seed=0).num_edges == 1  # never an empty level


def test_sparse_builders_errors():
    with pytest.raises(ValueError, match=r"sizes must list at least two positive ints"):
        sparse_mlp([5], 0.1)
    with pytest.raises(ValueError, match=r"density must be a fraction in \(0, 1\], got 0"):
        sparse_mlp([5, 3], 0)
    with pytest.raises(TypeError, match=r"density must be a float in \(0, 1\], got '0.1'"):
        sparse_mlp([5, 3], "0.1")
    with pytest.raises(ValueError, match=r"expected one density per level pair \(2\), got 1"):
        sparse_mlp([5, 3, 2], [0.5])
    with pytest.raises(ValueError, match=r"density\[1\] must be a fraction in \(0, 1\], got 2"):
        sparse_mlp([5, 3, 2], [0.5, 2])
    with pytest.raises(ValueError, match=r"unknown distribution 'normal'; expected one of"):
        level_densities([5, 3], 0.5, "normal")
    with pytest.raises(ValueError, match=r"needs density 1.25 > 1 for level 4 \(1000 x 10\)"):
        level_densities(SIZES, 0.03, "erdos_renyi")
    assert np.isfinite(level_densities(SIZES, 1.0, "erk")).all()


def test_large_levels_are_drawn_without_a_full_permutation(monkeypatch):
    # Above LARGE_LEVEL pairs the edges come from draws with replacement, deduplicated and
    # topped up: still exactly k distinct pairs, sorted, in range, and every pair as likely.
    from graphnets.builders import sparse

    monkeypatch.setattr(sparse, "LARGE_LEVEL", 0)
    gen = torch.Generator().manual_seed(0)
    n, k, trials = 40, 10, 4000
    counts = np.zeros(n)
    for _ in range(trials):
        got = sparse._distinct(n, k, gen)
        assert got.numel() == k and got.unique().numel() == k
        assert bool((got.diff() > 0).all()) and 0 <= int(got.min()) and int(got.max()) < n
        counts[got.numpy()] += 1
    # each pair is in a k/n share of the draws: a chi-square test at 39 degrees of freedom
    expected = trials * k / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 72.0, chi2  # the 0.999 quantile of chi-square(39) is about 72
    # and a whole net built that way has its exact budget per level, no pair twice
    net = sparse_mlp([300, 200, 100], 0.05, distribution="uniform", seed=0)
    src, dst = net.structure.edge_index
    assert net.num_edges == round(0.05 * 300 * 200) + round(0.05 * 200 * 100)
    assert torch.unique(src * 1000 + dst).numel() == net.num_edges
    # dense levels (k > n / 4) keep the permutation: the same net as without the switch
    monkeypatch.setattr(sparse, "LARGE_LEVEL", 2**24)
    a = sparse_mlp([30, 20, 10], 0.5, distribution="uniform", seed=1)
    monkeypatch.setattr(sparse, "LARGE_LEVEL", 0)
    b = sparse_mlp([30, 20, 10], 0.5, distribution="uniform", seed=1)
    assert torch.equal(a.structure.edge_index, b.structure.edge_index)
