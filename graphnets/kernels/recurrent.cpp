// graphnets' recurrent cell kernel: a graph-structured RNN / LSTM / GRU layer over all time steps
// and all levels of its hidden DAG in one call, forward and a hand-written backward through time.
// Loaded and compiled by graphnets/kernels/recurrent.py (see its docstring).
//
// Layout. Hidden nodes are in level order (position v = 0..H-1; a skip edge u -> v has u < v).
// Gates are stacked like torch's: row g*H + v. States live node-major, batch-contiguous,
// hs [T+1, H, B] (hs[0] = h_0), so every edge is one vectorised `z += w * h_u` over the batch.
// The input projection gi [T, B, G*H] (x W_ih^T + b_ih, every step at once) comes from torch;
// the recurrent product W_hh h_{t-1} is one matmul per step; the delay-0 hidden -> hidden (skip)
// edges, few in a random-graph prior, are an edge list sorted by destination (CSR).
#include <torch/extension.h>
#include <algorithm>
#include <cmath>
#include <vector>

namespace {

constexpr int RNN_TANH = 0, RNN_RELU = 1, LSTM = 2, GRU = 3;

// Row helpers: plain loops over contiguous rows, which GCC vectorises with glibc's libmvec
// (exp, tanh) when __FAST_MATH__ is defined (recurrent.py compiles with it); per-element
// std::exp / std::tanh calls were most of an LSTM's time.
template <typename T>
inline void sigmoid_sum(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                        int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = T(1) / (T(1) + std::exp(-(a[k] + b[k])));
}

template <typename T>
inline void tanh_sum(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                     int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = std::tanh(a[k] + b[k]);
}

template <typename T>
inline void tanh_row(const T* __restrict__ a, T* __restrict__ out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = std::tanh(a[k]);
}

template <typename T>
void forward_impl(int mode, int64_t G, int64_t H, int64_t B, int64_t steps, const T* gi,
                  const at::Tensor& w_hh, const T* b_hh, const int64_t* ptr, const int64_t* src,
                  const T* ws, const int64_t* rptr, const int64_t* rsrc, const T* rws,
                  const int64_t* order, const T* h0, const T* c0, at::Tensor& hs,
                  at::Tensor& cs, T* act, T* ghn, T* out, T* h_n, T* c_n) {
  const int64_t GH = G * H;
  T* hsp = hs.data_ptr<T>();
  T* csp = mode == LSTM ? cs.data_ptr<T>() : nullptr;
  for (int64_t v = 0; v < H; ++v)
    for (int64_t b = 0; b < B; ++b) {
      hsp[v * B + b] = h0[b * H + order[v]];
      if (csp) csp[v * B + b] = c0[b * H + order[v]];
    }
  at::Tensor gh = at::empty({GH, B}, hs.options());
  std::vector<T> zi(G * B), zh(G * B), tmp(B);
  for (int64_t t = 0; t < steps; ++t) {
    const T* hp = hsp + t * H * B;
    T* hc = hsp + (t + 1) * H * B;
    if (rptr == nullptr) {
      at::mm_out(gh, w_hh, hs[t]);
    } else {  // sparse h2h edges: one vectorised z += w * h_u per edge and gate
      T* ghw = gh.data_ptr<T>();
      std::fill(ghw, ghw + GH * B, T(0));
      for (int64_t v = 0; v < H; ++v)
        for (int64_t e = rptr[v]; e < rptr[v + 1]; ++e) {
          const T* hu = hp + rsrc[e] * B;
          for (int64_t g = 0; g < G; ++g) {
            const T w = rws[e * G + g];
            T* z = ghw + (g * H + v) * B;
            for (int64_t b = 0; b < B; ++b) z[b] += w * hu[b];
          }
        }
    }
    const T* ghp = gh.data_ptr<T>();
    const T* git = gi + t * B * GH;
    T* actt = act + t * GH * B;
    for (int64_t v = 0; v < H; ++v) {
      for (int64_t g = 0; g < G; ++g) {
        T* z = zi.data() + g * B;
        T* y = zh.data() + g * B;
        const T* r = ghp + (g * H + v) * B;
        const T bias = b_hh[g * H + v];
        for (int64_t b = 0; b < B; ++b) {
          z[b] = git[b * GH + g * H + v];
          y[b] = r[b] + bias;
        }
      }
      for (int64_t e = ptr[v]; e < ptr[v + 1]; ++e) {
        const T* hu = hc + src[e] * B;
        for (int64_t g = 0; g < G; ++g) {
          const T w = ws[e * G + g];
          T* z = zi.data() + g * B;
          for (int64_t b = 0; b < B; ++b) z[b] += w * hu[b];
        }
      }
      T* h = hc + v * B;
      const T* hprev = hp + v * B;
      const T* zi0 = zi.data();
      const T* zh0 = zh.data();
      if (mode == RNN_TANH) {
        tanh_sum(zi0, zh0, h, B);
      } else if (mode == RNN_RELU) {
        for (int64_t b = 0; b < B; ++b) {
          const T s = zi0[b] + zh0[b];
          h[b] = s > T(0) ? s : T(0);
        }
      } else if (mode == LSTM) {
        T* __restrict__ ai = actt + (0 * H + v) * B;
        T* __restrict__ af = actt + (1 * H + v) * B;
        T* __restrict__ ag = actt + (2 * H + v) * B;
        T* __restrict__ ao = actt + (3 * H + v) * B;
        sigmoid_sum(zi0, zh0, ai, B);
        sigmoid_sum(zi0 + B, zh0 + B, af, B);
        tanh_sum(zi0 + 2 * B, zh0 + 2 * B, ag, B);
        sigmoid_sum(zi0 + 3 * B, zh0 + 3 * B, ao, B);
        const T* __restrict__ cp = csp + t * H * B + v * B;
        T* __restrict__ cc = csp + (t + 1) * H * B + v * B;
        for (int64_t b = 0; b < B; ++b) cc[b] = af[b] * cp[b] + ai[b] * ag[b];
        tanh_row(cc, tmp.data(), B);
        for (int64_t b = 0; b < B; ++b) h[b] = ao[b] * tmp[b];
      } else {  // GRU
        T* __restrict__ ar = actt + (0 * H + v) * B;
        T* __restrict__ az = actt + (1 * H + v) * B;
        T* __restrict__ an = actt + (2 * H + v) * B;
        T* __restrict__ gn = ghn + t * H * B + v * B;
        sigmoid_sum(zi0, zh0, ar, B);
        sigmoid_sum(zi0 + B, zh0 + B, az, B);
        for (int64_t b = 0; b < B; ++b) {
          gn[b] = zh0[2 * B + b];
          tmp[b] = ar[b] * gn[b];
        }
        tanh_sum(zi0 + 2 * B, tmp.data(), an, B);
        for (int64_t b = 0; b < B; ++b) h[b] = an[b] + az[b] * (hprev[b] - an[b]);
      }
      T* o = out + t * B * H + order[v];
      for (int64_t b = 0; b < B; ++b) o[b * H] = h[b];
    }
  }
  const T* hl = hsp + steps * H * B;
  const T* cl = csp ? csp + steps * H * B : nullptr;
  for (int64_t v = 0; v < H; ++v)
    for (int64_t b = 0; b < B; ++b) {
      h_n[b * H + order[v]] = hl[v * B + b];
      if (cl) c_n[b * H + order[v]] = cl[v * B + b];
    }
}

template <typename T>
void backward_impl(int mode, int64_t G, int64_t H, int64_t B, int64_t steps, const T* gout,
                   const T* ghn_in, const T* gcn_in, const at::Tensor& w_hh, const int64_t* ptr,
                   const int64_t* src, const T* ws, const int64_t* rptr, const int64_t* rsrc,
                   const T* rws, T* drws, const int64_t* order, const T* hsp, const T* csp,
                   const T* act, const T* ghn, T* dgi, at::Tensor& dgh, T* dws, T* dh0,
                   T* dc0) {
  const int64_t GH = G * H;
  at::Tensor carry = at::zeros({H, B}, dgh.options());
  T* cy = carry.data_ptr<T>();
  std::vector<T> dH(H * B), dc(H * B, T(0)), dcp(H * B, T(0)), direct(H * B, T(0));
  std::vector<T> dz(G * B), dzh(G * B), tmp(B);
  for (int64_t v = 0; v < H; ++v)
    for (int64_t b = 0; b < B; ++b) {
      cy[v * B + b] = ghn_in[b * H + order[v]];
      if (mode == LSTM) dc[v * B + b] = gcn_in[b * H + order[v]];
    }
  const at::Tensor w_hh_t = w_hh.t();
  T* dghp = dgh.data_ptr<T>();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const T* hp = hsp + t * H * B;
    const T* hc = hsp + (t + 1) * H * B;
    const T* go = gout + t * B * H;
    for (int64_t v = 0; v < H; ++v)
      for (int64_t b = 0; b < B; ++b) dH[v * B + b] = cy[v * B + b] + go[b * H + order[v]];
    const T* actt = act + t * GH * B;
    T* dght = dghp + t * GH * B;
    T* dgit = dgi + t * B * GH;
    for (int64_t v = H - 1; v >= 0; --v) {
      const T* dh = dH.data() + v * B;  // complete: every consumer of h_t[v] has a larger position
      const T* h = hc + v * B;
      if (mode == RNN_TANH) {
        for (int64_t b = 0; b < B; ++b) dz[b] = dh[b] * (T(1) - h[b] * h[b]);
        for (int64_t b = 0; b < B; ++b) dzh[b] = dz[b];
      } else if (mode == RNN_RELU) {
        for (int64_t b = 0; b < B; ++b) dz[b] = h[b] > T(0) ? dh[b] : T(0);
        for (int64_t b = 0; b < B; ++b) dzh[b] = dz[b];
      } else if (mode == LSTM) {
        const T* ai = actt + (0 * H + v) * B;
        const T* af = actt + (1 * H + v) * B;
        const T* ag = actt + (2 * H + v) * B;
        const T* ao = actt + (3 * H + v) * B;
        const T* cp = csp + t * H * B + v * B;
        const T* cc = csp + (t + 1) * H * B + v * B;
        T* dcv = dc.data() + v * B;
        T* dcpv = dcp.data() + v * B;
        tanh_row(cc, tmp.data(), B);
        for (int64_t b = 0; b < B; ++b) {
          const T tc = tmp[b];
          const T i = ai[b], f = af[b], gg = ag[b], o = ao[b];
          const T d_c = dcv[b] + dh[b] * o * (T(1) - tc * tc);
          dz[b] = d_c * gg * i * (T(1) - i);
          dz[B + b] = d_c * cp[b] * f * (T(1) - f);
          dz[2 * B + b] = d_c * i * (T(1) - gg * gg);
          dz[3 * B + b] = dh[b] * tc * o * (T(1) - o);
          dcpv[b] = d_c * f;
        }
        for (int64_t k = 0; k < G * B; ++k) dzh[k] = dz[k];
      } else {  // GRU
        const T* ar = actt + (0 * H + v) * B;
        const T* az = actt + (1 * H + v) * B;
        const T* an = actt + (2 * H + v) * B;
        const T* gn = ghn + t * H * B + v * B;
        const T* hprev = hp + v * B;
        T* dir = direct.data() + v * B;
        for (int64_t b = 0; b < B; ++b) {
          const T r = ar[b], z = az[b], n = an[b];
          const T dn = dh[b] * (T(1) - z) * (T(1) - n * n);
          const T dr = dn * gn[b] * r * (T(1) - r);
          const T dzz = dh[b] * (hprev[b] - n) * z * (T(1) - z);
          dz[b] = dr;
          dz[B + b] = dzz;
          dz[2 * B + b] = dn;
          dzh[b] = dr;
          dzh[B + b] = dzz;
          dzh[2 * B + b] = dn * r;
          dir[b] = dh[b] * z;
        }
      }
      for (int64_t g = 0; g < G; ++g) {
        T* row = dght + (g * H + v) * B;
        const T* s = dzh.data() + g * B;
        const T* d = dz.data() + g * B;
        T* col = dgit + g * H + v;
        for (int64_t b = 0; b < B; ++b) {
          row[b] = s[b];
          col[b * GH] = d[b];
        }
      }
      for (int64_t e = ptr[v]; e < ptr[v + 1]; ++e) {
        const T* hu = hc + src[e] * B;
        T* du = dH.data() + src[e] * B;
        for (int64_t g = 0; g < G; ++g) {
          const T w = ws[e * G + g];
          const T* d = dz.data() + g * B;
          T dot = 0;
          for (int64_t b = 0; b < B; ++b) {
            dot += d[b] * hu[b];
            du[b] += w * d[b];
          }
          dws[e * G + g] += dot;
        }
      }
    }
    if (rptr == nullptr) {
      at::mm_out(carry, w_hh_t, dgh[t]);  // d h_{t-1} through the recurrent product
    } else {  // sparse: per h2h edge, d h_{t-1}[u] and the edge's weight gradient
      std::fill(cy, cy + H * B, T(0));
      for (int64_t v = 0; v < H; ++v)
        for (int64_t e = rptr[v]; e < rptr[v + 1]; ++e) {
          const T* hu = hp + rsrc[e] * B;
          T* du = cy + rsrc[e] * B;
          for (int64_t g = 0; g < G; ++g) {
            const T w = rws[e * G + g];
            const T* d = dght + (g * H + v) * B;
            T dot = 0;
            for (int64_t b = 0; b < B; ++b) {
              dot += d[b] * hu[b];
              du[b] += w * d[b];
            }
            drws[e * G + g] += dot;
          }
        }
    }
    if (mode == GRU)
      for (int64_t k = 0; k < H * B; ++k) cy[k] += direct[k];
    if (mode == LSTM) std::swap(dc, dcp);
  }
  for (int64_t v = 0; v < H; ++v)
    for (int64_t b = 0; b < B; ++b) {
      dh0[b * H + order[v]] = cy[v * B + b];
      if (mode == LSTM) dc0[b * H + order[v]] = dc[v * B + b];
    }
}

