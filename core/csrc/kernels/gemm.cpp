// The sgemm driver (a BLIS-like loop nest, our code): op(A) and op(B) are packed per panel into slivers of mr rows
// and nr columns, K in blocks of kc; per K block a group of B slivers stays in L2 and one A sliver in L1 (see
// compute_block); the register tile and the packing kernels come from the ISA's table. Threads take (row block,
// column block) tasks of the output.
#include "kernels/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/threadpool.h"
#include "tensor/dtype.h"

namespace zh::cpu {

namespace {

constexpr int64_t kPanelRows = 2048, kPanelCols = 2048;  // bounds the packing buffers for huge operands
constexpr int64_t kKc = kGemmKc;
constexpr double kSerialFlops = 80.0 * 80.0 * 80.0;      // below this a pool hand-off costs more than it saves

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
// Cache blocking per ISA: K blocks of kc, row blocks of mc rows (a task's rows, rounded down to whole A slivers:
// each B group, see compute_block, loaded into L2 serves this many rows before the next is loaded), column groups of
// nc. AVX2's were measured on Zen 3 (L1d 32 KiB, L2 512 KiB): mc 360 rather than 128 was 4-10 % faster at n = 1024
// and 2048 and on the MiniLM and Whisper shapes, no slower at n <= 512 (paired, interleaved runs in one process).
// AVX-512's on a Xeon with AVX-512 (L1d 48 KiB, L2 2 MiB): K blocks of 512, 180-row blocks and 256-column groups
// against AVX2's 256 / 360 / 128, one thread, two runs each in turn with numpy: 2048^3 0.88-0.90x -> 0.94-0.96x of
// numpy, the Whisper and MiniLM shapes 1-3 % faster, n <= 1024 unchanged (docs/performance.md).
// A product of at most `whole` rows takes them in one block: each row block reads all of B once more, and a B
// group that served the first block is out of L2 by the time the second needs it when B is larger than L2. On the
// Xeon, MiniLM's 24 products in model order at 364 rows (42 MB of weights, so each comes from memory) ran at
// 140-144 GFLOP/s in two 180-row blocks and 146-150 in one. MiniLM at batch 32, eight runs of each taking turns in
// one process: one thread, median 519 -> 539 sentences/s; two threads unchanged (910 and 920). 256^3 on two
// threads 196 -> 229 GFLOP/s. 512 rows of a 512-deep K block are 1 MiB, half the L2. AVX2's stays at its mc.
struct Blocking {
  int64_t kc, mc, nc, whole;
};
Blocking blocking_for(const KernelTable& t) {
  const Blocking b = t.isa == Isa::Avx512 ? Blocking{512, 180, 256, 512} : Blocking{kKc, 360, 128, 360};
  return {b.kc, t.mr * std::max<int64_t>(1, b.mc / t.mr), std::max<int64_t>(t.nr, b.nc / t.nr * t.nr), b.whole};
}

// A grow-only 64-byte aligned scratch area, one per thread and role, reused across calls (no page faults).
class Scratch {
 public:
  ~Scratch() { std::free(p_); }
  float* get(int64_t n) {
    if (n > cap_) {
      std::free(p_);
      const size_t bytes = static_cast<size_t>(round_up(std::max<int64_t>(n, 16) * 4, 64));
      p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (p_ == nullptr) throw std::bad_alloc();
      cap_ = n;
    }
    return p_;
  }

