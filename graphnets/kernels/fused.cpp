// graphnets' fused kernel: the whole schedule in one call, forward and backward.
// Loaded and compiled by graphnets/kernels/fused.py (see its docstring).
#include <torch/extension.h>
#include <cmath>
#include <optional>
#include <type_traits>
#include <vector>
#ifdef __AVX2__
#include <immintrin.h>
#endif

// The activation code is the row of graphnets.core.activations.REGISTRY; p0 and p1 are its two
// parameters. The cases below are generated from the registry's C++ snippets when the source is
// loaded (graphnets/kernels/fused.py), so an activation is defined in one place.
template <typename T>
static inline T act_fwd(int code, T z, T p0, T p1) {
  switch (code) {
// @ACT_FORWARD@
  }
  return z;
}

// d act / d z, given z and a = act(z)
template <typename T>
static inline T act_grad(int code, T z, T a, T p0, T p1) {
  switch (code) {
// @ACT_GRAD@
  }
  return T(1);
}

// a[k] = act(z[k]) for k < len (a may be z: in place); the switch sits outside the loops so
// each loop vectorises.
template <typename T>
static inline void act_rows(int code, const T* z, T* a, int64_t len, T p0, T p1) {
  switch (code) {
// @ACT_ROWS_FORWARD@
    default: for (int64_t k = 0; k < len; ++k) a[k] = act_fwd<T>(code, z[k], p0, p1);
  }
}

