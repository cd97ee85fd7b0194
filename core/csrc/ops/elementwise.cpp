// Unary and binary elementwise ops. Binary ops promote types and broadcast with explicit expands first,
// so each kernel and each backward only sees operands of one dtype and one shape.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/autograd.h"
#include "kernels/rowops.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"

namespace zh {

ZH_REGISTER_OPS(true, "neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
                "gelu", "silu", "erf", "clamp", "pow_scalar", "add", "sub", "mul", "div", "pow", "maximum", "minimum",
                "where", "masked_fill", "floor", "ceil", "round", "trunc", "remainder", "fmod", "sign");
ZH_REGISTER_OPS(false, "floor_divide", "logical_not", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or");

using Grads = std::vector<Tensor>;

// ---------------------------------------------------------------------------------------------- dtypes
namespace {
// A wrapped Python number counts as the default dtype of its category.
DType wrapped_dtype(DType t) { return t == DType::Float64 || t == DType::Float32 ? DType::Float32 : t; }
DType combine(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return *lower;
  if (!lower) return *higher;
  if (is_floating(*higher)) return *higher;
  if (*higher == DType::Bool || is_floating(*lower)) return promote(*higher, *lower);
  return *higher;
}
}  // namespace

DType result_type(const std::vector<Tensor>& ts) {
  std::optional<DType> dim, zero, wrapped;
  auto acc = [](std::optional<DType>& r, DType t) { r = r ? promote(*r, t) : t; };
  for (const Tensor& t : ts) {
    if (t.is_wrapped_number()) acc(wrapped, wrapped_dtype(t.dtype()));
    else if (t.dim() == 0) acc(zero, t.dtype());
    else acc(dim, t.dtype());
  }
  if (!zero && !wrapped) {
    if (!dim) throw std::logic_error("internal: result_type of no operands");
    return *dim;
  }
  const DType low = combine(zero, wrapped);
  return dim ? combine(dim, low) : low;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (x != y && x != 1 && y != 1)
      value_error(op, ": shapes ", shape_str(a), " and ", shape_str(b), " cannot be broadcast together (dimension ",
                  static_cast<int64_t>(i) - static_cast<int64_t>(n), ": ", x, " vs ", y, ")");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- unary
namespace {

struct Unary {
  Tensor in;   // input cast to the compute dtype (graph input)
  Tensor out;  // result in the compute dtype
  DType result;
};

// Float-valued unary op: integer inputs compute in float32; half types compute in float32. Contiguous float32
// inputs go to the vectorised kernel `fast` when the op has one.
template <typename F>
Unary unary_float(const Tensor& x, const char* name, F f, std::optional<cpu::UnaryOp> fast = std::nullopt) {
  DType result = is_floating(x.dtype()) ? x.dtype() : DType::Float32;
  DType ct = compute_dtype(result);
  Tensor in = to_dtype(x, ct);
  Tensor out = empty(x.shape(), ct);
  if (fast && ct == DType::Float32 && in.is_contiguous()) {
    cpu::unary(*fast, in.data<float>(), out.data<float>(), in.numel());
    return {in, out, result};
  }
  dispatch_float(ct, name, [&](auto tag) {
    using T = decltype(tag);
    map1<T, T>(in, out, [&](T v) { return static_cast<T>(f(v)); });
  });
  return {in, out, result};
}

// Same-dtype unary op over every numeric dtype (neg, abs, relu, sign).
template <typename F>
Unary unary_same(const Tensor& x, const char* name, F f) {
  if (x.dtype() == DType::Bool) type_error(name, ": not supported for bool tensors");
  DType ct = compute_dtype(x.dtype());
  Tensor in = to_dtype(x, ct);
  Tensor out = empty(x.shape(), ct);
  dispatch_compute(ct, name, [&](auto tag) {
    using T = decltype(tag);
    map1<T, T>(in, out, [&](T v) { return static_cast<T>(f(v)); });
  });
  return {in, out, x.dtype()};
}

Tensor finish(const Unary& u) { return to_dtype(u.out, u.result); }

// What a unary op's derivative reads: d gets that one (the other is undefined) and the node records its version.
enum class Reads { Nothing, Input, Output };

// d is written with differentiable ops, so under create_graph (grad mode on inside the backward) its result
// connects back to the graph: x is the input itself (it does not point at this node, so no cycle), y the
// output rebuilt by saved_output (the closure keeps only a detached copy of it).
Tensor record1(const char* name, const Unary& u, Reads reads,
               std::function<Tensor(const Tensor& g, const Tensor& x, const Tensor& y)> d) {
  Tensor x = reads == Reads::Input ? u.in : Tensor(), y = reads == Reads::Output ? detach(u.out) : Tensor();
  Tensor out = attach(name, u.out, {u.in}, {{u.in, reads == Reads::Input ? ~0u : 0u},
                                            {u.out, reads == Reads::Output ? ~0u : 0u}},
                      [d, x, y](const Tensor& g, const std::vector<bool>&) { return Grads{d(g, x, saved_output(y))}; });
  return to_dtype(out, u.result);
}

constexpr double kSqrt2 = 1.4142135623730951, kInvSqrtPi2 = 1.1283791670955126;  // sqrt(2), 2/sqrt(pi)

}  // namespace

Tensor neg(const Tensor& t) {
  auto u = unary_same(t, "neg", [](auto v) { return -v; });
  return record1("neg", u, Reads::Nothing, [](const Tensor& g, const Tensor&, const Tensor&) { return neg(g); });
}
Tensor abs(const Tensor& t) {
  auto u = unary_same(t, "abs", [](auto v) { return v < 0 ? -v : v; });
  return record1("abs", u, Reads::Input, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return mul(g, sign(x));
  });
}
Tensor sign(const Tensor& t) {
  if (t.dtype() == DType::Bool) return clone(t);  // true is 1 and false 0, their own signs, as PyTorch gives them
  auto u = unary_same(t, "sign", [](auto v) { return static_cast<decltype(v)>((v > 0) - (v < 0)); });
  if (!is_floating(t.dtype())) return finish(u);
  // zero almost everywhere; PyTorch gives zeros too, so a graph through sign alone still runs backward
  return record1("sign", u, Reads::Nothing, [](const Tensor& g, const Tensor&, const Tensor&) { return zeros_like(g); });
}
Tensor relu(const Tensor& t) {
  auto u = unary_same(t, "relu", [](auto v) { return v > 0 || v != v ? v : decltype(v)(0); });  // NaN stays NaN
  // y > 0 exactly where x > 0: reading the output, as PyTorch does, leaves the input free to be written
  return record1("relu", u, Reads::Output, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return mul(g, to_dtype(gt(y, wrapped_scalar(0, DType::Int64)), g.dtype()));
  });
}
Tensor exp(const Tensor& t) {
  auto u = unary_float(t, "exp", [](auto v) { return std::exp(v); }, cpu::UnaryOp::Exp);
  return record1("exp", u, Reads::Output, [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, y); });
}
Tensor log(const Tensor& t) {
  auto u = unary_float(t, "log", [](auto v) { return std::log(v); });
  return record1("log", u, Reads::Input, [](const Tensor& g, const Tensor& x, const Tensor&) { return div(g, x); });
}
Tensor log1p(const Tensor& t) {
  auto u = unary_float(t, "log1p", [](auto v) { return std::log1p(v); });
  return record1("log1p", u, Reads::Input, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return div(g, add_scalar(x, 1));
  });
}
Tensor sqrt(const Tensor& t) {
  auto u = unary_float(t, "sqrt", [](auto v) { return std::sqrt(v); });
  return record1("sqrt", u, Reads::Output, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return div(g, mul_scalar(y, 2));
  });
}
Tensor rsqrt(const Tensor& t) {
  auto u = unary_float(t, "rsqrt", [](auto v) { return decltype(v)(1) / std::sqrt(v); });
  return record1("rsqrt", u, Reads::Output, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return mul(g, mul_scalar(pow_scalar(y, 3), -0.5));
  });
}
Tensor sin(const Tensor& t) {
  auto u = unary_float(t, "sin", [](auto v) { return std::sin(v); });
  return record1("sin", u, Reads::Input, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return mul(g, cos(x));
  });
}
Tensor cos(const Tensor& t) {
  auto u = unary_float(t, "cos", [](auto v) { return std::cos(v); });
  return record1("cos", u, Reads::Input, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return neg(mul(g, sin(x)));
  });
}
Tensor tanh(const Tensor& t) {
  auto u = unary_float(t, "tanh", [](auto v) { return std::tanh(v); });
  return record1("tanh", u, Reads::Output, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return mul(g, add_scalar(neg(mul(y, y)), 1));
  });
}
Tensor sigmoid(const Tensor& t) {
  auto u = unary_float(t, "sigmoid", [](auto v) {
    using T = decltype(v);
    return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
  }, cpu::UnaryOp::Sigmoid);
  return record1("sigmoid", u, Reads::Output, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return mul(g, mul(y, add_scalar(neg(y), 1)));
  });
}
Tensor silu(const Tensor& t) {
  auto u = unary_float(t, "silu", [](auto v) {
    using T = decltype(v);
    return v >= 0 ? v / (T(1) + std::exp(-v)) : v * std::exp(v) / (T(1) + std::exp(v));
  }, cpu::UnaryOp::Silu);
  return record1("silu", u, Reads::Input, [](const Tensor& g, const Tensor& x, const Tensor&) {
    Tensor s = sigmoid(x);
    return mul(g, mul(s, add_scalar(mul(x, add_scalar(neg(s), 1)), 1)));
  });
}
Tensor erf(const Tensor& t) {
  auto u = unary_float(t, "erf", [](auto v) { return std::erf(v); });
  return record1("erf", u, Reads::Input, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return mul(g, mul_scalar(exp(neg(mul(x, x))), kInvSqrtPi2));
  });
}

