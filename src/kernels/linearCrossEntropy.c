/*
 * The tied LM head's fused cross-entropy and gradients for one chunk of tokens, in WebAssembly SIMD.
 *
 *   z = E hᵀ (logits, held [V, C]),  m_c = max_v z[v, c],  S_c = Σ_v exp(z[v, c] − m_c),
 *   G = s · (softmax(z) − onehot(y)),  ∂L/∂h = Gᵀ E  ([C, d]),  ∂L/∂E += G h  ([V, d])
 *
 * Why this exists: at the Tiny LM's d = 64 the 50,257-way head is ~90% of a training step, and
 * jax-js 0.1.25's wasm backend runs it as separate kernels (three matmuls at 12–22 GFLOP/s, and an
 * `exp` that is a scalar call per element). Here the three products run as register-tiled 4×8 SIMD
 * micro-kernels over cache-sized blocks of the vocabulary, and exp is a SIMD polynomial.
 * `npm run bench:lm` times this kernel against the jax-js head side by side.
 *
 * Built by `scripts/build-kernels.sh` (clang --target=wasm32 -msimd128) into
 * `linearCrossEntropyWasm.ts`; the caller (`wasmHead.ts`) owns the memory layout.
 * Requirements: C % 8 == 0, d % 8 == 0; rows c >= cValid are padding (their G is 0).
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

/* Rows of the vocabulary per cache block in the gradient pass (E and G blocks stay in L2). */
#define VB 256

/* exp(x) for x <= 0 (a logit minus its column's max), to ~2 ulp: Cody–Waite range reduction
 * x = n ln2 + r and the Cephes expf polynomial, scaled by 2^n built in the exponent bits. */
static inline v128_t exp_nonpositive(v128_t x) {
  x = wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)); /* exp(-87) ≈ 1.6e-38, still normal */
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, scale);
}

/* Rows of the register tile: TILE_ROWS × 8 outputs live in 2·TILE_ROWS SIMD registers. */
#ifndef TILE_ROWS
#define TILE_ROWS 4
#endif

/* One tile of `nrows` (≤ TILE_ROWS) rows × 8 columns; the loops over rows unroll at compile time. */
static inline void tile(int nrows, int depth, const float *a, int ai, int ap, const float *b, int ldb, float *out, int ldo, int accumulate) {
  v128_t c0[TILE_ROWS], c1[TILE_ROWS];
#pragma clang loop unroll(full)
  for (int r = 0; r < TILE_ROWS; r++) {
    if (r < nrows && accumulate) {
      c0[r] = wasm_v128_load(out + r * ldo);
      c1[r] = wasm_v128_load(out + r * ldo + 4);
    } else {
      c0[r] = c1[r] = wasm_f32x4_splat(0.0f);
    }
  }
  for (int p = 0; p < depth; p++) {
    v128_t b0 = wasm_v128_load(b + p * ldb), b1 = wasm_v128_load(b + p * ldb + 4);
#pragma clang loop unroll(full)
    for (int r = 0; r < TILE_ROWS; r++) {
      if (r < nrows) {
        v128_t s = wasm_v128_load32_splat(a + r * ai + p * ap);
        c0[r] = wasm_f32x4_add(c0[r], wasm_f32x4_mul(s, b0));
        c1[r] = wasm_f32x4_add(c1[r], wasm_f32x4_mul(s, b1));
      }
    }
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < TILE_ROWS; r++) {
    if (r < nrows) {
      wasm_v128_store(out + r * ldo, c0[r]);
      wasm_v128_store(out + r * ldo + 4, c1[r]);
    }
  }
}

/*
 * out[i, j] (+)= Σ_p a[i·ai + p·ap] · b[p·ldb + j] for i < rows, j < cols, p < depth:
 * a scalar-strided left operand (so both A and Aᵀ can be read without a copy), a row-major right
 * operand, a row-major output. TILE_ROWS×8 register tiles, then 1×8 tiles for the last rows;
 * cols % 8 == 0. `accumulate` = 0 overwrites out.
 */
