// conv1d / conv2d as im2col + GEMM: a chunk of samples is unrolled into columns [Cin/groups * kH * kW, nb * Ho * Wo]
// (bounded memory), one GEMM per group multiplies the weights in, and the backward reuses the same unrolling
// (dW = dY col^T) and its transpose (col2im of W^T dY). conv1d is conv2d over a height of 1.
#include <algorithm>
#include <cstring>

#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/nn_common.h"
#include "ops/nn_gemm.h"
#include "ops/op_table.h"
#include "ops/ops_nn.h"

namespace zh {

ZH_REGISTER_OPS(true, "conv1d", "conv2d");

namespace nn {

struct ConvGeom {
  int64_t N, Cin, H, W, Cout, kH, kW, G, sh, sw, pt, pl, dh, dw, Ho, Wo;
  int64_t cin_g() const { return Cin / G; }
  int64_t cout_g() const { return Cout / G; }
  int64_t K() const { return cin_g() * kH * kW; }
  int64_t P() const { return Ho * Wo; }
};

// col[(c kH + i) kW + j, s P + oh Wo + ow] = x[c, oh sh - pt + i dh, ow sw - pl + j dw] (0 outside), for one sample.
template <typename T>
void im2col_channel(const T* x, const ConvGeom& g, int64_t c, T* col, int64_t ldcol, int64_t col0) {
  for (int64_t i = 0; i < g.kH; ++i)
    for (int64_t j = 0; j < g.kW; ++j) {
      T* row = col + ((c * g.kH + i) * g.kW + j) * ldcol + col0;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const int64_t ih = oh * g.sh - g.pt + i * g.dh;
        T* dst = row + oh * g.Wo;
        if (ih < 0 || ih >= g.H) {
          std::fill(dst, dst + g.Wo, T(0));
          continue;
        }
        const T* src = x + (c * g.H + ih) * g.W;
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const int64_t iw = ow * g.sw - g.pl + j * g.dw;
          dst[ow] = (iw >= 0 && iw < g.W) ? src[iw] : T(0);
        }
      }
    }
}

// The transpose of im2col_channel: adds the columns back into the input-shaped gradient.
template <typename T>
void col2im_channel(const T* col, int64_t ldcol, int64_t col0, const ConvGeom& g, int64_t c, T* dx) {
  for (int64_t i = 0; i < g.kH; ++i)
    for (int64_t j = 0; j < g.kW; ++j) {
      const T* row = col + ((c * g.kH + i) * g.kW + j) * ldcol + col0;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const int64_t ih = oh * g.sh - g.pt + i * g.dh;
        if (ih < 0 || ih >= g.H) continue;
        T* dst = dx + (c * g.H + ih) * g.W;
        const T* src = row + oh * g.Wo;
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const int64_t iw = ow * g.sw - g.pl + j * g.dw;
          if (iw >= 0 && iw < g.W) dst[iw] += src[ow];
        }
      }
    }
}

// Samples per chunk so that the column buffer stays near 4M elements.
inline int64_t chunk_samples(const ConvGeom& g) {
  const int64_t per = std::max<int64_t>(1, g.K() * g.P());
  return std::clamp<int64_t>((int64_t(1) << 22) / per, 1, std::max<int64_t>(g.N, 1));
}

// Unrolls samples [n0, n0 + nb) of group grp into col [K, nb P].
template <typename T>
void im2col_chunk(const T* x, const ConvGeom& g, int64_t n0, int64_t nb, int64_t grp, T* col) {
  const int64_t cg = g.cin_g(), ld = nb * g.P();
  cpu::parallel_for(nb * cg, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t s = t / cg, c = t % cg;
      const T* xs = x + ((n0 + s) * g.Cin + grp * cg) * g.H * g.W;
      im2col_channel(xs, g, c, col, ld, s * g.P());
    }
  });
}

template <typename T>
void conv2d_forward(const T* x, const T* w, const T* b, T* y, const ConvGeom& g) {
  const int64_t K = g.K(), P = g.P(), og = g.cout_g(), nbmax = chunk_samples(g);
  std::vector<T> col(static_cast<size_t>(K * nbmax * P)), tmp(static_cast<size_t>(og * nbmax * P));
  for (int64_t n0 = 0; n0 < g.N; n0 += nbmax) {
    const int64_t nb = std::min(nbmax, g.N - n0), ld = nb * P;
    for (int64_t grp = 0; grp < g.G; ++grp) {
      im2col_chunk(x, g, n0, nb, grp, col.data());
      gemm<T>(false, false, og, ld, K, T(1), w + grp * og * K, K, col.data(), ld, T(0), tmp.data(), ld);
      cpu::parallel_for(nb * og, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
          const int64_t s = t / og, o = t % og, co = grp * og + o;
          const T bias = b ? b[co] : T(0);
          const T* src = tmp.data() + o * ld + s * P;
          T* dst = y + ((n0 + s) * g.Cout + co) * P;
          for (int64_t p = 0; p < P; ++p) dst[p] = src[p] + bias;
        }
      });
    }
  }
}

