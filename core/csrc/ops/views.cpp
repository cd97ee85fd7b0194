// Views: new shape/strides/offset over the same storage. Their backward maps the gradient back to the
// input's shape: a reshape, an inverse permutation, a sum over broadcast dims, or a scatter into zeros.
#include <algorithm>
#include <numeric>

#include "autograd/autograd.h"
#include "ops/op_table.h"
#include "ops/ops.h"

namespace zh {

ZH_REGISTER_OPS(true, "view", "reshape", "permute", "transpose", "t", "expand", "unsqueeze", "squeeze", "narrow",
                "select", "slice", "flatten");

namespace {

using Grads = std::vector<Tensor>;

Shape infer_shape(const Shape& requested, int64_t numel, const Tensor& t, const char* op) {
  Shape out = requested;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) value_error(op, ": only one dimension can be inferred in shape ", shape_str(requested));
      infer = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      value_error(op, ": invalid dimension ", out[i], " in shape ", shape_str(requested));
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      value_error(op, ": shape ", shape_str(requested), " is invalid for input of shape ", shape_str(t.shape()),
                  " (", numel, " elements)");
    out[infer] = numel / known;
  } else if (known != numel) {
    value_error(op, ": shape ", shape_str(requested), " is invalid for input of shape ", shape_str(t.shape()), " (",
                numel, " elements)");
  }
  return out;
}

// Strides that express `shape` over t's memory without copying, if any (PyTorch's rule: each run of
// old dims that is contiguous in memory may be split or merged freely).
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape) {
  Shape st(shape.size());
  if (old_shape.empty() || numel_of(old_shape) == 0) return contiguous_strides(shape);
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base = old_strides.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        st[view_d] = view_numel * chunk_base;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return st;
}

Tensor reshape_backward_node(const char* name, Tensor out, const Tensor& t) {
  Shape in_shape = t.shape();
  return attach(name, out, {t}, {}, [in_shape](const Tensor& g, const std::vector<bool>&) {
    return Grads{reshape(g, in_shape)};
  });
}

}  // namespace

Tensor as_strided_view(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
  if (shape.size() != strides.size())
    value_error("as_strided: shape ", shape_str(shape), " and strides ", shape_str(strides), " differ in length");
  const int64_t n = numel_of(shape), avail = t.storage()->nbytes / itemsize(t.dtype());
  if (offset < 0) value_error("as_strided: negative storage offset ", offset);
  int64_t last = offset;  // highest element reached; checked arithmetic so huge strides cannot wrap around
  for (size_t i = 0; i < shape.size(); ++i) {
    if (strides[i] < 0) value_error("as_strided: negative strides are not supported, got ", shape_str(strides));
    int64_t reach;
    if (n > 0 &&
        (__builtin_mul_overflow(shape[i] - 1, strides[i], &reach) || __builtin_add_overflow(last, reach, &last)))
      value_error("as_strided: shape ", shape_str(shape), " with strides ", shape_str(strides), " overflows");
  }
  if (n > 0 && last >= avail)
    value_error("as_strided: shape ", shape_str(shape), ", strides ", shape_str(strides), " and offset ", offset,
                " reach element ", last, " outside the storage of ", avail, " elements");
  return make_view(t, shape, strides, offset);
}

Tensor view(const Tensor& t, const Shape& shape) {
  Shape s = infer_shape(shape, t.numel(), t, "view");
  auto st = view_strides(t.shape(), t.strides(), s);
  if (!st)
    value_error("view: shape ", shape_str(s), " is not compatible with the input's shape ", shape_str(t.shape()),
                " and strides ", shape_str(t.strides()), " (the memory is not contiguous enough); use reshape()");
  return reshape_backward_node("view", make_view(t, s, *st, t.offset()), t);
}

Tensor reshape(const Tensor& t, const Shape& shape) {
  Shape s = infer_shape(shape, t.numel(), t, "reshape");
  if (s == t.shape()) return t;
  if (auto st = view_strides(t.shape(), t.strides(), s))
    return reshape_backward_node("reshape", make_view(t, s, *st, t.offset()), t);
  Tensor c = contiguous(t);  // a copy: reshape of memory that no view can express
  return reshape_backward_node("reshape", make_view(c, s, contiguous_strides(s), c.offset()), c);
}

Tensor permute(const Tensor& t, const std::vector<int64_t>& dims) {
  const int64_t n = t.dim();
  if (static_cast<int64_t>(dims.size()) != n)
    value_error("permute: got ", dims.size(), " dims for a tensor of shape ", shape_str(t.shape()));
  std::vector<int64_t> d(n), inv(n, -1);
  Shape shape(n), strides(n);
  for (int64_t i = 0; i < n; ++i) {
    d[i] = wrap_dim(dims[i], n, "permute");
    if (inv[d[i]] != -1) value_error("permute: dimension ", d[i], " repeats in ", shape_str(dims));
    inv[d[i]] = i;
    shape[i] = t.shape()[d[i]];
    strides[i] = t.strides()[d[i]];
  }
  Tensor out = make_view(t, shape, strides, t.offset());
  return attach("permute", out, {t}, {}, [inv](const Tensor& g, const std::vector<bool>&) {
    return Grads{permute(g, inv)};
  });
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  const int64_t n = t.dim();
  d0 = wrap_dim(d0, n, "transpose");
  d1 = wrap_dim(d1, n, "transpose");
  if (n == 0) return t;
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[d0], p[d1]);
  return permute(t, p);
}

