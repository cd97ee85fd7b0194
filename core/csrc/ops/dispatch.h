// Type dispatch and the strided element loops every elementwise op is built from.
#pragma once
#include <cmath>
#include <type_traits>

#include "tensor/iter.h"
#include "tensor/tensor.h"

namespace zh {

struct Half { uint16_t bits; };
struct BHalf { uint16_t bits; };

template <typename T> struct dtype_of;
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::Float16; };
template <> struct dtype_of<BHalf> { static constexpr DType value = DType::BFloat16; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

// Calls f(T{}) with T the storage type of dtype.
template <typename F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(uint8_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Float16: return f(Half{});
    case DType::BFloat16: return f(BHalf{});
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
  }
  throw std::logic_error("bad dtype");
}

// Compute types only (half types are converted to float32 before any arithmetic).
template <typename F>
decltype(auto) dispatch_compute(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::Bool: return f(uint8_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: break;
  }
  throw std::logic_error(std::string("internal: ") + op + " dispatched on a storage-only dtype");
}

template <typename F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  if (t == DType::Float32) return f(float{});
  if (t == DType::Float64) return f(double{});
  type_error(op, ": expected a floating point tensor, got ", dtype_name(t));
}

template <typename D, typename S>
inline D convert(S s) {
  if constexpr (std::is_same_v<S, D>) {
    return s;
  } else if constexpr (std::is_same_v<S, Half>) {
    return convert<D>(half_to_float(s.bits));
  } else if constexpr (std::is_same_v<S, BHalf>) {
    return convert<D>(bf16_to_float(s.bits));
  } else if constexpr (std::is_same_v<D, Half>) {
    return Half{float_to_half(static_cast<float>(s))};
  } else if constexpr (std::is_same_v<D, BHalf>) {
    return BHalf{float_to_bf16(static_cast<float>(s))};
  } else if constexpr (std::is_same_v<D, uint8_t>) {
    return static_cast<uint8_t>(s != S(0));
  } else {
    return static_cast<D>(s);
  }
}

// out = f(a) elementwise; a and out of types A and O with the same shape.
template <typename A, typename O, typename F>
void map1(const Tensor& a, const Tensor& out, F f) {
  auto L = make_loop<2>(out.shape(), {out, a});
  run_loop<2>(L, out.numel(), [&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
    O* o = reinterpret_cast<O*>(p[0]);
    const A* x = reinterpret_cast<const A*>(p[1]);
    if (s[0] == 1 && s[1] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]]);
    }
  });
}

template <typename A, typename B, typename O, typename F>
void map2(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  auto L = make_loop<3>(out.shape(), {out, a, b});
  run_loop<3>(L, out.numel(), [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
    O* o = reinterpret_cast<O*>(p[0]);
    const A* x = reinterpret_cast<const A*>(p[1]);
    const B* y = reinterpret_cast<const B*>(p[2]);
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
      const B yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]], y[i * s[2]]);
    }
  });
}

template <typename C, typename A, typename B, typename O, typename F>
void map3(const Tensor& c, const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  auto L = make_loop<4>(out.shape(), {out, c, a, b});
  run_loop<4>(L, out.numel(), [&](const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) {
    O* o = reinterpret_cast<O*>(p[0]);
    const C* z = reinterpret_cast<const C*>(p[1]);
    const A* x = reinterpret_cast<const A*>(p[2]);
    const B* y = reinterpret_cast<const B*>(p[3]);
    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(z[i * s[1]], x[i * s[2]], y[i * s[3]]);
  });
}

}  // namespace zh
