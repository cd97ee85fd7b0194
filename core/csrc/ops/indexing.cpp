// Integer-tensor indexing along one dim, and the positions of nonzero elements. Advanced indexing
// (t[idx], t[mask], several index tensors) is composed from these in core/_indexing.py.
#include "autograd/autograd.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"
#include "ops/ops_index.h"

namespace zh {

ZH_REGISTER_OPS(true, "index_select", "getitem");
ZH_REGISTER_OPS(false, "nonzero", "setitem");

namespace {

// Index values as int64, checked against the dim size before any memory is touched; negatives wrap.
std::vector<int64_t> checked_indices(const Tensor& index, int64_t size, const char* op) {
  if (index.dtype() != DType::Int64 && index.dtype() != DType::Int32)
    type_error(op, ": index must be an int64 or int32 tensor, got ", dtype_name(index.dtype()));
  Tensor idx = contiguous(to_dtype(index, DType::Int64));
  const int64_t* p = idx.data<int64_t>();
  std::vector<int64_t> out(p, p + idx.numel());
  for (int64_t& v : out) {
    if (v < -size || v >= size) index_error(op, ": index ", v, " is out of bounds for dimension with size ", size);
    if (v < 0) v += size;
  }
  return out;
}

// [outer, size, inner] view of a contiguous tensor around `dim`.
void split_dims(const Shape& shape, int64_t dim, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= shape[i];
  for (size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
}

}  // namespace

Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index) {
  if (index.dim() > 1) value_error("index_select: index must be 0-d or 1-d, got shape ", shape_str(index.shape()));
  if (t.dim() == 0) index_error("index_select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, t.dim(), "index_select");
  const int64_t size = t.shape()[dim];
  std::vector<int64_t> idx = checked_indices(index, size, "index_select");
  Tensor src = contiguous(detach(t));
  Shape shape = t.shape();
  shape[dim] = static_cast<int64_t>(idx.size());
  Tensor out = empty(shape, t.dtype());
  int64_t outer, inner;
  split_dims(t.shape(), dim, outer, inner);
  const int64_t isz = itemsize(t.dtype()), n = static_cast<int64_t>(idx.size());
  const char* s = static_cast<const char*>(src.data_ptr());
  char* o = static_cast<char*>(out.data_ptr());
  cpu::parallel_for(outer * n, std::max<int64_t>(1, 4096 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t i = r / n, j = r % n;
      std::memcpy(o + (i * n + j) * inner * isz, s + (i * size + idx[j]) * inner * isz, static_cast<size_t>(inner * isz));
    }
  });
  Shape in_shape = t.shape();
  Tensor index_c = detach(index);
  return attach("index_select", out, {t}, {index}, [in_shape, dim, index_c](const Tensor& g, const std::vector<bool>&) {
    Tensor gi = index_add(zeros(in_shape, g.dtype()), dim, index_c, g);
    return std::vector<Tensor>{placed_gradient("index_select_backward", gi, g, [dim, index_c](const Tensor& gg) {
      return index_select(gg, dim, index_c);
    })};
  });
}

Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src) {
  if (base.dim() == 0) index_error("index_add: cannot index a 0-d tensor");
  dim = wrap_dim(dim, base.dim(), "index_add");
  const DType ct = compute_dtype(base.dtype());
  Tensor out = contiguous(clone(to_dtype(detach(base), ct)));
  const int64_t size = out.shape()[dim];
  std::vector<int64_t> idx = checked_indices(index, size, "index_add");
  Tensor s = contiguous(to_dtype(detach(src), ct));
  int64_t outer, inner;
  split_dims(out.shape(), dim, outer, inner);
  const int64_t n = static_cast<int64_t>(idx.size());
  if (s.numel() != outer * n * inner)
    value_error("index_add: source of shape ", shape_str(s.shape()), " does not fit ", n, " indices into shape ",
                shape_str(out.shape()));
  dispatch_compute(ct, "index_add", [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T* x = s.data<T>();
    // Serial over indices so repeated indices accumulate deterministically.
    for (int64_t i = 0; i < outer; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T* dst = o + (i * size + idx[j]) * inner;
        const T* row = x + (i * n + j) * inner;
        for (int64_t k = 0; k < inner; ++k) dst[k] = static_cast<T>(dst[k] + row[k]);
      }
  });
  return to_dtype(out, base.dtype());
}

void index_copy_(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src) {
  if (dst.dim() == 0) index_error("index_copy_: cannot index a 0-d tensor");
  dim = wrap_dim(dim, dst.dim(), "index_copy_");
  const int64_t size = dst.shape()[dim];
  std::vector<int64_t> idx = checked_indices(index, size, "index_copy_");
  Shape want = dst.shape();
  want[dim] = static_cast<int64_t>(idx.size());
  if (src.shape() != want)
    value_error("index_copy_: source of shape ", shape_str(src.shape()), " does not match ", shape_str(want));
  // Rows are written in index order, so the last of repeated indices wins.
  for (size_t j = 0; j < idx.size(); ++j)
    copy_(select(detach(dst), dim, idx[j]), select(detach(src), dim, static_cast<int64_t>(j)));
}

Tensor nonzero(const Tensor& t) {
  Tensor c = contiguous(detach(t));
  const int64_t n = c.numel(), nd = c.dim();
  std::vector<int64_t> hits;
  dispatch_all(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = c.data<T>();
    for (int64_t i = 0; i < n; ++i)
      if (convert<double>(p[i]) != 0.0) hits.push_back(i);
  });
  const int64_t k = static_cast<int64_t>(hits.size());
  Tensor out = empty({k, nd}, DType::Int64);
  int64_t* o = out.data<int64_t>();
  for (int64_t r = 0; r < k; ++r) {
    int64_t rem = hits[r];
    for (int64_t d = nd - 1; d >= 0; --d) {
      o[r * nd + d] = rem % c.shape()[d];
      rem /= c.shape()[d];
    }
  }
  return out;
}

}  // namespace zh