 private:
  float* p_ = nullptr;
  int64_t cap_ = 0;
};

thread_local Scratch tl_pack_a, tl_pack_b;

// One sliver of op(A): rows [i0, i0 + rows) (rows <= mr, zero padded to mr), k in [k0, k0 + kc); dst[k][mr].
void pack_a_sliver(const KernelTable& t, bool ta, const float* A, int64_t lda, int64_t i0, int64_t rows, int64_t k0,
                   int64_t kc, float* dst) {
  const int mr = t.mr;
  if (!ta) {
    t.pack_rows(A + i0 * lda + k0, lda, rows, kc, mr, dst);  // rows of A read contiguously, written transposed
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const float* src = A + (k0 + k) * lda + i0;
    float* d = dst + k * mr;
    int r = 0;
    for (; r < rows; ++r) d[r] = src[r];
    for (; r < mr; ++r) d[r] = 0.0f;
  }
}

// Up to kGroup slivers of a row-major op(B) (no transpose) at once, k outermost: each k reads one contiguous stretch
// of a row instead of nr floats from each of kc rows (ldb apart, a TLB miss apiece for wide B).
constexpr int64_t kGroup = 8;
void pack_b_group(const KernelTable& t, const float* B, int64_t ldb, int64_t s0, int64_t s1, int64_t n, int64_t k0,
                  int64_t kc, float* dst) {
  const int64_t j0 = s0 * t.nr, cols = std::min(n, s1 * t.nr) - j0;
  t.pack_cols(B + k0 * ldb + j0, ldb, cols, kc, t.nr, dst, t.nr * kc);
}

// Packed panel layout: the K block starting at k0 (length kcb) begins at k0 * pad; within it sliver s at s * w * kcb.
const float* sliver_at(const float* base, int64_t pad, int64_t k0, int64_t kcb, int64_t s, int64_t w) {
  return base + k0 * pad + s * w * kcb;
}

struct Operand {
  bool trans;
  const float* p;
  int64_t ld;
};

// Packs rows [0, m) of op(A) and (unless b_prepacked) columns [0, n) of op(B), every K block.
void pack_panels(const KernelTable& t, bool serial, int64_t K, int64_t kc, Operand a, int64_t m, float* ap,
                 const Operand* b, int64_t n, float* bp) {
  const int64_t sa = a.p ? (m + t.mr - 1) / t.mr : 0, sb = b ? (n + t.nr - 1) / t.nr : 0;
  const bool grouped = b && !b->trans;
  const int64_t gb = grouped ? (sb + kGroup - 1) / kGroup : sb;  // B work items per K block
  const int64_t nkb = (K + kc - 1) / kc, per_k = sa + gb;
  const int64_t mpad = sa * t.mr, npad = sb * t.nr;
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t k0 = (item / per_k) * kc, kcb = std::min(kc, K - k0), s = item % per_k;
      if (s < sa) {
        pack_a_sliver(t, a.trans, a.p, a.ld, s * t.mr, std::min<int64_t>(t.mr, m - s * t.mr), k0, kcb,
                      ap + k0 * mpad + s * t.mr * kcb);
      } else if (grouped) {
        const int64_t s0 = (s - sa) * kGroup, s1 = std::min(sb, s0 + kGroup);
        pack_b_group(t, b->p, b->ld, s0, s1, n, k0, kcb, bp + k0 * npad + s0 * t.nr * kcb);
      } else {
        const int64_t sj = s - sa;
        // op(B) = B^T: B's rows are op(B)'s columns, packed like untransposed A
        t.pack_rows(b->p + sj * t.nr * b->ld + k0, b->ld, std::min<int64_t>(t.nr, n - sj * t.nr), kcb, t.nr,
                    bp + k0 * npad + sj * t.nr * kcb);
      }
    }
  };
  if (serial) body(0, nkb * per_k);
  else parallel_for(nkb * per_k, 16, body);
}

struct Panel {
  const KernelTable* t;
  int64_t m, n, K, mc, kc;
  const float* ap;
  int64_t mpad;
  const float* bp;
  int64_t npad, bs0;  // B slivers start at global sliver index bs0 of a buffer npad columns wide
  float* C;
  int64_t ldc;
  float alpha, beta;
  const float* bias;  // already offset to this panel's first column
  Act act;
  const float* res = nullptr;  // added after the activation: row i at res + i * ldr, offset like bias
  int64_t ldr = 0;
  int64_t a_ld = 0;  // 0: ap is a packed panel; otherwise A is read in place, row-major with this row stride
};

