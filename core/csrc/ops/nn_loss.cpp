// Losses. cross_entropy is fused with log_softmax: the class dim is moved last, each row keeps its log-sum-exp,
// and the backward rebuilds softmax from it, so no [rows, classes] log-probabilities are stored.
#include <cmath>

#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/nn_common.h"
#include "ops/op_table.h"
#include "ops/ops_nn.h"

namespace zh {

ZH_REGISTER_OPS(true, "cross_entropy", "mse_loss");

Reduction parse_reduction(const std::string& name, const char* op) {
  if (name == "none") return Reduction::None;
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  value_error(op, ": reduction must be 'none', 'mean' or 'sum', got '", name, "'");
}

namespace nn {

// Per row r with target t (not ignored): loss = (1 - eps) w[t] (lse - x[t]) + eps / C sum_c w[c] (lse - x[c]).
// lse[r] is kept; rows whose target is ignore_index get loss 0 and count 0 towards the mean.
template <typename T>
void cross_entropy_rows(const T* x, const int64_t* target, const T* w, int64_t rows, int64_t C, int64_t ignore,
                        double smoothing, double* loss, double* count, T* lse) {
  cpu::parallel_for(rows, rows_grain(C), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* xr = x + r * C;
      auto [m, s] = max_and_expsum(xr, C);
      const double l = static_cast<double>(m) + std::log(s);
      lse[r] = static_cast<T>(l);
      const int64_t t = target[r];
      if (t == ignore) {
        loss[r] = 0;
        count[r] = 0;
        continue;
      }
      const double wt = w ? static_cast<double>(w[t]) : 1.0;
      double v = (1.0 - smoothing) * wt * (l - xr[t]);
      if (smoothing > 0) {
        double acc = 0;
        for (int64_t c = 0; c < C; ++c) acc += (w ? static_cast<double>(w[c]) : 1.0) * (l - xr[c]);
        v += smoothing / static_cast<double>(C) * acc;
      }
      loss[r] = v;
      count[r] = wt;
    }
  });
}

// dx[r, j] = scale[r] * ((a + b W) p_j - a [j == t] - b w[j]), a = (1 - eps) w[t], b = eps / C, W = sum(w).
template <typename T>
void cross_entropy_backward_rows(const T* x, const int64_t* target, const T* w, const T* lse, const double* scale,
                                 int64_t rows, int64_t C, int64_t ignore, double smoothing, T* dx) {
  double W = static_cast<double>(C);
  if (w) {
    W = 0;
    for (int64_t c = 0; c < C; ++c) W += w[c];
  }
  cpu::parallel_for(rows, rows_grain(C), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* xr = x + r * C;
      T* dr = dx + r * C;
      const int64_t t = target[r];
      if (t == ignore) {
        for (int64_t j = 0; j < C; ++j) dr[j] = T(0);
        continue;
      }
      const double a = (1.0 - smoothing) * (w ? static_cast<double>(w[t]) : 1.0);
      const double b = smoothing / static_cast<double>(C), sr = scale[r], l = lse[r];
      for (int64_t j = 0; j < C; ++j) {
        const double p = std::exp(static_cast<double>(xr[j]) - l);
        double d = (a + b * W) * p - b * (w ? static_cast<double>(w[j]) : 1.0);
        if (j == t) d -= a;
        dr[j] = static_cast<T>(sr * d);
      }
    }
  });
}

// Class-probability targets q (smoothed: (1 - eps) q + eps / C): loss = sum_c w[c] q[c] (lse - x[c]).
template <typename T>
void soft_cross_entropy_rows(const T* x, const T* q, const T* w, int64_t rows, int64_t C, double smoothing,
                             double* loss, T* lse) {
  cpu::parallel_for(rows, rows_grain(C), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T *xr = x + r * C, *qr = q + r * C;
      auto [m, s] = max_and_expsum(xr, C);
      const double l = static_cast<double>(m) + std::log(s);
      double v = 0;
      for (int64_t c = 0; c < C; ++c) {
        const double qs = (1.0 - smoothing) * qr[c] + smoothing / static_cast<double>(C);
        v += (w ? static_cast<double>(w[c]) : 1.0) * qs * (l - xr[c]);
      }
      loss[r] = v;
      lse[r] = static_cast<T>(l);
    }
  });
}

