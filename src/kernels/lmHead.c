/*
 * The tied LM head's cross-entropy and gradients for one chunk of C tokens, in blocks of HB rows of
 * the vocabulary that threads share out (built into the same module as mlp.c, on its shared memory):
 *
 *   z = E hᵀ ([V, C]),  m_c = max_v z[v, c],  S_c = Σ_v exp(z[v, c] − m_c),
 *   G = s · (softmax(z) − onehot(y)),  ∂L/∂h = Gᵀ E  ([C, d]),  ∂L/∂E += G h  ([V, d])
 *
 * 1. `head_stats` (blocks b0..b1): z's rows of each block, while they are in cache its per-column
 *    max, the target's logit where the target is in the block, and exp(z − max) in place of z with
 *    its sum over the block.
 * 2. the caller combines the blocks in order (`m = max`, `S = Σ_b S_b · exp(m_b − m)` in f64).
 * 3. `head_grads` (groups g0..g1 of HEAD_GROUP blocks): G per block in place of z (the stored
 *    exponentials times exp(max_block − m) · s / S, one exponential per column and block instead of one
 *    per logit), ∂L/∂E's rows of the block, and the group's part of ∂L/∂h; the caller adds the
 *    groups' parts in order.
 *
 * Blocks and groups are fixed by V alone, every output row belongs to one block and every reduction
 * is finished in a fixed order by the caller, so the results do not depend on how many threads
 * share the blocks. Requirements: C % 8 == 0 (rows c ≥ cValid are padding: their G is 0), d % 8 == 0.
 */
#include <stdint.h>
#include "simd.h"

/* Vocabulary rows per block: z's block ([HB, C]) and E's ([HB, d]) stay in L2. */
#define HB 256
/* Blocks per group of `head_grads` (each group has its own ∂L/∂h part). */
#define HEAD_GROUP 16

void matmul(int rows, int cols, int depth, const float *a, int ai, int ap, const float *b, int ldb, float *out, int ldo, int accumulate);
void matmul_t(int rows, int cols, int depth, const float *a, int ai, int ap, const float *bt, int ldbt, float *out, int ldo, int accumulate);

/* Rows [v0, v1) of block b. */
static inline int block_end(int b, int V) { return (b + 1) * HB < V ? (b + 1) * HB : V; }

EXPORT("head_block_rows")
int head_block_rows(void) { return HB; }

EXPORT("head_group_blocks")
int head_group_blocks(void) { return HEAD_GROUP; }

/*
 * Blocks [b0, b1): z[v, c] = Σ_k E[v, k] h[c, k] for the block's rows; bmax[b·C + c] and
 * bsum[b·C + c] = Σ_{v in block} exp(z[v, c] − bmax), z[v, c] replaced by exp(z[v, c] − bmax);
 * picked[c] = z[y[c], c] when y[c] is in the block.
 */
EXPORT("head_stats")
void head_stats(const float *E, int V, int d, const float *h, const int32_t *y, int C, float *z, float *bmax, float *bsum,
                float *picked, int b0, int b1) {
  for (int b = b0; b < b1; b++) {
    int v0 = b * HB, v1 = block_end(b, V);
    float *zb = z + (long)v0 * C;
    matmul_t(v1 - v0, C, d, E + (long)v0 * d, d, 1, h, d, zb, C, 0);
    float *mx = bmax + (long)b * C, *sm = bsum + (long)b * C;
    for (int c = 0; c < C; c += 4) wasm_v128_store(mx + c, wasm_v128_load(zb + c));
    for (int v = v0 + 1; v < v1; v++) {
      const float *zp = z + (long)v * C;
      for (int c = 0; c < C; c += 4) wasm_v128_store(mx + c, wasm_f32x4_max(wasm_v128_load(mx + c), wasm_v128_load(zp + c)));
    }
    for (int c = 0; c < C; c++)
      if (y[c] >= v0 && y[c] < v1) picked[c] = z[(long)y[c] * C + c];
    /* exp(z − bmax) replaces z: head_grads scales it instead of taking the exponential again. */
    for (int c = 0; c < C; c += 4) wasm_v128_store(sm + c, wasm_f32x4_splat(0.0f));
    for (int v = v0; v < v1; v++) {
      float *zp = z + (long)v * C;
      for (int c = 0; c < C; c += 4) {
        v128_t e = exp_nonpositive(wasm_f32x4_sub(wasm_v128_load(zp + c), wasm_v128_load(mx + c)));
        wasm_v128_store(sm + c, wasm_f32x4_add(wasm_v128_load(sm + c), e));
        wasm_v128_store(zp + c, e);
      }
    }
  }
}

/*
 * Groups [g0, g1): for each block of the group, G = exp(z − m) · w − s · onehot(y) in place of z
 * (z holding exp(z − bmax) from head_stats; w[c] = s / S_c, 0 for padding; f: [groups, C] scratch),
 * dE[v, :] += Σ_c G[v, c] h[c, :], and
 * dhParts[g] (+)= Σ_{v in group} G[v, c] E[v, :] ([C, d] per group, overwritten by the group's first block).
 */
EXPORT("head_grads")
void head_grads(const float *E, int V, int d, const float *h, const int32_t *y, int C, int cValid, float s, float *z,
                const float *bmax, const float *m, const float *w, float *f, float *dE, float *dhParts, int g0, int g1) {
  int blocks = (V + HB - 1) / HB;
  for (int g = g0; g < g1; g++) {
    float *dh = dhParts + (long)g * C * d;
    float *fg = f + (long)g * C; /* this group's per-column factor, one row per group so that threads never share it */
    int bEnd = (g + 1) * HEAD_GROUP < blocks ? (g + 1) * HEAD_GROUP : blocks;
    for (int b = g * HEAD_GROUP; b < bEnd; b++) {
      int v0 = b * HB, v1 = block_end(b, V);
      /* z holds exp(z − bmax_b) (head_stats): G = exp(z − m) · w = z · exp(bmax_b − m) · w. */
      const float *mx = bmax + (long)b * C;
      for (int c = 0; c < C; c += 4)
        wasm_v128_store(fg + c, wasm_f32x4_mul(exp_nonpositive(wasm_f32x4_sub(wasm_v128_load(mx + c), wasm_v128_load(m + c))), wasm_v128_load(w + c)));
      for (int v = v0; v < v1; v++) {
        float *zp = z + (long)v * C;
        for (int c = 0; c < C; c += 4) wasm_v128_store(zp + c, wasm_f32x4_mul(wasm_v128_load(zp + c), wasm_v128_load(fg + c)));
      }
      for (int c = 0; c < cValid; c++)
        if (y[c] >= v0 && y[c] < v1) z[(long)y[c] * C + c] -= s;
      const float *zb = z + (long)v0 * C;
      /* dE[v, k] += Σ_c G[v, c] h[c, k] */
      matmul(v1 - v0, d, C, zb, C, 1, h, d, dE + (long)v0 * d, d, 1);
      /* dh[c, k] (+)= Σ_v G[v, c] E[v, k]: the left operand is Gᵀ, read with strides (1, C). */
      matmul(C, d, v1 - v0, zb, 1, C, E + (long)v0 * d, d, dh, d, b > g * HEAD_GROUP);
    }
  }
}
