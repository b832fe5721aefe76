/**
 * Routing rules on host arrays, forward and backward, for the native step: the same functions as
 * `moe/router.ts`, for one layer of T tokens and N experts.
 *
 * The renormalised-gate rules (percentile, top-k, threshold):
 *   g = softmax(z), z = x W_r / T;  g̃ = g + σ ε;  S = rule(g̃);  w_i = b_i / Σ_{j∈S} b_j (i ∈ S),
 *   b = g (`renormalize: "gates"`) or exp(g) (`"softmax-of-gates"`);  w = 1 exactly when |S| = 1.
 * Switch (`switchRouter.ts`): the top-1 expert, the first C tokens of each expert in token order,
 * w = g_i, and the auxiliary loss `balanceCoef · N · Σ_i f_i P_i + zLossCoef · mean_t logsumexp(z_t)²`.
 *
 * Selection carries no gradient; the gradient reaches z through the weights (and Switch's auxiliary
 * loss) alone. Float32
 * rounding follows the jax-js code where selection depends on it (the percentile's interpolation,
 * the comparisons), so both pick the same experts except on exact near-ties.
 */
import type { RouterConfig } from "../moe/routing.js";

/** The rules this file implements (the others run on jax-js). */
export const HOST_RULES: ReadonlySet<RouterConfig["kind"]> = new Set(["percentile", "topk", "threshold", "switch"]);

const f = Math.fround;

/** One layer's routing, written into caller-owned arrays (pairs grouped by expert, tokens ascending). */
export type HostRouting = {
  /** `[T, N]` gates g. */
  probs: Float32Array;
  /** `[T, N]` 1 where expert i serves token t. */
  mask: Uint8Array;
  /** `[T, N]` combine weights (0 off the selected set). */
  weights: Float32Array;
  /** `[N + 1]` expert e's pairs are `[offsets[e], offsets[e+1])`. */
  offsets: Int32Array;
  /** `[≥ T·N]` token of each pair. */
  tokens: Int32Array;
  /** `[≥ T·N]` combine weight of each pair. */
  pairWeights: Float32Array;
  /** Switch: `[N]` fraction of tokens whose top-1 is expert i (before dropping), and `[T]` logsumexp(z_t). */
  fraction: Float64Array;
  lse: Float64Array;
  /** Scratch, reused every step: noisy scores and ∂L/∂w `[T, N]`, per-row and per-expert work arrays. */
  scratch: { scores: Float32Array; dw: Float32Array; sorted: Float32Array; order: number[]; dp: Float64Array; taken: Int32Array; meanProb: Float64Array };
};

export function allocHostRouting(t: number, n: number, tokens: Int32Array, pairWeights: Float32Array): HostRouting {
  return {
    probs: new Float32Array(t * n),
    mask: new Uint8Array(t * n),
    weights: new Float32Array(t * n),
    offsets: new Int32Array(n + 1),
    tokens,
    pairWeights,
    fraction: new Float64Array(n),
    lse: new Float64Array(t),
    scratch: {
      scores: new Float32Array(t * n), dw: new Float32Array(t * n), sorted: new Float32Array(n), order: new Array<number>(n).fill(0),
      dp: new Float64Array(n), taken: new Int32Array(n), meanProb: new Float64Array(n),
    },
  };
}

/** Index of the first maximum of `s[at .. at+n)`. */
function argmax(s: Float32Array, at: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (s[at + i] > s[at + best]) best = i;
  return best;
}

/** Select the experts of token row `at` of `scores` into `mask`; returns how many. */
function selectRow(cfg: RouterConfig, s: Float32Array, at: number, n: number, mask: Uint8Array, sorted: Float32Array, order: number[]): number {
  let count = 0;
  if (cfg.kind === "topk") {
    const k = Math.max(1, Math.min(cfg.k, n));
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => s[at + b] - s[at + a] || a - b);
    for (let r = 0; r < k; r++) mask[at + order[r]] = 1;
    return k;
  }
  if (cfg.kind === "percentile") {
    for (let i = 0; i < n; i++) sorted[i] = s[at + i];
    sorted.sort();
    const pos = ((n - 1) * cfg.tau) / 100;
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    const frac = pos - lo;
    const a = sorted[lo];
    const theta = frac === 0 || hi === lo ? a : f(a + f(f(sorted[hi] - a) * f(frac)));
    for (let i = 0; i < n; i++) if (s[at + i] > theta) (mask[at + i] = 1), count++;
  } else {
    const t = f(cfg.threshold);
    for (let i = 0; i < n; i++) if (s[at + i] >= t) (mask[at + i] = 1), count++;
  }
  if (count === 0) {
    mask[at + argmax(s, at, n)] = 1;
    count = 1;
  }
  return count;
}

/**
 * Route T tokens.
 * @param z `[T, N]` router logits `x W_r / T` (already divided by the temperature).
 * @param noise `[T, N]` σ·ε to add to the gates for selection, or null (evaluation, σ = 0).
 * @param capacity Switch: slots per expert (`routerCapacity`).
 * @returns the auxiliary loss (0 for the renormalised rules).
 */
