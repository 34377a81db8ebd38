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
// The same edges from computed nodes are also kept by source (out_ptr, out_dst, weight index
// ow), without the edges into dead positions (their weights, dead_w, get a zero gradient): the
// backward pulls each node's gradient from its successors, as the forward pulls its value from
// its predecessors.
struct Graph {
  const int64_t *rowptr, *src, *hw, *in_ptr, *in_dst, *iw, *node, *codes;
  const double* params;
  const int64_t* dead;  // 1 for a position with no path to an output
  const int64_t *out_ptr, *out_dst, *ow, *dead_w;
  const int64_t *irowptr, *isrc, *iwd;  // the edges from inputs again, by destination
  int64_t n, n_in, n_dead_w;
};

static Graph graph(const std::vector<torch::Tensor>& a, int64_t n_in) {
  return Graph{a[0].data_ptr<int64_t>(),  a[1].data_ptr<int64_t>(),  a[2].data_ptr<int64_t>(),
               a[3].data_ptr<int64_t>(),  a[4].data_ptr<int64_t>(),  a[5].data_ptr<int64_t>(),
               a[6].data_ptr<int64_t>(),  a[7].data_ptr<int64_t>(),  a[8].data_ptr<double>(),
               a[9].data_ptr<int64_t>(),  a[10].data_ptr<int64_t>(), a[11].data_ptr<int64_t>(),
               a[12].data_ptr<int64_t>(), a[13].data_ptr<int64_t>(), a[14].data_ptr<int64_t>(),
               a[15].data_ptr<int64_t>(), a[16].data_ptr<int64_t>(), a[6].size(0), n_in,
               a[13].size(0)};
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

// Register tiles: a tile of kTileVecs vectors of 32 bytes (64 bytes with AVX-512) of batch
// columns, held in registers while every in-edge of a node adds into it (GCC/Clang vector
// extensions: the same code for float and double, any x86 or ARM vector width).
#ifdef __AVX512F__
static constexpr int kVecBytes = 64;
#else
static constexpr int kVecBytes = 32;
#endif
static constexpr int kTileVecs = 8;
template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(kVecBytes), aligned(sizeof(T))));
  static constexpr int64_t lanes = kVecBytes / sizeof(T);
  static constexpr int64_t tile = lanes * kTileVecs;
};
template <typename V, typename T>
static inline V vload(const T* p) { V v; __builtin_memcpy(&v, p, sizeof(V)); return v; }
template <typename V, typename T>
static inline void vstore(T* p, V v) { __builtin_memcpy(p, &v, sizeof(V)); }

// acc[v] += w · src[v] for the kTileVecs vectors of the tile (one in-edge).
template <typename T>
static inline void tile_axpy(typename Vec<T>::type* acc, T w, const T* __restrict__ src) {
  using V = typename Vec<T>::type;
  constexpr int64_t L = Vec<T>::lanes;
  const V wv = V{} + w;
#pragma GCC unroll 8
  for (int v = 0; v < kTileVecs; ++v) acc[v] += wv * vload<V>(src + v * L);
}

