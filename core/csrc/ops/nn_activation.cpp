// softmax and log_softmax over one dim: the dim is moved last so the work is a loop over contiguous rows
// (softmax_rows & co. below, the loops kernels/rowops.h replaces), parallel over rows.
#include <cmath>
#include <type_traits>

#include "kernels/rowops.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/nn_common.h"
#include "ops/op_table.h"
#include "ops/ops_nn.h"

namespace zh {

ZH_REGISTER_OPS(true, "softmax", "log_softmax");

namespace nn {

template <typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  cpu::parallel_for(rows, rows_grain(n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      auto [m, s] = max_and_expsum(xr, n);
      const double inv = 1.0 / s;
      for (int64_t j = 0; j < n; ++j) yr[j] = static_cast<T>(std::exp(static_cast<double>(xr[j] - m)) * inv);
    }
  });
}

template <typename T>
void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  cpu::parallel_for(rows, rows_grain(n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      auto [m, s] = max_and_expsum(xr, n);
      const T lse = static_cast<T>(static_cast<double>(m) + std::log(s));
      for (int64_t j = 0; j < n; ++j) yr[j] = xr[j] - lse;
    }
  });
}

// dx = y * (g - sum(g * y)) with y = softmax(x).
template <typename T>
void softmax_backward_rows(const T* y, const T* g, T* dx, int64_t rows, int64_t n) {
  cpu::parallel_for(rows, rows_grain(n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T *yr = y + r * n, *gr = g + r * n;
      T* dr = dx + r * n;
      double dot = 0;
      for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(gr[j]) * yr[j];
      for (int64_t j = 0; j < n; ++j) dr[j] = static_cast<T>(yr[j] * (gr[j] - dot));
    }
  });
}

// dx = g - exp(y) * sum(g) with y = log_softmax(x).
template <typename T>
void log_softmax_backward_rows(const T* y, const T* g, T* dx, int64_t rows, int64_t n) {
  cpu::parallel_for(rows, rows_grain(n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T *yr = y + r * n, *gr = g + r * n;
      T* dr = dx + r * n;
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += gr[j];
      for (int64_t j = 0; j < n; ++j) dr[j] = static_cast<T>(gr[j] - std::exp(static_cast<double>(yr[j])) * s);
    }
  });
}

namespace {

template <bool Log>
Tensor softmax_impl(const Tensor& input, int64_t dim, const char* op) {
  Tensor x = float_operand(input, op, "input");
  LastDimRows r = last_dim_rows(x, dim, op);
  Tensor y = empty(r.data.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>) {  // the vectorised kernels; the loops above stay for float64
      if (Log) cpu::log_softmax_rows(r.data.data<T>(), r.n, y.data<T>(), r.n, r.rows, r.n);
      else cpu::softmax_rows(r.data.data<T>(), r.n, y.data<T>(), r.n, r.rows, r.n);
      return;
    }
    if (Log) log_softmax_rows<T>(r.data.data<T>(), y.data<T>(), r.rows, r.n);
    else softmax_rows<T>(r.data.data<T>(), y.data<T>(), r.rows, r.n);
  });
  // detached: when dim is already last, y is the output itself, and out -> node -> closure -> out is a cycle
  Tensor saved = detach(y);
  Tensor out = from_last_dim_rows(y, r);
  r.data = Tensor();  // the backward needs the layout and y, not the input
  const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), op);
  // the backward reads y (the output, or its copy in the moved layout), never x: as PyTorch saves the result
  out = attach(op, out, {x}, {out}, [saved, r, op, d](const Tensor& g, const std::vector<bool>&) {
    if (GradMode::enabled()) {
      // create_graph: the same formulas as the row loops below, in differentiable ops on the output
      Tensor y = saved_output(r.moved ? permute(saved, r.inverse) : saved);
      std::vector<int64_t> dims;
      if (y.dim() > 0) dims.push_back(d);
      if (Log) return Grads{sub(g, mul(exp(y), sum(g, dims, true)))};
      return Grads{mul(y, sub(g, sum(mul(g, y), dims, true)))};
    }
    Tensor gr = to_last_dim_rows(g, r);
    Tensor dx = empty(saved.shape(), saved.dtype());
    dispatch_float(saved.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      if (Log) log_softmax_backward_rows<T>(saved.data<T>(), gr.data<T>(), dx.data<T>(), r.rows, r.n);
      else softmax_backward_rows<T>(saved.data<T>(), gr.data<T>(), dx.data<T>(), r.rows, r.n);
    });
    return Grads{from_last_dim_rows(dx, r)};
  });
  return to_dtype(out, input.dtype());
}

}  // namespace
}  // namespace nn

Tensor softmax(const Tensor& x, int64_t dim) { return nn::softmax_impl<false>(x, dim, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return nn::softmax_impl<true>(x, dim, "log_softmax"); }

}  // namespace zh