Tensor expand(const Tensor& t, const Shape& shape) {
  const int64_t n = static_cast<int64_t>(shape.size()), k = t.dim();
  if (n < k)
    value_error("expand: the target shape ", shape_str(shape), " has fewer dimensions than the tensor's ",
                shape_str(t.shape()));
  Shape out_shape(n), strides(n);
  for (int64_t i = n - 1; i >= 0; --i) {
    int64_t j = i - (n - k);
    int64_t size = shape[i];
    if (j >= 0) {
      int64_t have = t.shape()[j];
      if (size == -1) size = have;
      if (have == size) {
        strides[i] = t.strides()[j];
      } else if (have == 1) {
        strides[i] = 0;
      } else {
        value_error("expand: the size of dimension ", j, " of shape ", shape_str(t.shape()),
                    " must match the target size ", size, " or be 1 (target shape ", shape_str(shape), ")");
      }
    } else {
      if (size < 0) value_error("expand: -1 is not allowed for a new leading dimension in ", shape_str(shape));
      strides[i] = 0;
    }
    if (size < 0) value_error("expand: invalid size ", size, " in ", shape_str(shape));
    out_shape[i] = size;
  }
  if (out_shape == t.shape()) return t;
  Shape in_shape = t.shape();
  Tensor out = make_view(t, out_shape, strides, t.offset());
  return attach("expand", out, {t}, {}, [in_shape](const Tensor& g, const std::vector<bool>&) {
    return Grads{sum_to_shape(g, in_shape)};
  });
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < g.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) dims.push_back(i);
  Tensor s = dims.empty() ? g : sum(g, dims, true);
  return reshape(s, shape);
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  int64_t n = t.dim();
  if (dim < -(n + 1) || dim > n)
    index_error("unsqueeze: dimension ", dim, " is out of range for a tensor with ", n, " dimensions (expected in [",
                -(n + 1), ", ", n, "])");
  if (dim < 0) dim += n + 1;
  Shape shape = t.shape(), strides = t.strides();
  int64_t st = dim < n ? shape[dim] * strides[dim] : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  return reshape_backward_node("unsqueeze", make_view(t, shape, strides, t.offset()), t);
}

Tensor squeeze(const Tensor& t, std::optional<int64_t> dim) {
  Shape shape, strides;
  std::optional<int64_t> d;
  if (dim) d = wrap_dim(*dim, t.dim(), "squeeze");
  for (int64_t i = 0; i < t.dim(); ++i) {
    bool drop = t.shape()[i] == 1 && (!d || *d == i);
    if (!drop) {
      shape.push_back(t.shape()[i]);
      strides.push_back(t.strides()[i]);
    }
  }
  if (shape.size() == static_cast<size_t>(t.dim())) return t;
  return reshape_backward_node("squeeze", make_view(t, shape, strides, t.offset()), t);
}

Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start_, std::optional<int64_t> end_, int64_t step) {
  if (t.dim() == 0) index_error("slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, t.dim(), "slice");
  if (step <= 0) value_error("slice: step must be positive, got ", step);
  const int64_t size = t.shape()[dim];
  auto clampi = [size](int64_t v) {
    if (v < 0) v += size;
    return std::min(std::max<int64_t>(v, 0), size);
  };
  int64_t start = start_ ? clampi(*start_) : 0;
  int64_t end = end_ ? clampi(*end_) : size;
  int64_t len = end > start ? (end - start - 1) / step + 1 : 0;  // no overflow for huge steps
  Shape shape = t.shape(), strides = t.strides();
  shape[dim] = len;
  if (len > 1) strides[dim] *= step;  // bounded by the dim's extent; a single element keeps its stride
  int64_t offset = t.offset() + (len > 0 ? start * t.strides()[dim] : 0);
  Tensor out = make_view(t, shape, strides, offset);
  Shape in_shape = t.shape();
  return attach("slice", out, {t}, {},
                [in_shape, dim, start, step, len](const Tensor& g, const std::vector<bool>&) {
                  Tensor z = zeros(in_shape, g.dtype());
                  // an empty slice ends where it starts: start - step + 1 could be negative and wrap around
                  const int64_t end = len > 0 ? start + (len - 1) * step + 1 : start;
                  copy_(slice(z, dim, start, end, step), g);
                  return Grads{placed_gradient("slice_backward", z, g, [dim, start, end, step](const Tensor& gg) {
                    return slice(gg, dim, start, end, step);
                  })};
                });
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  if (t.dim() == 0) index_error("narrow: cannot narrow a 0-d tensor");
  dim = wrap_dim(dim, t.dim(), "narrow");
  const int64_t size = t.shape()[dim];
  if (start < 0) start += size;
  if (start < 0 || start > size || length < 0 || length > size - start)
    index_error("narrow: start ", start, " and length ", length, " do not fit dimension ", dim, " of size ", size);
  return slice(t, dim, start, start + length, 1);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  if (t.dim() == 0) index_error("select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, t.dim(), "select");
  const int64_t size = t.shape()[dim];
  if (index < -size || index >= size)
    index_error("index ", index, " is out of bounds for dimension ", dim, " with size ", size);
  if (index < 0) index += size;
  Shape shape = t.shape(), strides = t.strides();
  int64_t offset = t.offset() + index * strides[dim];
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  Tensor out = make_view(t, shape, strides, offset);
  Shape in_shape = t.shape();
  return attach("select", out, {t}, {}, [in_shape, dim, index](const Tensor& g, const std::vector<bool>&) {
    Tensor z = zeros(in_shape, g.dtype());
    copy_(select(z, dim, index), g);
    return Grads{placed_gradient("select_backward", z, g, [dim, index](const Tensor& gg) {
      return select(gg, dim, index);
    })};
  });
}

}  // namespace zh
