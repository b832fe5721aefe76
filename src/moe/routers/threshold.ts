/**
 * Threshold routing [ours]: a token takes every expert whose (noisy) gate is at least an absolute
 * threshold t, `S = { i : g̃_i ≥ t }`, or its argmax when none is. At most the layer's N experts
 * (the cap is the layer's width, so it never binds). Weights are the gates renormalised over S.
 * Default t = 0.2 [ours]: above the uniform gate 1/N for N > 5, so wide layers select only the
 * experts the router clearly prefers (often just the argmax at initialisation), while narrow layers
 * (N < 5) keep several.
 */
import { lax, numpy as np } from "../../engine/jax.js";
import { renormalisedRoute } from "../combineWeights.js";
import { perRow, selectPassingOrArgmax } from "./hostRows.js";
import { withArgmaxFallback } from "./percentile.js";
import type { RoutingRule } from "./rule.js";

/**
 * Selection mask of the threshold rule.
 * @param scores `[T, N]` (g̃), consumed (no gradient flows).
 * @returns `[T, N]` float32 mask with at least one 1 per row.
 */
export function thresholdSelect(scores: np.Array, threshold: number): np.Array {
  const s = lax.stopGradient(scores);
  const above = s.ref.greaterEqual(threshold).astype(np.float32); // [T, N]
  return withArgmaxFallback(above, s);
}

export const thresholdRule: RoutingRule<"threshold"> = {
  kind: "threshold",
  summary: "every expert whose noisy gate is at least an absolute threshold t (k varies per token)",
  reference: "[ours]",
  noisy: true,
  weights: "renormalised",
  keys: ["threshold", "renormalize"],
  defaults: {},
  losses: [],
  maxActive: (experts) => experts,
  route: (inp) => renormalisedRoute(inp, thresholdSelect(inp.scores.ref, inp.cfg.threshold)),
  host: {
    select: perRow((s, at, n, mask, cfg) => {
      const t = Math.fround(cfg.threshold); // compared in float32, as the jax-js form does
      return selectPassingOrArgmax(s, at, n, mask, (v) => v >= t);
    }),
  },
};
