// sort, argsort and topk along one dim. Every row is ordered by (value, original position), so sorts are
// stable and ties in topk go to the lower index; NaN counts as larger than any number, as in PyTorch.
// The values' backward scatters the gradient back to the positions the indices name.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/autograd.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"
#include "ops/ops_shape.h"

namespace zh {

ZH_REGISTER_OPS(true, "sort", "topk");
ZH_REGISTER_OPS(false, "argsort");

using Grads = std::vector<Tensor>;

namespace {

// a strictly before b in ascending (or descending) order, with NaN the largest value.
template <typename T>
bool before(T a, T b, bool descending) {
  if constexpr (std::is_floating_point_v<T>) {
    const bool an = std::isnan(a), bn = std::isnan(b);
    if (an || bn) return descending ? (an && !bn) : (!an && bn);
  }
  return descending ? a > b : a < b;
}

// The first k positions of every row in order: values in the compute dtype and int64 indices.
std::pair<Tensor, Tensor> ordered(const Tensor& t, int64_t dim, int64_t k, bool descending, const char* op) {
  const AlongDim a = along_dim(t.shape(), dim, op);
  if (k < 0 || k > a.size)
    index_error(op, ": k=", k, " is out of range for dimension ", a.dim, " of size ", a.size, " (shape ",
                shape_str(t.shape()), ")");
  if (t.dim() == 0) k = 1;  // a 0-d result has no dim to hold k: PyTorch gives the element itself for k=0 too
  const DType ct = compute_dtype(t.dtype());
  Tensor x = contiguous(to_dtype(detach(t), ct));
  Shape out_shape = t.shape();
  if (t.dim() > 0) out_shape[a.dim] = k;
  Tensor values = empty(out_shape, ct), indices = empty(out_shape, DType::Int64);
  int64_t* ip = indices.data<int64_t>();
  dispatch_compute(ct, op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* vp = values.data<T>();
    cpu::parallel_for(a.outer * a.inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(a.size, 1)),
                      [&](int64_t b, int64_t e) {
      std::vector<int64_t> order(static_cast<size_t>(a.size));
      for (int64_t r = b; r < e; ++r) {
        const int64_t o = r / a.inner, i = r % a.inner;
        const T* row = xp + o * a.size * a.inner + i;
        auto cmp = [&](int64_t p, int64_t q) {
          const T u = row[p * a.inner], v = row[q * a.inner];
          if (before(u, v, descending)) return true;
          if (before(v, u, descending)) return false;
          return p < q;
        };
        std::iota(order.begin(), order.end(), int64_t{0});
        if (k < a.size) std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
        else std::sort(order.begin(), order.end(), cmp);
        for (int64_t j = 0; j < k; ++j) {
          const int64_t at = o * k * a.inner + j * a.inner + i;
          vp[at] = row[order[j] * a.inner];
          ip[at] = order[j];
        }
      }
    });
  });
  return {values, indices};
}

// values with a backward that sends g to the input positions the indices name.
Tensor attach_values(const char* op, const Tensor& t, int64_t dim, Tensor values, const Tensor& indices) {
  values = to_dtype(values, t.dtype());
  if (!is_floating(t.dtype())) return values;
  Shape in_shape = t.shape();
  Tensor idx = detach(indices);
  const int64_t d = t.dim() == 0 ? 0 : wrap_dim(dim, t.dim(), op);
  return attach(op, values, {t}, {indices}, [in_shape, idx, d](const Tensor& g, const std::vector<bool>&) {
    return Grads{scatter_add(zeros(in_shape, g.dtype()), d, idx, g)};
  });
}

}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& t, int64_t dim, bool descending) {
  const int64_t size = t.dim() == 0 ? 1 : t.shape()[wrap_dim(dim, t.dim(), "sort")];
  auto [values, indices] = ordered(t, dim, size, descending, "sort");
  return {attach_values("sort", t, dim, values, indices), indices};
}

Tensor argsort(const Tensor& t, int64_t dim, bool descending) {
  const int64_t size = t.dim() == 0 ? 1 : t.shape()[wrap_dim(dim, t.dim(), "argsort")];
  return ordered(t, dim, size, descending, "argsort").second;
}

std::pair<Tensor, Tensor> topk(const Tensor& t, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;  // the k results always come back in order, which is also a valid unsorted answer
  auto [values, indices] = ordered(t, dim, k, largest, "topk");
  return {attach_values("topk", t, dim, values, indices), indices};
}

}  // namespace zh