// One node's z over batch columns [0, B) of rows ld long: bias, then every in-edge (from the
// node-major inputs XT, row stride ld, and from H), a register tile at a time; then a = act(z).
template <typename T>
static inline void node_forward(const Graph& g, int64_t i, const T* XT, T* H, T* Z, const T* w,
                                const T* b, int64_t B, int64_t ld) {
  using V = typename Vec<T>::type;
  constexpr int64_t L = Vec<T>::lanes, TW = Vec<T>::tile;
  const int64_t n_in = g.n_in;
  T* a = H + (i - n_in) * ld;
  T* __restrict__ z = (Z ? Z : H) + (i - n_in) * ld;
  const T bi = b[g.node[i]];
  const int64_t p0 = g.irowptr[i], p1 = g.irowptr[i + 1], e0 = g.rowptr[i], e1 = g.rowptr[i + 1];
  int64_t k0 = 0;
  for (; k0 + TW <= B; k0 += TW) {
    V acc[kTileVecs];
    for (int v = 0; v < kTileVecs; ++v) acc[v] = V{} + bi;
    for (int64_t p = p0; p < p1; ++p) tile_axpy<T>(acc, w[g.iwd[p]], XT + g.isrc[p] * ld + k0);
    for (int64_t e = e0; e < e1; ++e)
      tile_axpy<T>(acc, w[g.hw[e]], H + (g.src[e] - n_in) * ld + k0);
    for (int v = 0; v < kTileVecs; ++v) vstore<V>(z + k0 + v * L, acc[v]);
  }
  if (k0 < B) {  // the last, partial tile: in memory
    const int64_t len = B - k0;
    T* __restrict__ zt = z + k0;
    for (int64_t k = 0; k < len; ++k) zt[k] = bi;
    for (int64_t p = p0; p < p1; ++p) {
      const T we = w[g.iwd[p]];
      const T* __restrict__ xs = XT + g.isrc[p] * ld + k0;
      for (int64_t k = 0; k < len; ++k) zt[k] += we * xs[k];
    }
    for (int64_t e = e0; e < e1; ++e) {
      const T we = w[g.hw[e]];
      const T* __restrict__ hs = H + (g.src[e] - n_in) * ld + k0;
      for (int64_t k = 0; k < len; ++k) zt[k] += we * hs[k];
    }
  }
  act_rows<T>((int)g.codes[i], z, a, B, (T)g.params[2 * i], (T)g.params[2 * i + 1]);
}

// The forward over batch columns [k0, k0 + B) of buffers whose rows are ld long: the caller
// offsets x, XT, H and Z by k0, so one call does the whole batch, or one thread's share of it.
// XT [n_in, ld] gets the inputs that have out-edges, node-major (the backward reads it again).
template <typename T>
static void forward_impl(const Graph& g, const T* x, int64_t s0, int64_t s1, T* XT, T* H, T* Z,
                         const T* w, const T* b, int64_t B, int64_t ld) {
  const int64_t n_in = g.n_in;
  std::vector<T> tmp(8 * B);
  for (int64_t j0 = 0; j0 < n_in; j0 += 8) {  // x's columns with out-edges, eight at a time
    const int64_t nb = std::min<int64_t>(8, n_in - j0);
    if (g.in_ptr[j0] == g.in_ptr[j0 + nb]) continue;
    columns(x, s0, s1, j0, nb, B, tmp.data());
    for (int64_t c = 0; c < nb; ++c) std::copy(tmp.data() + c * B, tmp.data() + (c + 1) * B, XT + (j0 + c) * ld);
  }
  for (int64_t i = n_in; i < g.n; ++i) node_forward<T>(g, i, XT, H, Z, w, b, B, ld);
}

// Below this many multiply-adds per pass (2^19: ~50 us of work on one core) a kernel runs on
// one thread. Timed on the quiet 2-core VM (training steps, batch 256, 1 vs 2 threads,
// interleaved): two shares ran 1.20x as fast as one at 2,662 edges (681k multiply-adds),
// 1.24x at 4,416 (1.1M), 1.28x on the deep DAG (1.3M), 1.45-1.61x at 13k-53k edges; at 832
// edges (213k) no faster than one share. (It was 2^25 while the VM was shared with other
// jobs, whose load made every hand-off unpredictable.)
static constexpr int64_t kParallelMacs = 1 << 19;

// Batch columns per thread: the whole batch on one thread below kParallelMacs multiply-adds per
// pass, else up to one share of at least kMinShare columns per thread (at::get_num_threads():
// torch.set_num_threads). 128, not 64: on the quiet 2-core VM the SET-MLP at 10% (279k edges)
// ran 0.83x as fast on two shares of 64 columns (batch 128) as on one thread, 1.57x on two of
// 128 (batch 256) and 1.87x at batch 1024: a share of 64 no longer amortises its per-edge work.
static constexpr int64_t kMinShare = 128;

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

