// scaled_dot_product_attention, one (batch, head) at a time: scores = scale q k^T (+ mask) in a [L, S] scratch
// matrix, softmax rows (their log-sum-exp is kept), then P v. The backward recomputes P from q, k and the kept
// log-sum-exp, so no [batch, heads, L, S] tensor is ever stored. Dropout on P draws its keep mask from a
// counter-based hash of a seed taken from core's generator, so the backward regenerates the same mask.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <limits>

#include "kernels/attention.h"
#include "kernels/threadpool.h"
#include "ops/dispatch.h"
#include "ops/nn_common.h"
#include "ops/nn_gemm.h"
#include "ops/op_table.h"
#include "ops/ops_nn.h"

namespace zh {

ZH_REGISTER_OPS(true, "scaled_dot_product_attention");

namespace nn {

// Uniform [0, 1) for element `index` of the dropout mask: splitmix64 of seed and index.
inline double keep_uniform(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

struct AttnShape {
  int64_t B, L, S, E, Ev;
  double scale;
  bool causal;
  double dropout;
  uint64_t seed;
};

// A mask over [B, L, S] given by element strides (0 where broadcast); kind 0 none, 1 bool, 2 additive.
template <typename T>
struct AttnMask {
  int kind = 0;
  const void* data = nullptr;
  std::vector<int64_t> batch_offset;  // per flattened batch index
  int64_t sl = 0, ss = 0;
  T add(int64_t b, int64_t i, int64_t j) const {
    const int64_t off = batch_offset[b] + i * sl + j * ss;
    if (kind == 1) return static_cast<const uint8_t*>(data)[off] ? T(0) : -std::numeric_limits<T>::infinity();
    return static_cast<const T*>(data)[off];
  }
};

// scores[i, j] = scale q_i . k_j + mask, -inf where causal hides j > i.
template <typename T>
void attention_scores(const T* q, const T* k, const AttnShape& a, const AttnMask<T>& m, int64_t b, T* s) {
  gemm<T>(false, true, a.L, a.S, a.E, static_cast<T>(a.scale), q, a.E, k, a.E, T(0), s, a.S);
  if (m.kind == 0 && !a.causal) return;
  for (int64_t i = 0; i < a.L; ++i)
    for (int64_t j = 0; j < a.S; ++j) {
      T& v = s[i * a.S + j];
      if (a.causal && j > i) v = -std::numeric_limits<T>::infinity();
      else if (m.kind) v += m.add(b, i, j);
    }
}

// Softmax rows of s in place, writing each row's log-sum-exp.
template <typename T>
void softmax_rows_lse(T* s, int64_t L, int64_t S, T* lse) {
  for (int64_t i = 0; i < L; ++i) {
    T* row = s + i * S;
    auto [mx, sum] = max_and_expsum(row, S);
    if (mx == -std::numeric_limits<T>::infinity()) {  // every key masked: no weight anywhere, as PyTorch 2.13
      std::fill(row, row + S, T(0));
      lse[i] = mx;
      continue;
    }
    const double l = static_cast<double>(mx) + std::log(sum);
    for (int64_t j = 0; j < S; ++j) row[j] = static_cast<T>(std::exp(static_cast<double>(row[j]) - l));
    lse[i] = static_cast<T>(l);
  }
}

// p[i, j] *= keep / (1 - dropout) for batch b.
template <typename T>
void apply_dropout(T* p, const AttnShape& a, int64_t b) {
  const double keep = 1.0 - a.dropout, inv = keep > 0 ? 1.0 / keep : 0.0;
  for (int64_t i = 0; i < a.L; ++i)
    for (int64_t j = 0; j < a.S; ++j) {
      const uint64_t index = (static_cast<uint64_t>(b) * a.L + i) * a.S + j;
      p[i * a.S + j] = keep_uniform(a.seed, index) < keep ? static_cast<T>(p[i * a.S + j] * inv) : T(0);
    }
}

struct Operands {
  std::vector<int64_t> q, k, v;  // element offset of each flattened batch's [rows, cols] matrix
};

// float32 without dropout and with no mask, or an additive mask contiguous along keys: the fused kernel (online
// softmax in key blocks, no [L, S] scratch). Returns false when the reference loop below has to run.
inline bool attention_forward_fused(const float* q, const float* k, const float* v, const Operands& off,
                                    const AttnShape& a, const AttnMask<float>& m, float* out, float* lse) {
  if (a.dropout > 0 || m.kind == 1 || (m.kind == 2 && m.ss != 1 && a.S > 1)) return false;
  cpu::AttnArgs args;
  args.batch = a.B;
  args.heads = 1;
  args.lq = a.L;
  args.lk = a.S;
  args.d = a.E;
  args.dv = a.Ev;
  args.q = {q, 0, 0, a.E, off.q.data()};
  args.k = {k, 0, 0, a.E, off.k.data()};
  args.v = {v, 0, 0, a.Ev, off.v.data()};
  if (m.kind == 2) args.mask = {static_cast<const float*>(m.data), 0, 0, m.sl, m.batch_offset.data()};
  args.out = out;
  args.out_sb = a.L * a.Ev;
  args.out_sl = a.Ev;
  args.lse = lse;
  args.scale = static_cast<float>(a.scale);
  args.causal = a.causal;
  cpu::sdpa_forward(args);
  return true;
}

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, const Operands& off, const AttnShape& a,
                       const AttnMask<T>& m, T* out, T* lse) {
  if constexpr (std::is_same_v<T, float>) {
    if (attention_forward_fused(q, k, v, off, a, m, out, lse)) return;
  }
  cpu::parallel_for(a.B, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> s(static_cast<size_t>(a.L * a.S)), lse_scratch(static_cast<size_t>(a.L));
    for (int64_t b = lo; b < hi; ++b) {
      attention_scores(q + off.q[b], k + off.k[b], a, m, b, s.data());
      softmax_rows_lse(s.data(), a.L, a.S, lse ? lse + b * a.L : lse_scratch.data());
      if (a.dropout > 0) apply_dropout(s.data(), a, b);
      gemm<T>(false, false, a.L, a.Ev, a.S, T(1), s.data(), a.S, v + off.v[b], a.Ev, T(0), out + b * a.L * a.Ev,
              a.Ev);
    }
  });
}

// Gradients in the broadcast layout [B, ...]: dq [B, L, E], dk [B, S, E], dv [B, S, Ev], dmask [B, L, S] (or null).
template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const Operands& off, const AttnShape& a,
                        const AttnMask<T>& m, const T* lse, const T* dout, T* dq, T* dk, T* dv, T* dmask) {
  cpu::parallel_for(a.B, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> p(static_cast<size_t>(a.L * a.S)), dp(static_cast<size_t>(a.L * a.S));
    for (int64_t b = lo; b < hi; ++b) {
      const T *qb = q + off.q[b], *kb = k + off.k[b], *vb = v + off.v[b], *gb = dout + b * a.L * a.Ev;
      attention_scores(qb, kb, a, m, b, p.data());
      for (int64_t i = 0; i < a.L; ++i) {
        const double l = static_cast<double>(lse[b * a.L + i]);  // -inf: every key masked, so P's row is 0
        for (int64_t j = 0; j < a.S; ++j)
          p[i * a.S + j] = l == -INFINITY ? T(0) : static_cast<T>(std::exp(static_cast<double>(p[i * a.S + j]) - l));
      }
      // dP_dropped = dO v^T; with dropout, the same mask scales it back onto P.
      gemm<T>(false, true, a.L, a.S, a.Ev, T(1), gb, a.Ev, vb, a.Ev, T(0), dp.data(), a.S);
      if (a.dropout > 0) apply_dropout(dp.data(), a, b);
      if (dv) {
        // dv = P_dropped^T dO: apply the mask to a copy of P for this product only.
        std::vector<T> pd(p);
        if (a.dropout > 0) apply_dropout(pd.data(), a, b);
        gemm<T>(true, false, a.S, a.Ev, a.L, T(1), pd.data(), a.S, gb, a.Ev, T(0), dv + b * a.S * a.Ev, a.Ev);
      }
      for (int64_t i = 0; i < a.L; ++i) {  // dS = P (dP - sum_j P dP)
        T* pr = p.data() + i * a.S;
        const T* dr = dp.data() + i * a.S;
        double dot = 0;
        for (int64_t j = 0; j < a.S; ++j) dot += static_cast<double>(pr[j]) * dr[j];
        for (int64_t j = 0; j < a.S; ++j) pr[j] = static_cast<T>(pr[j] * (dr[j] - dot));
      }
      if (dmask) std::copy(p.begin(), p.end(), dmask + b * a.L * a.S);
      const T sc = static_cast<T>(a.scale);
      if (dq) gemm<T>(false, false, a.L, a.E, a.S, sc, p.data(), a.S, kb, a.E, T(0), dq + b * a.L * a.E, a.E);
      if (dk) gemm<T>(true, false, a.S, a.E, a.L, sc, p.data(), a.S, qb, a.E, T(0), dk + b * a.S * a.E, a.E);
    }
  });
}

