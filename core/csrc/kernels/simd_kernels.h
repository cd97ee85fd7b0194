// The kernels, written once over a thin SIMD layer. Not a normal header: each kernels_<isa>.cpp defines, inside
// its own namespace, W (lanes), V (vector type), MR and NV (the sgemm tile is MR x NV*W) and the v* functions
// below, then includes this file. Everything here must stay in that namespace and use no std:: templates, so no
// symbol compiled for one ISA can be merged by the linker into code that runs on another.
//
// SIMD layer: vzero vset1 vload vstore vload_part(p, n, fill) vstore_part(p, v, n) vadd vsub vmul vdiv vmax,
// vmin(a, b) = a < b ? a : b (so b if either is NaN, as x86's min), vfmadd(a, b, c) = a*b + c, vhsum vhmax,
// vldexp(p, n) = p * 2^n (n integral with |n| <= 150, or NaN with p NaN), vshl23(k) = the float whose bits are k's
// shifted left by 23, vabs, vlt(a, b, x, y) = a < b ? x : y, vload_half (W float16 values, exactly);
// optionally vtranspose (W x W in registers, with ZH_VTRANSPOSE defined).

// Lanes a partial load/store may touch when `left` elements remain (vload_part needs n <= W).
static inline int64_t lanes(int64_t left) { return left < W ? left : W; }

// e^r for r = x - n ln2 (n = x / ln 2 rounded, so r in [-ln2/2, ln2/2]): a degree-6 polynomial.
static inline V vexp_poly(V x, V n) {
  V r = vfmadd(n, vset1(-0.693359375f), x);
  r = vfmadd(n, vset1(2.12194440e-4f), r);
  V p = vset1(1.9875691500e-4f);
  p = vfmadd(p, r, vset1(1.3981999507e-3f));
  p = vfmadd(p, r, vset1(8.3334519073e-3f));
  p = vfmadd(p, r, vset1(4.1665795894e-2f));
  p = vfmadd(p, r, vset1(1.6666665459e-1f));
  p = vfmadd(p, r, vset1(5.0000001201e-1f));
  return vfmadd(p, vmul(r, r), vadd(r, vset1(1.0f)));
}

// exp, ~1 ulp, inf/0 at the ends (subnormal results kept), NaN kept. n = round(x / ln 2) comes from one FMA
// against 1.5 * 2^23 (the sum's rounding rounds x / ln 2, the subtraction takes the magic number off again): no
// round instruction. The clamp lets NaN through (vmin and vmax return their second operand, x, for it), and NaN
// stays NaN through the polynomial and vldexp.
static inline V vexp(V x) {
  const V xc = vmax(vset1(-104.0f), vmin(vset1(88.8f), x));
  const V n = vsub(vfmadd(xc, vset1(1.44269504088896341f), vset1(12582912.0f)), vset1(12582912.0f));
  return vldexp(vexp_poly(xc, n), n);
}

// H(a) = erfc(a / sqrt 2) / 2 for 0 <= a <= 12.79, the normal distribution's tail, as exp(-a^2 / 2) P(a) / Q(a);
// returns 2 H(a) (P carries the 2) and sets m = -a / 2. P / Q (degrees 4 and 4) and the exp's polynomial (degree 5)
// were fitted for this kernel by scripts/fit_gelu.py (minimax relative error 1.4e-7 on [0, 12.79] and 1.1e-7 on
// |r| <= ln 2 / 2, with float32 coefficients). P and Q do not wait on the exp, so they run beside it, and with the
// one division they cost 11 operations. All chains are Horner's: on the Xeon, Estrin's shorter chains ran slower
// (the loop is bound by its operation count, 31, not by latency), and so did rcp14 with a Newton step in place of
// the division (5 operations against 3).
// The exp of -a^2 / 2 is inlined: n comes from one FMA against 1.5 * 2^23 + 118, which leaves n + 118 in the low
// bits, so the scale is one shift (no round, no conversion); and r = -a^2 / 2 - n ln2 takes a * (-a / 2) exactly
// inside the FMA (n * 0.693359375 is exact), so rounding the square does not cost up to 1e-5 relative at large a
// (the scalar layer's a * b + c still rounds it). The scale is 2^(n - 9), P carrying the 2^9: past a = 12.763,
// n = -118, the shifted word is 0 and so is H. H is below 1e-37 there and would soon be subnormal (on x86 each
// operation on one costs tens of cycles, and a GEMM epilogue meets many large negative inputs); PyTorch's gelu
// is 0 there too. a must not pass 12.79 (n = -119 would shift to -inf).
static inline V vtwice_half_erfc(V a, V& m) {
  m = vmul(a, vset1(-0.5f));
  const V k = vfmadd(a, vmul(a, vset1(-0.721347511f)), vset1(12583030.0f));  // 1.5 * 2^23 + 118 + n
  const V n = vsub(k, vset1(12583030.0f));
  V r = vfmadd(a, m, vmul(n, vset1(-0.693359375f)));
  r = vfmadd(n, vset1(2.12194440e-4f), r);
  V e = vfmadd(vset1(0.008312521502375603f), r, vset1(0.04189014807343483f));
  e = vfmadd(e, r, vset1(0.16667114198207855f));
  e = vfmadd(e, r, vset1(0.499992311000824f));
  e = vfmadd(e, r, vset1(1.0f));
  e = vfmadd(e, r, vset1(1.0f));
  V p = vfmadd(vset1(0.0002643847547005862f), a, vset1(14.56391716003418f));
  p = vfmadd(p, a, vset1(109.53511047363281f));
  p = vfmadd(p, a, vset1(346.77166748046875f));
  p = vfmadd(p, a, vset1(511.99993896484375f));
  V d = vfmadd(vset1(0.03568050265312195f), a, vset1(0.26754552125930786f));
  d = vfmadd(d, a, vset1(0.8910050988197327f));
  d = vfmadd(d, a, vset1(1.4751665592193604f));
  d = vfmadd(d, a, vset1(1.0f));
  return vmul(e, vmul(vshl23(k), vdiv(p, d)));  // in this order no product falls below 2^-126 while H is not 0
}

