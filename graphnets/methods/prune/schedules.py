"""Pruning schedules: score, select and remove, step after step, with retraining between.

:func:`prune_step` does one step; :func:`one_shot`, :func:`fixed_size`, :func:`relative` and
:func:`bucket` run several, each with a ``retrain(net, step)`` callback after every step, and
return one plain record per step. Edges are removed for good (``net.remove_edges``); an
optimizer passed as ``optimizer=`` keeps the state of the surviving edges.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
import torch

from ...nn.graphnet import GraphNet
from .scores import check_net, magnitude, node_scores
from .select import (
    check_amount,
    check_groups,
    check_scores,
    edge_groups,
    node_groups,
    select_blinded,
    select_distributed,
    select_uniform,
)

__all__ = ["SELECTIONS", "UNITS", "prune_step", "one_shot", "fixed_size", "relative", "bucket"]

SELECTIONS = ("blinded", "uniform", "distributed")
UNITS = ("edges", "nodes")


def _check_unit(unit: object) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")


ScoreFn = Callable[[GraphNet], torch.Tensor]


def _resolve(net, unit, score, select, groups):
    """Scores, candidates, groups and magnitudes over the elements (edges or nodes) of ``net``."""
    _check_unit(unit)
    if isinstance(select, str) and select not in SELECTIONS:
        raise ValueError(
            f"select must be one of {', '.join(SELECTIONS)} or a callable, got {select!r}"
        )
    if not isinstance(select, str) and not callable(select):
        raise TypeError(
            f"select must be one of {', '.join(SELECTIONS)} or a callable, got "
            f"{type(select).__name__}"
        )
    s = score(net) if callable(score) else score
    s = check_scores(s, net.num_edges, "edge")
    mag = magnitude(net)
    if unit == "edges":
        g = edge_groups(net) if groups is None else (groups(net) if callable(groups) else groups)
        cand = torch.ones(net.num_edges, dtype=torch.bool)
    else:
        s, mag = node_scores(net, s), node_scores(net, mag)
        g = node_groups(net) if groups is None else (groups(net) if callable(groups) else groups)
        cand = torch.ones(net.num_nodes, dtype=torch.bool)
        cand[net.structure.inputs] = False
        cand[net.structure.outputs] = False
    g = check_groups(g, cand.numel())
    return s, cand.to(s.device), g.to(s.device), mag


def _select(select, scores, k, groups, mag) -> torch.Tensor:
    if select == "blinded":
        return select_blinded(scores, k)
    if select == "uniform":
        return select_uniform(scores, k, groups)
    if select == "distributed":
        return select_distributed(scores, k, groups, mag)
    mask = select(scores, k, groups)
    if (
        not isinstance(mask, torch.Tensor)
        or mask.dtype != torch.bool
        or mask.shape != scores.shape
        or int(mask.sum()) != k
    ):
        raise ValueError(
            f"a select callable must return a boolean mask of {scores.numel()} "
            f"entries with {k} True, got {mask!r:.80}"
        )
    return mask


def prune_step(
    net: GraphNet,
    amount: int | float,
    *,
    score: ScoreFn | torch.Tensor = magnitude,
    select: str | Callable = "blinded",
    groups=None,
    unit: str = "edges",
    optimizer: torch.optim.Optimizer | None = None,
) -> int:
    """Score, select ``amount`` elements and remove them from ``net``; returns how many.

    Args:
        net (GraphNet): pruned in place.
        amount (int or float): a count, or a fraction of the current edges (or hidden nodes).
        score (callable or Tensor): ``score(net) -> [E]`` or an ``[E]`` tensor; with
            ``unit="nodes"`` the edge scores are summed per node (:func:`node_scores`)
            (default: :func:`magnitude`).
        select (str or callable): ``"blinded"``, ``"uniform"``, ``"distributed"``, or
            ``select(scores, k, groups) -> mask`` (default: ``"blinded"``).
        groups (callable or Tensor, optional): class id per element, or ``groups(net)``
            (default: levels, :func:`edge_groups` / :func:`node_groups`).
        unit (str): ``"edges"`` or ``"nodes"`` (hidden nodes only, with all their edges).
        optimizer (Optimizer, optional): its state of the surviving parameters is carried over.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> prune_step(net, 0.5), net.num_edges
        (28, 28)
    """
    check_net(net)
    s, cand, g, mag = _resolve(net, unit, score, select, groups)
    ids = cand.nonzero()[:, 0]
    k = check_amount(amount, ids.numel())
    mask = torch.zeros_like(cand)
    mask[ids] = _select(select, s[ids], k, g[ids], mag[ids])
    if unit == "edges":
        net.remove_edges(mask.cpu(), optimizer=optimizer)
    else:
        net.remove_nodes(
            [net.structure.labels[i] for i in mask.nonzero()[:, 0].tolist()], optimizer=optimizer
        )
    return k


def _count(net: GraphNet, unit: str) -> int:
    s = net.structure
    if unit == "edges":
        return s.num_edges
    return s.num_nodes - s.inputs.numel() - s.outputs.numel()


def _run(
    net,
    sizes: Callable[[int, int], int],
    steps: int,
    *,
    score,
    select,
    groups,
    unit,
    optimizer,
    retrain,
) -> list[dict]:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if retrain is not None and not callable(retrain):
        raise TypeError(
            f"retrain must be a callable retrain(net, step) or None, got {type(retrain).__name__}"
        )
    _check_unit(unit)
    start = _count(net, unit)
    records = []
    for step in range(1, int(steps) + 1):
        k = sizes(step, _count(net, unit))
        removed = prune_step(
            net, k, score=score, select=select, groups=groups, unit=unit, optimizer=optimizer
        )
        left = _count(net, unit)
        record = {
            "step": step,
            "removed": removed,
            unit: left,
            "compression": 1.0 - left / start if start else 0.0,
        }
        if retrain is not None:
            record["retrain"] = retrain(net, step)
        records.append(record)
    return records


_SCHEDULE_ARGS = """
    Args (common to every schedule):
        score, select, groups, unit, optimizer: as in :func:`prune_step`; a callable ``score``
            is evaluated afresh before every step.
        retrain (callable, optional): ``retrain(net, step)`` after every step (``step`` from
            1); its return value is stored in the step's record as ``"retrain"``.

    Returns:
        list of dict: per step ``{"step", "removed", "edges"`` (or ``"nodes"``, how many are
        left), ``"compression"`` (fraction of the starting edges or hidden nodes removed so far),
        and ``"retrain"`` if given``}``.