// Output rows [i0, i1) x columns [j0, j1) of the panel; i0 and j0 are multiples of mr and nr. Per K block the
// columns go in groups of nc (blocking_for): the group's B slivers stay in L2 while each A sliver (mr x kc) is held
// in L1 across the group's tiles. With AVX2's blocking (128 columns, 128 KiB of B at kc = 256; the row block's A
// slivers of that K block, 360 x 256 floats, 360 KiB) the two about fill Zen 3's 512 KiB L2. Measured on Zen 3 this
// beats holding one B sliver in L1 across the A block (BLIS's order) by 10-15% at n = 1024, where that order keeps
// missing on B; 128 columns with 360-row blocks beat 256 columns with 126-row blocks by 3-15 % (docs/performance.md).
void compute_block(const Panel& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const KernelTable& t = *p.t;
  const int64_t mr = t.mr, nr = t.nr, nc = blocking_for(t).nc;
  alignas(64) float tmp[12 * 32];
  const bool epilogue = p.bias != nullptr || p.act != Act::None || p.res != nullptr;
  for (int64_t k0 = 0; k0 < p.K; k0 += p.kc) {
    const int64_t kcb = std::min(p.kc, p.K - k0);
    const float beta = k0 == 0 ? p.beta : 1.0f;
    const bool last = k0 + kcb == p.K;
    for (int64_t jb = j0; jb < j1; jb += nc) {
      const int64_t jb1 = std::min(j1, jb + nc);
      for (int64_t i = i0; i < i1; i += mr) {
        const float* a = p.a_ld ? p.ap + i * p.a_ld + k0 : sliver_at(p.ap, p.mpad, k0, kcb, i / mr, mr);
        const int64_t rows = std::min(mr, i1 - i);
        for (int64_t j = jb; j < jb1; j += nr) {
          const float* b = sliver_at(p.bp, p.npad, k0, kcb, p.bs0 + j / nr, nr);
          const int64_t cols = std::min(nr, jb1 - j);
          float* c = p.C + i * p.ldc + j;
          auto tile = [&](float* out, int64_t ldo) {
            if (rows < mr) t.sgemm_tile_few(static_cast<int>(rows), kcb, a, p.a_ld, b, out, ldo, p.alpha, beta);
            else if (p.a_ld) t.sgemm_tile_rows(kcb, a, p.a_ld, b, out, ldo, p.alpha, beta);
            else t.sgemm_tile(kcb, a, b, out, ldo, p.alpha, beta);
          };
          if (cols == nr) {
            tile(c, p.ldc);
          } else {
            if (beta != 0.0f)
              for (int64_t r = 0; r < rows; ++r)
                std::memcpy(tmp + r * nr, c + r * p.ldc, static_cast<size_t>(cols) * 4);
            tile(tmp, nr);
            for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * p.ldc, tmp + r * nr, static_cast<size_t>(cols) * 4);
          }
        }
        // The epilogue once per row of the group's columns, while they are in L1: per tile it was 2 vectors a
        // call (in paired runs 1.04x-1.07x on MiniLM's qkv, out and fc1 products at 384 rows, 1.01x on fc2).
        if (last && epilogue)
          for (int64_t r = 0; r < rows; ++r)
            t.bias_act(p.C + (i + r) * p.ldc + jb, jb1 - jb, p.bias ? p.bias + jb : nullptr, p.act,
                       p.res ? p.res + (i + r) * p.ldr + jb : nullptr);
      }
    }
  }
}