static inline V vsigmoid(V x) { return vdiv(vset1(1.0f), vadd(vset1(1.0f), vexp(vsub(vzero(), x)))); }

// gelu(x) = x Phi(x) = max(x, 0) - |x| H(|x|) (Phi(x) is H(|x|) for x < 0 and 1 - H(|x|) otherwise): from the tail
// H, so the small negative tail keeps its relative accuracy where 1 + erf would cancel. max(x, 0) is taken as
// (x + |x|) / 2, which is inf at inf and NaN at -inf and NaN; past |x| = 12.79, a = 12.79 and H = 0. So
// gelu(inf) = inf, and gelu(-inf) and gelu(NaN) are NaN, as in PyTorch.
static inline V vgelu(V x) {
  const V ax = vabs(x);
  V m;
  const V h2 = vtwice_half_erfc(vmin(ax, vset1(12.79f)), m);
  return vfmadd(m, h2, vmul(vadd(x, ax), vset1(0.5f)));
}

// 0.5 x (1 + tanh(u)) == x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): no cancellation, no overflow.
static inline V vgelu_tanh(V x) {
  const V u2 = vmul(vset1(1.5957691216057308f), vfmadd(vmul(vset1(0.044715f), x), vmul(x, x), x));
  return vmul(x, vsigmoid(u2));
}

static inline V vact(Act act, V x) {
  switch (act) {
    case Act::Relu: return vmax(vzero(), x);  // maxps gives its second operand on NaN: NaN stays
    case Act::Gelu: return vgelu(x);
    case Act::GeluTanh: return vgelu_tanh(x);
    case Act::None: break;
  }
  return x;
}

// The first R rows of the tile: A packed (a[k * MR + i]) or, InPlace, read where it lies (row i of a row-major A at
// a + i * lda). R < MR serves the last rows of A without computing the sliver's zero padding.
template <bool InPlace, int R = MR>
static void sgemm_tile_t(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, float alpha,
                         float beta) {
  V acc[R][NV];
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = vzero();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    V bv[NV];
    // 2 KiB ahead in the packed sliver: with few rows of A (a batch-1 forward, a decoding step) each weight
    // sliver comes from memory once, and the hardware prefetcher alone left the tile waiting (12 rows of MiniLM's
    // 24 products: 7.4 -> 6.4 ms median, 6 rows 5.7 -> 4.8 ms; no change measured at 352 rows, 512^2, 1024^2)
    __builtin_prefetch(b + 512, 0, 3);
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = vload(b + j * W);
#pragma GCC unroll 32
    for (int i = 0; i < R; ++i) {
      const V av = vset1(InPlace ? a[i * lda] : a[i]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = vfmadd(av, bv[j], acc[i][j]);
    }
    a += InPlace ? 1 : MR;
    b += NV * W;
  }
  const V va = vset1(alpha), vb = vset1(beta);
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* p = c + i * ldc + j * W;
      const V r = vmul(acc[i][j], va);
      vstore(p, beta == 0.0f ? r : vfmadd(vload(p), vb, r));
    }
}

static void sgemm_tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  sgemm_tile_t<false>(kc, a, 0, b, c, ldc, alpha, beta);
}
static void sgemm_tile_rows(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                            float alpha, float beta) {
  sgemm_tile_t<true>(kc, a, lda, b, c, ldc, alpha, beta);
}
// rows < MR: the tile instantiated for that many rows.
template <int R>
static void sgemm_tile_few_t(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                             int64_t ldc, float alpha, float beta) {
  if constexpr (R > 1) {
    if (rows < R) return sgemm_tile_few_t<R - 1>(rows, kc, a, lda, b, c, ldc, alpha, beta);
  }
  if (lda != 0) sgemm_tile_t<true, R>(kc, a, lda, b, c, ldc, alpha, beta);
  else sgemm_tile_t<false, R>(kc, a, 0, b, c, ldc, alpha, beta);
}
static void sgemm_tile_few(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                           float alpha, float beta) {
  sgemm_tile_few_t<MR - 1>(rows, kc, a, lda, b, c, ldc, alpha, beta);
}

