// matmul with PyTorch's rules (1-d operands, broadcast batch dims) over the GEMM kernels. Operands whose
// last two dims are row- or column-major go to GEMM as they are (a transpose flag, no copy).
#include "autograd/autograd.h"
#include "kernels/gemm.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/op_table.h"
#include "ops/ops.h"

namespace zh {

ZH_REGISTER_OPS(true, "matmul", "bmm", "linear", "mm");

using Grads = std::vector<Tensor>;

namespace {

// How a [.., R, C] operand's last two dims reach GEMM: row-major with leading dim, or transposed.
struct Operand {
  Tensor t;
  bool trans;
  int64_t ld;
};

Operand as_gemm_operand(const Tensor& t) {
  const int64_t n = t.dim();
  const int64_t rows = t.shape()[n - 2], cols = t.shape()[n - 1];
  const int64_t rs = t.strides()[n - 2], cs = t.strides()[n - 1];
  if (cs == 1 && (rs >= cols || rows == 1)) return {t, false, std::max<int64_t>(rows == 1 ? cols : rs, 1)};
  if (rs == 1 && (cs >= rows || cols == 1)) return {t, true, std::max<int64_t>(cols == 1 ? rows : cs, 1)};
  Tensor c = contiguous(t);
  return {c, false, std::max<int64_t>(cols, 1)};
}

template <typename T>
void gemm_any(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb,
              T* C, int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    cpu::sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
  } else if constexpr (std::is_same_v<T, double>) {
    cpu::dgemm(ta, tb, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, ldc);
  } else {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        T acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
        C[i * ldc + j] = acc;
      }
  }
}

// a [..., M, K] @ b [..., K, N] with broadcast batch dims, both >= 2-d, same dtype.
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1], N = b.shape()[b.dim() - 1];
  if (b.shape()[b.dim() - 2] != K)
    value_error("matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
                " do not match on the inner dimension ", K, " != ", b.shape()[b.dim() - 2]);
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb, "matmul");
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  Tensor ae = expand(a, sa), be = expand(b, sb);
  DType ct = compute_dtype(a.dtype());
  Tensor ac = to_dtype(ae, ct), bc = to_dtype(be, ct);
  Operand A = as_gemm_operand(detach(ac)), B = as_gemm_operand(detach(bc));
  Tensor out = empty(so, ct);
  const int64_t nb = numel_of(batch);
  dispatch_compute(ct, "matmul", [&](auto tag) {
    using T = decltype(tag);
    if (K == 0) {
      fill_(out, 0);
      return;
    }
    T* o = out.data<T>();
    const int64_t nd = static_cast<int64_t>(batch.size());
    for (int64_t i = 0; i < nb; ++i) {
      int64_t rem = i, offa = 0, offb = 0;
      for (int64_t d = nd - 1; d >= 0; --d) {
        int64_t k = rem % batch[d];
        rem /= batch[d];
        offa += k * A.t.strides()[d];
        offb += k * B.t.strides()[d];
      }
      gemm_any<T>(A.trans, B.trans, M, N, K, A.t.data<T>() + offa, A.ld, B.t.data<T>() + offb, B.ld, o + i * M * N,
                  std::max<int64_t>(N, 1));
    }
  });
  // a's gradient reads b and b's reads a, as PyTorch's mm saves them; the operands themselves, not detached
  // copies, so that under create_graph the gradients are differentiable functions of them
  out = attach("matmul", out, {ac, bc}, {{bc, grad_of(0)}, {ac, grad_of(1)}},
               [ac, bc](const Tensor& g, const std::vector<bool>& n) {
                 Grads r(2);
                 if (n[0]) r[0] = matmul(g, transpose(bc, -1, -2));
                 if (n[1]) r[1] = matmul(transpose(ac, -1, -2), g);
                 return r;
               });
  return to_dtype(out, a.dtype());
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() == 0 || b.dim() == 0)
    value_error("matmul: both arguments need at least 1 dimension, got shapes ", shape_str(a.shape()), " and ",
                shape_str(b.shape()));
  if (a.dtype() != b.dtype())
    type_error("matmul: expected both operands to have the same dtype, got ", dtype_name(a.dtype()), " and ",
               dtype_name(b.dtype()));
  if (a.dtype() == DType::Bool) type_error("matmul: not supported for bool tensors");
  if (a.dim() == 1 && b.dim() == 1) {
    if (a.shape()[0] != b.shape()[0])
      value_error("matmul: 1-d operands of shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
                  " differ in length");
    return reshape(matmul_nd(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  }
  if (a.dim() == 1) return squeeze(matmul_nd(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul_nd(a, unsqueeze(b, 1)), -1);
  return matmul_nd(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 3 || b.dim() != 3)
    value_error("bmm: expected 3-d tensors, got shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  if (a.shape()[0] != b.shape()[0])
    value_error("bmm: batch sizes differ: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  return matmul(a, b);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  if (w.dim() != 2) value_error("linear: weight must be 2-d [out, in], got shape ", shape_str(w.shape()));
  if (x.dim() == 0 || x.shape().back() != w.shape()[1])
    value_error("linear: input of shape ", shape_str(x.shape()), " does not match weight of shape ",
                shape_str(w.shape()), " (last input dim must be ", w.shape()[1], ")");
  Tensor y = matmul(x, transpose(w, 0, 1));
  if (bias.defined()) {
    if (bias.dim() != 1 || bias.shape()[0] != w.shape()[0])
      value_error("linear: bias of shape ", shape_str(bias.shape()), " does not match weight of shape ",
                  shape_str(w.shape()));
    y = add(y, bias);
  }
  return y;
}

}  // namespace zh
