// The per-ISA kernel table: kernels_scalar.cpp, kernels_avx2.cpp and kernels_avx512.cpp (and, for testing,
// kernels_avx512_on_avx2.cpp) each compile the same kernel source (simd_kernels.h) over their own SIMD layer with
// their own compiler flags and export one table.
// Portable drivers (gemm.cpp, rowops.cpp, attention.cpp) pick a table by ISA and never touch intrinsics.
#pragma once
#include <cstdint>

#include "kernels/cpu_isa.h"

namespace zh::cpu {

enum class Act { None = 0, Relu = 1, Gelu = 2, GeluTanh = 3 };
enum class UnaryOp { Exp = 0, Relu = 1, Gelu = 2, GeluTanh = 3, Sigmoid = 4, Silu = 5 };
enum class BinaryOp { Add = 0, Sub = 1, Mul = 2, Div = 3 };

constexpr int64_t kAttnScratchRows = 8;

// One (batch, head) of attention read in place (see attn_rows): rows of q, k, v, mask and out are *_ld floats apart.
struct AttnRowArgs {
  int64_t lq = 0, lk = 0, d = 0, dv = 0;
  const float *q = nullptr, *k = nullptr, *v = nullptr;
  const float* mask = nullptr;  // additive [lq, lk] rows, or null
  int64_t q_ld = 0, k_ld = 0, v_ld = 0, mask_ld = 0;
  float* out = nullptr;
  int64_t out_ld = 0;
  float* lse = nullptr;      // lq floats (max + log(sum) per row) or null
  float scale = 1.0f;
  bool causal = false;       // row i sees keys j <= i
  float* scratch = nullptr;  // scratch_rows x round_up(lk, 16) floats
  int64_t scratch_rows = 1;  // 1 .. kAttnScratchRows query rows are scored before their sums of V rows
  float* kt_scratch = nullptr;  // d x round_up(lk, 16) floats for the keys transposed, or null (not offered)
};

struct KernelTable {
  Isa isa;
  int mr, nr;  // sgemm register tile: packed A slivers are mr rows wide, packed B slivers nr columns
  // c[mr x nr] (row stride ldc) = alpha * a_packed[kc x mr]^T b_packed[kc x nr] + beta * c; beta == 0 never reads c.
  void (*sgemm_tile)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta);
  // The same with A read in place: row i of the mr rows at a + i * lda (kc floats each), not a packed sliver.
  void (*sgemm_tile_rows)(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, float alpha,
                          float beta);
  // The first `rows` (1 .. mr - 1) rows of either (lda == 0: a packed sliver), nothing computed or read past them.
  void (*sgemm_tile_few)(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                         float alpha, float beta);
  // dst[k * width + r] = src[r * ld + k] for r < rows (rows <= width), 0 for rows <= r < width, k < kc: one packed
  // sliver of a row-major operand read along its rows (A untransposed, B transposed).
  void (*pack_rows)(const float* src, int64_t ld, int64_t rows, int64_t kc, int width, float* dst);
  // Columns [0, cols) of kc rows of src (row stride ld), sliver s (`width` columns, zero padded) at
  // dst + s * sliver_stride as [k][width]: B untransposed.
  void (*pack_cols)(const float* src, int64_t ld, int64_t cols, int64_t kc, int width, float* dst,
                    int64_t sliver_stride);
  float (*row_max)(const float* x, int64_t n);                                   // -inf for n == 0
  float (*row_sum)(const float* x, int64_t n);                                   // fixed summation order
  // y = exp(x - shift) (y may be null); sum. shift >= max(x) (a softmax): x - shift above 0 counts as 0
  float (*exp_shift_sum)(const float* x, float* y, int64_t n, float shift);
  void (*axpb)(const float* x, float* y, int64_t n, float a, float b);           // y = a * x + b
  // y = (x - mean) * rstd * w + b over one row (w, b may be null), writes mean and rstd.
  void (*layer_norm_row)(const float* x, float* y, int64_t n, const float* w, const float* b, float eps, float* mean,
                         float* rstd);
  void (*unary)(UnaryOp op, const float* x, float* y, int64_t n);
  // y = a op b, or a op b[0] when b_scalar.
  void (*binary)(BinaryOp op, const float* a, const float* b, float* y, int64_t n, bool b_scalar);
  // y = act(y + bias) + res in place; bias and res may be null
  void (*bias_act)(float* y, int64_t n, const float* bias, Act act, const float* res);
  // out_i = softmax(scale q_i K^T + mask_i) V for every query row, straight from the rows (no packing).
  void (*attn_rows)(const AttnRowArgs& a);
  // out[rows x slivers * nr] (row stride ldo) = (first ? 0 : out) + x[rows x kcb] (row stride ldx) times `slivers`
  // float16 slivers of one K block ([k][nr] each, kcb * nr apart); rows <= kHalfRows, slivers <= kHalfSlivers.
  void (*half_block)(int64_t rows, int64_t kcb, const float* x, int64_t ldx, const uint16_t* b, int64_t slivers,
                     float* out, int64_t ldo, bool first);
};
constexpr int kHalfRows = 6, kHalfSlivers = 4;

const KernelTable& kernels_scalar();
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();
const KernelTable& kernels_avx512_emulated();  // only in builds with SIMDe (ZOOHUB_HAVE_SIMDE)
const KernelTable& kernel_table(Isa isa);  // checks the CPU can run it (std::runtime_error otherwise)

}  // namespace zh::cpu