// g[k] *= act'(z[k]) given a = act(z); returns sum_k of the result.
template <typename T>
static inline T act_grad_rows(int code, const T* __restrict__ z, const T* __restrict__ a,
                              T* __restrict__ g, int64_t len, T p0, T p1) {
  T sum = 0;
  switch (code) {
// @ACT_ROWS_GRAD@
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

// The graph in schedule positions (inputs are positions 0..n_in-1, in x's column order).
// Edges from computed nodes: CSR by destination (rowptr, src), weight index hw. Edges from
// inputs: CSR by input (in_ptr, in_dst), weight index iw. node[i] is the node at position i,
// with bias b[node[i]]. Reading parameters through these maps spares the caller gathers.
// Buffers H, Z, G hold one row of B values per computed position: row i - n_in.
struct Graph {
  const int64_t *rowptr, *src, *hw, *in_ptr, *in_dst, *iw, *node, *codes;
  const double* params;
  const int64_t* dead;  // 1 for a position with no path to an output
  int64_t n, n_in;
};

static Graph graph(const std::vector<torch::Tensor>& a, int64_t n_in) {
  return Graph{a[0].data_ptr<int64_t>(), a[1].data_ptr<int64_t>(), a[2].data_ptr<int64_t>(),
               a[3].data_ptr<int64_t>(), a[4].data_ptr<int64_t>(), a[5].data_ptr<int64_t>(),
               a[6].data_ptr<int64_t>(), a[7].data_ptr<int64_t>(), a[8].data_ptr<double>(),
               a[9].data_ptr<int64_t>(), a[6].size(0), n_in};
}

// tmp[c * B + k] = x[k, j0 + c] for c < nb <= 8: a block of input columns, gathered once and
// reused by all their out-edges (it replaces a transposed copy of x). float rows of a
// row-major x are moved 8x8 at a time through AVX registers; otherwise element by element.
#ifdef __AVX2__
static inline void transpose8x8(const float* in, int64_t ld, float* out, int64_t ldo) {
  __m256 r0 = _mm256_loadu_ps(in), r1 = _mm256_loadu_ps(in + ld), r2 = _mm256_loadu_ps(in + 2 * ld),
         r3 = _mm256_loadu_ps(in + 3 * ld), r4 = _mm256_loadu_ps(in + 4 * ld),
         r5 = _mm256_loadu_ps(in + 5 * ld), r6 = _mm256_loadu_ps(in + 6 * ld),
         r7 = _mm256_loadu_ps(in + 7 * ld);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + ldo, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * ldo, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * ldo, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * ldo, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * ldo, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * ldo, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * ldo, _mm256_permute2f128_ps(s3, s7, 0x31));
}
#endif

template <typename T>
static inline void columns(const T* x, int64_t s0, int64_t s1, int64_t j0, int64_t nb,
                           int64_t B, T* tmp) {
  int64_t k = 0;
#ifdef __AVX2__
  if constexpr (std::is_same<T, float>::value) {
    if (nb == 8 && s1 == 1)
      for (; k + 8 <= B; k += 8) transpose8x8(x + k * s0 + j0, s0, tmp + k, B);
  }
#endif
  for (int64_t c = 0; c < nb; ++c)
    for (int64_t kk = k; kk < B; ++kk) tmp[c * B + kk] = x[kk * s0 + (j0 + c) * s1];
}

// The forward over batch columns [k0, k0 + B) of buffers whose rows are ld long: the caller
// offsets x, H and Z by k0, so one call does the whole batch, or one thread's share of it.
template <typename T>
static void forward_impl(const Graph& g, const T* x, int64_t s0, int64_t s1, T* H, T* Z,
                         const T* w, const T* b, int64_t B, int64_t ld) {
  const int64_t n_in = g.n_in;
  for (int64_t i = n_in; i < g.n; ++i) {  // z = b
    T* z = (Z ? Z : H) + (i - n_in) * ld;
    const T bi = b[g.node[i]];
    for (int64_t k = 0; k < B; ++k) z[k] = bi;
  }
  std::vector<T> tmp(8 * B);
  for (int64_t j0 = 0; j0 < n_in; j0 += 8) {  // z += w x_j, eight inputs at a time
    const int64_t nb = std::min<int64_t>(8, n_in - j0);
    if (g.in_ptr[j0] == g.in_ptr[j0 + nb]) continue;
    columns(x, s0, s1, j0, nb, B, tmp.data());
    for (int64_t c = 0; c < nb; ++c) {
      const T* __restrict__ xj = tmp.data() + c * B;
      for (int64_t p = g.in_ptr[j0 + c]; p < g.in_ptr[j0 + c + 1]; ++p) {
        T* __restrict__ z = (Z ? Z : H) + (g.in_dst[p] - n_in) * ld;
        const T we = w[g.iw[p]];
        for (int64_t k = 0; k < B; ++k) z[k] += we * xj[k];
      }
    }
  }
  for (int64_t i = n_in; i < g.n; ++i) {  // z += w a_src, then a = act(z), in schedule order
    T* a = H + (i - n_in) * ld;
    T* __restrict__ z = (Z ? Z : H) + (i - n_in) * ld;
    for (int64_t e = g.rowptr[i]; e < g.rowptr[i + 1]; ++e) {
      const T we = w[g.hw[e]];
      const T* __restrict__ h = H + (g.src[e] - n_in) * ld;
      for (int64_t k = 0; k < B; ++k) z[k] += we * h[k];
    }
    act_rows<T>((int)g.codes[i], z, a, B, (T)g.params[2 * i], (T)g.params[2 * i + 1]);
  }
}

// Below this many multiply-adds per pass (2^25: ~5 ms of work on one core) a kernel runs on one
// thread. A hand-off costs ~10-50 us on a quiet machine, but on the shared 2-core VM this was
// built on no size we could time gained from a second thread (docs/benchmarks.md), so threads
// are only used where a hand-off is certainly below 1% of the work.
static constexpr int64_t kParallelMacs = 1 << 25;

// Batch columns per thread: the whole batch on one thread below kParallelMacs multiply-adds per
// pass, else up to one share of at least kMinShare columns per thread (at::get_num_threads():
// torch.set_num_threads).
static constexpr int64_t kMinShare = 64;

static int64_t batch_shares(int64_t edges, int64_t B) {
  if (edges * B < kParallelMacs || at::in_parallel_region()) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B / kMinShare));
}

// Runs f(k0, k1, share) for every share of the batch, in parallel when there are several.
template <typename F>
static void over_shares(int64_t shares, int64_t B, const F& f) {
  if (shares == 1) {
    f(0, B, 0);
    return;
  }
  const int64_t step = (B + shares - 1) / shares;
  at::parallel_for(0, shares, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) f(s * step, std::min(B, (s + 1) * step), s);
  });
}

// Returns (y [B, n_out], H, Z or empty); H and Z are [n - n_in, B].
std::vector<torch::Tensor> fused_forward(torch::Tensor x, torch::Tensor w, torch::Tensor b,
                                         std::vector<torch::Tensor> arrays,
                                         torch::Tensor out_pos, bool keep_z) {
  const int64_t n_in = x.size(1), B = x.size(0), n_out = out_pos.size(0);
  const int64_t n = arrays[6].size(0);
  auto H = torch::empty({n - n_in, B}, x.options());
  auto Z = keep_z ? torch::empty({n - n_in, B}, x.options()) : torch::empty({0}, x.options());
  auto y = torch::empty({B, n_out}, x.options());
  const int64_t shares = batch_shares(w.size(0), B);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_forward", [&] {
    const Graph g = graph(arrays, n_in);
    scalar_t* h = H.data_ptr<scalar_t>();
    scalar_t* zp = keep_z ? Z.data_ptr<scalar_t>() : nullptr;
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const int64_t s0 = x.stride(0), s1 = x.stride(1);
    over_shares(shares, B, [&](int64_t k0, int64_t k1, int64_t) {
      forward_impl<scalar_t>(g, xp + k0 * s0, s0, s1, h + k0, zp ? zp + k0 : nullptr,
                             w.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), k1 - k0, B);
    });
    scalar_t* yp = y.data_ptr<scalar_t>();
    const int64_t* op = out_pos.data_ptr<int64_t>();
    for (int64_t j = 0; j < n_out; ++j)
      for (int64_t k = 0; k < B; ++k) yp[k * n_out + j] = h[(op[j] - n_in) * B + k];
  });
  return {y, H, Z};
}

