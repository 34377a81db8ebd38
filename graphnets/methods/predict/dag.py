r"""A DAG-aware encoder: message passing in topological order, forward and then in reverse.

As in D-VAE (Zhang et al. 2019) and DAGNN (Thost & Chen 2021): instead of updating every node at
once from its neighbours' *previous* states, the nodes are updated level by level (the level
schedule of graphnets: level 0 = sources, a node's level is one more than its deepest
predecessor's), so a node reads its predecessors' states *after* they were updated and one sweep
carries information along every path, however long. A second sweep runs on the reversed graph
(by reverse level: longest path to a sink), so every node also sees what lies downstream.

At level :math:`l` of a sweep, for every node :math:`i` of that level,

.. math::
    m_i = \operatorname{mean}_{j \to i} \mathrm{ReLU}\bigl(W [h_j, e_{ji}] + b\bigr), \qquad
    h_i \leftarrow \mathrm{GRU}(m_i, h_i)

(the reverse sweep uses :math:`i \to j` and its own weights). Nodes at level 0 of a sweep keep
their state. ``rounds`` repeats the forward-then-reverse pair.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DagEncoder"]


def _schedule(
    level: torch.Tensor, receiver: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For every level ``l >= 1``: the nodes of that level and the edges into them."""
    if level.numel() == 0:
        return []
    top = int(level.max())
    if top == 0:
        return []
    node_order = torch.argsort(level, stable=True)
    node_counts = torch.bincount(level, minlength=top + 1).tolist()
    edge_level = level[receiver]
    edge_order = torch.argsort(edge_level, stable=True)
    edge_counts = torch.bincount(edge_level, minlength=top + 1).tolist()
    nodes = torch.split(node_order, node_counts)
    edges = torch.split(edge_order, edge_counts)
    return [(nodes[lv], edges[lv]) for lv in range(1, top + 1)]


class DagEncoder(nn.Module):
    """Forward and reverse topological sweeps with GRU updates (see the module docstring).

    Args:
        hidden (int): width of the node states.
        edge_dim (int): width of the edge features.
        rounds (int): forward-then-reverse sweeps (default: ``1``).

    Shapes:
        - **h:** ``[N, hidden]``; **edge_index:** ``[2, E]``; **edge_attr:** ``[E, edge_dim]``;
          **level**, **rlevel:** ``[N]`` (ints)
        - **output:** ``[N, hidden]``
    """

    def __init__(self, hidden: int, edge_dim: int, rounds: int = 1) -> None:
        super().__init__()
        self.rounds = rounds
        self.message = nn.ModuleList(
            nn.Linear(hidden + edge_dim, hidden) for _ in range(2 * rounds)
        )
        self.update = nn.ModuleList(nn.GRUCell(hidden, hidden) for _ in range(2 * rounds))

    def _sweep(self, h, sender, receiver, edge_attr, plan, message, update):
        for nodes, edges in plan:
            if edges.numel() == 0:
                continue
            s, r = sender[edges], receiver[edges]
            msg = torch.relu(message(torch.cat([h[s], edge_attr[edges]], dim=1)))
            total = torch.zeros(h.shape[0], h.shape[1], dtype=h.dtype, device=h.device)
            total = total.index_add(0, r, msg)
            count = torch.bincount(r, minlength=h.shape[0]).clamp(min=1).to(h.dtype)
            m = total[nodes] / count[nodes, None]
            h = h.index_copy(0, nodes, update(m, h[nodes]))
        return h

    def forward(self, h, edge_index, edge_attr, level, rlevel) -> torch.Tensor:
        src, dst = edge_index
        forward_plan = _schedule(level, dst)
        reverse_plan = _schedule(rlevel, src)
        for k in range(self.rounds):
            h = self._sweep(
                h, src, dst, edge_attr, forward_plan, self.message[2 * k], self.update[2 * k]
            )
            h = self._sweep(
                h,
                dst,
                src,
                edge_attr,
                reverse_plan,
                self.message[2 * k + 1],
                self.update[2 * k + 1],
            )
        return h
