// tril/triu, and gather/scatter/scatter_add along one dim with an index tensor (PyTorch's rules: index has
// the input's number of dims and is no larger than it outside `dim`; every index value is checked before
// anything is written). gather's backward is scatter_add and scatter_add's is gather.
#include <algorithm>
#include <cstring>

#include "autograd/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"
#include "ops/ops_shape.h"

namespace zh {

ZH_REGISTER_OPS(true, "tril", "triu", "gather", "scatter", "scatter_add");

using Grads = std::vector<Tensor>;

namespace {

// Zeroes, in a contiguous copy, every element of the last two dims on the wrong side of `diagonal`.
Tensor triangle(const Tensor& t, int64_t diagonal, bool lower, const char* op) {
  if (t.dim() < 2)
    value_error(op, ": expected a tensor with at least 2 dimensions, got shape ", shape_str(t.shape()));
  Tensor out = contiguous(clone(detach(t)));
  const int64_t rows = t.shape()[t.dim() - 2], cols = t.shape()[t.dim() - 1];
  const int64_t mats = rows * cols == 0 ? 0 : t.numel() / (rows * cols);
  const int64_t isz = itemsize(t.dtype());
  char* base = static_cast<char*>(out.data_ptr());
  // All our dtypes encode zero as all-zero bytes, so one memset per row clears its run.
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i) {
      char* row = base + (m * rows + i) * cols * isz;
      int64_t edge = i + diagonal;  // column of the diagonal in this row
      int64_t from = lower ? std::max<int64_t>(0, std::min(cols, edge + 1)) : 0;
      int64_t to = lower ? cols : std::max<int64_t>(0, std::min(cols, edge));
      if (to > from) std::memset(row + from * isz, 0, static_cast<size_t>((to - from) * isz));
    }
  return out;
}

Shape nonempty_shape(const Tensor& t) { return t.dim() == 0 ? Shape{1} : t.shape(); }
Shape nonempty_strides(const Tensor& t) { return t.dim() == 0 ? Shape{0} : t.strides(); }

// Index values as int64 after checking dtype, shapes and range; the dim is returned wrapped.
std::vector<int64_t> checked_index(const char* op, const Tensor& t, int64_t& dim, const Tensor& index,
                                   const Tensor* src) {
  if (index.dtype() != DType::Int64 && index.dtype() != DType::Int32)
    type_error(op, ": index must be an int64 tensor, got ", dtype_name(index.dtype()));
  const Shape ts = nonempty_shape(t), is = nonempty_shape(index);
  dim = wrap_dim(dim, t.dim(), op);
  // an empty index touches nothing, so PyTorch skips the shape checks (any dims, any src shape)
  if (index.numel() == 0) {
    if (src && src->dtype() != t.dtype())
      type_error(op, ": src must have the input's dtype ", dtype_name(t.dtype()), ", got ", dtype_name(src->dtype()));
    return {};
  }
  if (ts.size() != is.size())
    value_error(op, ": index must have as many dimensions as the input, got index shape ", shape_str(index.shape()),
                " and input shape ", shape_str(t.shape()));
  for (size_t d = 0; d < is.size(); ++d)
    if (static_cast<int64_t>(d) != dim && is[d] > ts[d])
      value_error(op, ": index shape ", shape_str(index.shape()), " is larger than the input shape ",
                  shape_str(t.shape()), " in dimension ", d);
  if (src) {
    const Shape ss = nonempty_shape(*src);
    if (ss.size() != is.size())
      value_error(op, ": src must have as many dimensions as the index, got src shape ", shape_str(src->shape()),
                  " and index shape ", shape_str(index.shape()));
    for (size_t d = 0; d < is.size(); ++d)
      if (is[d] > ss[d])
        value_error(op, ": index shape ", shape_str(index.shape()), " is larger than the src shape ",
                    shape_str(src->shape()), " in dimension ", d);
    if (src->dtype() != t.dtype())
      type_error(op, ": src must have the input's dtype ", dtype_name(t.dtype()), ", got ", dtype_name(src->dtype()));
  }
  Tensor idx = contiguous(to_dtype(detach(index), DType::Int64));
  const int64_t* p = idx.data<int64_t>();
  std::vector<int64_t> out(p, p + idx.numel());
  const int64_t size = ts[dim];
  for (int64_t v : out)
    if (v < 0 || v >= size)
      index_error(op, ": index ", v, " is out of bounds for dimension ", dim, " with size ", size);
  return out;
}

// Calls fn(k, coord) for every position of `shape` in row-major order (k is the flat position).
template <typename Fn>
void for_each_position(const Shape& shape, Fn fn) {
  const int64_t n = numel_of(shape);
  Shape coord(shape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    fn(k, coord);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++coord[d] < shape[d]) break;
      coord[d] = 0;
    }
  }
}

int64_t offset_of(const Shape& coord, const Shape& strides, int64_t dim, int64_t at) {
  int64_t off = 0;
  for (size_t d = 0; d < coord.size(); ++d) off += (static_cast<int64_t>(d) == dim ? at : coord[d]) * strides[d];
  return off;
}

enum class Scatter { Assign, Add };

