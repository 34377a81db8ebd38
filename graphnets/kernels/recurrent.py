"""The recurrent C++ kernels: whole sequences in one call, with a hand-written backward.

**Cells** (:func:`run_cell`). A multi-level cell (:class:`graphnets.cells.GraphRNN` with
delay-0 hidden → hidden edges) must finish level ``l`` of step ``t`` before level ``l + 1``, and
step ``t`` before ``t + 1``: written with torch ops that is a dozen small ops per level and step,
forward and backward, whose dispatch cost dwarfs the arithmetic at the sizes cells are trained
at. This kernel runs the whole sequence in C++ (``recurrent.cpp`` beside this file), from the
cell's parameters: it places the edge weights into masked dense matrices (and gathers their
gradients back), computes the input part ``x W_ih^T + b_ih`` of every step in one matmul, then
per step the recurrent product (one masked dense matmul, or one vectorised ``z += w · h_u`` over
the batch per h2h edge and gate when they are few) and the hidden nodes in level order, each
adding its skip edges and applying torch's cell equations (``exp`` and ``tanh`` vectorised with
glibc's libmvec). The backward walks back through time by hand. :func:`place_matrices` is the
placement alone, for torch's own layer (a dense one-level LSTM).

**Recurrent GraphNets** (:func:`sequence_forward`, :func:`sequence_backward`, used by
:meth:`graphnets.GraphNet.run`): scalar neurons with delay-0 edges inside a step and delay-``d``
edges from ``d`` steps back, every node's value at every step in one node-major buffer, each
edge one vectorised update over the batch, activations generated from
:data:`graphnets.core.activations.REGISTRY` as in the fused kernel.

Asked for a differentiable gradient (``create_graph=True``), the backward of a cell
differentiates a node-by-node torch replay of the same function, and ``GraphNet.run`` the step
loop, instead (slow, but any order). CPU only, float32 and float64, on one thread (the per-step
work is microseconds; the dense matmuls use torch's threads). It is compiled like the fused
kernel (:mod:`graphnets.kernels.fused`): ``torch.utils.cpp_extension.load_inline``, the build
named by a hash of the environment, torch version, CPU, flags and source, cached in torch's
extension folder, on first use (``graphnets build-kernel`` does not build it yet);
``GRAPHNETS_NO_CPP=1`` or a missing compiler leaves :func:`available` ``False``, and cells and
``run`` on their torch paths.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from ..core.activations import parse_activation
from ..core.structure import Structure
from .cppbuild import SCALAR_CASES, Extension, activation_source

__all__ = [
    "CELL_MODES",
    "PLAN",
    "available",
    "why_unavailable",
    "extension_name",
    "run_cell",
    "place_matrices",
    "SEQUENCE_PLAN",
    "sequence_plan",
    "sequence_forward",
    "sequence_backward",
]

#: The cell modes, in the order of the integer codes of ``recurrent.cpp``.
CELL_MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")

_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recurrent.cpp")
#: -fno-finite-math-only keeps NaN and inf semantics but undefines __FAST_MATH__, which glibc's
#: headers need to offer the vectorised exp and tanh of libmvec: defined again by hand.
_CFLAGS = ("-O3", "-march=native", "-ffast-math", "-fno-finite-math-only", "-D__FAST_MATH__")
_LDFLAGS = ("-lmvec",)


def _source() -> str:
    """``recurrent.cpp`` with its activation cases generated from the registry."""
    return activation_source(
        _SOURCE,
        {
            **SCALAR_CASES,
            "ACT_ROWS": lambda code, _: (
                f"    case {code}: for (int64_t k = 0; k < n; ++k) "
                f"a[k] = act_fwd<T>({code}, z[k], p0, p1); break;"
            ),
            "ACT_GRAD_ROWS": lambda code, _: (
                f"    case {code}: for (int64_t k = 0; k < n; ++k) "
                f"g[k] *= act_grad<T>({code}, z[k], a[k], p0, p1); break;"
            ),
        },
    )


#: The recurrent kernel's build (:class:`graphnets.kernels.cppbuild.Extension`).
EXTENSION = Extension(
    "graphnets_cells",
    _source,
    cflags=_CFLAGS,
    ldflags=_LDFLAGS,
    what="recurrent C++ kernel",
    fallback="cells and net.run use the slower torch path",
)


def extension_name() -> str:
    """The build's name: a hash of the environment, torch version, CPU, flags and source.

    Example:
        >>> extension_name().startswith("graphnets_cells_")
        True
    """
    return EXTENSION.name()


def built_path() -> str | None:
    """The file of this environment's build if it exists, without building or loading it
    (``graphnets build-kernel`` reports it)."""
    return EXTENSION.built_path()


def _load() -> Any:
    return EXTENSION.load()


def available() -> bool:
    """Whether the recurrent cell kernel is built (building it on first call)."""
    return _load() is not None


def why_unavailable() -> str | None:
    """Why the kernel is unavailable, or ``None`` if it is available."""
    _load()
    return EXTENSION.failed


def _replay(
    code: int,
    gi: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    w_skip: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    ptr: torch.Tensor,
    src: torch.Tensor,
    order: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The kernel's function in torch ops, node by node: slow, differentiable any number of
    times; what the backward differentiates when asked for a differentiable gradient."""
    T, B, GH = gi.shape
    H = order.numel()
    G = GH // H
    dst = torch.repeat_interleave(torch.arange(H, device=ptr.device), ptr.diff())
    flat = (torch.arange(G, device=ptr.device).view(G, 1) * H * H + (dst * H + src)).reshape(-1)
    w_sk = w_skip.new_zeros(G * H * H).index_put((flat,), w_skip.t().reshape(-1)).view(G, H, H)
    pos = torch.argsort(order)
    h = h0[:, order]
    c = c0[:, order] if code == 2 else None
    outs = []
    for t in range(T):
        gh = torch.addmm(b_hh, h, w_hh.t()).view(B, G, H)
        git = gi[t].view(B, G, H)
        hs: list[torch.Tensor] = []
        cs: list[torch.Tensor] = []
        for v in range(H):
            zi = git[:, :, v]
            if v:
                zi = zi + torch.stack(hs, 1) @ w_sk[:, v, :v].t()
            zh = gh[:, :, v]
            if code == 0:
                hv = torch.tanh(zi[:, 0] + zh[:, 0])
            elif code == 1:
                hv = torch.relu(zi[:, 0] + zh[:, 0])
            elif code == 2:
                i, f, o = (torch.sigmoid(zi[:, k] + zh[:, k]) for k in (0, 1, 3))
                assert c is not None
                cv = f * c[:, v] + i * torch.tanh(zi[:, 2] + zh[:, 2])
                cs.append(cv)
                hv = o * torch.tanh(cv)
            else:
                r, z = (torch.sigmoid(zi[:, k] + zh[:, k]) for k in (0, 1))
                n = torch.tanh(zi[:, 2] + r * zh[:, 2])
                hv = n + z * (h[:, v] - n)
            hs.append(hv)
        h = torch.stack(hs, 1)
        c = torch.stack(cs, 1) if code == 2 else None
        outs.append(h[:, pos])
    c_n = c[:, pos] if c is not None else h0.new_zeros(0)
    return torch.stack(outs), h[:, pos], c_n


