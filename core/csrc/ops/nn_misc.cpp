// embedding, dropout, pad and one_hot: gathers and masks. Indices are all checked before any memory is written.
#include <cstring>

#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/nn_common.h"
#include "ops/op_table.h"
#include "ops/ops_index.h"
#include "ops/ops_nn.h"

namespace zh {

ZH_REGISTER_OPS(true, "embedding", "dropout", "pad");
ZH_REGISTER_OPS(false, "one_hot");

namespace nn {

// out[i, :] = weight[ids[i], :] for rows of row_bytes bytes (any dtype).
inline void gather_rows(const char* weight, const int64_t* ids, int64_t count, int64_t row_bytes, char* out) {
  cpu::parallel_for(count, std::max<int64_t>(1, 65536 / std::max<int64_t>(row_bytes, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      std::memcpy(out + i * row_bytes, weight + ids[i] * row_bytes, static_cast<size_t>(row_bytes));
  });
}

// dw[ids[i], :] += g[i, :] except for padding_idx; parallel over column blocks, indices in order (deterministic).
template <typename T>
void scatter_add_rows(const T* g, const int64_t* ids, int64_t count, int64_t dim, int64_t padding_idx, T* dw) {
  cpu::parallel_for(dim, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t i = 0; i < count; ++i) {
      if (ids[i] == padding_idx) continue;
      T* dst = dw + ids[i] * dim;
      const T* src = g + i * dim;
      for (int64_t j = lo; j < hi; ++j) dst[j] += src[j];
    }
  });
}

}  // namespace nn

Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx) {
  using namespace nn;
  if (weight.dim() != 2)
    value_error("embedding: weight must be 2-d (num_embeddings, embedding_dim), got shape ", shape_str(weight.shape()));
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  Tensor ids = index_operand(input, "embedding", "input");
  int64_t pad = -1;
  if (padding_idx) {
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
    if (pad < 0 || pad >= V)
      value_error("embedding: padding_idx ", *padding_idx, " must be within num_embeddings ", V);
  }
  const int64_t* ip = ids.data<int64_t>();
  const int64_t count = ids.numel();
  for (int64_t i = 0; i < count; ++i)
    if (ip[i] < 0 || ip[i] >= V)
      index_error("embedding: index ", ip[i], " is out of range for ", V, " embeddings (weight of shape ",
                  shape_str(weight.shape()), ")");
  Tensor w = weight;
  if (w.requires_grad() && GradMode::enabled() && !is_floating(w.dtype()))
    type_error("embedding: only floating point weights can require grad, got ", dtype_name(w.dtype()));
  if (is_floating(w.dtype())) w = to_dtype(w, compute_dtype(w.dtype()));
  Tensor wc;
  {
    NoGradGuard ng;
    wc = contiguous(detach(w));
  }
  Shape out_shape = input.shape();
  out_shape.push_back(D);
  Tensor out = empty(out_shape, wc.dtype());
  gather_rows(static_cast<const char*>(wc.data_ptr()), ip, count, D * itemsize(wc.dtype()),
              static_cast<char*>(out.data_ptr()));
  Shape wshape = wc.shape();
  out = attach("embedding", out, {w}, {ids}, [ids, count, D, pad, wshape](const Tensor& g, const std::vector<bool>&) {
    Tensor gc = contiguous(detach(g));
    Tensor dw = zeros(wshape, gc.dtype());
    dispatch_float(gc.dtype(), "embedding", [&](auto tag) {
      using T = decltype(tag);
      scatter_add_rows<T>(gc.data<T>(), ids.data<int64_t>(), count, D, pad, dw.data<T>());
    });
    return Grads{second_order_guard("embedding", dw, {g})};
  });
  return to_dtype(out, weight.dtype());
}

Tensor dropout(const Tensor& x, double p, bool training) {
  if (!(p >= 0.0 && p <= 1.0)) value_error("dropout: probability p must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;
  Tensor xf = nn::float_operand(x, "dropout", "input");
  // The keep mask comes from core's generator (rand), so core.manual_seed makes it reproducible.
  Tensor u = rand(xf.shape(), DType::Float64);
  Tensor scaled = empty(xf.shape(), xf.dtype());
  const double keep = 1.0 - p, inv = p < 1.0 ? 1.0 / keep : 0.0;
  dispatch_float(xf.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const double* up = u.data<double>();
    T* sp = scaled.data<T>();
    const int64_t n = u.numel();
    cpu::parallel_for(n, 16384, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) sp[i] = up[i] < keep ? static_cast<T>(inv) : T(0);
    });
  });
  return to_dtype(mul(xf, scaled), x.dtype());
}

