// IEEE 754 binary16 <-> binary32 without special instructions, for the portable kernels and for packing.
// Layout (IEEE 754-2008, 3.6): 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits; exponent 0 holds zero
// and the subnormals (fraction x 2^-24), exponent 31 infinity and NaN.
#pragma once
#include <cstdint>
#include <cstring>

namespace zh::cpu {

static inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, frac = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {  // zero or subnormal: frac x 2^-24 is exact in float
    const float mag = static_cast<float>(frac) * 5.9604644775390625e-8f;
    std::memcpy(&bits, &mag, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (frac << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (frac << 13);  // rebias 15 -> 127
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The float16 equal to f, if there is one (NaN has none here: a NaN weight keeps float32).
static inline bool float_to_half_exact(float f, uint16_t* out) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const int exp = static_cast<int>((bits >> 23) & 0xffu);
  const uint32_t frac = bits & 0x7fffffu;
  if (exp == 0xff) {
    if (frac != 0) return false;
    *out = sign | 0x7c00u;
    return true;
  }
  if (exp == 0) {  // float zero or subnormal (< 2^-126: no float16 but zero)
    if (frac != 0) return false;
    *out = sign;
    return true;
  }
  const int e = exp - 127;
  if (e > 15 || e < -24) return false;
  if (e >= -14) {  // a normal float16: the 13 low fraction bits must be zero
    if (frac & 0x1fffu) return false;
    *out = static_cast<uint16_t>(sign | ((e + 15) << 10) | (frac >> 13));
    return true;
  }
  const uint32_t full = frac | 0x800000u;  // subnormal float16: value = full x 2^(e - 23) = m x 2^-24
  const int shift = -e - 1;                // 14 .. 23
  if (full & ((1u << shift) - 1u)) return false;
  *out = static_cast<uint16_t>(sign | (full >> shift));
  return true;
}

}  // namespace zh::cpu