// Packs `rows` (<= R) rows of src (row stride ld, kc floats each) side by side: dst[k * R + r] = src[r * ld + k],
// rows past `rows` zero. With a register transpose in the SIMD layer (ZH_VTRANSPOSE: vtranspose turns W vectors
// holding rows into W vectors holding columns), slivers read W floats of each row with one load (a partial
// sliver's missing rows are zero vectors) and write each k's R floats with full-width stores in increasing k, each
// store's spill past R overwritten by the next one; otherwise full slivers go through a small block in L1.
template <int R>
static void pack_rows_t(const float* src, int64_t ld, int64_t rows, int64_t kc, float* dst) {
  int64_t k = 0;
#ifdef ZH_VTRANSPOSE
  {
    constexpr int NB = (R + W - 1) / W;  // blocks of W rows
    for (; k + W <= kc; k += W) {
      V col[NB][W];
#pragma GCC unroll 4
      for (int blk = 0; blk < NB; ++blk) {
#pragma GCC unroll 16
        for (int r = 0; r < W; ++r)
          col[blk][r] = blk * W + r < R && blk * W + r < rows ? vload(src + (blk * W + r) * ld + k) : vzero();
        vtranspose(col[blk]);
      }
      float* d = dst + k * R;
#pragma GCC unroll 16
      for (int kk = 0; kk < W; ++kk)
#pragma GCC unroll 4
        for (int blk = 0; blk < NB; ++blk) {
          const int width = R - blk * W < W ? R - blk * W : W;
          if (width == W || kk + 1 < W) vstore(d + kk * R + blk * W, col[blk][kk]);  // spill fixed by the next kk
          else vstore_part(d + kk * R + blk * W, col[blk][kk], width);
        }
    }
  }
#else
  if (rows == R) {
    alignas(64) float buf[R * W];
    for (; k + W <= kc; k += W) {
#pragma GCC unroll 32
      for (int r = 0; r < R; ++r) vstore(buf + r * W, vload(src + r * ld + k));
      float* d = dst + k * R;
#pragma GCC unroll 16
      for (int kk = 0; kk < W; ++kk)
#pragma GCC unroll 32
        for (int r = 0; r < R; ++r) d[kk * R + r] = buf[r * W + kk];
    }
  }
#endif
  for (; k < kc; ++k) {
    float* d = dst + k * R;
    int64_t r = 0;
    for (; r < rows; ++r) d[r] = src[r * ld + k];
    for (; r < R; ++r) d[r] = 0.0f;
  }
}

static void pack_rows(const float* src, int64_t ld, int64_t rows, int64_t kc, int width, float* dst) {
  if (width == MR) {
    pack_rows_t<MR>(src, ld, rows, kc, dst);
  } else if (width == NV * W) {
    pack_rows_t<NV * W>(src, ld, rows, kc, dst);
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t r = 0; r < width; ++r) dst[k * width + r] = r < rows ? src[r * ld + k] : 0.0f;
  }
}

// Columns [0, cols) of kc rows of src (row stride ld) into slivers `width` wide, sliver s at dst + s * sliver_stride
// laid out [k][width], columns past `cols` zero: B untransposed. Eight rows at a time, sliver by sliver: each
// sliver then gets 8 * width contiguous floats per step. Row by row, the slivers' write streams, kc * width floats
// apart (16 KiB), all fell in one L1 set.
static void pack_cols(const float* src, int64_t ld, int64_t cols, int64_t kc, int width, float* dst,
                      int64_t sliver_stride) {
  constexpr int64_t KB = 8;
  const int64_t full = width == NV * W ? cols / width : 0;  // slivers copied with whole vectors
  for (int64_t k0 = 0; k0 < kc; k0 += KB) {
    const int64_t kb = kc - k0 < KB ? kc - k0 : KB;
    for (int64_t s = 0; s < full; ++s) {
      float* d = dst + s * sliver_stride + k0 * width;
      const float* from = src + k0 * ld + s * width;
      for (int64_t k = 0; k < kb; ++k)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) vstore(d + k * width + v * W, vload(from + k * ld + v * W));
    }
    for (int64_t c0 = full * width; c0 < cols; c0 += width)
      for (int64_t k = k0; k < k0 + kb; ++k) {
        const float* row = src + k * ld;
        float* d = dst + (c0 / width) * sliver_stride + k * width;
        int64_t c = 0;
        for (; c < width && c0 + c < cols; ++c) d[c] = row[c0 + c];
        for (; c < width; ++c) d[c] = 0.0f;
      }
  }
}

static float row_max(const float* x, int64_t n) {
  V m0 = vset1(-__builtin_inff()), m1 = m0;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = vmax(m0, vload(x + i));
    m1 = vmax(m1, vload(x + i + W));
  }
  for (; i < n; i += W) m0 = vmax(m0, vload_part(x + i, lanes(n - i), -__builtin_inff()));
  return vhmax(vmax(m0, m1));
}