namespace {
// gelu'(x) in differentiable ops, for a backward under create_graph (the plain backward's loop is the same formula,
// which autograd cannot see through): Phi(x) + x phi(x), or the tanh form's derivative.
Tensor gelu_derivative_ops(const Tensor& x, bool tanh_approx) {
  constexpr double k = 0.7978845608028654, c = 0.044715, inv_sqrt_2pi = 0.3989422804014327;
  if (tanh_approx) {
    Tensor x2 = mul(x, x);
    Tensor th = tanh(mul_scalar(add(x, mul_scalar(mul(x2, x), c)), k));
    Tensor slope = mul_scalar(mul(add_scalar(neg(mul(th, th)), 1), add_scalar(mul_scalar(x2, 3 * c), 1)), 0.5 * k);
    return add(mul_scalar(add_scalar(th, 1), 0.5), mul(x, slope));
  }
  Tensor cdf = mul_scalar(add_scalar(erf(mul_scalar(x, 1 / kSqrt2)), 1), 0.5);
  return add(cdf, mul_scalar(mul(x, exp(mul_scalar(mul(x, x), -0.5))), inv_sqrt_2pi));
}
}  // namespace

Tensor gelu(const Tensor& t, bool tanh_approx) {
  constexpr double k = 0.7978845608028654, c = 0.044715;  // sqrt(2/pi)
  auto u = tanh_approx ? unary_float(t, "gelu", [](auto v) {
                           using T = decltype(v);
                           return T(0.5) * v * (T(1) + std::tanh(T(k) * (v + T(c) * v * v * v)));
                         }, cpu::UnaryOp::GeluTanh)
                       : unary_float(t, "gelu", [](auto v) {
                           using T = decltype(v);
                           return T(0.5) * v * (T(1) + std::erf(v / T(kSqrt2)));
                         }, cpu::UnaryOp::Gelu);
  return record1("gelu", u, Reads::Input, [tanh_approx](const Tensor& g, const Tensor& x, const Tensor&) {
    if (GradMode::enabled()) return mul(g, gelu_derivative_ops(x, tanh_approx));  // create_graph
    Tensor d = empty(x.shape(), x.dtype());
    dispatch_float(x.dtype(), "gelu", [&](auto tag) {
      using T = decltype(tag);
      if (tanh_approx) {
        map1<T, T>(x, d, [](T v) {
          T inner = T(k) * (v + T(c) * v * v * v), th = std::tanh(inner);
          return T(0.5) * (T(1) + th) + T(0.5) * v * (T(1) - th * th) * T(k) * (T(1) + T(3 * c) * v * v);
        });
      } else {
        map1<T, T>(x, d, [](T v) {
          return T(0.5) * (T(1) + std::erf(v / T(kSqrt2))) + v * std::exp(T(-0.5) * v * v) * T(0.3989422804014327);
        });
      }
    });
    return mul(g, d);
  });
}