int64_t gates_of(int64_t mode) { return mode == LSTM ? 4 : mode == GRU ? 3 : 1; }

// gi [T, B, G*H], w_hh [G*H, H], b_hh [G*H], skip CSR (ptr [H+1], src [S], ws [S, G]),
// order [H] (level position -> node column), h0 / c0 [B, H] in node order.
// Returns out [T, B, H], h_n, c_n [B, H] (node order) and what the backward needs.
std::vector<at::Tensor> cell_forward(int64_t mode, at::Tensor gi, at::Tensor w_hh,
                                     at::Tensor b_hh, at::Tensor ptr, at::Tensor src,
                                     at::Tensor ws, at::Tensor rptr, at::Tensor rsrc,
                                     at::Tensor rws, bool dense, at::Tensor order,
                                     at::Tensor h0, at::Tensor c0) {
  const int64_t steps = gi.size(0), B = gi.size(1), H = order.size(0), G = gates_of(mode);
  TORCH_CHECK(gi.size(2) == G * H, "gi has ", gi.size(2), " columns, expected ", G * H);
  gi = gi.contiguous();
  w_hh = w_hh.contiguous();
  b_hh = b_hh.contiguous();
  ws = ws.contiguous();
  h0 = h0.contiguous();
  c0 = c0.contiguous();
  auto opt = gi.options();
  at::Tensor hs = at::empty({steps + 1, H, B}, opt);
  at::Tensor cs = mode == LSTM ? at::empty({steps + 1, H, B}, opt) : at::empty({0}, opt);
  at::Tensor act = at::empty({steps, mode >= LSTM ? G * H : 0, B}, opt);
  at::Tensor ghn = at::empty({mode == GRU ? steps : 0, H, B}, opt);
  at::Tensor out = at::empty({steps, B, H}, opt);
  at::Tensor h_n = at::empty({B, H}, opt);
  at::Tensor c_n = mode == LSTM ? at::empty({B, H}, opt) : at::empty({0}, opt);
  AT_DISPATCH_FLOATING_TYPES(gi.scalar_type(), "graphnets_cell_forward", [&] {
    forward_impl<scalar_t>(
        static_cast<int>(mode), G, H, B, steps, gi.data_ptr<scalar_t>(), w_hh,
        b_hh.data_ptr<scalar_t>(), ptr.data_ptr<int64_t>(), src.data_ptr<int64_t>(),
        ws.data_ptr<scalar_t>(), dense ? nullptr : rptr.data_ptr<int64_t>(),
        dense ? nullptr : rsrc.data_ptr<int64_t>(), dense ? nullptr : rws.data_ptr<scalar_t>(),
        order.data_ptr<int64_t>(), h0.data_ptr<scalar_t>(),
        mode == LSTM ? c0.data_ptr<scalar_t>() : nullptr, hs, cs, act.data_ptr<scalar_t>(),
        ghn.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), h_n.data_ptr<scalar_t>(),
        mode == LSTM ? c_n.data_ptr<scalar_t>() : nullptr);
  });
  return {out, h_n, c_n, hs, cs, act, ghn};
}

