"""Recurrent GraphNets: delayed edges, stepping through time, and unrolling as a graph edit.

An edge with delay ``d >= 1`` carries its source's value from ``d`` time steps back
(``../shared/DESIGN.md``; ``002_…`` §2 and Fig. 6c):

.. math::
    z_v(t) = b_v + \\sum_{(u \\to v,\\ 0)} w_{uv}\\, a_u(t)
                 + \\sum_{(u \\to v,\\ d \\geq 1)} w_{uv}\\, a_u(t - d),
    \\qquad a_v(t) = \\mathrm{act}_v(z_v(t))

with ``a_u(t) = x_u(t)`` for inputs and ``a_u(t) = 0`` for ``t < 0`` unless an initial state is
given. Delayed edges take no part in levelling, so the delay-0 part is evaluated as an ordinary
GraphNet at every step.

**The state** of a recurrent net is the set of past values that delayed edges still need: for
every node ``u`` with outgoing delayed edges, ``a_u(t-1), …, a_u(t-D_u)`` where ``D_u`` is the
largest delay leaving ``u``. It is one tensor ``[B, S]``; column ``j`` holds the value of
``net.state_labels[j] = (label, lag)``, ordered by node index, then lag.

**One step** runs on the *step graph*: the net with one extra input node per state column, and
every delayed edge ``u -> v`` of delay ``d`` re-attached to the state input ``(u, d)``. Edge ids,
weights and biases are the net's own, so one step is a single call of the net's kernels
(fused or level-wise) with ``[x_t, state]`` as input.

**Unrolling** (:func:`unroll`) is a graph edit: ``T`` copies of the nodes, the delay-0 edges
inside every copy, and every delayed edge joining copy ``t - d`` to copy ``t``. All copies of an
edge share the recurrent net's one weight (gathered at every forward, so gradients accumulate
to it), and the unrolled net is an ordinary feed-forward :class:`~graphnets.GraphNet` for the
scheduler, so every kernel applies to it.

Not done here: no truncated backpropagation through time (detach the state between calls of
:meth:`~graphnets.GraphNet.run` for that), no bidirectional nets.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import kernels
from .graphnet import GraphNet
from .schedule import KERNELS, Schedule, compile_schedule
from .structure import Structure

__all__ = ["StateSlot", "StepPlan", "step_plan", "step", "run", "initial_state", "unroll",
           "UnrolledNet"]


@dataclass(frozen=True)
class StateSlot:
    """Label of a state input of the step graph: node ``label``'s value ``lag`` steps back."""

    label: Hashable
    lag: int


@dataclass
class StepPlan:
    """How one time step of a recurrent structure runs (see the module docstring).

    Attributes:
        structure: the step graph (the net's nodes, then one input node per state column).
        schedule: its compiled schedule.
        slots: ``int64 [S, 2]``, ``(node index, lag)`` of every state column.
        next_state: ``[S]`` columns of ``[x_t, y_step, state]`` that form the next state.
        num_outputs: the net's own outputs (the first columns of the step graph's output).
    """

    structure: Structure
    schedule: Schedule
    slots: np.ndarray
    next_state: torch.Tensor
    num_outputs: int

    @property
    def state_size(self) -> int:
        return int(self.slots.shape[0])


def _state_layout(s: Structure) -> tuple[np.ndarray, np.ndarray]:
    """The state columns of ``s``: ``slots [S, 2]``, the ``(node, lag)`` of every column (lags
    ``1..D_u`` of every node ``u`` with delayed out-edges, ``D_u`` its largest outgoing delay),
    and ``first [N]``, so that ``first[u] + lag - 1`` is the column of ``(u, lag)``."""
    src = s.edge_index[0].numpy()
    delay = s.delay.numpy()
    longest = np.zeros(s.num_nodes, dtype=np.int64)
    rec = delay > 0
    np.maximum.at(longest, src[rec], delay[rec])
    first = np.cumsum(longest) - longest
    nodes = np.repeat(np.arange(s.num_nodes), longest)
    lags = np.arange(nodes.size) - first[nodes] + 1
    return np.stack([nodes, lags], 1).reshape(-1, 2), first