namespace {

// A clamp bound (a 0-d number; absent: unbounded) for integer input, as an exact int64: an integer bound as it is
// (int64 values past 2^53 must not pass through a double), a floating one as the least integer >= a lower bound or
// the greatest <= an upper one, saturated.
int64_t integer_bound(const std::optional<Tensor>& b, bool lower) {
  constexpr int64_t lowest = std::numeric_limits<int64_t>::min(), highest = std::numeric_limits<int64_t>::max();
  if (!b) return lower ? lowest : highest;
  if (b->dtype() == DType::Int64) return *static_cast<const int64_t*>(b->data_ptr());
  double d = read_as_double(*b, {});
  if (d != d) return lower ? lowest : highest;
  d = lower ? std::ceil(d) : std::floor(d);
  if (d <= -9223372036854775808.0) return lowest;
  return d >= 9223372036854775808.0 ? highest : static_cast<int64_t>(d);
}

}  // namespace

Tensor clamp(const Tensor& t, std::optional<Tensor> lo, std::optional<Tensor> hi) {
  if (!lo && !hi) value_error("clamp: at least one of min and max must be given");
  for (const std::optional<Tensor>* b : {&lo, &hi}) {
    if (!*b) continue;
    if ((*b)->dim() != 0)
      value_error("clamp: a bound must be a number, got a tensor of shape ", shape_str((*b)->shape()));
    // an integer bound an integer tensor cannot hold is refused, as in PyTorch (int32 input, min=2**40)
    if (!is_floating(t.dtype()) && !is_floating((*b)->dtype())) check_number_fits(**b, t.dtype());
  }
  const double l = lo ? read_as_double(*lo, {}) : -INFINITY, h = hi ? read_as_double(*hi, {}) : INFINITY;
  const int64_t il = integer_bound(lo, true), ih = integer_bound(hi, false);
  const bool nan_bound = l != l || h != h;
  auto u = unary_same(t, "clamp", [l, h, il, ih, nan_bound](auto v) {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T>) {
      constexpr int64_t tlo = std::numeric_limits<T>::min(), thi = std::numeric_limits<T>::max();
      const int64_t lo_t = std::min(std::max(il, tlo), thi), hi_t = std::min(std::max(ih, tlo), thi);
      return static_cast<T>(std::min(std::max(static_cast<int64_t>(v), lo_t), hi_t));  // min > max gives max
    } else {
      if (nan_bound) return std::numeric_limits<T>::quiet_NaN();  // as PyTorch
      const double d = static_cast<double>(v);
      return static_cast<T>(d != d ? d : std::min(std::max(d, l), h));
    }
  });
  return record1("clamp", u, Reads::Input, [l, h](const Tensor& g, const Tensor& x, const Tensor&) {
    Tensor inside = logical_and(ge(x, wrapped_scalar(l, DType::Float64)), le(x, wrapped_scalar(h, DType::Float64)));
    return mul(g, to_dtype(inside, g.dtype()));
  });
}

