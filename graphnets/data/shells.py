"""Two concentric spherical shells: the toy task of ``004_…`` §2.

Class ``k`` is uniform in the shell ``r_k^lo <= ‖x‖ <= r_k^hi`` of ``R^dim``: a direction uniform
on the sphere (a normalised Gaussian) and a radius with density ``∝ r^{dim-1}`` on
``[r^lo, r^hi]`` (uniform in volume), so the classes differ only by the norm of ``x``: no single
input and no linear function of the inputs separates them, and every input coordinate plays the
same part (the data are symmetric under permutations of the inputs, ``004_…`` §3).

Not done here: no noise between the shells (they do not overlap unless asked to).
"""

from __future__ import annotations

import numbers

import torch

from .._util.checks import positive_int
from .._util.seeds import Seed, generator

__all__ = ["shells"]


def _check_radii(radii: object) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        pairs = [tuple(float(r) for r in pair) for pair in radii]  # type: ignore[attr-defined]
        if len(pairs) != 2 or any(len(p) != 2 for p in pairs):
            raise ValueError
        out = ((pairs[0][0], pairs[0][1]), (pairs[1][0], pairs[1][1]))
    except (TypeError, ValueError):
        raise ValueError(
            f"radii must be two (low, high) pairs, one per shell, got {radii!r}"
        ) from None
    for lo, hi in out:
        if not (0 <= lo <= hi < float("inf")):
            raise ValueError(
                f"each shell needs radii 0 <= low <= high < inf, got ({lo}, {hi}) in {radii!r}"
            )
    return out


def _sample(n: int, dim: int, lo: float, hi: float, gen, dtype) -> torch.Tensor:
    u = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    u = u / u.norm(dim=1, keepdim=True)
    # inverse CDF of the radius, density ∝ r^(dim-1) on [lo, hi]
    t = torch.rand(n, 1, generator=gen, dtype=torch.float64)
    r = (lo**dim + t * (hi**dim - lo**dim)) ** (1.0 / dim)
    return (u * r).to(dtype)


def shells(
    n: int,
    dim: int = 10,
    *,
    radii: tuple = ((1.0, 1.5), (2.0, 2.5)),
    test_size: float | int = 0.2,
    seed: Seed = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Samples of two concentric, uniformly filled spherical shells, split into train and test.

    Both parts are balanced (class 0 gets the odd sample) and shuffled; the test part is
    drawn after the training part, from the same generator.

    Args:
        n (int): samples in all, at least 4 (two per class and part).
        dim (int): dimension of ``x`` (default: ``10``, the paper's).
        radii (pair of pairs): ``((lo_0, hi_0), (lo_1, hi_1))``, the radii of the shell of
            class 0 and of class 1 (default: ``((1.0, 1.5), (2.0, 2.5))``).
        test_size (float or int): fraction in ``(0, 1)`` or number of test samples
            (default: ``0.2``: 4,000 of ``n = 5000`` train, as in the paper).
        seed (int or torch.Generator, optional): the draw (default: ``0``).
        dtype (torch.dtype): floating dtype of ``x`` (default: ``torch.float32``).

    Shapes:
        - **x_train:** ``[n_train, dim]``, **y_train:** ``[n_train]`` (``int64``, 0 or 1)
        - **x_test:** ``[n_test, dim]``, **y_test:** ``[n_test]``

    Returns:
        tuple: ``(x_train, y_train, x_test, y_test)``.

    Raises:
        ValueError: for ``n < 4``, ``dim < 1``, a ``test_size`` that leaves a part with fewer
            than two samples, or radii that are not two ordered, non-negative pairs.
        TypeError: for a ``dtype`` that is not floating.

    Example:
        >>> x, y, x_test, y_test = shells(100, dim=10, seed=0)
        >>> x.shape, x_test.shape, int(y.sum())
        (torch.Size([80, 10]), torch.Size([20, 10]), 40)
        >>> r = x.norm(dim=1)
        >>> bool((r[y == 0] <= 1.5).all() and (r[y == 1] >= 2.0).all())
        True
    """
    n = positive_int(n, "n")
    if n < 4:
        raise ValueError(f"n must be at least 4 (two samples per class in each part), got {n}")
    dim = positive_int(dim, "dim")
    (lo0, hi0), (lo1, hi1) = _check_radii(radii)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype such as torch.float32, got {dtype!r}"
        )
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif 0 < float(test_size) < 1:
        n_test = int(round(float(test_size) * n))
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    if not 2 <= n_test <= n - 2:
        raise ValueError(
            f"test_size {test_size!r} gives {n_test} test samples of n={n}; both parts need at "
            "least 2 (one per class)"
        )
    gen = generator(seed)

    def part(m: int) -> tuple[torch.Tensor, torch.Tensor]:
        m1 = m // 2
        m0 = m - m1
        x = torch.cat(
            [_sample(m0, dim, lo0, hi0, gen, dtype), _sample(m1, dim, lo1, hi1, gen, dtype)]
        )
        y = torch.cat([torch.zeros(m0, dtype=torch.long), torch.ones(m1, dtype=torch.long)])
        perm = torch.randperm(m, generator=gen)
        return x[perm], y[perm]

    x_train, y_train = part(n - n_test)
    x_test, y_test = part(n_test)
    return x_train, y_train, x_test, y_test
