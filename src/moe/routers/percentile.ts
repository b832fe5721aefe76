/**
 * DynaMoE's percentile routing rule (spec §2.1): a token's selected set is every expert whose
 * (noisy) gate lies strictly above the τ-th percentile of that token's own gates, or its argmax if
 * none does.
 *
 * `θ = percentile(g̃, τ)` with linear interpolation (numpy's default), `S = { i : g̃_i > θ }`,
 * `S = { argmax g̃ }` when empty.
 *
 * Known defect, kept on purpose (faithful mode): without ties exactly `N − 1 − ⌊(N − 1)·τ/100⌋`
 * experts pass, whatever the scores, so the count is fixed per layer. With N ≤ 3 at τ = 50 one
 * expert is selected with weight exactly 1, so that layer's router receives no gradient.
 *
 * Reference: Gülmez, DynaMoE, arXiv 2603.01697 (as reviewed in the spec).
 */
import { lax, nn, numpy as np } from "../../engine/jax.js";
import { renormalisedRoute } from "../combineWeights.js";
import { perRow, selectPassingOrArgmax } from "./hostRows.js";
import type { RoutingRule } from "./rule.js";

/**
 * Per-row τ-percentile with linear interpolation.
 * @param scores `[T, N]`, consumed. No gradient flows through the result.
 * @returns θ `[T]`.
 */
export function percentileThreshold(scores: np.Array, tau: number): np.Array {
  const n = scores.shape[scores.ndim - 1];
  const s = lax.stopGradient(scores);
  const sorted = np.takeAlongAxis(s.ref, np.argsort(s, -1), -1); // [T, N] ascending
  const pos = ((n - 1) * tau) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  const a = sorted.ref.slice([], lo); // [T]
  if (frac === 0 || hi === lo) {
    sorted.dispose();
    return a;
  }
  const b = sorted.slice([], hi); // [T]
  // numpy's lerp: a + (b − a)·t, exact when a == b (ties keep θ equal to the tied value).
  return a.ref.add(b.sub(a).mul(frac));
}

/**
 * Selection mask of the percentile rule.
 * @param scores `[T, N]` (the noisy gates g̃), consumed.
 * @returns `[T, N]` float32 mask with at least one 1 per row.
 */
export function percentileSelect(scores: np.Array, tau: number): np.Array {
  const s = lax.stopGradient(scores);
  const theta = percentileThreshold(s.ref, tau); // [T]
  const above = s.ref.greater(np.expandDims(theta, -1)).astype(np.float32); // [T, N]
  return withArgmaxFallback(above, s);
}

/**
 * The minimum of one expert: rows of `selected` with no expert get `{ argmax scores }` instead
 * (the first index on ties, as the spec's reference does).
 * @param selected `[T, N]` float32 0/1 mask, consumed; `scores` `[T, N]`, consumed.
 * @returns `[T, N]` float32 mask with at least one 1 per row.
 */
export function withArgmaxFallback(selected: np.Array, scores: np.Array): np.Array {
  const n = scores.shape[scores.ndim - 1];
  const none = selected.ref.sum(-1, { keepdims: true }).equal(0); // [T, 1]
  const fallback = nn.oneHot(np.argmax(lax.stopGradient(scores), -1), n).astype(np.float32); // [T, N]
  return np.where(none, fallback, selected);
}

/** Number of experts the percentile rule selects for untied scores: `N − 1 − ⌊(N − 1)·τ/100⌋`, at least 1. */
export function percentileActiveCount(n: number, tau: number): number {
  return Math.max(1, n - 1 - Math.floor(((n - 1) * tau) / 100));
}

const f = Math.fround;

/**
 * The host form's threshold: the τ-th percentile of `s[at .. at+n)` (a row, or the whole batch) with
 * numpy's interpolation, in float32 steps as the jax-js form computes it (`a + (b − a)·frac`), so
 * both select the same experts. `sorted` holds at least n.
 */
export function hostPercentileThreshold(s: Float32Array, at: number, n: number, tau: number, sorted: Float32Array): number {
  if (n <= 32) {
    // A token's row: insertion sort, ascending, without a typed-array view per row (−0 and +0 may
    // land in either order, which changes no comparison with θ).
    for (let i = 0; i < n; i++) {
      const v = s[at + i];
      let j = i;
      for (; j > 0 && sorted[j - 1] > v; j--) sorted[j] = sorted[j - 1];
      sorted[j] = v;
    }
  } else {
    for (let i = 0; i < n; i++) sorted[i] = s[at + i];
    sorted.subarray(0, n).sort();
  }
  const pos = ((n - 1) * tau) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  const a = sorted[lo];
  return frac === 0 || hi === lo ? a : f(a + f(f(sorted[hi] - a) * f(frac)));
}

export const percentileRule: RoutingRule<"percentile"> = {
  kind: "percentile",
  summary: "DynaMoE: experts whose noisy gate is above the token's own τ-th percentile (a fixed count per layer)",
  reference: "Gülmez, DynaMoE, arXiv 2603.01697, §2.1",
  noisy: true,
  weights: "renormalised",
  keys: ["tau", "renormalize"],
  defaults: {},
  losses: [],
  maxActive: (experts, cfg) => percentileActiveCount(experts, cfg.tau),
  route: (inp) => renormalisedRoute(inp, percentileSelect(inp.scores.ref, inp.cfg.tau)),
  host: {
    select: perRow((s, at, n, mask, cfg, { sorted }) => {
      const theta = hostPercentileThreshold(s, at, n, cfg.tau, sorted);
      return selectPassingOrArgmax(s, at, n, mask, (v) => v > theta);
    }),
  },
};