void compute_panel(const Panel& p, bool serial, int threads) {
  const int64_t mb = (p.m + p.mc - 1) / p.mc;
  const int64_t slivers = (p.n + p.t->nr - 1) / p.t->nr;
  // Enough tasks that each thread gets the same number of them (within one) when there are few row blocks.
  int64_t nb = 1;
  if (!serial && threads > 1 && mb < 8 * threads) nb = std::min(slivers, (8 * threads + mb - 1) / mb);
  const int64_t nt = (slivers + nb - 1) / nb * p.t->nr;
  nb = (p.n + nt - 1) / nt;
  // Row blocks of about equal size (their starts whole slivers apart, the nearest to ib m / mb): blocks of mc rows
  // and a short last one left the thread that drew it idle at the end. Two threads, in-process turns: 1024^3
  // 284 -> 295 GFLOP/s, 2048^3 294 -> 307, Whisper's 1500 rows 288 -> 310; one thread unchanged.
  const int64_t mr = p.t->mr;
  auto row_start = [&](int64_t ib) {
    return ib >= mb ? p.m : std::min(p.m, (ib * p.m / mb + mr / 2) / mr * mr);
  };
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t ib = task / nb, jb = task % nb;
      compute_block(p, row_start(ib), row_start(ib + 1), jb * nt, std::min(p.n, (jb + 1) * nt));
    }
  };
  if (serial) body(0, mb * nb);
  else parallel_for(mb * nb, 1, body);
}

// C = alpha op(A) op(B) + beta C then the epilogue; B comes from `b` or, if set, the prepacked weight.
void gemm_driver(const KernelTable& t, bool serial, Operand a, Operand b, const PackedWeight* pw, int64_t M, int64_t N,
                 int64_t K, float alpha, float beta, float* C, int64_t ldc, const float* bias, Act act,
                 const float* res = nullptr, int64_t ldr = 0) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i) {
      float* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
      if (bias != nullptr || act != Act::None || res != nullptr)
        t.bias_act(c, N, bias, act, res ? res + i * ldr : nullptr);
    }
    return;
  }
  const int threads = serial ? 1 : num_threads();
  serial = serial || threads == 1 || in_parallel_region() ||
           static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) < kSerialFlops;
  const Blocking blk = blocking_for(t);
  const int64_t kc = pw ? pw->kc : blk.kc, mc = M <= blk.whole ? round_up(M, t.mr) : blk.mc;
  // An untransposed A is read where it lies (the tile's rows at lda apart), never packed. At 64^3 packing it cost
  // about as much as the tiles it feeds (one AVX-512 core, best of 60 turns with numpy: 5.6 -> 4.7 us, numpy 4.2);
  // on larger products the tile reads its 12 rows as well from where they lie as from a sliver, and the packing pass
  // is saved: bench/gemm.py --quick on the Xeon, ours / numpy, one thread 512^3 1.05x -> 1.06x, 1024^3 0.99x ->
  // 1.01x; two threads 256^3 0.91x -> 1.05x, 512^3 0.83x -> 1.01x, 1024^3 0.94x -> 0.96x, 2048^3 0.96x -> 0.98x.
  // The AVX2 tile, forced on the same machine, was unchanged (within 2 %); it was not measured on Zen 3.
  const bool a_in_place = !a.trans;
  for (int64_t ic = 0; ic < M; ic += kPanelRows) {
    const int64_t m = std::min(kPanelRows, M - ic), mpad = round_up(m, t.mr);
    float* ap = a_in_place ? nullptr : tl_pack_a.get(mpad * K);  // A read in place needs no packing buffer
    const Operand ai{a.trans, a.trans ? a.p + ic : a.p + ic * a.ld, a.ld};
    for (int64_t jc = 0; jc < N; jc += kPanelCols) {
      const int64_t n = std::min(kPanelCols, N - jc);
      Panel p{&t, m, n, K, mc, kc, ap, mpad, nullptr, 0, 0, C + ic * ldc + jc, ldc, alpha, beta,
              bias ? bias + jc : nullptr, act, res ? res + ic * ldr + jc : nullptr, ldr};
      const Operand pack_a = jc == 0 && !a_in_place ? ai : Operand{false, nullptr, 0};
      if (a_in_place) {
        p.ap = ai.p;
        p.a_ld = a.ld;
      }
      if (pw != nullptr) {
        p.bp = pw->data.get();
        p.npad = pw->npad;
        p.bs0 = jc / t.nr;
        if (pack_a.p) pack_panels(t, serial, K, kc, pack_a, m, ap, nullptr, 0, nullptr);
      } else {
        p.npad = round_up(n, t.nr);
        float* bp = tl_pack_b.get(p.npad * K);
        p.bp = bp;
        const Operand bj{b.trans, b.trans ? b.p + jc * b.ld : b.p + jc, b.ld};
        pack_panels(t, serial, K, kc, pack_a, m, ap, &bj, n, bp);
      }
      compute_panel(p, serial, threads);
    }
  }
}

