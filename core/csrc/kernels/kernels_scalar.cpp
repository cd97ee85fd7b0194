// Portable kernels: one float per "vector", built with the baseline x86-64 flags; the sgemm tile is 4 x 4.
// The reference every other ISA is tested against, and the fallback on CPUs without AVX2.
#include <cstring>

#include "kernels/kernel_table.h"
#include "tensor/dtype.h"  // half_to_float, the tensor library's own conversion

namespace zh::cpu {
namespace scalar_impl {

constexpr Isa kIsa = Isa::Scalar;
constexpr int W = 1, MR = 4, NV = 4;
using V = float;

static inline V vzero() { return 0.0f; }
static inline V vset1(float x) { return x; }
static inline V vload(const float* p) { return *p; }
static inline void vstore(float* p, V v) { *p = v; }
static inline V vload_part(const float* p, int64_t n, float fill) { return n > 0 ? *p : fill; }
static inline void vstore_part(float* p, V v, int64_t n) {
  if (n > 0) *p = v;
}
static inline V vadd(V a, V b) { return a + b; }
static inline V vsub(V a, V b) { return a - b; }
static inline V vmul(V a, V b) { return a * b; }
static inline V vdiv(V a, V b) { return a / b; }
static inline V vmax(V a, V b) { return a > b ? a : b; }  // like maxps: b when either is NaN
static inline V vmin(V a, V b) { return a < b ? a : b; }
static inline V vfmadd(V a, V b, V c) { return a * b + c; }
static inline float vhsum(V v) { return v; }
static inline float vhmax(V v) { return v; }
static inline V vldexp(V p, V n) {
  if (n != n) return p;  // NaN came through vexp's clamp, and p is NaN too; converting it would be undefined
  const int32_t ni = static_cast<int32_t>(n), n1 = ni >> 1, n2 = ni - n1;
  const uint32_t b1 = static_cast<uint32_t>(n1 + 127) << 23, b2 = static_cast<uint32_t>(n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  return p * s1 * s2;
}
static inline V vshl23(V k) {
  uint32_t b;
  std::memcpy(&b, &k, 4);
  b <<= 23;
  float s;
  std::memcpy(&s, &b, 4);
  return s;
}
static inline V vabs(V x) { return __builtin_fabsf(x); }
static inline V vlt(V a, V b, V x, V y) { return a < b ? x : y; }
static inline V vload_half(const uint16_t* p) { return half_to_float(*p); }

#include "kernels/simd_kernels.h"

}  // namespace scalar_impl

const KernelTable& kernels_scalar() { return scalar_impl::kTable; }

const KernelTable& kernel_table(Isa isa) {
  check_isa(isa, "kernels");
  switch (isa) {
    case Isa::Avx2: return kernels_avx2();
    case Isa::Avx512: return kernels_avx512();
#if ZOOHUB_HAVE_SIMDE
    case Isa::Avx512Emulated: return kernels_avx512_emulated();
#else
    case Isa::Avx512Emulated: break;  // check_isa refused it
#endif
    case Isa::Scalar: break;
  }
  return kernels_scalar();
}

}  // namespace zh::cpu
