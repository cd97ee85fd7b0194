// Serial stand-ins until the kernels branch lands; deleted at that merge.
#include "kernels/gemm.h"
#include "kernels/threadpool.h"

namespace zh::cpu {
int num_threads() { return 1; }
void set_num_threads(int) {}
void parallel_for(int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
  if (n > 0) fn(0, n);
}
template <typename T>
static void gemm_t(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
                   int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = alpha * acc + (beta == T(0) ? T(0) : beta * C[i * ldc + j]);
    }
}
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc) { gemm_t(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); }
void dgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda, const double* B,
           int64_t ldb, double beta, double* C, int64_t ldc) { gemm_t(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); }
}  // namespace zh::cpu
