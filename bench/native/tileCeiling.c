/*
 * The register tile of src/kernels/simd.h (rows × 2 vectors of outputs kept in registers, a row of the
 * left operand broadcast against two vectors of a packed panel at each step of the depth), compiled
 * natively at three vector widths, to see what the x86 core does beyond 128-bit WebAssembly SIMD:
 *
 *   gcc -O3 -march=native -o /tmp/tileCeiling bench/native/tileCeiling.c && /tmp/tileCeiling
 *
 * Run it beside `npm run bench:peak` (whose `tile_peak` is the same tile in WebAssembly). GFLOP/s on
 * one thread, a multiply-add counted as 2, the median of 7 timings; the panel stays in L1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define KB 128

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One tile kernel per (vector type, lanes, rows): n passes of a ROWS × 2·LANES tile over depth KB. */
#define TILE(NAME, VT, LANES, ROWS)                                                              \
  typedef float VT __attribute__((vector_size(4 * LANES), aligned(4)));                          \
  __attribute__((noinline)) static void NAME(long n, const float *a, const float *b, float *out) { \
    for (long i = 0; i < n; i++) {                                                              \
      VT c0[ROWS], c1[ROWS];                                                                    \
      for (int r = 0; r < ROWS; r++) {                                                          \
        c0[r] = *(const VT *)(out + r * 2 * LANES);                                             \
        c1[r] = *(const VT *)(out + r * 2 * LANES + LANES);                                     \
      }                                                                                         \
      for (int p = 0; p < KB; p++) {                                                            \
        VT b0 = *(const VT *)(b + p * 2 * LANES), b1 = *(const VT *)(b + p * 2 * LANES + LANES);  \
        for (int r = 0; r < ROWS; r++) {                                                        \
          VT s = (VT){0} + a[r * KB + p];                                                       \
          c0[r] += s * b0;                                                                      \
          c1[r] += s * b1;                                                                      \
        }                                                                                       \
      }                                                                                         \
      for (int r = 0; r < ROWS; r++) {                                                          \
        *(VT *)(out + r * 2 * LANES) = c0[r];                                                   \
        *(VT *)(out + r * 2 * LANES + LANES) = c1[r];                                           \
      }                                                                                         \
    }                                                                                           \
  }

TILE(tile128, v4, 4, 4)
TILE(tile256, v8, 8, 6)
TILE(tile512, v16, 16, 12)

static double rate(void (*f)(long, const float *, const float *, float *), int lanes, int rows) {
  float *a = aligned_alloc(64, sizeof(float) * rows * KB), *b = aligned_alloc(64, sizeof(float) * KB * 2 * lanes);
  float *out = aligned_alloc(64, sizeof(float) * rows * 2 * lanes);
  for (int i = 0; i < rows * KB; i++) a[i] = 0.5f;
  for (int i = 0; i < KB * 2 * lanes; i++) b[i] = 0.25f;
  for (int i = 0; i < rows * 2 * lanes; i++) out[i] = 0;
  long n = 2000000000L / ((long)rows * 2 * lanes * KB * 2);
  double rates[7];
  for (int t = 0; t < 7; t++) {
    double t0 = now();
    f(n, a, b, out);
    rates[t] = (double)n * rows * 2 * lanes * KB * 2 / (now() - t0) / 1e9;
  }
  qsort(rates, 7, sizeof(double), cmp);
  volatile float sink = out[0];
  (void)sink;
  free(a), free(b), free(out);
  return rates[3];
}

int main(void) {
  printf("native register tile, one thread, GFLOP/s (median of 7):\n");
  printf("  128-bit vectors, 4 x 8 tile (simd.h's shape): %.1f\n", rate(tile128, 4, 4));
  printf("  256-bit vectors, 6 x 16 tile: %.1f\n", rate(tile256, 8, 6));
  printf("  512-bit vectors, 12 x 32 tile: %.1f\n", rate(tile512, 16, 12));
  return 0;
}
