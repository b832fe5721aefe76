/*
 * The operations of an MLP or MoE training step on the CPU, in WebAssembly SIMD: matrix products,
 * bias and column sums, tanh-GELU, LayerNorm, row gathers and weighted scatters for expert
 * dispatch, the global squared norm and AdamW. `src/steps/nativeImageStep.ts` composes them into a
 * whole training step (forward, backward, clipping, update) over one block of kernel memory.
 *
 * Threads: the module imports a shared memory, and `kernelPool.ts` runs one instance per thread on it,
 * each with its own stack (`__stack_pointer` is exported for that). Nothing here keeps state outside
 * the stack and the caller's buffers, so any number of threads may run kernels on disjoint outputs.
 *
 * Why this exists: jax-js 0.1.25 runs an image step as some 350–650 generated kernels whose
 * 128-wide matmuls reach about 22 GFLOP/s, and it has no way to call our code inside `jit`; the
 * 4×8 register tiles of simd.h reach 25–38 GFLOP/s on the same shapes. docs/performance.md has
 * the measurements.
 *
 * Conventions: row-major float32 arrays, sizes in elements, pointers are byte offsets into this
 * module's memory (the caller, `src/kernels/mlpKernel.ts`, lays them out). `accumulate` = 0 overwrites.
 * Element-wise operations take any n; the SIMD body handles n & ~3 and a scalar loop the rest.
 */
#include "simd.h"

static inline v128_t splat(float x) { return wasm_f32x4_splat(x); }

/* Σ_j x[j]. */
static inline float sum(const float *x, int n) {
  v128_t acc = splat(0.0f);
  int j = 0;
  for (; j + 4 <= n; j += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(x + j));
  float s = hsum(acc);
  for (; j < n; j++) s += x[j];
  return s;
}

/* Depth of one packed block of the right operand: KB × 8 floats (4 KB) stay in L1 for all rows.
 * The block lives on the caller's stack, so threads sharing the memory never share it. */
#define KB 128

/*
 * Every row of a against the packed panel: out[i, 0..w) (+)= Σ_p a[i·ai + p·ap] · bpack[p, 0..w).
 * A partial panel (w < 8, zero-padded) goes through an 8-wide scratch tile so nothing past column w
 * is written.
 */
static void panel_rows(const float *bpack, int rows, int kb, const float *a, int ai, int ap, float *out, int ldo, int w, int acc) {
  int i = 0;
  if (w == 8) {
    for (; i + TILE_ROWS <= rows; i += TILE_ROWS) tile(TILE_ROWS, kb, a + i * ai, ai, ap, bpack, 8, out + i * ldo, ldo, acc);
    for (; i < rows; i++) tile(1, kb, a + i * ai, ai, ap, bpack, 8, out + i * ldo, ldo, acc);
    return;
  }
  float scratch[TILE_ROWS * 8] __attribute__((aligned(16)));
  for (; i < rows; i += TILE_ROWS) {
    int n = rows - i < TILE_ROWS ? rows - i : TILE_ROWS;
    for (int r = 0; r < TILE_ROWS; r++)
      for (int jj = 0; jj < 8; jj++) scratch[r * 8 + jj] = (acc && r < n && jj < w) ? out[(i + r) * ldo + jj] : 0.0f;
    if (n == TILE_ROWS) tile(TILE_ROWS, kb, a + i * ai, ai, ap, bpack, 8, scratch, 8, 1);
    else for (int r = 0; r < n; r++) tile(1, kb, a + (i + r) * ai, ai, ap, bpack, 8, scratch + r * 8, 8, 1);
    for (int r = 0; r < n; r++)
      for (int jj = 0; jj < w; jj++) out[(i + r) * ldo + jj] = scratch[r * 8 + jj];
  }
}

/* Pack rows p0 .. p0+kb, columns j .. j+w of the right operand into bpack (KB × 8, zero-padded past w):
 * b[p, j] is b[p·ldb + j], or b[j·ldb + p] when `transposed` (the operand given as [cols, depth]). */
