/**
 * Top-any gating (DynMoE, Guo et al. 2024, "Dynamic Mixture of Experts: An Auto-Tuning Approach for
 * Efficient Transformer Models"): sigmoid scores `s_i = σ(h_i / T)` and a trainable threshold per
 * expert, `σ(θ_i)` (θ the router's `thresholds` leaf, 0 at the start); a token uses every expert with
 * `s_i > σ(θ_i)`, at least one (its largest score when none passes, as DynMoE evaluates), each with
 * weight 1. The weight is `sign(ReLU(s_i − σ(θ_i)))` with DynMoE's straight-through gradient, so the
 * gradient reaches the scores and the thresholds of the experts a token uses: ∂w_i/∂s_i = 1 and
 * ∂w_i/∂θ_i = −σ'(θ_i) where the expert passes its threshold, 0 elsewhere (the fallback expert
 * included). The rule selects without gate noise (as DynMoE); were noise added, passing would be
 * judged on the noisy scores, in both engines.
 *
 * Ours where we differ: the scores are `σ(x W_r / T)` on the router's plain logits, not DynMoE's
 * cosine similarity; DynMoE's diversity-and-simplicity loss on the router weights and its adding and
 * removing of experts during training are left out (the layer's N is fixed).
 */
import { lax, nn, numpy as np } from "../../engine/jax.js";
import type { RuleInput, RuleOutput } from "../routing.js";
import { withArgmaxFallback } from "./percentile.js";
import { argmaxRow } from "./hostRows.js";
import type { RoutingRule } from "./rule.js";

function topAnyRoute(inp: RuleInput): RuleOutput {
  inp.key?.dispose();
  const n = inp.probs.shape[1];
  const theta = inp.thresholds ? inp.thresholds.ref : np.zeros([n]);
  const sig = nn.sigmoid(theta); // [N]
  const passing = lax.stopGradient(inp.scores.ref.sub(sig.ref).greater(0).astype(np.float32)); // [T, N]
  const mask = withArgmaxFallback(passing.ref, lax.stopGradient(inp.scores.ref)); // [T, N]
  // Value: the mask; gradient: that of (s − σ(θ)) where the expert passes (straight through the sign of the ReLU).
  const margin = inp.probs.ref.sub(sig).mul(passing); // [T, N], differentiable in s and θ
  const weights = lax.stopGradient(mask.ref).add(margin.ref.sub(lax.stopGradient(margin)));
  return { mask, weights, auxLoss: np.zeros([]) };
}

export const topAnyRule: RoutingRule<"top-any"> = {
  kind: "top-any",
  summary: "sigmoid scores against trained per-expert thresholds: every expert above its threshold, at least one, weight 1 (k varies per token)",
  reference: "Guo et al. 2024, Dynamic Mixture of Experts (DynMoE), top-any gating",
  gate: "sigmoid",
  thresholds: true,
  noisy: false,
  weights: "ones",
  keys: [],
  defaults: { temperature: 1 },
  losses: [],
  maxActive: (experts) => experts,
  route: topAnyRoute,
  host: {
    select({ scores, t, n, mask, thresholds }) {
      if (!thresholds) throw new Error("top-any: the host selection needs the thresholds σ(θ)");
      for (let r = 0; r < t; r++) {
        const at = r * n;
        let count = 0;
        for (let i = 0; i < n; i++) if (scores[at + i] > thresholds[i]) (mask[at + i] = 1), count++;
        if (count === 0) mask[at + argmaxRow(scores, at, n)] = 1;
      }
    },
  },
};
