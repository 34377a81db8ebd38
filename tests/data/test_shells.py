"""``shells``: two balanced, uniformly filled concentric shells; the radius law checked against
its CDF, the directions against the sphere's symmetry; seeds; errors."""

import math

import pytest
import torch

from graphnets.data import shells


def test_shells_shapes_balance_and_radii():
    x, y, x_test, y_test = shells(1001, dim=7, radii=((0.5, 1.0), (1.5, 3.0)), test_size=0.2)
    assert x.shape == (801, 7) and x_test.shape == (200, 7) and x.dtype == torch.float32
    assert int((y == 0).sum()) == 401 and int((y == 1).sum()) == 400
    assert int(y_test.sum()) == 100 and y.dtype == torch.int64
    r = torch.cat([x, x_test]).norm(dim=1)
    labels = torch.cat([y, y_test])
    assert float(r[labels == 0].min()) >= 0.5 - 1e-6 and float(r[labels == 0].max()) <= 1.0 + 1e-6
    assert float(r[labels == 1].min()) >= 1.5 - 1e-6 and float(r[labels == 1].max()) <= 3.0 + 1e-6


def test_shells_fill_the_shell_uniformly():
    # uniform in volume: u = (r^d - lo^d) / (hi^d - lo^d) is uniform on [0, 1]; directions are
    # uniform on the sphere, so every coordinate has mean 0 and variance r²/d
    d = 10
    x, y, _, _ = shells(20000, dim=d, test_size=2, seed=0, dtype=torch.float64)
    r = x.norm(dim=1)
    for k, (lo, hi) in enumerate(((1.0, 1.5), (2.0, 2.5))):
        u = ((r[y == k] ** d - lo**d) / (hi**d - lo**d)).sort().values
        ecdf = torch.arange(1, u.numel() + 1, dtype=torch.float64) / u.numel()
        gap = torch.maximum(ecdf - u, u - (ecdf - 1 / u.numel())).max()
        assert float(gap) < 1.95 / math.sqrt(u.numel())  # Kolmogorov-Smirnov at the 0.1% level
    unit = x / r[:, None]
    assert float(unit.mean(0).abs().max()) < 4 / math.sqrt(20000 * d)
    assert float((unit**2).mean(0).sub(1 / d).abs().max()) < 0.01


def test_shells_seeded():
    a = shells(100, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a, shells(100, seed=1), strict=True))
    assert not torch.equal(a[0], shells(100, seed=2)[0])


def test_shells_errors():
    with pytest.raises(ValueError, match=r"n must be at least 4"):
        shells(3)
    with pytest.raises(ValueError, match=r"dim must be a positive int, got 0"):
        shells(10, dim=0)
    with pytest.raises(ValueError, match=r"radii must be two \(low, high\) pairs"):
        shells(10, radii=(1.0, 2.0))
    with pytest.raises(
        ValueError, match=r"each shell needs radii 0 <= low <= high < inf, got \(2.0, 1.0\)"
    ):
        shells(10, radii=((2.0, 1.0), (3.0, 4.0)))
    with pytest.raises(ValueError, match=r"test_size 0.01 gives 0 test samples of n=10"):
        shells(10, test_size=0.01)
    with pytest.raises(ValueError, match=r"test_size must be a fraction in \(0, 1\) or a count"):
        shells(10, test_size=1.5)
    with pytest.raises(TypeError, match=r"dtype must be a floating torch.dtype"):
        shells(10, dtype=torch.int64)
