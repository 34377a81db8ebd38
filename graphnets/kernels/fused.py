"""The fused kernel: the whole schedule in one C++ call, forward and backward.

For deep, narrow graphs (hundreds of levels of a few nodes) and for small graphs, the cost of
the level-by-level kernels is Python and dispatch overhead, not arithmetic. This kernel walks
the nodes in schedule order inside C++ over node-major buffers ``H [N, B]``: every edge is one
vectorised ``z += w · h_src`` over the batch, every node one activation loop; the backward walks
back once, with a dot product per edge for the weight gradient.

It runs on one thread. Splitting the batch between OpenMP threads was measured slower on the
2-core machine this was built on (thread hand-offs cost more than the microseconds of work per
call); ``benchmarks/bench_mlp.py`` and ``bench_deep.py`` show the figures.

The extension is compiled on first use with ``torch.utils.cpp_extension.load_inline`` (about
40 s, cached in ``~/.cache/torch_extensions``). Where no compiler is available, :func:`available`
is ``False`` and ``auto`` schedules fall back to the level-by-level torch kernels; set
``GRAPHNETS_NO_CPP=1`` to force that fallback.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import warnings

import torch
from torch.autograd.function import once_differentiable

from ..schedule import Schedule

__all__ = ["available", "run_fused"]

_CPP = r"""
#include <torch/extension.h>
#include <cmath>
#include <vector>

// Activation codes follow graphnets.activations: identity, relu, tanh, sigmoid, leaky_relu,
// elu, softplus, gelu, silu. p0/p1 are the activation's parameters.
template <typename T>
static inline T act_fwd(int code, T z, T p0, T p1) {
  switch (code) {
    case 0: return z;
    case 1: return z > T(0) ? z : T(0);
    case 2: return std::tanh(z);
    case 3: return T(1) / (T(1) + std::exp(-z));
    case 4: return z > T(0) ? z : z * p0;
    case 5: return z > T(0) ? z : p0 * (std::exp(z) - T(1));
    case 6: return z * p0 > p1 ? z : std::log1p(std::exp(z * p0)) / p0;
    case 7:
      if (p0 != T(0)) {
        const T k = std::sqrt(T(2) / T(M_PI));
        return T(0.5) * z * (T(1) + std::tanh(k * (z + T(0.044715) * z * z * z)));
      }
      return T(0.5) * z * (T(1) + std::erf(z / std::sqrt(T(2))));
    case 8: return z / (T(1) + std::exp(-z));
  }
  return z;
}

// d act / d z, given z and a = act(z)
template <typename T>
static inline T act_grad(int code, T z, T a, T p0, T p1) {
  switch (code) {
    case 0: return T(1);
    case 1: return a > T(0) ? T(1) : T(0);
    case 2: return T(1) - a * a;
    case 3: return a * (T(1) - a);
    case 4: return z > T(0) ? T(1) : p0;
    case 5: return z > T(0) ? T(1) : a + p0;
    case 6: { if (z * p0 > p1) return T(1); T e = std::exp(z * p0); return e / (e + T(1)); }
    case 7:
      if (p0 != T(0)) {
        const T k = std::sqrt(T(2) / T(M_PI)), c = T(0.044715);
        T t = std::tanh(k * (z + c * z * z * z));
        return T(0.5) * (T(1) + t) + T(0.5) * z * (T(1) - t * t) * k * (T(1) + T(3) * c * z * z);
      } else {
        T cdf = T(0.5) * (T(1) + std::erf(z / std::sqrt(T(2))));
        T pdf = std::exp(T(-0.5) * z * z) / std::sqrt(T(2) * T(M_PI));
        return cdf + z * pdf;
      }
    case 8: { T s = T(1) / (T(1) + std::exp(-z)); return s * (T(1) + z * (T(1) - s)); }
  }
  return T(1);
}

// a[k] = act(z[k]) for k < len (a may be z: in place); the switch sits outside the loops so
// each loop vectorises.
template <typename T>
static inline void act_rows(int code, const T* z, T* a, int64_t len, T p0, T p1) {
  switch (code) {
    case 0: for (int64_t k = 0; k < len; ++k) a[k] = z[k]; break;
    case 1: for (int64_t k = 0; k < len; ++k) a[k] = z[k] > T(0) ? z[k] : T(0); break;
    case 4: for (int64_t k = 0; k < len; ++k) a[k] = z[k] > T(0) ? z[k] : z[k] * p0; break;
    default: for (int64_t k = 0; k < len; ++k) a[k] = act_fwd<T>(code, z[k], p0, p1);
  }
}

// g[k] *= act'(z[k]) given a = act(z); returns sum_k of the result.
template <typename T>
static inline T act_grad_rows(int code, const T* __restrict__ z, const T* __restrict__ a,
                              T* __restrict__ g, int64_t len, T p0, T p1) {
  T sum = 0;
  switch (code) {
    case 0: for (int64_t k = 0; k < len; ++k) sum += g[k]; break;
    case 1:
      for (int64_t k = 0; k < len; ++k) { g[k] = a[k] > T(0) ? g[k] : T(0); sum += g[k]; }
      break;
    case 2:
      for (int64_t k = 0; k < len; ++k) { g[k] *= T(1) - a[k] * a[k]; sum += g[k]; }
      break;
    default:
      for (int64_t k = 0; k < len; ++k) { g[k] *= act_grad<T>(code, z[k], a[k], p0, p1); sum += g[k]; }
  }
  return sum;
}

