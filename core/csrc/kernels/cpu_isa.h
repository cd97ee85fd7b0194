// Which SIMD instruction set the kernels run with: detected from CPUID (and the OS's saved register state
// via xgetbv), overridable with ZOOHUB_CPU_ISA=scalar|avx2|avx512|avx512-emulated. The last is the AVX-512 kernels'
// code compiled over emulated intrinsics for AVX2 CPUs (kernels_avx512_on_avx2.cpp): for testing, never chosen
// by default.
#pragma once
#include <string>
#include <vector>

namespace zh::cpu {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Emulated = 3 };

const char* isa_name(Isa isa);                 // "scalar", "avx2", "avx512" or "avx512-emulated"
Isa parse_isa(const std::string& name);        // name -> Isa; throws std::invalid_argument naming the choices
bool isa_supported(Isa isa);                   // CPU and OS can run this ISA's kernels
std::vector<Isa> available_isas();             // every supported ISA, scalar first
Isa best_isa();                                // the widest supported ISA that runs natively
Isa active_isa();                              // ZOOHUB_CPU_ISA if set (validated), else best_isa(); fixed at first call
void check_isa(Isa isa, const char* what);     // throws std::runtime_error if `isa` cannot run here

}  // namespace zh::cpu