export function hostRoute(cfg: RouterConfig, z: Float32Array, t: number, n: number, noise: Float32Array | null, out: HostRouting, capacity = t): number {
  if (cfg.kind === "switch") return switchRoute(cfg, z, t, n, out, capacity);
  const { probs, mask, weights } = out;
  const scores = noise ? out.scratch.scores : probs;
  const { sorted, order } = out.scratch;
  mask.fill(0);
  for (let r = 0; r < t; r++) {
    const at = r * n;
    softmaxRow(z, at, n, probs);
    if (noise) for (let i = 0; i < n; i++) scores[at + i] = f(probs[at + i] + noise[at + i]);
    const count = selectRow(cfg, scores, at, n, mask, sorted, order);
    let total = 0;
    for (let i = 0; i < n; i++) if (mask[at + i]) total += cfg.renormalize === "gates" ? probs[at + i] : Math.exp(probs[at + i]);
    for (let i = 0; i < n; i++) {
      const base = cfg.renormalize === "gates" ? probs[at + i] : Math.exp(probs[at + i]);
      weights[at + i] = !mask[at + i] ? 0 : count === 1 ? 1 : base / total;
    }
  }
  groupPairs(out, t, n);
  return 0;
}

/** The selected (token, expert) pairs grouped by expert, tokens ascending within each expert. */
function groupPairs(out: HostRouting, t: number, n: number): void {
  const { mask, weights, offsets, tokens, pairWeights } = out;
  offsets[0] = 0;
  let p = 0;
  for (let e = 0; e < n; e++) {
    for (let r = 0; r < t; r++) {
      if (mask[r * n + e]) {
        tokens[p] = r;
        pairWeights[p] = weights[r * n + e];
        p++;
      }
    }
    offsets[e + 1] = p;
  }
}

/** Softmax of row `at` of z into probs (f64 arithmetic); returns logsumexp. */
function softmaxRow(z: Float32Array, at: number, n: number, probs: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, z[at + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(z[at + i] - m);
  for (let i = 0; i < n; i++) probs[at + i] = Math.exp(z[at + i] - m) / sum;
  return m + Math.log(sum);
}

function switchRoute(cfg: RouterConfig, z: Float32Array, t: number, n: number, out: HostRouting, capacity: number): number {
  const { probs, mask, weights, fraction, lse } = out;
  mask.fill(0);
  weights.fill(0);
  fraction.fill(0);
  const { taken, meanProb } = out.scratch;
  taken.fill(0);
  meanProb.fill(0);
  let zSq = 0;
  for (let r = 0; r < t; r++) {
    const at = r * n;
    lse[r] = softmaxRow(z, at, n, probs);
    zSq += lse[r] * lse[r];
    const top = argmax(probs, at, n);
    fraction[top] += 1 / t;
    for (let i = 0; i < n; i++) meanProb[i] += probs[at + i] / t;
    if (taken[top] < capacity) {
      taken[top]++;
      mask[at + top] = 1;
      weights[at + top] = probs[at + top];
    }
  }
  groupPairs(out, t, n);
  let balance = 0;
  for (let i = 0; i < n; i++) balance += fraction[i] * meanProb[i];
  return cfg.balanceCoef * n * balance + cfg.zLossCoef * (zSq / t);
}

/**
 * The gradient of the loss with respect to the logits z, from the gradient of each pair's weight.
 * @param dPair `[P]` ∂L/∂w of each pair, in `routing`'s pair order.
 * @param dz `[T, N]` written: ∂L/∂z (the caller divides by the temperature for ∂L/∂(x W_r)).
 */
export function hostRouteBackward(cfg: RouterConfig, routing: HostRouting, t: number, n: number, dPair: Float32Array, dz: Float32Array): void {
  const { probs, mask, weights, offsets } = routing;
  const { dw, dp } = routing.scratch;
  dw.fill(0);
  for (let e = 0; e < n; e++) for (let p = offsets[e]; p < offsets[e + 1]; p++) dw[routing.tokens[p] * n + e] = dPair[p];
  if (cfg.kind === "switch") {
    // ∂/∂g_i: the kept pair's weight is g_i itself, plus the balancing term's balanceCoef·N·f_i / T;
    // then softmax's backward, plus the z-loss's zLossCoef · 2 lse_t · g_i / T directly on z.
    const { fraction, lse } = routing;
    for (let r = 0; r < t; r++) {
      const at = r * n;
      let q = 0;
      for (let i = 0; i < n; i++) {
        dp[i] = dw[at + i] + (cfg.balanceCoef * n * fraction[i]) / t;
        q += probs[at + i] * dp[i];
      }
      const zs = (cfg.zLossCoef * 2 * lse[r]) / t;
      for (let i = 0; i < n; i++) dz[at + i] = probs[at + i] * (dp[i] - q) + zs * probs[at + i];
    }
    return;
  }
  for (let r = 0; r < t; r++) {
    const at = r * n;
    let count = 0;
    for (let i = 0; i < n; i++) count += mask[at + i];
    if (count === 1) {
      for (let i = 0; i < n; i++) dz[at + i] = 0;
      continue;
    }
    let total = 0;
    let wdw = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[at + i]) continue;
      total += cfg.renormalize === "gates" ? probs[at + i] : Math.exp(probs[at + i]);
      wdw += weights[at + i] * dw[at + i];
    }
    // dp_i = ∂L/∂g_i: through b_i = g_i (or exp g_i) in w = b / Σ b.
    let q = 0;
    dp.fill(0);
    for (let i = 0; i < n; i++) {
      if (!mask[at + i]) continue;
      const db = (dw[at + i] - wdw) / total;
      dp[i] = cfg.renormalize === "gates" ? db : db * Math.exp(probs[at + i]);
      q += probs[at + i] * dp[i];
    }
    for (let i = 0; i < n; i++) dz[at + i] = probs[at + i] * (dp[i] - q);
  }
}
