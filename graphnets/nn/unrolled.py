"""Unrolling a recurrent GraphNet in time: a graph edit whose result keeps its weights tied.

:func:`unroll` builds ``T`` copies of the nodes, the delay-0 edges inside every copy, and every
delayed edge ``u -> v`` of delay ``d`` joining ``(u, t - d)`` to ``(v, t)``. The result, an
:class:`UnrolledNet`, holds the recurrent net it came from (composition, not a subclass of
GraphNet): its ``weight`` and ``bias`` are gathered from the source's parameters at every use,
so gradients of the copies of an edge accumulate to the one weight, and training either trains
both. It is an ordinary feed-forward graph for the scheduler, so every kernel applies to it.

When the source is edited, the unrolled net follows: it is unrolled again from the source's
new structure the next time it is used.
"""

from __future__ import annotations

import numpy as np
import torch

from .._util.checks import positive_int
from ..core.structure import Structure
from ..kernels import check_kernel
from .base import BaseGraphNet
from .graphnet import GraphNet
from .history import KINDS
from .recurrent import check_state, state_layout

__all__ = ["unroll", "unrolled_structure", "UnrolledNet", "MAX_SIZE"]

#: The most nodes plus edges :func:`unroll` builds (above it, step with ``net.run``).
MAX_SIZE = 50_000_000

#: Edits of a GraphNet, which an unrolled net refuses (edit its source instead).
EDITS = (*KINDS, "prune_dead", "reset_parameters")


def unroll(
    net, steps: int, *, state_inputs: bool = False, kernel: str | None = None
) -> UnrolledNet:
    """Unroll a recurrent GraphNet for ``steps`` time steps into a feed-forward GraphNet.

    Node ``v`` at step ``t`` becomes node ``(v, t)``. Every delay-0 edge ``u -> v`` is copied
    into every step, every delayed edge ``u -> v`` of delay ``d`` joins ``(u, t - d)`` to
    ``(v, t)``. All copies of an edge share one weight, the recurrent net's (``weight`` of the
    result is gathered from it at every use, so training the unrolled net trains the recurrent
    one, and the gradient of a shared weight is the sum over its copies).

    Args:
        net (GraphNet): the recurrent net (a feed-forward net unrolls to ``steps`` independent
            copies).
        steps (int): number of time steps ``T >= 1``.
        state_inputs (bool): whether the initial state is an input: if ``True`` the unrolled net
            has ``S`` more inputs after the ``T * n_inputs`` sequence columns, labelled
            ``(label, -lag)`` and ordered as ``net.state_labels``; if ``False`` the initial
            state is zero and delayed edges reaching back before step 0 are left out
            (default: ``False``).
        kernel (str, optional): kernel of the unrolled net's schedule (default: the net's).

    Shapes:
        - **input:** ``x [B, T * n_inputs (+ S)]``, columns step-major: ``x[:, t * n_in + k]``
          is input ``k`` at step ``t``
        - **output:** ``[B, T * n_outputs]``, step-major; :meth:`UnrolledNet.run` takes and
          gives ``[T, B, ·]`` sequences instead

    Example:
        >>> import torch, graphnets
        >>> ei = torch.tensor([[0, 1, 1], [1, 1, 2]])
        >>> net = graphnets.from_edges(ei, 3, [0], [2], delay=[0, 1, 0], seed=0)
        >>> unrolled = graphnets.unroll(net, 4)
        >>> unrolled.num_nodes, unrolled.num_edges, unrolled.depth
        (12, 11, 6)
        >>> x = torch.randn(4, 2, 1)
        >>> torch.allclose(unrolled.run(x), net.run(x))
        True
    """
    if not isinstance(net, GraphNet):
        raise TypeError(f"expected a GraphNet to unroll, got {type(net).__name__}")
    steps = positive_int(steps, "steps")
    kernel = check_kernel(net.kernel if kernel is None else kernel)
    size = steps * (net.num_nodes + net.num_edges)
    if size > MAX_SIZE:
        raise ValueError(
            f"unrolling this net ({net.num_nodes:,} nodes, {net.num_edges:,} edges) for {steps:,} "
            f"steps would build {size:,} nodes and edges (more than {MAX_SIZE:,}); use "
            "net.run(x), which steps through time in constant memory, or fewer steps"
        )
    return UnrolledNet(net, steps, state_inputs=state_inputs, kernel=kernel)


def unrolled_structure(
    s: Structure, steps: int, state_inputs: bool
) -> tuple[Structure, torch.Tensor, torch.Tensor]:
    """The structure of ``s`` unrolled for ``steps`` steps, the recurrent edge behind every
    edge, and the recurrent node behind every node (``N`` for initial-state inputs)."""
    T, n = int(steps), s.num_nodes
    src, dst = s.edge_index.numpy()
    delay = s.delay.numpy()
    t = np.arange(T)[:, None]
    t_src = t - delay[None, :]  # [T, E]: the step each copy's source belongs to
    keep = t_src >= 0
    u_src = t_src * n + src[None, :]
    slots, first = state_layout(s)
    if state_inputs:
        # a_u(t - d) with t - d < 0 is the initial state's (u, lag d - t)
        before = ~keep
        u_src = np.where(before, T * n + first[src][None, :] + (-t_src) - 1, u_src)
        keep = np.ones_like(keep)
    e_src = u_src[keep]
    e_dst = (t * n + dst[None, :])[keep]
    edge_source = np.broadcast_to(np.arange(src.size)[None, :], keep.shape)[keep]
    S = slots.shape[0] if state_inputs else 0
    labels = [(lab, k) for k in range(T) for lab in s.labels]
    if state_inputs:
        labels += [(s.labels[u], -int(lag)) for u, lag in slots.tolist()]
    inputs = (np.arange(T)[:, None] * n + s.inputs.numpy()[None, :]).reshape(-1)
    inputs = np.concatenate([inputs, T * n + np.arange(S)])
    outputs = (np.arange(T)[:, None] * n + s.outputs.numpy()[None, :]).reshape(-1)
    structure = Structure(
        torch.from_numpy(np.stack([e_src, e_dst])),
        labels,
        torch.from_numpy(inputs),
        torch.from_numpy(outputs),
        s.activations * T + ("identity",) * S,
    )
    node_source = np.concatenate([np.tile(np.arange(n), T), np.full(S, n)])  # n: a zero bias
    return structure, torch.from_numpy(edge_source.copy()), torch.from_numpy(node_source)


