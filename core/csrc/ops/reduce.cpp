// Reductions. The reduced dims are moved last and made contiguous, so every reduction is a loop over
// rows of a 2-d [kept, reduced] layout, parallel over the rows; float sums accumulate in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>

#include "autograd/autograd.h"
#include "kernels/rowops.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"

namespace zh {

ZH_REGISTER_OPS(true, "sum", "mean", "amax", "amin", "max", "min", "prod", "vector_norm");
ZH_REGISTER_OPS(false, "argmax", "argmin", "any", "all");

using Grads = std::vector<Tensor>;

namespace {

struct Rows {
  Tensor data;           // contiguous, viewed as [outer, inner]
  int64_t outer, inner;
  Shape out_shape;       // result shape honouring keepdim
  Shape keep_shape;      // result shape with reduced dims kept as 1 (for broadcasting gradients back)
  std::vector<bool> reduced;
};

Rows to_rows(const Tensor& t, const std::vector<int64_t>& dims_in, bool keepdim, const char* op) {
  const int64_t n = t.dim();
  Rows r;
  r.reduced.assign(n, dims_in.empty());
  for (int64_t d : dims_in) {
    int64_t w = wrap_dim(d, n, op);
    if (n > 0 && r.reduced[w] && !dims_in.empty())
      value_error(op, ": dimension ", w, " appears more than once in the list of dims");
    if (n > 0) r.reduced[w] = true;
  }
  std::vector<int64_t> perm;
  r.outer = 1;
  r.inner = 1;
  for (int64_t i = 0; i < n; ++i)
    if (!r.reduced[i]) {
      perm.push_back(i);
      r.outer *= t.shape()[i];
      r.out_shape.push_back(t.shape()[i]);
      r.keep_shape.push_back(t.shape()[i]);
    } else {
      if (keepdim) r.out_shape.push_back(1);
      r.keep_shape.push_back(1);
    }
  for (int64_t i = 0; i < n; ++i)
    if (r.reduced[i]) {
      perm.push_back(i);
      r.inner *= t.shape()[i];
    }
  if (keepdim) r.out_shape = r.keep_shape;
  NoGradGuard ng;
  r.data = contiguous(permute(t, perm));
  return r;
}

template <typename Acc, typename T, typename Init, typename Step, typename Fin>
void reduce_rows(const Rows& r, const Tensor& out, Init init, Step step, Fin fin) {
  const T* x = r.data.data<T>();
  auto* o = static_cast<char*>(out.data_ptr());
  const int64_t inner = r.inner;
  cpu::parallel_for(r.outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      Acc acc = init();
      const T* row = x + i * inner;
      for (int64_t j = 0; j < inner; ++j) step(acc, row[j], j);
      fin(acc, o, i);
    }
  });
}

DType sum_dtype(DType t) { return is_floating(t) ? t : DType::Int64; }

}  // namespace

Tensor sum(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim, std::optional<DType> dtype) {
  DType result = dtype ? *dtype : sum_dtype(t.dtype());
  DType ct = compute_dtype(result);
  Tensor x = to_dtype(t, ct);
  Rows r = to_rows(x, dims, keepdim, "sum");
  Tensor out = empty(r.out_shape, ct);
  dispatch_compute(ct, "sum", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>) {
      // Vectorised: float lanes within 1024-element blocks, blocks added in double.
      if (r.outer == 1) out.data<float>()[0] = static_cast<float>(cpu::sum(r.data.data<float>(), r.inner));
      else cpu::sum_rows(r.data.data<float>(), r.inner, r.outer, r.inner, out.data<float>());
      return;
    }
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    reduce_rows<Acc, T>(
        r, out, [] { return Acc(0); }, [](Acc& a, T v, int64_t) { a += static_cast<Acc>(v); },
        [](Acc& a, char* o, int64_t i) { reinterpret_cast<T*>(o)[i] = static_cast<T>(a); });
  });
  Shape in_shape = x.shape(), keep = r.keep_shape;
  out = attach("sum", out, {x}, {}, [in_shape, keep](const Tensor& g, const std::vector<bool>&) {
    return Grads{contiguous(expand(reshape(g, keep), in_shape))};
  });
  return to_dtype(out, result);
}

Tensor mean(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim) {
  if (!is_floating(t.dtype()))
    type_error("mean: expected a floating point tensor, got ", dtype_name(t.dtype()), "; convert it with .float()");
  // Sum and divide in the compute dtype: a float16 sum of 70000 ones is inf, their mean is 1.
  Tensor s = sum(t, dims, keepdim, compute_dtype(t.dtype()));
  const int64_t count = s.numel() > 0 ? t.numel() / s.numel() : 0;
  return to_dtype(mul_scalar(s, count == 0 ? NAN : 1.0 / static_cast<double>(count)), t.dtype());
}

