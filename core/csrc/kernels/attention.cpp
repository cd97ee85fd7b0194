// K^T and V of every (batch, head) are packed once into GEMM B-panels; then each task packs its query block once
// and walks key blocks of kGemmKc keys: S = scale Q K^T (+mask, causal), online softmax, O += P V. Few queries or
// few keys skip the packing: the ISA's attn_rows kernel reads the rows in place.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/kernel_table.h"
#include "kernels/threadpool.h"

namespace zh::cpu {

namespace {

// Per-thread grow-only scratch for one task (query block).
struct TaskScratch {
  std::vector<float> qp, s, o, m, l;
};
thread_local TaskScratch tl_task;

void check_args(const AttnArgs& a) {
  if (a.batch < 0 || a.heads < 0 || a.lq < 0 || a.lk < 0 || a.d <= 0 || a.dv <= 0)
    throw std::invalid_argument("sdpa_forward: bad sizes batch=" + std::to_string(a.batch) + " heads=" +
                                std::to_string(a.heads) + " lq=" + std::to_string(a.lq) + " lk=" +
                                std::to_string(a.lk) + " d=" + std::to_string(a.d) + " dv=" + std::to_string(a.dv));
  if (!a.q.data || !a.k.data || !a.v.data || !a.out) throw std::invalid_argument("sdpa_forward: null q, k, v or out");
}

// The row path (q, k and v read in place, no packing) runs for at most this many query rows (a decoding step has
// one to a few queries against up to 1500 keys) or at most this many keys (a short sentence attending to itself):
// there packing K^T and V costs more than the products it speeds up.
constexpr int64_t kFewQueries = kAttnScratchRows;
constexpr int64_t kShortKeys = 32;

// Asks for `rows` rows of n floats, ld apart, to be brought into cache.
void prefetch_rows(const float* p, int64_t rows, int64_t ld, int64_t n) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < n; c += 16) __builtin_prefetch(p + i * ld + c);
}

// The row path: the ISA's attn_rows kernel on each (batch, head). With few keys and queries each head is a
// microsecond or two of work on rows spread over the fused projection's output (3 H D floats apart), which the
// hardware prefetcher does not follow, so the next head's rows are requested while this one runs (in paired runs
// on MiniLM's shapes, 32 sentences x 12 heads of 32, 1.1x at 12 tokens and 1.3x at 24).
void sdpa_rows(const KernelTable& t, const AttnArgs& a) {
  const int64_t H = a.heads;
  parallel_for(a.batch * H, 1, [&](int64_t b0, int64_t e0) {
    std::vector<float>& s = tl_task.s;
    const int64_t rows = std::min(a.lq, kAttnScratchRows), stride = (a.lk + 15) / 16 * 16;
    const bool kt = a.lk <= kShortKeys;  // room for the keys transposed, which the kernel takes for few keys
    s.resize(static_cast<size_t>((rows + (kt ? a.d : 0)) * stride));
    AttnRowArgs r;
    r.lq = a.lq;
    r.lk = a.lk;
    r.d = a.d;
    r.dv = a.dv;
    r.q_ld = a.q.sl;
    r.k_ld = a.k.sl;
    r.v_ld = a.v.sl;
    r.mask_ld = a.mask.sl;
    r.out_ld = a.out_sl;
    r.scale = a.scale;
    r.causal = a.causal;
    r.scratch = s.data();
    r.scratch_rows = rows;
    r.kt_scratch = kt ? s.data() + rows * stride : nullptr;
    const bool prefetch = kt && a.lq <= 2 * kShortKeys;
    for (int64_t bh = b0; bh < e0; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      if (prefetch && bh + 1 < e0) {
        const int64_t nb = (bh + 1) / H, nh = (bh + 1) % H;
        prefetch_rows(a.q.data + a.q.at(nb, nh, H), a.lq, a.q.sl, a.d);
        prefetch_rows(a.k.data + a.k.at(nb, nh, H), a.lk, a.k.sl, a.d);
        prefetch_rows(a.v.data + a.v.at(nb, nh, H), a.lk, a.v.sl, a.dv);
      }
      r.q = a.q.data + a.q.at(b, h, H);
      r.k = a.k.data + a.k.at(b, h, H);
      r.v = a.v.data + a.v.at(b, h, H);
      r.mask = a.mask.data ? a.mask.data + a.mask.at(b, h, H) : nullptr;
      r.out = a.out + b * a.out_sb + h * a.out_sh;
      r.lse = a.lse ? a.lse + bh * a.lq : nullptr;
      t.attn_rows(r);
    }
  });
}

}  // namespace

