/**
 * The MLP kernels split over a `KernelPool`: each call's output is cut into disjoint ranges of rows
 * (of panels of eight columns for products with few rows, or of elements, in multiples of four), `chunksPerThread` per thread, which the threads claim as
 * they come free (a thread the machine has descheduled leaves its chunk to the others), and no
 * reduction is ever split. A kernel
 * computes each output element the same way wherever its range starts (simd.h's tiles accumulate a
 * row in the same order whatever the tile height; element-wise kernels take the SIMD path for every
 * element below n & ~3), so results are bit-identical for any thread count
 * (`test/kernels/parallelKernels.test.ts`).
 *
 * Reductions over rows (`sum_rows`, LayerNorm's parameter gradients, `sum_squares`) stay on the
 * calling thread; they are a small share of a step. Calls too small to repay a fork and join
 * (`MIN_PARALLEL_WORK`) also run on the calling thread.
 */
import { KernelPool, MAX_CHUNKS_PER_THREAD, type SpawnWorker } from "./kernelPool.js";
import { mlpModule, STACK_BYTES, type Arena, type MlpExports } from "./mlpKernel.js";

/** Multiply-adds (or element operations × 8) below which a call runs on the calling thread. */
export const MIN_PARALLEL_WORK = 1 << 15;

/**
 * Chunks per thread by default. One: on a quiet machine, 2 and 4 per thread made the image steps on
 * two threads up to 15% slower (`bench/results/2026-12-06/kernel-pool-chunks.txt`), and under one
 * competing busy thread they did no better than one.
 */
export const CHUNKS_PER_THREAD = 1;

/**
 * Products with fewer rows than this are split by panels of columns when they have enough of them
 * (an MoE expert's ~128 routed rows: split by rows, both threads would pack every panel of the weight).
 */
export const COLUMN_SPLIT_ROWS = 512;

/** `total` cut into `parts` ranges whose starts are multiples of `align`, as even as that allows. */
export function splitRanges(total: number, parts: number, align: number): [number, number][] {
  const units = Math.ceil(total / align);
  const out: [number, number][] = [];
  for (let t = 0; t < parts; t++) {
    const u0 = Math.floor((units * t) / parts), u1 = Math.floor((units * (t + 1)) / parts);
    out.push([Math.min(u0 * align, total), Math.min(u1 * align, total)]);
  }
  return out;
}

/** The kernels the native steps call, with the splittable ones spread over `pool`. */
export type Kernels = Omit<MlpExports, "memory" | "__heap_base" | "__stack_pointer" | "variant">;

/**
 * `k`'s kernels, the splittable ones run on `pool` (null, or a one-thread pool: all on the calling
 * thread, exactly `k`).
 */