// Four accumulators per block of 1024 floats, blocks added in double: accurate and order-fixed.
static float row_sum(const float* x, int64_t n) {
  double total = 0.0;
  for (int64_t s = 0; s < n; s += 1024) {
    const int64_t e = n - s < 1024 ? n : s + 1024;
    V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
    int64_t i = s;
    for (; i + 4 * W <= e; i += 4 * W) {
      a0 = vadd(a0, vload(x + i));
      a1 = vadd(a1, vload(x + i + W));
      a2 = vadd(a2, vload(x + i + 2 * W));
      a3 = vadd(a3, vload(x + i + 3 * W));
    }
    for (; i < e; i += W) a0 = vadd(a0, vload_part(x + i, lanes(e - i), 0.0f));
    total += static_cast<double>(vhsum(vadd(vadd(a0, a1), vadd(a2, a3))));
  }
  return static_cast<float>(total);
}

// e^x for the x <= 0 of a softmax (x - max; -inf for a masked score), NaN kept. The scale 2^n is one shift of a
// magic-number sum (1.5 * 2^23 + 126 + n leaves n + 126 in its low bits: no round or conversion instructions), and
// 2^(n - 1) times 2 e^r puts every result below e^-87 at exactly 0: no subnormal is formed (each costs tens of
// cycles on x86; they would change a softmax by less than 1e-37 of its sum). x is clamped to [-87.6, 0] first
// (n >= -126 keeps the shifted word's sign bit clear; vmax and vmin return their second operand, x, for NaN).
static inline V vexp_nonpositive(V x) {
  x = vmax(vset1(-87.6f), vmin(vset1(0.0f), x));
  const V k = vfmadd(x, vset1(1.44269504088896341f), vset1(12583038.0f));
  const V p = vexp_poly(x, vsub(k, vset1(12583038.0f)));
  return vmul(vadd(p, p), vshl23(k));
}

static float exp_shift_sum(const float* x, float* y, int64_t n, float shift) {
  const V sh = vset1(shift);
  V s0 = vzero(), s1 = vzero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const V e0 = vexp_nonpositive(vsub(vload(x + i), sh)), e1 = vexp_nonpositive(vsub(vload(x + i + W), sh));
    if (y != nullptr) {
      vstore(y + i, e0);
      vstore(y + i + W, e1);
    }
    s0 = vadd(s0, e0);
    s1 = vadd(s1, e1);
  }
  for (; i < n; i += W) {
    const int64_t m = lanes(n - i);
    const V e = vexp_nonpositive(vsub(vload_part(x + i, m, -__builtin_inff()), sh));
    if (y != nullptr) vstore_part(y + i, e, m);
    s0 = vadd(s0, e);
  }
  return vhsum(vadd(s0, s1));
}

static void axpb(const float* x, float* y, int64_t n, float a, float b) {
  const V va = vset1(a), vb = vset1(b);
  int64_t i = 0;
  for (; i + W <= n; i += W) vstore(y + i, vfmadd(vload(x + i), va, vb));
  if (i < n) vstore_part(y + i, vfmadd(vload_part(x + i, n - i, 0.0f), va, vb), n - i);
}

static void layer_norm_row(const float* x, float* y, int64_t n, const float* w, const float* b, float eps, float* mean,
                           float* rstd) {
  const float mu = n > 0 ? row_sum(x, n) / static_cast<float>(n) : 0.0f;
  const V vm = vset1(mu);
  V s0 = vzero(), s1 = vzero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const V d0 = vsub(vload(x + i), vm), d1 = vsub(vload(x + i + W), vm);
    s0 = vfmadd(d0, d0, s0);
    s1 = vfmadd(d1, d1, s1);
  }
  for (; i < n; i += W) {
    const int64_t m = lanes(n - i);
    const V d = vsub(vload_part(x + i, m, mu), vm);
    s0 = vfmadd(d, d, s0);
  }
  const float var = n > 0 ? vhsum(vadd(s0, s1)) / static_cast<float>(n) : 0.0f;
  const float rs = 1.0f / __builtin_sqrtf(var + eps);
  *mean = mu;
  *rstd = rs;
  const V vr = vset1(rs);
  // Whole vectors with plain loads (the same arithmetic as the tail, so the result does not depend on where a
  // row's tail falls); the affine-free and bias-free cases skip their loads.
  for (i = 0; i + W <= n; i += W) {
    V v = vmul(vsub(vload(x + i), vm), vr);
    if (w != nullptr) v = vmul(v, vload(w + i));
    if (b != nullptr) v = vadd(v, vload(b + i));
    vstore(y + i, v);
  }
  if (i < n) {
    const int64_t m = n - i;
    V v = vmul(vsub(vload_part(x + i, m, 0.0f), vm), vr);
    if (w != nullptr) v = vmul(v, vload_part(w + i, m, 0.0f));
    if (b != nullptr) v = vadd(v, vload_part(b + i, m, 0.0f));
    vstore_part(y + i, v, m);
  }
}