// out[j, b] = in[b, j] for a [rows, cols] row-major input, in cache-sized tiles.
template <typename T>
static void transpose(const T* __restrict__ in, T* __restrict__ out, int64_t rows, int64_t cols,
                      int64_t in_stride0, int64_t in_stride1) {
  const int64_t tile = 32;
  for (int64_t jt = 0; jt < cols; jt += tile)
    for (int64_t bt = 0; bt < rows; bt += tile)
      for (int64_t j = jt; j < std::min(cols, jt + tile); ++j)
        for (int64_t b = bt; b < std::min(rows, bt + tile); ++b)
          out[j * rows + b] = in[b * in_stride0 + j * in_stride1];
}

// H, Z: [N, B] node-major; H[:n_in] holds the inputs. Fills H (and Z, if kept) for positions
// >= n_in. Without Z, z is built in H's row and activated in place.
template <typename T>
static void forward_impl(T* H, T* Z, const T* w, const T* b, const int64_t* rowptr,
                         const int64_t* src, const int64_t* codes, const double* params,
                         int64_t n, int64_t n_in, int64_t B) {
  const int64_t len = B;
  {
    for (int64_t i = n_in; i < n; ++i) {
      T* a = H + i * B;
      T* __restrict__ z = Z ? Z + i * B : H + i * B;
      const T bi = b[i];
      for (int64_t k = 0; k < len; ++k) z[k] = bi;
      for (int64_t e = rowptr[i]; e < rowptr[i + 1]; ++e) {
        const T we = w[e];
        const T* __restrict__ h = H + src[e] * B;
        for (int64_t k = 0; k < len; ++k) z[k] += we * h[k];
      }
      act_rows<T>((int)codes[i], z, a, len, (T)params[2 * i], (T)params[2 * i + 1]);
    }
  }
}

std::vector<torch::Tensor> fused_forward(torch::Tensor x, torch::Tensor w, torch::Tensor b,
                                         torch::Tensor rowptr, torch::Tensor src,
                                         torch::Tensor codes, torch::Tensor params,
                                         bool keep_z) {
  const int64_t n = b.size(0), n_in = x.size(1), B = x.size(0);
  auto H = torch::empty({n, B}, x.options());
  auto Z = keep_z ? torch::empty({n, B}, x.options()) : torch::empty({0}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_forward", [&] {
    transpose<scalar_t>(x.data_ptr<scalar_t>(), H.data_ptr<scalar_t>(), B, n_in, x.stride(0),
                        x.stride(1));
    forward_impl<scalar_t>(H.data_ptr<scalar_t>(), keep_z ? Z.data_ptr<scalar_t>() : nullptr,
                           w.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
                           rowptr.data_ptr<int64_t>(), src.data_ptr<int64_t>(),
                           codes.data_ptr<int64_t>(), params.data_ptr<double>(), n, n_in, B);
  });
  return {H, Z};
}

// gy: [B, n_out] gradient of the outputs at positions out_pos. Returns (gx or empty, gw, gb).
// The gradient buffer G covers positions >= n_in only, unless x needs a gradient.
std::vector<torch::Tensor> fused_backward(torch::Tensor gy, torch::Tensor out_pos,
                                          torch::Tensor H, torch::Tensor Z, torch::Tensor w,
                                          torch::Tensor rowptr, torch::Tensor src,
                                          torch::Tensor codes, torch::Tensor params,
                                          int64_t n_in, bool need_x) {
  const int64_t n = H.size(0), B = H.size(1), E = w.size(0), n_out = out_pos.size(0);
  const int64_t off = need_x ? 0 : n_in;  // G's row r is position r + off
  auto G = torch::zeros({n - off, B}, H.options());
  auto gw = torch::zeros({E}, H.options());
  auto gb = torch::zeros({n}, H.options());
  const bool keep_z = Z.numel() > 0;
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "fused_backward", [&] {
    scalar_t* g = G.data_ptr<scalar_t>() - off * B;
    const scalar_t* h = H.data_ptr<scalar_t>();
    const scalar_t* zz = keep_z ? Z.data_ptr<scalar_t>() : h;  // codes without z read only a
    const scalar_t* wp = w.data_ptr<scalar_t>();
    const int64_t* rp = rowptr.data_ptr<int64_t>();
    const int64_t* sp = src.data_ptr<int64_t>();
    const int64_t* cp = codes.data_ptr<int64_t>();
    const int64_t* op = out_pos.data_ptr<int64_t>();
    const double* pp = params.data_ptr<double>();
    const scalar_t* gyp = gy.data_ptr<scalar_t>();
    const int64_t gys0 = gy.stride(0), gys1 = gy.stride(1);
    scalar_t* gwp = gw.data_ptr<scalar_t>();
    scalar_t* gbp = gb.data_ptr<scalar_t>();
    for (int64_t j = 0; j < n_out; ++j) {
      scalar_t* go = g + op[j] * B;
      for (int64_t k = 0; k < B; ++k) go[k] += gyp[k * gys0 + j * gys1];
    }
    for (int64_t i = n - 1; i >= n_in; --i) {
      scalar_t* __restrict__ gi = g + i * B;
      gbp[i] = act_grad_rows<scalar_t>((int)cp[i], zz + i * B, h + i * B, gi, B,
                                       (scalar_t)pp[2 * i], (scalar_t)pp[2 * i + 1]);
      for (int64_t e = rp[i]; e < rp[i + 1]; ++e) {
        const int64_t s = sp[e];
        const scalar_t* __restrict__ hs = h + s * B;
        scalar_t dot = 0;
        for (int64_t k = 0; k < B; ++k) dot += gi[k] * hs[k];
        gwp[e] = dot;
        if (s >= off) {
          scalar_t* __restrict__ gs = g + s * B;
          const scalar_t we = wp[e];
          for (int64_t k = 0; k < B; ++k) gs[k] += we * gi[k];
        }
      }
    }
  });
  auto gx = need_x ? G.narrow(0, 0, n_in).t() : torch::empty({0}, H.options());
  return {gx, gw, gb};
}

