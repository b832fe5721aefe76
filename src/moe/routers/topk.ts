/**
 * Top-K routing: each token takes the K experts with the largest (noisy) gates.
 *
 * Reference: Shazeer et al. 2017, "Outrageously Large Neural Networks".
 */
import { lax, nn, numpy as np } from "../../engine/jax.js";
import { renormalisedRoute } from "../combineWeights.js";
import { perRow } from "./hostRows.js";
import type { RoutingRule } from "./rule.js";

/**
 * Selection mask of the top-k rule.
 * @param scores `[T, N]`, consumed. `k` is clamped to `[1, N]`.
 * @returns `[T, N]` float32 mask with exactly k ones per row.
 */
export function topkSelect(scores: np.Array, k: number): np.Array {
  const n = scores.shape[scores.ndim - 1];
  const kk = Math.max(1, Math.min(k, n));
  // Indices only: gradients through topK values fail under jit (docs/jax-js-notes.md).
  const [values, indices] = lax.topK(lax.stopGradient(scores), kk, -1); // [T, k]
  values.dispose();
  return nn.oneHot(indices, n).astype(np.float32).sum(-2); // [T, N]
}

export const topkRule: RoutingRule<"topk"> = {
  kind: "topk",
  summary: "the k experts with the largest noisy gates (the baseline DynaMoE replaces)",
  reference: "Shazeer et al. 2017, Outrageously Large Neural Networks",
  noisy: true,
  weights: "renormalised",
  keys: ["k", "renormalize"],
  defaults: {},
  losses: [],
  maxActive: (experts, cfg) => Math.max(1, Math.min(cfg.k, experts)),
  route: (inp) => renormalisedRoute(inp, topkSelect(inp.scores.ref, inp.cfg.k)),
  host: {
    // k passes of "the largest not yet taken": ties go to the lower index, as jax-js's topK does.
    select: perRow((s, at, n, mask, cfg) => {
      const k = Math.max(1, Math.min(cfg.k, n));
      for (let r = 0; r < k; r++) {
        let best = -1;
        for (let i = 0; i < n; i++) if (!mask[at + i] && (best < 0 || s[at + i] > s[at + best])) best = i;
        mask[at + best] = 1;
      }
      return k;
    }),
  },
};
