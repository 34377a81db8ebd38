"""Randomness: one rule for ``seed=None | int | torch.Generator``, used by every function.

* ``None`` draws from torch's global generator, so ``torch.manual_seed(s)`` makes any unseeded
  call repeatable, as it does for ``torch.nn`` layers;
* an int ``>= 0`` (numpy integers included) is a fixed seed: the same seed gives the same graph,
  orientation and weights;
* a ``torch.Generator`` is used as it is (and advanced).

A function that needs several independent streams (a graph, its orientation, its weights) asks
:func:`spawn` for one integer seed per stream, so that each stream depends on the user's seed
alone and not on how much another stream consumed.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["Seed", "check_seed", "generator", "spawn", "numpy_rng"]

Seed = int | torch.Generator | None


def check_seed(seed: object, name: str = "seed") -> None:
    """``TypeError`` / ``ValueError`` unless ``seed`` is ``None``, an int ``>= 0`` or a
    ``torch.Generator``."""
    if seed is None or isinstance(seed, torch.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, an int or a torch.Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be an int >= 0, got {seed}")


def generator(seed: Seed) -> torch.Generator | None:
    """The ``torch.Generator`` of ``seed`` (``None``: torch's global generator).

    Example:
        >>> g = generator(0)
        >>> torch.equal(torch.rand(2, generator=g), torch.rand(2, generator=generator(0)))
        True
    """
    check_seed(seed)
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def spawn(seed: Seed, k: int) -> list[int]:
    """``k`` independent integer seeds derived from one user seed.

    An int goes through ``numpy.random.SeedSequence`` (well-separated streams); a generator
    and ``None`` (torch's global generator) draw ``k`` ints.

    Example:
        >>> spawn(0, 2) == spawn(0, 2)
        True
    """
    check_seed(seed)
    if seed is None or isinstance(seed, torch.Generator):
        return torch.randint(0, 2**31 - 1, (k,), generator=seed).tolist()
    return np.random.SeedSequence(int(seed)).generate_state(k).astype(np.int64).tolist()


def numpy_rng(seed: Seed | np.random.Generator) -> np.random.Generator:
    """A ``numpy.random.Generator`` for ``seed`` (one is passed through as it is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, torch.Generator):
        (seed,) = spawn(seed, 1)
    check_seed(seed)
    return np.random.default_rng(int(seed))
