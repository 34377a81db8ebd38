"""A differentiable per-node trace of a net: every pre-activation and activation of a batch.

The fast kernels (:mod:`~graphnets.kernels.levelwise`, :mod:`~graphnets.kernels.fused`) keep their
intermediate values to themselves and differentiate once. Methods that need more — the
Gauss–Newton diagonal of OBD pruning (the gradient of the outputs with respect to every
pre-activation), the gradient of the loss with respect to edges that do not exist yet (RigL), the
correlations of neuron values (the thesis's rewiring), the activity of a URN — evaluate the net
with :func:`trace` instead: level by level with plain torch ops under autograd, keeping the
pre-activations ``z`` of every level as tensors one can differentiate with respect to.

It computes the same function as the kernels (tests compare them) at the speed of torch's own
ops per level, and runs on any device. Feed-forward nets only: a recurrent net's time steps are
not traced here.

Under autograd the trace keeps every level's per-edge messages ``[B, E_l]`` for the backward.
When only the values and errors of one batch are wanted (RigL's and the thesis's rewiring),
:func:`node_errors` computes them without autograd, a level at a time with sparse products, in
``O(N·B + E)`` memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.activations import parse_activation
from ..core.structure import Structure

__all__ = ["Trace", "trace", "node_errors"]


@dataclass(frozen=True)
class Trace:
    """The values of every node for one batch, differentiable.

    Attributes:
        nodes: per computed level (levels without computed nodes skipped), the node indices
            ``[n_l]`` (CPU).
        z: per computed level, the pre-activations ``[B, n_l]``: autograd graph nodes, so
            ``torch.autograd.grad(f, trace.z)`` gives ``∂f/∂z`` level by level.
        a: ``[B, N]`` activations in *trace order* (inputs first, then level by level): node
            ``i`` is column ``pos[i]``.
        pos: ``[N]`` the column of every node in ``a`` (on ``a``'s device).
        y: ``[B, n_out]`` the outputs, equal to ``net(x)``.
    """

    nodes: list[torch.Tensor]
    z: list[torch.Tensor]
    a: torch.Tensor
    pos: torch.Tensor
    y: torch.Tensor

    def activations(self) -> torch.Tensor:
        """``[B, N]`` activations in node-index order (inputs: ``x``)."""
        return self.a[:, self.pos]

    def pre_activations(self) -> torch.Tensor:
        """``[B, N]`` pre-activations in node-index order (inputs: ``x``, never activated)."""
        out = self.a[:, self.pos].clone()
        for nodes, z in zip(self.nodes, self.z, strict=True):
            out[:, nodes.to(out.device)] = z
        return out

    def node_gradients(
        self,
        output: torch.Tensor,
        grad_output: torch.Tensor | None = None,
        *,
        retain_graph: bool | None = None,
    ) -> torch.Tensor:
        """``[B, N]`` gradient of ``output`` (e.g. a loss computed from :attr:`y`) with respect to
        every node's pre-activation, in node-index order; ``0`` for inputs.

        For a summed loss, row ``n`` is ``∂L/∂z`` of sample ``n``: the error signal ``δ`` of
        backpropagation, whose outer product with the activations is the gradient of every edge,
        present or not.
        """
        grads = torch.autograd.grad(
            output, self.z, grad_output, retain_graph=retain_graph, allow_unused=True
        )
        out = self.a.new_zeros(self.a.shape[0], self.pos.numel())
        for nodes, g in zip(self.nodes, grads, strict=True):
            if g is not None:
                out[:, nodes.to(out.device)] = g
        return out


def trace(net, x: torch.Tensor) -> Trace:
    """Evaluate ``net`` on ``x [B, n_in]`` node by node, keeping every value (see :class:`Trace`).

    ``net`` is anything with ``structure``, ``weight [E]`` and ``bias [N]`` (a GraphNet). The
    result is differentiable with respect to ``x``, the weights, the biases and every ``z``.

    Raises:
        ValueError: for a recurrent net (one with delayed edges).

    Example:
        >>> import torch, graphnets
        >>> net = graphnets.mlp([3, 4, 2], seed=0)
        >>> t = trace(net, torch.randn(5, 3))
        >>> torch.allclose(t.y, net(t.activations()[:, :3]), atol=1e-6), len(t.z)
        (True, 2)
    """
    s: Structure = net.structure
    if s.is_recurrent:
        raise ValueError(
            "cannot trace a recurrent net (one with delayed edges): its values depend on the time "
            "step; unroll it first (graphnets.unroll(net, steps)) and use the unrolled net"
        )
    weight, bias = net.weight, net.bias
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
    for ell in range(s.num_levels):
        nodes = ((level == ell) & ~is_input).nonzero()[:, 0]
        if nodes.numel() == 0:
            continue
        local = torch.full((N,), -1, dtype=torch.long)
        local[nodes] = torch.arange(nodes.numel())
        es = (local[dst] >= 0).nonzero()[:, 0]
        H = torch.cat(blocks, 1)
        msg = H[:, pos[src[es]].to(dev)] * weight[es.to(dev)]
        z = bias[nodes.to(dev)].expand(B, -1).index_add(1, local[dst[es]].to(dev), msg)
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
    pos = pos.to(dev)
    return Trace(node_levels, z_levels, A, pos, A[:, pos[s.outputs.to(dev)]])


def node_errors(
    net, x: torch.Tensor, grad_output: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every node's activation ``a`` and error ``δ = ∂L/∂z`` on a batch, without autograd.

    The same values as :func:`trace` and :meth:`Trace.node_gradients` with ``grad_output``
    (``∂L/∂y``), computed level by level: the pre-activations of a level are one sparse
    product ``W_l A`` of its in-edges (a CSR matrix ``[n_l, N]``) with the node-major
    activations ``A [N, B]``, and going back, the errors of a level add ``W_lᵀ δ_l`` to the
    gradients of its sources. Memory: four ``[N, B]`` buffers and the CSR index of each level,
    where the autograd trace keeps ``[B, E_l]`` per level (40 MiB instead of 300 at 280k edges
    and ``B = 128``).

    Args:
        net: anything with ``structure``, ``weight [E]`` and ``bias [N]`` (a GraphNet).
        x (Tensor): ``[B, n_in]``.
        grad_output (Tensor, optional): ``[B, n_out]``, ``∂L/∂y``; without it only ``a`` is
            computed (default: ``None``).

    Returns:
        ``(a, delta)``: ``[B, N]`` each, node order (``delta`` is ``None`` without
        ``grad_output``, and ``0`` at the inputs).

    Raises:
        ValueError: for a recurrent net.

    Example:
        >>> import torch, graphnets
        >>> net = graphnets.mlp([3, 4, 2], seed=0)
        >>> x, gy = torch.randn(5, 3), torch.randn(5, 2)
        >>> a, delta = node_errors(net, x, gy)
        >>> t = trace(net, x)
        >>> torch.allclose(a, t.activations()), torch.allclose(delta, t.node_gradients(t.y, gy))
        (True, True)
    """
    s: Structure = net.structure
    if s.is_recurrent:
        raise ValueError(
            "cannot trace a recurrent net (one with delayed edges); unroll it first "
            "(graphnets.unroll(net, steps)) and use the unrolled net"
        )
    with torch.no_grad():
        weight, bias = net.weight.detach(), net.bias.detach()
        dev, out_dtype = weight.device, weight.dtype
        # torch's CSR products take float32 and float64; other dtypes are computed in float32
        dtype = out_dtype if out_dtype in (torch.float32, torch.float64) else torch.float32
        weight, bias = weight.to(dtype), bias.to(dtype)
        N, B = s.num_nodes, x.shape[0]
        level = s.level
        src, dst = s.edge_index.numpy()
        is_input = np.zeros(N, dtype=bool)
        is_input[s.inputs.numpy()] = True
        A = torch.zeros(N, B, dtype=dtype, device=dev)
        A[s.inputs.to(dev)] = x.detach().to(dev, dtype).T
        Z = torch.zeros_like(A)
        by_level = np.argsort(level[dst], kind="stable")
        ptr = np.searchsorted(level[dst][by_level], np.arange(s.num_levels + 1))
        plans = []
        for ell in range(s.num_levels):
            nodes = np.flatnonzero((level == ell) & ~is_input)
            if nodes.size == 0:
                continue
            es = by_level[ptr[ell] : ptr[ell + 1]]
            local = np.full(N, -1, dtype=np.int64)
            local[nodes] = np.arange(nodes.size)
            rows, cols = local[dst[es]], src[es]
            w = weight[torch.from_numpy(es).to(dev)]
            fwd = _csr(rows, cols, w, (nodes.size, N))
            bwd = _csr(cols, rows, w, (N, nodes.size))
            idx = torch.from_numpy(nodes).to(dev)
            z = bias[idx][:, None].expand(-1, B).clone()
            if es.size:
                z += fwd @ A
            groups = _activation_groups(s, nodes, dev)
            a = torch.empty_like(z)
            for act, rows_of in groups:
                a[rows_of] = act.forward(z[rows_of])
            Z[idx], A[idx] = z, a
            plans.append((idx, bwd if es.size else None, groups))
        if grad_output is None:
            return A.T.to(out_dtype).contiguous(), None
        G = torch.zeros_like(A)
        G.index_add_(0, s.outputs.to(dev), grad_output.detach().to(dev, dtype).T)
        D = torch.zeros_like(A)
        for idx, bwd, groups in reversed(plans):
            g, z, a = G[idx], Z[idx], A[idx]
            d = torch.empty_like(g)
            for act, rows_of in groups:
                d[rows_of] = act.backward(g[rows_of], z[rows_of], a[rows_of])
            D[idx] = d
            if bwd is not None:
                G += bwd @ d
        return A.T.to(out_dtype).contiguous(), D.T.to(out_dtype).contiguous()


def _csr(rows: np.ndarray, cols: np.ndarray, values: torch.Tensor, size) -> torch.Tensor:
    """A CSR matrix of ``size`` with ``values[k]`` at ``(rows[k], cols[k])``."""
    order = np.lexsort((cols, rows))
    crow = np.zeros(size[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=size[0]), out=crow[1:])
    dev = values.device
    return torch.sparse_csr_tensor(
        torch.from_numpy(crow).to(dev),
        torch.from_numpy(cols[order]).to(dev),
        values[torch.from_numpy(order).to(dev)],
        size,
        check_invariants=False,
    )


def _activation_groups(s: Structure, nodes: np.ndarray, dev) -> list:
    """``(activation, rows)`` for every distinct activation among ``nodes``."""
    specs = [s.activations[i] for i in nodes.tolist()]
    out = []
    for spec in dict.fromkeys(specs):
        rows = torch.tensor([k for k, sp in enumerate(specs) if sp == spec], dtype=torch.long)
        out.append((parse_activation(spec), rows.to(dev)))
    return out
