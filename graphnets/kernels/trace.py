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
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.activations import parse_activation
from ..core.structure import Structure

__all__ = ["Trace", "trace"]


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