// x.T as a contiguous [n_in, B] tensor, transposed in tiles (faster than a strided copy).
torch::Tensor transpose_rows(torch::Tensor x) {
  auto out = torch::empty({x.size(1), x.size(0)}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "transpose_rows", [&] {
    transpose<scalar_t>(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), x.size(0), x.size(1),
                        x.stride(0), x.stride(1));
  });
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("transpose", &transpose_rows, "x.T, contiguous");
  m.def("forward", &fused_forward, "graphnets fused forward");
  m.def("backward", &fused_backward, "graphnets fused backward");
}
"""

_lock = threading.Lock()
_module = None
_failed: str | None = None


def _load():
    global _module, _failed
    with _lock:
        if _module is not None or _failed is not None:
            return _module
        if os.environ.get("GRAPHNETS_NO_CPP", "") not in ("", "0"):
            _failed = "disabled by GRAPHNETS_NO_CPP"
            return None
        try:
            from torch.utils.cpp_extension import load_inline

            # One build per (environment, torch, source): torch keys its cache by name only, and
            # a build for another venv's headers would be rebuilt (and overwritten) each switch.
            key = hashlib.sha1(
                f"{sys.prefix}|{torch.__version__}|{_CPP}".encode()
            ).hexdigest()[:12]
            _module = load_inline(
                name=f"graphnets_fused_{key}",
                cpp_sources=_CPP,
                extra_cflags=["-O3", "-ffast-math", "-fno-finite-math-only"],
                verbose=False,
            )
        except Exception as err:  # no compiler, no headers, ...: fall back to torch kernels
            _failed = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
            warnings.warn(
                f"graphnets: the fused C++ kernel could not be built ({_failed}); deep narrow "
                "graphs will run on the slower level-by-level torch kernels",
                RuntimeWarning,
                stacklevel=3,
            )
        return _module


def available() -> bool:
    """Whether the fused C++ kernel is built (building it on first call)."""
    return _load() is not None


def why_unavailable() -> str | None:
    """Why the kernel is unavailable, or ``None`` if it is available."""
    _load()
    return _failed


class _FusedRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, sched: Schedule):  # type: ignore[override]
        f = sched.fused
        keep_z = bool(f["keep_z"])
        H, Z = _module.forward(
            x, w.contiguous(), b.contiguous(), f["rowptr"], f["src"], f["codes"], f["params"],
            keep_z,
        )
        ctx.sched = sched
        ctx.save_for_backward(H, Z, w)
        return H.index_select(0, sched.out_pos).T.contiguous()

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):  # type: ignore[override]
        sched: Schedule = ctx.sched
        H, Z, w = ctx.saved_tensors
        f = sched.fused
        need_x = ctx.needs_input_grad[0]
        gx, gw, gb = _module.backward(
            gy.to(H.dtype), sched.out_pos, H, Z, w.contiguous(), f["rowptr"], f["src"],
            f["codes"], f["params"], sched.num_inputs, need_x,
        )
        gb[: sched.num_inputs] = 0
        return (gx if need_x else None), gw, gb, None


def transpose(x: torch.Tensor) -> torch.Tensor:
    """``x.T.contiguous()`` for a CPU float matrix, by the C++ tiled transpose when it is built."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and _load() is not None:
        return _module.transpose(x)
    return x.T.contiguous()


def run_fused(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Evaluate a fused schedule on ``x [B, n_in]`` (weights and biases in schedule order)."""
    if _load() is None:
        raise RuntimeError(f"the fused C++ kernel is unavailable: {_failed}")
    return _FusedRun.apply(x, w, b, sched)
