"""Fan-in initialisation of edge weights, used by every builder and by ``add_edges``.

``w ~ U(-√3·g/√fan_in, √3·g/√fan_in)`` per edge, with ``fan_in`` the in-degree of the edge's
destination and ``g`` the gain of the destination's activation (``torch.nn.init.calculate_gain``:
√2 for ReLU, 5/3 for tanh, 1 for identity / sigmoid), so activations keep their scale through
deep sparse graphs whatever the fan-in of a node.
"""

from __future__ import annotations

import math

import torch

from .._util.seeds import Seed, generator
from .activations import parse_activation
from .structure import Structure

__all__ = ["fan_in_init"]


def fan_in_init(structure: Structure, seed: Seed = None, first: int = 0) -> torch.Tensor:
    """Fan-in initial weights (``float64``) of edges ``first:`` of ``structure``.

    The fan-in counts every edge of ``structure``, so new edges appended by an edit are drawn
    for the in-degrees they end up with.

    Example:
        >>> from graphnets.core.structure import layered
        >>> w = fan_in_init(layered([4, 1], ["identity"]), seed=0)
        >>> bool((w.abs() <= math.sqrt(3.0) / 2).all())
        True
    """
    gen = generator(seed)
    dst = structure.edge_index[1]
    fan_in = torch.bincount(dst, minlength=structure.num_nodes).clamp(min=1).to(torch.float64)
    gains = {a: parse_activation(a).gain for a in set(structure.activations)}
    gain = torch.tensor([gains[a] for a in structure.activations], dtype=torch.float64)
    bound = (math.sqrt(3.0) * gain / fan_in.sqrt())[dst[first:]]
    u = torch.rand(bound.numel(), generator=gen, dtype=torch.float64)
    return (2 * u - 1) * bound