namespace {

// Source index along one dim for each output position of a reflect / replicate / circular pad.
std::vector<int64_t> pad_source(int64_t n, int64_t before, int64_t after, const std::string& mode) {
  std::vector<int64_t> idx(n + before + after);
  for (int64_t o = 0; o < static_cast<int64_t>(idx.size()); ++o) {
    int64_t i = o - before;
    if (mode == "reflect") {
      if (i < 0) i = -i;
      if (i >= n) i = 2 * (n - 1) - i;
    } else if (mode == "replicate") {
      i = std::min(std::max<int64_t>(i, 0), n - 1);
    } else {
      i = ((i % n) + n) % n;
    }
    idx[o] = i;
  }
  return idx;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode, double value) {
  const int64_t nd = x.dim(), np = static_cast<int64_t>(pads.size());
  if (np % 2 != 0 || np > 2 * nd)
    value_error("pad: the padding list must have an even length of at most 2 * ndim = ", 2 * nd, " for input of shape ",
                shape_str(x.shape()), ", got ", shape_str(pads));
  if (mode != "constant" && mode != "reflect" && mode != "replicate" && mode != "circular")
    value_error("pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got '", mode, "'");
  Shape out_shape = x.shape();
  for (int64_t k = 0; k < np / 2; ++k) {
    const int64_t d = nd - 1 - k, before = pads[2 * k], after = pads[2 * k + 1], n = x.shape()[d];
    out_shape[d] = n + before + after;
    if (out_shape[d] < 0)
      value_error("pad: padding ", shape_str(pads), " makes dimension ", d, " of input of shape ",
                  shape_str(x.shape()), " negative (", out_shape[d], ")");
    if (mode == "constant") continue;
    if (before < 0 || after < 0) value_error("pad: negative padding is only supported in 'constant' mode");
    if (mode == "reflect" && (before >= n || after >= n))
      value_error("pad: reflect padding ", shape_str(pads), " must be smaller than dimension ", d,
                  " of input of shape ",
                  shape_str(x.shape()));
    if (mode == "circular" && (before > n || after > n))
      value_error("pad: circular padding ", shape_str(pads), " must be at most dimension ", d, " of input of shape ",
                  shape_str(x.shape()));
    if (n == 0 && (before > 0 || after > 0))
      value_error("pad: cannot ", mode, "-pad dimension ", d, " of size 0 (input of shape ", shape_str(x.shape()), ")");
  }
  if (mode != "constant") {
    Tensor y = x;
    for (int64_t k = 0; k < np / 2; ++k) {
      const int64_t d = nd - 1 - k;
      if (pads[2 * k] == 0 && pads[2 * k + 1] == 0) continue;
      std::vector<int64_t> src = pad_source(x.shape()[d], pads[2 * k], pads[2 * k + 1], mode);
      Tensor idx = empty({static_cast<int64_t>(src.size())}, DType::Int64);
      std::memcpy(idx.data_ptr(), src.data(), src.size() * sizeof(int64_t));
      y = index_select(y, d, idx);
    }
    return y;
  }
  Tensor out = full(out_shape, value, x.dtype());
  {
    // Copy the part of x that survives (negative pads crop) into its place in out.
    NoGradGuard ng;
    Tensor dst = detach(out), src = detach(x);
    bool empty_region = false;
    for (int64_t k = 0; k < np / 2; ++k) {
      const int64_t d = nd - 1 - k, before = pads[2 * k], after = pads[2 * k + 1];
      const int64_t len = x.shape()[d] - std::max<int64_t>(-before, 0) - std::max<int64_t>(-after, 0);
      if (len <= 0) {
        empty_region = true;
        break;
      }
      dst = narrow(dst, d, std::max<int64_t>(before, 0), len);
      src = narrow(src, d, std::max<int64_t>(-before, 0), len);
    }
    if (!empty_region) copy_(dst, src);
  }
  if (!is_floating(x.dtype())) return out;
  std::vector<int64_t> back(pads);
  for (int64_t& v : back) v = -v;
  return attach("pad", out, {x}, {}, [back](const Tensor& g, const std::vector<bool>&) {
    return nn::Grads{pad(g, back, "constant", 0.0)};
  });
}

Tensor one_hot(const Tensor& t, int64_t num_classes) {
  Tensor ids = nn::index_operand(t, "one_hot", "tensor");
  const int64_t* ip = ids.data<int64_t>();
  const int64_t n = ids.numel();
  if (num_classes < -1) value_error("one_hot: num_classes must be -1 or non-negative, got ", num_classes);
  if (num_classes == -1) {
    if (n == 0) value_error("one_hot: cannot infer num_classes from an empty tensor; pass num_classes");
    num_classes = 0;
    for (int64_t i = 0; i < n; ++i) num_classes = std::max(num_classes, ip[i] + 1);
  }
  for (int64_t i = 0; i < n; ++i)
    if (ip[i] < 0 || ip[i] >= num_classes)
      index_error("one_hot: class value ", ip[i], " is out of range for ", num_classes, " classes");
  Shape shape = t.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, DType::Int64);
  int64_t* o = out.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) o[i * num_classes + ip[i]] = 1;
  return out;
}

}  // namespace zh