static void gemm(int rows, int cols, int depth, const float *a, int ai, int ap, const float *b, int ldb,
                 float *out, int ldo, int accumulate) {
  int i = 0;
  for (; i + TILE_ROWS <= rows; i += TILE_ROWS)
    for (int j = 0; j < cols; j += 8) tile(TILE_ROWS, depth, a + i * ai, ai, ap, b + j, ldb, out + i * ldo + j, ldo, accumulate);
  for (; i < rows; i++)
    for (int j = 0; j < cols; j += 8) tile(1, depth, a + i * ai, ai, ap, b + j, ldb, out + i * ldo + j, ldo, accumulate);
}

/*
 * Forward: z [V, C] = E [V, d] · hT [d, C]; per column c the max m[c], the sum S[c] of
 * exp(z − m) (accumulated in f64 over blocks), and the target's logit picked[c]. z is left holding
 * exp(z − m). Returns nothing; the caller takes log(S) + m − picked.
 */
EXPORT("forward")
void forward(const float *E, int V, int d, const float *hT, const int32_t *y, int C, float *z, float *m, double *S, float *picked) {
  gemm(V, C, d, E, d, 1, hT, C, z, C, 0);
  for (int c = 0; c < C; c++) picked[c] = z[(long)y[c] * C + c];
  /* Row by row, so z is streamed once per pass; m and the block sums stay in L1. */
  for (int c = 0; c < C; c += 4) wasm_v128_store(m + c, wasm_v128_load(z + c));
  for (int v = 1; v < V; v++) {
    const float *zp = z + (long)v * C;
    for (int c = 0; c < C; c += 4) wasm_v128_store(m + c, wasm_f32x4_max(wasm_v128_load(m + c), wasm_v128_load(zp + c)));
  }
  for (int c = 0; c < C; c++) S[c] = 0.0;
  float block[C]; /* f32 partial sums over VB rows, then added into the f64 S */
  for (int v0 = 0; v0 < V; v0 += VB) {
    int v1 = v0 + VB < V ? v0 + VB : V;
    for (int c = 0; c < C; c += 4) wasm_v128_store(block + c, wasm_f32x4_splat(0.0f));
    for (int v = v0; v < v1; v++) {
      float *zp = z + (long)v * C;
      for (int c = 0; c < C; c += 4) {
        v128_t e = exp_nonpositive(wasm_f32x4_sub(wasm_v128_load(zp + c), wasm_v128_load(m + c)));
        wasm_v128_store(zp + c, e);
        wasm_v128_store(block + c, wasm_f32x4_add(wasm_v128_load(block + c), e));
      }
    }
    for (int c = 0; c < C; c++) S[c] += block[c];
  }
}

/*
 * Backward, after `forward` on the same z: with w[c] = s / S[c] for real rows and 0 for padding,
 * G = z · w − s·onehot(y) in place, then dh [C, d] = Gᵀ E and dE [V, d] += G · h, block by block
 * over the vocabulary so each block of E and G is read from cache by both products.
 */
EXPORT("backward")
void backward(const float *E, int V, int d, const float *h, const int32_t *y, int C, int cValid, float s, float *z,
              const double *S, float *w, float *dh, float *dE) {
  for (int c = 0; c < C; c++) w[c] = c < cValid ? (float)(s / S[c]) : 0.0f;
  for (int v0 = 0; v0 < V; v0 += VB) {
    int v1 = v0 + VB < V ? v0 + VB : V;
    for (int v = v0; v < v1; v++) {
      float *zp = z + (long)v * C;
      for (int c = 0; c < C; c += 4) wasm_v128_store(zp + c, wasm_f32x4_mul(wasm_v128_load(zp + c), wasm_v128_load(w + c)));
    }
    for (int c = 0; c < cValid; c++)
      if (y[c] >= v0 && y[c] < v1) z[(long)y[c] * C + c] -= s;
    /* dh[c, k] += Σ_v G[v, c] E[v, k]: the left operand is Gᵀ, read with strides (1, C). */
    gemm(C, d, v1 - v0, z + (long)v0 * C, 1, C, E + (long)v0 * d, d, dh, d, v0 > 0);
    /* dE[v, k] += Σ_c G[v, c] h[c, k]. */
    gemm(v1 - v0, d, C, z + (long)v0 * C, C, 1, h, d, dE + (long)v0 * d, d, 1);
  }
}
