/*
 * The SIMD pieces our WebAssembly kernels share: an exp for non-positive arguments and a
 * register-tiled f32x4 matrix product with a scalar-strided left operand.
 * Included by linearCrossEntropy.c and mlp.c; scripts/build-kernels.sh hashes it with each.
 */
#ifndef DYNAMOE_SIMD_H
#define DYNAMOE_SIMD_H
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

/* The sum of a vector's four lanes, in a fixed order. */
static inline float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/* Σ_j x[j] · y[j], four lanes at a time, then the tail. */
static inline float dot(const float *x, const float *y, int n) {
  v128_t acc = wasm_f32x4_splat(0.0f);
  int j = 0;
  for (; j + 4 <= n; j += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(x + j), wasm_v128_load(y + j)));
  float s = hsum(acc);
  for (; j < n; j++) s += x[j] * y[j];
  return s;
}

/* c + a·b. Built with DYNAMOE_RELAXED_SIMD (the relaxed-SIMD variant of the module): one relaxed
 * multiply-add, which V8 runs as a fused multiply-add where the processor has one (so the tile
 * reaches the machine's SIMD ceiling); else a multiply, then an add. */
#ifdef DYNAMOE_RELAXED_SIMD
#define MADD(a, b, c) ((v128_t)__builtin_wasm_relaxed_madd_f32x4((__f32x4)(a), (__f32x4)(b), (__f32x4)(c)))
#else
#define MADD(a, b, c) wasm_f32x4_add((c), wasm_f32x4_mul((a), (b)))
#endif

/* exp(x) for x <= 0 (a logit minus its column's max), to ~2 ulp: Cody–Waite range reduction
 * x = n ln2 + r and the Cephes expf polynomial, scaled by 2^n built in the exponent bits. Its
 * multiply-adds are MADDs: the plain build computes exactly what a multiply then an add would, the
 * relaxed one fuses them (8 of its 25 operations fewer; the LM head takes one per logit). */
static inline v128_t exp_nonpositive(v128_t x) {
  x = wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)); /* exp(-87) ≈ 1.6e-38, still normal */
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = MADD(n, wasm_f32x4_splat(-0.693359375f), x);
  r = MADD(n, wasm_f32x4_splat(2.12194440e-4f), r);
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = MADD(p, r, wasm_f32x4_splat(1.3981999507e-3f));
  p = MADD(p, r, wasm_f32x4_splat(8.3334519073e-3f));
  p = MADD(p, r, wasm_f32x4_splat(4.1665795894e-2f));
  p = MADD(p, r, wasm_f32x4_splat(1.6666665459e-1f));
  p = MADD(p, r, wasm_f32x4_splat(5.0000001201e-1f));
  p = MADD(wasm_f32x4_mul(p, r), r, wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, scale);
}

/* Rows of the register tile: TILE_ROWS × 8 outputs live in 2·TILE_ROWS SIMD registers
 * (6 rows spill on x86-64: 4 measured 42 GFLOP/s, 5 and 6 24–26). */
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
        c0[r] = MADD(s, b0, c0[r]);
        c1[r] = MADD(s, b1, c1[r]);
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
static inline void gemm(int rows, int cols, int depth, const float *a, int ai, int ap, const float *b, int ldb,
                 float *out, int ldo, int accumulate) {
  int i = 0;
  for (; i + TILE_ROWS <= rows; i += TILE_ROWS)
    for (int j = 0; j < cols; j += 8) tile(TILE_ROWS, depth, a + i * ai, ai, ap, b + j, ldb, out + i * ldo + j, ldo, accumulate);
  for (; i < rows; i++)
    for (int j = 0; j < cols; j += 8) tile(1, depth, a + i * ai, ai, ap, b + j, ldb, out + i * ldo + j, ldo, accumulate);
}

#endif
