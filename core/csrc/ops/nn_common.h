// Shared plumbing of the nn_*.cpp ops: dtype checks, moving a dim last as contiguous rows, and the guard that
// makes a fused backward refuse to be differentiated again (create_graph) instead of giving a silent zero.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "autograd/autograd.h"
#include "ops/ops.h"

namespace zh::nn {

using Grads = std::vector<Tensor>;

// t in its compute dtype (float32 or float64); TypeError for integer and bool tensors.
inline Tensor float_operand(const Tensor& t, const char* op, const char* what) {
  if (!is_floating(t.dtype()))
    type_error(op, ": expected ", what, " to be a floating point tensor, got ", dtype_name(t.dtype()),
               "; convert it with .float()");
  return to_dtype(t, compute_dtype(t.dtype()));
}

// Index tensors (class targets, embedding ids) as contiguous int64; TypeError for other dtypes.
inline Tensor index_operand(const Tensor& t, const char* op, const char* what) {
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    type_error(op, ": expected ", what, " to be an int64 or int32 tensor, got ", dtype_name(t.dtype()));
  NoGradGuard ng;
  return contiguous(to_dtype(detach(t), DType::Int64));
}

// A fused backward's result, marked so that differentiating it again (create_graph) raises NotImplementedError.
inline Tensor second_order_guard(const char* name, const Tensor& out, const std::vector<Tensor>& inputs) {
  return second_order_unsupported(name, out, inputs);
}

// x with `dim` moved last, contiguous: `rows` rows of `n` elements. `perm` moves it there, `inverse` back.
struct LastDimRows {
  Tensor data;
  int64_t rows = 0, n = 1;
  std::vector<int64_t> perm, inverse;
  bool moved = false;
};

inline LastDimRows last_dim_rows(const Tensor& x, int64_t dim, const char* op) {
  LastDimRows r;
  NoGradGuard ng;
  const int64_t nd = x.dim();
  if (nd == 0) {
    wrap_dim(dim, 0, op);  // 0 or -1, as PyTorch
    r.data = contiguous(detach(x));
    r.rows = 1;
    r.n = 1;
    return r;
  }
  const int64_t d = wrap_dim(dim, nd, op);
  for (int64_t i = 0; i < nd; ++i)
    if (i != d) r.perm.push_back(i);
  r.perm.push_back(d);
  r.inverse.resize(nd);
  for (int64_t i = 0; i < nd; ++i) r.inverse[r.perm[i]] = i;
  r.moved = d != nd - 1;
  r.data = contiguous(r.moved ? permute(detach(x), r.perm) : detach(x));
  r.n = x.shape()[d];
  r.rows = r.n == 0 ? 0 : x.numel() / r.n;
  return r;
}

// The same layout for another tensor of x's shape (an incoming gradient).
inline Tensor to_last_dim_rows(const Tensor& t, const LastDimRows& r) {
  NoGradGuard ng;
  return contiguous(r.moved ? permute(detach(t), r.perm) : detach(t));
}

// A contiguous result in the moved layout, back in the original dim order (contiguous again).
inline Tensor from_last_dim_rows(const Tensor& t, const LastDimRows& r) {
  NoGradGuard ng;
  return r.moved ? contiguous(permute(t, r.inverse)) : t;
}

// Row max (NaN wins) and the sum of exp(x - max) accumulated in double: the stable log-sum-exp is m + log(s).
template <typename T>
std::pair<T, double> max_and_expsum(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) m = (x[j] > m || x[j] != x[j]) && m == m ? x[j] : m;
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += std::exp(static_cast<double>(x[j] - m));
  return {m, s};
}

inline int64_t rows_grain(int64_t n) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)); }

}  // namespace zh::nn