// Writes H and Z (if Z is not empty), both [n - n_in, B] and contiguous, every element; returns
// y [B, n_out]. The caller owns H and Z (and may reuse them from call to call).
torch::Tensor fused_forward(torch::Tensor x, torch::Tensor w, torch::Tensor b,
                            std::vector<torch::Tensor> arrays, torch::Tensor out_pos,
                            torch::Tensor XT, torch::Tensor H, torch::Tensor Z) {
  const int64_t n_in = x.size(1), B = x.size(0), n_out = out_pos.size(0);
  const int64_t n = arrays[6].size(0);
  const bool keep_z = Z.numel() > 0;
  TORCH_CHECK(H.is_contiguous() && H.size(0) == n - n_in && H.size(1) == B, "fused: H layout");
  TORCH_CHECK(!keep_z || (Z.is_contiguous() && Z.sizes() == H.sizes()), "fused: Z layout");
  TORCH_CHECK(XT.is_contiguous() && XT.size(0) == n_in && XT.size(1) == B, "fused: XT layout");
  auto y = torch::empty({B, n_out}, x.options());
  const int64_t shares = batch_shares(w.size(0), B);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_forward", [&] {
    const Graph g = graph(arrays, n_in);
    scalar_t* h = H.data_ptr<scalar_t>();
    scalar_t* zp = keep_z ? Z.data_ptr<scalar_t>() : nullptr;
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const int64_t s0 = x.stride(0), s1 = x.stride(1);
    over_shares(shares, B, [&](int64_t k0, int64_t k1, int64_t) {
      forward_impl<scalar_t>(g, xp + k0 * s0, s0, s1, XT.data_ptr<scalar_t>() + k0, h + k0,
                             zp ? zp + k0 : nullptr,
                             w.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), k1 - k0, B);
    });
    scalar_t* yp = y.data_ptr<scalar_t>();
    const int64_t* op = out_pos.data_ptr<int64_t>();
    for (int64_t j = 0; j < n_out; ++j)
      for (int64_t k = 0; k < B; ++k) yp[k * n_out + j] = h[(op[j] - n_in) * B + k];
  });
  return y;
}