#: The index tensors a cell's parameters are placed by, in this order (see :func:`run_cell`).
PLAN = (
    "in_ids",
    "in_flat",
    "rec_flat",
    "skip_sorted",
    "skip_ptr",
    "skip_src",
    "order",
    "rec_sorted",
    "rec_ptr",
    "rec_src",
)


def _place(
    x: torch.Tensor,
    weight: torch.Tensor,
    rweight: torch.Tensor,
    bias: torch.Tensor,
    rbias: torch.Tensor,
    plan: list[torch.Tensor],
) -> tuple[torch.Tensor, ...]:
    """``params_forward``'s placement in torch ops: ``gi, w_hh, b_hh, w_skip``."""
    in_ids, in_flat, rec_flat, skip_sorted, _, _, order = plan[:7]
    T, B, n_in = x.shape
    G, H = weight.shape[1], order.numel()
    w_ih = weight.new_zeros(G * H * n_in).index_put(
        (in_flat.reshape(-1),), weight[in_ids].t().reshape(-1)
    )
    w_hh = rweight.new_zeros(G * H * H).index_put((rec_flat.reshape(-1),), rweight.t().reshape(-1))
    b_ih, b_hh = bias[order].t().reshape(-1), rbias[order].t().reshape(-1)
    gi = torch.addmm(b_ih, x.reshape(T * B, n_in), w_ih.view(G * H, n_in).t())
    return gi.view(T, B, G * H), w_hh.view(G * H, H), b_hh, weight[skip_sorted]


