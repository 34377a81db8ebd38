r"""Zero-cost proxies: numbers of an untrained net that hint at how well it will train.

- :func:`synflow` (Tanaka et al. 2020) needs no data: an all-ones input through ``|θ|``;
- :func:`snip` (Lee et al. 2019), :func:`grad_norm` and :func:`jacob_cov` (Mellor et al. 2021)
  read one data batch ``(x, labels)``, with the definitions of the zero-cost proxies of
  Abdelfattah et al. (2021, "Zero-Cost Proxies for Lightweight NAS").

All are computed on a float64 copy (the net is left alone); the batch proxies take ``seed`` to
re-initialise that copy first, so a trained net is scored at initialisation, deterministically.
They are baselines of :func:`~graphnets.predict.compare` and graph-level features of
:class:`~graphnets.predict.GraphEncoder` (``graph_features="properties"`` for SynFlow,
``"proxies"`` for all four).
"""

from __future__ import annotations

import copy

import torch

from ...nn.graphnet import GraphNet

__all__ = ["synflow", "snip", "grad_norm", "jacob_cov", "PROXIES"]

#: The zero-cost proxies, in the order of their feature columns.
PROXIES: tuple[str, ...] = ("synflow", "snip", "grad_norm", "jacob_cov")


def synflow(net: GraphNet, *, seed: int | None = None) -> float:
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
        seed (int, optional): when given, the copy is first re-initialised from it, as in
            :func:`snip` (default: ``None``: the net's own weights).

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
        return _synflow(net, seed)


def _synflow(net: GraphNet, seed: int | None) -> float:
    twin = _twin(net, seed)
    with torch.no_grad():
        for p in twin.parameters():
            p.abs_()
    x = torch.ones(1, twin.structure.inputs.numel(), dtype=torch.float64, device=twin.weight.device)
    (grad,) = torch.autograd.grad(twin(x).sum(), [twin.weight], allow_unused=True)
    if grad is None:  # no edge reaches an output
        return 0.0
    return float((grad * twin.weight).sum().detach())


def _check_batch(net: GraphNet, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, labels)`` of ``batch`` as float64 inputs and int64 labels, checked against ``net``."""
    if not isinstance(net, GraphNet):
        raise TypeError(f"expected a graphnets GraphNet, got {type(net).__name__}")
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(f"batch must be a pair (x, labels) of tensors, got {type(batch).__name__}")
    x, labels = (torch.as_tensor(v) for v in batch)
    n_in, n_out = net.structure.inputs.numel(), net.structure.outputs.numel()
    if x.dim() != 2 or x.shape[1] != n_in or x.shape[0] < 2:
        raise ValueError(
            f"batch x must be [B, {n_in}] (the net's inputs) with B >= 2, got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(f"batch x must be a floating tensor, got {x.dtype}")
    if labels.shape != (x.shape[0],) or labels.is_floating_point():
        raise ValueError(
            f"batch labels must be [B] = [{x.shape[0]}] integer class indices, got "
            f"{tuple(labels.shape)} {labels.dtype}"
        )
    if x.shape[0] and (int(labels.min()) < 0 or int(labels.max()) >= n_out):
        raise ValueError(
            f"batch labels must be class indices in 0..{n_out - 1} (one per output), got "
            f"{int(labels.min())}..{int(labels.max())}"
        )
    return x.to(torch.float64), labels.to(torch.int64)


def _twin(net: GraphNet, seed: int | None) -> GraphNet:
    """A float64 copy of ``net``, re-initialised from ``seed`` (in the net's own dtype, so the
    weights are those the net would get) when one is given."""
    twin = copy.deepcopy(net)
    if seed is not None:
        twin.reset_parameters(seed=seed)
    return twin.to(torch.float64)


def _loss_grad(net: GraphNet, batch, seed: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The edge weights of the (re-initialised) float64 copy and ``∂L/∂w`` of the mean
    cross-entropy ``L`` over ``batch``."""
    x, labels = _check_batch(net, batch)
    twin = _twin(net, seed)
    with torch.enable_grad():
        loss = torch.nn.functional.cross_entropy(twin(x), labels)
        (grad,) = torch.autograd.grad(loss, [twin.weight], allow_unused=True)
    w = twin.weight.detach()
    return w, torch.zeros_like(w) if grad is None else grad.detach()


def snip(net: GraphNet, batch, *, seed: int | None = None) -> float:
    r"""The SNIP saliency of Lee et al. (2019), summed over the edges: a zero-cost proxy.

    As in the zero-cost proxies of Abdelfattah et al. (2021, "Zero-Cost Proxies for
    Lightweight NAS", ``snip``): with :math:`L` the mean cross-entropy of the net's outputs
    (read as logits) over one data batch,

    .. math::
        S = \sum_e \left| w_e \frac{\partial L}{\partial w_e} \right|

    over the edge weights (biases are not scored). Computed on a float64 copy; ``net`` is left
    alone.

    Args:
        net (GraphNet): the net, one output per class.
        batch (tuple): ``(x, labels)``: inputs ``[B, inputs]`` (floating, ``B >= 2``) and
            integer class labels ``[B]`` in ``0 .. outputs - 1``.
        seed (int, optional): when given, the copy is first re-initialised with
            :meth:`~graphnets.GraphNet.reset_parameters` from it, so the score is that of the
            net at initialisation whatever its weights (default: ``None``: its own weights).

    Returns:
        float: ``S >= 0``.

    Raises:
        TypeError: if ``net`` is not a GraphNet or ``batch`` not a pair of tensors.
        ValueError: if ``x`` or ``labels`` do not fit the net (shapes, class range).
    """
    w, grad = _loss_grad(net, batch, seed)
    return float((w * grad).abs().sum())


def grad_norm(net: GraphNet, batch, *, seed: int | None = None) -> float:
    r"""The gradient norm of Abdelfattah et al. (2021) (``grad_norm``): a zero-cost proxy.

    .. math::
        G = \left\lVert \frac{\partial L}{\partial w} \right\rVert_2

    the Euclidean norm of the gradient of the mean cross-entropy :math:`L` over one data batch
    with respect to the edge weights. Abdelfattah et al. sum the norms of each layer's weight
    gradient; a GraphNet has one weight vector (its edges), so the sum has one term. Arguments,
    errors and the float64 copy as :func:`snip`.

    Returns:
        float: ``G >= 0``.
    """
    _, grad = _loss_grad(net, batch, seed)
    return float(grad.norm())


def jacob_cov(net: GraphNet, batch, *, seed: int | None = None, k: float = 1e-5) -> float:
    r"""The Jacobian covariance score of Mellor et al. (2021, "Neural Architecture Search
    without Training", first version), as in the zero-cost proxies of Abdelfattah et al. (2021,
    ``jacob_cov``): a zero-cost proxy.

    For every input row :math:`x_i` of the batch, :math:`J_i = \partial \bigl(\sum_k f_k(x_i)
    \bigr) / \partial x_i` (the input gradient of the summed outputs, ``[inputs]``); with
    :math:`\Sigma` the correlation matrix ``[B, B]`` of the rows :math:`J_i`
    (``numpy.corrcoef``) and :math:`\lambda_j` its eigenvalues,

    .. math::
        C = -\sum_j \left[\log(\lambda_j + k) + \frac{1}{\lambda_j + k}\right]

    Higher (nearer zero) when the samples' Jacobians are less correlated, i.e. the untrained net
    already tells the inputs apart. Decided here: a correlation that is undefined because a
    sample's Jacobian is constant (every path from the inputs dead at that sample) is taken
    as ``0`` (``1`` on the diagonal), so the score stays finite. The labels of ``batch`` are
    checked but not used. Arguments and the float64 copy as :func:`snip`.

    Args:
        k (float): the small constant of the score (default: ``1e-5``, as the paper's code).

    Returns:
        float: ``C`` (negative for ``B >= 2``).
    """
    import numpy as np

    x, _ = _check_batch(net, batch)
    twin = _twin(net, seed)
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():  # also inside no_grad (GraphRegressor.predict encodes graphs)
        (jac,) = torch.autograd.grad(twin(x).sum(), [x])
    j = jac.detach().numpy()
    with np.errstate(all="ignore"):
        corr = np.corrcoef(j)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))
