// Drivers for the row and elementwise kernels: split rows (or one long row) into chunks on the pool and call
// the ISA's table per row or per chunk.
#include "kernels/rowops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/threadpool.h"

namespace zh::cpu {

namespace {

constexpr int64_t kElemGrain = 16384;  // floats per chunk: enough work to pay for a hand-off

int64_t row_grain(int64_t n) { return std::max<int64_t>(1, kElemGrain / std::max<int64_t>(n, 1)); }

template <typename Fn>
void for_rows(int64_t rows, int64_t n, Fn fn) {
  parallel_for(rows, row_grain(n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) fn(r);
  });
}

}  // namespace

void softmax_rows(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows, int64_t n, Isa isa) {
  const KernelTable& t = kernel_table(isa);
  if (n == 0) return;
  for_rows(rows, n, [&](int64_t r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    const float m = t.row_max(xr, n);
    const float s = t.exp_shift_sum(xr, yr, n, m);
    t.axpb(yr, yr, n, 1.0f / s, 0.0f);
  });
}

void log_softmax_rows(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows, int64_t n, Isa isa) {
  const KernelTable& t = kernel_table(isa);
  if (n == 0) return;
  for_rows(rows, n, [&](int64_t r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    const float m = t.row_max(xr, n);
    const float s = t.exp_shift_sum(xr, nullptr, n, m);
    t.axpb(xr, yr, n, 1.0f, -(m + std::log(s)));
  });
}

void layer_norm_rows(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows, int64_t n, const float* weight,
                     const float* bias, float eps, float* mean, float* rstd, Isa isa) {
  const KernelTable& t = kernel_table(isa);
  for_rows(rows, n, [&](int64_t r) {
    float mu, rs;
    t.layer_norm_row(x + r * ldx, y + r * ldy, n, weight, bias, eps, &mu, &rs);
    if (mean != nullptr) mean[r] = mu;
    if (rstd != nullptr) rstd[r] = rs;
  });
}

void unary(UnaryOp op, const float* x, float* y, int64_t n, Isa isa) {
  const KernelTable& t = kernel_table(isa);
  parallel_for(n, kElemGrain, [&](int64_t b, int64_t e) { t.unary(op, x + b, y + b, e - b); });
}

void gelu(const float* x, float* y, int64_t n, bool tanh_form, Isa isa) {
  unary(tanh_form ? UnaryOp::GeluTanh : UnaryOp::Gelu, x, y, n, isa);
}

void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n, bool b_scalar, Isa isa) {
  const KernelTable& t = kernel_table(isa);
  parallel_for(n, kElemGrain, [&](int64_t s, int64_t e) {
    t.binary(op, a + s, b_scalar ? b : b + s, y + s, e - s, b_scalar);
  });
}

double sum(const float* x, int64_t n, Isa isa) {
  const KernelTable& t = kernel_table(isa);
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(blocks));
  parallel_for(blocks, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) part[i] = t.row_sum(x + i * kBlock, std::min(kBlock, n - i * kBlock));
  });
  double total = 0.0;
  for (double p : part) total += p;
  return total;
}

void sum_rows(const float* x, int64_t ldx, int64_t rows, int64_t n, float* out, Isa isa) {
  const KernelTable& t = kernel_table(isa);
  for_rows(rows, n, [&](int64_t r) { out[r] = t.row_sum(x + r * ldx, n); });
}

}  // namespace zh::cpu
