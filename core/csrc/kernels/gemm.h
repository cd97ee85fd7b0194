// Matrix products on row-major operands. op(X) is X or X^T as the trans flag says; transposes are absorbed by
// the packing step (no copy of the operand). Threads split the output in blocks of rows and columns; the
// K-loop order never depends on the thread count, so results are bit-for-bit the same for any thread count.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>

#include "kernels/cpu_isa.h"
#include "kernels/kernel_table.h"

namespace zh::cpu {

using Epilogue = Act;  // Epilogue::None / Relu / Gelu (erf) / GeluTanh, applied after the bias

// C[M x N] (ldc) = alpha * op(A)[M x K] (lda) op(B)[K x N] (ldb) + beta * C, with the active ISA, on the pool.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Same with an explicit ISA (tests and benchmarks force each one).
void sgemm_isa(Isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Same, on the calling thread only: for use inside a parallel_for body (attention blocks, per-batch work).
void sgemm_serial(Isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Float64 product (gradient checks, float64 models): blocked, threaded over rows, no SIMD-specific code.
void dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
           const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

// A Linear weight W [out_features x in_features] re-laid once into the sgemm B-panel layout of one ISA.
struct PackedWeight {
  Isa isa = Isa::Scalar;
  int64_t out_features = 0, in_features = 0;
  int64_t kc = 0, nr = 0, npad = 0;  // K block, sliver width, out_features rounded up to nr
  std::shared_ptr<float> data;       // npad * in_features floats, 64-byte aligned
};
// Packs W (row stride ldw >= in_features) for the given ISA; y = x W^T then needs no transpose or copy.
PackedWeight pack_weight(const float* w, int64_t out_features, int64_t in_features, int64_t ldw, Isa isa);
PackedWeight pack_weight(const float* w, int64_t out_features, int64_t in_features, int64_t ldw);  // active ISA
// y[rows x out] (ldy) = epilogue(x[rows x in] (ldx) W^T + bias) + res, bias [out] or null, res [rows x out] (ldr)
// or null (a residual added in the epilogue, while the row is in L1); runs with w.isa.
void linear_packed(const float* x, int64_t rows, int64_t ldx, const PackedWeight& w, const float* bias,
                   Epilogue epilogue, float* y, int64_t ldy, const float* res = nullptr, int64_t ldr = 0);

// A Linear weight whose every value is exactly a float16 (a checkpoint shipped in float16 and widened on import),
// stored as float16 in PackedWeight's layout. Its linear_packed computes with float32 arithmetic in the order of the
// packed GEMM, so its results are bit for bit those of linear_packed on the float32 weight while it streams half
// the bytes: the products of a few rows (a decoding step) are bound by reading the weight.
struct HalfWeight {
  Isa isa = Isa::Scalar;
  int64_t out_features = 0, in_features = 0;
  int64_t kc = 0, nr = 0, npad = 0;
  std::shared_ptr<uint16_t> data;  // npad * in_features halves, 64-byte aligned
};
// The float16 copy of W, or nothing (has_value() false) when some value of W is not exactly a float16.
std::optional<HalfWeight> pack_weight_half(const float* w, int64_t out_features, int64_t in_features, int64_t ldw,
                                           Isa isa);
// y[rows x out] (ldy) = epilogue(x[rows x in] (ldx) W^T + bias) + res on the float16 copy; runs with w.isa. Any
// row count works; it pays off for a few rows, where reading W is the cost (a large product is faster with the
// float32 PackedWeight: half_block takes kHalfRows rows at a time and widens W again for each such group).
void linear_packed(const float* x, int64_t rows, int64_t ldx, const HalfWeight& w, const float* bias,
                   Epilogue epilogue, float* y, int64_t ldy, const float* res = nullptr, int64_t ldr = 0);

// Pieces for fused kernels that keep operands packed across several products (all on the calling thread).
// A panel is packed in K blocks of kGemmKc; block k0 starts at k0 * pad, sliver s of it at s * width * kcb.
constexpr int64_t kGemmKc = 256;
int64_t packed_floats(int64_t extent, int64_t K, int64_t width);  // size of a packed panel: round_up(extent) * K
void pack_a_panel(const KernelTable& t, bool trans_a, const float* A, int64_t lda, int64_t m, int64_t K, float* dst);
void pack_b_panel(const KernelTable& t, bool trans_b, const float* B, int64_t ldb, int64_t n, int64_t K, float* dst);
// C[m x n] = alpha * Ap Bp + beta C (K > 0), Bp's columns from sliver b_sliver0 of a panel npad_b columns wide.
void gemm_packed(const KernelTable& t, int64_t m, int64_t n, int64_t K, float alpha, const float* ap, const float* bp,
                 int64_t npad_b, int64_t b_sliver0, float beta, float* C, int64_t ldc);
// The same with A read in place (m rows, lda apart, K floats each):
// for an A that is produced once and used once, where packing it would cost more than the product gains.
void gemm_rows_a(const KernelTable& t, int64_t m, int64_t n, int64_t K, float alpha, const float* a, int64_t lda,
                 const float* bp, int64_t npad_b, float beta, float* C, int64_t ldc);

}  // namespace zh::cpu