// Gradients of gi, w_hh, b_hh, ws, h0, c0 from those of out, h_n, c_n.
std::vector<at::Tensor> cell_backward(int64_t mode, at::Tensor gout, at::Tensor gh_n,
                                      at::Tensor gc_n, at::Tensor w_hh, at::Tensor ptr,
                                      at::Tensor src, at::Tensor ws, at::Tensor rptr,
                                      at::Tensor rsrc, at::Tensor rws, bool dense,
                                      at::Tensor order, at::Tensor hs, at::Tensor cs,
                                      at::Tensor act, at::Tensor ghn) {
  const int64_t steps = gout.size(0), B = gout.size(1), H = order.size(0), G = gates_of(mode);
  gout = gout.contiguous();
  gh_n = gh_n.contiguous();
  gc_n = gc_n.contiguous();
  w_hh = w_hh.contiguous();
  ws = ws.contiguous();
  auto opt = gout.options();
  at::Tensor dgi = at::empty({steps, B, G * H}, opt);
  at::Tensor dgh = at::empty({steps, G * H, B}, opt);
  at::Tensor dws = at::zeros_like(ws);
  at::Tensor drws = dense ? at::Tensor() : at::zeros_like(rws);
  at::Tensor dh0 = at::empty({B, H}, opt);
  at::Tensor dc0 = mode == LSTM ? at::empty({B, H}, opt) : at::zeros({0}, opt);
  AT_DISPATCH_FLOATING_TYPES(gout.scalar_type(), "graphnets_cell_backward", [&] {
    backward_impl<scalar_t>(
        static_cast<int>(mode), G, H, B, steps, gout.data_ptr<scalar_t>(),
        gh_n.data_ptr<scalar_t>(), mode == LSTM ? gc_n.data_ptr<scalar_t>() : nullptr, w_hh,
        ptr.data_ptr<int64_t>(), src.data_ptr<int64_t>(), ws.data_ptr<scalar_t>(),
        dense ? nullptr : rptr.data_ptr<int64_t>(), dense ? nullptr : rsrc.data_ptr<int64_t>(),
        dense ? nullptr : rws.data_ptr<scalar_t>(), dense ? nullptr : drws.data_ptr<scalar_t>(),
        order.data_ptr<int64_t>(), hs.data_ptr<scalar_t>(),
        mode == LSTM ? cs.data_ptr<scalar_t>() : nullptr, act.data_ptr<scalar_t>(),
        ghn.data_ptr<scalar_t>(), dgi.data_ptr<scalar_t>(), dgh, dws.data_ptr<scalar_t>(),
        dh0.data_ptr<scalar_t>(), mode == LSTM ? dc0.data_ptr<scalar_t>() : nullptr);
  });
  at::Tensor a = dgh.permute({1, 0, 2}).reshape({G * H, steps * B});
  at::Tensor db_hh = a.sum(1);
  // dense: the recurrent weights' gradient, all steps in one matmul, sum_t dgh_t h_{t-1}^T;
  // sparse: per edge [R, G] in CSR order, accumulated by the walk back
  at::Tensor dw_hh = drws;
  if (dense) {
    at::Tensor h = hs.narrow(0, 0, steps).permute({1, 0, 2}).reshape({H, steps * B});
    dw_hh = at::mm(a, h.t());
  }
  return {dgi, dw_hh, db_hh, dws, dh0, dc0};
}

