// Fused scaled-dot-product attention forward (FlashAttention's online softmax on the CPU): for each block of
// queries, key blocks are scored, the running row max / row sum are updated and the value product accumulated,
// so no Lq x Lk score matrix is ever stored. Threads over batch * heads * query blocks.
#pragma once
#include <cstdint>

#include "kernels/cpu_isa.h"

namespace zh::cpu {

// A [batch, heads, rows, cols] float32 view: element strides of the first three dims; the last dim is contiguous.
struct AttnView {
  const float* data = nullptr;
  int64_t sb = 0, sh = 0, sl = 0;
};

struct AttnArgs {
  int64_t batch = 0, heads = 0, lq = 0, lk = 0, d = 0, dv = 0;
  AttnView q, k, v;      // [B, H, Lq, D], [B, H, Lk, D], [B, H, Lk, Dv]
  AttnView mask;         // additive [B, H, Lq, Lk] (strides may be 0 to broadcast) or data == null
  float* out = nullptr;  // [B, H, Lq, Dv] with strides out_sb, out_sh, out_sl
  int64_t out_sb = 0, out_sh = 0, out_sl = 0;
  float* lse = nullptr;  // [B, H, Lq] contiguous: m + log(l) per query row (for a recomputing backward), or null
  float scale = 1.0f;    // usually 1 / sqrt(D)
  bool causal = false;   // query i sees keys j <= i (top-left aligned, as PyTorch's is_causal)
};

// out = softmax(scale * q k^T + mask (+ causal)) v; a row whose keys are all masked gets NaN (as PyTorch).
void sdpa_forward(const AttnArgs& a, Isa isa = active_isa());

}  // namespace zh::cpu