static inline V vunary(UnaryOp op, V x) {
  switch (op) {
    case UnaryOp::Exp: return vexp(x);
    case UnaryOp::Relu: return vmax(vzero(), x);
    case UnaryOp::Gelu: return vgelu(x);
    case UnaryOp::GeluTanh: return vgelu_tanh(x);
    case UnaryOp::Sigmoid: return vsigmoid(x);
    case UnaryOp::Silu: return vmul(x, vsigmoid(x));
  }
  return x;
}

template <UnaryOp Op>
static void unary_loop(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  // Two vectors per step: the long dependency chains of exp and erfc of one vector leave the FMA units idle
  // unless a second, independent chain is interleaved with it.
  for (; i + 2 * W <= n; i += 2 * W) {
    const V a = vunary(Op, vload(x + i)), b = vunary(Op, vload(x + i + W));
    vstore(y + i, a);
    vstore(y + i + W, b);
  }
  for (; i + W <= n; i += W) vstore(y + i, vunary(Op, vload(x + i)));
  if (i < n) vstore_part(y + i, vunary(Op, vload_part(x + i, n - i, 0.0f)), n - i);
}

static void unary(UnaryOp op, const float* x, float* y, int64_t n) {
  switch (op) {
    case UnaryOp::Exp: return unary_loop<UnaryOp::Exp>(x, y, n);
    case UnaryOp::Relu: return unary_loop<UnaryOp::Relu>(x, y, n);
    case UnaryOp::Gelu: return unary_loop<UnaryOp::Gelu>(x, y, n);
    case UnaryOp::GeluTanh: return unary_loop<UnaryOp::GeluTanh>(x, y, n);
    case UnaryOp::Sigmoid: return unary_loop<UnaryOp::Sigmoid>(x, y, n);
    case UnaryOp::Silu: return unary_loop<UnaryOp::Silu>(x, y, n);
  }
}

static inline V vbinary(BinaryOp op, V a, V b) {
  switch (op) {
    case BinaryOp::Add: return vadd(a, b);
    case BinaryOp::Sub: return vsub(a, b);
    case BinaryOp::Mul: return vmul(a, b);
    case BinaryOp::Div: return vdiv(a, b);
  }
  return a;
}

template <BinaryOp Op>
static void binary_loop(const float* a, const float* b, float* y, int64_t n, bool b_scalar) {
  int64_t i = 0;
  if (b_scalar) {
    const V vb = vset1(*b);
    for (; i + W <= n; i += W) vstore(y + i, vbinary(Op, vload(a + i), vb));
    if (i < n) vstore_part(y + i, vbinary(Op, vload_part(a + i, n - i, 1.0f), vb), n - i);
    return;
  }
  for (; i + W <= n; i += W) vstore(y + i, vbinary(Op, vload(a + i), vload(b + i)));
  if (i < n) vstore_part(y + i, vbinary(Op, vload_part(a + i, n - i, 1.0f), vload_part(b + i, n - i, 1.0f)), n - i);
}

static void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n, bool b_scalar) {
  switch (op) {
    case BinaryOp::Add: return binary_loop<BinaryOp::Add>(a, b, y, n, b_scalar);
    case BinaryOp::Sub: return binary_loop<BinaryOp::Sub>(a, b, y, n, b_scalar);
    case BinaryOp::Mul: return binary_loop<BinaryOp::Mul>(a, b, y, n, b_scalar);
    case BinaryOp::Div: return binary_loop<BinaryOp::Div>(a, b, y, n, b_scalar);
  }
}

template <Act A>
static void bias_act_loop(float* y, int64_t n, const float* bias, const float* res) {
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {  // two independent chains per step, as in unary_loop
    V a = vload(y + i), b = vload(y + i + W);
    if (bias != nullptr) {
      a = vadd(a, vload(bias + i));
      b = vadd(b, vload(bias + i + W));
    }
    a = vact(A, a);
    b = vact(A, b);
    if (res != nullptr) {
      a = vadd(a, vload(res + i));
      b = vadd(b, vload(res + i + W));
    }
    vstore(y + i, a);
    vstore(y + i + W, b);
  }
  for (; i + W <= n; i += W) {
    V v = vload(y + i);
    if (bias != nullptr) v = vadd(v, vload(bias + i));
    v = vact(A, v);
    if (res != nullptr) v = vadd(v, vload(res + i));
    vstore(y + i, v);
  }
  if (i < n) {
    V v = vload_part(y + i, n - i, 0.0f);
    if (bias != nullptr) v = vadd(v, vload_part(bias + i, n - i, 0.0f));
    v = vact(A, v);
    if (res != nullptr) v = vadd(v, vload_part(res + i, n - i, 0.0f));
    vstore_part(y + i, v, n - i);
  }
}

static void bias_act(float* y, int64_t n, const float* bias, Act act, const float* res) {
  switch (act) {
    case Act::None: return bias_act_loop<Act::None>(y, n, bias, res);
    case Act::Relu: return bias_act_loop<Act::Relu>(y, n, bias, res);
    case Act::Gelu: return bias_act_loop<Act::Gelu>(y, n, bias, res);
    case Act::GeluTanh: return bias_act_loop<Act::GeluTanh>(y, n, bias, res);
  }
}