static void pack_panel(float *bpack, const float *b, int ldb, int transposed, int p0, int kb, int j, int w) {
  if (!transposed && w == 8) {
    for (int p = 0; p < kb; p++) {
      wasm_v128_store(bpack + p * 8, wasm_v128_load(b + (p0 + p) * ldb + j));
      wasm_v128_store(bpack + p * 8 + 4, wasm_v128_load(b + (p0 + p) * ldb + j + 4));
    }
    return;
  }
  for (int jj = 0; jj < 8; jj++)
    for (int p = 0; p < kb; p++)
      bpack[p * 8 + jj] = jj >= w ? 0.0f : transposed ? b[(j + jj) * ldb + p0 + p] : b[(p0 + p) * ldb + j + jj];
}

/*
 * simd.h's tiles over blocks: for each block of KB rows of b and each 8 columns, the block is
 * copied into one contiguous panel, then every row of a runs against it.
 */
static void gemm_packed(int rows, int cols, int depth, const float *a, int ai, int ap, const float *b, int ldb, int transposed,
                        float *out, int ldo, int accumulate) {
  float bpack[KB * 8] __attribute__((aligned(16)));
  for (int p0 = 0; p0 < depth; p0 += KB) {
    int kb = depth - p0 < KB ? depth - p0 : KB;
    for (int j = 0; j < cols; j += 8) {
      int w = cols - j < 8 ? cols - j : 8;
      pack_panel(bpack, b, ldb, transposed, p0, kb, j, w);
      panel_rows(bpack, rows, kb, a + p0 * ap, ai, ap, out + j, ldo, w, accumulate || p0 > 0);
    }
  }
}

/*
 * out[i, j] (+)= Σ_p a[i·ai + p·ap] · bt[j·ldbt + p]: `matmul` against the transpose of a row-major
 * [cols, depth] matrix (a weight's input gradient, dy · Wᵀ).
 */
EXPORT("matmul_t")
void matmul_t(int rows, int cols, int depth, const float *a, int ai, int ap, const float *bt, int ldbt, float *out, int ldo,
              int accumulate) {
  gemm_packed(rows, cols, depth, a, ai, ap, bt, ldbt, 1, out, ldo, accumulate);
}

/*
 * out[i, j] (+)= Σ_p a[i·ai + p·ap] · b[p·ldb + j] for any cols: packed SIMD tiles, the last partial
 * block of columns (the 10 classes of an image head, a router's 6 experts) zero-padded.
 */
EXPORT("matmul")
void matmul(int rows, int cols, int depth, const float *a, int ai, int ap, const float *b, int ldb, float *out, int ldo,
            int accumulate) {
  gemm_packed(rows, cols, depth, a, ai, ap, b, ldb, 0, out, ldo, accumulate);
}

/* y[i, j] += b[j]. */
EXPORT("add_bias")
void add_bias(float *y, const float *b, int rows, int cols) {
  for (int i = 0; i < rows; i++) {
    float *row = y + i * cols;
    for (int j = 0; j < cols; j++) row[j] += b[j];
  }
}

/* out[j] += Σ_i x[i, j] (a bias's gradient). */
EXPORT("sum_rows")
void sum_rows(const float *x, int rows, int cols, float *out) {
  for (int i = 0; i < rows; i++) {
    const float *row = x + i * cols;
    for (int j = 0; j < cols; j++) out[j] += row[j];
  }
}

/* x[i] (+)= y[i] (the residual stream). */
EXPORT("add")
void add(float *x, const float *y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_add(wasm_v128_load(x + i), wasm_v128_load(y + i)));
  for (; i < n; i++) x[i] += y[i];
}

/* float64 of lanes 0, 1 (or 2, 3 with `high`) of a float32 vector. */
static inline v128_t f64_lanes(v128_t v, int high) {
  return wasm_f64x2_promote_low_f32x4(high ? wasm_i32x4_shuffle(v, v, 2, 3, 0, 1) : v);
}