def step_plan(structure: Structure, kernel: str, device: torch.device | str,
              dtype: torch.dtype) -> StepPlan:
    """Build and compile the step graph of ``structure`` (see the module docstring)."""
    s = structure
    n, n_in, n_out = s.num_nodes, s.inputs.numel(), s.outputs.numel()
    slots, first = _state_layout(s)
    S = slots.shape[0]
    src, dst = s.edge_index.numpy()
    delay = s.delay.numpy()
    rec = delay > 0
    src = src.copy()
    src[rec] = n + first[src[rec]] + delay[rec] - 1
    inputs, outputs = s.inputs.numpy(), s.outputs.numpy()
    role = np.zeros(n, dtype=np.int64)  # 0 hidden, 1 input, 2 output
    role[inputs], role[outputs] = 1, 2
    carried = np.unique(slots[:, 0]) if S else np.zeros(0, dtype=np.int64)
    extra = carried[role[carried] == 0]  # hidden nodes whose values the state keeps
    labels = s.labels + tuple(StateSlot(s.labels[u], int(k)) for u, k in slots.tolist())
    step_structure = Structure(
        torch.from_numpy(np.stack([src, dst])), labels,
        torch.from_numpy(np.concatenate([inputs, n + np.arange(S)])),
        torch.from_numpy(np.concatenate([outputs, extra])),
        s.activations + ("identity",) * S,
    )
    # where the value a_u(t) of every carried node is found in [x_t, y_step, state]
    col = np.full(n, -1, dtype=np.int64)
    col[inputs] = np.arange(n_in)
    col[outputs] = n_in + np.arange(n_out)
    col[extra] = n_in + n_out + np.arange(extra.size)
    width = n_in + n_out + extra.size
    u, lag = slots[:, 0], slots[:, 1]
    next_state = np.where(lag == 1, col[u], width + np.arange(S) - 1)
    return StepPlan(step_structure, compile_schedule(step_structure, _step_kernel(kernel, device,
                                                                                 dtype),
                                                     device, dtype),
                    slots, torch.from_numpy(next_state).to(device), n_out)


def _step_kernel(kernel: str, device, dtype: torch.dtype) -> str:
    """``auto`` runs a step fused wherever the C++ kernel can: a step is evaluated on one time
    step's batch, many times over, so fixed per-call costs dominate, and the fused call has the
    smallest (``benchmarks/bench_recurrent.py``: 4.3 vs 7.2 ms level-wise for a 50-neuron RNN
    over 20 steps; ``auto``'s cost model, fitted on large batches, would pick level-wise)."""
    from .kernels import fused
    from .schedule import FUSED_DTYPES

    if kernel == "auto" and torch.device(device).type == "cpu" and dtype in FUSED_DTYPES \
            and fused.available():
        return "fused"
    return kernel


def _plan(net) -> StepPlan:
    """The net's step plan for its current structure, kernel, device and dtype (cached)."""
    w = net.weight
    key = (net.kernel, w.device, w.dtype)
    cached = getattr(net, "_step", None)
    if cached is None or cached[0] is not net.structure or cached[1] != key:
        plan = step_plan(net.structure, net.kernel, w.device, w.dtype)
        net._step = (net.structure, key, plan)
    return net._step[2]


