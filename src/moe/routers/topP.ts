/**
 * Top-p routing: a token takes the smallest set of experts whose gates, taken largest first, sum to
 * at least p (at least one expert). Weights are the gates renormalised over that set. An entropy
 * loss `entropyCoef · mean_t H(g_t)`, `H(g) = −Σ_i g_i log g_i`, pushes the router to be confident,
 * so that easy tokens need few experts (default coefficient 1e-4 [ours]).
 *
 * Reference: Huang et al. 2024, "Harder Tasks Need More Experts: Dynamic Routing in MoE Models".
 */
import { lax, nn, numpy as np } from "../../engine/jax.js";
import { combineWeights } from "../combineWeights.js";
import { descendingRank } from "../ranks.js";
import type { RuleInput, RuleOutput } from "../routing.js";
import { perRow } from "./hostRows.js";
import type { RoutingRule } from "./rule.js";

const f = Math.fround;

/**
 * Selection mask of top-p: in descending order, every expert up to and including the first one at
 * which the cumulative score reaches p (all N if it never does; ties: the lower index first).
 * @param scores `[T, N]` (gates, possibly noisy), consumed (no gradient flows).
 * @returns `[T, N]` float32 mask with at least one 1 per row (for p > 0; p ≤ 0 still keeps the top one).
 */
export function topPSelect(scores: np.Array, p: number): np.Array {
  const s = lax.stopGradient(scores);
  const sorted = np.takeAlongAxis(s.ref, np.argsort(s.ref.neg(), -1), -1); // [T, N] descending
  const reached = np.cumsum(sorted, -1).greaterEqual(p).astype(np.float32); // [T, N]
  // A sorted position is kept while no earlier position has reached p (robust to negative noisy gates).
  const reachedBefore = np.cumsum(reached.ref, -1).sub(reached); // [T, N]
  const count = reachedBefore.equal(0).astype(np.float32).sum(-1, { keepdims: true }); // [T, 1] ≥ 1
  return descendingRank(s, -1).astype(np.float32).less(count).astype(np.float32); // [T, N]
}

/**
 * Mean gate entropy `mean_t −Σ_i g_ti log g_ti`, with `log g` as logSoftmax of the softmax input
 * (no log 0).
 * @param probs `[T, N]` consumed; `logits` `[T, N]` the softmax input, consumed.
 */
export function gateEntropy(probs: np.Array, logits: np.Array): np.Array {
  return probs.mul(nn.logSoftmax(logits, -1)).sum(-1).mean().neg();
}

/**
 * The top-p rule on the shared pipeline's gates (see the file comment).
 * @param inp not consumed.
 */
export function topPRoute(inp: RuleInput): RuleOutput {
  inp.key?.dispose();
  const mask = topPSelect(inp.scores.ref, inp.cfg.p);
  const weights = combineWeights(inp.probs.ref, mask.ref, inp.cfg.renormalize);
  const entropy = gateEntropy(inp.probs.ref, inp.logits.ref);
  return { mask, weights, auxLoss: entropy.ref.mul(inp.cfg.entropyCoef), losses: { entropy } };
}

export const topPRule: RoutingRule<"top-p"> = {
  kind: "top-p",
  summary: "the fewest experts whose gates reach mass p, with a gate-entropy loss (k varies per token)",
  reference: "Huang et al. 2024, Harder Tasks Need More Experts",
  noisy: true,
  weights: "renormalised",
  keys: ["p", "entropyCoef", "renormalize"],
  defaults: { temperature: 1 },
  losses: ["entropy"],
  maxActive: (experts) => experts,
  route: topPRoute,
  host: {
    // Experts by score, largest first (ties: the lower index), up to and including the first at which
    // the float32 running sum reaches p; all N if it never does.
    select: perRow((s, at, n, mask, cfg, { order }) => {
      for (let i = 0; i < n; i++) order[i] = i;
      const byScore = order.slice(0, n).sort((a, b) => s[at + b] - s[at + a] || a - b);
      const p = f(cfg.p);
      let sum = 0;
      let count = 0;
      while (count < n) {
        sum = f(sum + s[at + byScore[count]]);
        count++;
        if (sum >= p) break;
      }
      for (let k = 0; k < count; k++) mask[at + byScore[k]] = 1;
      return count;
    }),
  },
};