// The backward over batch columns [k0, k0 + B) (pointers offset by the caller, rows ld long):
// G gets this share's gradients, gwp and gbp this share's part of the weight and bias
// gradients (summed over shares by the caller), gxp (if any) this share's rows of gx.
template <typename scalar_t>
static void backward_impl(const Graph& gr, scalar_t* g, const scalar_t* h, const scalar_t* zz,
                          const scalar_t* wp, const scalar_t* gyp, int64_t gys0, int64_t gys1,
                          const scalar_t* xp, int64_t xs0, int64_t xs1, const int64_t* op,
                          int64_t n_out, scalar_t* gwp, scalar_t* gbp, scalar_t* gxp, int64_t B,
                          int64_t ld) {
  const int64_t n_in = gr.n_in, n = gr.n;
  for (int64_t j = 0; j < n_out; ++j) {
    scalar_t* go = g + (op[j] - n_in) * ld;
    for (int64_t k = 0; k < B; ++k) go[k] += gyp[k * gys0 + j * gys1];
  }
  for (int64_t i = n - 1; i >= n_in; --i) {  // computed nodes, in reverse schedule order
    if (gr.dead[i]) {  // no path to an output: autograd never reaches it, even where
      gbp[gr.node[i]] = 0;  // act'(z) is NaN; its row of G stays 0 (its successors are dead)
      for (int64_t e = gr.rowptr[i]; e < gr.rowptr[i + 1]; ++e) gwp[gr.hw[e]] = 0;
      continue;
    }
    const int64_t r = (i - n_in) * ld;
    scalar_t* __restrict__ gi = g + r;
    gbp[gr.node[i]] = act_grad_rows<scalar_t>((int)gr.codes[i], zz + r, h + r, gi, B,
                                              (scalar_t)gr.params[2 * i],
                                              (scalar_t)gr.params[2 * i + 1]);
    for (int64_t e = gr.rowptr[i]; e < gr.rowptr[i + 1]; ++e) {
      const int64_t s = (gr.src[e] - n_in) * ld;
      const scalar_t* __restrict__ hs = h + s;
      scalar_t* __restrict__ gs = g + s;
      const scalar_t we = wp[gr.hw[e]];
      scalar_t dot = 0;
      for (int64_t k = 0; k < B; ++k) {
        dot += gi[k] * hs[k];
        gs[k] += we * gi[k];
      }
      gwp[gr.hw[e]] = dot;
    }
  }
  // Edges from inputs last: every destination's gradient is final by now.
  std::vector<scalar_t> tmp(8 * B), acc(B);
  for (int64_t j0 = 0; j0 < n_in; j0 += 8) {
    const int64_t nb = std::min<int64_t>(8, n_in - j0);
    if (gr.in_ptr[j0] == gr.in_ptr[j0 + nb]) continue;
    columns(xp, xs0, xs1, j0, nb, B, tmp.data());
    for (int64_t c = 0; c < nb; ++c) {
      const int64_t j = j0 + c;
      const scalar_t* __restrict__ xj = tmp.data() + c * B;
      scalar_t* __restrict__ ac = acc.data();
      if (gxp) std::fill(acc.begin(), acc.end(), scalar_t(0));
      for (int64_t p = gr.in_ptr[j]; p < gr.in_ptr[j + 1]; ++p) {
        if (gr.dead[gr.in_dst[p]]) {  // into a node no output depends on (0 · inf is NaN)
          gwp[gr.iw[p]] = 0;
          continue;
        }
        const scalar_t* __restrict__ gd = g + (gr.in_dst[p] - n_in) * ld;
        scalar_t dot = 0;
        for (int64_t k = 0; k < B; ++k) dot += gd[k] * xj[k];
        gwp[gr.iw[p]] = dot;
        if (gxp) {
          const scalar_t we = wp[gr.iw[p]];
          for (int64_t k = 0; k < B; ++k) ac[k] += we * gd[k];
        }
      }
      if (gxp && gr.in_ptr[j] < gr.in_ptr[j + 1])
        for (int64_t k = 0; k < B; ++k) gxp[k * n_in + j] = ac[k];
    }
  }
}