// The cell from its parameters: the plan [in_ids, in_flat, rec_flat, skip_sorted, skip_ptr,
// skip_src, order] places the edge weights (weight [E, G] i2h, rweight [R, G] h2h) into the
// masked dense matrices in level order, the biases [H, G] into gate-stacked vectors, and takes
// the skip edges' weights sorted by destination; x [T, B, n_in]. Returns out, h_n, c_n and the
// tensors the backward needs.
std::vector<at::Tensor> params_forward(int64_t mode, at::Tensor x, at::Tensor weight,
                                       at::Tensor rweight, at::Tensor bias, at::Tensor rbias,
                                       at::Tensor h0, at::Tensor c0,
                                       std::vector<at::Tensor> plan, bool dense) {
  const int64_t G = gates_of(mode), H = plan[6].size(0), n_in = x.size(2);
  const int64_t steps = x.size(0), B = x.size(1);
  x = x.contiguous();
  weight = weight.contiguous();
  rweight = rweight.contiguous();
  bias = bias.contiguous();
  rbias = rbias.contiguous();
  const int64_t* in_ids = plan[0].data_ptr<int64_t>();
  const int64_t* in_flat = plan[1].data_ptr<int64_t>();
  const int64_t* rec_flat = plan[2].data_ptr<int64_t>();
  const int64_t* skip_sorted = plan[3].data_ptr<int64_t>();
  const int64_t* order = plan[6].data_ptr<int64_t>();
  const int64_t E_in = plan[0].size(0), R = rweight.size(0), S = plan[3].size(0);
  auto opt = x.options();
  at::Tensor w_ih = at::zeros({G * H, n_in}, opt);
  at::Tensor w_hh = at::zeros({G * H, H}, opt);
  at::Tensor b_ih = at::empty({G * H}, opt);
  at::Tensor b_hh = at::empty({G * H}, opt);
  at::Tensor ws = at::empty({S, G}, opt);
  at::Tensor rws = at::empty({dense ? 0 : R, G}, opt);
  const int64_t* rec_sorted = plan[7].data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "graphnets_cell_place", [&] {
    const scalar_t* w = weight.data_ptr<scalar_t>();
    const scalar_t* rw = rweight.data_ptr<scalar_t>();
    const scalar_t* bi = bias.data_ptr<scalar_t>();
    const scalar_t* bh = rbias.data_ptr<scalar_t>();
    scalar_t* wi = w_ih.data_ptr<scalar_t>();
    scalar_t* wh = w_hh.data_ptr<scalar_t>();
    scalar_t* bip = b_ih.data_ptr<scalar_t>();
    scalar_t* bhp = b_hh.data_ptr<scalar_t>();
    scalar_t* wsp = ws.data_ptr<scalar_t>();
    for (int64_t g = 0; g < G; ++g) {
      for (int64_t k = 0; k < E_in; ++k) wi[in_flat[g * E_in + k]] = w[in_ids[k] * G + g];
      for (int64_t r = 0; r < R; ++r) wh[rec_flat[g * R + r]] = rw[r * G + g];
      for (int64_t v = 0; v < H; ++v) {
        bip[g * H + v] = bi[order[v] * G + g];
        bhp[g * H + v] = bh[order[v] * G + g];
      }
      for (int64_t e = 0; e < S; ++e) wsp[e * G + g] = w[skip_sorted[e] * G + g];
      if (!dense)
        for (int64_t e = 0; e < R; ++e)
          rws.data_ptr<scalar_t>()[e * G + g] = rw[rec_sorted[e] * G + g];
    }
  });
  at::Tensor gi = at::addmm(b_ih, x.view({steps * B, n_in}), w_ih.t()).view({steps, B, G * H});
  std::vector<at::Tensor> res =
      cell_forward(mode, gi, w_hh, b_hh, plan[4], plan[5], ws, plan[8], plan[9], rws, dense,
                   plan[6], h0, c0);
  // out, h_n, c_n, then for the backward: hs, cs, act, ghn, w_ih, w_hh, ws, rws
  res.push_back(w_ih);
  res.push_back(w_hh);
  res.push_back(ws);
  res.push_back(rws);
  return res;
}

