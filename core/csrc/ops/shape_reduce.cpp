// cumsum, cumprod, var, std and logsumexp. var/std are two-pass (mean first, then squared deviations summed in
// double); logsumexp subtracts the row maximum before exp so large inputs do not overflow. Each forward runs
// without recording and attaches one node whose backward is written here in differentiable ops.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/autograd.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"
#include "ops/ops_shape.h"

namespace zh {

ZH_REGISTER_OPS(true, "cumsum", "cumprod", "var", "std", "logsumexp");

using Grads = std::vector<Tensor>;

namespace {

struct Reduced {
  int64_t count = 1;  // elements per reduced row
  Shape keep_shape;   // reduced dims kept as 1
  Shape out_shape;    // honouring keepdim
};

Reduced reduced_shape(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  const int64_t n = t.dim();
  std::vector<bool> red(std::max<int64_t>(n, 1), dims.empty());
  std::vector<bool> seen(red.size(), false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, n, op);
    if (seen[w]) value_error(op, ": dimension ", w, " appears more than once in the list of dims");
    seen[w] = red[w] = true;
  }
  Reduced r;
  for (int64_t i = 0; i < n; ++i) {
    if (red[i]) {
      r.count *= t.shape()[i];
      r.keep_shape.push_back(1);
      if (keepdim) r.out_shape.push_back(1);
    } else {
      r.keep_shape.push_back(t.shape()[i]);
      r.out_shape.push_back(t.shape()[i]);
    }
  }
  return r;
}

}  // namespace

namespace {

// Calls f(base) for every row along a's dim (the elements base + j * a.inner, j < a.size), rows split over threads.
template <typename F>
void for_each_row(const AlongDim& a, F f) {
  cpu::parallel_for(a.outer * a.inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(a.size, 1)),
                    [&](int64_t b, int64_t e) {
                      for (int64_t r = b; r < e; ++r) f((r / a.inner) * a.size * a.inner + r % a.inner);
                    });
}

// The running sum (Product: product) of the contiguous xc along a's dim: floats accumulate in double, integers in
// 64 bits wrapping around as PyTorch's do; a bool result is whether the running value is nonzero.
template <bool Product>
Tensor running(const Tensor& xc, const AlongDim& a) {
  Tensor out = empty(xc.shape(), xc.dtype());
  dispatch_compute(xc.dtype(), Product ? "cumprod" : "cumsum", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;
    const T* xp = xc.data<T>();
    T* op = out.data<T>();
    for_each_row(a, [&](int64_t base) {
      Acc acc = Product ? 1 : 0;
      for (int64_t j = 0; j < a.size; ++j) {
        const Acc v = static_cast<Acc>(xp[base + j * a.inner]);
        acc = Product ? acc * v : acc + v;
        if constexpr (std::is_same_v<T, uint8_t>) op[base + j * a.inner] = acc != 0;
        else op[base + j * a.inner] = static_cast<T>(acc);
      }
    });
  });
  return out;
}

// cumsum's and cumprod's result dtype: dtype if given, else the input's if floating, else int64.
DType scan_result(const Tensor& t, std::optional<DType> dtype) {
  return dtype ? *dtype : (is_floating(t.dtype()) ? t.dtype() : DType::Int64);
}

}  // namespace

Tensor cumsum(const Tensor& t, int64_t dim, std::optional<DType> dtype) {
  const AlongDim a = along_dim(t.shape(), dim, "cumsum");
  const DType result = scan_result(t, dtype);
  Tensor x = to_dtype(t, compute_dtype(result));
  Tensor out = running<false>(contiguous(detach(x)), a);
  const int64_t d = a.dim;
  out = attach("cumsum", out, {x}, {}, [d](const Tensor& g, const std::vector<bool>&) {
    // Each input feeds every later output: the gradient is a cumsum from the end.
    if (g.dim() == 0) return Grads{g};
    return Grads{flip(cumsum(flip(g, {d}), d, std::nullopt), {d})};
  });
  return to_dtype(out, result);
}

namespace {

// cumprod's backward along one row of n elements (stride `step`): input gradient i is the sum over j >= i of g_j
// times the product of x_0..x_j without x_i. Before the first zero that is (sum_{j>=i} g_j y_j) / x_i; at the first
// zero k it is y_{k-1} times sum_{j>=k} g_j x_{k+1}..x_j, computed directly; after k every such product holds the
// zero, so the gradient is 0. Exact with zeros, where dividing by x would give NaN.
template <typename T>
void cumprod_backward_row(const T* x, const T* y, const T* g, T* gx, int64_t n, int64_t step) {
  int64_t k = 0;
  while (k < n && x[k * step] != T(0)) ++k;
  double suffix = 0;
  for (int64_t j = k - 1; j >= 0; --j) {
    suffix += static_cast<double>(g[j * step]) * static_cast<double>(y[j * step]);
    gx[j * step] = static_cast<T>(suffix / static_cast<double>(x[j * step]));
  }
  if (k == n) return;
  double run = 1, acc = 0;
  for (int64_t j = k; j < n; ++j) {
    if (j > k) run *= static_cast<double>(x[j * step]);
    acc += static_cast<double>(g[j * step]) * run;
  }
  gx[k * step] = static_cast<T>((k == 0 ? 1.0 : static_cast<double>(y[(k - 1) * step])) * acc);
  for (int64_t j = k + 1; j < n; ++j) gx[j * step] = T(0);
}

}  // namespace