/*
 * out[i] = x[i] · y[i], or with `accumulate` out[i] = float32(out[i] + x[i] · y[i]) computed in
 * float64 and rounded once, as the JavaScript `out[i] += x[i] * y[i]` this replaced (so run folders
 * from before resume to the same bits): a router's input jitter, forward and backward.
 */
EXPORT("mul")
void mul(const float *x, const float *y, float *out, int n, int accumulate) {
  int i = 0;
  if (accumulate) {
    for (; i + 4 <= n; i += 4) {
      v128_t o = wasm_v128_load(out + i), a = wasm_v128_load(x + i), b = wasm_v128_load(y + i);
      v128_t lo = wasm_f64x2_add(f64_lanes(o, 0), wasm_f64x2_mul(f64_lanes(a, 0), f64_lanes(b, 0)));
      v128_t hi = wasm_f64x2_add(f64_lanes(o, 1), wasm_f64x2_mul(f64_lanes(a, 1), f64_lanes(b, 1)));
      wasm_v128_store(out + i, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
    for (; i < n; i++) out[i] = (float)((double)out[i] + (double)x[i] * (double)y[i]);
  } else {
    for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(y + i)));
    for (; i < n; i++) out[i] = x[i] * y[i];
  }
}

#define GELU_C 0.7978845608028654f /* √(2/π) */
#define GELU_K 0.044715f

/* tanh(u) = sign(u) · (1 − e) / (1 + e) with e = exp(−2|u|) ≤ 1. */
static inline v128_t tanh_v(v128_t u) {
  v128_t e = exp_nonpositive(wasm_f32x4_mul(wasm_f32x4_abs(u), splat(-2.0f)));
  v128_t t = wasm_f32x4_div(wasm_f32x4_sub(splat(1.0f), e), wasm_f32x4_add(splat(1.0f), e));
  return wasm_v128_or(t, wasm_v128_and(u, wasm_i32x4_splat((int32_t)0x80000000)));
}

static inline v128_t gelu_inner(v128_t x) {
  v128_t x3 = wasm_f32x4_mul(wasm_f32x4_mul(x, x), x);
  return wasm_f32x4_mul(splat(GELU_C), wasm_f32x4_add(x, wasm_f32x4_mul(splat(GELU_K), x3)));
}

/* One element through the vector code (lane 0), so the tail matches the body bit for bit. */
#define SCALAR_VIA_VECTOR(expr_of_v) wasm_f32x4_extract_lane((expr_of_v), 0)

static inline v128_t gelu_v(v128_t x) {
  v128_t t = tanh_v(gelu_inner(x));
  return wasm_f32x4_mul(wasm_f32x4_mul(splat(0.5f), x), wasm_f32x4_add(splat(1.0f), t));
}

/* d gelu / dx = ½(1 + t) + ½ x (1 − t²) √(2/π) (1 + 3k x²), t = tanh(√(2/π)(x + k x³)). */
static inline v128_t gelu_grad_from_t(v128_t x, v128_t t);
static inline v128_t gelu_grad_v(v128_t x) { return gelu_grad_from_t(x, tanh_v(gelu_inner(x))); }

/* y = gelu_tanh(x) keeping t = tanh(√(2/π)(x + k x³)) for gelu_backward_t (no second exp there). */
EXPORT("gelu_forward_t")
void gelu_forward_t(const float *x, float *y, float *t, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t xv = wasm_v128_load(x + i), tv = tanh_v(gelu_inner(xv));
    wasm_v128_store(t + i, tv);
    wasm_v128_store(y + i, wasm_f32x4_mul(wasm_f32x4_mul(splat(0.5f), xv), wasm_f32x4_add(splat(1.0f), tv)));
  }
  for (; i < n; i++) {
    v128_t xv = splat(x[i]), tv = tanh_v(gelu_inner(xv));
    t[i] = wasm_f32x4_extract_lane(tv, 0);
    y[i] = wasm_f32x4_extract_lane(wasm_f32x4_mul(wasm_f32x4_mul(splat(0.5f), xv), wasm_f32x4_add(splat(1.0f), tv)), 0);
  }
}

