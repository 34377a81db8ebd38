r"""Weights for new edges that change a net as little as possible (``001_…`` §4.4).

When a round removes the edges ``s -> v`` (weights ``w_s``) and adds ``r -> v`` (``r ∈ R_v``),
node ``v``'s pre-activation on a batch of ``p`` samples changes by

.. math:: \Delta_v = \Delta b_v\,\mathbf 1 + \sum_{r \in R_v} \alpha_r u_r - t_v, \qquad
          u_r = a_r,\ t_v = \sum_s w_s a_s \in \mathbb R^p .

Keeping the mean unchanged, :math:`\langle \Delta_v, \mathbf 1\rangle = 0`, fixes
:math:`\Delta b_v = \bar t_v - \sum_r \alpha_r \bar u_r`; the weights then minimise
:math:`\|\sum_r \alpha_r (u_r - \bar u_r) - (t_v - \bar t_v)\|_2`, a least-squares problem whose
one-edge solution is Eq. 4.8,

.. math:: \alpha = \frac{\langle u - \bar u,\ t - \bar t\rangle}{\|u - \bar u\|^2},

and whose many-edge solution is the projection of :math:`t_v - \bar t_v` on the span of the
centred :math:`u_r` (computed with the pseudo-inverse of their ``k × k`` Gram matrix, in float64,
so a source that is constant on the batch gets weight 0). A node that only lost edges gets
:math:`\Delta b_v = \bar t_v`.

The problem is ill-conditioned where a new source barely varies on the batch (a ReLU active on
one sample): :math:`\alpha \propto \|t - \bar t\| / \|u - \bar u\|` can then be thousands
of times the net's weights, fitted to one sample, and training diverges (measured in
``docs/rewiring.md``). ``bound`` clips every weight to ``[-bound, bound]`` (a trust region; the
thesis has none), and the bias change is computed for the clipped weights, so the mean
pre-activation is still unchanged.
"""

from __future__ import annotations

import torch

__all__ = ["least_squares"]


def least_squares(
    a: torch.Tensor,
    new_src: torch.Tensor,
    new_dst: torch.Tensor,
    old_src: torch.Tensor,
    old_dst: torch.Tensor,
    old_weight: torch.Tensor,
    bound: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The weights of new edges and the bias changes that keep every node's pre-activation as
    close as possible to what it was, on a batch (``001_…`` §4.4, Eq. 4.8 and its many-edge form).

    Args:
        a (Tensor): ``[B, N]`` the activation of every node on the batch, before the change.
        new_src, new_dst (LongTensor): ``[k]`` the new edges.
        old_src, old_dst (LongTensor): ``[m]`` the removed edges.
        old_weight (Tensor): ``[m]`` their weights.
        bound (Tensor or float, optional): the largest ``|weight|`` of each new edge (``[k]``)
            or of all; a weight beyond it is clipped (default: ``None``, unbounded: §4.4).

    Shapes:
        - **a:** ``[B, N]``
        - **output:** ``weight [k]``, ``nodes [n]``, ``bias_delta [n]``

    Returns:
        ``(weight, nodes, bias_delta)``: a weight per new edge (in the order given), and the
        nodes whose bias changes (every destination of a new or removed edge) with the change.

    Example:
        >>> a = torch.tensor([[0.0, 1.0, 3.0, 0.0], [0.0, 2.0, 5.0, 0.0], [0.0, 3.0, 7.0, 0.0]])
        >>> # the edge 1 -> 3 (weight 2) goes; 2 -> 3 replaces it: a_2 = 2 a_1 + 1 on this batch
        >>> w, nodes, db = least_squares(a, torch.tensor([2]), torch.tensor([3]),
        ...                              torch.tensor([1]), torch.tensor([3]), torch.tensor([2.0]))
        >>> w.tolist(), nodes.tolist(), db.tolist()
        ([1.0], [3], [-1.0])
    """
    dev, dtype = a.device, a.dtype
    A = a.detach().to(torch.float64)
    B, N = A.shape
    new_src, new_dst = new_src.to(dev), new_dst.to(dev)
    old_src, old_dst = old_src.to(dev), old_dst.to(dev)
    # t_v: what the removed edges fed each node, a chunk of edges at a time
    T = A.new_zeros(B, N)
    chunk = max(1, (1 << 22) // max(B, 1))
    w_old = old_weight.detach().to(dev, torch.float64)
    for i in range(0, old_src.numel(), chunk):
        s, d = old_src[i : i + chunk], old_dst[i : i + chunk]
        T.index_add_(1, d, A[:, s] * w_old[i : i + chunk])
    nodes = torch.unique(torch.cat([new_dst, old_dst]))
    t = T[:, nodes]  # [B, n]
    delta_b = t.mean(0)
    weight = A.new_zeros(new_src.numel())
    if new_src.numel():
        order = torch.sort(new_dst, stable=True).indices
        dsts, counts = torch.unique_consecutive(new_dst[order], return_counts=True)
        col = torch.searchsorted(nodes, dsts)  # each destination's column in t
        per_edge = torch.repeat_interleave(counts, counts)  # k_v of every new edge
        for k in torch.unique(counts).tolist():
            sel = (per_edge == k).nonzero()[:, 0]  # sorted edges whose node has k new edges
            e = order[sel].reshape(-1, k)  # [n_k, k] edge ids, one row per node
            U = A[:, new_src[e]].permute(1, 0, 2)  # [n_k, B, k]
            which = col[counts == k]
            tv = t[:, which].T  # [n_k, B]
            Uc = U - U.mean(1, keepdim=True)
            tc = tv - tv.mean(1, keepdim=True)
            # pinv(U) t = pinv(UᵀU) Uᵀt: the k x k Gram matrix is much cheaper to decompose
            Ut = Uc.transpose(1, 2)
            alpha = (torch.linalg.pinv(Ut @ Uc, hermitian=True) @ (Ut @ tc[:, :, None]))[:, :, 0]
            if bound is not None:
                b = torch.as_tensor(bound, dtype=A.dtype, device=dev)
                b = b[e] if b.dim() else b
                alpha = torch.maximum(torch.minimum(alpha, b), -b)
            weight[e.reshape(-1)] = alpha.reshape(-1)
            delta_b[which] -= (U.mean(1) * alpha).sum(1)
    return weight.to(dtype), nodes, delta_b.to(dtype)