// The backward over batch columns [k0, k0 + B) (pointers offset by the caller, rows ld long):
// G gets this share's gradients of z, gwp and gbp this share's part of the weight and bias
// gradients (summed over shares by the caller), gxp (if any) this share's rows of gx.
// Each computed node, in reverse schedule order, pulls its gradient from its successors (whose
// rows of G are final by then) into a register tile, and takes the out-edges' weight gradients
// <gz_dst, a> in the same pass; so every row of G is written once and needs no zeroing first.
template <typename T>
static void backward_impl(const Graph& gr, T* g, const T* h, const T* zz, const T* wp,
                          const T* gyp, int64_t gys0, int64_t gys1, const T* XT,
                          const int64_t* op, int64_t n_out, const char* is_out, T* gwp, T* gbp,
                          T* gxp, int64_t B, int64_t ld) {
  using V = typename Vec<T>::type;
  constexpr int64_t L = Vec<T>::lanes, TW = Vec<T>::tile;
  const int64_t n_in = gr.n_in, n = gr.n;
  for (int64_t d = 0; d < gr.n_dead_w; ++d) gwp[gr.dead_w[d]] = 0;  // into dead positions
  for (int64_t i = n - 1; i >= n_in; --i) {  // computed nodes, in reverse schedule order
    const int64_t r = (i - n_in) * ld;
    T* __restrict__ gi = g + r;
    if (gr.dead[i]) {  // no path to an output: autograd never reaches it, even where
      gbp[gr.node[i]] = 0;  // act'(z) is NaN; its gradient is 0
      for (int64_t k = 0; k < B; ++k) gi[k] = 0;
      continue;
    }
    const bool out = is_out[i - n_in];
    if (out) {  // the loss's gradient first
      for (int64_t k = 0; k < B; ++k) gi[k] = 0;
      for (int64_t j = 0; j < n_out; ++j)
        if (op[j] == i)
          for (int64_t k = 0; k < B; ++k) gi[k] += gyp[k * gys0 + j * gys1];
    }
    const T* __restrict__ hi = h + r;
    const int64_t e0 = gr.out_ptr[i], e1 = gr.out_ptr[i + 1];
    for (int64_t e = e0; e < e1; ++e) gwp[gr.ow[e]] = 0;
    int64_t k0 = 0;
    for (; k0 + TW <= B; k0 += TW) {
      V acc[kTileVecs], hv[kTileVecs];
      for (int v = 0; v < kTileVecs; ++v) {
        acc[v] = out ? vload<V>(gi + k0 + v * L) : V{};
        hv[v] = vload<V>(hi + k0 + v * L);
      }
      for (int64_t e = e0; e < e1; ++e) {
        const T* __restrict__ gd = g + (gr.out_dst[e] - n_in) * ld + k0;
        const V wv = V{} + wp[gr.ow[e]];
        V dv = V{};
#pragma GCC unroll 8
        for (int v = 0; v < kTileVecs; ++v) {
          const V gdv = vload<V>(gd + v * L);
          acc[v] += wv * gdv;
          dv += gdv * hv[v];
        }
        T dot = 0;
        for (int64_t l = 0; l < L; ++l) dot += dv[l];
        gwp[gr.ow[e]] += dot;
      }
      for (int v = 0; v < kTileVecs; ++v) vstore<V>(gi + k0 + v * L, acc[v]);
    }
    if (k0 < B) {  // the last, partial tile: in memory
      const int64_t len = B - k0;
      T* __restrict__ gt = gi + k0;
      const T* __restrict__ ht = hi + k0;
      if (!out)
        for (int64_t k = 0; k < len; ++k) gt[k] = 0;
      for (int64_t e = e0; e < e1; ++e) {
        const T we = wp[gr.ow[e]];
        const T* __restrict__ gd = g + (gr.out_dst[e] - n_in) * ld + k0;
        T dot = 0;
        for (int64_t k = 0; k < len; ++k) {
          dot += gd[k] * ht[k];
          gt[k] += we * gd[k];
        }
        gwp[gr.ow[e]] += dot;
      }
    }
    gbp[gr.node[i]] = act_grad_rows<T>((int)gr.codes[i], zz + r, hi, gi, B, (T)gr.params[2 * i],
                                       (T)gr.params[2 * i + 1]);
  }
  // Edges from inputs last: every destination's gradient is final by now. The inputs' rows
  // are the forward's node-major copy XT.
  std::vector<T> acc(B);
  for (int64_t j = 0; j < n_in; ++j) {
    if (gr.in_ptr[j] == gr.in_ptr[j + 1]) continue;
    const T* __restrict__ xj = XT + j * ld;
    T* __restrict__ ac = acc.data();
    if (gxp) std::fill(acc.begin(), acc.end(), T(0));
    int64_t p = gr.in_ptr[j];
    const int64_t stop = gr.in_ptr[j + 1];
    // four edges per pass over x_j when none goes into a dead node: four independent dot
    // products (one would wait on its own additions), x_j read once for the four
    for (; p + 4 <= stop && !(gr.dead[gr.in_dst[p]] | gr.dead[gr.in_dst[p + 1]] |
                              gr.dead[gr.in_dst[p + 2]] | gr.dead[gr.in_dst[p + 3]]);
         p += 4) {
      const T* __restrict__ g0 = g + (gr.in_dst[p] - n_in) * ld;
      const T* __restrict__ g1 = g + (gr.in_dst[p + 1] - n_in) * ld;
      const T* __restrict__ g2 = g + (gr.in_dst[p + 2] - n_in) * ld;
      const T* __restrict__ g3 = g + (gr.in_dst[p + 3] - n_in) * ld;
      T d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      for (int64_t k = 0; k < B; ++k) {
        const T xk = xj[k];
        d0 += g0[k] * xk;
        d1 += g1[k] * xk;
        d2 += g2[k] * xk;
        d3 += g3[k] * xk;
      }
      gwp[gr.iw[p]] = d0;
      gwp[gr.iw[p + 1]] = d1;
      gwp[gr.iw[p + 2]] = d2;
      gwp[gr.iw[p + 3]] = d3;
      if (gxp) {
        const T w0 = wp[gr.iw[p]], w1 = wp[gr.iw[p + 1]], w2 = wp[gr.iw[p + 2]],
                w3 = wp[gr.iw[p + 3]];
        for (int64_t k = 0; k < B; ++k) ac[k] += (w0 * g0[k] + w1 * g1[k]) + (w2 * g2[k] + w3 * g3[k]);
      }
    }
    for (; p < stop; ++p) {
      if (gr.dead[gr.in_dst[p]]) {  // into a node no output depends on (0 · inf is NaN)
        gwp[gr.iw[p]] = 0;
        continue;
      }
      const T* __restrict__ gd = g + (gr.in_dst[p] - n_in) * ld;
      T dot = 0;
      for (int64_t k = 0; k < B; ++k) dot += gd[k] * xj[k];
      gwp[gr.iw[p]] = dot;
      if (gxp) {
        const T we = wp[gr.iw[p]];
        for (int64_t k = 0; k < B; ++k) ac[k] += we * gd[k];
      }
    }
    if (gxp)
      for (int64_t k = 0; k < B; ++k) gxp[k * n_in + j] = ac[k];
  }
}