namespace {

// Element offset of each flattened batch index of an expanded tensor (the last two dims excluded).
std::vector<int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
  const int64_t B = numel_of(batch), nb = static_cast<int64_t>(batch.size());
  std::vector<int64_t> off(B);
  for (int64_t b = 0; b < B; ++b) {
    int64_t rem = b, o = 0;
    for (int64_t d = nb - 1; d >= 0; --d) {
      o += (rem % batch[d]) * t.strides()[d];
      rem /= batch[d];
    }
    off[b] = o;
  }
  return off;
}

// x when each of its trailing [rows, cols] matrices is already row-major with rows cols apart (whatever the
// strides of the dims before: batch_offsets reads those), else a contiguous copy. A decoder's key/value cache
// sliced to its filled positions is such a view, so attending over it copies nothing.
Tensor rows_contiguous(const Tensor& x) {
  const int64_t n = x.dim();
  if (n < 2) return contiguous(x);
  const Shape& sh = x.shape();
  const auto& st = x.strides();
  const bool row_major = (sh[n - 1] <= 1 || st[n - 1] == 1) && (sh[n - 2] <= 1 || st[n - 2] == sh[n - 1]);
  return row_major ? x : contiguous(x);
}

Shape with_last(Shape batch, int64_t r, int64_t c) {
  batch.push_back(r);
  batch.push_back(c);
  return batch;
}

}  // namespace
}  // namespace nn

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale) {
  using namespace nn;
  const char* op = "scaled_dot_product_attention";
  if (query.dim() < 2 || key.dim() < 2 || value.dim() < 2)
    value_error(op, ": query, key and value need at least 2 dims (..., L, E), got shapes ", shape_str(query.shape()),
                ", ", shape_str(key.shape()), ", ", shape_str(value.shape()));
  const int64_t L = query.shape()[query.dim() - 2], E = query.shape().back();
  const int64_t S = key.shape()[key.dim() - 2], Ev = value.shape().back();
  if (key.shape().back() != E)
    value_error(op, ": query of shape ", shape_str(query.shape()), " and key of shape ", shape_str(key.shape()),
                " differ in the embedding dim (", E, " vs ", key.shape().back(), ")");
  if (value.shape()[value.dim() - 2] != S)
    value_error(op, ": key of shape ", shape_str(key.shape()), " and value of shape ", shape_str(value.shape()),
                " differ in the sequence length (", S, " vs ", value.shape()[value.dim() - 2], ")");
  Shape qb(query.shape().begin(), query.shape().end() - 2), kb(key.shape().begin(), key.shape().end() - 2),
      vb(value.shape().begin(), value.shape().end() - 2);
  Shape batch = broadcast_shapes(broadcast_shapes(qb, kb, op), vb, op);
  if (!(dropout_p >= 0.0 && dropout_p <= 1.0)) value_error(op, ": dropout_p must be in [0, 1], got ", dropout_p);
  if (is_causal && attn_mask.defined())
    value_error(op, ": pass either attn_mask or is_causal=True, not both");
  Tensor q = float_operand(query, op, "query"), k = float_operand(key, op, "key");
  Tensor v = float_operand(value, op, "value");
  if (k.dtype() != q.dtype() || v.dtype() != q.dtype())
    type_error(op, ": query, key and value must share a dtype, got ", dtype_name(query.dtype()), ", ",
               dtype_name(key.dtype()), ", ", dtype_name(value.dtype()));
  const DType dt = q.dtype();
  Tensor mask;  // graph input when it is an additive float mask
  int mask_kind = 0;
  if (attn_mask.defined()) {
    if (attn_mask.dtype() == DType::Bool) {
      mask_kind = 1;
    } else if (is_floating(attn_mask.dtype())) {
      mask_kind = 2;
      mask = to_dtype(attn_mask, dt);
    } else {
      type_error(op, ": attn_mask must be a bool or floating point tensor, got ", dtype_name(attn_mask.dtype()));
    }
    Shape full_shape = with_last(batch, L, S);
    const Shape& ms = attn_mask.shape();
    bool fits = ms.size() <= full_shape.size();
    for (size_t i = 0; fits && i < ms.size(); ++i) {
      const int64_t want = full_shape[full_shape.size() - ms.size() + i];
      fits = ms[i] == want || ms[i] == 1;
    }
    if (!fits)
      value_error(op, ": attn_mask of shape ", shape_str(attn_mask.shape()),
                  " does not broadcast to the scores' shape ",
                  shape_str(full_shape));
  }
  AttnShape a{numel_of(batch), L, S, E, Ev, scale ? *scale : 1.0 / std::sqrt(static_cast<double>(E)), is_causal,
              dropout_p, 0};
  if (dropout_p > 0) {
    Tensor s = randint(0, std::numeric_limits<int64_t>::max(), {}, DType::Int64);
    a.seed = static_cast<uint64_t>(*s.data<int64_t>());
  }
  Tensor qe, ke, ve, me;
  Operands off;
  {
    NoGradGuard ng;
    qe = expand(rows_contiguous(detach(q)), with_last(batch, L, E));
    ke = expand(rows_contiguous(detach(k)), with_last(batch, S, E));
    ve = expand(rows_contiguous(detach(v)), with_last(batch, S, Ev));
    off.q = batch_offsets(qe, batch);
    off.k = batch_offsets(ke, batch);
    off.v = batch_offsets(ve, batch);
    if (mask_kind) me = expand(mask_kind == 1 ? detach(attn_mask) : detach(mask), with_last(batch, L, S));
  }
  const bool grad = GradMode::enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad() ||
                                            (mask.defined() && mask.requires_grad()));
  Tensor out = empty(with_last(batch, L, Ev), dt), lse = grad ? empty({a.B, L}, dt) : Tensor();
  dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    AttnMask<T> m;
    if (mask_kind) {
      m.kind = mask_kind;
      m.data = me.data_ptr();
      m.batch_offset = batch_offsets(me, batch);
      m.sl = me.strides()[me.dim() - 2];
      m.ss = me.strides()[me.dim() - 1];
    }
    attention_forward<T>(qe.data<T>(), ke.data<T>(), ve.data<T>(), off, a, m, out.data<T>(),
                         grad ? lse.data<T>() : nullptr);
  });
  if (!grad) return to_dtype(out, query.dtype());
  Shape qs = q.shape(), ks = k.shape(), vs = v.shape(), ms = mask.defined() ? mask.shape() : Shape{};
  out = attach(op, out, {q, k, v, mask}, {q, k, v, mask_kind == 1 ? attn_mask : mask},
               [q, k, v, mask, qe, ke, ve, me, off, a, lse, mask_kind, batch, qs, ks, vs, ms](const Tensor& g,
                                                                              const std::vector<bool>& needs) {
                 Tensor gc = contiguous(detach(g));
                 const DType dt = gc.dtype();
                 Tensor dq = needs[0] ? empty(with_last(batch, a.L, a.E), dt) : Tensor();
                 Tensor dk = needs[1] ? empty(with_last(batch, a.S, a.E), dt) : Tensor();
                 Tensor dv = needs[2] ? empty(with_last(batch, a.S, a.Ev), dt) : Tensor();
                 Tensor dm = needs[3] ? empty(with_last(batch, a.L, a.S), dt) : Tensor();
                 dispatch_float(dt, "scaled_dot_product_attention", [&](auto tag) {
                   using T = decltype(tag);
                   AttnMask<T> m;
                   if (mask_kind) {
                     m.kind = mask_kind;
                     m.data = me.data_ptr();
                     m.batch_offset = batch_offsets(me, batch);
                     m.sl = me.strides()[me.dim() - 2];
                     m.ss = me.strides()[me.dim() - 1];
                   }
                   auto ptr = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
                   attention_backward<T>(qe.data<T>(), ke.data<T>(), ve.data<T>(), off, a, m, lse.data<T>(),
                                         gc.data<T>(), ptr(dq), ptr(dk), ptr(dv), ptr(dm));
                 });
                 Grads r(4);
                 if (needs[0]) r[0] = sum_to_shape(dq, qs);
                 if (needs[1]) r[1] = sum_to_shape(dk, ks);
                 if (needs[2]) r[2] = sum_to_shape(dv, vs);
                 if (needs[3]) r[3] = sum_to_shape(dm, ms);
                 const char* name = "scaled_dot_product_attention";
                 for (Tensor& t : r) t = second_order_guard(name, t, {g, q, k, v, mask});
                 return r;
               });
  return to_dtype(out, query.dtype());
}

}  // namespace zh