class _CellRun(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        code: int,
        x: torch.Tensor,
        weight: torch.Tensor,
        rweight: torch.Tensor,
        bias: torch.Tensor,
        rbias: torch.Tensor,
        h0: torch.Tensor,
        c0: torch.Tensor,
        plan: list[torch.Tensor],
        dense: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        res = _load().params_forward(code, x, weight, rweight, bias, rbias, h0, c0, plan, dense)
        out, h_n, c_n = res[:3]
        ctx.code, ctx.plan, ctx.dense = code, plan, dense
        ctx.save_for_backward(x, weight, rweight, bias, rbias, h0, c0, *res[3:])
        if code != 2:
            ctx.mark_non_differentiable(c_n)
        return out, h_n, c_n

    @staticmethod
    def backward(ctx: Any, g_out: torch.Tensor, g_hn: torch.Tensor, g_cn: torch.Tensor):
        x, weight, rweight, bias, rbias, h0, c0, *saved = ctx.saved_tensors
        code, plan = ctx.code, ctx.plan
        inputs = (x, weight, rweight, bias, rbias, h0, c0)
        if torch.is_grad_enabled():  # create_graph=True: differentiate a torch replay instead
            need = [t.requires_grad for t in inputs]
            gi, w_hh, b_hh, w_skip = _place(x, weight, rweight, bias, rbias, plan)
            out, h_n, c_n = _replay(code, gi, w_hh, b_hh, w_skip, h0, c0, *plan[4:7])
            ys = [out, h_n] + ([c_n] if code == 2 else [])
            gys = [g_out, g_hn] + ([g_cn] if code == 2 else [])
            wanted = [t for t, n in zip(inputs, need, strict=True) if n]
            got = iter(torch.autograd.grad(ys, wanted, gys, create_graph=True, allow_unused=True))
            return None, *(next(got) if n else None for n in need), None, None
        need_x = bool(ctx.needs_input_grad[1])
        dx, dw, drw, db, drb, dh0, dc0 = _load().params_backward(
            code, g_out, g_hn, g_cn, x, weight.shape[0], saved, plan, ctx.dense, need_x
        )
        return (
            None,
            (dx if need_x else None),
            dw,
            drw,
            db,
            drb,
            dh0,
            (dc0 if code == 2 else None),
            None,
            None,
        )


class _Place(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        code: int,
        n_in: int,
        weight: torch.Tensor,
        rweight: torch.Tensor,
        bias: torch.Tensor,
        rbias: torch.Tensor,
        plan: list[torch.Tensor],
    ) -> tuple[torch.Tensor, ...]:
        ctx.code, ctx.plan, ctx.num_edges = code, plan, weight.shape[0]
        # saved only for torch's version check: a graph from before an edit of the weights
        # (which swaps their data) is refused on backward instead of returning old-shaped grads
        ctx.save_for_backward(weight, rweight)
        return tuple(_load().place(code, n_in, weight, rweight, bias, rbias, plan))

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor):
        ctx.saved_tensors  # noqa: B018 (the version check)
        if torch.is_grad_enabled():  # create_graph=True: the same gathers in torch ops
            dw_ih, dw_hh, db_ih, db_hh = grads
            in_ids, in_flat, rec_flat = ctx.plan[:3]
            order = ctx.plan[6]
            G, H = dw_ih.shape[0] // order.numel(), order.numel()
            zeros = dw_ih.new_zeros(ctx.num_edges, G)
            g = (
                zeros.index_put((in_ids,), dw_ih.reshape(-1)[in_flat].t()),
                dw_hh.reshape(-1)[rec_flat].t(),
                dw_ih.new_zeros(H, G).index_put((order,), db_ih.view(G, H).t()),
                dw_ih.new_zeros(H, G).index_put((order,), db_hh.view(G, H).t()),
            )
            return None, None, *g, None
        g = _load().place_backward(ctx.code, *grads, ctx.plan, ctx.num_edges)
        return None, None, *g, None


