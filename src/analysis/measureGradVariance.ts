/**
 * A gradient-variance measurement of a training run at one step (spec §7): K mini-batches drawn at
 * random from the training set, their gradients at the run's current parameters (no update), and
 * `gradVariance` over them; plus the loss variance over the last logged training losses. Used during
 * training (`gradVariance: { every, k }` in the run configuration, lines of `grad-variance.jsonl`)
 * and after it (`dynamoe analyze grad-variance`), with the same batches and keys for the same
 * (seed, step), so the two agree at a step both measure.
 */
import { existsSync } from "node:fs";
import { random, type numpy as np } from "../engine/jax.js";
import { readJsonLines } from "../io/runFiles.js";
import { seedKey } from "../engine/seedKey.js";
import { epochPermutation } from "../data/batches.js";
import { gradVariance, windowVariance, type GradVarianceResult } from "./gradVariance.js";

/** The file in a run folder that holds one JSON line per measurement during training. */
export const GRAD_VARIANCE_FILE = "grad-variance.jsonl";

/** One line of `grad-variance.jsonl`: `lossVariance` is null until 2 training losses are logged. */
export type GradVarianceRecord = { step: number; k: number; total: number; groups: Record<string, number>; lossVariance: number | null };

/** A task's gradient function: examples `order[start .. start+batch)`, `params` not consumed, `key` consumed. */
export type TaskGradFn<P> = (params: P, order: Int32Array, start: number, key: np.Array) => P | Promise<P>;

/** A 32-bit mix of small integers (murmur3's finaliser over a running hash), for seeding. */
function mix32(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Salt that keeps these draws apart from any other use of the run's seed. */
const SALT = 0x67726164; // "grad"

export type MeasureOptions = {
  /** The run's seed. */
  seed: number;
  /** The training step the parameters are at (it seeds the batches and keys). */
  step: number;
  /** Mini-batches K (≥ 2). */
  k: number;
  /** Training examples to draw from. */
  trainExamples: number;
  batchSize: number;
};

/**
 * Measure at `params` (not consumed). Batch k is the first `batchSize` entries of its own random
 * permutation of the training set (so each batch is drawn without replacement, and the K batches
 * independently of each other), from xoroshiro128+ seeded by (seed, step); router noise uses keys
 * split from a key seeded the same way. Neither touches the training run's data order or PRNG key.
 */
export async function measureGradVariance<P>(gradFn: TaskGradFn<P>, params: P, o: MeasureOptions): Promise<GradVarianceResult> {
  const seed = mix32(SALT, o.seed, o.step);
  const keys = random.split(seedKey(mix32(SALT, o.seed, o.step, 1)), o.k); // [K, 2]
  const batches = Array.from({ length: o.k }, (_, i) => i);
  try {
    return await gradVariance(
      (i: number) => gradFn(params, epochPermutation(seed, i, o.trainExamples), 0, keys.ref.slice(i)),
      batches,
    );
  } finally {
    keys.dispose();
  }
}

/** The training losses logged in a run's `metrics.jsonl` at steps ≤ `upTo`, in order. */
export function loggedTrainLosses(metricsPath: string, upTo = Infinity): number[] {
  if (!existsSync(metricsPath)) return [];
  return readJsonLines<{ type: string; step: number; loss: number }>(metricsPath)
    .records.filter((l) => l.type === "train" && l.step <= upTo)
    .map((l) => l.loss);
}

/** One `grad-variance.jsonl` record, the loss variance taken over the last `lossWindow` logged losses. */
export function gradVarianceRecord(step: number, r: GradVarianceResult, losses: readonly number[], lossWindow: number): GradVarianceRecord {
  return { step, k: r.k, total: r.total, groups: r.groups, lossVariance: windowVariance(losses, lossWindow) };
}
