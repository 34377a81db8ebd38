r"""Zero-cost proxies: numbers of an untrained net that hint at how well it will train.

:func:`synflow` is the one used as a baseline by :func:`~graphnets.predict.compare` and as a
graph-level feature by :class:`~graphnets.predict.GraphEncoder` (``graph_features="properties"``).
"""

from __future__ import annotations

import copy

import torch

from ...nn.graphnet import GraphNet

__all__ = ["synflow"]


def synflow(net: GraphNet) -> float:
    r"""The SynFlow score of Tanaka et al. (2020) of a net, as a zero-cost proxy.

    On a float64 copy of ``net`` (``net`` itself is left alone) every parameter is replaced by
    its absolute value (``θ ← |θ|``, biases included, as the paper's ``linearize``); the input is
    one all-ones row; with :math:`R = \sum_k f_k(\mathbf{1})` the sum of the outputs,

    .. math::
        S = \sum_{e} \frac{\partial R}{\partial w_e}\, w_e

    over the edge weights (the prunable parameters, as in the paper and in the zero-cost proxies
    of Abdelfattah et al. 2021; biases are not scored). For a ReLU net with zero biases this is
    (path count weighted by ``Π |w|``) × path length summed over input–output paths. float64 keeps
    deep nets from overflowing.

    Args:
        net (GraphNet): an (untrained) net.

    Returns:
        float: ``S`` (``≥ 0`` for activations that are non-decreasing and non-negative on
        non-negative inputs, such as ReLU).

    Raises:
        TypeError: if ``net`` is not a GraphNet.

    Example:
        >>> import graphnets
        >>> import torch
        >>> net = graphnets.from_edges(torch.tensor([[0, 1], [1, 2]]), 3, [0], [2],
        ...                            weight=[2.0, -3.0])
        >>> synflow(net)  # R = 6 (linear output), ∂R/∂w · w = 6 for both edges
        12.0
    """
    if not isinstance(net, GraphNet):
        raise TypeError(f"expected a graphnets GraphNet, got {type(net).__name__}")
    with torch.enable_grad():  # also inside no_grad (GraphRegressor.predict encodes graphs)
        return _synflow(net)


def _synflow(net: GraphNet) -> float:
    twin = copy.deepcopy(net).to(torch.float64)
    with torch.no_grad():
        for p in twin.parameters():
            p.abs_()
    x = torch.ones(1, twin.structure.inputs.numel(), dtype=torch.float64, device=twin.weight.device)
    (grad,) = torch.autograd.grad(twin(x).sum(), [twin.weight], allow_unused=True)
    if grad is None:  # no edge reaches an output
        return 0.0
    return float((grad * twin.weight).sum().detach())