Tensor cumprod(const Tensor& t, int64_t dim, std::optional<DType> dtype) {
  const AlongDim a = along_dim(t.shape(), dim, "cumprod");
  const DType result = scan_result(t, dtype);
  Tensor x = to_dtype(t, compute_dtype(result));
  Tensor xc = contiguous(detach(x));
  Tensor out = running<true>(xc, a);
  const AlongDim along = a;
  Tensor res = detach(out);
  out = attach("cumprod", out, {x}, {x, out}, [x, xc, res, along](const Tensor& g, const std::vector<bool>&) {
    Tensor gc = contiguous(g);
    Tensor gx = empty(xc.shape(), xc.dtype());
    dispatch_float(xc.dtype(), "cumprod", [&](auto tag) {
      using T = decltype(tag);
      const T *xp = xc.data<T>(), *yp = res.data<T>(), *gp = gc.data<T>();
      T* op = gx.data<T>();
      for_each_row(along, [&](int64_t base) {
        cumprod_backward_row(xp + base, yp + base, gp + base, op + base, along.size, along.inner);
      });
    });
    // the loop above is invisible to autograd
    return Grads{second_order_unsupported("cumprod", gx, {x})};
  });
  return to_dtype(out, result);
}

namespace {

// What var and std share: x in the compute dtype, its deviation from the mean, the (ungraded) variance, the
// kept-dims shape the backward broadcasts through, and the degrees of freedom.
struct Variance {
  Tensor x, dev, var;
  Shape keep;
  double dof;
  std::vector<int64_t> dims;
};

// The deviations as the backward uses them: the kept ones, or under create_graph (grad mode on inside the
// backward) recomputed from x so that the gradient is differentiable in x.
Tensor live_dev(const Tensor& x, const Tensor& dev, const std::vector<int64_t>& dims) {
  return GradMode::enabled() && x.requires_grad() ? sub(x, mean(x, dims, true)) : dev;
}

Variance variance(const Tensor& t, const std::vector<int64_t>& dims, double correction, bool keepdim,
                  const char* op) {
  if (!is_floating(t.dtype()))
    type_error(op, ": expected a floating point tensor, got ", dtype_name(t.dtype()), "; convert it with .float()");
  const Reduced r = reduced_shape(t, dims, keepdim, op);
  Variance v;
  v.dof = std::max(0.0, static_cast<double>(r.count) - correction);
  v.keep = r.keep_shape;
  v.x = to_dtype(t, compute_dtype(t.dtype()));
  v.dims = dims;
  NoGradGuard ng;
  v.dev = sub(v.x, mean(v.x, dims, true));
  v.var = div(sum(mul(v.dev, v.dev), dims, keepdim), wrapped_scalar(v.dof, DType::Float64));
  return v;
}

}  // namespace

Tensor var(const Tensor& t, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  const Variance v = variance(t, dims, correction, keepdim, "var");
  // the backward reads only the deviations, which no one else holds
  Tensor out = attach("var", v.var, {v.x}, {}, [x = v.x, dims = v.dims, dev = v.dev, keep = v.keep,
                                                 dof = v.dof](const Tensor& g, const std::vector<bool>&) {
    return Grads{mul(live_dev(x, dev, dims),
                     reshape(div(mul_scalar(g, 2.0), wrapped_scalar(dof, DType::Float64)), keep))};
  });
  return to_dtype(out, t.dtype());
}

Tensor std_dev(const Tensor& t, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  const Variance v = variance(t, dims, correction, keepdim, "std");
  Tensor out;
  {
    NoGradGuard ng;
    out = sqrt(v.var);
  }
  Tensor res = detach(out);
  // the deviations are the op's own; the output is the caller's
  out = attach("std", out, {v.x}, {out}, [x = v.x, dims = v.dims, dev = v.dev, keep = v.keep, dof = v.dof,
                                           res](const Tensor& g, const std::vector<bool>&) {
    // d std = (x - mean) / (dof * std); zero where std is zero, as in PyTorch.
    Tensor scale = div(g, mul_scalar(saved_output(res), dof));
    scale = masked_fill(scale, eq(res, wrapped_scalar(0, DType::Float64)), wrapped_scalar(0, DType::Float64));
    return Grads{mul(live_dev(x, dev, dims), reshape(scale, keep))};
  });
  return to_dtype(out, t.dtype());
}

Tensor logsumexp(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim) {
  const DType ft = is_floating(t.dtype()) ? t.dtype() : DType::Float32;
  const Reduced r = reduced_shape(t, dims, keepdim, "logsumexp");
  Tensor x = to_dtype(t, compute_dtype(ft));
  Tensor out;
  {
    NoGradGuard ng;
    if (r.count == 0) {
      out = full(r.out_shape, -std::numeric_limits<double>::infinity(), x.dtype());
    } else {
      Tensor m = amax(x, dims, true);
      // An infinite maximum would turn x - m into NaN; shifting by 0 there gives the right +-inf.
      Tensor inf = wrapped_scalar(std::numeric_limits<double>::infinity(), DType::Float64);
      m = masked_fill(m, eq(abs(m), inf), wrapped_scalar(0, DType::Float64));
      out = reshape(add(log(sum(exp(sub(x, m)), dims, true)), m), r.out_shape);
    }
  }
  Shape keep = r.keep_shape;
  Tensor res = detach(out);
  // x itself and the output rebuilt by saved_output: differentiable again under create_graph
  out = attach("logsumexp", out, {x}, {x, out}, [x, res, keep](const Tensor& g, const std::vector<bool>&) {
    return Grads{mul(exp(sub(x, reshape(saved_output(res), keep))), reshape(g, keep))};
  });
  return to_dtype(out, ft);
}

}  // namespace zh