// Gradients of x (if need_x), weight, rweight, bias, rbias, h0, c0.
std::vector<at::Tensor> params_backward(int64_t mode, at::Tensor gout, at::Tensor gh_n,
                                        at::Tensor gc_n, at::Tensor x, int64_t num_edges,
                                        std::vector<at::Tensor> saved,
                                        std::vector<at::Tensor> plan, bool dense,
                                        bool need_x) {
  // saved: hs, cs, act, ghn, w_ih, w_hh, ws, rws
  const int64_t G = gates_of(mode), H = plan[6].size(0), n_in = x.size(2);
  const int64_t steps = x.size(0), B = x.size(1);
  std::vector<at::Tensor> g =
      cell_backward(mode, gout, gh_n, gc_n, saved[5], plan[4], plan[5], saved[6], plan[8],
                    plan[9], saved[7], dense, plan[6], saved[0], saved[1], saved[2], saved[3]);
  at::Tensor dgi = g[0].view({steps * B, G * H}), dw_hh = g[1], db_hh = g[2], dws = g[3];
  at::Tensor xf = x.contiguous().view({steps * B, n_in});
  at::Tensor dw_ih = at::mm(dgi.t(), xf);
  at::Tensor db_ih = dgi.sum(0);
  at::Tensor dx = need_x ? at::mm(dgi, saved[4]).view({steps, B, n_in}) : at::Tensor();
  const int64_t* in_ids = plan[0].data_ptr<int64_t>();
  const int64_t* in_flat = plan[1].data_ptr<int64_t>();
  const int64_t* rec_flat = plan[2].data_ptr<int64_t>();
  const int64_t* skip_sorted = plan[3].data_ptr<int64_t>();
  const int64_t* order = plan[6].data_ptr<int64_t>();
  const int64_t* rec_sorted = plan[7].data_ptr<int64_t>();
  const int64_t E_in = plan[0].size(0), R = plan[2].size(1), S = plan[3].size(0);
  auto opt = x.options();
  at::Tensor dweight = at::zeros({num_edges, G}, opt);
  at::Tensor drweight = at::empty({R, G}, opt);
  at::Tensor dbias = at::empty({H, G}, opt);
  at::Tensor drbias = at::empty({H, G}, opt);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "graphnets_cell_gather", [&] {
    const scalar_t* dwi = dw_ih.data_ptr<scalar_t>();
    const scalar_t* dwh = dw_hh.data_ptr<scalar_t>();
    const scalar_t* dbi = db_ih.data_ptr<scalar_t>();
    const scalar_t* dbh = db_hh.data_ptr<scalar_t>();
    const scalar_t* dwsp = dws.data_ptr<scalar_t>();
    scalar_t* dw = dweight.data_ptr<scalar_t>();
    scalar_t* drw = drweight.data_ptr<scalar_t>();
    scalar_t* db = dbias.data_ptr<scalar_t>();
    scalar_t* drb = drbias.data_ptr<scalar_t>();
    for (int64_t gg = 0; gg < G; ++gg) {
      for (int64_t k = 0; k < E_in; ++k) dw[in_ids[k] * G + gg] = dwi[in_flat[gg * E_in + k]];
      if (dense)
        for (int64_t r = 0; r < R; ++r) drw[r * G + gg] = dwh[rec_flat[gg * R + r]];
      else
        for (int64_t e = 0; e < R; ++e) drw[rec_sorted[e] * G + gg] = dwh[e * G + gg];
      for (int64_t v = 0; v < H; ++v) {
        db[order[v] * G + gg] = dbi[gg * H + v];
        drb[order[v] * G + gg] = dbh[gg * H + v];
      }
      for (int64_t e = 0; e < S; ++e) dw[skip_sorted[e] * G + gg] = dwsp[e * G + gg];
    }
  });
  return {dx, dweight, drweight, dbias, drbias, g[4], g[5]};
}

