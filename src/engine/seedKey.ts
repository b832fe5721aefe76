/**
 * `random.key(seed)` without a kernel per seed: the key's data `[0, seed]` (uint32) uploaded as a
 * device buffer.
 *
 * Why: jax-js 0.1.25 builds `random.key(seed)` from the seed as a constant inside a kernel, compiles
 * one wasm module per distinct seed and keeps every module forever (`compiledProgramCache`, never
 * pruned). A key made from the step number therefore costs about 20 KB of native memory and one
 * memory mapping per step, outside the V8 and wasm heaps; `vm.max_map_count` (65,530) would end such
 * a run after about 64k steps. Reproduction: `bench/upstream/kernelCacheGrowth.ts --case key`.
 * Loops should split a carried key (as `src/train/train.ts` does) or use this.
 *
 * @returns `[2]` uint32, equal to `random.key(seed)`.
 */
import { hostSplit } from "./hostRandom.js";
import { numpy as np } from "./jax.js";

export function seedKey(seed: number): np.Array {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seedKey: seed must be an integer in [0, 2^32), got ${seed}`);
  return keyFromWords(0, seed);
}

/** The key with data `[k0, k1]` (uint32), as a buffer (no kernel per value). */
export function keyFromWords(k0: number, k1: number): np.Array {
  // The third element keeps jax-js from folding a small array like [0, 0] back into a constant.
  return np.array(Uint32Array.of(k0, k1, 1)).slice([0, 2]);
}

/**
 * `random.split(key, 2)` computed on the host (`hostRandom.ts`, bit for bit): one read of the key and
 * two uploads instead of jax-js's split kernels, about 1 ms a training step. Consumes `key`.
 */
export async function splitKeyOnHost(key: np.Array): Promise<[np.Array, np.Array]> {
  const words = await key.data();
  const [a, b] = hostSplit([words[0], words[1]], 2);
  return [keyFromWords(a[0], a[1]), keyFromWords(b[0], b[1])];
}
