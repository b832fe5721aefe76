/**
 * Sampling text from a language model, one token at a time: the last `context` tokens go through
 * the trunk (eagerly: one shape per window length, too many to compile), the tied head gives the
 * next token's logits, and a seeded host-side sampler picks it with temperature and top-k.
 *
 * Routers that rank tokens across the batch (expert choice, batch-percentile) see only the window.
 */
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { numpy as np } from "../engine/jax.js";
import { disposeRouting } from "../moe/moeLayer.js";
import { applyLmTrunk, lmLogits, type LmModelConfig, type LmModelParams } from "./lmModel.js";

export type SampleOptions = {
  /** Tokens to generate. */
  tokens: number;
  /** Softmax temperature; 0 takes the arg-max. @default 0.8 */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 keeps all. @default 40 */
  topK?: number;
  /** Seed of the sampler. @default 0 */
  seed?: number;
  /** Called with each new token id. */
  onToken?: (id: number) => void;
};

/**
 * Pick a token from `logits` with temperature and top-k; `u` is uniform in [0, 1).
 * Ties at the k-th logit are all kept.
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number, u: number): number {
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
  if (temperature <= 0) return best;
  let cutoff = -Infinity;
  if (topK > 0 && topK < n) cutoff = Array.from(logits).sort((a, b) => b - a)[topK - 1];
  const max = logits[best];
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (logits[i] >= cutoff) total += weights[i] = Math.exp((logits[i] - max) / temperature);
  }
  let r = u * total;
  for (let i = 0; i < n; i++) {
    r -= weights[i];
    if (r < 0 && weights[i] > 0) return i;
  }
  return best;
}

/** Continue `prompt` (token ids, at least one) by `opts.tokens` tokens; returns the new ids. */
export async function generateTokens(params: LmModelParams, cfg: LmModelConfig, prompt: number[], opts: SampleOptions): Promise<number[]> {
  if (prompt.length === 0) throw new Error("generation needs at least one prompt token");
  const temperature = opts.temperature ?? 0.8;
  const topK = opts.topK ?? 40;
  const rng = xoroshiro128plus(opts.seed ?? 0);
  const ids = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < opts.tokens; i++) {
    const window = ids.slice(-cfg.context);
    const { hidden, routings } = applyLmTrunk(params, np.array(Int32Array.from(window), { dtype: np.int32 }).reshape([1, window.length]), cfg, { train: false });
    routings.forEach(disposeRouting);
    const last = hidden.slice([window.length - 1, window.length]); // [1, d]
    const logits = await lmLogits(params, last).data();
    const id = sampleToken(logits, temperature, topK, uniformFloat64(rng));
    ids.push(id);
    out.push(id);
    opts.onToken?.(id);
  }
  return out;
}
