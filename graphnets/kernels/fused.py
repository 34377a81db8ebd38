"""The fused kernel: the whole schedule in one C++ call, forward and backward.

For deep, narrow graphs (hundreds of levels of a few nodes) and for small graphs, the cost of
the level-by-level kernels is Python and dispatch overhead, not arithmetic. This kernel walks
the nodes in schedule order inside C++ over node-major buffers ``H [N, B]``: a node's ``z`` is
summed over all its in-edges (from the inputs, transposed once into node-major rows ``XT``, and
from computed nodes) in a tile of batch columns held in vector registers, then one activation
loop; the backward walks back once, each node pulling its gradient from its successors the same
way and taking its out-edges' weight gradients (dot products) in the same pass, so no gradient
row is accumulated in memory or cleared first. ``XT``, ``H`` (and ``Z``) and the backward's
``G`` are scratch buffers kept on the schedule and reused by the next call once no autograd
graph holds them (:func:`scratch`; the level-wise kernels use it too).

Above 2^19 multiply-adds per pass (edges × batch) it splits the batch into one share per
thread (``torch.get_num_threads()``, shares of at least 128 columns): every share runs the same
walk on its columns, and the shares' weight and bias gradients are summed. 2^19 (~50 µs of work
on one core) is where a second thread started to pay on a quiet 2-core machine: 1.2× at 681k
multiply-adds per pass, 1.5-1.6× from 13k edges at batch 256 (``benchmarks/bench_deep.py``
prints 1 vs 2 threads; ``docs/benchmarks.md``).

The same extension holds the C++ CSR kernels of the level-wise path on CPU (``csr_spmm``,
``csr_sddmm``): a sparse level's product row by row over node-major rows, and its weight
gradient one dot product per edge (chosen per level by :func:`graphnets.compile_schedule`).

The C++ lives in ``fused.cpp`` beside this file; the cases of its activation switches are
generated from the rows of :data:`graphnets.core.activations.REGISTRY`, so an activation is
written once. The extension is compiled with ``torch.utils.cpp_extension.load_inline`` (about
20-60 s, cached in ``~/.cache/torch_extensions`` or ``$TORCH_EXTENSIONS_DIR``): ahead of time
by ``graphnets build-kernel`` (which ``make setup`` runs), else on first use. A build is named
by :func:`extension_name`, a hash of the environment, the torch version, the CPU and the source,
so a cached build made for another torch or CPU is never loaded: another name, a new build.
Where no compiler is available, :func:`available` is ``False`` and ``auto`` schedules fall back
to the level-by-level torch kernels, with one line on stderr saying so; set
``GRAPHNETS_NO_CPP=1`` to choose that fallback silently.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ..core.schedule import Schedule
from .cppbuild import SCALAR_CASES, Extension, activation_source, compiler_missing
from .replay import differentiable_grads

__all__ = [
    "available",
    "extension",
    "why_unavailable",
    "run_fused",
    "transpose",
    "cpp_source",
    "extension_name",
    "built_path",
    "compiler_missing",
]

_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fused.cpp")


def cpp_source() -> str:
    """The C++ source: ``fused.cpp`` with its activation cases generated from the registry."""
    return activation_source(
        _SOURCE,
        {
            **SCALAR_CASES,
            "ACT_ROWS_FORWARD": lambda code, row: (
                f"    case {code}: for (int64_t k = 0; k < len; ++k) {{ "
                f"{row.cpp_rows_forward} }} break;"
                if row.cpp_rows_forward
                else None
            ),
            "ACT_ROWS_GRAD": lambda code, row: (
                f"    case {code}: for (int64_t k = 0; k < len; ++k) {{ "
                f"{row.cpp_rows_grad} }} break;"
                if row.cpp_rows_grad
                else None
            ),
        },
    )


#: -march=native: AVX2/AVX-512 for the batch loops, measured 1.5x faster per call than the
#: x86-64 baseline (benchmarks/bench_mlp.py, 99% sparse net). Part of the build's name.
_CFLAGS = ("-O3", "-march=native", "-ffast-math", "-fno-finite-math-only", "-fopenmp")


#: The fused kernel's build (:class:`graphnets.kernels.cppbuild.Extension`).
EXTENSION = Extension(
    "graphnets_fused",
    cpp_source,
    cflags=_CFLAGS,
    ldflags=("-fopenmp",),
    what="fused C++ kernel",
    fallback="deep narrow graphs will run on the slower level-by-level torch kernels",
)


def extension_name(torch_version: str | None = None, cpu: str | None = None) -> str:
    """The name of the build for this environment, torch version, CPU, flags and source.

    One build per (environment, torch, CPU, flags, source): torch keys its cache by name only,
    a build for another venv's headers would be rebuilt (and overwritten) at each switch, and
    ``-march=native`` code must never run on a CPU without those instructions. ``torch_version``
    and ``cpu`` default to this process's (``torch.__version__``, the CPU's model and flags).

    Example:
        >>> extension_name() == extension_name(torch_version=torch.__version__)
        True
        >>> extension_name() != extension_name(torch_version="2.0.0")
        True
    """
    return EXTENSION.name(torch_version, cpu)


def built_path() -> str | None:
    """The compiled extension of :func:`extension_name` in torch's cache, or ``None`` if it is
    not built yet."""
    return EXTENSION.built_path()


def _load() -> Any:
    return EXTENSION.load()


def available() -> bool:
    """Whether the fused C++ kernel is built (building it on first call)."""
    return _load() is not None


def extension() -> Any:
    """The compiled extension module (building or loading it on first call), or ``None`` where
    it is unavailable; the level-wise path calls its CSR kernels through it."""
    return _load()


def why_unavailable() -> str | None:
    """Why the kernel is unavailable, or ``None`` if it is available."""
    _load()
    return EXTENSION.failed


_ARRAYS = (
    "rowptr",
    "src",
    "hw",
    "in_ptr",
    "in_dst",
    "iw",
    "node",
    "codes",
    "params",
    "dead",
    "out_ptr",
    "out_dst",
    "ow",
    "dead_w",
    "irowptr",
    "isrc",
    "iwd",
)


def _built() -> Any:
    """The compiled extension (``RuntimeError`` if it could not be built)."""
    module = _load()
    if module is None:
        raise RuntimeError(f"the fused C++ kernel is unavailable: {EXTENSION.failed}")
    return module


def _arrays(sched: Schedule) -> list[torch.Tensor]:
    if sched.fused is None:
        raise RuntimeError("the schedule was not compiled for the fused kernel")
    arrays = sched.workspace.get("arrays")
    if arrays is None:  # built once per schedule: the list is passed on every call
        arrays = sched.workspace["arrays"] = [sched.fused[k] for k in _ARRAYS]
    return arrays


def scratch(sched: Schedule, key: str, like: torch.Tensor, *shape: int) -> torch.Tensor:
    """A scratch buffer of ``shape`` and ``like``'s dtype and device for the kernels, reused
    from the schedule's last call when nothing else holds it any more, else new (uninitialised
    either way); hand it back with :func:`keep`.

    A buffer is in use while autograd saves it for a backward still to come (a second forward
    before the first one's backward, a kept ``loss``, ``retain_graph=True``): then its use
    count is above one and a new one is made. ``pop`` claims the buffer atomically, so two
    threads never share one. Reuse spares the allocator's fresh pages (the OS's page faults and
    zeroing) that a new buffer of ~1 MB costs on every step; the price is that one step's
    scratch stays allocated between steps (dropped with the schedule: a recompile, an edit, a
    copy or a pickle starts with none). On CPU only: CUDA's caching
    allocator has no such cost, and a CUDA graph must own the memory it captures.
    """
    if like.device.type != "cpu":
        return like.new_empty(shape)
    buf = sched.workspace.pop(key, None)
    if (
        buf is None
        or buf._use_count() != 1
        or buf.shape != shape
        or buf.dtype != like.dtype
        or buf.device != like.device
    ):
        buf = like.new_empty(shape)
    return buf


def keep(sched: Schedule, key: str, buf: torch.Tensor) -> None:
    """Hand ``buf`` (from :func:`scratch`) back to ``sched`` for its next call (CPU only)."""
    if buf.device.type == "cpu":
        sched.workspace[key] = buf


class _FusedRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, sched: Schedule):
        arrays = _arrays(sched)
        B, n_in = x.shape
        rows = sched.num_nodes - n_in
        XT = scratch(sched, "XT", x, n_in, B)  # x's columns that have edges, node-major
        H = scratch(sched, "H", x, rows, B)
        Z = scratch(sched, "Z", x, rows, B) if sched.fused_keep_z else x.new_empty(0)
        w = weight.contiguous()
        y = _built().forward(x, w, bias.contiguous(), arrays, sched.out_pos, XT, H, Z)
        keep(sched, "XT", XT)
        keep(sched, "H", H)
        if sched.fused_keep_z:
            keep(sched, "Z", Z)
        ctx.sched = sched
        ctx.save_for_backward(x, weight, bias, XT, H, Z)
        return y

    @staticmethod
    def backward(ctx, gy):
        sched: Schedule = ctx.sched
        x, weight, bias, XT, H, Z = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: a gradient autograd can differentiate
            needs = tuple(ctx.needs_input_grad[:3])
            return (*differentiable_grads(x, weight, bias, gy, sched, needs, net_order=True), None)
        need_x = ctx.needs_input_grad[0]
        G = scratch(sched, "G", H, H.shape[0], H.shape[1])
        gx, gw, gb = _built().backward(
            gy,
            XT,
            H,
            Z,
            weight.contiguous(),
            sched.num_nodes,
            _arrays(sched),
            sched.out_pos,
            need_x,
            G,
        )
        keep(sched, "G", G)
        return (gx if need_x else None), gw, gb, None


def transpose(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``x.T.contiguous()`` for a CPU float matrix, by the C++ tiled transpose when it is built
    (into ``out``, a contiguous ``[n_in, B]`` buffer, when given)."""
    if out is None:
        out = x.new_empty(x.shape[1], x.shape[0])
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
        module = _load()
        if module is not None:
            module.transpose(x, out)
            return out
    return out.copy_(x.T)


def run_fused(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, sched: Schedule
) -> torch.Tensor:
    """Evaluate a fused schedule on ``x [B, n_in]``; ``weight`` and ``bias`` in the net's order."""
    _built()
    return _FusedRun.apply(x, weight, bias, sched)