// dx[r, j] = scale[r] (p_j sum_c w[c] qs[c] - w[j] qs[j]); dq[r, j] = scale[r] (1 - eps) w[j] (lse - x_j) (or null).
template <typename T>
void soft_cross_entropy_backward_rows(const T* x, const T* q, const T* w, const T* lse, const double* scale,
                                      int64_t rows, int64_t C, double smoothing, T* dx, T* dq) {
  cpu::parallel_for(rows, rows_grain(C), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T *xr = x + r * C, *qr = q + r * C;
      const double l = lse[r], sr = scale[r];
      auto qs = [&](int64_t c) { return (1.0 - smoothing) * qr[c] + smoothing / static_cast<double>(C); };
      auto wt = [&](int64_t c) { return w ? static_cast<double>(w[c]) : 1.0; };
      double total = 0;
      for (int64_t c = 0; c < C; ++c) total += wt(c) * qs(c);
      for (int64_t j = 0; j < C; ++j) {
        const double p = std::exp(static_cast<double>(xr[j]) - l);
        if (dx) dx[r * C + j] = static_cast<T>(sr * (p * total - wt(j) * qs(j)));
        if (dq) dq[r * C + j] = static_cast<T>(sr * (1.0 - smoothing) * wt(j) * (l - static_cast<double>(xr[j])));
      }
    }
  });
}

