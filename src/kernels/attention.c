/*
 * The core of causal multi-head self-attention (`src/models/attention.ts`), forward and backward, in
 * WebAssembly SIMD: for each (sequence b, head h) pair,
 *
 *   P = softmax(q kᵀ · scale + causal mask);  a = P v
 *
 * with q, k, v the pair's [S, dh] slices of the qkv projection's output. The projections themselves
 * (`x W_qkv + b`, `a W_o + b`) are the mlp module's matmuls; `src/steps/nativeAttention.ts` composes them.
 *
 * Layouts (row-major float32, pointers are byte offsets into the module's memory):
 *   qkv   [B·S, 3d]  row b·S + i: q of every head, then k, then v (head h at columns h·dh ..);
 *   probs [B, H, S, S] the softmax, zero above the diagonal;
 *   a     [B·S, d]   the attended values, heads side by side (the output projection's input).
 * d = H·dh. Both kernels run pairs [p0, p1) (pair = b·H + h) and write only those pairs' slices, so
 * `parallelKernels.ts` shares pairs out over threads and the numbers do not depend on the split.
 *
 * Numerics as the reference: the row max is subtracted before the exponential; a masked position
 * (−1e9 there) has probability exactly 0, so it is skipped.
 */
#include "simd.h"

/* y[j] += c · x[j], j < n. */
static inline void axpy(float *y, float c, const float *x, int n) {
  v128_t cv = wasm_f32x4_splat(c);
  int j = 0;
  for (; j + 4 <= n; j += 4) wasm_v128_store(y + j, wasm_f32x4_add(wasm_v128_load(y + j), wasm_f32x4_mul(cv, wasm_v128_load(x + j))));
  for (; j < n; j++) y[j] += c * x[j];
}

/* y[j] = 0, j < n. */
static inline void clear(float *y, int n) {
  for (int j = 0; j < n; j++) y[j] = 0.0f;
}

/*
 * Forward: probs and a for pairs [p0, p1). Row i of a pair: s_j = (q_i · k_j) · scale for j ≤ i,
 * P_ij = exp(s_j − max) / Σ exp(s − max), a_i = Σ_{j≤i} P_ij v_j.
 */
EXPORT("attention_forward")
void attention_forward(const float *qkv, int S, int H, int dh, float scale, float *probs, float *a, int p0, int p1) {
  int d = H * dh, ld = 3 * d;
  for (int pair = p0; pair < p1; pair++) {
    int b = pair / H, h = pair % H;
    const float *q = qkv + b * S * ld + h * dh, *k = q + d, *v = q + 2 * d;
    float *P = probs + pair * S * S;
    float *out = a + b * S * d + h * dh;
    for (int i = 0; i < S; i++) {
      float *row = P + i * S;
      int n = i + 1; /* positions 0..i are visible */
      float mx = -__builtin_inff();
      for (int j = 0; j < n; j++) {
        float s = dot(q + i * ld, k + j * ld, dh) * scale;
        row[j] = s;
        mx = s > mx ? s : mx;
      }
      v128_t m = wasm_f32x4_splat(mx);
      int j = 0;
      for (; j + 4 <= n; j += 4) wasm_v128_store(row + j, exp_nonpositive(wasm_f32x4_sub(wasm_v128_load(row + j), m)));
      for (; j < n; j++) row[j] = wasm_f32x4_extract_lane(exp_nonpositive(wasm_f32x4_splat(row[j] - mx)), 0);
      float sum = 0.0f;
      for (j = 0; j < n; j++) sum += row[j];
      for (j = 0; j < n; j++) row[j] /= sum;
      for (; j < S; j++) row[j] = 0.0f;
      float *o = out + i * d;
      clear(o, dh);
      for (j = 0; j < n; j++) axpy(o, row[j], v + j * ld, dh);
    }
  }
}

/*
 * Backward for pairs [p0, p1), given ∂L/∂a `da` [B·S, d]: writes the pairs' slices of ∂L/∂qkv `dqkv`
 * [B·S, 3d]. Row i: dP_j = da_i · v_j, r = Σ_j dP_j P_ij, dS_j = P_ij (dP_j − r) · scale;
 * dq_i = Σ_j dS_j k_j, dk_j += dS_j q_i, dv_j += P_ij da_i (j ≤ i, rows in order).
 * `scratch` holds S floats per pair (dP of the current row).
 */
EXPORT("attention_backward")
void attention_backward(const float *qkv, const float *probs, const float *da, int S, int H, int dh, float scale, float *dqkv,
                        float *scratch, int p0, int p1) {
  int d = H * dh, ld = 3 * d;
  for (int pair = p0; pair < p1; pair++) {
    int b = pair / H, h = pair % H;
    int off = b * S * ld + h * dh;
    const float *q = qkv + off, *k = q + d, *v = q + 2 * d;
    float *dq = dqkv + off, *dk = dq + d, *dv = dq + 2 * d;
    const float *P = probs + pair * S * S;
    const float *g = da + b * S * d + h * dh;
    float *dp = scratch + pair * S;
    for (int j = 0; j < S; j++) {
      clear(dk + j * ld, dh);
      clear(dv + j * ld, dh);
    }
    for (int i = 0; i < S; i++) {
      const float *row = P + i * S, *gi = g + i * d;
      int n = i + 1;
      float r = 0.0f;
      for (int j = 0; j < n; j++) {
        dp[j] = dot(gi, v + j * ld, dh);
        r += dp[j] * row[j];
      }
      float *dqi = dq + i * ld;
      clear(dqi, dh);
      for (int j = 0; j < n; j++) {
        float ds = row[j] * (dp[j] - r) * scale;
        axpy(dqi, ds, k + j * ld, dh);
        axpy(dk + j * ld, ds, q + i * ld, dh);
        axpy(dv + j * ld, row[j], gi, dh);
      }
    }
  }
}