static inline v128_t gelu_grad_from_t(v128_t x, v128_t t) {
  v128_t one = splat(1.0f), half = splat(0.5f);
  v128_t du = wasm_f32x4_mul(splat(GELU_C), wasm_f32x4_add(one, wasm_f32x4_mul(splat(3.0f * GELU_K), wasm_f32x4_mul(x, x))));
  v128_t sech2 = wasm_f32x4_sub(one, wasm_f32x4_mul(t, t));
  return wasm_f32x4_add(wasm_f32x4_mul(half, wasm_f32x4_add(one, t)), wasm_f32x4_mul(wasm_f32x4_mul(half, x), wasm_f32x4_mul(sech2, du)));
}

/* dx = dy · gelu'(x) from the t that gelu_forward_t kept; in place when dx == dy. */
EXPORT("gelu_backward_t")
void gelu_backward_t(const float *x, const float *t, const float *dy, float *dx, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4)
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), gelu_grad_from_t(wasm_v128_load(x + i), wasm_v128_load(t + i))));
  for (; i < n; i++) dx[i] = dy[i] * wasm_f32x4_extract_lane(gelu_grad_from_t(splat(x[i]), splat(t[i])), 0);
}

/* y = gelu_tanh(x) (PyTorch's approximate="tanh"). */
EXPORT("gelu_forward")
void gelu_forward(const float *x, float *y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, gelu_v(wasm_v128_load(x + i)));
  for (; i < n; i++) y[i] = SCALAR_VIA_VECTOR(gelu_v(splat(x[i])));
}

/* dx = dy · gelu'(x), in place when dx == dy. */
EXPORT("gelu_backward")
void gelu_backward(const float *x, const float *dy, float *dx, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), gelu_grad_v(wasm_v128_load(x + i))));
  for (; i < n; i++) dx[i] = dy[i] * SCALAR_VIA_VECTOR(gelu_grad_v(splat(x[i])));
}

/*
 * LayerNorm over rows of d: xhat = (x − mean) · rstd, rstd = 1/√(var + eps), y = xhat · scale + bias.
 * Keeps xhat [rows, d] and rstd [rows] for the backward pass.
 */
EXPORT("layernorm_forward")
void layernorm_forward(const float *x, const float *scale, const float *bias, int rows, int d, float eps, float *y,
                       float *xhat, float *rstd) {
  for (int i = 0; i < rows; i++) {
    const float *xr = x + i * d;
    float *h = xhat + i * d;
    float mean = sum(xr, d) / (float)d;
    for (int j = 0; j < d; j++) h[j] = xr[j] - mean;
    float var = dot(h, h, d) / (float)d;
    float r = 1.0f / __builtin_sqrtf(var + eps);
    rstd[i] = r;
    for (int j = 0; j < d; j++) {
      h[j] *= r;
      y[i * d + j] = h[j] * scale[j] + bias[j];
    }
  }
}

/*
 * The backward pass: dx (+)= rstd · (ĝ − mean(ĝ) − xhat · mean(ĝ · xhat)) with ĝ = dy · scale, and
 * dscale += Σ_rows dy · xhat, dbias += Σ_rows dy.
 */
EXPORT("layernorm_backward")
void layernorm_backward(const float *dy, const float *xhat, const float *rstd, const float *scale, int rows, int d,
                        float *dx, int accumulate, float *dscale, float *dbias) {
  for (int i = 0; i < rows; i++) {
    const float *g = dy + i * d, *h = xhat + i * d;
    v128_t a1 = splat(0.0f), a2 = splat(0.0f);
    int j = 0;
    for (; j + 4 <= d; j += 4) {
      v128_t gv = wasm_v128_load(g + j), hv = wasm_v128_load(h + j), gh = wasm_f32x4_mul(gv, wasm_v128_load(scale + j));
      a1 = wasm_f32x4_add(a1, gh);
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(gh, hv));
      wasm_v128_store(dscale + j, wasm_f32x4_add(wasm_v128_load(dscale + j), wasm_f32x4_mul(gv, hv)));
      wasm_v128_store(dbias + j, wasm_f32x4_add(wasm_v128_load(dbias + j), gv));
    }
    float m1 = hsum(a1), m2 = hsum(a2);
    for (; j < d; j++) {
      float gh = g[j] * scale[j];
      m1 += gh;
      m2 += gh * h[j];
      dscale[j] += g[j] * h[j];
      dbias[j] += g[j];
    }
    m1 /= (float)d;
    m2 /= (float)d;
    float *o = dx + i * d;
    for (int j = 0; j < d; j++) {
      float v = rstd[i] * (g[j] * scale[j] - m1 - h[j] * m2);
      o[j] = accumulate ? o[j] + v : v;
    }
  }
}