void check_gemm_args(const char* who, bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                     int64_t ldc) {
  const int64_t need_a = ta ? M : K, need_b = tb ? K : N;
  if (M < 0 || N < 0 || K < 0 || lda < std::max<int64_t>(1, need_a) || ldb < std::max<int64_t>(1, need_b) ||
      ldc < std::max<int64_t>(1, N))
    throw std::invalid_argument(std::string(who) + ": bad sizes M=" + std::to_string(M) + " N=" + std::to_string(N) +
                                " K=" + std::to_string(K) + " lda=" + std::to_string(lda) + " ldb=" +
                                std::to_string(ldb) + " ldc=" + std::to_string(ldc));
}

// A weight [out, in] with rows ldw floats apart, about to be packed.
void check_pack_args(const char* who, int64_t out_features, int64_t in_features, int64_t ldw) {
  if (out_features < 0 || in_features < 0 || ldw < std::max<int64_t>(1, in_features))
    throw std::invalid_argument(std::string(who) + ": bad sizes out=" + std::to_string(out_features) + " in=" +
                                std::to_string(in_features) + " ldw=" + std::to_string(ldw));
}

// y[rows x out] (ldy) from x[rows x in] (ldx) and a packed weight that holds data unless it is empty.
void check_linear_args(const char* who, int64_t rows, int64_t ldx, int64_t ldy, int64_t out, int64_t in,
                       bool has_data) {
  if (rows < 0 || ldx < std::max<int64_t>(1, in) || ldy < std::max<int64_t>(1, out))
    throw std::invalid_argument(std::string(who) + ": bad sizes rows=" + std::to_string(rows) + " ldx=" +
                                std::to_string(ldx) + " ldy=" + std::to_string(ldy) + " for a weight of " +
                                std::to_string(out) + " x " + std::to_string(in));
  if (!has_data && out * in > 0) throw std::invalid_argument(std::string(who) + ": empty packed weight");
}

// The float16 equal to f, if there is one (a NaN has none here: a NaN weight keeps float32).
bool float_to_half_exact(float f, uint16_t* out) {
  const uint16_t h = float_to_half(f);
  const float back = half_to_float(h);
  if (f != f || std::memcmp(&back, &f, 4) != 0) return false;
  *out = h;
  return true;
}

}  // namespace

void sgemm_isa(Isa isa, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_gemm_args("sgemm", ta, tb, M, N, K, lda, ldb, ldc);
  gemm_driver(kernel_table(isa), false, {ta, A, lda}, {tb, B, ldb}, nullptr, M, N, K, alpha, beta, C, ldc, nullptr,
              Act::None);
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm_isa(active_isa(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_serial(Isa isa, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_gemm_args("sgemm_serial", ta, tb, M, N, K, lda, ldb, ldc);
  gemm_driver(kernel_table(isa), true, {ta, A, lda}, {tb, B, ldb}, nullptr, M, N, K, alpha, beta, C, ldc, nullptr,
              Act::None);
}

void dgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
           const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  check_gemm_args("dgemm", ta, tb, M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  // op(B) copied once as contiguous rows so the inner loop is a unit-stride axpy the compiler vectorises.
  std::unique_ptr<double[]> bc(new double[static_cast<size_t>(std::max<int64_t>(1, K * N))]);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) bc[k * N + j] = tb ? B[j * ldb + k] : B[k * ldb + j];
  constexpr int64_t kKb = 128;
  const double flops = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  auto rows = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      double* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) c[j] = beta == 0.0 ? 0.0 : beta * c[j];
    }
    for (int64_t k0 = 0; k0 < K; k0 += kKb) {
      const int64_t k1 = std::min(K, k0 + kKb);
      for (int64_t i = i0; i < i1; ++i) {
        double* c = C + i * ldc;
        for (int64_t k = k0; k < k1; ++k) {
          const double av = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
          const double* b = bc.get() + k * N;
          for (int64_t j = 0; j < N; ++j) c[j] += av * b[j];
        }
      }
    }
  };
  if (flops < kSerialFlops) rows(0, M);
  else parallel_for(M, 16, rows);
}

