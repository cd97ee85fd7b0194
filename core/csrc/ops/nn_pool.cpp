// max_pool2d and avg_pool2d over the H x W planes of (N, C, H, W) or (C, H, W) inputs, parallel over planes.
// max_pool2d keeps the argmax of each window (a flat index into its plane, as PyTorch) for the backward.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/nn_common.h"
#include "ops/op_table.h"
#include "ops/ops_nn.h"

namespace zh {

ZH_REGISTER_OPS(true, "max_pool2d", "avg_pool2d");

namespace nn {

struct PoolGeom {
  int64_t planes, H, W, kH, kW, sh, sw, ph, pw, dh, dw, Ho, Wo;
};

template <typename T>
void max_pool_planes(const T* x, T* y, int64_t* idx, const PoolGeom& g) {
  cpu::parallel_for(g.planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t pl = lo; pl < hi; ++pl) {
      const T* xp = x + pl * g.H * g.W;
      T* yp = y + pl * g.Ho * g.Wo;
      int64_t* ip = idx + pl * g.Ho * g.Wo;
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          T m = -std::numeric_limits<T>::infinity();
          int64_t best = -1;
          for (int64_t i = 0; i < g.kH; ++i) {
            const int64_t ih = oh * g.sh - g.ph + i * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (int64_t j = 0; j < g.kW; ++j) {
              const int64_t iw = ow * g.sw - g.pw + j * g.dw;
              if (iw < 0 || iw >= g.W) continue;
              const T v = xp[ih * g.W + iw];
              if (best < 0 || v > m || v != v) {
                m = v;
                best = ih * g.W + iw;
              }
            }
          }
          yp[oh * g.Wo + ow] = m;
          ip[oh * g.Wo + ow] = best < 0 ? 0 : best;
        }
    }
  });
}

template <typename T>
void max_pool_backward_planes(const T* dy, const int64_t* idx, T* dx, const PoolGeom& g) {
  cpu::parallel_for(g.planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t pl = lo; pl < hi; ++pl) {
      T* dp = dx + pl * g.H * g.W;
      const T* gp = dy + pl * g.Ho * g.Wo;
      const int64_t* ip = idx + pl * g.Ho * g.Wo;
      for (int64_t o = 0; o < g.Ho * g.Wo; ++o) dp[ip[o]] += gp[o];
    }
  });
}

// The window of output (oh, ow) clipped to the input, and its divisor (PyTorch's rule for count_include_pad).
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  double divisor;
};

inline AvgWindow avg_window(const PoolGeom& g, int64_t oh, int64_t ow, bool include_pad, int64_t divisor) {
  int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  int64_t h1 = std::min(h0 + g.kH, g.H + g.ph), w1 = std::min(w0 + g.kW, g.W + g.pw);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.H);
  w1 = std::min(w1, g.W);
  const int64_t inside = std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
  const double d = divisor != 0 ? static_cast<double>(divisor) : static_cast<double>(include_pad ? padded : inside);
  return {h0, h1, w0, w1, d};
}

template <typename T>
void avg_pool_planes(const T* x, T* y, const PoolGeom& g, bool include_pad, int64_t divisor) {
  cpu::parallel_for(g.planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t pl = lo; pl < hi; ++pl) {
      const T* xp = x + pl * g.H * g.W;
      T* yp = y + pl * g.Ho * g.Wo;
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const AvgWindow a = avg_window(g, oh, ow, include_pad, divisor);
          double s = 0;
          for (int64_t ih = a.h0; ih < a.h1; ++ih)
            for (int64_t iw = a.w0; iw < a.w1; ++iw) s += xp[ih * g.W + iw];
          yp[oh * g.Wo + ow] = (a.h0 >= a.h1 || a.w0 >= a.w1) ? T(0) : static_cast<T>(s / a.divisor);
        }
    }
  });
}

template <typename T>
void avg_pool_backward_planes(const T* dy, T* dx, const PoolGeom& g, bool include_pad, int64_t divisor) {
  cpu::parallel_for(g.planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t pl = lo; pl < hi; ++pl) {
      T* dp = dx + pl * g.H * g.W;
      const T* gp = dy + pl * g.Ho * g.Wo;
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const AvgWindow a = avg_window(g, oh, ow, include_pad, divisor);
          const T v = static_cast<T>(gp[oh * g.Wo + ow] / a.divisor);
          for (int64_t ih = a.h0; ih < a.h1; ++ih)
            for (int64_t iw = a.w0; iw < a.w1; ++iw) dp[ih * g.W + iw] += v;
        }
    }
  });
}

namespace {

std::vector<int64_t> pair_of(const std::vector<int64_t>& v, const char* op, const char* what, int64_t fallback0,
                             int64_t fallback1) {
  if (v.empty()) return {fallback0, fallback1};
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) value_error(op, ": ", what, " must be an int or a pair, got ", shape_str(v));
  return v;
}

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t span = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  if (span < 0) return 0;
  int64_t out = span / s + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;  // the last window must start inside the input or left padding
  return out;
}