/* dst[i, :] = src[idx[i], :] (· w[i] when w is not null), i < n. */
EXPORT("gather_rows")
void gather_rows(const float *src, int d, const int32_t *idx, const float *w, int n, float *dst) {
  for (int i = 0; i < n; i++) {
    const float *s = src + idx[i] * d;
    float *o = dst + i * d;
    float c = w ? w[i] : 1.0f;
    for (int j = 0; j < d; j++) o[j] = c * s[j];
  }
}

/* dst[idx[i], :] += src[i, :] (· w[i] when w is not null), i < n. */
EXPORT("scatter_add_rows")
void scatter_add_rows(float *dst, int d, const int32_t *idx, const float *w, int n, const float *src) {
  for (int i = 0; i < n; i++) {
    float *o = dst + idx[i] * d;
    const float *s = src + i * d;
    float c = w ? w[i] : 1.0f;
    for (int j = 0; j < d; j++) o[j] += c * s[j];
  }
}

/* out[i] = Σ_j a[idx[i], j] · b[i, j] (a combine weight's gradient), i < n. */
EXPORT("gathered_dots")
void gathered_dots(const float *a, int d, const int32_t *idx, const float *b, int n, float *out) {
  for (int i = 0; i < n; i++) out[i] = dot(a + idx[i] * d, b + i * d, d);
}

/* Σ x[i]², in blocks of f32 partial sums added in f64. */
EXPORT("sum_squares")
double sum_squares(const float *x, int n) {
  double total = 0.0;
  int i = 0;
  while (i + 4 <= n) {
    v128_t acc = splat(0.0f);
    int end = i + 4096 < n ? i + 4096 : n;
    for (; i + 4 <= end; i += 4) {
      v128_t v = wasm_v128_load(x + i);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(v, v));
    }
    total += (double)wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) + wasm_f32x4_extract_lane(acc, 2) +
             wasm_f32x4_extract_lane(acc, 3);
  }
  for (; i < n; i++) total += (double)x[i] * x[i];
  return total;
}

/*
 * AdamW on n parameters, with the gradient first scaled by gscale (clipping):
 * m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²,  p ← p − lr (m/c1 / (√(v/c2) + ε) + wd p),
 * c1 = 1 − β1ᵗ, c2 = 1 − β2ᵗ (the same operations, in the same order, as `src/train/adamw.ts`).
 */
static inline void adamw_v(float *p, const float *g, float *m, float *v, int i, v128_t gs, v128_t b1, v128_t b2, v128_t nb1,
                           v128_t nb2, v128_t c1, v128_t c2, v128_t eps, v128_t wd, v128_t lr) {
  v128_t gv = wasm_f32x4_mul(wasm_v128_load(g + i), gs);
  v128_t mv = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gv, nb1));
  v128_t vv = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(gv, gv), nb2));
  v128_t pv = wasm_v128_load(p + i);
  v128_t step = wasm_f32x4_div(wasm_f32x4_div(mv, c1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vv, c2)), eps));
  step = wasm_f32x4_add(step, wasm_f32x4_mul(pv, wd));
  wasm_v128_store(p + i, wasm_f32x4_sub(pv, wasm_f32x4_mul(step, lr)));
  wasm_v128_store(m + i, mv);
  wasm_v128_store(v + i, vv);
}

