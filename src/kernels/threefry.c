/*
 * A router's uniform draws in WebAssembly SIMD, four elements at a time: the twin of
 * `hostUniform` (src/engine/hostRandom.ts), bit for bit. Element i of a draw with key (k0, k1) is
 * Threefry-2x32 (20 rounds) on counter (0, i); its words' x0 ⊕ x1, the top 23 bits as the mantissa
 * of a float in [1, 2), then (u − 1) · span + lo in float32 (a multiply, then an add: never fused).
 *
 * Why: Switch's input jitter is [T, d] uniforms a layer (131,072 a step for the MNIST MoE), and the
 * unrolled JavaScript took about 1.3 ms of an 11 ms step on the calling thread. Elements are
 * independent, so threads take any disjoint ranges and the bits do not depend on the split.
 * `test/kernels/threefry.test.ts` holds it against hostUniform.
 */
#include "simd.h"

static inline v128_t rotl(v128_t x, int r) { return wasm_v128_or(wasm_i32x4_shl(x, r), wasm_u32x4_shr(x, 32 - r)); }

/* Four rounds with the given rotations, then the key words of injection s. */
#define ROUND(r) x0 = wasm_i32x4_add(x0, x1), x1 = wasm_v128_xor(rotl(x1, r), x0)
#define FOUR(r0, r1, r2, r3, ka, kb, s) \
  ROUND(r0); ROUND(r1); ROUND(r2); ROUND(r3); \
  x0 = wasm_i32x4_add(x0, ka); x1 = wasm_i32x4_add(x1, wasm_i32x4_add(kb, wasm_i32x4_splat(s)))

/* Elements [i0, i0 + n) of the draw into out[0, n). */
EXPORT("threefry_uniform")
void threefry_uniform(uint32_t k0, uint32_t k1, int i0, int n, float lo, float span, float *out) {
  const v128_t ks0 = wasm_i32x4_splat((int32_t)k0), ks1 = wasm_i32x4_splat((int32_t)k1);
  const v128_t ks2 = wasm_i32x4_splat((int32_t)(k0 ^ k1 ^ 0x1bd11bdau));
  const v128_t one = wasm_f32x4_splat(1.0f), vspan = wasm_f32x4_splat(span), vlo = wasm_f32x4_splat(lo);
  for (int i = 0; i < n; i += 4) {
    v128_t x0 = ks0;
    v128_t x1 = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_splat(i0 + i), wasm_i32x4_make(0, 1, 2, 3)), ks1);
    FOUR(13, 15, 26, 6, ks1, ks2, 1);
    FOUR(17, 29, 16, 24, ks2, ks0, 2);
    FOUR(13, 15, 26, 6, ks0, ks1, 3);
    FOUR(17, 29, 16, 24, ks1, ks2, 4);
    FOUR(13, 15, 26, 6, ks2, ks0, 5);
    v128_t u = wasm_v128_or(wasm_u32x4_shr(wasm_v128_xor(x0, x1), 9), wasm_i32x4_splat(0x3f800000)); /* [1, 2) */
    v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(u, one), vspan), vlo);
    if (i + 4 <= n) wasm_v128_store(out + i, v);
    else {
      float lanes[4] __attribute__((aligned(16)));
      wasm_v128_store(lanes, v);
      for (int j = 0; i + j < n; j++) out[i + j] = lanes[j];
    }
  }
}
