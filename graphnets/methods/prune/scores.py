"""Pruning scores: one number per edge, lower = less useful = pruned first.

:func:`random_scores` (the baseline), :func:`magnitude` ``|w|``, :func:`taylor` (``−w·∂L/∂w``,
Eq. 4.3 of ``001_…``), :func:`obd` (optimal brain damage, ``½·w²·H_ii``) with its Gauss–Newton
:func:`hessian_diagonal`, and :func:`node_scores` (a neuron's score, the sum of its edges').
Every score is an ``[E]`` tensor aligned with ``net.weight``.

The OBD Hessian diagonal is the exact **generalised Gauss–Newton** diagonal
``G = (1/B) Σ_n J_nᵀ H_n J_n`` (``J_n`` the Jacobian of the outputs w.r.t. the weights,
``H_n`` the Hessian of the loss w.r.t. the outputs), computed with first-order backward passes
only, through the differentiable node trace of :mod:`graphnets.kernels.trace`: one per
eigenvector of ``H_n``. It drops the term ``Σ_k ∂L/∂y_k · ∂²y_k/∂w_i²``, which is zero wherever
every hidden activation is piecewise linear (ReLU, leaky ReLU, identity), so for such nets
``G_ii`` *is* the Hessian diagonal. LeCun et al. (1990) additionally drop the off-diagonal terms
between the nodes of a level; we do not.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..._util.checks import positive_int
from ..._util.seeds import Seed, generator
from ...kernels.trace import trace
from ...nn.graphnet import GraphNet
from .select import check_scores

__all__ = [
    "random_scores",
    "magnitude",
    "taylor",
    "obd",
    "hessian_diagonal",
    "node_scores",
    "check_net",
    "Loss",
]


def check_net(net: object) -> None:
    """``TypeError`` unless ``net`` is a GraphNet."""
    if not isinstance(net, GraphNet):
        raise TypeError(f"expected a graphnets.GraphNet, got {type(net).__name__}")


# -- scores -----------------------------------------------------------------------------------
def random_scores(net: GraphNet, *, seed: Seed = None) -> torch.Tensor:
    """Uniform random scores in ``[0, 1)``, one per edge: random pruning, the baseline.

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([2, 3, 1], seed=0)
        >>> random_scores(net, seed=0).shape
        torch.Size([9])
    """
    check_net(net)
    u = torch.rand(net.num_edges, generator=generator(seed), dtype=torch.float64)
    return u.to(net.weight.device, net.weight.dtype)


def magnitude(net: GraphNet) -> torch.Tensor:
    """``|w|`` per edge, aligned with ``net.weight``.

    Example:
        >>> import graphnets, torch
        >>> net = graphnets.mlp([2, 1], seed=0)
        >>> torch.equal(magnitude(net), net.weight.detach().abs())
        True
    """
    check_net(net)
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


def taylor(
    net: GraphNet, x: torch.Tensor, y: torch.Tensor, *, loss: Loss = F.cross_entropy
) -> torch.Tensor:
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
    check_net(net)
    _check_data(net, x, y)
    w = net.weight
    (g,) = torch.autograd.grad(loss(net(x), y), [w])
    return -(w.detach() * g)


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


def hessian_diagonal(
    net: GraphNet,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss: Loss = F.cross_entropy,
    batch_size: int = 256,
) -> torch.Tensor:
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
    check_net(net)
    _check_data(net, x, y)
    batch_size = positive_int(batch_size, "batch_size")
    src, dst = net.structure.edge_index
    G = torch.zeros(net.num_edges, dtype=net.weight.dtype, device=net.weight.device)
    B = x.shape[0]
    for i in range(0, B, batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        t = trace(net, xb)
        z_levels, node_levels, out, A, pos = t.z, t.nodes, t.y, t.a, t.pos
        S = _output_hessian_factors(out, yb, loss)  # [b, C, C]
        # Σ_c (a_j δ_kc)² = a_j² Σ_c δ_kc²: square-sum the backward passes per node first
        d2 = torch.zeros(xb.shape[0], net.num_nodes, dtype=G.dtype, device=G.device)
        for c in range(S.shape[2]):
            grads = torch.autograd.grad(out, z_levels, S[:, :, c], retain_graph=True)
            for nodes, g in zip(node_levels, grads, strict=True):
                d2[:, nodes.to(G.device)] += g.detach() ** 2
        a2 = A.detach() ** 2
        G += (a2[:, pos[src].to(G.device)] * d2[:, dst.to(G.device)]).sum(0)
    return G / B


def obd(
    net: GraphNet,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss: Loss = F.cross_entropy,
    batch_size: int = 256,
) -> torch.Tensor:
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
    check_net(net)
    scores = check_scores(scores, net.num_edges, "edge")
    src, dst = net.edge_index.to(scores.device)
    out = torch.zeros(net.num_nodes, dtype=scores.dtype, device=scores.device)
    return out.index_add(0, src, scores).index_add(0, dst, scores)