namespace {

template <bool IsMax>
Tensor extreme(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  if (t.numel() == 0 && dims.empty())
    value_error(op, ": cannot reduce an empty tensor of shape ", shape_str(t.shape()), " to one value; pass dim");
  DType ct = compute_dtype(t.dtype());
  Tensor x = to_dtype(t, ct);
  Rows r = to_rows(x, dims, keepdim, op);
  // Reducing only non-empty dims of an empty tensor is fine (the result is empty), as in PyTorch.
  for (int64_t i = 0; i < x.dim(); ++i)
    if (r.reduced[i] && x.shape()[i] == 0)
      value_error(op, ": cannot reduce dimension ", i, " of size 0 (shape ", shape_str(x.shape()), ")");
  Tensor out = empty(r.out_shape, ct);
  dispatch_compute(ct, op, [&](auto tag) {
    using T = decltype(tag);
    reduce_rows<T, T>(
        r, out, [] { return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max(); },
        [](T& a, T v, int64_t j) {
          if (j == 0 || v != v || (IsMax ? v > a : v < a)) {
            if (!(a != a) || j == 0) a = v;  // NaN wins and stays
          }
        },
        [](T& a, char* o, int64_t i) { reinterpret_cast<T*>(o)[i] = a; });
  });
  Tensor res = detach(out), xd = detach(x);
  Shape keep = r.keep_shape, in_shape = x.shape();
  out = attach(op, out, {x}, {x, out}, [res, xd, keep, in_shape](const Tensor& g, const std::vector<bool>&) {
    // Evenly split among the positions that hold the extreme value.
    Tensor hit = to_dtype(eq(xd, reshape(res, keep)), g.dtype());
    Tensor cnt = sum_to_shape(hit, keep);
    return Grads{div(mul(hit, reshape(g, keep)), cnt)};
  });
  return to_dtype(out, t.dtype());
}

template <bool IsMax>
std::pair<Tensor, Tensor> extreme_dim(const Tensor& t, int64_t dim, bool keepdim, const char* op) {
  DType ct = compute_dtype(t.dtype());
  Tensor x = to_dtype(t, ct);
  int64_t d = wrap_dim(dim, x.dim(), op);
  if (x.dim() > 0 && x.shape()[d] == 0)
    value_error(op, ": cannot reduce dimension ", d, " of size 0 (shape ", shape_str(x.shape()), ")");
  Rows r = to_rows(x, {d}, keepdim, op);
  Tensor values = empty(r.out_shape, ct), indices = empty(r.out_shape, DType::Int64);
  int64_t* idx = indices.data<int64_t>();
  dispatch_compute(ct, op, [&](auto tag) {
    using T = decltype(tag);
    struct Acc { T v; int64_t i; };
    reduce_rows<Acc, T>(
        r, values, [] { return Acc{T(0), -1}; },
        [](Acc& a, T v, int64_t j) {
          if (a.i < 0 || (!(a.v != a.v) && (v != v || (IsMax ? v > a.v : v < a.v)))) a = Acc{v, j};
        },
        [idx](Acc& a, char* o, int64_t i) {
          reinterpret_cast<T*>(o)[i] = a.v;
          idx[i] = a.i < 0 ? 0 : a.i;
        });
  });
  Tensor id = detach(indices);
  Shape keep = r.keep_shape, in_shape = x.shape();
  values = attach(op, values, {x}, {indices}, [id, keep, in_shape, d](const Tensor& g, const std::vector<bool>&) {
    // Scatter g into the arg positions: compare each position's index along d with the winning index.
    Shape ar(in_shape.size(), 1);
    const int64_t n = in_shape.empty() ? 1 : in_shape[d];  // a 0-d input has no dim d
    if (!in_shape.empty()) ar[d] = n;
    Tensor pos = reshape(arange(0, static_cast<double>(n), 1, DType::Int64), ar);
    Tensor hit = to_dtype(eq(pos, reshape(id, keep)), g.dtype());
    return Grads{mul(hit, reshape(g, keep))};
  });
  return {to_dtype(values, t.dtype()), indices};
}

template <bool IsMax>
Tensor arg_extreme(const Tensor& t, std::optional<int64_t> dim, bool keepdim, const char* op) {
  if (t.dtype() == DType::Bool)
    type_error(op, ": not supported for bool tensors, as in PyTorch; convert first, e.g. t.int()");
  NoGradGuard ng;
  if (!dim) {
    if (t.numel() == 0) value_error(op, ": cannot reduce an empty tensor");
    Tensor flat = reshape(t, {t.numel()});
    Tensor i = extreme_dim<IsMax>(flat, 0, false, op).second;
    if (keepdim) return reshape(i, Shape(t.dim(), 1));
    return i;
  }
  return extreme_dim<IsMax>(t, *dim, keepdim, op).second;
}

}  // namespace