// dx, dw, db (each may be null) from dy [N, Cout, Ho, Wo]; dx and dw must come zeroed.
template <typename T>
void conv2d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, const ConvGeom& g) {
  const int64_t K = g.K(), P = g.P(), og = g.cout_g(), cg = g.cin_g(), nbmax = chunk_samples(g);
  std::vector<T> col(static_cast<size_t>(K * nbmax * P)), dyg(static_cast<size_t>(og * nbmax * P));
  if (dx || dw)
    for (int64_t n0 = 0; n0 < g.N; n0 += nbmax) {
      const int64_t nb = std::min(nbmax, g.N - n0), ld = nb * P;
      for (int64_t grp = 0; grp < g.G; ++grp) {
        cpu::parallel_for(nb * og, 1, [&](int64_t lo, int64_t hi) {
          for (int64_t t = lo; t < hi; ++t) {
            const int64_t s = t / og, o = t % og;
            std::memcpy(dyg.data() + o * ld + s * P, dy + ((n0 + s) * g.Cout + grp * og + o) * P,
                        static_cast<size_t>(P) * sizeof(T));
          }
        });
        if (dw) {
          im2col_chunk(x, g, n0, nb, grp, col.data());
          gemm<T>(false, true, og, K, ld, T(1), dyg.data(), ld, col.data(), ld, T(1), dw + grp * og * K, K);
        }
        if (dx) {
          gemm<T>(true, false, K, ld, og, T(1), w + grp * og * K, K, dyg.data(), ld, T(0), col.data(), ld);
          cpu::parallel_for(nb * cg, 1, [&](int64_t lo, int64_t hi) {
            for (int64_t t = lo; t < hi; ++t) {
              const int64_t s = t / cg, c = t % cg;
              col2im_channel(col.data(), ld, s * P, g, c, dx + ((n0 + s) * g.Cin + grp * cg) * g.H * g.W);
            }
          });
        }
      }
    }
  if (db)
    cpu::parallel_for(g.Cout, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t co = lo; co < hi; ++co) {
        double acc = 0;
        for (int64_t n = 0; n < g.N; ++n) {
          const T* src = dy + (n * g.Cout + co) * P;
          for (int64_t p = 0; p < P; ++p) acc += src[p];
        }
        db[co] = static_cast<T>(acc);
      }
    });
}

