// The AVX-512F SIMD layer of simd_kernels.h (read its header), written once for two translation units:
// kernels_avx512.cpp compiles it to AVX-512 instructions; kernels_avx512_on_avx2.cpp compiles it over SIMDe's
// portable implementations of the same intrinsics (plus avx512_emulation.h), so CPUs without AVX-512 can run and
// test this code. Not a normal header: the including file opens the namespace and defines V (a 16-float vector),
// VI (16 int32) and Mask (16 bits) first. Only AVX-512F instructions are used (integer forms for the bit tricks).

constexpr int W = 16, MR = 12, NV = 2;  // the sgemm tile is 12 x 32 (24 accumulators of the 32 zmm registers)

static inline Mask tail_mask(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }

static inline V vzero() { return _mm512_setzero_ps(); }
static inline V vset1(float x) { return _mm512_set1_ps(x); }
static inline V vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
static inline V vload_part(const float* p, int64_t n, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p);
}
static inline void vstore_part(float* p, V v, int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
static inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
static inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
static inline V vfmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
static inline float vhsum(V v) { return _mm512_reduce_add_ps(v); }
static inline float vhmax(V v) { return _mm512_reduce_max_ps(v); }
static inline V vldexp(V p, V n) { return _mm512_scalef_ps(p, n); }  // one instruction, subnormals rounded
static inline V vshl23(V k) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(k), 23)); }
static inline V vabs(V x) {
  return _mm512_castsi512_ps(_mm512_and_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
}
static inline V vlt(V a, V b, V x, V y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x); }
static inline V vload_half(const uint16_t* p) {
  return _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));  // maskz: GCC 12 warns on the plain form
}

// 16 x 16 transpose in registers (for packing): unpacks pair rows within 128-bit lanes, shuffle_ps gathers 4-row
// columns per lane (u[g][c]: rows 4g..4g+3, lane L holding column 4L + c), two rounds of shuffle_f32x4 line the
// lanes up. 64 shuffles for 256 floats, against 256 scalar moves through L1.
#define ZH_VTRANSPOSE 1
static inline void vtranspose(V (&r)[W]) {
  V t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  V u[4][4];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    u[g][0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[g][1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[g][2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[g][3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const V lo01 = _mm512_shuffle_f32x4(u[0][c], u[1][c], 0x88), hi01 = _mm512_shuffle_f32x4(u[0][c], u[1][c], 0xDD);
    const V lo23 = _mm512_shuffle_f32x4(u[2][c], u[3][c], 0x88), hi23 = _mm512_shuffle_f32x4(u[2][c], u[3][c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);
    r[12 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);
  }
}