// gy: [B, n_out]; G: a scratch [n - n_in, B] buffer, contiguous, overwritten (the caller owns
// it and may reuse it). Returns (gx [B, n_in] or empty, gw like w, gb like b).
std::vector<torch::Tensor> fused_backward(torch::Tensor gy, torch::Tensor XT, torch::Tensor H,
                                          torch::Tensor Z, torch::Tensor w, int64_t n_bias,
                                          std::vector<torch::Tensor> arrays,
                                          torch::Tensor out_pos, bool need_x, torch::Tensor G) {
  const int64_t n_in = XT.size(0), B = H.size(1), n_out = out_pos.size(0);
  const int64_t n = arrays[6].size(0);
  TORCH_CHECK(G.is_contiguous() && G.sizes() == H.sizes(), "fused: G layout");
  const int64_t shares = batch_shares(w.size(0), B);
  // every edge is written once per share; biases of inputs never are
  auto gw = torch::empty({shares, w.size(0)}, w.options());
  auto gb = torch::zeros({shares, n_bias}, H.options());
  auto gx = need_x ? torch::zeros({B, n_in}, H.options()) : torch::empty({0}, H.options());
  const bool keep_z = Z.numel() > 0;
  std::vector<char> is_out(n - n_in, 0);
  const int64_t* op = out_pos.data_ptr<int64_t>();
  for (int64_t j = 0; j < n_out; ++j) is_out[op[j] - n_in] = 1;
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "fused_backward", [&] {
    const Graph gr = graph(arrays, n_in);
    scalar_t* g = G.data_ptr<scalar_t>();
    const scalar_t* h = H.data_ptr<scalar_t>();
    const scalar_t* zz = keep_z ? Z.data_ptr<scalar_t>() : h;  // codes without z read only a
    const scalar_t* gyp = gy.data_ptr<scalar_t>();
    const scalar_t* xt = XT.data_ptr<scalar_t>();
    scalar_t* gxp = need_x ? gx.data_ptr<scalar_t>() : nullptr;
    const int64_t gys0 = gy.stride(0), gys1 = gy.stride(1);
    const int64_t E = w.size(0);
    over_shares(shares, B, [&](int64_t k0, int64_t k1, int64_t s) {
      backward_impl<scalar_t>(gr, g + k0, h + k0, zz + k0, w.data_ptr<scalar_t>(),
                              gyp + k0 * gys0, gys0, gys1, xt + k0, op, n_out,
                              is_out.data(), gw.data_ptr<scalar_t>() + s * E,
                              gb.data_ptr<scalar_t>() + s * n_bias,
                              gxp ? gxp + k0 * n_in : nullptr, k1 - k0, B);
    });
  });
  if (shares == 1) return {gx, gw[0], gb[0]};
  return {gx, gw.sum(0), gb.sum(0)};
}