namespace {

std::vector<int64_t> per_dim(const std::vector<int64_t>& v, int64_t sd, const char* op, const char* what,
                             int64_t fallback) {
  if (v.empty()) return std::vector<int64_t>(sd, fallback);
  if (v.size() == 1) return std::vector<int64_t>(sd, v[0]);
  if (static_cast<int64_t>(v.size()) != sd)
    value_error(op, ": ", what, " must have ", sd, " value", sd == 1 ? "" : "s", ", got ", shape_str(v));
  return v;
}

// Checks everything in the caller's terms (sd = 1 or 2 spatial dims), then returns the 2-d geometry.
ConvGeom conv_geometry(const Tensor& x, const Tensor& w, const Tensor& b, const ConvArgs& a, int64_t sd,
                       const char* op) {
  const int64_t xd = x.dim();
  if (xd != sd + 1 && xd != sd + 2)
    value_error(op, ": expected a ", sd + 1, "-d (unbatched) or ", sd + 2, "-d (batched) input, got shape ",
                shape_str(x.shape()));
  if (w.dim() != sd + 2)
    value_error(op, ": expected a ", sd + 2, "-d weight (out_channels, in_channels / groups, kernel...), got shape ",
                shape_str(w.shape()));
  auto stride = per_dim(a.stride, sd, op, "stride", 1), dil = per_dim(a.dilation, sd, op, "dilation", 1);
  auto padding = per_dim(a.padding, sd, op, "padding", 0);
  for (int64_t i = 0; i < sd; ++i) {
    if (stride[i] <= 0) value_error(op, ": stride must be positive, got ", shape_str(stride));
    if (dil[i] <= 0) value_error(op, ": dilation must be positive, got ", shape_str(dil));
    if (padding[i] < 0) value_error(op, ": padding must be non-negative, got ", shape_str(padding));
  }
  if (a.groups <= 0) value_error(op, ": groups must be positive, got ", a.groups);
  const bool batched = xd == sd + 2;
  ConvGeom g{};
  g.N = batched ? x.shape()[0] : 1;
  g.Cin = x.shape()[batched ? 1 : 0];
  g.Cout = w.shape()[0];
  g.G = a.groups;
  if (g.Cin % g.G != 0 || g.Cout % g.G != 0)
    value_error(op, ": in_channels ", g.Cin, " and out_channels ", g.Cout, " must both be divisible by groups ",
                g.G);
  if (w.shape()[1] * g.G != g.Cin)
    value_error(op, ": input of shape ", shape_str(x.shape()), " has ", g.Cin, " channels but weight of shape ",
                shape_str(w.shape()), " expects ", w.shape()[1] * g.G, " (", w.shape()[1], " x groups ", g.G, ")");
  if (b.defined() && (b.dim() != 1 || b.shape()[0] != g.Cout))
    value_error(op, ": bias of shape ", shape_str(b.shape()), " does not match the ", g.Cout, " output channels");
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  std::vector<int64_t> in(sd), k(sd), before(sd), after(sd), out(sd);
  for (int64_t i = 0; i < sd; ++i) {
    in[i] = xs[xd - sd + i];
    k[i] = ws[2 + i];
    if (a.same) {
      for (int64_t s : stride)
        if (s != 1) value_error(op, ": padding='same' is not supported for strided convolutions (stride ",
                                shape_str(stride), ")");
      const int64_t total = dil[i] * (k[i] - 1);
      before[i] = total / 2;
      after[i] = total - before[i];
    } else {
      before[i] = after[i] = padding[i];
    }
    const int64_t span = in[i] + before[i] + after[i] - dil[i] * (k[i] - 1) - 1;
    out[i] = span < 0 ? 0 : span / stride[i] + 1;
    if (out[i] <= 0 || k[i] <= 0)
      value_error(op, ": input of shape ", shape_str(xs), " (padded by ", shape_str(padding),
                  ") is smaller than the dilated kernel of weight shape ", shape_str(ws), " (dilation ",
                  shape_str(dil), ")");
  }
  const int64_t o = sd == 1 ? 1 : 0;  // conv1d: height 1, kernel height 1
  g.H = sd == 1 ? 1 : in[0];
  g.W = in[1 - o];
  g.kH = sd == 1 ? 1 : k[0];
  g.kW = k[1 - o];
  g.sh = sd == 1 ? 1 : stride[0];
  g.sw = stride[1 - o];
  g.dh = sd == 1 ? 1 : dil[0];
  g.dw = dil[1 - o];
  g.pt = sd == 1 ? 0 : before[0];
  g.pl = before[1 - o];
  g.Ho = sd == 1 ? 1 : out[0];
  g.Wo = out[1 - o];
  return g;
}

Tensor conv_nd(const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvArgs& a, int64_t sd,
               const char* op) {
  const ConvGeom g = conv_geometry(input, weight, bias, a, sd, op);
  Tensor x = float_operand(input, op, "input");
  Tensor w = float_operand(weight, op, "weight");
  Tensor b = bias.defined() ? float_operand(bias, op, "bias") : Tensor();
  if (w.dtype() != x.dtype() || (b.defined() && b.dtype() != x.dtype()))
    type_error(op, ": input, weight and bias must share a dtype, got ", dtype_name(x.dtype()), ", ",
               dtype_name(w.dtype()), (b.defined() ? std::string(", ") + dtype_name(b.dtype()) : std::string()));
  Tensor xc, wc, bc;
  {
    NoGradGuard ng;
    xc = contiguous(detach(x));
    wc = contiguous(detach(w));
    if (b.defined()) bc = contiguous(detach(b));
  }
  Shape out_shape = x.shape();
  out_shape[x.dim() - sd - 1] = g.Cout;
  out_shape[x.dim() - 1] = g.Wo;
  if (sd == 2) out_shape[x.dim() - 2] = g.Ho;
  Tensor y = empty(out_shape, x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    conv2d_forward<T>(xc.data<T>(), wc.data<T>(), bc.defined() ? bc.data<T>() : nullptr, y.data<T>(), g);
  });
  // the backward reads x and w (or their contiguous copies), of the bias only its shape
  y = attach(op, y, {x, w, b}, {x, w}, [x, w, xc, wc, bc, g](const Tensor& gy, const std::vector<bool>& needs) {
    Tensor dyc = contiguous(detach(gy));
    Grads out(3);
    if (needs[0]) out[0] = zeros(xc.shape(), xc.dtype());
    if (needs[1]) out[1] = zeros(wc.shape(), xc.dtype());
    if (needs[2]) out[2] = empty(bc.shape(), xc.dtype());
    dispatch_float(xc.dtype(), "conv2d", [&](auto tag) {
      using T = decltype(tag);
      conv2d_backward<T>(xc.data<T>(), wc.data<T>(), dyc.data<T>(), needs[0] ? out[0].data<T>() : nullptr,
                         needs[1] ? out[1].data<T>() : nullptr, needs[2] ? out[2].data<T>() : nullptr, g);
    });
    for (Tensor& t : out) t = second_order_guard("conv", t, {gy, x, w});
    return out;
  });
  return to_dtype(y, input.dtype());
}

}  // namespace
}  // namespace nn

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvArgs& args) {
  return nn::conv_nd(x, weight, bias, args, 2, "conv2d");
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvArgs& args) {
  return nn::conv_nd(x, weight, bias, args, 1, "conv1d");
}

}  // namespace zh