// The masked dense torch-layout matrices of a one-level cell, in one call: w_ih [G*H, n_in],
// w_hh [G*H, H], b_ih, b_hh [G*H] (level order = node order for one level); for torch's own
// layer, which then runs on them. place_backward gathers their gradients back to the edges.
std::vector<at::Tensor> place(int64_t mode, int64_t n_in, at::Tensor weight, at::Tensor rweight,
                              at::Tensor bias, at::Tensor rbias, std::vector<at::Tensor> plan) {
  const int64_t G = gates_of(mode), H = plan[6].size(0);
  weight = weight.contiguous();
  rweight = rweight.contiguous();
  bias = bias.contiguous();
  rbias = rbias.contiguous();
  const int64_t* in_ids = plan[0].data_ptr<int64_t>();
  const int64_t* in_flat = plan[1].data_ptr<int64_t>();
  const int64_t* rec_flat = plan[2].data_ptr<int64_t>();
  const int64_t* order = plan[6].data_ptr<int64_t>();
  const int64_t E_in = plan[0].size(0), R = rweight.size(0);
  auto opt = weight.options();
  at::Tensor w_ih = at::zeros({G * H, n_in}, opt);
  at::Tensor w_hh = at::zeros({G * H, H}, opt);
  at::Tensor b_ih = at::empty({G * H}, opt);
  at::Tensor b_hh = at::empty({G * H}, opt);
  AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "graphnets_cell_place_dense", [&] {
    const scalar_t* w = weight.data_ptr<scalar_t>();
    const scalar_t* rw = rweight.data_ptr<scalar_t>();
    const scalar_t* bi = bias.data_ptr<scalar_t>();
    const scalar_t* bh = rbias.data_ptr<scalar_t>();
    scalar_t* wi = w_ih.data_ptr<scalar_t>();
    scalar_t* wh = w_hh.data_ptr<scalar_t>();
    scalar_t* bip = b_ih.data_ptr<scalar_t>();
    scalar_t* bhp = b_hh.data_ptr<scalar_t>();
    for (int64_t g = 0; g < G; ++g) {
      for (int64_t k = 0; k < E_in; ++k) wi[in_flat[g * E_in + k]] = w[in_ids[k] * G + g];
      for (int64_t r = 0; r < R; ++r) wh[rec_flat[g * R + r]] = rw[r * G + g];
      for (int64_t v = 0; v < H; ++v) {
        bip[g * H + v] = bi[order[v] * G + g];
        bhp[g * H + v] = bh[order[v] * G + g];
      }
    }
  });
  return {w_ih, w_hh, b_ih, b_hh};
}

std::vector<at::Tensor> place_backward(int64_t mode, at::Tensor dw_ih, at::Tensor dw_hh,
                                       at::Tensor db_ih, at::Tensor db_hh,
                                       std::vector<at::Tensor> plan, int64_t num_edges) {
  const int64_t G = gates_of(mode), H = plan[6].size(0);
  dw_ih = dw_ih.contiguous();
  dw_hh = dw_hh.contiguous();
  db_ih = db_ih.contiguous();
  db_hh = db_hh.contiguous();
  const int64_t* in_ids = plan[0].data_ptr<int64_t>();
  const int64_t* in_flat = plan[1].data_ptr<int64_t>();
  const int64_t* rec_flat = plan[2].data_ptr<int64_t>();
  const int64_t* order = plan[6].data_ptr<int64_t>();
  const int64_t E_in = plan[0].size(0), R = plan[2].size(1);
  auto opt = dw_ih.options();
  at::Tensor dweight = at::zeros({num_edges, G}, opt);
  at::Tensor drweight = at::empty({R, G}, opt);
  at::Tensor dbias = at::empty({H, G}, opt);
  at::Tensor drbias = at::empty({H, G}, opt);
  AT_DISPATCH_FLOATING_TYPES(dw_ih.scalar_type(), "graphnets_cell_place_backward", [&] {
    const scalar_t* dwi = dw_ih.data_ptr<scalar_t>();
    const scalar_t* dwh = dw_hh.data_ptr<scalar_t>();
    const scalar_t* dbi = db_ih.data_ptr<scalar_t>();
    const scalar_t* dbh = db_hh.data_ptr<scalar_t>();
    scalar_t* dw = dweight.data_ptr<scalar_t>();
    scalar_t* drw = drweight.data_ptr<scalar_t>();
    scalar_t* db = dbias.data_ptr<scalar_t>();
    scalar_t* drb = drbias.data_ptr<scalar_t>();
    for (int64_t g = 0; g < G; ++g) {
      for (int64_t k = 0; k < E_in; ++k) dw[in_ids[k] * G + g] = dwi[in_flat[g * E_in + k]];
      for (int64_t r = 0; r < R; ++r) drw[r * G + g] = dwh[rec_flat[g * R + r]];
      for (int64_t v = 0; v < H; ++v) {
        db[order[v] * G + g] = dbi[g * H + v];
        drb[order[v] * G + g] = dbh[g * H + v];
      }
    }
  });
  return {dweight, drweight, dbias, drbias};
}

