/**
 * Seeded shuffling and batching of an image split. The order of epoch e depends only on
 * (seed, e), so a resumed run sees exactly the batches an uninterrupted one would.
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { ImageSplit } from "./types.js";

/** A permutation of `0..n-1` for epoch `epoch` (Fisher–Yates over xoroshiro128+ seeded with `seed`, jumped `epoch` times). */
export function epochPermutation(seed: number, epoch: number, n: number): Int32Array {
  const rng = xoroshiro128plus(seed);
  for (let e = 0; e <= epoch; e++) rng.jump!();
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** Number of full batches in an epoch (the last partial batch is dropped so shapes stay static). */
export function batchesPerEpoch(n: number, batchSize: number): number {
  return Math.floor(n / batchSize);
}

/**
 * Gather examples `indices[start .. start+size)` of a split.
 * @returns `x` `[size * inputDim]` and `y` `[size]` (int32) host buffers.
 */
export function gatherBatch(split: ImageSplit, indices: Int32Array | null, start: number, size: number, inputDim: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(size * inputDim);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const src = indices ? indices[start + i] : start + i;
    x.set(split.x.subarray(src * inputDim, (src + 1) * inputDim), i * inputDim);
    y[i] = split.y[src];
  }
  return { x, y };
}
