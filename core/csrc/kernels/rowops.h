// Row-wise and elementwise float32 kernels on the pool. Rows are `n` contiguous floats, consecutive rows `ld`
// floats apart (ld >= n); outputs may alias inputs. Every function takes the ISA last (default: active).
#pragma once
#include <cstdint>

#include "kernels/cpu_isa.h"
#include "kernels/kernel_table.h"

namespace zh::cpu {

// y = softmax(x) over each row (max-subtracted, so large inputs do not overflow).
void softmax_rows(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows, int64_t n, Isa isa = active_isa());
// y = x - max - log(sum(exp(x - max))) over each row.
void log_softmax_rows(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows, int64_t n,
                      Isa isa = active_isa());
// y = (x - mean) * rstd * weight + bias per row (weight, bias [n] or null); mean, rstd [rows] or null, for backward.
void layer_norm_rows(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows, int64_t n, const float* weight,
                     const float* bias, float eps, float* mean, float* rstd, Isa isa = active_isa());
// y = gelu(x) over n contiguous floats: exact erf form, or the tanh approximation when tanh_form.
void gelu(const float* x, float* y, int64_t n, bool tanh_form, Isa isa = active_isa());
// y = op(x) over n contiguous floats (exp, relu, gelu, gelu_tanh, sigmoid, silu).
void unary(UnaryOp op, const float* x, float* y, int64_t n, Isa isa = active_isa());
// y = a op b over n contiguous floats, or a op b[0] when b_scalar.
void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n, bool b_scalar, Isa isa = active_isa());
// Sum of n contiguous floats: 1024-float blocks summed in float, blocks added in double in order (thread-independent).
double sum(const float* x, int64_t n, Isa isa = active_isa());
// out[r] = sum of row r, rows of n floats ld apart.
void sum_rows(const float* x, int64_t ldx, int64_t rows, int64_t n, float* out, Isa isa = active_isa());

}  // namespace zh::cpu