EXPORT("adamw")
void adamw(float *p, const float *g, float *m, float *v, int n, float lr, float beta1, float beta2, float eps, float wd,
           float c1, float c2, float gscale) {
  v128_t gs = splat(gscale), b1 = splat(beta1), b2 = splat(beta2), nb1 = splat(1.0f - beta1), nb2 = splat(1.0f - beta2);
  v128_t vc1 = splat(c1), vc2 = splat(c2), ve = splat(eps), vwd = splat(wd), vlr = splat(lr);
  int i = 0;
  for (; i + 4 <= n; i += 4) adamw_v(p, g, m, v, i, gs, b1, b2, nb1, nb2, vc1, vc2, ve, vwd, vlr);
  for (; i < n; i++) {
    float gv = g[i] * gscale;
    m[i] = m[i] * beta1 + gv * (1.0f - beta1);
    v[i] = v[i] * beta2 + gv * gv * (1.0f - beta2);
    float step = (m[i] / c1) / (__builtin_sqrtf(v[i] / c2) + eps) + p[i] * wd;
    p[i] = p[i] - step * lr;
  }
}

/* x[i] = 0, i < n. */
EXPORT("zero")
void zero(float *x, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, splat(0.0f));
  for (; i < n; i++) x[i] = 0.0f;
}

/*
 * The SIMD ceiling, for `npm run bench:peak`: n rounds of 12 independent multiply-then-add chains on
 * four lanes (96 flops a round) that never leave the registers. Returns their sum, so nothing is
 * optimised away.
 */
EXPORT("simd_peak")
float simd_peak(int n, float x) {
  v128_t m = splat(x), c = splat(1e-7f);
  v128_t a0 = splat(1.0f), a1 = splat(1.1f), a2 = splat(1.2f), a3 = splat(1.3f), a4 = splat(1.4f), a5 = splat(1.5f);
  v128_t a6 = splat(1.6f), a7 = splat(1.7f), a8 = splat(1.8f), a9 = splat(1.9f), a10 = splat(2.0f), a11 = splat(2.1f);
  for (int i = 0; i < n; i++) {
    a0 = wasm_f32x4_add(wasm_f32x4_mul(a0, m), c); a1 = wasm_f32x4_add(wasm_f32x4_mul(a1, m), c);
    a2 = wasm_f32x4_add(wasm_f32x4_mul(a2, m), c); a3 = wasm_f32x4_add(wasm_f32x4_mul(a3, m), c);
    a4 = wasm_f32x4_add(wasm_f32x4_mul(a4, m), c); a5 = wasm_f32x4_add(wasm_f32x4_mul(a5, m), c);
    a6 = wasm_f32x4_add(wasm_f32x4_mul(a6, m), c); a7 = wasm_f32x4_add(wasm_f32x4_mul(a7, m), c);
    a8 = wasm_f32x4_add(wasm_f32x4_mul(a8, m), c); a9 = wasm_f32x4_add(wasm_f32x4_mul(a9, m), c);
    a10 = wasm_f32x4_add(wasm_f32x4_mul(a10, m), c); a11 = wasm_f32x4_add(wasm_f32x4_mul(a11, m), c);
  }
  v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)), wasm_f32x4_add(wasm_f32x4_add(a4, a5), wasm_f32x4_add(a6, a7)));
  return hsum(wasm_f32x4_add(s, wasm_f32x4_add(wasm_f32x4_add(a8, a9), wasm_f32x4_add(a10, a11))));
}

/* simd.h's register tile alone: n passes of one TILE_ROWS × 8 tile over depth KB, a [TILE_ROWS, KB]
 * and the packed panel b [KB, 8] in L1 (the matmuls' inner loop without their packing and edges). */
EXPORT("tile_peak")
void tile_peak(int n, const float *a, const float *b, float *out) {
  for (int i = 0; i < n; i++) tile(TILE_ROWS, KB, a, KB, 1, b, 8, out, 8, 1);
}