def place_matrices(
    mode: str,
    num_inputs: int,
    weight: torch.Tensor,
    recurrent_weight: torch.Tensor,
    bias: torch.Tensor,
    recurrent_bias: torch.Tensor,
    plan: list[torch.Tensor],
) -> tuple[torch.Tensor, ...]:
    """A one-level cell's torch-layout matrices ``w_ih, w_hh, b_ih, b_hh`` in one call, zeros
    where no edge is, for torch's own layer to run on; ``plan`` as for
    :func:`run_cell` (its first seven tensors)."""
    if _load() is None:
        raise RuntimeError(f"the recurrent cell C++ kernel is unavailable: {EXTENSION.failed}")
    code = CELL_MODES.index(mode)
    return _Place.apply(code, num_inputs, weight, recurrent_weight, bias, recurrent_bias, plan)


def run_cell(
    mode: str,
    x: torch.Tensor,
    weight: torch.Tensor,
    recurrent_weight: torch.Tensor,
    bias: torch.Tensor,
    recurrent_bias: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    plan: list[torch.Tensor],
    *,
    dense: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Run a graph-structured cell over all steps; differentiable in every float tensor.

    The kernel works on the hidden nodes in level order (position ``v``; a skip edge ``u → v``
    has ``u < v``), gates stacked like torch's (row ``g * H + v``); ``plan`` says where every
    parameter goes (:data:`PLAN`, the cell's index tensors): ``in_ids [E_in]`` the i2h edges
    from inputs, ``in_flat [G, E_in]`` and ``rec_flat [G, R]`` their and the h2h edges'
    positions in the flat masked matrices ``[G*H, n_in]`` and ``[G*H, H]``, ``skip_sorted [S]``
    the skip edges sorted by destination position, ``skip_ptr [H+1]`` / ``skip_src [S]`` them
    as CSR (source positions), ``order [H]`` the node at each position, ``rec_sorted [R]``,
    ``rec_ptr [H+1]``, ``rec_src [R]`` the h2h edges as CSR likewise.

    Args:
        mode (str): one of :data:`CELL_MODES`.
        x (Tensor): ``[T, B, n_in]``.
        weight, recurrent_weight (Tensor): ``[E, G]`` i2h and ``[R, G]`` h2h edge weights.
        bias, recurrent_bias (Tensor): ``[H, G]``.
        h0, c0 (Tensor): ``[B, H]`` initial state in node order (``c0`` LSTM only, else
            ``None``).
        plan (list of LongTensor): see above.
        dense (bool): the recurrent product as one masked dense matmul per step (``True``,
            the default) or one vectorised batch update per h2h edge and gate (``False``,
            cheaper when the h2h edges are few).

    Returns:
        ``(out [T, B, H], h_n [B, H], c_n [B, H] or None)`` in node order.

    Raises:
        RuntimeError: the kernel is unavailable (see :func:`why_unavailable`).
    """
    if _load() is None:
        raise RuntimeError(f"the recurrent cell C++ kernel is unavailable: {EXTENSION.failed}")
    code = CELL_MODES.index(mode)
    c_in = c0 if c0 is not None else h0.new_zeros(0)
    out, h_n, c_n = _CellRun.apply(
        code, x, weight, recurrent_weight, bias, recurrent_bias, h0, c_in, plan, dense
    )
    return out, h_n, (c_n if mode == "lstm" else None)


# ----------------------------------------------------------------------------- GraphNet.run


#: The index tensors of :func:`sequence_plan`, in the kernel's order.
SEQUENCE_PLAN = ("order", "inputs", "outputs", "ptr", "src", "delay", "eid", "codes", "slots")


def sequence_plan(structure: Structure, slots: np.ndarray) -> dict[str, Any]:
    """What the sequence kernel needs of a recurrent structure (once per structure).

    ``order`` the non-input nodes in level order, ``inputs`` / ``outputs`` the node ids,
    every edge as CSR by destination (``ptr [N+1]``, ``src``, ``delay``, ``eid`` its id),
    ``codes [N]`` / ``params [N, 2]`` (float64) the activations, ``slots [S, 2]`` the state's
    ``(node, lag)`` columns (:func:`graphnets.nn.recurrent.state_layout`), ``max_delay``.
    """
    s = structure
    N = s.num_nodes
    is_input = np.zeros(N, dtype=bool)
    is_input[s.inputs.numpy()] = True
    level = np.asarray(s.level)
    order = np.lexsort((np.arange(N), level))
    order = order[~is_input[order]]
    src, dst = s.edge_index.numpy()
    by_dst = np.argsort(dst, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(dst, minlength=N))])
    acts = [parse_activation(a) for a in s.activations]
    as_long = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))  # noqa: E731
    return {
        "order": as_long(order),
        "inputs": as_long(s.inputs.numpy()),
        "outputs": as_long(s.outputs.numpy()),
        "ptr": as_long(ptr),
        "src": as_long(src[by_dst]),
        "delay": as_long(s.delay.numpy()[by_dst]),
        "eid": as_long(by_dst),
        "codes": as_long([a.code for a in acts]),
        "slots": as_long(np.asarray(slots).reshape(-1, 2)),
        "params": torch.tensor([a.c_params for a in acts], dtype=torch.float64).reshape(-1, 2),
        "max_delay": s.max_delay,
        "num_nodes": N,
    }


def sequence_forward(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    state: torch.Tensor,
    plan: dict[str, Any],
) -> list[torch.Tensor]:
    """A recurrent GraphNet over ``x [T, B, n_in]`` from ``state [B, S]`` (no autograd):
    ``[y [T, B, n_out], final state [B, S], A, Z]`` (``A``, ``Z`` for the backward)."""
    return _load().seq_forward(
        x,
        weight,
        bias,
        state,
        [plan[k] for k in SEQUENCE_PLAN],
        plan["params"],
        plan["num_nodes"],
        plan["max_delay"],
    )


def sequence_backward(
    gy: torch.Tensor,
    g_state: torch.Tensor,
    saved: list[torch.Tensor],
    weight: torch.Tensor,
    num_inputs: int,
    plan: dict[str, Any],
) -> list[torch.Tensor]:
    """Gradients ``[x, weight, bias, initial state]`` from those of ``y`` and the final state;
    ``saved`` is ``[A, Z]`` of :func:`sequence_forward`."""
    return _load().seq_backward(
        gy,
        g_state,
        saved[0],
        saved[1],
        weight,
        [plan[k] for k in SEQUENCE_PLAN],
        plan["params"],
        num_inputs,
        plan["max_delay"],
    )
