"""Dense layered nets: the multilayer perceptron as a graph of neurons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..core.activations import parse_activation
from ..core.structure import layered
from ..nn.graphnet import GraphNet

__all__ = ["mlp"]


def mlp(
    sizes: Sequence[int],
    *,
    activation: str = "relu",
    output_activation: str | None = None,
    seed: int | torch.Generator | None = None,
    kernel: str = "auto",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> GraphNet:
    """The dense layered net with layer sizes ``sizes`` (inputs first, outputs last).

    Nodes are labelled ``(layer, unit)``, layer 0 being the inputs. The edges are already in
    schedule order, so every layer runs as one ``addmm`` on a view of ``weight``.

    Args:
        sizes (list of int): layer sizes, at least two.
        activation (str): activation of the hidden nodes (default: ``"relu"``); checked even
            when there are none.
        output_activation (str, optional): activation of the outputs (default: ``None``,
            linear).
        seed, kernel: as in :func:`graphnets.from_networkx`.
        dtype (torch.dtype, optional): the parameters' dtype (default: torch's default dtype).
        device (torch.device or str, optional): the parameters' device (default: CPU).

    Example:
        >>> import graphnets, torch
        >>> net = graphnets.mlp([784, 300, 100, 10], seed=0)
        >>> net.num_edges, net.depth
        (266200, 4)
        >>> graphnets.mlp([4, 2], dtype=torch.float64).weight.dtype
        torch.float64
    """
    sizes = list(sizes)
    if len(sizes) < 2 or not all(
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k > 0 for k in sizes
    ):
        raise ValueError(
            f"sizes must list at least two positive ints (inputs, ..., outputs), got {sizes!r}"
        )
    hidden = parse_activation(activation).spec  # checked even without a hidden layer
    acts = [hidden] * (len(sizes) - 2) + [parse_activation(output_activation).spec]
    return GraphNet(layered(sizes, acts), seed=seed, kernel=kernel, dtype=dtype, device=device)
