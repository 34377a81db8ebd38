"""A net as a ``torch_geometric.data.Data``: the graph and structural node features.

:func:`to_pyg` is the input of :class:`~graphnets.methods.predict.regressor.GraphRegressor`:
node features that describe each neuron's place in the graph (see :data:`FEATURES`), and the
net's own ``edge_index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ...core.activations import ACTIVATIONS, parse_activation
from ...nn.base import BaseGraphNet

if TYPE_CHECKING:
    from torch_geometric.data import Data

__all__ = ["FEATURES", "to_pyg", "check_nets", "pyg"]

#: Names of the columns of ``to_pyg(net).x``, in order.
FEATURES: tuple[str, ...] = (
    "is_input",
    "is_hidden",
    "is_output",
    "level",
    "in_degree",
    "out_degree",
    *(f"act_{a}" for a in ACTIVATIONS),
)
_ACT_INDEX = {a: i for i, a in enumerate(ACTIVATIONS)}


def pyg():
    """``torch_geometric``, imported on first use: it takes over a second to import, too long
    to add to every ``import graphnets`` (and so to every CLI call)."""
    import torch_geometric.data
    import torch_geometric.nn

    return torch_geometric


def to_pyg(net: BaseGraphNet, *, weights: bool = False) -> Data:
    r"""The graph of ``net`` as a ``torch_geometric.data.Data`` with structural node features.

    Node ``i`` gets the features :data:`FEATURES`:

    - ``is_input``, ``is_hidden``, ``is_output``: its role, one-hot;
    - ``level``: ``level_i / max_j level_j`` (0 if the net has a single level), in ``[0, 1]``;
    - ``in_degree``, ``out_degree``: ``log(1 + degree)``;
    - ``act_<name>``: its activation, one-hot over :data:`graphnets.ACTIVATIONS` (by name, so
      ``leaky_relu(0.2)`` counts as ``leaky_relu``).

    ``edge_index`` is the net's own (row 0 the source), edge ``e`` being the net's edge ``e``.

    Args:
        net: the net to convert.
        weights: also set ``edge_attr`` to the edge weights, detached, as float32
            (default: ``False``).

    Shapes:
        - **x:** ``[N, len(FEATURES)]`` float32
        - **edge_index:** ``[2, E]``
        - **edge_attr** (with ``weights=True``): ``[E, 1]``

    Raises:
        TypeError: if ``net`` is not a :class:`~graphnets.GraphNet`.

    Example:
        >>> import graphnets
        >>> data = to_pyg(graphnets.mlp([3, 4, 2], seed=0), weights=True)
        >>> data.x.shape, data.edge_index.shape, data.edge_attr.shape
        (torch.Size([9, 15]), torch.Size([2, 20]), torch.Size([20, 1]))
    """
    if not isinstance(net, BaseGraphNet):
        raise TypeError(f"expected a graphnets GraphNet, got {type(net).__name__}")
    s = net.structure
    n = s.num_nodes
    src, dst = s.edge_index
    x = torch.zeros(n, len(FEATURES))
    x[:, 1] = 1.0
    x[s.inputs, 0], x[s.inputs, 1] = 1.0, 0.0
    x[s.outputs, 2], x[s.outputs, 1] = 1.0, 0.0
    level = torch.as_tensor(s.level, dtype=torch.float32)
    x[:, 3] = level / level.max() if n and level.max() > 0 else 0.0
    x[:, 4] = torch.log1p(torch.bincount(dst, minlength=n).float())
    x[:, 5] = torch.log1p(torch.bincount(src, minlength=n).float())
    names = {a: _ACT_INDEX[parse_activation(a).name] for a in set(s.activations)}
    act = torch.tensor([names[a] for a in s.activations], dtype=torch.long)
    x[torch.arange(n), 6 + act] = 1.0
    data = pyg().data.Data(x=x, edge_index=s.edge_index.clone(), num_nodes=n)
    if weights:
        data.edge_attr = net.weight.detach().to(torch.float32).reshape(-1, 1).clone()
    return data


def check_nets(nets: Sequence[BaseGraphNet]) -> list[BaseGraphNet]:
    """``nets`` as a list, or the error that says which entry is not a net."""
    if isinstance(nets, BaseGraphNet) or not isinstance(nets, Sequence):
        raise TypeError(f"expected a sequence of GraphNets, got {type(nets).__name__}")
    for i, net in enumerate(nets):
        if not isinstance(net, BaseGraphNet):
            raise TypeError(
                f"expected a sequence of GraphNets, got {type(net).__name__} at position {i}"
            )
    if len(nets) == 0:
        raise ValueError("expected at least one net, got an empty sequence")
    return list(nets)