void sdpa_forward(const AttnArgs& a, Isa isa) {
  check_args(a);
  const KernelTable& t = kernel_table(isa);
  const int64_t B = a.batch, H = a.heads, Lq = a.lq, Lk = a.lk, D = a.d, Dv = a.dv;
  if (B * H * Lq == 0) return;
  if (Lk == 0) {
    // No keys: an empty weighted sum, 0, as PyTorch 2.13 gives (and as for a row with every key masked).
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t i = 0; i < Lq; ++i) {
        float* o = a.out + (bh / H) * a.out_sb + (bh % H) * a.out_sh + i * a.out_sl;
        for (int64_t j = 0; j < Dv; ++j) o[j] = 0.0f;
        if (a.lse) a.lse[bh * Lq + i] = -INFINITY;
      }
    return;
  }
  if (Lq <= kFewQueries || Lk <= kShortKeys) {
    sdpa_rows(t, a);
    return;
  }
  const int64_t bk = kGemmKc;  // one key block is exactly one packed K block of V
  const int64_t bq = t.mr * ((64 + t.mr - 1) / t.mr);
  const int64_t kp_size = packed_floats(Lk, D, t.nr), vp_size = packed_floats(Dv, Lk, t.nr);
  const int64_t npad_k = kp_size / D, npad_v = vp_size / Lk;
  std::vector<float> packed(static_cast<size_t>(B * H * (kp_size + vp_size)));
  auto kp_of = [&](int64_t bh) { return packed.data() + bh * (kp_size + vp_size); };
  auto vp_of = [&](int64_t bh) { return kp_of(bh) + kp_size; };

  parallel_for(B * H * 2, 1, [&](int64_t b0, int64_t e0) {
    for (int64_t item = b0; item < e0; ++item) {
      const int64_t bh = item / 2, b = bh / H, h = bh % H;
      if (item % 2 == 0) {
        // S = Q K^T: op(B) = K^T with K stored [Lk, D], i.e. a transposed B of Lk columns over D.
        pack_b_panel(t, true, a.k.data + a.k.at(b, h, H), a.k.sl, Lk, D, kp_of(bh));
      } else {
        pack_b_panel(t, false, a.v.data + a.v.at(b, h, H), a.v.sl, Dv, Lk, vp_of(bh));
      }
    }
  });

  const int64_t nqb = (Lq + bq - 1) / bq;
  parallel_for(B * H * nqb, 1, [&](int64_t b0, int64_t e0) {
    TaskScratch& w = tl_task;
    w.qp.resize(static_cast<size_t>(packed_floats(bq, D, t.mr)));
    w.s.resize(static_cast<size_t>(bq * bk));
    w.o.resize(static_cast<size_t>(bq * Dv));
    w.m.resize(static_cast<size_t>(bq));
    w.l.resize(static_cast<size_t>(bq));
    for (int64_t task = b0; task < e0; ++task) {
      const int64_t bh = task / nqb, qb = task % nqb, b = bh / H, h = bh % H;
      const int64_t q0 = qb * bq, rows = std::min(bq, Lq - q0);
      pack_a_panel(t, false, a.q.data + a.q.at(b, h, H) + q0 * a.q.sl, a.q.sl, rows, D, w.qp.data());
      std::fill(w.o.begin(), w.o.end(), 0.0f);
      std::fill(w.m.begin(), w.m.end(), -INFINITY);
      std::fill(w.l.begin(), w.l.end(), 0.0f);
      const int64_t k_end = a.causal ? std::min(Lk, q0 + rows) : Lk;
      for (int64_t k0 = 0; k0 < k_end; k0 += bk) {
        const int64_t cols = std::min(bk, Lk - k0);
        float* S = w.s.data();
        gemm_packed(t, rows, cols, D, a.scale, w.qp.data(), kp_of(bh), npad_k, k0 / t.nr, 0.0f, S, bk);
        for (int64_t i = 0; i < rows; ++i) {
          float* srow = S + i * bk;
          if (a.mask.data) {
            const float* mrow = a.mask.data + a.mask.at(b, h, H) + (q0 + i) * a.mask.sl + k0;
            t.binary(BinaryOp::Add, srow, mrow, srow, cols, false);
          }
          if (a.causal)
            for (int64_t j = std::max<int64_t>(0, q0 + i + 1 - k0); j < cols; ++j) srow[j] = -INFINITY;
          const float m_new = std::max(w.m[i], t.row_max(srow, cols));
          if (m_new == -INFINITY) {
            std::fill(srow, srow + cols, 0.0f);
            continue;
          }
          const float corr = std::exp(w.m[i] - m_new);
          w.l[i] = w.l[i] * corr + t.exp_shift_sum(srow, srow, cols, m_new);
          w.m[i] = m_new;
          if (corr != 1.0f) t.axpb(w.o.data() + i * Dv, w.o.data() + i * Dv, Dv, corr, 0.0f);
        }
        // P V with P's rows read where the scores were written (packing them cost 14 % of a 1500-query forward).
        gemm_rows_a(t, rows, Dv, cols, 1.0f, S, bk, vp_of(bh) + k0 * npad_v, npad_v, 1.0f, w.o.data(), Dv);
      }
      for (int64_t i = 0; i < rows; ++i) {
        float* o = a.out + b * a.out_sb + h * a.out_sh + (q0 + i) * a.out_sl;
        if (w.l[i] == 0.0f) std::fill(o, o + Dv, 0.0f);  // every key masked: 0, as PyTorch 2.13
        else t.axpb(w.o.data() + i * Dv, o, Dv, 1.0f / w.l[i], 0.0f);
        if (a.lse) a.lse[bh * Lq + q0 + i] = w.m[i] + std::log(w.l[i]);
      }
    }
  });
}

}  // namespace zh::cpu