int64_t packed_floats(int64_t extent, int64_t K, int64_t width) { return round_up(extent, width) * K; }

void pack_a_panel(const KernelTable& t, bool ta, const float* A, int64_t lda, int64_t m, int64_t K, float* dst) {
  pack_panels(t, true, K, kKc, Operand{ta, A, lda}, m, dst, nullptr, 0, nullptr);
}

void pack_b_panel(const KernelTable& t, bool tb, const float* B, int64_t ldb, int64_t n, int64_t K, float* dst) {
  const Operand b{tb, B, ldb};
  pack_panels(t, true, K, kKc, Operand{false, nullptr, 0}, 0, nullptr, &b, n, dst);
}

void gemm_packed(const KernelTable& t, int64_t m, int64_t n, int64_t K, float alpha, const float* ap, const float* bp,
                 int64_t npad_b, int64_t b_sliver0, float beta, float* C, int64_t ldc) {
  if (m <= 0 || n <= 0 || K <= 0) return;
  const Panel p{&t, m, n, K, blocking_for(t).mc, kKc, ap, round_up(m, t.mr), bp, npad_b, b_sliver0, C, ldc, alpha,
                beta, nullptr, Act::None};
  compute_block(p, 0, m, 0, n);
}

void gemm_rows_a(const KernelTable& t, int64_t m, int64_t n, int64_t K, float alpha, const float* a, int64_t lda,
                 const float* bp, int64_t npad_b, float beta, float* C, int64_t ldc) {
  if (m <= 0 || n <= 0 || K <= 0) return;
  Panel p{&t, m, n, K, blocking_for(t).mc, kKc, a, 0, bp, npad_b, 0, C, ldc, alpha, beta, nullptr, Act::None};
  p.a_ld = lda;
  compute_block(p, 0, m, 0, n);
}

PackedWeight pack_weight(const float* w, int64_t out_features, int64_t in_features, int64_t ldw, Isa isa) {
  check_pack_args("pack_weight", out_features, in_features, ldw);
  const KernelTable& t = kernel_table(isa);
  PackedWeight p;
  p.isa = isa;
  p.out_features = out_features;
  p.in_features = in_features;
  p.kc = blocking_for(t).kc;
  p.nr = t.nr;
  p.npad = round_up(out_features, t.nr);
  const size_t bytes = static_cast<size_t>(round_up(std::max<int64_t>(1, p.npad * in_features) * 4, 64));
  float* raw = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (raw == nullptr) throw std::bad_alloc();
  p.data = std::shared_ptr<float>(raw, [](float* q) { std::free(q); });
  // W is [out, in], so op(B) = W^T: the transposed B packing reads each output's row of W contiguously.
  const Operand b{true, w, ldw};
  pack_panels(t, false, in_features, p.kc, Operand{false, nullptr, 0}, 0, nullptr, &b, out_features, raw);
  return p;
}

PackedWeight pack_weight(const float* w, int64_t out_features, int64_t in_features, int64_t ldw) {
  return pack_weight(w, out_features, in_features, ldw, active_isa());
}

void linear_packed(const float* x, int64_t rows, int64_t ldx, const PackedWeight& w, const float* bias,
                   Epilogue epilogue, float* y, int64_t ldy, const float* res, int64_t ldr) {
  check_linear_args("linear_packed", rows, ldx, ldy, w.out_features, w.in_features, w.data != nullptr);
  gemm_driver(kernel_table(w.isa), false, {false, x, ldx}, {false, nullptr, 0}, &w, rows, w.out_features,
              w.in_features, 1.0f, 0.0f, y, ldy, bias, epilogue, res, ldr);
}

