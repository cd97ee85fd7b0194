// Creation, random numbers, casts and copies.
#include <cmath>
#include <cstring>
#include <limits>

#include "autograd/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"

namespace zh {

ZH_REGISTER_OPS(false, "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "linspace", "eye",
                "empty", "empty_like", "rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "tensor",
                "from_numpy");
ZH_REGISTER_OPS(true, "to", "contiguous", "clone");
ZH_REGISTER_OPS(false, "detach");

namespace {

template <typename T>
void fill_with(const Tensor& dst, T v) {
  auto L = make_loop<1>(dst.shape(), {dst});
  run_loop<1>(L, dst.numel(), [&](const std::array<char*, 1>& p, const std::array<int64_t, 1>& s, int64_t n) {
    T* o = reinterpret_cast<T*>(p[0]);
    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = v;
  });
  dst.storage()->version.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

void fill_(const Tensor& dst, double value) {
  dispatch_all(dst.dtype(), [&](auto tag) { fill_with(dst, convert<decltype(tag)>(value)); });
}

void fill_(const Tensor& dst, const Tensor& value) {
  if (value.dim() != 0)
    value_error("fill_: value must be a number or a 0-d tensor, got shape ", shape_str(value.shape()));
  check_number_fits(value, dst.dtype());
  const Tensor v = to_dtype(detach(value), dst.dtype());
  dispatch_all(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    fill_with(dst, *static_cast<const T*>(v.data_ptr()));
  });
}

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  fill_(t, value);
  return t;
}

Tensor full(const Shape& shape, const Tensor& value, DType dtype) {
  Tensor t = empty(shape, dtype);
  fill_(t, value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.data_ptr(), 0, static_cast<size_t>(t.numel() * itemsize(dtype)));
  return t;
}
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }

Tensor arange(double start, double end, double step, DType dtype) {
  if (step == 0) value_error("arange: step must be nonzero");
  if (!std::isfinite(start) || !std::isfinite(end)) value_error("arange: start and end must be finite");
  if ((end - start) / step < 0) value_error("arange: upper bound and step sign are inconsistent (start=", start,
                                            ", end=", end, ", step=", step, ")");
  int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = empty({n}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = t.data<T>();
    for (int64_t i = 0; i < n; ++i) o[i] = convert<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor arange_int(int64_t start, int64_t end, int64_t step, DType dtype) {
  if (step == 0) value_error("arange: step must be nonzero");
  if ((end > start && step < 0) || (end < start && step > 0))
    value_error("arange: upper bound and step sign are inconsistent (start=", start, ", end=", end, ", step=", step,
                ")");
  // Counted in 128 bits: end - start can pass int64, and a double would round 2**62 + 3 down to 2**62.
  const __int128 span = static_cast<__int128>(end) - start;
  const __int128 count = (span + step + (step > 0 ? -1 : 1)) / step;  // ceil(span / step), span / step >= 0
  if (count > std::numeric_limits<int64_t>::max())
    value_error("arange: ", static_cast<double>(count), " elements (start=", start, ", end=", end, ", step=", step,
                ") are more than a tensor can hold");
  const int64_t n = static_cast<int64_t>(count);
  Tensor t = empty({n}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = t.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = static_cast<int64_t>(start + static_cast<__int128>(i) * step);  // in [start, end): fits
      if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) o[i] = static_cast<T>(v);
      else o[i] = convert<T>(static_cast<double>(v));
    }
  });
  return t;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  if (steps < 0) value_error("linspace: number of steps must be non-negative, got ", steps);
  Tensor t = empty({steps}, dtype);
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = t.data<T>();
    // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
    int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; ++i)
      o[i] = convert<T>(i < half || steps == 1 ? start + step * static_cast<double>(i)
                                 : end - step * static_cast<double>(steps - 1 - i));
  });
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (n < 0 || m < 0) value_error("eye: sizes must be non-negative, got ", n, " and ", m);
  Tensor t = zeros({n, m}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = t.data<T>();
    for (int64_t i = 0; i < std::min(n, m); ++i) o[i * m + i] = convert<T>(1.0);
  });
  return t;
}