Tensor pow_scalar(const Tensor& t, double p) {
  auto u = unary_float(t, "pow", [p](auto v) {
    using T = decltype(v);
    return p == 2.0 ? v * v : std::pow(v, T(p));
  });
  return record1("pow_scalar", u, Reads::Input, [p](const Tensor& g, const Tensor& x, const Tensor&) {
    if (p == 0) return zeros_like(g);
    return mul(g, mul_scalar(pow_scalar(x, p - 1), p));
  });
}

namespace {
// floor, ceil, round, trunc: an integer tensor is already whole, so it comes back as a copy (a bool one is refused,
// as PyTorch does). The derivative is zero almost everywhere, and PyTorch gives zero, so the node gives zeros.
template <typename F>
Tensor rounding(const Tensor& t, const char* name, F f) {
  if (t.dtype() == DType::Bool) type_error(name, ": not supported for bool tensors");
  if (!is_floating(t.dtype())) return clone(t);
  auto u = unary_float(t, name, f);
  return record1(name, u, Reads::Nothing, [](const Tensor& g, const Tensor&, const Tensor&) { return zeros_like(g); });
}
}  // namespace

Tensor floor(const Tensor& t) { return rounding(t, "floor", [](auto v) { return std::floor(v); }); }
Tensor ceil(const Tensor& t) { return rounding(t, "ceil", [](auto v) { return std::ceil(v); }); }
Tensor trunc(const Tensor& t) { return rounding(t, "trunc", [](auto v) { return std::trunc(v); }); }
Tensor round(const Tensor& t, int64_t decimals) {
  // nearbyint in the default rounding mode rounds halves to even, as PyTorch does
  if (decimals == 0) return rounding(t, "round", [](auto v) { return std::nearbyint(v); });
  if (!is_floating(t.dtype()))
    type_error("round: decimals is only supported for floating point tensors, got ", dtype_name(t.dtype()),
               "; convert it with .float()");
  // Scale by 10^|decimals| in the compute dtype, round, scale back: PyTorch's order, so the same bits.
  const double scale = std::pow(10.0, static_cast<double>(decimals < 0 ? -decimals : decimals));
  const bool left = decimals < 0;
  return rounding(t, "round", [scale, left](auto v) {
    using T = decltype(v);
    const T s = static_cast<T>(scale);
    return left ? std::nearbyint(v / s) * s : std::nearbyint(v * s) / s;
  });
}

