// cat, stack, split, chunk, flip, repeat. cat/flip/repeat copy into a new tensor through a strided source
// view (flip: negative strides, repeat: stride-0 dims) and their backward slices, flips or sums the gradient;
// split and chunk return narrow() views, whose backward already exists.
#include <algorithm>

#include "autograd/autograd.h"
#include "ops/op_table.h"
#include "ops/ops.h"
#include "ops/ops_shape.h"

namespace zh {

ZH_REGISTER_OPS(true, "cat", "stack", "split", "chunk", "flip", "repeat");

using Grads = std::vector<Tensor>;

AlongDim along_dim(const Shape& shape, int64_t dim, const char* op) {
  AlongDim a;
  const int64_t n = static_cast<int64_t>(shape.size());
  a.dim = wrap_dim(dim, n, op);
  if (n == 0) return a;
  a.size = shape[a.dim];
  for (int64_t i = 0; i < a.dim; ++i) a.outer *= shape[i];
  for (int64_t i = a.dim + 1; i < n; ++i) a.inner *= shape[i];
  return a;
}

namespace {

// PyTorch still accepts 1-d empty tensors of any dtype in cat and skips them.
bool legacy_empty(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }

}  // namespace

Tensor cat(const std::vector<Tensor>& ts, int64_t dim) {
  if (ts.empty()) value_error("cat: expected a non-empty list of tensors");
  size_t r = 0;
  while (r < ts.size() && legacy_empty(ts[r])) ++r;
  if (r == ts.size()) r = 0;
  const Tensor& ref = ts[r];
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].dim() == 0)
      value_error("cat: zero-dimensional tensor (at position ", i, ") cannot be concatenated; use stack() or "
                  "unsqueeze it first");
  const int64_t d = wrap_dim(dim, ref.dim(), "cat");
  int64_t total = 0;
  DType dt = ref.dtype();
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    dt = promote(dt, t.dtype());
    if (i != r && legacy_empty(t)) continue;
    if (t.dim() != ref.dim())
      value_error("cat: tensors must have the same number of dimensions, got shape ", shape_str(ref.shape()),
                  " at position ", r, " and shape ", shape_str(t.shape()), " at position ", i);
    for (int64_t k = 0; k < t.dim(); ++k)
      if (k != d && t.shape()[k] != ref.shape()[k])
        value_error("cat: sizes of tensors must match except in dimension ", d, ", got shape ",
                    shape_str(ref.shape()), " at position ", r, " and shape ", shape_str(t.shape()), " at position ",
                    i, " (dimension ", k, ": ", ref.shape()[k], " vs ", t.shape()[k], ")");
    total += t.shape()[d];
  }
  Shape out_shape = ref.shape();
  out_shape[d] = total;
  Tensor out = empty(out_shape, dt);
  std::vector<int64_t> starts(ts.size(), -1);
  int64_t off = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i != r && legacy_empty(ts[i])) continue;
    starts[i] = off;
    copy_(narrow(out, d, off, ts[i].shape()[d]), ts[i]);
    off += ts[i].shape()[d];
  }
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const Tensor& t : ts) {
    shapes.push_back(t.shape());
    dtypes.push_back(t.dtype());
  }
  return attach("cat", out, ts, {}, [d, starts, shapes, dtypes](const Tensor& g, const std::vector<bool>& needs) {
    Grads grads(shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (!needs[i]) continue;
      grads[i] = starts[i] < 0 ? zeros(shapes[i], dtypes[i])
                               : to_dtype(narrow(g, d, starts[i], shapes[i][d]), dtypes[i]);
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& ts, int64_t dim) {
  if (ts.empty()) value_error("stack: expected a non-empty list of tensors");
  for (size_t i = 1; i < ts.size(); ++i)
    if (ts[i].shape() != ts[0].shape())
      value_error("stack: expects each tensor to be equal size, but got ", shape_str(ts[0].shape()),
                  " at entry 0 and ", shape_str(ts[i].shape()), " at entry ", i);
  const int64_t n = ts[0].dim() + 1;
  if (dim < -n || dim >= n)
    index_error("stack: dimension ", dim, " is out of range for stacking tensors with ", n - 1,
                " dimensions (expected to be in [", -n, ", ", n - 1, "])");
  std::vector<Tensor> parts;
  for (const Tensor& t : ts) parts.push_back(unsqueeze(t, dim < 0 ? dim + n : dim));
  return cat(parts, dim < 0 ? dim + n : dim);
}

std::vector<Tensor> split_with_sizes(const Tensor& t, const std::vector<int64_t>& sizes, int64_t dim) {
  if (t.dim() == 0) value_error("split: cannot split a zero-dimensional tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "split");
  const int64_t size = t.shape()[d];
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) value_error("split: split sizes must be non-negative, got ", shape_str(sizes));
    sum += s;
  }
  if (sum != size)
    value_error("split: split sizes ", shape_str(sizes), " add up to ", sum, " but dimension ", d, " of shape ",
                shape_str(t.shape()), " has size ", size);
  std::vector<Tensor> out;
  int64_t off = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(t, d, off, s));
    off += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim) {
  if (t.dim() == 0) value_error("split: cannot split a zero-dimensional tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "split");
  const int64_t size = t.shape()[d];
  if (split_size < 0 || (split_size == 0 && size > 0))
    value_error("split: split_size must be positive (or 0 for an empty dimension), got ", split_size,
                " for dimension ", d, " of size ", size);
  std::vector<int64_t> sizes;
  if (split_size == 0) {
    sizes.push_back(0);
  } else {
    for (int64_t off = 0; off < size; off += split_size) sizes.push_back(std::min(split_size, size - off));
    if (sizes.empty()) sizes.push_back(0);
  }
  return split_with_sizes(t, sizes, d);
}

std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim) {
  if (t.dim() == 0) value_error("chunk: cannot chunk a zero-dimensional tensor");
  if (chunks <= 0) value_error("chunk: number of chunks must be greater than 0, got ", chunks);
  const int64_t d = wrap_dim(dim, t.dim(), "chunk");
  const int64_t size = t.shape()[d];
  // An empty dim still gives `chunks` pieces, as in PyTorch.
  if (size == 0) return split_with_sizes(t, std::vector<int64_t>(chunks, 0), d);
  return split(t, (size + chunks - 1) / chunks, d);
}

