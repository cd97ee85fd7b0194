// CPUID feature detection. AVX needs the OS to save YMM state (XCR0 bits 1-2); AVX-512 also ZMM and the
// opmask registers (XCR0 bits 5-7), so a CPU flag alone is not enough.
#include "kernels/cpu_isa.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace zh::cpu {

namespace {

struct Features {
  bool avx2_fma = false;
  bool avx512f = false;
};

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Features detect() {
  Features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6, os_zmm = (xcr0 & 0xe6) == 0xe6;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  // The AVX-512 unit is compiled with F, DQ, BW and VL (every AVX-512 CPU since Skylake-SP has all four).
  const bool avx2 = b & (1u << 5);
  const bool avx512f = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));
  f.avx2_fma = avx2 && fma && f16c && os_ymm;  // F16C: every AVX2 CPU has it; the float16 weights load with it
  f.avx512f = f.avx2_fma && avx512f && os_zmm;
  return f;
}

const Features& features() {
  static const Features f = detect();
  return f;
}

Isa choose_active() {
  const char* env = std::getenv("ZOOHUB_CPU_ISA");
  if (env == nullptr || *env == '\0') return best_isa();
  Isa isa;
  try {
    isa = parse_isa(env);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("ZOOHUB_CPU_ISA: ") + e.what());
  }
  check_isa(isa, "ZOOHUB_CPU_ISA");
  return isa;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Avx512Emulated: return "avx512-emulated";
  }
  return "unknown";
}

Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::Scalar;
  if (name == "avx2") return Isa::Avx2;
  if (name == "avx512") return Isa::Avx512;
  if (name == "avx512-emulated") return Isa::Avx512Emulated;
  throw std::invalid_argument("unknown ISA '" + name + "'; choose one of scalar, avx2, avx512, avx512-emulated");
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return features().avx2_fma;
    case Isa::Avx512: return features().avx512f;
    case Isa::Avx512Emulated: return ZOOHUB_HAVE_SIMDE && features().avx2_fma;  // built for AVX2
  }
  return false;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Emulated})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa best_isa() {
  for (Isa isa : {Isa::Avx512, Isa::Avx2})
    if (isa_supported(isa)) return isa;
  return Isa::Scalar;
}

Isa active_isa() {
  static const Isa isa = choose_active();
  return isa;
}

namespace {
const char* requirement(Isa isa) {
  if (isa == Isa::Avx512) return "needs AVX-512 F/DQ/BW/VL with OS support";
  if (isa == Isa::Avx512Emulated && !ZOOHUB_HAVE_SIMDE) return "this build has no SIMDe headers";
  return "needs AVX2 and FMA";
}
}  // namespace

void check_isa(Isa isa, const char* what) {
  if (isa_supported(isa)) return;
  std::string have;
  for (Isa a : available_isas()) have += std::string(have.empty() ? "" : ", ") + isa_name(a);
  throw std::runtime_error(std::string(what) + ": this CPU cannot run " + isa_name(isa) + " kernels (" +
                           requirement(isa) + "); available here: " + have +
                           ". Unset ZOOHUB_CPU_ISA or pick one of those.");
}

}  // namespace zh::cpu