Tensor logical_not(const Tensor& t) {
  Tensor out = empty(t.shape(), DType::Bool);
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map1<T, uint8_t>(t, out, [](T v) { return static_cast<uint8_t>(convert<double>(v) == 0.0); });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------- binary
namespace {

struct Binary {
  Tensor a, b;  // cast to the compute dtype and expanded to the common shape (graph inputs)
  DType result, compute;
};

Binary prepare(const Tensor& a, const Tensor& b, const char* op, bool arithmetic) {
  Binary p;
  p.result = result_type({a, b});
  p.compute = compute_dtype(p.result);
  if (arithmetic && p.compute == DType::Bool) p.compute = DType::Int64;
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  p.a = expand(to_dtype(a, p.compute), shape);
  p.b = expand(to_dtype(b, p.compute), shape);
  return p;
}

// True when every stride is 0: an expanded single value.
bool is_broadcast_scalar(const Tensor& t) {
  for (int64_t s : t.strides())
    if (s != 0) return false;
  return true;
}

// Float32 with both operands dense, or the right one a broadcast value: the vectorised kernel.
bool arith_fast(const Binary& p, std::optional<cpu::BinaryOp> fast, const Tensor& out) {
  if (!fast || p.compute != DType::Float32 || !p.a.is_contiguous()) return false;
  const bool scalar = is_broadcast_scalar(p.b);
  if (!scalar && !p.b.is_contiguous()) return false;
  cpu::binary(*fast, p.a.data<float>(), p.b.data<float>(), out.data<float>(), out.numel(), scalar);
  return true;
}

template <typename F>
Tensor arith_kernel(const Binary& p, const char* op, F f, std::optional<cpu::BinaryOp> fast = std::nullopt) {
  Tensor out = empty(p.a.shape(), p.compute);
  if (arith_fast(p, fast, out)) return out;
  dispatch_compute(p.compute, op, [&](auto tag) {
    using T = decltype(tag);
    map2<T, T, T>(p.a, p.b, out, [&](T x, T y) { return static_cast<T>(f(x, y)); });
  });
  return out;
}

template <typename F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  Binary p = prepare(a, b, op, false);
  Tensor out = empty(p.a.shape(), DType::Bool);
  NoGradGuard ng;
  dispatch_compute(p.compute, op, [&](auto tag) {
    using T = decltype(tag);
    map2<T, T, uint8_t>(p.a, p.b, out, [&](T x, T y) { return static_cast<uint8_t>(f(x, y)); });
  });
  return out;
}

// `saved`: what d reads of p.a, p.b and out (attach's Saved), so a write to it before the backward is refused.
// d gets the operands themselves, not detached copies, so that under create_graph its result depends on them.
// The backward closure keeps an operand only when `saved` says the gradient of an input that requires grad reads
// it; `d` gets an undefined Tensor in its place otherwise. So add keeps neither operand alive until the backward,
// and `h * 2` keeps only the 2, as PyTorch's nodes do (an in-place write to h is then no write to a kept value).
Tensor record2(const char* name, const Binary& p, Tensor out, std::initializer_list<Saved> saved,
               std::function<Grads(const Tensor& g, const Tensor& a, const Tensor& b, const std::vector<bool>&)> d) {
  const uint32_t needed = (p.a.requires_grad() ? grad_of(0) : 0u) | (p.b.requires_grad() ? grad_of(1) : 0u);
  auto kept = [&](const Tensor& t) {
    for (const Saved& s : saved)
      if (s.t.impl() == t.impl() && (s.for_grads & needed) != 0) return t;
    return Tensor();
  };
  out = attach(name, out, {p.a, p.b}, saved,
               [d, a = kept(p.a), b = kept(p.b)](const Tensor& g, const std::vector<bool>& needs) {
                 return d(g, a, b, needs);
               });
  return to_dtype(out, p.result);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Binary p = prepare(a, b, "add", true);
  return record2("add", p, arith_kernel(p, "add", [](auto x, auto y) { return x + y; }, cpu::BinaryOp::Add), {},
                 [](const Tensor& g, const Tensor&, const Tensor&, const std::vector<bool>&) { return Grads{g, g}; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  Binary p = prepare(a, b, "sub", true);
  return record2("sub", p, arith_kernel(p, "sub", [](auto x, auto y) { return x - y; }, cpu::BinaryOp::Sub), {},
                 [](const Tensor& g, const Tensor&, const Tensor&, const std::vector<bool>& n) {
                   return Grads{g, n[1] ? neg(g) : Tensor()};
                 });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  Binary p = prepare(a, b, "mul", true);
  return record2("mul", p, arith_kernel(p, "mul", [](auto x, auto y) { return x * y; }, cpu::BinaryOp::Mul),
                 {{p.b, grad_of(0)}, {p.a, grad_of(1)}},
                 [](const Tensor& g, const Tensor& x, const Tensor& y, const std::vector<bool>& n) {
                   return Grads{n[0] ? mul(g, y) : Tensor(), n[1] ? mul(g, x) : Tensor()};
                 });
}
Tensor div(const Tensor& a, const Tensor& b) {
  // True division: integer operands divide in float32, as in PyTorch.
  Tensor af = a, bf = b;
  if (!is_floating(result_type({a, b}))) {
    af = to_dtype(a, DType::Float32);
    bf = to_dtype(b, DType::Float32);
  }
  Binary p = prepare(af, bf, "div", true);
  return record2("div", p, arith_kernel(p, "div", [](auto x, auto y) { return x / y; }, cpu::BinaryOp::Div),
                 {p.b, {p.a, grad_of(1)}},
                 [](const Tensor& g, const Tensor& x, const Tensor& y, const std::vector<bool>& n) {
                   return Grads{n[0] ? div(g, y) : Tensor(), n[1] ? neg(div(mul(g, x), mul(y, y))) : Tensor()};
                 });
}
Tensor pow(const Tensor& a, const Tensor& b) {
  Binary p = prepare(a, b, "pow", true);
  Tensor out = arith_kernel(p, "pow", [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_integral_v<T>) {
      if (y < 0) return T(x == 1 ? 1 : (x == -1 ? (y % 2 ? -1 : 1) : 0));
      T r = 1, base = x;
      for (T e = y; e > 0; e >>= 1, base *= base)
        if (e & 1) r *= base;
      return r;
    } else {
      return std::pow(x, y);
    }
  });
  Tensor res = detach(out);
  return record2("pow", p, out, {p.a, p.b, {out, grad_of(1)}},  // the exponent's gradient reads y (y >= 0) too
                 [res](const Tensor& g, const Tensor& x, const Tensor& y, const std::vector<bool>& n) {
                   Grads r(2);
                   Tensor zero = wrapped_scalar(0, DType::Float64);
                   // y x^(y-1) is 0 * inf at x = 0, y = 0; x^0 is constant, so its derivative is 0, as in PyTorch.
                   if (n[0])
                     r[0] = mul(g, masked_fill(mul(y, pow(x, sub(y, wrapped_scalar(1, DType::Int64)))), eq(y, zero),
                                               zero));
                   if (n[1]) {
                     // x^y log x is 0 * -inf at x = 0; its limit (y >= 0) is 0, as PyTorch takes it.
                     Tensor at_zero = logical_and(eq(x, zero), ge(y, zero));
                     r[1] = mul(g, masked_fill(mul(saved_output(res), log(x)), at_zero, zero));
                   }
                   return r;
                 });
}

static Grads minmax_backward(const Tensor& g, const Tensor& x, const Tensor& y, bool is_max) {
  // Ties share the gradient equally, and each side gets it unless it lost, as PyTorch does: where a NaN makes
  // every comparison false, both sides get the whole gradient.
  Tensor a_wins = is_max ? gt(x, y) : lt(x, y), b_wins = is_max ? lt(x, y) : gt(x, y);
  Tensor half = mul_scalar(to_dtype(eq(x, y), g.dtype()), 0.5);
  Tensor wa = sub(to_dtype(logical_not(b_wins), g.dtype()), half);
  Tensor wb = sub(to_dtype(logical_not(a_wins), g.dtype()), half);
  return Grads{mul(g, wa), mul(g, wb)};
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  Binary p = prepare(a, b, "maximum", false);
  return record2("maximum", p, arith_kernel(p, "maximum", [](auto x, auto y) { return x != x ? x : (x > y ? x : y); }),
                 {p.a, p.b},
                 [](const Tensor& g, const Tensor& x, const Tensor& y, const std::vector<bool>&) {
                   return minmax_backward(g, x, y, true);
                 });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  Binary p = prepare(a, b, "minimum", false);
  return record2("minimum", p, arith_kernel(p, "minimum", [](auto x, auto y) { return x != x ? x : (x < y ? x : y); }),
                 {p.a, p.b},
                 [](const Tensor& g, const Tensor& x, const Tensor& y, const std::vector<bool>&) {
                   return minmax_backward(g, x, y, false);
                 });
}

// ---------------------------------------------------------------------------------------------- integer-style division
namespace {

template <typename T>
bool negative(T v) {
  if constexpr (std::is_signed_v<T>) return v < T(0);
  else return false;
}
// x / -1 and x % -1 trap (SIGFPE) for the most negative integer, so they are computed without dividing.
template <typename T>
bool minus_one(T v) {
  if constexpr (std::is_signed_v<T>) return v == T(-1);
  else return false;
}

// Python's %: the result has the divisor's sign (or is zero).
template <typename T>
T remainder_of(T x, T y) {
  T m;
  if constexpr (std::is_floating_point_v<T>) {
    m = std::fmod(x, y);
  } else {
    if (minus_one(y)) return T(0);
    m = static_cast<T>(x % y);
  }
  return m != T(0) && negative(m) != negative(y) ? static_cast<T>(m + y) : m;
}

// C's %: the result has the dividend's sign (or is zero).
template <typename T>
T fmod_of(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) return std::fmod(x, y);
  else return minus_one(y) ? T(0) : static_cast<T>(x % y);
}

// Python's //: the quotient rounded toward negative infinity.
template <typename T>
T floor_divide_of(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    if (y == T(0)) return x / y;  // inf or nan, as PyTorch gives
    // The truncated quotient from fmod is exact where x / y would round up to the next integer.
    const T m = std::fmod(x, y);
    T q = (x - m) / y;
    if (m != T(0) && negative(m) != negative(y)) q -= T(1);
    if (q == T(0)) return std::copysign(T(0), x / y);
    const T f = std::floor(q);
    return q - f > T(0.5) ? f + T(1) : f;
  } else {
    using U = std::make_unsigned_t<T>;
    if (minus_one(y)) return static_cast<T>(U(0) - static_cast<U>(x));  // wraps for the most negative, as PyTorch
    T q = static_cast<T>(x / y);
    if (x % y != 0 && negative(x) != negative(y)) --q;
    return q;
  }
}

// Operands for remainder, fmod and floor_divide: bool is refused (as PyTorch does), and an integer zero divisor
// raises here, before the kernel, instead of trapping the process.
Binary prepare_division(const Tensor& a, const Tensor& b, const char* op) {
  // A number divides a float16 / bfloat16 tensor as that dtype would store it (1.7 as 1.7002), as in PyTorch:
  // unlike a sum, a remainder is not close to the one from the unrounded number.
  const DType result = result_type({a, b});
  const bool half = result == DType::Float16 || result == DType::BFloat16;
  Binary p = half ? prepare(to_dtype(a, result), to_dtype(b, result), op, true) : prepare(a, b, op, true);
  if (p.result == DType::Bool) type_error(op, ": not supported for bool tensors");
  if (!is_floating(p.compute) && any(eq(p.b, wrapped_scalar(0, DType::Int64)), {}, false).data<uint8_t>()[0])
    throw std::runtime_error(std::string(op) + ": integer division by zero (ZeroDivisionError); "
                             "use floating point tensors to get inf or nan instead");
  return p;
}

}  // namespace