// ---------------------------------------------------------------------------------------------
// A recurrent GraphNet over a whole sequence (GraphNet.run): scalar neurons, delay-0 edges inside
// a step, delay-d edges from d steps back. A [(D+T), N, B] holds every node's value a_u(t) at
// row t + D (rows 0..D-1: the initial state, lags 1..D); Z the pre-activations.

// The activation code is the row of graphnets.core.activations.REGISTRY; its cases are generated
// from the registry's C++ snippets when the source is loaded (graphnets/kernels/recurrent.py).
template <typename T>
inline T act_fwd(int code, T z, T p0, T p1) {
  switch (code) {
// @ACT_FORWARD@
  }
  return z;
}

template <typename T>
inline T act_grad(int code, T z, T a, T p0, T p1) {
  switch (code) {
// @ACT_GRAD@
  }
  return T(1);
}

// a[k] = act(z[k]): one loop per code, so each vectorises (tanh through libmvec)
template <typename T>
inline void act_rows(int code, const T* __restrict__ z, T* __restrict__ a, int64_t n, T p0,
                     T p1) {
  switch (code) {
// @ACT_ROWS@
    default: for (int64_t k = 0; k < n; ++k) a[k] = act_fwd<T>(code, z[k], p0, p1);
  }
}

// g[k] *= act'(z[k]) given a = act(z)
template <typename T>
inline void act_grad_rows(int code, const T* __restrict__ z, const T* __restrict__ a,
                          T* __restrict__ g, int64_t n, T p0, T p1) {
  switch (code) {
// @ACT_GRAD_ROWS@
    default: for (int64_t k = 0; k < n; ++k) g[k] *= act_grad<T>(code, z[k], a[k], p0, p1);
  }
}

// plan: order [M] computed nodes in topological order, inputs [n_in], outputs [n_out],
// ptr [N+1] / src [E] / delay [E] / eid [E] every edge as CSR by destination, codes [N],
// slots [S, 2] (node, lag) of the state. params [N, 2] float64.
std::vector<at::Tensor> seq_forward(at::Tensor x, at::Tensor weight, at::Tensor bias,
                                    at::Tensor state, std::vector<at::Tensor> plan,
                                    at::Tensor params, int64_t num_nodes, int64_t max_delay) {
  const int64_t steps = x.size(0), B = x.size(1), n_in = x.size(2), N = num_nodes,
                D = max_delay;
  x = x.contiguous();
  weight = weight.contiguous();
  bias = bias.contiguous();
  state = state.contiguous();
  const int64_t* order = plan[0].data_ptr<int64_t>();
  const int64_t* inputs = plan[1].data_ptr<int64_t>();
  const int64_t* outputs = plan[2].data_ptr<int64_t>();
  const int64_t* ptr = plan[3].data_ptr<int64_t>();
  const int64_t* src = plan[4].data_ptr<int64_t>();
  const int64_t* dly = plan[5].data_ptr<int64_t>();
  const int64_t* eid = plan[6].data_ptr<int64_t>();
  const int64_t* codes = plan[7].data_ptr<int64_t>();
  const int64_t* slots = plan[8].data_ptr<int64_t>();
  const double* prm = params.data_ptr<double>();
  const int64_t M = plan[0].size(0), n_out = plan[2].size(0), S = plan[8].size(0);
  auto opt = x.options();
  at::Tensor A = at::zeros({D + steps, N, B}, opt);
  at::Tensor Z = at::empty({steps, N, B}, opt);
  at::Tensor y = at::empty({steps, B, n_out}, opt);
  at::Tensor last = at::empty({B, S}, opt);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "graphnets_seq_forward", [&] {
    using T = scalar_t;
    T* a = A.data_ptr<T>();
    T* zs = Z.data_ptr<T>();
    const T* xp = x.data_ptr<T>();
    const T* w = weight.data_ptr<T>();
    const T* bp = bias.data_ptr<T>();
    const T* st = state.data_ptr<T>();
    const int64_t NB = N * B;
    for (int64_t s = 0; s < S; ++s) {
      T* row = a + (D - slots[2 * s + 1]) * NB + slots[2 * s] * B;
      for (int64_t b = 0; b < B; ++b) row[b] = st[b * S + s];
    }
    for (int64_t t = 0; t < steps; ++t) {
      T* at_ = a + (t + D) * NB;
      for (int64_t i = 0; i < n_in; ++i)
        for (int64_t b = 0; b < B; ++b) at_[inputs[i] * B + b] = xp[(t * B + b) * n_in + i];
      for (int64_t m = 0; m < M; ++m) {
        const int64_t v = order[m];
        T* z = zs + t * NB + v * B;
        const T bv = bp[v];
        for (int64_t b = 0; b < B; ++b) z[b] = bv;
        for (int64_t e = ptr[v]; e < ptr[v + 1]; ++e) {
          const T we = w[eid[e]];
          const T* hu = a + (t + D - dly[e]) * NB + src[e] * B;
          for (int64_t b = 0; b < B; ++b) z[b] += we * hu[b];
        }
        act_rows<T>(static_cast<int>(codes[v]), z, at_ + v * B, B, T(prm[2 * v]),
                    T(prm[2 * v + 1]));
      }
      T* yp = y.data_ptr<T>() + t * B * n_out;
      for (int64_t k = 0; k < n_out; ++k)
        for (int64_t b = 0; b < B; ++b) yp[b * n_out + k] = at_[outputs[k] * B + b];
    }
    T* lp = last.data_ptr<T>();
    for (int64_t s = 0; s < S; ++s) {
      const T* row = a + (steps + D - slots[2 * s + 1]) * NB + slots[2 * s] * B;
      for (int64_t b = 0; b < B; ++b) lp[b * S + s] = row[b];
    }
  });
  return {y, last, A, Z};
}

