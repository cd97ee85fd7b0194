#pragma once
#include "tensor/tensor.h"

namespace zh {
Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index);
// base with src rows added at `index` along dim (no autograd; index_select's backward).
Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src);
void index_copy_(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);  // no autograd
Tensor nonzero(const Tensor& t);  // [count, ndim] int64 coordinates, row-major order
}  // namespace zh