export function parallelKernels(
  k: MlpExports,
  pool: KernelPool | null,
  minWork = MIN_PARALLEL_WORK,
  chunksPerThread = CHUNKS_PER_THREAD,
): Kernels {
  const T = pool?.threads ?? 1;
  if (!pool || T === 1) return k;
  if (!(chunksPerThread >= 1 && chunksPerThread <= MAX_CHUNKS_PER_THREAD)) {
    throw new Error(`parallelKernels: chunksPerThread must be 1 to ${MAX_CHUNKS_PER_THREAD}`);
  }
  const chunks = T * Math.floor(chunksPerThread);
  /** Run `name` over `total` units cut at multiples of `align`; `argsFor(start, count)` gives a share's arguments. */
  const split = (name: string, total: number, align: number, work: number, argsFor: (start: number, count: number) => number[]) => {
    if (work < minWork || total <= align) {
      const f = (k as unknown as Record<string, (...a: number[]) => unknown>)[name];
      f(...argsFor(0, total));
      return;
    }
    pool.run(name, splitRanges(total, chunks, align).map(([s, e]) => (e > s ? argsFor(s, e - s) : null)));
  };
  const ROWS = 4; // simd.h's TILE_ROWS: shares of whole register tiles
  const PANEL = 8; // mlp.c's packed panel: shares of whole panels of columns
  /**
   * A product's shares: by rows, or (fewer than `COLUMN_SPLIT_ROWS` rows, and at least two panels a
   * share) by panels of columns, so that each panel of the right operand is packed by one thread
   * instead of by every thread. `rowArgs`/`colArgs(start, count)` give a share's arguments.
   */
  const product = (name: string, rows: number, cols: number, depth: number, rowArgs: (r: number, n: number) => number[], colArgs: (c: number, n: number) => number[]) =>
    rows < COLUMN_SPLIT_ROWS && cols >= 2 * PANEL * chunks
      ? split(name, cols, PANEL, rows * cols * depth, colArgs)
      : split(name, rows, ROWS, rows * cols * depth, rowArgs);
  return {
    ...k,
    matmul: (rows, cols, depth, a, ai, ap, b, ldb, out, ldo, acc) =>
      product("matmul", rows, cols, depth,
        (r, n) => [n, cols, depth, a + r * ai * 4, ai, ap, b, ldb, out + r * ldo * 4, ldo, acc],
        (c, n) => [rows, n, depth, a, ai, ap, b + c * 4, ldb, out + c * 4, ldo, acc]),
    matmul_t: (rows, cols, depth, a, ai, ap, bt, ldbt, out, ldo, acc) =>
      product("matmul_t", rows, cols, depth,
        (r, n) => [n, cols, depth, a + r * ai * 4, ai, ap, bt, ldbt, out + r * ldo * 4, ldo, acc],
        (c, n) => [rows, n, depth, a, ai, ap, bt + c * ldbt * 4, ldbt, out + c * 4, ldo, acc]),
    add_bias: (y, b, rows, cols) => split("add_bias", rows, 1, rows * cols, (r, n) => [y + r * cols * 4, b, n, cols]),
    add: (x, y, n) => split("add", n, 4, n, (i, m) => [x + i * 4, y + i * 4, m]),
    gelu_forward: (x, y, n) => split("gelu_forward", n, 4, n * 8, (i, m) => [x + i * 4, y + i * 4, m]),
    gelu_backward: (x, dy, dx, n) => split("gelu_backward", n, 4, n * 8, (i, m) => [x + i * 4, dy + i * 4, dx + i * 4, m]),
    gelu_forward_t: (x, y, t, n) => split("gelu_forward_t", n, 4, n * 8, (i, m) => [x + i * 4, y + i * 4, t + i * 4, m]),
    gelu_backward_t: (x, t, dy, dx, n) => split("gelu_backward_t", n, 4, n * 8, (i, m) => [x + i * 4, t + i * 4, dy + i * 4, dx + i * 4, m]),
    layernorm_forward: (x, scale, bias, rows, d, eps, y, xhat, rstd) =>
      split("layernorm_forward", rows, 1, rows * d * 8, (r, n) => [x + r * d * 4, scale, bias, n, d, eps, y + r * d * 4, xhat + r * d * 4, rstd + r * 4]),
    gather_rows: (src, d, idx, w, n, dst) =>
      split("gather_rows", n, 1, n * d, (r, m) => [src, d, idx + r * 4, w === 0 ? 0 : w + r * 4, m, dst + r * d * 4]),
    // Rows of one call go to distinct rows of dst (a token is routed to an expert at most once).
    scatter_add_rows: (dst, d, idx, w, n, src) =>
      split("scatter_add_rows", n, 1, n * d, (r, m) => [dst, d, idx + r * 4, w === 0 ? 0 : w + r * 4, m, src + r * d * 4]),
    gathered_dots: (a, d, idx, b, n, out) => split("gathered_dots", n, 1, n * d, (r, m) => [a, d, idx + r * 4, b + r * d * 4, m, out + r * 4]),
    adamw: (p, g, m, v, n, lr, beta1, beta2, eps, wd, c1, c2, gscale) =>
      split("adamw", n, 4, n * 8, (i, c) => [p + i * 4, g + i * 4, m + i * 4, v + i * 4, c, lr, beta1, beta2, eps, wd, c1, c2, gscale]),
    zero: (x, n) => split("zero", n, 4, n, (i, m) => [x + i * 4, m]),
    mul: (x, y, out, n, acc) => split("mul", n, 4, n, (i, m) => [x + i * 4, y + i * 4, out + i * 4, m, acc]),
    // Counter-based: element i's bits depend on i alone, so any split gives the same draw.
    threefry_uniform: (k0, k1, i0, n, lo, span, out) =>
      split("threefry_uniform", n, 4, n * 32, (i, m) => [k0, k1, i0 + i, m, lo, span, out + i * 4]),
    // The LM head: blocks of the vocabulary (pass 1) and groups of blocks (pass 2) are disjoint outputs.
    head_stats: (E, V, d, h, y, C, z, bmax, bsum, picked, b0, b1) =>
      split("head_stats", b1 - b0, 1, (b1 - b0) * 256 * C * d, (i, n) => [E, V, d, h, y, C, z, bmax, bsum, picked, b0 + i, b0 + i + n]),
    head_grads: (E, V, d, h, y, C, cValid, s, z, bmax, m, w, f, dE, dhParts, g0, g1) =>
      split("head_grads", g1 - g0, 1, (g1 - g0) * 4096 * C * d, (i, n) => [E, V, d, h, y, C, cValid, s, z, bmax, m, w, f, dE, dhParts, g0 + i, g0 + i + n]),
    // Attention: each (sequence, head) pair is computed whole by one thread into its own slices.
    attention_forward: (qkv, S, H, dh, scale, probs, a, p0, p1) =>
      split("attention_forward", p1 - p0, 1, (p1 - p0) * S * S * dh, (i, n) => [qkv, S, H, dh, scale, probs, a, p0 + i, p0 + i + n]),
    attention_backward: (qkv, probs, da, S, H, dh, scale, dqkv, scratch, p0, p1) =>
      split("attention_backward", p1 - p0, 1, (p1 - p0) * S * S * dh * 2, (i, n) => [qkv, probs, da, S, H, dh, scale, dqkv, scratch, p0 + i, p0 + i + n]),
  };
}

/** The exports `parallelKernels` runs on the pool (the workers' export table). */
export const POOL_EXPORTS = [
  "matmul", "matmul_t", "add_bias", "add", "gelu_forward", "gelu_backward", "gelu_forward_t", "gelu_backward_t",
  "layernorm_forward", "gather_rows", "scatter_add_rows", "gathered_dots", "adamw", "zero", "head_stats", "head_grads",
  "attention_forward", "attention_backward", "mul", "threefry_uniform",
];

/**
 * A pool of `threads` threads over `mem`'s instance: takes the workers' stacks from `mem` (so call
 * it before `mem.commit()`) and returns a function that starts the pool once the memory is committed.
 * One thread needs no pool (null).
 */
export function mlpPool(mem: Arena, threads: number, spawn: SpawnWorker): () => KernelPool | null {
  if (threads <= 1) return () => null;
  const tops = Array.from({ length: threads - 1 }, () => {
    const s = mem.take(STACK_BYTES / 4);
    return s.at + STACK_BYTES;
  });
  return () => new KernelPool(threads, mlpModule(mem.k.variant), mem.k.memory, mem.k as unknown as Record<string, unknown>, POOL_EXPORTS, tops, spawn);
}