// x.T written into out, a contiguous [n_in, B] tensor, in tiles (faster than a strided copy);
// float rows of a row-major x 8x8 at a time through AVX registers (~3x the scalar tiles).
void transpose_rows(torch::Tensor x, torch::Tensor out) {
  TORCH_CHECK(out.is_contiguous() && out.size(0) == x.size(1) && out.size(1) == x.size(0),
              "transpose: out layout");
  const int64_t rows = x.size(0), cols = x.size(1), s0 = x.stride(0), s1 = x.stride(1);
#ifdef __AVX2__
  if (x.scalar_type() == torch::kFloat && s1 == 1) {
    const float* in = x.data_ptr<float>();
    float* o = out.data_ptr<float>();
    const int64_t r8 = rows - rows % 8, c8 = cols - cols % 8;
    for (int64_t b = 0; b < r8; b += 8)
      for (int64_t j = 0; j < c8; j += 8) transpose8x8(in + b * s0 + j, s0, o + j * rows + b, rows);
    for (int64_t b = 0; b < rows; ++b)  // the edges: last rows, last columns
      for (int64_t j = (b < r8 ? c8 : 0); j < cols; ++j) o[j * rows + b] = in[b * s0 + j];
    return;
  }
#endif
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "transpose_rows", [&] {
    transpose<scalar_t>(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), rows, cols, s0, s1);
  });
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