// out = copy of t with src (or the 0-d number `value` when src is null) written or added at the indexed positions.
Tensor scatter_impl(const char* op, const Tensor& t, int64_t dim, const Tensor& index, const Tensor* src,
                    const Tensor& value, Scatter mode) {
  std::vector<int64_t> idx = checked_index(op, t, dim, index, src);
  const DType ct = mode == Scatter::Add ? compute_dtype(t.dtype()) : t.dtype();
  if (!src) check_number_fits(value, ct);
  Tensor out = contiguous(clone(to_dtype(detach(t), ct)));
  Tensor s = to_dtype(detach(src ? *src : value), ct);
  const Shape ostr = nonempty_strides(out), sstr = src ? nonempty_strides(s) : Shape(ostr.size(), 0);
  dispatch_all(ct, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T* x = s.data<T>();
    // Serial, in index order: a repeated index is written last-wins (or summed) deterministically.
    for_each_position(nonempty_shape(index), [&](int64_t k, const Shape& c) {
      T* dst = o + offset_of(c, ostr, dim, idx[k]);
      const T v = x[offset_of(c, sstr, -1, 0)];
      if (mode == Scatter::Assign) {
        *dst = v;
      } else if constexpr (std::is_same_v<T, uint8_t>) {
        *dst = static_cast<uint8_t>(*dst || v);
      } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BHalf>) {
        throw std::logic_error("internal: scatter_add on a storage-only dtype");
      } else {
        *dst = static_cast<T>(*dst + v);
      }
    });
  });
  return to_dtype(out, t.dtype());
}

// The gradient of a src argument: g gathered at the index, placed in zeros when src is larger than the index.
Tensor src_grad(const Tensor& g, int64_t dim, const Tensor& index, const Shape& src_shape) {
  Tensor got = gather(g, dim, index);
  if (got.numel() == numel_of(src_shape)) return reshape(got, src_shape);
  // The index covers a corner of src; when one of them is 0-d the other holds at most one element.
  Tensor z = zeros(src_shape, g.dtype());
  Shape strides = index.dim() == z.dim() ? z.strides() : contiguous_strides(index.shape());
  copy_(as_strided_view(z, index.shape(), strides, 0), got);
  return second_order_unsupported("scatter", z, {g});  // the copy_ above is not recorded
}

}  // namespace

Tensor tril(const Tensor& t, int64_t diagonal) {
  Tensor out = triangle(t, diagonal, true, "tril");
  return attach("tril", out, {t}, {}, [diagonal](const Tensor& g, const std::vector<bool>&) {
    return Grads{tril(g, diagonal)};
  });
}

Tensor triu(const Tensor& t, int64_t diagonal) {
  Tensor out = triangle(t, diagonal, false, "triu");
  return attach("triu", out, {t}, {}, [diagonal](const Tensor& g, const std::vector<bool>&) {
    return Grads{triu(g, diagonal)};
  });
}

Tensor gather(const Tensor& t, int64_t dim, const Tensor& index) {
  std::vector<int64_t> idx = checked_index("gather", t, dim, index, nullptr);
  Tensor out = empty(index.shape(), t.dtype());
  const int64_t isz = itemsize(t.dtype());
  const Shape tstr = nonempty_strides(t);
  const char* src = static_cast<const char*>(t.data_ptr());
  char* o = static_cast<char*>(out.data_ptr());
  for_each_position(nonempty_shape(index), [&](int64_t k, const Shape& c) {
    std::memcpy(o + k * isz, src + offset_of(c, tstr, dim, idx[k]) * isz, static_cast<size_t>(isz));
  });
  Shape in_shape = t.shape();
  Tensor index_c = detach(index);
  return attach("gather", out, {t}, {index}, [in_shape, dim, index_c](const Tensor& g, const std::vector<bool>&) {
    return Grads{scatter_add(zeros(in_shape, g.dtype()), dim, index_c, g)};
  });
}

Tensor scatter(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = scatter_impl("scatter", t, dim, index, &src, Tensor(), Scatter::Assign);
  Tensor index_c = detach(index);
  Shape src_shape = src.shape();
  return attach("scatter", out, {t, src}, {index},
                [dim, index_c, src_shape](const Tensor& g, const std::vector<bool>& n) {
                  return Grads{n[0] ? scatter_value(g, dim, index_c, wrapped_scalar(0, DType::Float64)) : Tensor(),
                               n[1] ? src_grad(g, dim, index_c, src_shape) : Tensor()};
                });
}

Tensor scatter_value(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& value) {
  if (value.dim() != 0)
    value_error("scatter: value must be a number, got a tensor of shape ", shape_str(value.shape()));
  Tensor out = scatter_impl("scatter", t, dim, index, nullptr, value, Scatter::Assign);
  Tensor index_c = detach(index);
  return attach("scatter", out, {t}, {index}, [dim, index_c](const Tensor& g, const std::vector<bool>&) {
    return Grads{scatter_value(g, dim, index_c, wrapped_scalar(0, DType::Float64))};
  });
}

Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = scatter_impl("scatter_add", t, dim, index, &src, Tensor(), Scatter::Add);
  Tensor index_c = detach(index);
  Shape src_shape = src.shape();
  return attach("scatter_add", out, {t, src}, {{index, grad_of(1)}},  // only src's gradient gathers
                [dim, index_c, src_shape](const Tensor& g, const std::vector<bool>& n) {
                  return Grads{n[0] ? g : Tensor(), n[1] ? src_grad(g, dim, index_c, src_shape) : Tensor()};
                });
}

}  // namespace zh