// s[r] = q . k_r for the 4 keys k_r = k + r * ld: four sums in flight hide the FMA latency a single dot waits on.
static inline void dot_4rows(const float* q, const float* k, int64_t ld, int64_t d, float* s) {
  V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
  int64_t i = 0;
  for (; i + W <= d; i += W) {
    const V x = vload(q + i);
    a0 = vfmadd(x, vload(k + i), a0);
    a1 = vfmadd(x, vload(k + ld + i), a1);
    a2 = vfmadd(x, vload(k + 2 * ld + i), a2);
    a3 = vfmadd(x, vload(k + 3 * ld + i), a3);
  }
  if (i < d) {
    const int64_t m = d - i;
    const V x = vload_part(q + i, m, 0.0f);
    a0 = vfmadd(x, vload_part(k + i, m, 0.0f), a0);
    a1 = vfmadd(x, vload_part(k + ld + i, m, 0.0f), a1);
    a2 = vfmadd(x, vload_part(k + 2 * ld + i, m, 0.0f), a2);
    a3 = vfmadd(x, vload_part(k + 3 * ld + i, m, 0.0f), a3);
  }
  s[0] = vhsum(a0);
  s[1] = vhsum(a1);
  s[2] = vhsum(a2);
  s[3] = vhsum(a3);
}

static inline float dot_row(const float* q, const float* k, int64_t d) {
  V acc = vzero();
  int64_t i = 0;
  for (; i + W <= d; i += W) acc = vfmadd(vload(q + i), vload(k + i), acc);
  if (i < d) acc = vfmadd(vload_part(q + i, d - i, 0.0f), vload_part(k + i, d - i, 0.0f), acc);
  return vhsum(acc);
}

// o[0:C W) = inv * sum_j p[j] v_j[0:C W), whole vectors only.
template <int C>
static inline void weighted_rows_whole(const float* p, const float* v, int64_t ld, int64_t keys, float inv, float* o) {
  V acc[C];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) acc[c] = vzero();
  for (int64_t j = 0; j < keys; ++j) {
    const V pj = vset1(p[j]);
    const float* vr = v + j * ld;
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[c] = vfmadd(pj, vload(vr + c * W), acc[c]);
  }
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) vstore(o + c * W, vmul(acc[c], vset1(inv)));
}

// o[0:n) = inv * sum_j p[j] v_j[0:n) for n <= 4W, the sums held in registers across all keys; a head size of whole
// vectors (MiniLM's 32 and Whisper's 64 on either ISA) takes a loop without tail checks.
static inline void weighted_rows(const float* p, const float* v, int64_t ld, int64_t keys, int64_t n, float inv,
                                 float* o) {
  switch (n == 4 * W ? 4 : n == 2 * W ? 2 : n == W ? 1 : 0) {
    case 4: return weighted_rows_whole<4>(p, v, ld, keys, inv, o);
    case 2: return weighted_rows_whole<2>(p, v, ld, keys, inv, o);
    case 1: return weighted_rows_whole<1>(p, v, ld, keys, inv, o);
    default: break;
  }
  V acc[4] = {vzero(), vzero(), vzero(), vzero()};
  for (int64_t j = 0; j < keys; ++j) {
    const V pj = vset1(p[j]);
    const float* vr = v + j * ld;
    for (int c = 0; c * W < n; ++c) {
      const int64_t m = lanes(n - c * W);
      acc[c] = vfmadd(pj, m == W ? vload(vr + c * W) : vload_part(vr + c * W, m, 0.0f), acc[c]);
    }
  }
  for (int c = 0; c * W < n; ++c) {
    const int64_t m = lanes(n - c * W);
    if (m == W) vstore(o + c * W, vmul(acc[c], vset1(inv)));
    else vstore_part(o + c * W, vmul(acc[c], vset1(inv)), m);
  }
}

// Output rows [i0, i1) of attention from their softmax numerators (row i at p + (i - i0) * p_ld) and sums; a sum
// of 0 (every key masked) gives a row of 0, as PyTorch 2.13's attention.
static void out_rows(const AttnRowArgs& a, int64_t i0, int64_t i1, const float* p, int64_t p_ld, const float* sums) {
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t keys = a.causal && i + 1 < a.lk ? i + 1 : a.lk;
    float* o = a.out + i * a.out_ld;
    if (sums[i - i0] == 0.0f) {
      for (int64_t c = 0; c < a.dv; ++c) o[c] = 0.0f;
      continue;
    }
    for (int64_t c = 0; c < a.dv; c += 4 * W)
      weighted_rows(p + (i - i0) * p_ld, a.v + c, a.v_ld, keys, a.dv - c < 4 * W ? a.dv - c : 4 * W,
                    1.0f / sums[i - i0], o + c);
  }
}