PoolGeom pool_geometry(const Tensor& x, const PoolArgs& a, bool is_max, const char* op) {
  if (x.dim() != 3 && x.dim() != 4)
    value_error(op, ": expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape ", shape_str(x.shape()));
  if (a.kernel.empty()) value_error(op, ": kernel_size is required");
  auto k = pair_of(a.kernel, op, "kernel_size", 1, 1);
  auto s = pair_of(a.stride, op, "stride", k[0], k[1]);
  auto p = pair_of(a.padding, op, "padding", 0, 0);
  auto d = pair_of(a.dilation, op, "dilation", 1, 1);
  for (int i = 0; i < 2; ++i) {
    if (k[i] <= 0) value_error(op, ": kernel_size must be positive, got ", shape_str(k));
    if (s[i] <= 0) value_error(op, ": stride must be positive, got ", shape_str(s));
    if (d[i] <= 0) value_error(op, ": dilation must be positive, got ", shape_str(d));
    const int64_t eff = is_max ? (k[i] - 1) * d[i] + 1 : k[i];
    if (p[i] < 0 || p[i] > eff / 2)
      value_error(op, ": padding ", shape_str(p), " must be between 0 and half the kernel size ", shape_str(k));
  }
  PoolGeom g{};
  const int64_t nd = x.dim();
  g.H = x.shape()[nd - 2];
  g.W = x.shape()[nd - 1];
  g.planes = 1;
  for (int64_t i = 0; i < nd - 2; ++i) g.planes *= x.shape()[i];
  g.kH = k[0]; g.kW = k[1]; g.sh = s[0]; g.sw = s[1]; g.ph = p[0]; g.pw = p[1]; g.dh = d[0]; g.dw = d[1];
  g.Ho = pooled_size(g.H, g.kH, g.sh, g.ph, g.dh, a.ceil_mode);
  g.Wo = pooled_size(g.W, g.kW, g.sw, g.pw, g.dw, a.ceil_mode);
  if (g.Ho <= 0 || g.Wo <= 0)
    value_error(op, ": input of shape ", shape_str(x.shape()), " is too small for kernel_size ", shape_str(k),
                " with padding ", shape_str(p), " and dilation ", shape_str(d), " (output would be ", g.Ho, " x ",
                g.Wo, ")");
  return g;
}

Shape pooled_shape(const Tensor& x, const PoolGeom& g) {
  Shape s = x.shape();
  s[s.size() - 2] = g.Ho;
  s[s.size() - 1] = g.Wo;
  return s;
}

}  // namespace
}  // namespace nn

std::pair<Tensor, Tensor> max_pool2d(const Tensor& input, const PoolArgs& args) {
  using namespace nn;
  const char* op = "max_pool2d";
  const PoolGeom g = pool_geometry(input, args, true, op);
  Tensor x = float_operand(input, op, "input");
  Tensor xc;
  {
    NoGradGuard ng;
    xc = contiguous(detach(x));
  }
  Tensor y = empty(pooled_shape(x, g), x.dtype()), idx = empty(pooled_shape(x, g), DType::Int64);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    max_pool_planes<T>(xc.data<T>(), y.data<T>(), idx.data<int64_t>(), g);
  });
  Shape in_shape = x.shape();
  // the backward reads only the indices, which the caller gets and may write
  y = attach(op, y, {x}, {idx}, [idx, in_shape, g](const Tensor& gy, const std::vector<bool>&) {
    Tensor dyc = contiguous(detach(gy));
    Tensor dx = zeros(in_shape, dyc.dtype());
    dispatch_float(dyc.dtype(), "max_pool2d", [&](auto tag) {
      using T = decltype(tag);
      max_pool_backward_planes<T>(dyc.data<T>(), idx.data<int64_t>(), dx.data<T>(), g);
    });
    return Grads{second_order_guard("max_pool2d", dx, {gy})};
  });
  return {to_dtype(y, input.dtype()), idx};
}

Tensor avg_pool2d(const Tensor& input, const PoolArgs& args, bool count_include_pad, std::optional<int64_t> divisor) {
  using namespace nn;
  const char* op = "avg_pool2d";
  if (divisor && *divisor == 0) value_error("avg_pool2d: divisor_override must be non-zero");
  const PoolGeom g = pool_geometry(input, args, false, op);
  const int64_t divide = divisor ? *divisor : 0;
  Tensor x = float_operand(input, op, "input");
  Tensor xc;
  {
    NoGradGuard ng;
    xc = contiguous(detach(x));
  }
  Tensor y = empty(pooled_shape(x, g), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    avg_pool_planes<T>(xc.data<T>(), y.data<T>(), g, count_include_pad, divide);
  });
  Shape in_shape = x.shape();
  y = attach(op, y, {x}, {}, [in_shape, g, count_include_pad, divide](const Tensor& gy, const std::vector<bool>&) {
    Tensor dyc = contiguous(detach(gy));
    Tensor dx = zeros(in_shape, dyc.dtype());
    dispatch_float(dyc.dtype(), "avg_pool2d", [&](auto tag) {
      using T = decltype(tag);
      avg_pool_backward_planes<T>(dyc.data<T>(), dx.data<T>(), g, count_include_pad, divide);
    });
    return Grads{second_order_guard("avg_pool2d", dx, {gy})};
  });
  return to_dtype(y, input.dtype());
}

}  // namespace zh