Tensor remainder(const Tensor& a, const Tensor& b) {
  Binary p = prepare_division(a, b, "remainder");
  Tensor out = arith_kernel(p, "remainder", [](auto x, auto y) { return remainder_of(x, y); });
  // a - b floor(a / b): d/da = 1, d/db = -floor(a / b), a step function of the operands (constant for autograd)
  return record2("remainder", p, out, {{p.a, grad_of(1)}, {p.b, grad_of(1)}},
                 [](const Tensor& g, const Tensor& x, const Tensor& y, const std::vector<bool>& n) {
                   return Grads{g, n[1] ? neg(mul(g, floor_divide(detach(x), detach(y)))) : Tensor()};
                 });
}
Tensor fmod(const Tensor& a, const Tensor& b) {
  Binary p = prepare_division(a, b, "fmod");
  Tensor out = arith_kernel(p, "fmod", [](auto x, auto y) { return fmod_of(x, y); });
  // a - b trunc(a / b): d/db = -trunc(a / b)
  return record2("fmod", p, out, {{p.a, grad_of(1)}, {p.b, grad_of(1)}},
                 [](const Tensor& g, const Tensor& x, const Tensor& y, const std::vector<bool>& n) {
                   return Grads{g, n[1] ? neg(mul(g, trunc(div(detach(x), detach(y))))) : Tensor()};
                 });
}
Tensor floor_divide(const Tensor& a, const Tensor& b) {
  Binary p = prepare_division(a, b, "floor_divide");
  Tensor out = arith_kernel(p, "floor_divide", [](auto x, auto y) { return floor_divide_of(x, y); });
  // PyTorch records it and raises at backward: the derivative is not defined there either.
  out = attach("floor_divide", out, {p.a, p.b}, {}, no_backward("floor_divide"));
  return to_dtype(out, p.result);
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", [](auto x, auto y) { return x >= y; }); }
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return compare(a, b, "logical_and", [](auto x, auto y) { return x != decltype(x)(0) && y != decltype(y)(0); });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return compare(a, b, "logical_or", [](auto x, auto y) { return x != decltype(x)(0) || y != decltype(y)(0); });
}

