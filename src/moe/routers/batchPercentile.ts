/**
 * Batch-percentile routing [ours]: DynaMoE's percentile rule with the threshold taken over the whole
 * batch, `θ = percentile({ g̃_ti : all t, i }, τ)` (linear interpolation), `S_t = { i : g̃_ti > θ }`,
 * or `{ argmax g̃_t }` when empty. The batch selects a fixed number of (token, expert) pairs, but
 * tokens with peaked gates take fewer experts than tokens with flat ones: the only reading of the
 * paper's rule whose counts vary per token. Weights are the gates renormalised over S_t.
 *
 * Reference: Gülmez, DynaMoE, arXiv 2603.01697 (spec §2.1, §2.2).
 */
import { lax, numpy as np } from "../../engine/jax.js";
import { renormalisedRoute } from "../combineWeights.js";
import { selectPassingOrArgmax } from "./hostRows.js";
import { hostPercentileThreshold, percentileThreshold, withArgmaxFallback } from "./percentile.js";
import type { RoutingRule } from "./rule.js";

/**
 * Selection mask of the batch-percentile rule.
 * @param scores `[T, N]` (g̃), consumed (no gradient flows).
 * @returns `[T, N]` float32 mask with at least one 1 per row.
 */
export function batchPercentileSelect(scores: np.Array, tau: number): np.Array {
  const [t, n] = scores.shape;
  const s = lax.stopGradient(scores);
  const theta = percentileThreshold(s.ref.reshape([1, t * n]), tau); // [1]
  const above = s.ref.greater(theta.reshape([1, 1])).astype(np.float32); // [T, N]
  return withArgmaxFallback(above, s);
}

export const batchPercentileRule: RoutingRule<"batch-percentile"> = {
  kind: "batch-percentile",
  summary: "the percentile rule with θ taken over the whole batch, so k varies per token",
  reference: "[ours], reading Gülmez, DynaMoE, §2.1–2.2",
  noisy: true,
  weights: "renormalised",
  keys: ["tau", "renormalize"],
  defaults: {},
  losses: [],
  maxActive: (experts) => experts,
  route: (inp) => renormalisedRoute(inp, batchPercentileSelect(inp.scores.ref, inp.cfg.tau)),
  host: {
    // One θ over all T·N scores (float32 interpolation as the jax-js form), then each token's experts above it.
    select({ scores, t, n, mask, cfg, scratch: { all } }) {
      const theta = hostPercentileThreshold(scores, 0, t * n, cfg.tau, all);
      for (let r = 0; r < t; r++) selectPassingOrArgmax(scores, r * n, n, mask, (v) => v > theta);
    },
  },
};