// The raw scores of R query rows (q_ld apart) against NK * W keys held transposed in kt (d rows of NK * W floats):
// per d one broadcast of each q and NK loads of kt, R * NK independent sums, no horizontal adds. s rows s_ld apart.
template <int R, int NK>
static inline void scores_kt(const float* q, int64_t q_ld, const float* kt, int64_t d, float* s, int64_t s_ld) {
  V acc[R][NK];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NK; ++c) acc[r][c] = vzero();
  for (int64_t t = 0; t < d; ++t) {
    V kv[NK];
#pragma GCC unroll 4
    for (int c = 0; c < NK; ++c) kv[c] = vload(kt + t * NK * W + c * W);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const V qv = vset1(q[r * q_ld + t]);
#pragma GCC unroll 4
      for (int c = 0; c < NK; ++c) acc[r][c] = vfmadd(qv, kv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NK; ++c) vstore(s + r * s_ld + c * W, acc[r][c]);
}

// One row of NK * W raw scores s, in place, to e_j = exp(scale s_j + m_j - max) for j < keys and 0 past them;
// returns the sum of the e_j and sets mx to the max, or returns 0 when every key is masked (max -inf).
template <int NK>
static inline float softmax_row_kt(float* s, const float* m, int64_t keys, float scale, float& mx) {
  alignas(64) static const float kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const V ninf = vset1(-__builtin_inff());
  V x[NK], top = ninf;
#pragma GCC unroll 4
  for (int c = 0; c < NK; ++c) {
    const int64_t left = keys - c * W;
    if (left <= 0) {
      x[c] = ninf;
      continue;
    }
    x[c] = vmul(vload(s + c * W), vset1(scale));
    if (m != nullptr) x[c] = vadd(x[c], vload_part(m + c * W, lanes(left), 0.0f));
    if (left < W) x[c] = vlt(vload(kIota), vset1(static_cast<float>(left)), x[c], ninf);
    top = vmax(top, x[c]);
  }
  mx = vhmax(top);
  if (mx == -__builtin_inff()) return 0.0f;
  const V shift = vset1(mx);
  V sum = vzero();
#pragma GCC unroll 4
  for (int c = 0; c < NK; ++c) {
    const V e = vexp_nonpositive(vsub(x[c], shift));
    vstore(s + c * W, e);
    sum = vadd(sum, e);
  }
  return vhsum(sum);
}

// attn_rows with the keys first laid out transposed in kt (d rows of NK * W floats, zero past lk): each row's
// scores are whole-vector FMAs (scores_kt) instead of a dot product per key ending in a horizontal sum, and its
// softmax stays in registers. For few keys (NK * W >= lk) and several queries.
template <int NK>
static void attn_rows_kt(const AttnRowArgs& a, float* kt) {
  constexpr int64_t KW = NK * W;
  constexpr int R = NK <= 2 ? 4 : 2;  // about eight sums in flight
  for (int64_t j = 0; j < a.lk; ++j)
    for (int64_t t = 0; t < a.d; ++t) kt[t * KW + j] = a.k[j * a.k_ld + t];
  for (int64_t t = 0; t < a.d; ++t)
    for (int64_t j = a.lk; j < KW; ++j) kt[t * KW + j] = 0.0f;
  const int64_t group = a.scratch_rows > 0 ? a.scratch_rows : 1;
  float sums[kAttnScratchRows];
  for (int64_t i0 = 0; i0 < a.lq; i0 += group) {
    const int64_t i1 = i0 + group < a.lq ? i0 + group : a.lq;
    int64_t i = i0;
    for (; i + R <= i1; i += R) scores_kt<R, NK>(a.q + i * a.q_ld, a.q_ld, kt, a.d, a.scratch + (i - i0) * KW, KW);
    for (; i < i1; ++i) scores_kt<1, NK>(a.q + i * a.q_ld, a.q_ld, kt, a.d, a.scratch + (i - i0) * KW, KW);
    for (i = i0; i < i1; ++i) {
      const int64_t keys = a.causal && i + 1 < a.lk ? i + 1 : a.lk;
      float mx;
      sums[i - i0] = softmax_row_kt<NK>(a.scratch + (i - i0) * KW, a.mask != nullptr ? a.mask + i * a.mask_ld : nullptr,
                                        keys, a.scale, mx);
      if (a.lse != nullptr) a.lse[i] = sums[i - i0] == 0.0f ? -__builtin_inff() : mx + __builtin_logf(sums[i - i0]);
    }
    out_rows(a, i0, i1, a.scratch, KW, sums);
  }
}