// gy: [B, n_out]. Returns (gx [B, n_in] or empty, gw like w, gb like b).
std::vector<torch::Tensor> fused_backward(torch::Tensor gy, torch::Tensor x, torch::Tensor H,
                                          torch::Tensor Z, torch::Tensor w, int64_t n_bias,
                                          std::vector<torch::Tensor> arrays,
                                          torch::Tensor out_pos, bool need_x) {
  const int64_t n_in = x.size(1), B = H.size(1), n_out = out_pos.size(0);
  const int64_t n = arrays[6].size(0);
  auto G = torch::zeros({n - n_in, B}, H.options());
  const int64_t shares = batch_shares(w.size(0), B);
  // every edge is written once per share; biases of inputs never are
  auto gw = torch::empty({shares, w.size(0)}, w.options());
  auto gb = torch::zeros({shares, n_bias}, H.options());
  auto gx = need_x ? torch::zeros({B, n_in}, H.options()) : torch::empty({0}, H.options());
  const bool keep_z = Z.numel() > 0;
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "fused_backward", [&] {
    const Graph gr = graph(arrays, n_in);
    scalar_t* g = G.data_ptr<scalar_t>();
    const scalar_t* h = H.data_ptr<scalar_t>();
    const scalar_t* zz = keep_z ? Z.data_ptr<scalar_t>() : h;  // codes without z read only a
    const scalar_t* gyp = gy.data_ptr<scalar_t>();
    const scalar_t* xp = x.data_ptr<scalar_t>();
    scalar_t* gxp = need_x ? gx.data_ptr<scalar_t>() : nullptr;
    const int64_t gys0 = gy.stride(0), gys1 = gy.stride(1);
    const int64_t xs0 = x.stride(0), xs1 = x.stride(1);
    const int64_t E = w.size(0);
    over_shares(shares, B, [&](int64_t k0, int64_t k1, int64_t s) {
      backward_impl<scalar_t>(gr, g + k0, h + k0, zz + k0, w.data_ptr<scalar_t>(),
                              gyp + k0 * gys0, gys0, gys1, xp + k0 * xs0, xs0, xs1,
                              out_pos.data_ptr<int64_t>(), n_out,
                              gw.data_ptr<scalar_t>() + s * E,
                              gb.data_ptr<scalar_t>() + s * n_bias,
                              gxp ? gxp + k0 * n_in : nullptr, k1 - k0, B);
    });
  });
  if (shares == 1) return {gx, gw[0], gb[0]};
  return {gx, gw.sum(0), gb.sum(0)};
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

// ---- one sparse level, node-major (rows of B values), for the level-wise path ----------------
// A CSR level computed row by row with its output tile held in registers: for a tile of TB
// batch columns, out[r] = bias[r] + sum_e w[e] X[col[e]] reads each source row once per edge
// and writes each output row once, so it runs at the machine's FMA rate while X's tile stays in
// cache (the reason the loop over batch tiles is the outer one). Rows are split between threads
// (at::parallel_for) when the level is large enough to pay for the hand-off.
static constexpr int64_t kTileBytes = 512;  // 8 AVX-512 / 16 AVX2 registers of accumulators

template <typename T>
static void spmm_rows(const int64_t* rowptr, const int64_t* col, const T* w, const int64_t* wperm,
                      const T* X, int64_t ldx, T* out, int64_t ldo, const T* bias, int64_t r0,
                      int64_t r1, int64_t k0, int64_t len) {
  for (int64_t r = r0; r < r1; ++r) {
    T* __restrict__ o = out + r * ldo + k0;
    const T bb = bias ? bias[r] : T(0);
    for (int64_t k = 0; k < len; ++k) o[k] = bb;
    int64_t e = rowptr[r];
    const int64_t stop = rowptr[r + 1];
    for (; e + 4 <= stop; e += 4) {  // four edges per pass over o: a quarter of its loads/stores
      const T w0 = w[wperm ? wperm[e] : e], w1 = w[wperm ? wperm[e + 1] : e + 1];
      const T w2 = w[wperm ? wperm[e + 2] : e + 2], w3 = w[wperm ? wperm[e + 3] : e + 3];
      const T* __restrict__ x0 = X + col[e] * ldx + k0;
      const T* __restrict__ x1 = X + col[e + 1] * ldx + k0;
      const T* __restrict__ x2 = X + col[e + 2] * ldx + k0;
      const T* __restrict__ x3 = X + col[e + 3] * ldx + k0;
      for (int64_t k = 0; k < len; ++k) o[k] += (w0 * x0[k] + w1 * x1[k]) + (w2 * x2[k] + w3 * x3[k]);
    }
    for (; e < stop; ++e) {
      const T we = w[wperm ? wperm[e] : e];
      const T* __restrict__ xs = X + col[e] * ldx + k0;
      for (int64_t k = 0; k < len; ++k) o[k] += we * xs[k];
    }
  }
}


