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

**Unrolling** (:func:`graphnets.unroll`, in :mod:`graphnets.nn.unrolled`) is a graph edit:
``T`` copies of the nodes, the delay-0 edges inside every copy, and every delayed edge joining
copy ``t - d`` to copy ``t``, with the weights tied to the recurrent net's.

Not done here: no truncated backpropagation through time (detach the state between calls of
:meth:`~graphnets.GraphNet.run` for that), no bidirectional nets.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import torch

from .._util.checks import positive_int
from ..core.schedule import Schedule
from ..core.structure import Structure
from ..kernels import FUSED_DTYPES, compile_schedule, fused
from ..kernels import recurrent as seq_kernel
from ..kernels import run as run_kernels

__all__ = [
    "StateSlot",
    "StepPlan",
    "state_layout",
    "state_labels",
    "step_plan",
    "step",
    "run",
    "initial_state",
    "check_state",
]


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


def state_layout(s: Structure) -> tuple[np.ndarray, np.ndarray]:
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


def state_labels(s: Structure) -> list[tuple]:
    """``(label, lag)`` of every state column of ``s`` (see the module docstring)."""
    lab = s.labels
    return [(lab[u], int(k)) for u, k in state_layout(s)[0].tolist()]


def step_plan(
    structure: Structure, kernel: str, device: torch.device | str, dtype: torch.dtype
) -> StepPlan:
    """Build and compile the step graph of ``structure`` (see the module docstring)."""
    s = structure
    n, n_in, n_out = s.num_nodes, s.inputs.numel(), s.outputs.numel()
    slots, first = state_layout(s)
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
        torch.from_numpy(np.stack([src, dst])),
        labels,
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
    return StepPlan(
        step_structure,
        compile_schedule(step_structure, _step_kernel(kernel, device, dtype), device, dtype),
        slots,
        torch.from_numpy(next_state).to(device),
        n_out,
    )


def _step_kernel(kernel: str, device, dtype: torch.dtype) -> str:
    """``auto`` runs a step fused wherever the C++ kernel can: a step is evaluated on one time
    step's batch, many times over, so fixed per-call costs dominate, and the fused call has the
    smallest (``benchmarks/bench_recurrent.py``: 4.3 vs 7.2 ms level-wise for a 50-neuron RNN
    over 20 steps; ``auto``'s cost model, fitted on large batches, would pick level-wise)."""
    if (
        kernel == "auto"
        and torch.device(device).type == "cpu"
        and dtype in FUSED_DTYPES
        and fused.available()
    ):
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
    batch_size = positive_int(batch_size, "batch_size")
    S = _plan(net).state_size
    return net.weight.new_full((int(batch_size), S), float(value))


def check_state(net, state, batch: int) -> torch.Tensor:
    S = _plan(net).state_size
    w = net.weight
    if state is None:
        return w.new_zeros(batch, S)
    if isinstance(state, (int, float)) and not isinstance(state, bool):
        return w.new_full((batch, S), float(state))
    if not isinstance(state, torch.Tensor):
        raise TypeError(
            f"state must be None, a number or a tensor of shape [B, {S}], got "
            f"{type(state).__name__}"
        )
    if state.dim() == 1:
        state = state.expand(batch, -1)
    if state.dim() != 2 or state.shape[1] != S or state.shape[0] != batch:
        raise ValueError(
            f"expected a state of shape [{batch}, {S}] (or [{S}]), one column per "
            f"net.state_labels entry, got {list(state.shape)}"
        )
    if state.dtype != w.dtype or state.device != w.device:
        raise TypeError(
            f"expected a state of dtype {w.dtype} on {w.device} (the net's "
            f"parameters), got {state.dtype} on {state.device}"
        )
    return state