// Attention rows without packing: the scores of each query row padded with -inf to whole vectors, so the softmax
// runs on full vectors only, then the weighted sum of V rows scaled by 1 / sum once. With at most 4 W keys, at
// least 4 queries and room offered in kt_scratch, attn_rows_kt instead.
static void attn_rows(const AttnRowArgs& a) {
  const int64_t nk = (a.lk + W - 1) / W;
  if (a.kt_scratch != nullptr && nk <= 4 && a.lq >= 4) {
    switch (nk) {
      case 1: return attn_rows_kt<1>(a, a.kt_scratch);
      case 2: return attn_rows_kt<2>(a, a.kt_scratch);
      case 3: return attn_rows_kt<3>(a, a.kt_scratch);
      default: return attn_rows_kt<4>(a, a.kt_scratch);
    }
  }
  const int64_t stride = (a.lk + 15) / 16 * 16, group = a.scratch_rows > 0 ? a.scratch_rows : 1;
  float sums[kAttnScratchRows];
  for (int64_t i0 = 0; i0 < a.lq; i0 += group) {
    const int64_t i1 = i0 + group < a.lq ? i0 + group : a.lq;
    // Scores of the group's rows first, then their sums of V rows: K, then V, stays in L2 across the rows.
    for (int64_t i = i0; i < i1; ++i) {
      float* s = a.scratch + (i - i0) * stride;
      const float* q = a.q + i * a.q_ld;
      const int64_t keys = a.causal && i + 1 < a.lk ? i + 1 : a.lk;
      int64_t j = 0;
      for (; j + 4 <= keys; j += 4) dot_4rows(q, a.k + j * a.k_ld, a.k_ld, a.d, s + j);
      for (; j < keys; ++j) s[j] = dot_row(q, a.k + j * a.k_ld, a.d);
      const float* m = a.mask != nullptr ? a.mask + i * a.mask_ld : nullptr;
      for (j = 0; j < keys; ++j) s[j] = s[j] * a.scale + (m != nullptr ? m[j] : 0.0f);
      const int64_t padded = (keys + W - 1) / W * W;
      for (; j < padded; ++j) s[j] = -__builtin_inff();
      const float mx = row_max(s, padded);
      if (mx == -__builtin_inff()) {  // every key masked: a row of 0 (out_rows)
        sums[i - i0] = 0.0f;
        if (a.lse != nullptr) a.lse[i] = -__builtin_inff();
        continue;
      }
      sums[i - i0] = exp_shift_sum(s, s, padded, mx);
      if (a.lse != nullptr) a.lse[i] = mx + __builtin_logf(sums[i - i0]);
    }
    out_rows(a, i0, i1, a.scratch, stride, sums);
  }
}

// R rows of x (row stride ldx, the kcb floats of one K block) times P slivers of a float16 panel (sliver q at
// b + q * NV * W * kcb, [k][NV * W] halves): out[r][q * NV * W + c] (row stride ldo) is set (first K block) or
// added to. Each output is one FMA chain from zero over the block, then added, exactly as in sgemm_tile, so a
// weight whose values are all float16 gives the bits of the float32 packed product from half the bytes.
template <int R, int P>
static void half_tile_t(int64_t kcb, const float* x, int64_t ldx, const uint16_t* b, float* out, int64_t ldo,
                        bool first) {
  constexpr int NR = NV * W;
  V acc[R][P][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[r][q][j] = vzero();
  for (int64_t k = 0; k < kcb; ++k) {
    V bv[P][NV];
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) bv[q][j] = vload_half(b + q * NR * kcb + k * NR + j * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const V av = vset1(x[r * ldx + k]);
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[r][q][j] = vfmadd(av, bv[q][j], acc[r][q][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        float* o = out + r * ldo + q * NR + j * W;
        vstore(o, first ? acc[r][q][j] : vadd(vload(o), acc[r][q][j]));
      }
}

// half_tile_t over `slivers` (<= kHalfSlivers) slivers, P at a time, as many as R rows leave registers for.
template <int R, int P>
static void half_slivers(int64_t kcb, const float* x, int64_t ldx, const uint16_t* b, int64_t slivers, float* out,
                         int64_t ldo, bool first) {
  constexpr int NR = NV * W;
  int64_t q = 0;
  for (; q + P <= slivers; q += P) half_tile_t<R, P>(kcb, x, ldx, b + q * NR * kcb, out + q * NR, ldo, first);
  for (; q < slivers; ++q) half_tile_t<R, 1>(kcb, x, ldx, b + q * NR * kcb, out + q * NR, ldo, first);
}

static void half_block(int64_t rows, int64_t kcb, const float* x, int64_t ldx, const uint16_t* b, int64_t slivers,
                       float* out, int64_t ldo, bool first) {
  switch (rows) {
    case 1: half_slivers<1, 4>(kcb, x, ldx, b, slivers, out, ldo, first); break;
    case 2: half_slivers<2, 2>(kcb, x, ldx, b, slivers, out, ldo, first); break;
    case 3: half_slivers<3, 1>(kcb, x, ldx, b, slivers, out, ldo, first); break;  // P = 2 would spill (17 registers)
    case 4: half_slivers<4, 1>(kcb, x, ldx, b, slivers, out, ldo, first); break;
    case 5: half_slivers<5, 1>(kcb, x, ldx, b, slivers, out, ldo, first); break;
    default: half_slivers<6, 1>(kcb, x, ldx, b, slivers, out, ldo, first); break;
  }
}

static const KernelTable kTable = {kIsa, MR, NV * W, sgemm_tile, sgemm_tile_rows, sgemm_tile_few, pack_rows, pack_cols, row_max, row_sum, exp_shift_sum, axpb,
                                   layer_norm_row, unary, binary, bias_act, attn_rows, half_block};
