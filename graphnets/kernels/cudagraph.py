"""The GPU executor: a net's forward and backward captured as CUDA graphs and replayed.

On a GPU the level-wise kernels are launch-bound on deep graphs: a level costs ~10-20 kernel
launches of ~5 µs each whatever its size, so the 405 levels of ``benchmarks/bench_deep.py`` spend
tens of milliseconds launching microseconds of work. :class:`CudaGraphed` records one forward and
one backward of the net (with :func:`torch.cuda.make_graphed_callables`) and then replays each as
one graph launch per call.

What a capture needs, and how it is kept:

* **no host synchronisation inside a step.** The only one of the level-wise kernels is the check
  of an incomplete dense block for a NaN leaked through a missing edge (``0 · inf``); the
  schedule is therefore compiled with ``capturable=True``
  (:func:`~graphnets.compile_schedule`), which runs every incomplete block as CSR (or
  scatter for dtypes without a CSR product) instead. Complete dense blocks, CSR and scatter
  levels synchronise nowhere.
* **fixed addresses.** The graphs read the parameters, and the static input buffer that each
  call copies ``x`` into, where they were at capture. An optimizer step writes the parameters in
  place and is seen by the next replay; an edit replaces the structure, the schedule and the
  parameter storage, so the graphs are **captured again on the next call after an edit** (and
  for a new batch shape, dtype, or ``x.requires_grad``). Each capture costs a few warm-up steps.
* **first-order gradients.** A replayed backward cannot build a differentiable graph: a
  ``create_graph=True`` gradient (a penalty on the gradient, a Hessian-vector product) needs the
  net itself.

Off CUDA (a CPU tensor, or no GPU) a :class:`CudaGraphed` simply calls the net: the CPU
fallback, identical results.

Not yet measured on a GPU: no GPU was available where this was written. ``benchmarks/bench_gpu.py``
is the script that measures it (dense MLP vs ``nn.Sequential``, 90/99% sparse nets, the deep DAG
vs the per-neuron loop).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["CudaGraphed"]


class _Step(nn.Module):
    """The net's evaluation on a fixed schedule, sharing the net's parameters (not copies)."""

    def __init__(self, weight: nn.Parameter, bias: nn.Parameter, sched: Any) -> None:
        super().__init__()
        self.weight = weight
        self.bias = bias
        self.sched = sched

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from . import run

        return run(x, self.weight, self.bias, self.sched)


class CudaGraphed(nn.Module):
    """A feed-forward :class:`~graphnets.GraphNet` whose forward and backward replay CUDA graphs.

    Call it like the net (``y = graphed(x)``; ``loss.backward()`` fills ``net.weight.grad`` and
    ``net.bias.grad``). Train with an optimizer over ``net.parameters()`` as usual.

    Args:
        net (GraphNet): a feed-forward net; on CUDA for graphs to be captured.
        warmup (int): eager steps run on a side stream before each capture, as
            :func:`torch.cuda.make_graphed_callables` requires (default: 3).

    Example:
        >>> import graphnets, torch
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> graphed = graphnets.CudaGraphed(net)  # on CPU: the net itself runs
        >>> x = torch.randn(5, 4)
        >>> torch.equal(graphed(x), net(x))
        True
    """

    net: Any  # a GraphNet (the kernels layer does not import graphnets.nn)
    _graphed: Any

    def __init__(self, net: Any, warmup: int = 3) -> None:
        super().__init__()
        if net.structure.is_recurrent:
            raise ValueError(
                "CudaGraphed captures feed-forward nets; a recurrent net runs with net.run"
            )
        self.net = net
        self.warmup = int(warmup)
        self._key: tuple | None = None
        self._graphed = None
        #: How many times the graphs were captured (once, then once after each edit).
        self.captures = 0

    def _capture_key(self, x: torch.Tensor) -> tuple:
        net = self.net
        return (
            id(net.schedule),
            net.weight.data_ptr(),
            net.bias.data_ptr(),
            tuple(x.shape),
            x.dtype,
            x.device,
            x.requires_grad,
        )

    def _capture(self, x: torch.Tensor) -> None:
        from . import compile_schedule

        net = self.net
        sched = compile_schedule(
            net.structure.feedforward()[0],
            "levelwise" if net.kernel in ("auto", "fused") else net.kernel,
            x.device,
            net.weight.dtype,
            capturable=True,
        )
        step = _Step(net.weight, net.bias, sched)
        sample = torch.zeros_like(x).requires_grad_(x.requires_grad)
        self._graphed = torch.cuda.make_graphed_callables(
            step, (sample,), num_warmup_iters=self.warmup
        )
        # the warm-up steps' gradients are not the caller's
        net.weight.grad = None
        net.bias.grad = None
        self.captures += 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``net(x)``, replayed from CUDA graphs when ``x`` is on a CUDA device."""
        if x.device.type != "cuda" or not torch.is_grad_enabled() or x.dim() != 2:
            return self.net(x)
        x = self.net._check_x(x)
        key = self._capture_key(x)
        if key != self._key:
            grads = (self.net.weight.grad, self.net.bias.grad)
            self._capture(x)
            self.net.weight.grad, self.net.bias.grad = grads
            self._key = key
        return self._graphed(x)