def initial_state(net, batch_size: int, value: float = 0.0) -> torch.Tensor:
    """A ``[batch_size, S]`` state filled with ``value``, on the net's device and dtype."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    S = _plan(net).state_size
    return net.weight.new_full((int(batch_size), S), float(value))


def _check_state(net, state, batch: int) -> torch.Tensor:
    S = _plan(net).state_size
    w = net.weight
    if state is None:
        return w.new_zeros(batch, S)
    if isinstance(state, (int, float)) and not isinstance(state, bool):
        return w.new_full((batch, S), float(state))
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"state must be None, a number or a tensor of shape [B, {S}], got "
                        f"{type(state).__name__}")
    if state.dim() == 1:
        state = state.expand(batch, -1)
    if state.dim() != 2 or state.shape[1] != S or state.shape[0] != batch:
        raise ValueError(f"expected a state of shape [{batch}, {S}] (or [{S}]), one column per "
                         f"net.state_labels entry, got {list(state.shape)}")
    if state.dtype != w.dtype or state.device != w.device:
        raise TypeError(f"expected a state of dtype {w.dtype} on {w.device} (the net's "
                        f"parameters), got {state.dtype} on {state.device}")
    return state


def step(net, x: torch.Tensor, state: torch.Tensor | float | None = None
         ) -> tuple[torch.Tensor, torch.Tensor]:
    """One time step: ``(y_t [B, n_out], next state [B, S])`` (see :meth:`GraphNet.step`)."""
    x = net._check_x(x)
    single = x.dim() == 1
    if single:
        x = x[None]
    plan = _plan(net)
    state = _check_state(net, state, x.shape[0])
    y, state = _step(net, plan, x, state)
    return (y[0], state[0]) if single else (y, state)


def _step(net, plan: StepPlan, x: torch.Tensor, state: torch.Tensor):
    bias = net.bias
    if plan.state_size:
        bias = torch.cat([bias, bias.new_zeros(plan.state_size)])
    out = kernels.run(torch.cat([x, state], 1), net.weight, bias, plan.schedule)
    new_state = torch.cat([x, out, state], 1)[:, plan.next_state]
    return out[:, : plan.num_outputs], new_state


def run(net, x: torch.Tensor, state: torch.Tensor | float | None = None, *,
        batch_first: bool = False, return_state: bool = False):
    """Run a whole sequence (see :meth:`GraphNet.run`)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected x to be a torch.Tensor of shape [T, B, n_inputs], got "
                        f"{type(x).__name__}")
    n_in = net.structure.inputs.numel()
    shape = "[B, T, n_inputs]" if batch_first else "[T, B, n_inputs]"
    if x.dim() != 3 or x.shape[-1] != n_in:
        raise ValueError(f"expected a sequence x of shape {shape} with n_inputs={n_in}, got "
                         f"{list(x.shape)}")
    if batch_first:
        x = x.transpose(0, 1)
    if x.shape[0] == 0:
        raise ValueError("expected a sequence of at least one step, got T=0")
    net._check_x(x[0])
    plan = _plan(net)
    state = _check_state(net, state, x.shape[1])
    ys = []
    for t in range(x.shape[0]):
        y, state = _step(net, plan, x[t], state)
        ys.append(y)
    y = torch.stack(ys, 1 if batch_first else 0)
    return (y, state) if return_state else y