std::optional<HalfWeight> pack_weight_half(const float* w, int64_t out_features, int64_t in_features, int64_t ldw,
                                           Isa isa) {
  check_pack_args("pack_weight_half", out_features, in_features, ldw);
  uint16_t h = 0;
  for (int64_t i = 0; i < out_features; ++i)  // reject before packing anything: typically at the first value
    for (int64_t k = 0; k < in_features; ++k)
      if (!float_to_half_exact(w[i * ldw + k], &h)) return std::nullopt;
  const PackedWeight p = pack_weight(w, out_features, in_features, ldw, isa);
  HalfWeight hw;
  hw.isa = isa;
  hw.out_features = out_features;
  hw.in_features = in_features;
  hw.kc = p.kc;
  hw.nr = p.nr;
  hw.npad = p.npad;
  const int64_t n = p.npad * in_features;
  const size_t bytes = static_cast<size_t>(round_up(std::max<int64_t>(1, n) * 2, 64));
  uint16_t* raw = static_cast<uint16_t*>(std::aligned_alloc(64, bytes));
  if (raw == nullptr) throw std::bad_alloc();
  hw.data = std::shared_ptr<uint16_t>(raw, [](uint16_t* q) { std::free(q); });
  const float* src = p.data.get();
  for (int64_t i = 0; i < n; ++i) float_to_half_exact(src[i], raw + i);  // exact: every value was checked
  return hw;
}

void linear_packed(const float* x, int64_t rows, int64_t ldx, const HalfWeight& w, const float* bias,
                   Epilogue epilogue, float* y, int64_t ldy, const float* res, int64_t ldr) {
  check_linear_args("linear_packed (float16 weight)", rows, ldx, ldy, w.out_features, w.in_features, w.data != nullptr);
  const KernelTable& t = kernel_table(w.isa);
  const int64_t N = w.out_features, K = w.in_features, nr = w.nr;
  if (rows == 0 || N == 0) return;
  const bool epi = bias != nullptr || epilogue != Act::None || res != nullptr;
  if (K == 0) {
    for (int64_t i = 0; i < rows; ++i) {
      std::memset(y + i * ldy, 0, static_cast<size_t>(N) * 4);
      if (epi) t.bias_act(y + i * ldy, N, bias, epilogue, res ? res + i * ldr : nullptr);
    }
    return;
  }
  const int64_t slivers = w.npad / nr, groups = (slivers + kHalfSlivers - 1) / kHalfSlivers;
  auto body = [&](int64_t g0, int64_t g1) {
    alignas(64) float tmp[kHalfRows * kHalfSlivers * 32];
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t s0 = g * kHalfSlivers, ns = std::min(slivers, s0 + kHalfSlivers) - s0;
      const int64_t j0 = s0 * nr, cols = std::min(N, (s0 + ns) * nr) - j0, width = ns * nr;
      for (int64_t i = 0; i < rows; i += kHalfRows) {
        const int64_t r = std::min<int64_t>(kHalfRows, rows - i);
        for (int64_t k0 = 0; k0 < K; k0 += w.kc) {
          const int64_t kcb = std::min(w.kc, K - k0);
          t.half_block(r, kcb, x + i * ldx + k0, ldx, w.data.get() + k0 * w.npad + s0 * nr * kcb, ns, tmp, width,
                       k0 == 0);
        }
        for (int64_t rr = 0; rr < r; ++rr) {
          float* out = y + (i + rr) * ldy + j0;
          std::memcpy(out, tmp + rr * width, static_cast<size_t>(cols) * 4);
          if (epi) t.bias_act(out, cols, bias ? bias + j0 : nullptr, epilogue, res ? res + (i + rr) * ldr + j0 : nullptr);
        }
      }
    }
  };
  // A weight under ~256 KiB of halves is read faster by one thread than the pool can be woken.
  if (num_threads() == 1 || in_parallel_region() || N * K < (128 << 10)) body(0, groups);
  else parallel_for(groups, 1, body);
}

}  // namespace zh::cpu
