"""The recurrent cell kernel: a graph-structured RNN / LSTM / GRU over all steps in one C++ call.

A multi-level cell (:class:`graphnets.nn.cells.GraphRNN` with delay-0 hidden → hidden edges)
must finish level ``l`` of step ``t`` before level ``l + 1``, and step ``t`` before ``t + 1``:
written with torch ops that is a dozen small ops per level and step, forward and backward,
whose dispatch cost dwarfs the arithmetic at the sizes cells are trained at. This kernel runs
the whole sequence in C++ (``recurrent.cpp`` beside this file): per step one matmul for the
recurrent product ``W_hh h_{t-1}`` (masked dense, as the torch path), then the hidden nodes in
level order, each gathering its skip edges (a vectorised ``z += w · h_u`` over the batch per
edge) and applying torch's cell equations; the backward walks back through time by hand and
gets the recurrent weights' gradient for all steps in one matmul. The input projection
``x W_ih^T + b_ih`` of every step is one torch ``addmm`` outside it, whose autograd is torch's.

Asked for a differentiable gradient (``create_graph=True``), its backward differentiates a
node-by-node torch replay of the same function instead (slow, but any order). CPU only,
float32 and float64, on one thread (the per-step work is microseconds). It is compiled like
the fused kernel (:mod:`graphnets.kernels.fused`): ``torch.utils.cpp_extension.load_inline``,
the build named by a hash of the environment, torch version, CPU, flags and source, cached in
torch's extension folder; ``GRAPHNETS_NO_CPP=1`` or a missing compiler leaves
:func:`available` ``False`` and the cells on their torch path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
import warnings
from typing import Any

import torch

__all__ = ["CELL_MODES", "available", "why_unavailable", "extension_name", "run_cell"]

#: The cell modes, in the order of the integer codes of ``recurrent.cpp``.
CELL_MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")

_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recurrent.cpp")
#: -fno-finite-math-only keeps NaN and inf semantics but undefines __FAST_MATH__, which glibc's
#: headers need to offer the vectorised exp and tanh of libmvec: defined again by hand.
_CFLAGS = ["-O3", "-march=native", "-ffast-math", "-fno-finite-math-only", "-D__FAST_MATH__"]
_LDFLAGS = ["-lmvec"]


def _source() -> str:
    with open(_SOURCE, encoding="utf-8") as f:
        return f.read()


def _cpu_id() -> str:
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return f"{platform.machine()}|{platform.processor()}"


def extension_name() -> str:
    """The build's name: a hash of the environment, torch version, CPU, flags and source.

    Example:
        >>> extension_name().startswith("graphnets_cells_")
        True
    """
    key = f"{sys.prefix}|{torch.__version__}|{_cpu_id()}|{' '.join(_CFLAGS + _LDFLAGS)}|{_source()}"
    return f"graphnets_cells_{hashlib.sha1(key.encode()).hexdigest()[:12]}"


_lock = threading.Lock()
_module: Any = None
_failed: str | None = None


def _load() -> Any:
    global _module, _failed
    with _lock:
        if _module is not None or _failed is not None:
            return _module
        if os.environ.get("GRAPHNETS_NO_CPP", "") not in ("", "0"):
            _failed = "disabled by GRAPHNETS_NO_CPP"
            return None
        name = extension_name()
        try:
            from torch.utils.cpp_extension import _get_build_directory

            folder: str | None = _get_build_directory(name, False)
        except Exception:  # a private helper of torch: if it moves, build through load_inline
            folder = None
        path = None if folder is None else os.path.join(folder, f"{name}.so")
        if path is not None and os.path.exists(path):
            try:
                import importlib.util

                spec = importlib.util.spec_from_file_location(name, path)
                if spec is not None and spec.loader is not None:
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    _module = module
                    return _module
            except Exception:  # a damaged file (a build killed mid-link): build it again
                pass
        cxx = os.environ.get("CXX", "c++")
        if shutil.which(cxx) is None:
            _failed = f"no C++ compiler ({cxx!r} is not on PATH)"
            return None
        try:
            from torch.utils.cpp_extension import load_inline

            print(
                "graphnets: compiling the recurrent cell C++ kernel, once for this machine, "
                "torch and environment (about 20-60 s) ...",
                file=sys.stderr,
                flush=True,
            )
            _module = load_inline(
                name=name,
                cpp_sources=_source(),
                extra_cflags=_CFLAGS,
                extra_ldflags=_LDFLAGS,
                verbose=False,
            )
        except Exception as err:  # no headers, a broken compiler, ...: cells stay on torch ops
            last = str(err).strip().splitlines()[-1] if str(err).strip() else ""
            _failed = f"{type(err).__name__}: {last}"
            warnings.warn(
                f"graphnets: the recurrent cell C++ kernel could not be built ({_failed}); "
                "multi-level cells run on the slower torch path",
                RuntimeWarning,
                stacklevel=3,
            )
        return _module


def available() -> bool:
    """Whether the recurrent cell kernel is built (building it on first call)."""
    return _load() is not None


def why_unavailable() -> str | None:
    """Why the kernel is unavailable, or ``None`` if it is available."""
    _load()
    return _failed


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


class _CellRun(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
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
        out, h_n, c_n, hs, cs, act, ghn = _load().forward(
            code, gi, w_hh, b_hh, ptr, src, w_skip, order, h0, c0
        )
        ctx.code = code
        ctx.save_for_backward(gi, w_hh, b_hh, w_skip, h0, c0, ptr, src, order, hs, cs, act, ghn)
        if code != 2:
            ctx.mark_non_differentiable(c_n)
        return out, h_n, c_n

    @staticmethod
    def backward(ctx: Any, g_out: torch.Tensor, g_hn: torch.Tensor, g_cn: torch.Tensor):
        gi, w_hh, b_hh, w_skip, h0, c0, ptr, src, order, hs, cs, act, ghn = ctx.saved_tensors
        code = ctx.code
        if torch.is_grad_enabled():  # create_graph=True: differentiate a torch replay instead
            inputs = (gi, w_hh, b_hh, w_skip, h0, c0)
            need = [t.requires_grad for t in inputs]
            out, h_n, c_n = _replay(code, gi, w_hh, b_hh, w_skip, h0, c0, ptr, src, order)
            ys = [out, h_n] + ([c_n] if code == 2 else [])
            gys = [g_out, g_hn] + ([g_cn] if code == 2 else [])
            wanted = [t for t, n in zip(inputs, need, strict=True) if n]
            got = iter(torch.autograd.grad(ys, wanted, gys, create_graph=True, allow_unused=True))
            grads = [next(got) if n else None for n in need]
            return None, *grads, None, None, None
        dgi, dw_hh, db_hh, dws, dh0, dc0 = _load().backward(
            code, g_out, g_hn, g_cn, w_hh, ptr, src, w_skip, order, hs, cs, act, ghn
        )
        return None, dgi, dw_hh, db_hh, dws, dh0, (dc0 if code == 2 else None), None, None, None


def run_cell(
    mode: str,
    gi: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    w_skip: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    ptr: torch.Tensor,
    src: torch.Tensor,
    order: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Run a graph-structured cell over all steps; differentiable in every float tensor.

    Hidden nodes are taken in level order (position ``v``; a skip edge ``u → v`` has
    ``u < v``), gates stacked like torch's (row ``g * H + v``).

    Args:
        mode (str): one of :data:`CELL_MODES`.
        gi (Tensor): ``[T, B, G*H]``, the input part ``x_t W_ih^T + b_ih`` of every step.
        w_hh (Tensor): ``[G*H, H]`` the recurrent weights, masked dense; ``b_hh [G*H]``.
        w_skip (Tensor): ``[S, G]`` the skip edges' weights, sorted by destination.
        h0, c0 (Tensor): ``[B, H]`` initial state in node order (``c0`` LSTM only, else
            ``None``).
        ptr, src (LongTensor): the skip edges as CSR by destination position: ``ptr [H+1]``,
            ``src [S]`` source positions.
        order (LongTensor): ``[H]`` node of each level position.

    Returns:
        ``(out [T, B, H], h_n [B, H], c_n [B, H] or None)`` in node order.

    Raises:
        RuntimeError: the kernel is unavailable (see :func:`why_unavailable`).
    """
    if _load() is None:
        raise RuntimeError(f"the recurrent cell C++ kernel is unavailable: {_failed}")
    code = CELL_MODES.index(mode)
    c_in = c0 if c0 is not None else h0.new_zeros(0)
    out, h_n, c_n = _CellRun.apply(code, gi, w_hh, b_hh, w_skip, h0, c_in, ptr, src, order)
    return out, h_n, (c_n if mode == "lstm" else None)