Tensor amax(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme<true>(t, dims, keepdim, "amax");
}
Tensor amin(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme<false>(t, dims, keepdim, "amin");
}
std::pair<Tensor, Tensor> max_dim(const Tensor& t, int64_t dim, bool keepdim) {
  return extreme_dim<true>(t, dim, keepdim, "max");
}
std::pair<Tensor, Tensor> min_dim(const Tensor& t, int64_t dim, bool keepdim) {
  return extreme_dim<false>(t, dim, keepdim, "min");
}
Tensor argmax(const Tensor& t, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme<true>(t, dim, keepdim, "argmax");
}
Tensor argmin(const Tensor& t, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme<false>(t, dim, keepdim, "argmin");
}

Tensor prod(const Tensor& t, std::optional<int64_t> dim, bool keepdim) {
  DType result = is_floating(t.dtype()) ? t.dtype() : DType::Int64;
  DType ct = compute_dtype(result);
  Tensor x = to_dtype(t, ct);
  std::vector<int64_t> dims;
  if (dim) dims.push_back(*dim);
  Rows r = to_rows(x, dims, dim ? keepdim : false, "prod");
  Tensor out = empty(r.out_shape, ct);
  dispatch_compute(ct, "prod", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    reduce_rows<Acc, T>(
        r, out, [] { return Acc(1); }, [](Acc& a, T v, int64_t) { a *= static_cast<Acc>(v); },
        [](Acc& a, char* o, int64_t i) { reinterpret_cast<T*>(o)[i] = static_cast<T>(a); });
  });
  Tensor xd = detach(x);
  Shape keep = r.keep_shape;
  std::vector<int64_t> red;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (r.reduced[i]) red.push_back(i);
  out = attach("prod", out, {x}, {x}, [x, xd, keep, red](const Tensor& g, const std::vector<bool>&) {
    // d prod / d x_i = product of the others: prefix and suffix products along the reduced row, exact with zeros.
    Rows rr = to_rows(xd, red, true, "prod");
    Tensor others = empty({rr.outer, rr.inner}, xd.dtype());
    dispatch_float(xd.dtype(), "prod", [&](auto tag) {
      using T = decltype(tag);
      const T* src = rr.data.data<T>();
      T* dst = others.data<T>();
      for (int64_t i = 0; i < rr.outer; ++i) {
        const T* row = src + i * rr.inner;
        T* o = dst + i * rr.inner;
        T acc = 1;
        for (int64_t j = 0; j < rr.inner; ++j) { o[j] = acc; acc *= row[j]; }
        acc = 1;
        for (int64_t j = rr.inner - 1; j >= 0; --j) { o[j] *= acc; acc *= row[j]; }
      }
    });
    // others is laid out [kept..., reduced...]; move the reduced dims back into place.
    Shape permuted_shape;
    std::vector<int64_t> order;
    for (int64_t i = 0; i < xd.dim(); ++i) if (!rr.reduced[i]) { order.push_back(i); permuted_shape.push_back(xd.shape()[i]); }
    for (int64_t i = 0; i < xd.dim(); ++i) if (rr.reduced[i]) { order.push_back(i); permuted_shape.push_back(xd.shape()[i]); }
    std::vector<int64_t> inv(order.size());
    for (size_t i = 0; i < order.size(); ++i) inv[order[i]] = static_cast<int64_t>(i);
    Tensor back = permute(reshape(others, permuted_shape), inv);
    // the products of the others come from the loop above, which autograd does not see
    return Grads{mul(second_order_unsupported("prod", back, {x}), reshape(g, keep))};
  });
  return to_dtype(out, result);
}

namespace {

std::string ord_str(double ord) {
  if (std::isinf(ord)) return ord > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << ord;
  return os.str();
}

// d norm / d x_i = sign(x_i) |x_i|^(ord-1) / norm^(ord-1), in differentiable ops; zero where the norm is zero and,
// for ord < 1, where x_i is zero (there |x_i|^(ord-1) is infinite), as in PyTorch.
Tensor norm_backward(const Tensor& x, const Tensor& norm, const Tensor& g, double ord) {
  const Tensor zero = wrapped_scalar(0, DType::Float64);
  if (ord == 0) return zeros_like(x);  // a count of nonzeros: piecewise constant
  if (ord == 1) return mul(sign(x), g);
  if (std::isinf(ord)) {
    // max / min of |x|: the gradient is split evenly among the positions that hold it
    Tensor hit = to_dtype(eq(abs(x), norm), g.dtype());
    return mul(mul(sign(x), hit), div(g, sum_to_shape(hit, norm.shape())));
  }
  if (ord == 2) return mul(x, masked_fill(div(g, norm), eq(norm, zero), zero));
  Tensor scaled = masked_fill(mul(sign(x), pow_scalar(abs(x), ord - 1)), eq(x, zero), zero);
  return mul(scaled, masked_fill(mul(g, pow_scalar(norm, 1 - ord)), eq(norm, zero), zero));
}

}  // namespace