// The columns [0, k1) of every row r0..r1 of out (k1: B rounded down to whole tiles; returned),
// one tile of kSpTile vectors of batch columns at a time for all rows (the outer loop, so that
// the sources' block of those columns stays in cache across the rows): each row's sum is held
// in registers, two sets of them for two independent chains of additions, while its edges'
// source tiles are added in. Holding the sum in registers, instead of adding into the output
// row in memory, nearly halved the time of a 784 -> 300 level at 48% (batch 256, one core:
// ~0.72 ms against ~1.36 ms, and BLAS's dense block ~1.3 ms; docs/benchmarks.md). One vector
// (a row's sum in one register per chain, the sources' block in L1) was slower: ~1.5 ms.
static constexpr int kSpTile = 4;
template <typename T, bool PERM>
static int64_t spmm_tiles(const int64_t* rowptr, const int64_t* col, const T* w,
                          const int64_t* wperm, const T* X, int64_t ldx, T* out, int64_t ldo,
                          const T* bias, int64_t r0, int64_t r1, int64_t B) {
  using V = typename Vec<T>::type;
  constexpr int64_t L = Vec<T>::lanes, TW = L * kSpTile;
  const int64_t k1 = B - B % TW;
  for (int64_t k0 = 0; k0 < k1; k0 += TW) {
    for (int64_t r = r0; r < r1; ++r) {
      V a[2][kSpTile];
      for (int v = 0; v < kSpTile; ++v) {
        a[0][v] = V{} + (bias ? bias[r] : T(0));
        a[1][v] = V{};
      }
      int64_t e = rowptr[r];
      const int64_t stop = rowptr[r + 1];
      for (; e + 2 <= stop; e += 2) {
        const V w0 = V{} + w[PERM ? wperm[e] : e], w1 = V{} + w[PERM ? wperm[e + 1] : e + 1];
        const T* x0 = X + col[e] * ldx + k0;
        const T* x1 = X + col[e + 1] * ldx + k0;
#pragma GCC unroll 8
        for (int v = 0; v < kSpTile; ++v) {
          a[0][v] += w0 * vload<V>(x0 + v * L);
          a[1][v] += w1 * vload<V>(x1 + v * L);
        }
      }
      if (e < stop) {
        const V w0 = V{} + w[PERM ? wperm[e] : e];
        const T* x0 = X + col[e] * ldx + k0;
        for (int v = 0; v < kSpTile; ++v) a[0][v] += w0 * vload<V>(x0 + v * L);
      }
      for (int v = 0; v < kSpTile; ++v) vstore<V>(out + r * ldo + k0 + v * L, a[0][v] + a[1][v]);
    }
  }
  return k1;
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
      const int64_t k1 =
          pp ? spmm_tiles<scalar_t, true>(rp, cp, wp, pp, xp, ldx, op, ldo, bp, r0, r1, B)
             : spmm_tiles<scalar_t, false>(rp, cp, wp, pp, xp, ldx, op, ldo, bp, r0, r1, B);
      for (int64_t k0 = k1; k0 < B; k0 += TB)
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

// gw[e] = <G[dst[e]], X[col[e]]> for the edges e = order[p] in the given order. The planner
// orders a level's edges by (block of 8 destinations, source, destination): the block's 8 rows
// of G stay in L1, and a source row, read from L2 by the first edge of its group, is read from
// L1 by the others (at 48% density ~4 edges per source and block), where csr_sddmm reads one
// source row from L2 per edge. Four chains of additions per dot product. 784 -> 300 at 48%,
// batch 256, one core: ~0.77 ms against ~1.0 ms for csr_sddmm and ~1.15 ms for BLAS's dense
// product. (Holding a group's source tile in registers against its rows of G was slower:
// ~1.3 ms.)
void sddmm_ordered(torch::Tensor order, torch::Tensor dst, torch::Tensor col, torch::Tensor G,
                   torch::Tensor X, torch::Tensor gw) {
  const int64_t B = G.size(1), nnz = order.size(0);
  TORCH_CHECK(X.stride(1) == 1 && G.stride(1) == 1 && X.size(1) == B, "sddmm_ordered: layout");
  AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "sddmm_ordered", [&] {
    using T = scalar_t;
    using V = typename Vec<T>::type;
    constexpr int64_t L = Vec<T>::lanes;
    const int64_t* op = order.data_ptr<int64_t>();
    const int64_t* dp = dst.data_ptr<int64_t>();
    const int64_t* cp = col.data_ptr<int64_t>();
    const T* gp = G.data_ptr<T>();
    const T* xp = X.data_ptr<T>();
    T* out = gw.data_ptr<T>();
    const int64_t ldx = X.stride(0), ldg = G.stride(0);
    const int64_t b4 = B - B % (4 * L);
    auto body = [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t e = op[p];
        const T* __restrict__ g = gp + dp[e] * ldg;
        const T* __restrict__ xs = xp + cp[e] * ldx;
        V d0 = V{}, d1 = V{}, d2 = V{}, d3 = V{};
        for (int64_t k = 0; k < b4; k += 4 * L) {
          d0 += vload<V>(g + k) * vload<V>(xs + k);
          d1 += vload<V>(g + k + L) * vload<V>(xs + k + L);
          d2 += vload<V>(g + k + 2 * L) * vload<V>(xs + k + 2 * L);
          d3 += vload<V>(g + k + 3 * L) * vload<V>(xs + k + 3 * L);
        }
        const V d = (d0 + d1) + (d2 + d3);
        T dot = 0;
        for (int64_t l = 0; l < L; ++l) dot += d[l];
        for (int64_t k = b4; k < B; ++k) dot += g[k] * xs[k];
        out[e] = dot;
      }
    };
    if (nnz * B < kParallelMacs) body(0, nnz);
    else at::parallel_for(0, nnz, std::max<int64_t>(1, nnz / (4 * at::get_num_threads())), body);
  });
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("sddmm_ordered", &sddmm_ordered, "gw[e] = <G[dst e], X[col e]>, edges in a given order");
  m.def("transpose", &transpose_rows, "out = x.T, contiguous");
  m.def("forward", &fused_forward, "graphnets fused forward");
  m.def("backward", &fused_backward, "graphnets fused backward");
  m.def("csr_spmm", &csr_spmm, "out = bias + A X for a CSR A, node-major");
  m.def("csr_sddmm", &csr_sddmm, "gw[e] = <G[row e], X[col e]>");
}