class UnrolledNet(BaseGraphNet):
    """A recurrent GraphNet unrolled in time: a feed-forward net whose weights are tied to it.

    Built by :func:`unroll`. ``weight`` and ``bias`` are gathered from the recurrent net's
    parameters on every access; :meth:`parameters` yields the recurrent net's own ``weight``
    and ``bias``, so an optimizer over either net trains both. Edits raise ``TypeError`` (edit
    ``source``: the unrolled net follows); :meth:`save` writes an ordinary (untied) GraphNet with
    the current weights.

    Attributes:
        source (GraphNet): the recurrent net.
        steps (int): ``T``.
        state_inputs (bool): whether the initial state is an input (see :func:`unroll`).
        edge_source (LongTensor): ``[E_T]``, the recurrent net's edge behind every edge.
        node_source (LongTensor): ``[N_T]``, the recurrent net's node behind every node
            (``N`` for initial-state inputs).
    """

    def __init__(
        self, source: GraphNet, steps: int, *, state_inputs: bool = False, kernel: str = "auto"
    ) -> None:
        super().__init__()
        self.source = source
        self.steps = positive_int(steps, "steps")
        self.state_inputs = bool(state_inputs)
        self._kernel = check_kernel(kernel)
        self._built_for: Structure | None = None
        self._sync()

    def _sync(self) -> None:
        """Unroll again if the source's structure changed since the last unrolling."""
        src = self.source.structure
        if self._built_for is src:
            return
        structure, edge_source, node_source = unrolled_structure(src, self.steps, self.state_inputs)
        dev = self.source.weight.device
        self._structure = structure
        self.register_buffer("edge_source", edge_source.to(dev), persistent=False)
        self.register_buffer("node_source", node_source.to(dev), persistent=False)
        self._built_for = src
        self._schedule = None
        self.compile(self._kernel)

    @property
    def structure(self) -> Structure:  # type: ignore[override]
        """The unrolled structure (of the source's current structure)."""
        self._sync()
        return self._structure

    def _reference(self) -> torch.Tensor:
        return self.source.weight

    @property
    def weight(self) -> torch.Tensor:  # type: ignore[override]
        """``[E_T]`` edge weights, gathered from ``source.weight`` (differentiable)."""
        self._sync()
        return self.source.weight[self.edge_source]

    @property
    def bias(self) -> torch.Tensor:  # type: ignore[override]
        """``[N_T]`` node biases, gathered from ``source.bias`` (differentiable)."""
        self._sync()
        b = self.source.bias
        return torch.cat([b, b.new_zeros(1)])[self.node_source]

    def run(
        self, x: torch.Tensor, state: torch.Tensor | None = None, *, batch_first: bool = False
    ) -> torch.Tensor:
        """Evaluate on a sequence ``x [T, B, n_in]`` (``[B, T, n_in]`` with ``batch_first``).

        ``state [B, S]`` is the initial state (only with ``state_inputs=True``). Returns
        ``[T, B, n_out]`` (or ``[B, T, n_out]``).
        """
        n_in = self.source.structure.inputs.numel()
        n_out = self.source.structure.outputs.numel()
        T = self.steps
        want = f"[B, {T}, {n_in}]" if batch_first else f"[{T}, B, {n_in}]"
        if (
            not isinstance(x, torch.Tensor)
            or x.dim() != 3
            or x.shape[-1] != n_in
            or x.shape[1 if batch_first else 0] != T
        ):
            got = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"expected a sequence of shape {want} (the net was unrolled for "
                f"{T} steps), got {got}"
            )
        if not batch_first:
            x = x.transpose(0, 1)
        B = x.shape[0]
        flat = x.reshape(B, T * n_in)
        if self.state_inputs:
            S = self.structure.inputs.numel() - T * n_in
            state = flat.new_zeros(B, S) if state is None else check_state(self.source, state, B)
            flat = torch.cat([flat, state], 1)
        elif state is not None:
            raise ValueError(
                "this net was unrolled with state_inputs=False, so its initial "
                "state is zero; unroll with state_inputs=True to pass one"
            )
        y = self.forward(flat).reshape(B, T, n_out)
        return y if batch_first else y.transpose(0, 1)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name in EDITS:
                raise TypeError(
                    f"cannot {name} an unrolled net: its weights are tied to the recurrent net "
                    f"it was unrolled from; edit that net (unrolled.source.{name}(...)) and the "
                    "unrolled net follows"
                ) from None
            raise

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, steps={self.steps}, tied to {self.source.num_edges} weights"
        )