namespace {

Tensor soft_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction,
                          double smoothing, int64_t class_dim) {
  const char* op = "cross_entropy";
  Tensor x = float_operand(input, op, "input");
  Tensor t = to_dtype(target, x.dtype());
  Tensor w = weight.defined() ? float_operand(weight, op, "weight") : Tensor();
  if (w.defined() && w.dtype() != x.dtype())
    type_error("cross_entropy: input is ", dtype_name(x.dtype()), " but weight is ", dtype_name(w.dtype()));
  LastDimRows r = last_dim_rows(x, class_dim, op);
  LastDimRows rt = last_dim_rows(t, class_dim, op);
  Shape row_shape = input.shape();
  row_shape.erase(row_shape.begin() + class_dim);
  const int64_t C = r.n, rows = numel_of(row_shape);
  Tensor wc;
  {
    NoGradGuard ng;
    if (w.defined()) wc = contiguous(detach(w));
  }
  std::vector<double> loss(rows, 0.0);
  Tensor lse = empty({rows}, x.dtype()), out;
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (C > 0)
      soft_cross_entropy_rows<T>(r.data.data<T>(), rt.data.data<T>(), wc.defined() ? wc.data<T>() : nullptr, rows,
                                 C, smoothing, loss.data(), lse.data<T>());
    if (reduction == Reduction::None) {
      out = empty(row_shape, x.dtype());
      for (int64_t i = 0; i < rows; ++i) out.data<T>()[i] = static_cast<T>(loss[i]);
    } else {
      double total = 0;
      for (double v : loss) total += v;
      // The mean is over rows (PyTorch divides by input.numel() / C), not over weights.
      out = full({}, reduction == Reduction::Sum ? total : total / static_cast<double>(C > 0 ? rows : 0), x.dtype());
    }
  });
  Tensor xr = r.data, tr = rt.data;
  out = attach(op, out, {x, t, w}, {x, t, w},
               [x, t, xr, tr, r, wc, lse, rows, C, smoothing, reduction](const Tensor& g,
                                                                       const std::vector<bool>& needs) {
                 if (needs[2])
                   throw NotImplementedError("the derivative of 'cross_entropy' with respect to weight is not "
                                             "implemented");
                 Tensor gc = contiguous(to_dtype(detach(g), DType::Float64));
                 std::vector<double> scale(rows);
                 const double* gp = gc.data<double>();
                 for (int64_t i = 0; i < rows; ++i)
                   scale[i] = reduction == Reduction::None ? gp[i]
                                                           : gp[0] / (reduction == Reduction::Mean ? rows : 1.0);
                 Tensor dx = needs[0] ? empty(xr.shape(), xr.dtype()) : Tensor();
                 Tensor dq = needs[1] ? empty(tr.shape(), tr.dtype()) : Tensor();
                 dispatch_float(xr.dtype(), "cross_entropy", [&](auto tag) {
                   using T = decltype(tag);
                   soft_cross_entropy_backward_rows<T>(xr.data<T>(), tr.data<T>(),
                                                       wc.defined() ? wc.data<T>() : nullptr, lse.data<T>(),
                                                       scale.data(), rows, C, smoothing,
                                                       dx.defined() ? dx.data<T>() : nullptr,
                                                       dq.defined() ? dq.data<T>() : nullptr);
                 });
                 Grads out(3);
                 const char* name = "cross_entropy";
                 if (needs[0]) out[0] = second_order_guard(name, from_last_dim_rows(dx, r), {g, x, t});
                 if (needs[1]) out[1] = second_order_guard(name, from_last_dim_rows(dq, r), {g, x});
                 return out;
               });
  return to_dtype(out, input.dtype());
}

}  // namespace
}  // namespace nn

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing) {
  using namespace nn;
  const char* op = "cross_entropy";
  if (input.dim() == 0) value_error("cross_entropy: input must have a class dimension, got a 0-d tensor");
  const int64_t class_dim = input.dim() == 1 ? 0 : 1;
  const int64_t C = input.shape()[class_dim];
  Shape want = input.shape();
  want.erase(want.begin() + class_dim);
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    value_error("cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  if (weight.defined() && (weight.dim() != 1 || weight.shape()[0] != C))
    value_error("cross_entropy: weight of shape ", shape_str(weight.shape()), " does not match the ", C,
                " classes of input of shape ", shape_str(input.shape()));
  if (is_floating(target.dtype())) {
    if (target.shape() != input.shape())
      type_error("cross_entropy: a ", dtype_name(target.dtype()), " target of shape ", shape_str(target.shape()),
                 " is neither class indices (int64, shape ", shape_str(want),
                 ") nor class probabilities (the input's shape ", shape_str(input.shape()), ")");
    if (ignore_index != -100)
      value_error("cross_entropy: ignore_index is not supported with class-probability targets");
    return soft_cross_entropy(input, target, weight, reduction, label_smoothing, class_dim);
  }
  if (target.shape() != want)
    value_error("cross_entropy: input of shape ", shape_str(input.shape()), " expects a target of shape ",
                shape_str(want), ", got ", shape_str(target.shape()));
  Tensor x = float_operand(input, op, "input");
  Tensor w = weight.defined() ? float_operand(weight, op, "weight") : Tensor();
  if (w.defined() && w.dtype() != x.dtype())
    type_error("cross_entropy: input is ", dtype_name(x.dtype()), " but weight is ", dtype_name(w.dtype()));
  Tensor tgt = index_operand(target, op, "target");
  const int64_t* tp = tgt.data<int64_t>();
  for (int64_t i = 0; i < tgt.numel(); ++i)
    if (tp[i] != ignore_index && (tp[i] < 0 || tp[i] >= C))
      index_error("cross_entropy: target ", tp[i], " is out of bounds for ", C, " classes (input of shape ",
                  shape_str(input.shape()), ")");
  LastDimRows r = last_dim_rows(x, class_dim, op);
  const int64_t rows = tgt.numel();
  Tensor wc;
  {
    NoGradGuard ng;
    if (w.defined()) wc = contiguous(detach(w));
  }
  std::vector<double> loss(rows), count(rows);
  Tensor lse = empty({rows}, x.dtype());
  const DType dt = x.dtype();
  Tensor out;
  double denom = 0;
  dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    if (C > 0)
      cross_entropy_rows<T>(r.data.data<T>(), tp, wc.defined() ? wc.data<T>() : nullptr, rows, C, ignore_index,
                            label_smoothing, loss.data(), count.data(), lse.data<T>());
    denom = 0;
    for (double c : count) denom += c;
    if (reduction == Reduction::None) {
      out = empty(want, dt);
      for (int64_t i = 0; i < rows; ++i) out.data<T>()[i] = static_cast<T>(loss[i]);
    } else {
      double total = 0;
      for (double v : loss) total += v;
      out = full({}, reduction == Reduction::Sum ? total : total / denom, dt);
    }
  });
  Tensor xr = r.data;
  // the backward reads x (not log-probabilities, unlike PyTorch's log_softmax + nll_loss), targets and weight
  out = attach(op, out, {x, w}, {x, tgt, w},
               [x, xr, r, tgt, wc, lse, rows, C, ignore_index, label_smoothing, reduction, denom](
                   const Tensor& g, const std::vector<bool>& needs) {
                 if (needs.size() > 1 && needs[1])
                   throw NotImplementedError("the derivative of 'cross_entropy' with respect to weight is not "
                                             "implemented");
                 Tensor gc = contiguous(to_dtype(detach(g), DType::Float64));
                 std::vector<double> scale(rows);
                 for (int64_t i = 0; i < rows; ++i)
                   scale[i] = reduction == Reduction::None ? gc.data<double>()[i]
                                                           : gc.data<double>()[0] /
                                                                 (reduction == Reduction::Mean ? denom : 1.0);
                 Tensor dx = empty(xr.shape(), xr.dtype());
                 dispatch_float(xr.dtype(), "cross_entropy", [&](auto tag) {
                   using T = decltype(tag);
                   cross_entropy_backward_rows<T>(xr.data<T>(), tgt.data<int64_t>(),
                                                  wc.defined() ? wc.data<T>() : nullptr, lse.data<T>(),
                                                  scale.data(), rows, C, ignore_index, label_smoothing,
                                                  dx.data<T>());
                 });
                 return Grads{second_order_guard("cross_entropy", from_last_dim_rows(dx, r), {g, x}),
                              Tensor()};
               });
  return to_dtype(out, input.dtype());
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  Tensor x = nn::float_operand(input, "mse_loss", "input");
  Tensor t = nn::float_operand(target, "mse_loss", "target");
  broadcast_shapes(x.shape(), t.shape(), "mse_loss");
  Tensor d = sub(x, t);
  Tensor sq = mul(d, d);
  if (reduction == Reduction::None) return sq;
  if (reduction == Reduction::Sum) return sum(sq, {}, false);
  return mean(sq, {}, false);
}

}  // namespace zh
