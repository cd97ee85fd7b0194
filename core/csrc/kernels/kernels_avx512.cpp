// AVX-512F kernels: the SIMD layer of avx512_layer.h compiled to AVX-512 instructions (16 float lanes).
#include <immintrin.h>

#include "kernels/kernel_table.h"

namespace zh::cpu {
namespace avx512_impl {

constexpr Isa kIsa = Isa::Avx512;
using V = __m512;
using VI = __m512i;
using Mask = __mmask16;

#include "kernels/avx512_layer.h"
#include "kernels/simd_kernels.h"

}  // namespace avx512_impl

const KernelTable& kernels_avx512() { return avx512_impl::kTable; }

}  // namespace zh::cpu
