// The AVX-512 kernels for CPUs that have only AVX2: the same layer (avx512_layer.h) and kernels as
// kernels_avx512.cpp, compiled over emulated intrinsics (avx512_emulation.h) with AVX2 flags. Slower than the
// avx2 kernels and never chosen by default: ZOOHUB_CPU_ISA=avx512-emulated (or isa="avx512-emulated" in the
// kernel tests) runs it, so the AVX-512 code is tested on every machine that builds with SIMDe.
#include "kernels/kernel_table.h"

#if ZOOHUB_HAVE_SIMDE
#include "kernels/avx512_emulation.h"

namespace zh::cpu {
namespace avx512_emulated_impl {

constexpr Isa kIsa = Isa::Avx512Emulated;
using V = simde__m512;
using VI = simde__m512i;
using Mask = simde__mmask16;

#include "kernels/avx512_layer.h"
#include "kernels/simd_kernels.h"

}  // namespace avx512_emulated_impl

const KernelTable& kernels_avx512_emulated() { return avx512_emulated_impl::kTable; }

}  // namespace zh::cpu
#endif
