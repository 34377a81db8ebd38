r"""Sparse layered nets: an MLP with a given fraction of its edges, drawn at random per level.

The starting point of sparse training (SET, RigL, the thesis's rewiring: :mod:`graphnets.rewire`).
How the edge budget is spread over the weight matrices (level pairs ``l-1 → l`` of sizes
``n_{l-1} × n_l``) is the *distribution*:

``"uniform"``
    every level pair has the same density ``d``.
``"erdos_renyi"``
    the Erdős–Rényi rule of SET (Mocanu et al. 2018): level ``l`` has density
    :math:`p_l = \varepsilon\,(n_{l-1} + n_l) / (n_{l-1} n_l)`, one :math:`\varepsilon` for
    all levels, chosen so that the whole net has density ``d``. Small matrices are denser. A
    level that would need :math:`p_l > 1` is an error (use ``"erk"``).
``"erk"``
    RigL's Erdős–Rényi(-Kernel) rule (Evci et al. 2020, ``sparse_utils.get_sparsities``): the
    same ratios, but every level that would exceed density 1 is made dense and
    :math:`\varepsilon` is solved again over the others, until none exceeds 1. A graph net has
    no convolution kernels, so the kernel term of ERK is absent and where no level is capped
    ``"erk"`` gives the densities of ``"erdos_renyi"``.

Every level pair gets exactly ``round(p_l · n_{l-1} · n_l)`` edges (at least one), drawn
uniformly without repetition: the budget is exact, not a Bernoulli draw per weight. A level of
more than ``LARGE_LEVEL`` pairs draws them without permuting all its pairs, so a
10M-edge net of 20,000-wide levels builds in seconds in under a gigabyte. Weights
are fan-in initialised for the sparse in-degrees (:func:`graphnets.core.init.fan_in_init`).

Not done here: convolutional levels, the dense first layer some RigL runs keep.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch

from .._util.checks import choice
from .._util.seeds import Seed, generator, spawn
from ..core.activations import parse_activation
from ..core.structure import Structure
from ..nn.graphnet import GraphNet

__all__ = ["DISTRIBUTIONS", "level_densities", "sparse_mlp"]

#: How :func:`sparse_mlp` spreads its edges over the levels (see the module docstring).
DISTRIBUTIONS = ("uniform", "erdos_renyi", "erk")


#: Above this many pairs in a level, its edges are drawn without permuting all the pairs.
LARGE_LEVEL = 2**24


def _distinct(n: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """``k`` distinct ints of ``0..n-1``, uniformly at random, sorted.

    Up to :data:`LARGE_LEVEL` pairs, the first ``k`` of a random permutation. Above it (and for
    ``k ≤ n / 4``) a permutation of all ``n`` would cost ``8n`` bytes (3.2 GB for two levels of
    20,000) and seconds of sorting: draw ints with replacement, keep the distinct ones, top up
    until there are ``k``, then keep a random ``k`` of them. Every ``k``-subset is equally
    likely (the distinct values of uniform draws are, given their number, a uniform subset).
    """
    if n <= LARGE_LEVEL or 4 * k > n:
        return torch.randperm(n, generator=gen)[:k].sort().values
    got = np.empty(0, dtype=np.int64)
    while got.size < k:
        draw = torch.randint(n, (k - got.size + k // 64 + 16,), generator=gen).numpy()
        merged = np.sort(np.concatenate([got, draw]))  # numpy's sort: ~10x torch's here
        got = merged[np.concatenate([[True], merged[1:] != merged[:-1]])]
    if got.size > k:
        got = np.sort(got[torch.randperm(got.size, generator=gen)[:k].numpy()])
    return torch.from_numpy(got)


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    sizes = list(sizes)
    if len(sizes) < 2 or not all(
        isinstance(k, numbers.Integral) and not isinstance(k, bool) and k > 0 for k in sizes
    ):
        raise ValueError(
            f"sizes must list at least two positive ints (inputs, ..., outputs), got {sizes!r}"
        )
    return [int(k) for k in sizes]


def _check_density(density: object, name: str = "density") -> float:
    if isinstance(density, bool) or not isinstance(density, numbers.Real):
        raise TypeError(f"{name} must be a float in (0, 1], got {density!r}")
    if not 0.0 < float(density) <= 1.0:
        raise ValueError(f"{name} must be a fraction in (0, 1], got {density!r}")
    return float(density)


def level_densities(sizes: Sequence[int], density: float, distribution: str = "erk") -> list[float]:
    """The density of every weight matrix of a sparse MLP of total density ``density``.

    Args:
        sizes (list of int): layer sizes, inputs first.
        density (float): the fraction of the dense net's edges kept, in ``(0, 1]``.
        distribution (str): ``"uniform"``, ``"erdos_renyi"`` or ``"erk"`` (see the module
            docstring) (default: ``"erk"``).

    Returns:
        list of float: one density per level pair ``l-1 → l``, each in ``(0, 1]``; their
        edge counts add up to ``density`` times the dense count (up to rounding).

    Raises:
        ValueError: for bad sizes, a density outside ``(0, 1]``, an unknown distribution, or
            ``"erdos_renyi"`` where a level would need a density above 1.

    Example:
        >>> [round(p, 4) for p in level_densities([784, 1000, 1000, 1000, 10], 0.03)]
        [0.029, 0.0255, 0.0255, 1.0]
        >>> level_densities([10, 10, 10], 0.5, "uniform")
        [0.5, 0.5]
    """
    sizes = _check_sizes(sizes)
    density = _check_density(density)
    choice(distribution, DISTRIBUTIONS, "distribution")
    n_in, n_out = np.asarray(sizes[:-1], float), np.asarray(sizes[1:], float)
    params = n_in * n_out
    if distribution == "uniform":
        return [density] * params.size
    raw = (n_in + n_out) / params
    dense = np.zeros(params.size, dtype=bool)
    while True:
        # the edges left for the sparse levels, spread in proportion to raw * params
        ones = density * params.sum() - params[dense].sum()
        eps = ones / float((raw * params)[~dense].sum())
        p = np.where(dense, 1.0, eps * raw)
        over = ~dense & (p > 1.0 + 1e-12)
        if not over.any():
            return p.tolist()
        if distribution == "erdos_renyi":
            level = int(np.flatnonzero(over)[0]) + 1
            raise ValueError(
                f"distribution 'erdos_renyi' at density {density} needs density {p[over][0]:.3g} "
                f"> 1 for level {level} ({sizes[level - 1]} x {sizes[level]}); use "
                "distribution='erk', which makes such levels dense, or a lower density"
            )
        # RigL: the levels of the largest raw ratio become dense, and eps is solved again
        dense |= ~dense & (raw == raw[~dense].max())


def sparse_mlp(
    sizes: Sequence[int],
    density: float | Sequence[float],
    *,
    distribution: str = "erk",
    activation: str = "relu",
    output_activation: str | None = None,
    seed: Seed = None,
    kernel: str = "auto",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    history: int | None = None,
) -> GraphNet:
    """A layered net with ``sizes`` whose level pairs keep a random fraction of their edges.

    Nodes are labelled ``(layer, unit)`` as in :func:`graphnets.mlp`; edges run level by level,
    destination-major, so each level's weights are contiguous.

    Args:
        sizes (list of int): layer sizes, inputs first, at least two.
        density (float or list of float): the total density in ``(0, 1]``, spread over the
            levels by ``distribution``; or one density per level pair.
        distribution (str): ``"uniform"``, ``"erdos_renyi"`` or ``"erk"`` (default: ``"erk"``).
        activation (str): of the hidden nodes (default: ``"relu"``).
        output_activation (str, optional): of the outputs (default: ``None``, linear).
        seed (int or torch.Generator, optional): the edges and the weights (independent
            streams).
        kernel (str): see :meth:`GraphNet.compile` (default: ``"auto"``).
        dtype, device: of the parameters (default: torch's default dtype, CPU).
        history (int, optional): keep the records of the last ``history`` edits only (a long
            rewiring run edits the net twice per round) (default: ``None``, all).

    Returns:
        GraphNet: with ``round(p_l · n_{l-1} · n_l)`` (at least 1) edges in level pair ``l``.

    Raises:
        ValueError: for bad sizes or densities (see :func:`level_densities`), or a list of
            densities of the wrong length.
        TypeError: for a density that is not a number.

    Example:
        >>> net = sparse_mlp([784, 300, 100, 10], 0.1, distribution="uniform", seed=0)
        >>> net.num_edges, net.edges()[0]
        (26620, ((0, 4), (1, 0)))
    """
    sizes = _check_sizes(sizes)
    if isinstance(density, Sequence) and not isinstance(density, (str, bytes)):
        if len(density) != len(sizes) - 1:
            raise ValueError(
                f"expected one density per level pair ({len(sizes) - 1}), got {len(density)}"
            )
        p = [_check_density(d, f"density[{i}]") for i, d in enumerate(density)]
    else:
        p = level_densities(sizes, density, distribution)  # type: ignore[arg-type]
    hidden = parse_activation(activation).spec
    out = parse_activation(output_activation).spec
    s_graph, s_weights = spawn(seed, 2)
    gen = generator(s_graph)
    offs = np.concatenate([[0], np.cumsum(sizes)])
    src, dst = [], []
    for ell, (n_s, n_d) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        k = max(1, int(round(p[ell] * n_s * n_d)))
        flat = _distinct(n_s * n_d, k, gen).numpy()
        # flat = dst * n_s + src: sorted, the edges come destination-major
        src.append(offs[ell] + flat % n_s)
        dst.append(offs[ell + 1] + flat // n_s)
    edge_index = torch.from_numpy(np.stack([np.concatenate(src), np.concatenate(dst)]))
    labels = [(ell, u) for ell, k in enumerate(sizes) for u in range(k)]
    acts = ["identity"] * sizes[0] + [hidden] * int(sum(sizes[1:-1])) + [out] * sizes[-1]
    structure = Structure(
        edge_index,
        labels,
        list(range(sizes[0])),
        list(range(int(offs[-2]), int(offs[-1]))),
        acts,
    )
    return GraphNet(
        structure,
        seed=s_weights,
        kernel=kernel,
        dtype=dtype,
        device=device,
        history=history,
    )
