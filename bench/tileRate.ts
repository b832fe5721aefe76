/**
 * This machine's SIMD ceiling as our matmuls see it: simd.h's 4 × 8 register tile over an
 * L1-resident panel (`tile_peak` in mlp.c), on one thread, in a kernel instance of its own. Used by
 * `npm run bench:peak` and by `npm run profile:native`'s floor. GFLOP/s, a multiply-add counted as 2;
 * the median of 7 timings of `iterations` tiles of depth 128.
 */
import { Arena, mlpInstance } from "../src/kernels/mlpKernel.js";

export function tileRate(iterations = 250_000): number {
  const k = mlpInstance() as ReturnType<typeof mlpInstance> & { tile_peak(n: number, a: number, b: number, out: number): void };
  const mem = new Arena(k);
  const [a, b, out] = [mem.take(4 * 128), mem.take(128 * 8), mem.take(32)];
  mem.commit();
  mem.f32(a).fill(0.5);
  mem.f32(b).fill(0.25);
  const rates = Array.from({ length: 7 }, () => {
    const t = performance.now();
    k.tile_peak(iterations, a.at, b.at, out.at);
    return (iterations * 4 * 8 * 128 * 2) / (performance.now() - t) / 1e6;
  });
  return rates.sort((x, y) => x - y)[3];
}
