"""What a round needs from the batch, collected from the net's own forward and backward.

A rewirer never asks for the loss function or the data: on a step that precedes a round it arms
a forward hook on the net, which keeps the batch ``x`` and the weights of the forward and
registers a hook on the output ``y`` that keeps ``∂L/∂y`` when ``loss.backward()`` reaches it.
From these, :func:`graphnets.kernels.trace.node_errors` recomputes every node's activation ``a``
and error ``δ = ∂L/∂z`` for that batch, exactly as the backward saw them (the weights are those
of the forward, not the ones the optimizer step has since written), without autograd and in
``O(N·B + E)`` memory. Unarmed, the net carries no hook and pays nothing.

The batch kept is the last one that was both computed with gradients and backpropagated: an
evaluation under ``torch.no_grad()`` in between does not replace it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import cast

import torch

from ...core.structure import Structure
from ...kernels.trace import node_errors

__all__ = ["Batch", "Collector"]


@dataclass(frozen=True)
class Batch:
    """One forward and backward: ``x [B, n_in]``, the weights and biases of the forward, its
    structure, and ``∂L/∂y [B, n_out]``."""

    x: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    structure: Structure
    grad_output: torch.Tensor


@dataclass(frozen=True)
class _View:
    """What :func:`~graphnets.kernels.trace.trace` reads of a net."""

    structure: Structure
    weight: torch.Tensor
    bias: torch.Tensor


class Collector:
    """Keeps the last backpropagated batch of ``net`` while armed.

    Example:
        >>> import torch, graphnets
        >>> net = graphnets.mlp([3, 4, 2], seed=0)
        >>> c = Collector(net)
        >>> c.arm()
        >>> net(torch.randn(5, 3)).square().sum().backward()
        >>> c.disarm()
        >>> a, delta = c.values()
        >>> a.shape, delta.shape
        (torch.Size([5, 9]), torch.Size([5, 9]))
    """

    def __init__(self, net) -> None:
        self.net = net
        self.batch: Batch | None = None
        self._handle = None

    @property
    def armed(self) -> bool:
        return self._handle is not None

    def arm(self) -> None:
        """Start keeping batches (forgetting any kept one)."""
        self.batch = None
        if self._handle is None:
            self._handle = self.net.register_forward_hook(self._forward)

    def disarm(self) -> None:
        """Stop keeping batches (the last one stays in :attr:`batch`)."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _forward(self, module, args, output) -> None:
        if not (isinstance(output, torch.Tensor) and output.requires_grad):
            return
        w = module.weight
        x = args[0].detach().to(w.device, w.dtype)
        record = (
            x.reshape(1, -1) if x.dim() == 1 else x,
            w.detach().clone(),
            module.bias.detach().clone(),
            module.structure,
        )
        output.register_hook(functools.partial(self._backward, record))

    def _backward(self, record, grad: torch.Tensor) -> None:
        x, w, b, s = record
        self.batch = Batch(x, w, b, s, grad.detach().reshape(x.shape[0], -1))

    def values(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(a, delta)``: every node's activation and error ``∂L/∂z`` on the kept batch
        (``[B, N]`` each, node order).

        Raises:
            RuntimeError: if no batch was kept, or the net was edited since.
        """
        batch = self.batch
        if batch is None:
            raise RuntimeError(
                "no batch to rewire from: this method reads the activations and errors of the "
                "step that ends with a round from the net's forward and backward; call "
                "rewirer.step() "
                "once per step, after loss.backward() and optimizer.step(), with the loss "
                "computed from net(x) under autograd"
            )
        if batch.structure is not self.net.structure:
            raise RuntimeError(
                "the net was edited between its last backward and this round; call "
                "rewirer.step() right after optimizer.step()"
            )
        a, delta = node_errors(
            _View(batch.structure, batch.weight, batch.bias), batch.x, batch.grad_output
        )
        return a, cast(torch.Tensor, delta)  # given grad_output, the errors are computed