// Gradients of x, weight, bias and the initial state from those of y and the final state.
std::vector<at::Tensor> seq_backward(at::Tensor gy, at::Tensor glast, at::Tensor A, at::Tensor Z,
                                     at::Tensor weight, std::vector<at::Tensor> plan,
                                     at::Tensor params, int64_t n_in, int64_t max_delay) {
  const int64_t steps = Z.size(0), N = Z.size(1), B = Z.size(2), D = max_delay;
  gy = gy.contiguous();
  glast = glast.contiguous();
  weight = weight.contiguous();
  const int64_t* order = plan[0].data_ptr<int64_t>();
  const int64_t* inputs = plan[1].data_ptr<int64_t>();
  const int64_t* outputs = plan[2].data_ptr<int64_t>();
  const int64_t* ptr = plan[3].data_ptr<int64_t>();
  const int64_t* src = plan[4].data_ptr<int64_t>();
  const int64_t* dly = plan[5].data_ptr<int64_t>();
  const int64_t* eid = plan[6].data_ptr<int64_t>();
  const int64_t* codes = plan[7].data_ptr<int64_t>();
  const int64_t* slots = plan[8].data_ptr<int64_t>();
  const double* prm = params.data_ptr<double>();
  const int64_t M = plan[0].size(0), n_out = plan[2].size(0), S = plan[8].size(0);
  auto opt = Z.options();
  at::Tensor dA = at::zeros({D + steps, N, B}, opt);
  at::Tensor gx = at::empty({steps, B, n_in}, opt);
  at::Tensor gw = at::zeros_like(weight);
  at::Tensor gb = at::zeros({N}, opt);
  at::Tensor gstate = at::empty({B, S}, opt);
  AT_DISPATCH_FLOATING_TYPES(Z.scalar_type(), "graphnets_seq_backward", [&] {
    using T = scalar_t;
    const T* a = A.data_ptr<T>();
    const T* zs = Z.data_ptr<T>();
    T* da = dA.data_ptr<T>();
    const T* w = weight.data_ptr<T>();
    T* gwp = gw.data_ptr<T>();
    T* gbp = gb.data_ptr<T>();
    const int64_t NB = N * B;
    std::vector<T> dz(B);
    const T* gl = glast.data_ptr<T>();
    for (int64_t s = 0; s < S; ++s) {
      T* row = da + (steps + D - slots[2 * s + 1]) * NB + slots[2 * s] * B;
      for (int64_t b = 0; b < B; ++b) row[b] += gl[b * S + s];
    }
    for (int64_t t = steps - 1; t >= 0; --t) {
      T* dat = da + (t + D) * NB;
      const T* gyp = gy.data_ptr<T>() + t * B * n_out;
      for (int64_t k = 0; k < n_out; ++k)
        for (int64_t b = 0; b < B; ++b) dat[outputs[k] * B + b] += gyp[b * n_out + k];
      for (int64_t m = M - 1; m >= 0; --m) {
        const int64_t v = order[m];
        const T* dv = dat + v * B;
        for (int64_t b = 0; b < B; ++b) dz[b] = dv[b];
        act_grad_rows<T>(static_cast<int>(codes[v]), zs + t * NB + v * B, a + (t + D) * NB + v * B,
                         dz.data(), B, T(prm[2 * v]), T(prm[2 * v + 1]));
        T sum = 0;
        for (int64_t b = 0; b < B; ++b) sum += dz[b];
        gbp[v] += sum;
        for (int64_t e = ptr[v]; e < ptr[v + 1]; ++e) {
          const int64_t off = (t + D - dly[e]) * NB + src[e] * B;
          const T* hu = a + off;
          T* du = da + off;
          const T we = w[eid[e]];
          T dot = 0;
          for (int64_t b = 0; b < B; ++b) {
            dot += dz[b] * hu[b];
            du[b] += we * dz[b];
          }
          gwp[eid[e]] += dot;
        }
      }
      T* gxp = gx.data_ptr<T>() + t * B * n_in;
      for (int64_t i = 0; i < n_in; ++i)
        for (int64_t b = 0; b < B; ++b) gxp[b * n_in + i] = dat[inputs[i] * B + b];
    }
    T* gs = gstate.data_ptr<T>();
    for (int64_t s = 0; s < S; ++s) {
      const T* row = da + (D - slots[2 * s + 1]) * NB + slots[2 * s] * B;
      for (int64_t b = 0; b < B; ++b) gs[b * S + s] = row[b];
    }
  });
  return {gx, gw, gb, gstate};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("params_forward", &params_forward, "graphnets recurrent cell forward from parameters");
  m.def("seq_forward", &seq_forward, "a recurrent GraphNet over a sequence, forward");
  m.def("seq_backward", &seq_backward, "a recurrent GraphNet over a sequence, backward");
  m.def("place", &place, "a one-level cell's masked dense matrices");
  m.def("place_backward", &place_backward, "their gradients back to the edges");
  m.def("params_backward", &params_backward, "graphnets recurrent cell backward to parameters");
}