"""


def one_shot(
    net: GraphNet,
    amount: int | float,
    *,
    score=magnitude,
    select="blinded",
    groups=None,
    unit: str = "edges",
    optimizer=None,
    retrain=None,
) -> list[dict]:
    """Prune ``amount`` (a count or a fraction of the edges) in one step, then retrain once.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> one_shot(net, 0.75)
        [{'step': 1, 'removed': 42, 'edges': 14, 'compression': 0.75}]
    """
    check_net(net)
    _check_unit(unit)
    k = check_amount(amount, _count(net, unit))
    return _run(
        net,
        lambda step, left: k,
        1,
        score=score,
        select=select,
        groups=groups,
        unit=unit,
        optimizer=optimizer,
        retrain=retrain,
    )


def fixed_size(
    net: GraphNet,
    amount: int | float,
    steps: int,
    *,
    score=magnitude,
    select="blinded",
    groups=None,
    unit: str = "edges",
    optimizer=None,
    retrain=None,
) -> list[dict]:
    """Iterative fixed-size pruning: ``steps`` steps of ``amount`` each.

    ``amount`` is a count or a fraction of the *starting* edges (so ``fixed_size(net, 0.19, 5)``
    removes 95 %); ``steps`` times the count must not exceed what there is.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> [r["edges"] for r in fixed_size(net, 0.25, 3)]
        [42, 28, 14]
    """
    check_net(net)
    _check_unit(unit)
    total = _count(net, unit)
    k = check_amount(amount, total)
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool) and k * steps > total:
        raise ValueError(
            f"{steps} steps of {k} would remove {k * steps} of {total} {unit}; "
            "choose fewer steps or a smaller amount"
        )
    return _run(
        net,
        lambda step, left: k,
        steps,
        score=score,
        select=select,
        groups=groups,
        unit=unit,
        optimizer=optimizer,
        retrain=retrain,
    )


def relative(
    net: GraphNet,
    fraction: float,
    steps: int,
    *,
    score=magnitude,
    select="blinded",
    groups=None,
    unit: str = "edges",
    optimizer=None,
    retrain=None,
) -> list[dict]:
    """Iterative relative pruning: every step removes ``fraction`` of what remains.

    After ``steps`` steps about ``(1 - fraction) ** steps`` of the edges are left (each step
    rounds to the nearest count).

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> [r["edges"] for r in relative(net, 0.5, 3)]
        [28, 14, 7]
    """
    check_net(net)
    _check_unit(unit)
    if isinstance(fraction, bool) or not isinstance(fraction, float):
        raise TypeError(
            f"fraction must be a float in [0, 1] (of the remaining elements), got "
            f"{type(fraction).__name__} {fraction!r}"
        )
    check_amount(fraction, 1, "fraction")
    return _run(
        net,
        lambda step, left: check_amount(fraction, left, "fraction"),
        steps,
        score=score,
        select=select,
        groups=groups,
        unit=unit,
        optimizer=optimizer,
        retrain=retrain,
    )


def bucket(
    net: GraphNet,
    capacity: float,
    steps: int,
    *,
    score=magnitude,
    select="blinded",
    groups=None,
    unit: str = "edges",
    optimizer=None,
    retrain=None,
) -> list[dict]:
    """Bucket pruning: every step removes as many elements as a bucket of ``capacity`` holds.

    The bucket is filled with the smallest scores first (``002_…`` §2): a step removes the
    largest ``k`` whose ``k`` smallest scores sum to at most ``capacity``. ``select`` then
    chooses which ``k`` (for ``"blinded"`` exactly those filling the bucket). Scores must be
    non-negative (use e.g. ``taylor(...).abs()``).

    Example:
        >>> import graphnets, torch
        >>> net = graphnets.mlp([2, 2], seed=0)
        >>> s = lambda net: torch.arange(net.num_edges, dtype=torch.float32) + 1  # 1, 2, 3, ...
        >>> [r["removed"] for r in bucket(net, 3.5, 2, score=s)]   # 1+2 <= 3.5, then 1+2 again
        [2, 2]
    """
    check_net(net)
    _check_unit(unit)
    if (
        isinstance(capacity, bool)
        or not isinstance(capacity, numbers.Real)
        or not math.isfinite(capacity)
        or capacity < 0
    ):
        raise ValueError(f"capacity must be a non-negative finite number, got {capacity!r}")

    def size(step: int, left: int) -> int:
        s, cand, _, _ = _resolve(net, unit, score, select, groups)
        s = s[cand]
        if bool((s < 0).any()):
            raise ValueError(
                f"bucket pruning needs non-negative scores, got {float(s.min())}; "
                "pass e.g. lambda net: taylor(net, x, y).abs()"
            )
        return int((torch.sort(s).values.double().cumsum(0) <= capacity).sum())

    # a score callable with randomness must give the same scores for the size and the selection
    if callable(score):
        cache: dict = {}

        def fixed(net_: GraphNet, _score=score) -> torch.Tensor:
            key = (net_.history.count, net_.num_edges)
            if key not in cache:
                cache.clear()
                cache[key] = _score(net_)
            return cache[key]

        score_ = fixed
    else:
        score_ = score
    score = score_
    return _run(
        net,
        size,
        steps,
        score=score,
        select=select,
        groups=groups,
        unit=unit,
        optimizer=optimizer,
        retrain=retrain,
    )
