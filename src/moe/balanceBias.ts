/**
 * Auxiliary-loss-free load balancing (DeepSeek-V3, Wang et al. 2024, "Auxiliary-Loss-Free Load
 * Balancing Strategy for Mixture-of-Experts"): each MoE layer's router holds a per-expert bias b
 * `[N]` that is added to the selection scores only, and after every training step
 *
 *   b_i ← b_i + γ · sign(mean_j load_j − load_i)
 *
 * where `load_i` is the number of tokens expert i was given in the step (after selection and any
 * capacity). Overloaded experts become less attractive, idle ones more, with no gradient and no
 * auxiliary loss. The bias is a parameter leaf (`router.bias`, no weight decay, zero gradient, so
 * AdamW leaves it alone): checkpoints, resume and exports carry it like any weight.
 *
 * Two forms of the same float32 arithmetic: `balanceBiasStep` (jax-js, inside the jitted step) and
 * `hostBalanceBiasStep` (the native engine).
 */
import { numpy as np } from "../engine/jax.js";
import type { RouterConfig } from "./routers/registry.js";

/** Whether a router carries the balancing bias. */
export function hasBalanceBias(router: RouterConfig): boolean {
  return router.biasRate > 0;
}

/**
 * One update of the bias.
 * @param bias `[N]`, consumed.
 * @param load `[N]` tokens per expert in the step, consumed.
 * @returns `[N]` the new bias.
 */
export function balanceBiasStep(bias: np.Array, load: np.Array, rate: number): np.Array {
  const mean = load.ref.mean(); // []
  return bias.add(np.sign(mean.sub(load)).mul(rate));
}

/**
 * The host form: updates `bias` `[N]` in place from `load` `[N]` (token counts), in the float32
 * arithmetic of `balanceBiasStep` (the mean's sum is exact for counts below 2^24).
 */
export function hostBalanceBiasStep(bias: Float32Array, load: ArrayLike<number>, rate: number): void {
  const n = bias.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += load[i];
  const mean = Math.fround(sum / n);
  const step = Math.fround(rate);
  for (let i = 0; i < n; i++) bias[i] = Math.fround(bias[i] + Math.sign(mean - load[i]) * step);
}