// ---- random numbers: xoshiro256** seeded through splitmix64 (docs/tensors.md). Generated serially in
// row-major order, so results depend on the seed only, never on the thread count.
namespace {
struct Generator {
  uint64_t s[4];
  uint64_t seed = 0;
  void reseed(uint64_t v) {
    seed = v;
    uint64_t x = v;
    for (auto& w : s) {
      x += 0x9e3779b97f4a7c15ull;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};
Generator& gen() {
  static Generator g = [] { Generator x; x.reseed(0); return x; }();
  return g;
}
void require_float(DType dtype, const char* op) {
  if (!is_floating(dtype)) type_error(op, ": expected a floating point dtype, got ", dtype_name(dtype));
}
}  // namespace

void manual_seed(uint64_t seed) { gen().reseed(seed); }
uint64_t initial_seed() { return gen().seed; }

Tensor rand(const Shape& shape, DType dtype) {
  require_float(dtype, "rand");
  Tensor t = empty(shape, DType::Float64);
  double* o = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) o[i] = gen().uniform();
  return to_dtype(t, dtype);
}

Tensor randn(const Shape& shape, DType dtype) {
  require_float(dtype, "randn");
  Tensor t = empty(shape, DType::Float64);
  double* o = t.data<double>();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; i += 2) {  // Box-Muller, one pair of normals per pair of uniforms
    double u1 = 1.0 - gen().uniform(), u2 = gen().uniform();
    double r = std::sqrt(-2.0 * std::log(u1)), a = 2.0 * M_PI * u2;
    o[i] = r * std::cos(a);
    if (i + 1 < n) o[i + 1] = r * std::sin(a);
  }
  return to_dtype(t, dtype);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  if (high <= low) value_error("randint: expected low < high, got low=", low, " high=", high);
  Tensor t = empty(shape, DType::Int64);
  int64_t* o = t.data<int64_t>();
  uint64_t range = static_cast<uint64_t>(high - low);
  for (int64_t i = 0; i < t.numel(); ++i) o[i] = low + static_cast<int64_t>(gen().next() % range);
  return to_dtype(t, dtype);
}

// ---- casts and copies
static Tensor copy_as(const Tensor& t, DType dtype) {
  Tensor out = empty(t.shape(), dtype);
  dispatch_all(t.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_all(dtype, [&](auto dtag) {
      using D = decltype(dtag);
      map1<S, D>(t, out, [](S v) { return convert<D>(v); });
    });
  });
  return out;
}

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = copy_as(t, dtype);
  if (!is_floating(dtype)) return out;
  DType from = t.dtype();
  return attach("to", out, {t}, {}, [from](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{to_dtype(g, from)};
  });
}

Tensor clone(const Tensor& t) {
  Tensor out = copy_as(t, t.dtype());
  return attach("clone", out, {t}, {},
                [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
}

Tensor contiguous(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = copy_as(t, t.dtype());
  return attach("contiguous", out, {t}, {},
                [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
}

Tensor detach(const Tensor& t) { return make_view(t, t.shape(), t.strides(), t.offset()); }

void copy_(const Tensor& dst, const Tensor& src) {
  if (GradMode::enabled() && dst.requires_grad())
    throw std::runtime_error(  // RuntimeError, as PyTorch's and as setitem's
        "a tensor that requires grad cannot be written in place; wrap the write in core.no_grad()");
  // PyTorch's rule: a destination whose elements share memory (a stride-0 dim of size > 1, as from expand) would
  // get each shared element written more than once, by whichever position comes last; fill_ stays allowed.
  for (int64_t d = 0; d < dst.dim(); ++d)
    if (dst.strides()[d] == 0 && dst.shape()[d] > 1)
      throw std::runtime_error("unsupported operation: more than one element of the written-to tensor (shape " +
                               shape_str(dst.shape()) + ", strides " + shape_str(dst.strides()) +
                               ") refers to a single memory location; clone() it before writing into it");
  if (src.is_wrapped_number()) check_number_fits(src, dst.dtype());
  // A source that shares dst's memory (t[1:] = t[:-1]) is read whole before any element of dst is written.
  Tensor s = expand(src.storage() == dst.storage() ? copy_as(src, src.dtype()) : detach(src), dst.shape());
  dispatch_all(s.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_all(dst.dtype(), [&](auto dtag) {
      using D = decltype(dtag);
      map1<S, D>(s, dst, [](S v) { return convert<D>(v); });
    });
  });
  dst.storage()->version.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace zh