// out [rows, B] (row stride ldo) = bias + A X for the CSR A (rowptr, col, values w, or w[wperm]
// when wperm is given) and X [*, B] with row stride ldx; no bias: zero. Every tensor contiguous
// except X and out, whose rows may be strided.
void csr_spmm(torch::Tensor rowptr, torch::Tensor col, torch::Tensor w,
              std::optional<torch::Tensor> wperm, torch::Tensor X, torch::Tensor out,
              std::optional<torch::Tensor> bias) {
  const int64_t rows = rowptr.size(0) - 1, B = out.size(1);
  TORCH_CHECK(X.stride(1) == 1 && out.stride(1) == 1 && X.size(1) == B, "csr_spmm: layout");
  const int64_t nnz = col.size(0);
  AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "csr_spmm", [&] {
    constexpr int64_t TB = kTileBytes / sizeof(scalar_t);
    const int64_t* rp = rowptr.data_ptr<int64_t>();
    const int64_t* cp = col.data_ptr<int64_t>();
    const scalar_t* wp = w.data_ptr<scalar_t>();
    const int64_t* pp = wperm ? wperm->data_ptr<int64_t>() : nullptr;
    const scalar_t* xp = X.data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    const scalar_t* bp = bias ? bias->data_ptr<scalar_t>() : nullptr;
    const int64_t ldx = X.stride(0), ldo = out.stride(0);
    auto body = [&](int64_t r0, int64_t r1) {
      for (int64_t k0 = 0; k0 < B; k0 += TB)
        spmm_rows<scalar_t>(rp, cp, wp, pp, xp, ldx, op, ldo, bp, r0, r1, k0,
                                std::min<int64_t>(TB, B - k0));
    };
    if (nnz * B < kParallelMacs || rows < 2) body(0, rows);
    else at::parallel_for(0, rows, std::max<int64_t>(1, rows / (4 * at::get_num_threads())), body);
  });
}

// gw[e] = <G[r], X[col[e]]> over the batch for every edge e of row r (the weight gradient of a
// CSR level: torch's sampled_addmm, without building a sparse tensor).
void csr_sddmm(torch::Tensor rowptr, torch::Tensor col, torch::Tensor G, torch::Tensor X,
               torch::Tensor gw) {
  const int64_t rows = rowptr.size(0) - 1, B = G.size(1);
  TORCH_CHECK(X.stride(1) == 1 && G.stride(1) == 1 && X.size(1) == B, "csr_sddmm: layout");
  const int64_t nnz = col.size(0);
  AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "csr_sddmm", [&] {
    const int64_t* rp = rowptr.data_ptr<int64_t>();
    const int64_t* cp = col.data_ptr<int64_t>();
    const scalar_t* gp = G.data_ptr<scalar_t>();
    const scalar_t* xp = X.data_ptr<scalar_t>();
    scalar_t* out = gw.data_ptr<scalar_t>();
    const int64_t ldx = X.stride(0), ldg = G.stride(0);
    auto body = [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const scalar_t* __restrict__ g = gp + r * ldg;
        for (int64_t e = rp[r]; e < rp[r + 1]; ++e) {
          const scalar_t* __restrict__ xs = xp + cp[e] * ldx;
          scalar_t dot = 0;
          for (int64_t k = 0; k < B; ++k) dot += g[k] * xs[k];
          out[e] = dot;
        }
      }
    };
    if (nnz * B < kParallelMacs || rows < 2) body(0, rows);
    else at::parallel_for(0, rows, std::max<int64_t>(1, rows / (4 * at::get_num_threads())), body);
  });
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("transpose", &transpose_rows, "x.T, contiguous");
  m.def("forward", &fused_forward, "graphnets fused forward");
  m.def("backward", &fused_backward, "graphnets fused backward");
  m.def("csr_spmm", &csr_spmm, "out = bias + A X for a CSR A, node-major");
  m.def("csr_sddmm", &csr_sddmm, "gw[e] = <G[row e], X[col e]>");
}