def step(
    net, x: torch.Tensor, state: torch.Tensor | float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One time step: ``(y_t [B, n_out], next state [B, S])`` (see :meth:`GraphNet.step`)."""
    x = net._check_x(x)
    single = x.dim() == 1
    if single:
        x = x[None]
    plan = _plan(net)
    state = check_state(net, state, x.shape[0])
    y, state = _step(net, plan, x, state)
    return (y[0], state[0]) if single else (y, state)


def _step(net, plan: StepPlan, x: torch.Tensor, state: torch.Tensor):
    return _step_with(plan, net.weight, net.bias, x, state)


def _step_with(plan: StepPlan, weight, bias, x: torch.Tensor, state: torch.Tensor):
    if plan.state_size:
        bias = torch.cat([bias, bias.new_zeros(plan.state_size)])
    out = run_kernels(torch.cat([x, state], 1), weight, bias, plan.schedule)
    new_state = torch.cat([x, out, state], 1)[:, plan.next_state]
    return out[:, : plan.num_outputs], new_state


def _sequence_plan(net, plan: StepPlan) -> dict:
    """The sequence kernel's plan of the net's current structure (cached)."""
    cached = getattr(net, "_sequence", None)
    if cached is None or cached[0] is not net.structure:
        net._sequence = (net.structure, seq_kernel.sequence_plan(net.structure, plan.slots))
    return net._sequence[1]


def _use_sequence_kernel(net, x: torch.Tensor) -> bool:
    """``auto`` runs a sequence on the C++ sequence kernel (all steps in one call, a
    hand-written backward through time) where it can: CPU, float32 / float64, built."""
    return (
        net.kernel == "auto"
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and seq_kernel.available()
    )


class _SequenceRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, state, plan: StepPlan, kplan: dict):
        y, last, A, Z = seq_kernel.sequence_forward(x, weight, bias, state, kplan)
        ctx.save_for_backward(x, weight, bias, state, A, Z)
        ctx.plan, ctx.kplan = plan, kplan
        return y, last

    @staticmethod
    def backward(ctx, gy, g_last):
        x, weight, bias, state, A, Z = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate the step-by-step run
            inputs = (x, weight, bias, state)
            need = [bool(n) for n in ctx.needs_input_grad[:4]]
            ys, s = [], state
            for t in range(x.shape[0]):
                y_t, s = _step_with(ctx.plan, weight, bias, x[t], s)
                ys.append(y_t)
            wanted = [t for t, n in zip(inputs, need, strict=True) if n]
            got = iter(
                torch.autograd.grad(
                    [torch.stack(ys), s], wanted, [gy, g_last], create_graph=True, allow_unused=True
                )
            )
            return *(next(got) if n else None for n in need), None, None
        gx, gw, gb, gs = seq_kernel.sequence_backward(
            gy, g_last, [A, Z], weight, x.shape[2], ctx.kplan
        )
        return gx, gw, gb, gs, None, None


def run(
    net,
    x: torch.Tensor,
    state: torch.Tensor | float | None = None,
    *,
    batch_first: bool = False,
    return_state: bool = False,
):
    """Run a whole sequence (see :meth:`GraphNet.run`)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"expected x to be a torch.Tensor of shape [T, B, n_inputs], got {type(x).__name__}"
        )
    n_in = net.structure.inputs.numel()
    shape = "[B, T, n_inputs]" if batch_first else "[T, B, n_inputs]"
    if x.dim() != 3 or x.shape[-1] != n_in:
        raise ValueError(
            f"expected a sequence x of shape {shape} with n_inputs={n_in}, got {list(x.shape)}"
        )
    if batch_first:
        x = x.transpose(0, 1)
    if x.shape[0] == 0:
        raise ValueError("expected a sequence of at least one step, got T=0")
    net._check_x(x[0])
    plan = _plan(net)
    state = check_state(net, state, x.shape[1])
    if _use_sequence_kernel(net, x):
        y, state = _SequenceRun.apply(
            x, net.weight, net.bias, state, plan, _sequence_plan(net, plan)
        )
        if batch_first:
            y = y.transpose(0, 1)
        return (y, state) if return_state else y
    ys = []
    for t in range(x.shape[0]):
        y, state = _step(net, plan, x[t], state)
        ys.append(y)
    y = torch.stack(ys, 1 if batch_first else 0)
    return (y, state) if return_state else y