Tensor vector_norm(const Tensor& t, double ord, const std::vector<int64_t>& dims, bool keepdim) {
  if (!is_floating(t.dtype()))
    type_error("vector_norm: expected a floating point tensor, got ", dtype_name(t.dtype()),
               "; convert it with .float()");
  const DType ct = compute_dtype(t.dtype());
  Tensor x = to_dtype(t, ct);
  Rows r = to_rows(x, dims, keepdim, "vector_norm");
  if (ord < 0 || std::isinf(ord)) {  // these have no value for no elements (no identity), as in PyTorch
    for (int64_t i = 0; i < x.dim(); ++i)
      if (r.reduced[i] && x.shape()[i] == 0)
        value_error("vector_norm: the ", ord_str(ord), " norm of an empty dimension is undefined (dimension ", i,
                    " of shape ", shape_str(x.shape()), "); reduce only non-empty dimensions");
  }
  Tensor out = empty(r.out_shape, ct);
  dispatch_float(ct, "vector_norm", [&](auto tag) {
    using T = decltype(tag);
    auto store = [](double& a, char* o, int64_t i) { reinterpret_cast<T*>(o)[i] = static_cast<T>(a); };
    auto zero = [] { return 0.0; };
    if (std::isinf(ord)) {
      const bool largest = ord > 0;
      reduce_rows<double, T>(
          r, out, [largest] { return largest ? 0.0 : std::numeric_limits<double>::infinity(); },
          [largest](double& a, T v, int64_t) {
            const double m = std::fabs(static_cast<double>(v));
            if (!std::isnan(a) && (largest ? !(m <= a) : !(m >= a))) a = m;  // NaN wins and stays
          },
          store);
    } else if (ord == 0) {
      reduce_rows<double, T>(r, out, zero, [](double& a, T v, int64_t) { a += v != T(0); }, store);
    } else if (ord == 1) {
      reduce_rows<double, T>(r, out, zero, [](double& a, T v, int64_t) { a += std::fabs(static_cast<double>(v)); },
                             store);
    } else if (ord == 2) {
      reduce_rows<double, T>(
          r, out, zero, [](double& a, T v, int64_t) { a += static_cast<double>(v) * static_cast<double>(v); },
          [](double& a, char* o, int64_t i) { reinterpret_cast<T*>(o)[i] = static_cast<T>(std::sqrt(a)); });
    } else {
      reduce_rows<double, T>(
          r, out, zero, [ord](double& a, T v, int64_t) { a += std::pow(std::fabs(static_cast<double>(v)), ord); },
          [ord](double& a, char* o, int64_t i) { reinterpret_cast<T*>(o)[i] = static_cast<T>(std::pow(a, 1 / ord)); });
    }
  });
  Tensor res = detach(out);
  Shape keep = r.keep_shape;
  // x itself and the output rebuilt by saved_output: differentiable again under create_graph
  out = attach("vector_norm", out, {x}, {x, out}, [x, res, keep, ord](const Tensor& g, const std::vector<bool>&) {
    return Grads{norm_backward(x, reshape(saved_output(res), keep), reshape(g, keep), ord)};
  });
  return to_dtype(out, t.dtype());
}

namespace {
template <bool IsAll>
Tensor logical_reduce(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  Tensor b = t.dtype() == DType::Bool ? t : ne(t, wrapped_scalar(0, DType::Int64));
  Rows r = to_rows(b, dims, keepdim, op);
  Tensor out = empty(r.out_shape, DType::Bool);
  reduce_rows<uint8_t, uint8_t>(
      r, out, [] { return uint8_t(IsAll ? 1 : 0); },
      [](uint8_t& a, uint8_t v, int64_t) { a = IsAll ? (a && v) : (a || v); },
      [](uint8_t& a, char* o, int64_t i) { reinterpret_cast<uint8_t*>(o)[i] = a; });
  return out;
}
}  // namespace

Tensor any(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim) {
  return logical_reduce<false>(t, dims, keepdim, "any");
}
Tensor all(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim) {
  return logical_reduce<true>(t, dims, keepdim, "all");
}

}  // namespace zh
