"""The batch zero-cost proxies (snip, grad_norm, jacob_cov) against hand computations on an
``nn.Linear`` MLP built with the same weights, and their contract (copy, seed, errors)."""

import numpy as np
import pytest
import torch
from torch import nn

import graphnets
from graphnets.predict import grad_norm, jacob_cov, snip


def _net_and_twin(sizes, seed):
    """A layered GraphNet with random biases and the same net as nn.Linear layers (float64)."""
    net = graphnets.mlp(sizes, seed=seed)
    gen = torch.Generator().manual_seed(seed + 100)
    s = net.structure
    with torch.no_grad():
        bias = torch.randn(s.num_nodes, generator=gen) * 0.1
        bias[s.inputs] = 0
        net.bias.copy_(bias)
    layers = [nn.Linear(a, b).double() for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    w, b = net.weight.detach().double(), net.bias.detach().double()
    with torch.no_grad():
        for e, (u, v) in enumerate(s.edge_index.t().tolist()):
            (lu, iu), (lv, iv) = s.labels[u], s.labels[v]
            assert lv == lu + 1
            layers[lu].weight[iv, iu] = w[e]
        for node, (layer, unit) in enumerate(s.labels):
            if layer:
                layers[layer - 1].bias[unit] = b[node]
    mods: list[nn.Module] = []
    for i, layer in enumerate(layers):
        mods += [layer] + ([nn.ReLU()] if i < len(layers) - 1 else [])
    return net, nn.Sequential(*mods)


def _batch(inputs, classes, rows, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(rows, inputs, generator=gen)
    return x, torch.randint(0, classes, (rows,), generator=gen)


@pytest.mark.parametrize("sizes", [[5, 4, 3], [6, 5, 4, 3]])
def test_snip_and_grad_norm_match_mlp(sizes):
    net, mlp = _net_and_twin(sizes, seed=1)
    x, y = _batch(sizes[0], sizes[-1], 12, seed=2)
    loss = nn.functional.cross_entropy(mlp(x.double()), y)
    weights = [m.weight for m in mlp if isinstance(m, nn.Linear)]
    grads = torch.autograd.grad(loss, weights)
    pairs = zip(weights, grads, strict=True)
    expected_snip = sum(float((w * g).abs().sum().detach()) for w, g in pairs)
    expected_norm = float(torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)))
    assert expected_snip > 0 and expected_norm > 0
    assert snip(net, (x, y)) == pytest.approx(expected_snip, rel=1e-10)
    assert grad_norm(net, (x, y)) == pytest.approx(expected_norm, rel=1e-10)


def _hand_jacob_cov(mlp, x, k=1e-5):
    # per-sample Jacobian of the summed outputs, Pearson correlation written out, numpy eig
    rows = []
    for xi in x.double():
        j = torch.autograd.functional.jacobian(lambda v: mlp(v[None]).sum(), xi)
        rows.append(j.numpy())
    j = np.array(rows)
    c = j - j.mean(axis=1, keepdims=True)
    assert (np.abs(c).max(axis=1) > 0).all()  # every correlation defined
    cov = c @ c.T
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    v = np.linalg.eig(corr)[0].real
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


@pytest.mark.parametrize("sizes", [[5, 12, 3], [4, 16, 2]])
def test_jacob_cov_matches_hand_evaluation(sizes):
    net, mlp = _net_and_twin(sizes, seed=3)
    x, y = _batch(sizes[0], sizes[-1], 6, seed=4)
    expected = _hand_jacob_cov(mlp, x)
    assert np.isfinite(expected)
    assert jacob_cov(net, (x, y)) == pytest.approx(expected, rel=1e-8)


def test_jacob_cov_identical_jacobians_is_worst():
    # a linear net has the same Jacobian for every sample: all correlations 1, eigenvalues
    # B and 0 (B - 1 times): the score is -(log(B + k) + 1/(B + k)) - (B - 1)(log k + 1/k)
    net = graphnets.mlp([3, 2], seed=0)
    x, y = _batch(3, 2, 4, seed=0)
    k = 1e-5
    expected = -(np.log(4 + k) + 1 / (4 + k)) - 3 * (np.log(k) + 1 / k)
    assert jacob_cov(net, (x, y), k=k) == pytest.approx(expected, rel=1e-6)


def test_proxies_leave_net_alone_and_seed_reinitialises():
    net = graphnets.priors.watts_strogatz(6, 3, 12, 4, 0.3, seed=2)
    x, y = _batch(6, 3, 8, seed=5)
    w = net.weight.detach().clone()
    fresh = graphnets.priors.watts_strogatz(6, 3, 12, 4, 0.3, seed=2)
    fresh.reset_parameters(seed=7)
    for proxy in (snip, grad_norm, jacob_cov):
        own = proxy(net, (x, y))
        assert torch.equal(net.weight, w) and net.weight.dtype == torch.float32
        # seed: the score of the net re-initialised from it, whatever its weights
        assert proxy(net, (x, y), seed=7) == pytest.approx(proxy(fresh, (x, y)), rel=1e-12)
        assert proxy(net, (x, y), seed=7) != pytest.approx(own, rel=1e-6)


def test_proxy_errors():
    net = graphnets.mlp([3, 2], seed=0)
    x, y = _batch(3, 2, 4, seed=0)
    with pytest.raises(TypeError, match="expected a graphnets GraphNet, got Linear"):
        snip(nn.Linear(2, 2), (x, y))
    with pytest.raises(TypeError, match="batch must be a pair"):
        grad_norm(net, x)
    with pytest.raises(ValueError, match=r"batch x must be \[B, 3\]"):
        jacob_cov(net, (x[:, :2], y))
    with pytest.raises(ValueError, match=r"class indices in 0..1"):
        snip(net, (x, y + 1))
    with pytest.raises(ValueError, match="integer class indices"):
        snip(net, (x, y.float()))
