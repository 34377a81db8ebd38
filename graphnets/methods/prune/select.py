"""Selecting which ``k`` elements to prune from their scores: a boolean mask.

:func:`select_blinded` (the ``k`` smallest overall), :func:`select_uniform` (the same fraction
from every class) and :func:`select_distributed` (per class a threshold ``λ·σ_c`` with ``σ_c``
the standard deviation of ``|w|`` in the class, ``λ`` chosen so that ``k`` are pruned: See et
al. 2016, the definition ``002_…`` §2 paraphrases). A class is a level (the level of an edge's
destination, i.e. one weight matrix of an MLP: :func:`edge_groups`) unless told otherwise.
``amount`` is ``torch.nn.utils.prune``'s: an int count or a float fraction (:func:`check_amount`).
"""

from __future__ import annotations

import math

import torch

from ..._util.checks import amount as check_amount

__all__ = [
    "check_amount",
    "check_scores",
    "check_groups",
    "smallest",
    "edge_groups",
    "node_groups",
    "select_blinded",
    "select_uniform",
    "select_distributed",
]


def edge_groups(net) -> torch.Tensor:
    """The default class of every edge: the level of its destination (one MLP layer)."""
    return torch.from_numpy(net.structure.level)[net.edge_index[1]]


def node_groups(net) -> torch.Tensor:
    """The default class of every node: its level."""
    return torch.from_numpy(net.structure.level).clone()


def check_scores(scores: object, size: int, what: str) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"expected scores to be a torch.Tensor, got {type(scores).__name__}")
    if scores.dim() != 1 or scores.numel() != size:
        raise ValueError(f"expected {size} scores (one per {what}), got shape {list(scores.shape)}")
    if bool(torch.isnan(scores).any()):
        raise ValueError(
            f"scores contain NaN (at {what} {int(torch.isnan(scores).nonzero()[0, 0])})"
        )
    return scores.detach()


def check_groups(groups: object, size: int) -> torch.Tensor:
    if (
        not isinstance(groups, torch.Tensor)
        or groups.dtype.is_floating_point
        or groups.dtype == torch.bool
    ):
        raise TypeError(
            f"groups must be an integer tensor (one class id per element), got "
            f"{getattr(groups, 'dtype', type(groups).__name__)}"
        )
    if groups.dim() != 1 or groups.numel() != size:
        raise ValueError(
            f"expected {size} group ids (one per element), got shape {list(groups.shape)}"
        )
    return groups


def smallest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Mask of the ``k`` smallest scores; ties go to the lower index (a stable sort)."""
    mask = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    mask[torch.sort(scores, stable=True).indices[:k]] = True
    return mask


def select_blinded(scores: torch.Tensor, amount: int | float) -> torch.Tensor:
    """Class-blinded: the ``amount`` smallest scores overall.

    Example:
        >>> select_blinded(torch.tensor([0.3, 0.1, 0.2, 0.4]), 2).tolist()
        [False, True, True, False]
    """
    scores = check_scores(scores, int(getattr(scores, "numel", lambda: -1)()), "element")
    return smallest(scores, check_amount(amount, scores.numel()))


def select_uniform(scores: torch.Tensor, amount: int | float, groups: torch.Tensor) -> torch.Tensor:
    """Class-uniform: the same fraction ``k/E`` of every class, its smallest scores.

    Class ``c`` of ``n_c`` elements gives ``k·n_c/E`` elements, rounded by largest remainder
    (ties to the lower class id) so that exactly ``k`` are selected.

    Example:
        >>> s = torch.tensor([0.1, 0.2, 0.3, 0.4, 5.0, 6.0, 7.0, 8.0])
        >>> g = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
        >>> select_uniform(s, 4, g).tolist()
        [True, True, False, False, True, True, False, False]
    """
    scores = check_scores(scores, int(getattr(scores, "numel", lambda: -1)()), "element")
    groups = check_groups(groups, scores.numel()).to(scores.device)
    k = check_amount(amount, scores.numel())
    classes, counts = torch.unique(groups, return_counts=True)
    quota = counts.double() * k / max(scores.numel(), 1)
    take = quota.floor().long()
    rest = k - int(take.sum())
    order = torch.sort(-(quota - take), stable=True).indices
    take[order[:rest]] += 1
    mask = torch.zeros_like(groups, dtype=torch.bool)
    for c, t in zip(classes.tolist(), take.tolist(), strict=True):
        ids = (groups == c).nonzero()[:, 0]
        mask[ids[smallest(scores[ids], t)]] = True
    return mask


def select_distributed(
    scores: torch.Tensor, amount: int | float, groups: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    r"""Class-distributed: per class the threshold ``λ·σ_c``, one ``λ`` for all, ``k`` pruned.

    ``σ_c`` is the (population) standard deviation of ``|weight|`` in class ``c``; an element is
    pruned when ``score < λ·σ_c`` (See, Luong & Manning 2016, "class-distribution"), with ``λ``
    chosen so that exactly ``k`` are: the ``k`` smallest of ``score / σ_c``. A class whose
    ``σ_c`` is 0 (one element, or all equal) is pruned last.

    Example:
        >>> s = torch.tensor([1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0])
        >>> g = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
        >>> select_distributed(s, 2, g, s).tolist()   # same shape, scale 10: one from each
        [True, False, False, False, True, False, False, False]
    """
    scores = check_scores(scores, int(getattr(scores, "numel", lambda: -1)()), "element")
    groups = check_groups(groups, scores.numel()).to(scores.device)
    weight = check_scores(weight, scores.numel(), "element").abs()
    k = check_amount(amount, scores.numel())
    _, inv = torch.unique(groups, return_inverse=True)
    m = int(inv.max()) + 1 if inv.numel() else 0
    w = weight.double()
    n = torch.bincount(inv, minlength=m).double()
    mean = torch.zeros(m, dtype=torch.float64, device=w.device).index_add(0, inv, w) / n
    var = (
        torch.zeros(m, dtype=torch.float64, device=w.device).index_add(0, inv, (w - mean[inv]) ** 2)
        / n
    )
    sigma = var.sqrt()[inv]
    normed = torch.where(
        sigma > 0, scores.double() / sigma.clamp(min=1e-300), torch.full_like(sigma, math.inf)
    )
    return smallest(normed, k)
