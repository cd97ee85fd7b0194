// The AVX-512F intrinsics our layer uses, on CPUs without AVX-512: SIMDe (libsimde-dev, "SIMD Everywhere")
// implements most of them portably, with AVX2 underneath when compiled for it, under their Intel names. The few
// its 0.7.4 release lacks are written here lane by lane from their definitions in Intel's Intrinsics Guide, so the
// layer compiles unchanged. Only kernels_avx512_on_avx2.cpp includes this; it exists to run and test the AVX-512
// kernels' code (tails, masks, the 12 x 32 tile, 16-lane packing) where the hardware is missing.
#pragma once
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace zh::cpu::avx512_emulation {

struct F16 {
  float v[16];
};
struct I16 {
  int32_t v[16];
};
// Between a vector and its lanes (To and From of the same 64 bytes).
template <typename To, typename From>
inline To same_bytes(const From& a) {
  static_assert(sizeof(To) == sizeof(From), "a vector is 64 bytes");
  To r;
  std::memcpy(&r, &a, sizeof r);
  return r;
}
inline F16 lanes(simde__m512 a) { return same_bytes<F16>(a); }
inline simde__m512 vec(const F16& r) { return same_bytes<simde__m512>(r); }
inline I16 ilanes(simde__m512i a) { return same_bytes<I16>(a); }
inline simde__m512i ivec(const I16& r) { return same_bytes<simde__m512i>(r); }
inline bool on(simde__mmask16 k, int i) { return (k >> i) & 1; }

// Lanes whose mask bit is clear are neither read nor written (the hardware suppresses their faults too).
inline simde__m512 mask_loadu_ps(simde__m512 src, simde__mmask16 k, const void* p) {
  F16 r = lanes(src);
  for (int i = 0; i < 16; ++i)
    if (on(k, i)) std::memcpy(&r.v[i], static_cast<const float*>(p) + i, 4);
  return vec(r);
}
inline void mask_storeu_ps(void* p, simde__mmask16 k, simde__m512 a) {
  const F16 r = lanes(a);
  for (int i = 0; i < 16; ++i)
    if (on(k, i)) std::memcpy(static_cast<float*>(p) + i, &r.v[i], 4);
}

inline float reduce_add_ps(simde__m512 a) {  // pairwise, as a tree of halves
  F16 r = lanes(a);
  for (int w = 8; w >= 1; w /= 2)
    for (int i = 0; i < w; ++i) r.v[i] += r.v[i + w];
  return r.v[0];
}
inline float reduce_max_ps(simde__m512 a) {
  const F16 r = lanes(a);
  float m = r.v[0];
  for (int i = 1; i < 16; ++i) m = r.v[i] > m ? r.v[i] : m;
  return m;
}

inline simde__m512i srai_epi32(simde__m512i a, unsigned imm) {
  I16 r = ilanes(a);
  for (int32_t& x : r.v) x = imm > 31 ? (x < 0 ? -1 : 0) : (x >> imm);
  return ivec(r);
}

// Rounds to nearest even (the default MXCSR mode); NaN and out-of-range values give INT32_MIN, as the hardware.
inline simde__m512i cvtps_epi32(simde__m512 a) {
  const F16 f = lanes(a);
  I16 r;
  for (int i = 0; i < 16; ++i) {
    const float x = f.v[i];
    if (!(x >= -2147483648.0f && x < 2147483648.0f)) {
      r.v[i] = INT32_MIN;
      continue;
    }
    const float t = x < 0 ? -x : x;
    float n = static_cast<float>(static_cast<int64_t>(t));  // truncated
    const float frac = t - n;
    if (frac > 0.5f || (frac == 0.5f && static_cast<int64_t>(n) % 2 != 0)) n += 1.0f;
    r.v[i] = static_cast<int32_t>(x < 0 ? -static_cast<int64_t>(n) : static_cast<int64_t>(n));
  }
  return ivec(r);
}

// a * 2^floor(b), rounded once as the hardware does (SIMDe's form flushes a result below 2^-149 to 0 when
// 2^floor(b) alone underflows, though a times it need not).
inline simde__m512 scalef_ps(simde__m512 a, simde__m512 b) {
  const F16 x = lanes(a), e = lanes(b);
  F16 r;
  for (int i = 0; i < 16; ++i) {
    const float f = std::floor(e.v[i]);
    r.v[i] = f != f ? f : std::ldexp(x.v[i], static_cast<int>(f < -400.0f ? -400.0f : f > 400.0f ? 400.0f : f));
  }
  return vec(r);
}

inline simde__m512 maskz_cvtph_ps(simde__mmask16 k, simde__m256i h) {
  uint16_t half[16];
  std::memcpy(half, &h, sizeof half);
  F16 r;
  for (int i = 0; i < 16; i += 8) {
    simde__m128i part;
    std::memcpy(&part, half + i, 16);
    const simde__m256 f = simde_mm256_cvtph_ps(part);
    std::memcpy(r.v + i, &f, 32);
  }
  for (int i = 0; i < 16; ++i)
    if (!on(k, i)) r.v[i] = 0.0f;
  return vec(r);
}

}  // namespace zh::cpu::avx512_emulation

#define _mm512_mask_loadu_ps zh::cpu::avx512_emulation::mask_loadu_ps
#define _mm512_mask_storeu_ps zh::cpu::avx512_emulation::mask_storeu_ps
#define _mm512_reduce_add_ps zh::cpu::avx512_emulation::reduce_add_ps
#define _mm512_reduce_max_ps zh::cpu::avx512_emulation::reduce_max_ps
#define _mm512_srai_epi32 zh::cpu::avx512_emulation::srai_epi32
#define _mm512_cvtps_epi32 zh::cpu::avx512_emulation::cvtps_epi32
#define _mm512_maskz_cvtph_ps zh::cpu::avx512_emulation::maskz_cvtph_ps
#undef _mm512_scalef_ps
#define _mm512_scalef_ps zh::cpu::avx512_emulation::scalef_ps
#ifndef _mm512_shuffle_f32x4  // SIMDe 0.7.4 has it but gives it no native alias
#define _mm512_shuffle_f32x4 simde_mm512_shuffle_f32x4
#endif