Tensor mul_scalar(const Tensor& t, double s) { return mul(t, wrapped_scalar(s, DType::Float64)); }
Tensor add_scalar(const Tensor& t, double s) { return add(t, wrapped_scalar(s, DType::Float64)); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  if (cond.dtype() != DType::Bool) type_error("where: condition must be a bool tensor, got ", dtype_name(cond.dtype()));
  DType result = result_type({a, b});
  DType ct = compute_dtype(result);
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor c = expand(cond, shape), x = expand(to_dtype(a, ct), shape), y = expand(to_dtype(b, ct), shape);
  Tensor out = empty(shape, ct);
  dispatch_compute(ct, "where", [&](auto tag) {
    using T = decltype(tag);
    map3<uint8_t, T, T, T>(c, x, y, out, [](uint8_t k, T u, T v) { return k ? u : v; });
  });
  Tensor cd = detach(c);
  out = attach("where", out, {Tensor(), x, y}, {c}, [cd](const Tensor& g, const std::vector<bool>& n) {
    Tensor z = zeros({}, g.dtype());
    return Grads{Tensor(), n[1] ? where(cd, g, z) : Tensor(), n[2] ? where(cd, z, g) : Tensor()};
  });
  return to_dtype(out, result);
}

Tensor masked_fill(const Tensor& t, const Tensor& mask, const Tensor& value) {
  if (mask.dtype() != DType::Bool) type_error("masked_fill: mask must be a bool tensor, got ", dtype_name(mask.dtype()));
  if (value.dim() != 0)
    value_error("masked_fill: value must be a number or a 0-d tensor, got shape ", shape_str(value.shape()));
  Shape shape = broadcast_shapes(t.shape(), mask.shape(), "masked_fill");
  if (shape != t.shape())
    value_error("masked_fill: mask of shape ", shape_str(mask.shape()), " does not broadcast to the tensor's shape ",
                shape_str(t.shape()));
  check_number_fits(value, t.dtype());
  return where(mask, expand(to_dtype(value, t.dtype()), shape), t);
}

}  // namespace zh
