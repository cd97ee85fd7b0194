// AVX2 + FMA kernels: 8 float lanes; the sgemm tile is 6 x 16 (12 accumulators, 2 B vectors, 1 broadcast of
// the 16 ymm registers).
#include <immintrin.h>

#include "kernels/kernel_table.h"

namespace zh::cpu {
namespace avx2_impl {

constexpr Isa kIsa = Isa::Avx2;
constexpr int W = 8, MR = 6, NV = 2;
using V = __m256;

alignas(32) static const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline __m256i tail_mask(int64_t n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n));
}

static inline V vzero() { return _mm256_setzero_ps(); }
static inline V vset1(float x) { return _mm256_set1_ps(x); }
static inline V vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
static inline V vload_part(const float* p, int64_t n, float fill) {
  const __m256i m = tail_mask(n);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline void vstore_part(float* p, V v, int64_t n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
static inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
static inline V vfmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
static inline float vhsum(V v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float vhmax(V v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline V vldexp(V p, V n) {
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const V s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const V s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}
static inline V vshl23(V k) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(k), 23)); }
static inline V vabs(V x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
static inline V vlt(V a, V b, V x, V y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
static inline V vload_half(const uint16_t* p) {  // F16C
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// 8 x 8 transpose in registers: r[i] holds row i on entry, column i on exit (pairs interleaved, then quads, then
// 128-bit halves swapped between the two groups of four).
#define ZH_VTRANSPOSE 1
static inline void vtranspose(V (&r)[W]) {
  const V t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const V t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const V t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const V t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const V q0 = _mm256_shuffle_ps(t0, t2, 0x44), q1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const V q2 = _mm256_shuffle_ps(t1, t3, 0x44), q3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const V q4 = _mm256_shuffle_ps(t4, t6, 0x44), q5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const V q6 = _mm256_shuffle_ps(t5, t7, 0x44), q7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(q0, q4, 0x20);
  r[1] = _mm256_permute2f128_ps(q1, q5, 0x20);
  r[2] = _mm256_permute2f128_ps(q2, q6, 0x20);
  r[3] = _mm256_permute2f128_ps(q3, q7, 0x20);
  r[4] = _mm256_permute2f128_ps(q0, q4, 0x31);
  r[5] = _mm256_permute2f128_ps(q1, q5, 0x31);
  r[6] = _mm256_permute2f128_ps(q2, q6, 0x31);
  r[7] = _mm256_permute2f128_ps(q3, q7, 0x31);
}

#include "kernels/simd_kernels.h"

}  // namespace avx2_impl

const KernelTable& kernels_avx2() { return avx2_impl::kTable; }

}  // namespace zh::cpu
