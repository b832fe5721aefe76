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
 * `linearCrossEntropyWasm.ts`; the caller (`fusedLinearCrossEntropy.ts`) owns the memory layout.
 * Requirements: C % 8 == 0, d % 8 == 0; rows c >= cValid are padding (their G is 0).
 */
#include <stdint.h>
#include "simd.h"

/* Rows of the vocabulary per cache block in the gradient pass (E and G blocks stay in L2). */
#define VB 256

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
