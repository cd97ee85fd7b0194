// layer_norm over the trailing normalized_shape: rows of n = prod(normalized_shape) contiguous elements, each
// normalised with its own mean and 1/std (kept for backward), then scaled and shifted per column.
#include <cmath>
#include <type_traits>

#include "kernels/rowops.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/nn_common.h"
#include "ops/op_table.h"
#include "ops/ops_nn.h"

namespace zh {

ZH_REGISTER_OPS(true, "layer_norm");

namespace nn {

// y = (x - mean) * rstd * w + b per row (w, b may be null); mean and rstd [rows] for the backward.
template <typename T>
void layer_norm_rows(const T* x, T* y, int64_t rows, int64_t n, const T* w, const T* b, double eps, T* mean,
                     T* rstd) {
  cpu::parallel_for(rows, rows_grain(n), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += xr[j];
      const double mu = s / static_cast<double>(n);
      double v = 0;  // two passes: the variance does not lose digits to a large mean
      for (int64_t j = 0; j < n; ++j) v += (xr[j] - mu) * (xr[j] - mu);
      const double rs = 1.0 / std::sqrt(v / static_cast<double>(n) + eps);
      for (int64_t j = 0; j < n; ++j) {
        double h = (xr[j] - mu) * rs;
        if (w) h *= w[j];
        if (b) h += b[j];
        yr[j] = static_cast<T>(h);
      }
      mean[r] = static_cast<T>(mu);
      rstd[r] = static_cast<T>(rs);
    }
  });
}

// dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) with gw = g * w and xhat the normalised row.
template <typename T>
void layer_norm_backward_rows(const T* x, const T* g, const T* w, const T* mean, const T* rstd, T* dx, int64_t rows,
                              int64_t n) {
  cpu::parallel_for(rows, rows_grain(n), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T *xr = x + r * n, *gr = g + r * n;
      T* dr = dx + r * n;
      const double mu = mean[r], rs = rstd[r];
      double sg = 0, sgx = 0;
      for (int64_t j = 0; j < n; ++j) {
        const double gw = w ? static_cast<double>(gr[j]) * w[j] : gr[j];
        sg += gw;
        sgx += gw * (xr[j] - mu) * rs;
      }
      const double inv_n = 1.0 / static_cast<double>(n);
      for (int64_t j = 0; j < n; ++j) {
        const double gw = w ? static_cast<double>(gr[j]) * w[j] : gr[j];
        const double xhat = (xr[j] - mu) * rs;
        dr[j] = static_cast<T>(rs * (gw - sg * inv_n - xhat * sgx * inv_n));
      }
    }
  });
}

// dw[j] = sum_r g * xhat, db[j] = sum_r g: parallel over column blocks, rows in order (thread-independent sums).
template <typename T>
void layer_norm_param_grads(const T* x, const T* g, const T* mean, const T* rstd, T* dw, T* db, int64_t rows,
                            int64_t n) {
  cpu::parallel_for(n, 64, [&](int64_t lo, int64_t hi) {
    std::vector<double> aw(hi - lo, 0.0), ab(hi - lo, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const T *xr = x + r * n, *gr = g + r * n;
      const double mu = mean[r], rs = rstd[r];
      for (int64_t j = lo; j < hi; ++j) {
        aw[j - lo] += static_cast<double>(gr[j]) * (xr[j] - mu) * rs;
        ab[j - lo] += gr[j];
      }
    }
    for (int64_t j = lo; j < hi; ++j) {
      if (dw) dw[j] = static_cast<T>(aw[j - lo]);
      if (db) db[j] = static_cast<T>(ab[j - lo]);
    }
  });
}

}  // namespace nn

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight_in, const Tensor& bias_in,
                  double eps) {
  using namespace nn;
  const char* op = "layer_norm";
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  if (k == 0) value_error("layer_norm: normalized_shape must have at least one dimension, got ()");
  bool fits = input.dim() >= k;
  for (int64_t i = 0; fits && i < k; ++i) fits = input.shape()[input.dim() - k + i] == normalized_shape[i];
  if (!fits)
    value_error("layer_norm: input of shape ", shape_str(input.shape()), " does not end with normalized_shape ",
                shape_str(normalized_shape));
  for (const Tensor* p : {&weight_in, &bias_in})
    if (p->defined() && p->shape() != normalized_shape)
      value_error("layer_norm: ", p == &weight_in ? "weight" : "bias", " of shape ", shape_str(p->shape()),
                  " does not match normalized_shape ", shape_str(normalized_shape));
  if (!(eps >= 0)) value_error("layer_norm: eps must be non-negative, got ", eps);
  Tensor x = float_operand(input, op, "input");
  Tensor w = weight_in.defined() ? float_operand(weight_in, op, "weight") : Tensor();
  Tensor b = bias_in.defined() ? float_operand(bias_in, op, "bias") : Tensor();
  for (const Tensor* p : {&w, &b})
    if (p->defined() && p->dtype() != x.dtype())
      type_error("layer_norm: input is ", dtype_name(x.dtype()), " but ", p == &w ? "weight" : "bias", " is ",
                 dtype_name(p->dtype()));
  const int64_t n = numel_of(normalized_shape);
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor xc, wc, bc;
  {
    NoGradGuard ng;
    xc = contiguous(detach(x));
    if (w.defined()) wc = contiguous(detach(w));
    if (b.defined()) bc = contiguous(detach(b));
  }
  Tensor y = empty(x.shape(), x.dtype()), mean = empty({rows}, x.dtype()), rstd = empty({rows}, x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>) {  // the vectorised kernel; the loop above stays for float64
      cpu::layer_norm_rows(xc.data<T>(), n, y.data<T>(), n, rows, n, wc.defined() ? wc.data<T>() : nullptr,
                           bc.defined() ? bc.data<T>() : nullptr, static_cast<float>(eps), mean.data<T>(),
                           rstd.data<T>());
      return;
    }
    layer_norm_rows<T>(xc.data<T>(), y.data<T>(), rows, n, wc.defined() ? wc.data<T>() : nullptr,
                       bc.defined() ? bc.data<T>() : nullptr, eps, mean.data<T>(), rstd.data<T>());
  });
  const Shape ns = normalized_shape;
  // x's gradient reads the weight; every gradient reads x (mean and rstd are the op's own)
  y = attach(op, y, {x, w, b}, {x, {w, grad_of(0)}},
             [x, w, b, xc, wc, mean, rstd, rows, n, ns](const Tensor& g, const std::vector<bool>& needs) {
    Tensor gc = contiguous(detach(g));
    Grads out(3);
    if (needs[0]) out[0] = empty(xc.shape(), xc.dtype());
    if (needs[1]) out[1] = empty(ns, xc.dtype());
    if (needs[2]) out[2] = empty(ns, xc.dtype());
    dispatch_float(xc.dtype(), "layer_norm", [&](auto tag) {
      using T = decltype(tag);
      if (needs[0])
        layer_norm_backward_rows<T>(xc.data<T>(), gc.data<T>(), wc.defined() ? wc.data<T>() : nullptr,
                                    mean.data<T>(), rstd.data<T>(), out[0].data<T>(), rows, n);
      if (needs[1] || needs[2])
        layer_norm_param_grads<T>(xc.data<T>(), gc.data<T>(), mean.data<T>(), rstd.data<T>(),
                                  needs[1] ? out[1].data<T>() : nullptr, needs[2] ? out[2].data<T>() : nullptr, rows,
                                  n);
    });
    for (Tensor& t : out) t = second_order_guard("layer_norm", t, {g, x, w, b});
    return out;
  });
  return to_dtype(y, input.dtype());
}

}  // namespace zh