# -- unrolling --------------------------------------------------------------------------------
def unroll(net, steps: int, *, state_inputs: bool = False, kernel: str | None = None
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
    if not isinstance(net, GraphNet) or isinstance(net, UnrolledNet):
        raise TypeError(f"expected a GraphNet to unroll, got {type(net).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    kernel = net.kernel if kernel is None else kernel
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
    s = net.structure
    T, n = int(steps), s.num_nodes
    src, dst = s.edge_index.numpy()
    delay = s.delay.numpy()
    t = np.arange(T)[:, None]
    t_src = t - delay[None, :]  # [T, E]: the step each copy's source belongs to
    keep = t_src >= 0
    u_src = t_src * n + src[None, :]
    slots, first = _state_layout(s)
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
    structure = Structure(torch.from_numpy(np.stack([e_src, e_dst])), labels,
                          torch.from_numpy(inputs), torch.from_numpy(outputs),
                          s.activations * T + ("identity",) * S)
    node_source = np.concatenate([np.tile(np.arange(n), T), np.full(S, n)])  # n: a zero bias
    return UnrolledNet(net, structure, torch.from_numpy(edge_source.copy()),
                       torch.from_numpy(node_source), T, state_inputs, kernel)


def _tied(name: str):
    def edit(self, *args, **kwargs):
        raise TypeError(
            f"cannot {name} an unrolled net: its weights are tied to the recurrent net it was "
            f"unrolled from; edit that net (unrolled.source.{name}(...)) and unroll it again"
        )
    edit.__name__ = name
    edit.__doc__ = "Not available: an unrolled net's weights are tied (raises ``TypeError``)."
    return edit


class UnrolledNet(GraphNet):
    """A recurrent GraphNet unrolled in time: a feed-forward GraphNet with tied weights.

    Built by :func:`unroll`. ``weight`` and ``bias`` are views of the recurrent net's
    parameters (gathered on every access); :meth:`parameters` yields the recurrent net's own
    ``weight`` and ``bias``, so an optimizer over either net trains both. Edits raise
    ``TypeError`` (edit ``source`` and unroll again); :meth:`save` writes an ordinary
    (untied) GraphNet with the current weights.

    Attributes:
        source (GraphNet): the recurrent net.
        steps (int): ``T``.
        state_inputs (bool): whether the initial state is an input (see :func:`unroll`).
        edge_source (LongTensor): ``[E_T]``, the recurrent net's edge behind every edge.
        node_source (LongTensor): ``[N_T]``, the recurrent net's node behind every node
            (``N`` for initial-state inputs).
    """

    def __init__(self, source, structure: Structure, edge_source: torch.Tensor,
                 node_source: torch.Tensor, steps: int, state_inputs: bool, kernel: str) -> None:
        nn.Module.__init__(self)
        self.source = source
        self.structure = structure
        dev = source.weight.device
        self.register_buffer("edge_source", edge_source.to(dev), persistent=False)
        self.register_buffer("node_source", node_source.to(dev), persistent=False)
        self.steps = steps
        self.state_inputs = state_inputs
        self._kernel = kernel
        self._schedule = None
        self.history = []
        self.compile(kernel)

    @property
    def weight(self) -> torch.Tensor:
        """``[E_T]`` edge weights, gathered from ``source.weight`` (differentiable)."""
        return self.source.weight[self.edge_source]

    @property
    def bias(self) -> torch.Tensor:
        """``[N_T]`` node biases, gathered from ``source.bias`` (differentiable)."""
        b = self.source.bias
        return torch.cat([b, b.new_zeros(1)])[self.node_source]

    @property
    def schedule(self) -> Schedule:
        w = self.source.weight
        sched = self._schedule
        if sched is None or sched.device != w.device or sched.dtype != w.dtype:
            self._schedule = compile_schedule(self.structure, self._kernel, w.device, w.dtype)
        return self._schedule

    def compile(self, kernel: str = "auto") -> UnrolledNet:
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
        self._kernel = kernel
        w = self.source.weight
        self._schedule = compile_schedule(self.structure, kernel, w.device, w.dtype)
        return self

    def run(self, x: torch.Tensor, state: torch.Tensor | None = None, *,
            batch_first: bool = False) -> torch.Tensor:
        """Evaluate on a sequence ``x [T, B, n_in]`` (``[B, T, n_in]`` with ``batch_first``).

        ``state [B, S]`` is the initial state (only with ``state_inputs=True``). Returns
        ``[T, B, n_out]`` (or ``[B, T, n_out]``).
        """
        n_in = self.source.structure.inputs.numel()
        n_out = self.source.structure.outputs.numel()
        T = self.steps
        want = f"[B, {T}, {n_in}]" if batch_first else f"[{T}, B, {n_in}]"
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[-1] != n_in or \
                x.shape[1 if batch_first else 0] != T:
            got = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"expected a sequence of shape {want} (the net was unrolled for "
                             f"{T} steps), got {got}")
        if not batch_first:
            x = x.transpose(0, 1)
        B = x.shape[0]
        flat = x.reshape(B, T * n_in)
        if self.state_inputs:
            S = self.structure.inputs.numel() - T * n_in
            state = (flat.new_zeros(B, S) if state is None
                     else _check_state(self.source, state, B))
            flat = torch.cat([flat, state], 1)
        elif state is not None:
            raise ValueError("this net was unrolled with state_inputs=False, so its initial "
                             "state is zero; unroll with state_inputs=True to pass one")
        y = self.forward(flat).reshape(B, T, n_out)
        return y if batch_first else y.transpose(0, 1)

    remove_edges = _tied("remove_edges")
    add_edges = _tied("add_edges")
    remove_nodes = _tied("remove_nodes")
    add_nodes = _tied("add_nodes")
    set_weights = _tied("set_weights")
    prune_dead = _tied("prune_dead")
    reset_parameters = _tied("reset_parameters")

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, steps={self.steps}, tied to "
                f"{self.source.num_edges} weights")

    def __repr__(self) -> str:
        return f"UnrolledNet({self.extra_repr()})"
