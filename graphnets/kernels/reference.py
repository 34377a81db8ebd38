"""A per-neuron reference evaluator of the GraphNet semantics (``../shared/DESIGN.md``).

One gather and one dot product per node, in topological order, with torch autograd: slow and
obviously right. It reads only ``net.structure``, ``net.weight`` and ``net.bias``. Tests compare
every kernel with it; ``benchmarks/`` time against it.
"""

from __future__ import annotations

import torch

from ..core.activations import parse_activation

__all__ = ["evaluate"]


def evaluate(net, x: torch.Tensor) -> torch.Tensor:
    """``net(x)`` computed neuron by neuron: ``a_i = act_i(b_i + Σ_j w_ji a_j)``.

    Example:
        >>> import torch, graphnets
        >>> net = graphnets.mlp([3, 4, 2], seed=0)
        >>> x = torch.randn(5, 3)
        >>> torch.allclose(evaluate(net, x), net(x), atol=1e-6)
        True
    """
    s = net.structure
    src, dst = s.edge_index
    order = sorted(range(s.num_nodes), key=lambda i: s.level[i])
    incoming: list[list[int]] = [[] for _ in range(s.num_nodes)]
    for e, d in enumerate(dst.tolist()):
        incoming[d].append(e)
    acts = [parse_activation(a) for a in s.activations]
    a: list[torch.Tensor | None] = [None] * s.num_nodes
    for k, i in enumerate(s.inputs.tolist()):
        a[i] = x[:, k]
    is_input = set(s.inputs.tolist())
    for i in order:
        if i in is_input:
            continue
        es = torch.tensor(incoming[i], dtype=torch.long)
        z = net.bias[i].expand(x.shape[0])
        if es.numel():
            srcs = torch.stack([a[j] for j in src[es].tolist()], dim=1)  # [B, fan_in]
            z = z + srcs @ net.weight[es]
        a[i] = acts[i].forward(z)
    return torch.stack([a[o] for o in s.outputs.tolist()], dim=1)