Tensor flip(const Tensor& t, const std::vector<int64_t>& dims) {
  const int64_t n = t.dim();
  std::vector<bool> flipped(std::max<int64_t>(n, 1), false);
  for (int64_t dim : dims) {
    int64_t d = wrap_dim(dim, n, "flip");
    if (flipped[d]) value_error("flip: dimension ", d, " appears more than once in ", shape_str(dims));
    flipped[d] = true;
  }
  Shape strides = t.strides();
  int64_t offset = t.offset();
  for (int64_t d = 0; d < n; ++d)
    if (flipped[d] && t.shape()[d] > 0) {
      offset += (t.shape()[d] - 1) * strides[d];
      strides[d] = -strides[d];
    }
  // The reversed view never leaves this function: only the strided copy below reads it.
  Tensor out = empty(t.shape(), t.dtype());
  copy_(out, make_view(detach(t), t.shape(), strides, offset));
  std::vector<int64_t> ds = dims;
  return attach("flip", out, {t}, {}, [ds](const Tensor& g, const std::vector<bool>&) { return Grads{flip(g, ds)}; });
}

Tensor repeat(const Tensor& t, const std::vector<int64_t>& repeats) {
  const int64_t n = static_cast<int64_t>(repeats.size()), k = t.dim();
  if (n < k)
    value_error("repeat: the number of repeats ", shape_str(repeats), " must be at least the number of dimensions of ",
                "the tensor's shape ", shape_str(t.shape()));
  for (int64_t r : repeats)
    if (r < 0) value_error("repeat: repeats must be non-negative, got ", shape_str(repeats));
  // [r0, s0, r1, s1, ...] with stride 0 on every r: a copy of it is the repeated tensor.
  Shape big_shape(2 * n), big_strides(2 * n), out_shape(n);
  std::vector<int64_t> repeat_dims;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = i - (n - k);
    big_shape[2 * i] = repeats[i];
    big_strides[2 * i] = 0;
    big_shape[2 * i + 1] = j >= 0 ? t.shape()[j] : 1;
    big_strides[2 * i + 1] = j >= 0 ? t.strides()[j] : 0;
    repeat_dims.push_back(2 * i);
  }
  numel_of(big_shape);  // raises on overflow before anything is allocated
  for (int64_t i = 0; i < n; ++i) out_shape[i] = big_shape[2 * i] * big_shape[2 * i + 1];
  Tensor big = empty(big_shape, t.dtype());
  copy_(big, make_view(detach(t), big_shape, big_strides, t.offset()));
  Tensor out = make_view(big, out_shape, contiguous_strides(out_shape), 0);
  Shape in_shape = t.shape();
  return attach("repeat", out, {t}, {}, [big_shape, repeat_dims, in_shape](const Tensor& g, const std::vector<bool>&) {
    Tensor gb = reshape(g, big_shape);
    Tensor s = repeat_dims.empty() ? gb : sum(gb, repeat_dims, false);
    return Grads{reshape(s, in_shape)};
  });
}

}  // namespace zh
