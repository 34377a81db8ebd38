r"""Pruning: **scores** × **selection** × **schedule**, three parts that combine freely.

Pruning consists of a selection method and a strategy (``002_…`` §2). Here it is split in three:

1. **Scores** (lower = less useful = pruned first), one per edge and aligned with ``net.weight``:
   :func:`random_scores`, :func:`magnitude` ``|w|``, :func:`obd` (optimal brain damage,
   ``½·w²·H_ii``) and :func:`taylor` (``−w·∂L/∂w``, Eq. 4.3 of ``001_…``). Any ``[E]`` tensor
   works too. :func:`node_scores` sums edge scores per node, for neuron pruning.
2. **Selection** of ``k`` elements, a boolean mask: :func:`select_blinded` (the ``k`` smallest
   overall), :func:`select_uniform` (the same fraction from every class) and
   :func:`select_distributed` (per class a threshold ``λ·σ_c`` with ``σ_c`` the standard
   deviation of ``|w|`` in the class, ``λ`` chosen so that ``k`` are pruned: See et al. 2016,
   the definition ``002_…`` §2 paraphrases). A class is a level (the level of an edge's
   destination, i.e. one weight matrix of an MLP) unless ``groups`` says otherwise.
3. **Schedules** that score, select and remove, with a ``retrain(net, step)`` callback after
   every step: :func:`one_shot`, :func:`fixed_size`, :func:`relative` and :func:`bucket`. Each
   returns one plain record per step.

Edges are removed for good (``net.remove_edges``), not masked: ``net.num_edges`` drops, and an
optimizer passed as ``optimizer=`` keeps the state of the surviving edges
(:func:`graphnets.edits.remap_optimizer_state`).

The OBD Hessian diagonal is the exact **generalised Gauss–Newton** diagonal
``G = (1/B) Σ_n J_nᵀ H_n J_n`` (``J_n`` the Jacobian of the outputs w.r.t. the weights,
``H_n`` the Hessian of the loss w.r.t. the outputs), computed with first-order backward passes
only: one per eigenvector of ``H_n``. It drops the term ``Σ_k ∂L/∂y_k · ∂²y_k/∂w_i²``, which is
zero wherever every hidden activation is piecewise linear (ReLU, leaky ReLU, identity), so for
such nets ``G_ii`` *is* the Hessian diagonal. LeCun et al. (1990) additionally drop the
off-diagonal terms between the nodes of a level; we do not.

Not done here: no masking or re-growing (see :mod:`graphnets.edits` for ``add_edges``), no
optimal brain surgeon (full Hessian).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .activations import parse_activation
from .graphnet import GraphNet, _generator

__all__ = [
    "random_scores",
    "magnitude",
    "taylor",
    "obd",
    "hessian_diagonal",
    "node_scores",
    "edge_groups",
    "node_groups",
    "check_amount",
    "select_blinded",
    "select_uniform",
    "select_distributed",
    "prune_step",
    "one_shot",
    "fixed_size",
    "relative",
    "bucket",
]

SELECTIONS = ("blinded", "uniform", "distributed")
UNITS = ("edges", "nodes")


def _check_net(net: object) -> None:
    if not isinstance(net, GraphNet):
        raise TypeError(f"expected a graphnets.GraphNet, got {type(net).__name__}")


def _check_unit(unit: object) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")


# -- scores -----------------------------------------------------------------------------------
def random_scores(net: GraphNet, *, seed: int | torch.Generator | None = None) -> torch.Tensor:
    """Uniform random scores in ``[0, 1)``, one per edge: random pruning, the baseline.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([2, 3, 1], seed=0)
        >>> random_scores(net, seed=0).shape
        torch.Size([9])
    """
    _check_net(net)
    u = torch.rand(net.num_edges, generator=_generator(seed), dtype=torch.float64)
    return u.to(net.weight.device, net.weight.dtype)


def magnitude(net: GraphNet) -> torch.Tensor:
    """``|w|`` per edge, aligned with ``net.weight``.

    Example:
        >>> import graphnets, torch
        >>> net = graphnets.mlp([2, 1], seed=0)
        >>> torch.equal(magnitude(net), net.weight.detach().abs())
        True
    """
    _check_net(net)
    return net.weight.detach().abs()


Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_data(net: GraphNet, x: object, y: object) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        bad = type(x).__name__ if not isinstance(x, torch.Tensor) else type(y).__name__
        raise TypeError(f"expected x and y to be torch.Tensors, got {bad}")
    if x.dim() != 2 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(
            f"expected x [B, features] and y [B] with B >= 1 samples each, got x of shape "
            f"{list(x.shape)} and y of shape {list(y.shape)}"
        )


def taylor(net: GraphNet, x: torch.Tensor, y: torch.Tensor, *,
           loss: Loss = F.cross_entropy) -> torch.Tensor:
    r"""First-order Taylor utility ``−w·∂L/∂w`` per edge (Eq. 4.3 of ``001_…``).

    The first term of the loss change when an edge is deleted (its weight set to 0). It is
    signed: a negative utility marks an edge whose removal is expected to *lower* the loss, so
    such edges go first. Pass ``taylor(...).abs()`` to prune by the size of the change instead.

    Args:
        net (GraphNet): the net; its gradients are left as they were.
        x (Tensor): ``[B, n_inputs]`` inputs.
        y (Tensor): ``[B]`` targets for ``loss``.
        loss (callable): ``loss(net(x), y)``, reduced to a scalar (default: cross-entropy).

    Returns:
        Tensor: ``[E]`` utilities.
    """
    _check_net(net)
    _check_data(net, x, y)
    w = net.weight
    (g,) = torch.autograd.grad(loss(net(x), y), [w])
    return -(w.detach() * g)


def _node_values(net: GraphNet, x: torch.Tensor):
    """Every node's pre-activation, level by level, with autograd (first-order ops only).

    Returns ``(z, nodes, y, A, pos)``: per computed level the pre-activations ``z [B, n_L]`` and
    their node indices, the outputs ``y [B, n_out]``, and all activations ``A [B, N]`` with
    ``pos[i]`` the column of node ``i``.
    """
    s = net.structure
    B, N, dev = x.shape[0], s.num_nodes, x.device
    level = torch.from_numpy(s.level)
    src, dst = s.edge_index
    # position of every node in the concatenation of the computed levels' activations
    pos = torch.full((N,), -1, dtype=torch.long)
    pos[s.inputs] = torch.arange(s.inputs.numel())
    blocks = [x]
    z_levels, node_levels = [], []
    size = s.inputs.numel()
    is_input = torch.zeros(N, dtype=torch.bool)
    is_input[s.inputs] = True
    for L in range(s.num_levels):
        nodes = ((level == L) & ~is_input).nonzero()[:, 0]
        if nodes.numel() == 0:
            continue
        local = torch.full((N,), -1, dtype=torch.long)
        local[nodes] = torch.arange(nodes.numel())
        es = (local[dst] >= 0).nonzero()[:, 0]
        H = torch.cat(blocks, 1)
        msg = H[:, pos[src[es]].to(dev)] * net.weight[es.to(dev)]
        z = net.bias[nodes.to(dev)].expand(B, -1).index_add(1, local[dst[es]].to(dev), msg)
        # one activation call per distinct activation of the level
        specs = [s.activations[i] for i in nodes.tolist()]
        cols, vals = [], []
        for spec in dict.fromkeys(specs):
            c = torch.tensor([k for k, sp in enumerate(specs) if sp == spec], dtype=torch.long)
            cols.append(c)
            vals.append(parse_activation(spec).forward(z[:, c.to(dev)]))
        a = torch.cat(vals, 1)[:, torch.argsort(torch.cat(cols)).to(dev)]
        pos[nodes] = size + torch.arange(nodes.numel())
        size += nodes.numel()
        blocks.append(a)
        z_levels.append(z)
        node_levels.append(nodes)
    A = torch.cat(blocks, 1)
    return z_levels, node_levels, A[:, pos[s.outputs].to(dev)], A, pos


def _output_hessian_factors(y: torch.Tensor, t: torch.Tensor, loss: Loss) -> torch.Tensor:
    """``S [B, C, C]`` with ``S_n S_nᵀ`` = Hessian of the per-sample loss w.r.t. ``y_n``.

    The loss itself is plain torch, so its Hessian is taken with double backward here; only the
    net (whose backward is first-order) is never differentiated twice. Negative eigenvalues
    (a non-convex loss) are clipped to 0, which keeps the Gauss–Newton matrix positive.
    """
    def one(yn, tn):
        return loss(yn[None], tn[None])

    H = torch.func.vmap(torch.func.hessian(one))(y.detach(), t)
    lam, V = torch.linalg.eigh(H)
    return V * lam.clamp(min=0).sqrt()[:, None, :]


def hessian_diagonal(net: GraphNet, x: torch.Tensor, y: torch.Tensor, *,
                     loss: Loss = F.cross_entropy, batch_size: int = 256) -> torch.Tensor:
    r"""Generalised Gauss–Newton diagonal ``G_ii`` of the mean loss, one entry per edge.

    .. math::
        G = \frac1B \sum_n J_n^\top H_n J_n, \qquad
        G_{ii} = \frac1B \sum_n \sum_c \big(a_j^{(n)} \delta_{k,c}^{(n)}\big)^2
        \quad\text{for edge } i = (j \to k)

    with ``H_n = S_n S_nᵀ`` the loss Hessian w.r.t. the outputs and ``δ_{·,c}`` the
    backpropagation of column ``c`` of ``S_n``: ``C`` first-order backward passes per batch.
    Equal to the true Hessian diagonal for nets whose activations are piecewise linear
    (ReLU, identity outputs), away from kinks.

    Args:
        loss (callable): ``loss(y_pred [B, C], y [B])`` with mean reduction, twice
            differentiable in ``y_pred`` (default: cross-entropy).
        batch_size (int): samples per chunk; memory grows as ``batch_size × E``
            (default: ``256``).

    Returns:
        Tensor: ``[E]``, non-negative.
    """
    _check_net(net)
    _check_data(net, x, y)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    src, dst = net.structure.edge_index
    G = torch.zeros(net.num_edges, dtype=net.weight.dtype, device=net.weight.device)
    B = x.shape[0]
    for i in range(0, B, batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        z_levels, node_levels, out, A, pos = _node_values(net, xb)
        S = _output_hessian_factors(out, yb, loss)  # [b, C, C]
        # Σ_c (a_j δ_kc)² = a_j² Σ_c δ_kc²: square-sum the backward passes per node first
        d2 = torch.zeros(xb.shape[0], net.num_nodes, dtype=G.dtype, device=G.device)
        for c in range(S.shape[2]):
            grads = torch.autograd.grad(out, z_levels, S[:, :, c], retain_graph=True)
            for nodes, g in zip(node_levels, grads):
                d2[:, nodes.to(G.device)] += g.detach() ** 2
        a2 = A.detach() ** 2
        G += (a2[:, pos[src].to(G.device)] * d2[:, dst.to(G.device)]).sum(0)
    return G / B


def obd(net: GraphNet, x: torch.Tensor, y: torch.Tensor, *, loss: Loss = F.cross_entropy,
        batch_size: int = 256) -> torch.Tensor:
    r"""Optimal brain damage saliency ``½·w_i²·H_ii`` (LeCun, Denker & Solla 1990).

    ``H_ii`` is :func:`hessian_diagonal` (the Gauss–Newton diagonal of the mean loss over
    ``x, y``); see the module docstring for the approximation.

    Returns:
        Tensor: ``[E]``, non-negative.
    """
    h = hessian_diagonal(net, x, y, loss=loss, batch_size=batch_size)
    return 0.5 * net.weight.detach() ** 2 * h


def node_scores(net: GraphNet, scores: torch.Tensor) -> torch.Tensor:
    """Per node, the sum of the scores of its edges (in and out): a neuron's score.

    Example:
        >>> import graphnets, torch
        >>> net = graphnets.mlp([2, 2, 1], seed=0)
        >>> node_scores(net, torch.ones(net.num_edges)).tolist()
        [2.0, 2.0, 3.0, 3.0, 2.0]
    """
    _check_net(net)
    scores = _check_scores(scores, net.num_edges, "edge")
    src, dst = net.edge_index.to(scores.device)
    out = torch.zeros(net.num_nodes, dtype=scores.dtype, device=scores.device)
    return out.index_add(0, src, scores).index_add(0, dst, scores)


def edge_groups(net: GraphNet) -> torch.Tensor:
    """The default class of every edge: the level of its destination (one MLP layer)."""
    _check_net(net)
    return torch.from_numpy(net.structure.level)[net.edge_index[1]]


def node_groups(net: GraphNet) -> torch.Tensor:
    """The default class of every node: its level."""
    _check_net(net)
    return torch.from_numpy(net.structure.level).clone()


# -- amount and selection ---------------------------------------------------------------------
def check_amount(amount: int | float, total: int, name: str = "amount") -> int:
    """How many of ``total`` elements ``amount`` asks for: an int count or a float fraction.

    Args:
        amount: an int in ``[0, total]`` or a float in ``[0, 1]`` (rounded to the nearest count).

    Raises:
        TypeError: for anything but an int or a float (``bool`` included).
        ValueError: for a count or a fraction out of range.

    Example:
        >>> check_amount(0.25, 10), check_amount(3, 10)
        (2, 3)
    """
    if isinstance(amount, bool) or not isinstance(amount, (numbers.Integral, numbers.Real)):
        raise TypeError(
            f"{name} must be an int (how many) or a float in [0, 1] (what fraction), got "
            f"{type(amount).__name__} {amount!r}"
        )
    if isinstance(amount, numbers.Integral):
        if not 0 <= amount <= total:
            raise ValueError(f"{name} must be a count in [0, {total}], got {amount}; "
                             "pass a float for a fraction")
        return int(amount)
    if not (math.isfinite(amount) and 0.0 <= amount <= 1.0):
        raise ValueError(f"{name} must be a fraction in [0, 1], got {amount}; "
                         "pass an int for a count")
    return int(round(float(amount) * total))


def _check_scores(scores: object, size: int, what: str) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"expected scores to be a torch.Tensor, got {type(scores).__name__}")
    if scores.dim() != 1 or scores.numel() != size:
        raise ValueError(f"expected {size} scores (one per {what}), got shape {list(scores.shape)}")
    if bool(torch.isnan(scores).any()):
        raise ValueError(f"scores contain NaN (at {what} {int(torch.isnan(scores).nonzero()[0, 0])})")
    return scores.detach()


def _check_groups(groups: object, size: int) -> torch.Tensor:
    if not isinstance(groups, torch.Tensor) or groups.dtype.is_floating_point \
            or groups.dtype == torch.bool:
        raise TypeError(f"groups must be an integer tensor (one class id per element), got "
                        f"{getattr(groups, 'dtype', type(groups).__name__)}")
    if groups.dim() != 1 or groups.numel() != size:
        raise ValueError(f"expected {size} group ids (one per element), got shape "
                         f"{list(groups.shape)}")
    return groups


def _smallest(scores: torch.Tensor, k: int) -> torch.Tensor:
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
    scores = _check_scores(scores, int(getattr(scores, "numel", lambda: -1)()), "element")
    return _smallest(scores, check_amount(amount, scores.numel()))


def select_uniform(scores: torch.Tensor, amount: int | float, groups: torch.Tensor
                   ) -> torch.Tensor:
    """Class-uniform: the same fraction ``k/E`` of every class, its smallest scores.

    Class ``c`` of ``n_c`` elements gives ``k·n_c/E`` elements, rounded by largest remainder
    (ties to the lower class id) so that exactly ``k`` are selected.

    Example:
        >>> s = torch.tensor([0.1, 0.2, 0.3, 0.4, 5.0, 6.0, 7.0, 8.0])
        >>> g = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
        >>> select_uniform(s, 4, g).tolist()
        [True, True, False, False, True, True, False, False]
    """
    scores = _check_scores(scores, int(getattr(scores, "numel", lambda: -1)()), "element")
    groups = _check_groups(groups, scores.numel()).to(scores.device)
    k = check_amount(amount, scores.numel())
    classes, counts = torch.unique(groups, return_counts=True)
    quota = counts.double() * k / max(scores.numel(), 1)
    take = quota.floor().long()
    rest = k - int(take.sum())
    order = torch.sort(-(quota - take), stable=True).indices
    take[order[:rest]] += 1
    mask = torch.zeros_like(groups, dtype=torch.bool)
    for c, t in zip(classes.tolist(), take.tolist()):
        ids = (groups == c).nonzero()[:, 0]
        mask[ids[_smallest(scores[ids], t)]] = True
    return mask


def select_distributed(scores: torch.Tensor, amount: int | float, groups: torch.Tensor,
                       weight: torch.Tensor) -> torch.Tensor:
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
    scores = _check_scores(scores, int(getattr(scores, "numel", lambda: -1)()), "element")
    groups = _check_groups(groups, scores.numel()).to(scores.device)
    weight = _check_scores(weight, scores.numel(), "element").abs()
    k = check_amount(amount, scores.numel())
    _, inv = torch.unique(groups, return_inverse=True)
    m = int(inv.max()) + 1 if inv.numel() else 0
    w = weight.double()
    n = torch.bincount(inv, minlength=m).double()
    mean = torch.zeros(m, dtype=torch.float64, device=w.device).index_add(0, inv, w) / n
    var = torch.zeros(m, dtype=torch.float64, device=w.device).index_add(
        0, inv, (w - mean[inv]) ** 2) / n
    sigma = var.sqrt()[inv]
    normed = torch.where(sigma > 0, scores.double() / sigma.clamp(min=1e-300),
                         torch.full_like(sigma, math.inf))
    return _smallest(normed, k)


# -- schedules --------------------------------------------------------------------------------
ScoreFn = Callable[[GraphNet], torch.Tensor]


def _resolve(net, unit, score, select, groups):
    """Scores, candidates, groups and magnitudes over the elements (edges or nodes) of ``net``."""
    _check_unit(unit)
    if isinstance(select, str) and select not in SELECTIONS:
        raise ValueError(f"select must be one of {', '.join(SELECTIONS)} or a callable, got "
                         f"{select!r}")
    if not isinstance(select, str) and not callable(select):
        raise TypeError(f"select must be one of {', '.join(SELECTIONS)} or a callable, got "
                        f"{type(select).__name__}")
    s = score(net) if callable(score) else score
    s = _check_scores(s, net.num_edges, "edge")
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
    g = _check_groups(g, cand.numel())
    return s, cand.to(s.device), g.to(s.device), mag


def _select(select, scores, k, groups, mag) -> torch.Tensor:
    if select == "blinded":
        return select_blinded(scores, k)
    if select == "uniform":
        return select_uniform(scores, k, groups)
    if select == "distributed":
        return select_distributed(scores, k, groups, mag)
    mask = select(scores, k, groups)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or \
            mask.shape != scores.shape or int(mask.sum()) != k:
        raise ValueError(f"a select callable must return a boolean mask of {scores.numel()} "
                         f"entries with {k} True, got {mask!r:.80}")
    return mask


def prune_step(net: GraphNet, amount: int | float, *, score: ScoreFn | torch.Tensor = magnitude,
               select: str | Callable = "blinded", groups=None, unit: str = "edges",
               optimizer: torch.optim.Optimizer | None = None) -> int:
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
    _check_net(net)
    s, cand, g, mag = _resolve(net, unit, score, select, groups)
    ids = cand.nonzero()[:, 0]
    k = check_amount(amount, ids.numel())
    mask = torch.zeros_like(cand)
    mask[ids] = _select(select, s[ids], k, g[ids], mag[ids])
    if unit == "edges":
        net.remove_edges(mask.cpu(), optimizer=optimizer)
    else:
        net.remove_nodes([net.structure.labels[i] for i in mask.nonzero()[:, 0].tolist()],
                         optimizer=optimizer)
    return k


def _count(net: GraphNet, unit: str) -> int:
    s = net.structure
    if unit == "edges":
        return s.num_edges
    return s.num_nodes - s.inputs.numel() - s.outputs.numel()


def _run(net, sizes: Callable[[int, int], int], steps: int, *, score, select, groups, unit,
         optimizer, retrain) -> list[dict]:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if retrain is not None and not callable(retrain):
        raise TypeError(f"retrain must be a callable retrain(net, step) or None, got "
                        f"{type(retrain).__name__}")
    _check_unit(unit)
    start = _count(net, unit)
    records = []
    for step in range(1, int(steps) + 1):
        k = sizes(step, _count(net, unit))
        removed = prune_step(net, k, score=score, select=select, groups=groups, unit=unit,
                             optimizer=optimizer)
        left = _count(net, unit)
        record = {"step": step, "removed": removed, unit: left,
                  "compression": 1.0 - left / start if start else 0.0}
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


def one_shot(net: GraphNet, amount: int | float, *, score=magnitude, select="blinded",
             groups=None, unit: str = "edges", optimizer=None, retrain=None) -> list[dict]:
    """Prune ``amount`` (a count or a fraction of the edges) in one step, then retrain once.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> one_shot(net, 0.75)
        [{'step': 1, 'removed': 42, 'edges': 14, 'compression': 0.75}]
    """
    _check_net(net)
    _check_unit(unit)
    k = check_amount(amount, _count(net, unit))
    return _run(net, lambda step, left: k, 1, score=score, select=select, groups=groups,
                unit=unit, optimizer=optimizer, retrain=retrain)


def fixed_size(net: GraphNet, amount: int | float, steps: int, *, score=magnitude,
               select="blinded", groups=None, unit: str = "edges", optimizer=None,
               retrain=None) -> list[dict]:
    """Iterative fixed-size pruning: ``steps`` steps of ``amount`` each.

    ``amount`` is a count or a fraction of the *starting* edges (so ``fixed_size(net, 0.19, 5)``
    removes 95 %); ``steps`` times the count must not exceed what there is.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> [r["edges"] for r in fixed_size(net, 0.25, 3)]
        [42, 28, 14]
    """
    _check_net(net)
    _check_unit(unit)
    total = _count(net, unit)
    k = check_amount(amount, total)
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool) and k * steps > total:
        raise ValueError(f"{steps} steps of {k} would remove {k * steps} of {total} {unit}; "
                         "choose fewer steps or a smaller amount")
    return _run(net, lambda step, left: k, steps, score=score, select=select, groups=groups,
                unit=unit, optimizer=optimizer, retrain=retrain)


def relative(net: GraphNet, fraction: float, steps: int, *, score=magnitude, select="blinded",
             groups=None, unit: str = "edges", optimizer=None, retrain=None) -> list[dict]:
    """Iterative relative pruning: every step removes ``fraction`` of what remains.

    After ``steps`` steps about ``(1 - fraction) ** steps`` of the edges are left (each step
    rounds to the nearest count).

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> [r["edges"] for r in relative(net, 0.5, 3)]
        [28, 14, 7]
    """
    _check_net(net)
    _check_unit(unit)
    if isinstance(fraction, bool) or not isinstance(fraction, float):
        raise TypeError(f"fraction must be a float in [0, 1] (of the remaining elements), got "
                        f"{type(fraction).__name__} {fraction!r}")
    check_amount(fraction, 1, "fraction")
    return _run(net, lambda step, left: check_amount(fraction, left, "fraction"), steps,
                score=score, select=select, groups=groups, unit=unit, optimizer=optimizer,
                retrain=retrain)


def bucket(net: GraphNet, capacity: float, steps: int, *, score=magnitude, select="blinded",
           groups=None, unit: str = "edges", optimizer=None, retrain=None) -> list[dict]:
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
    _check_net(net)
    _check_unit(unit)
    if isinstance(capacity, bool) or not isinstance(capacity, numbers.Real) or \
            not math.isfinite(capacity) or capacity < 0:
        raise ValueError(f"capacity must be a non-negative finite number, got {capacity!r}")

    def size(step: int, left: int) -> int:
        s, cand, _, _ = _resolve(net, unit, score, select, groups)
        s = s[cand]
        if bool((s < 0).any()):
            raise ValueError(f"bucket pruning needs non-negative scores, got {float(s.min())}; "
                             "pass e.g. lambda net: taylor(net, x, y).abs()")
        return int((torch.sort(s).values.double().cumsum(0) <= capacity).sum())

    # a score callable with randomness must give the same scores for the size and the selection
    if callable(score):
        cache: dict = {}

        def fixed(net_: GraphNet, _score=score) -> torch.Tensor:
            key = (len(net_.history), net_.num_edges)
            if key not in cache:
                cache.clear()
                cache[key] = _score(net_)
            return cache[key]

        score_ = fixed
    else:
        score_ = score
    score = score_
    return _run(net, size, steps, score=score, select=select, groups=groups, unit=unit,
                optimizer=optimizer, retrain=retrain)
