/**
 * GShard top-2 routing: each token's first and second experts by gate, each expert with capacity
 * `C = max(minCapacity, ⌈f · 2T / N⌉)` (room for both choices at f = 1, as GShard's Algorithm 1,
 * `C = 2S/E`, and T5X's `num_selected_experts` scaling do). First choices take the slots first, in token order;
 * second choices queue behind all kept first choices (as GShard's Algorithm 1 and its mesh-tensorflow
 * code do). The second expert is kept with probability ∝ its gate: in training, with u ~ U(0, 1) per
 * token, it is kept when `u < 2 · g2 / (g1 + g2)`; in evaluation it is always kept (capacity
 * permitting) [ours: deterministic evaluation]. Weights are the gates renormalised over the experts
 * actually kept (one kept expert gets weight exactly 1; none, all zeros).
 *
 * Auxiliary loss as Switch's: `balanceCoef · N · Σ_i f_i · P_i + zLossCoef · mean logsumexp(h / T)²`,
 * f_i counting first choices before dropping.
 *
 * Reference: Lepikhin et al. 2020, "GShard", Algorithm 1.
 */
import { lax, numpy as np, random } from "../../engine/jax.js";
import { combineWeights } from "../combineWeights.js";
import type { RuleInput, RuleOutput } from "../routing.js";
import { expertCapacity } from "./expertCapacity.js";
import type { RoutingRule } from "./rule.js";
import { argmaxRow } from "./hostRows.js";
import { argmaxOneHot, balanceLoss, keepWithinCapacity, zLoss } from "./switch.js";

const f = Math.fround;

/**
 * Top-2 selection with capacity and the second-expert draw.
 * @param scores `[T, N]` gates, consumed (no gradient flows).
 * @param uniform `[T]` draws u ~ U(0, 1) deciding the second expert (training), consumed; when
 *   omitted the second expert is always wanted.
 * @returns `first` `[T, N]` one-hot first choices before capacity, `mask` `[T, N]` the kept
 *   assignments (≤ 2 per row, ≤ C per column), `dropped` `[T]` assignments lost to capacity.
 */
export function gshardSelect(
  scores: np.Array,
  capacity: number,
  uniform?: np.Array,
): { first: np.Array; mask: np.Array; dropped: np.Array } {
  const n = scores.shape[scores.ndim - 1];
  const s = lax.stopGradient(scores);
  const first = argmaxOneHot(s.ref); // [T, N]
  const mask1 = keepWithinCapacity(first.ref, capacity); // [T, N]
  let dropped = first.ref.sub(mask1.ref).sum(-1); // [T]
  if (n < 2) {
    s.dispose();
    uniform?.dispose();
    return { first, mask: mask1, dropped };
  }
  const second = argmaxOneHot(np.where(first.ref.greater(0), -Infinity, s.ref)); // [T, N]
  let wanted = second;
  if (uniform) {
    const g1 = s.ref.mul(first.ref).sum(-1); // [T]
    const g2 = s.mul(second.ref).sum(-1); // [T]
    const total = g1.add(g2.ref);
    const share = g2.div(np.where(total.ref.greater(0), total, 1)); // [T] g2 / (g1 + g2)
    const keep = uniform.less(share.mul(2)).astype(np.float32); // [T]
    wanted = second.mul(np.expandDims(keep, -1));
  } else {
    s.dispose();
  }
  const taken = mask1.ref.sum(0, { keepdims: true }); // [1, N] slots the kept first choices use
  const mask2 = keepWithinCapacity(wanted.ref, capacity, taken); // [T, N]
  dropped = dropped.add(wanted.sub(mask2.ref).sum(-1));
  return { first, mask: mask1.add(mask2), dropped };
}

/**
 * The GShard rule on the shared pipeline's gates (see the file comment).
 * @param inp not consumed, except `key`, needed in training when N ≥ 2.
 */
export function gshardRoute(inp: RuleInput): RuleOutput {
  const { cfg, train } = inp;
  const [t, n] = inp.probs.shape;
  const capacity = gshardRule.capacity!(t, n, cfg, train);
  let uniform: np.Array | undefined;
  if (train && n >= 2) {
    if (!inp.key) throw new Error("gshard router: training needs a PRNG key for the second-expert draw");
    uniform = random.uniform(inp.key, [t]);
  } else {
    inp.key?.dispose();
  }
  const { first, mask, dropped } = gshardSelect(inp.scores.ref, capacity, uniform);
  const weights = combineWeights(inp.probs.ref, mask.ref, cfg.renormalize);
  const balance = balanceLoss(inp.probs.ref, first);
  const z = zLoss(inp.logits.ref);
  const auxLoss = balance.ref.mul(cfg.balanceCoef).add(z.ref.mul(cfg.zLossCoef));
  return { mask, weights, auxLoss, losses: { balance, z }, dropped };
}

export const gshardRule: RoutingRule<"gshard"> = {
  kind: "gshard",
  summary: "top-2 with capacity; the second expert kept with probability ∝ its gate; balancing and z-losses",
  reference: "Lepikhin et al. 2020, GShard, Algorithm 1",
  noisy: false,
  weights: "renormalised",
  keys: ["renormalize", "capacityFactorTrain", "capacityFactorEval", "minCapacity", "balanceCoef", "zLossCoef"],
  defaults: { temperature: 1 },
  losses: ["balance", "z"],
  capacity: (tokens, experts, cfg, train) => expertCapacity(2 * tokens, experts, train ? cfg.capacityFactorTrain : cfg.capacityFactorEval, cfg.minCapacity),
  maxActive: (experts) => Math.min(2, experts),
  ownDraw: (experts) => experts >= 2,
  route: gshardRoute,
  host: {
    // First choices take slots in token order; wanted second choices queue behind all of them. In
    // training the second is wanted when u < 2·g2/(g1 + g2), in float32 as the jax-js form.
    select({ scores, t, n, capacity, mask, uniform, dropped, scratch: { taken, rows: first } }) {
      taken.fill(0);
      for (let r = 0; r < t; r++) {
        const top = (first[r] = argmaxRow(scores, r * n, n));
        if (taken[top] < capacity) {
          taken[top]++;
          mask[r * n + top] = 1;
        } else dropped[r] += 1;
      }
      if (n < 2) return;
      for (let r = 0; r < t; r++) {
        const at = r * n, top = first[r];
        let second = top === 0 ? 1 : 0;
        for (let i = 0; i < n; i++) if (i !== top && scores[at + i] > scores[at + second]) second = i;
        if (uniform) {
          const g1 = scores[at + top], g2 = scores[at + second];
          const total = f(g1 + g2);
          const share = f(g2 / (total > 0 ? total : 1));
          if (!(uniform[r] < f(share * 2))) continue;
        }
        if (taken[second] < capacity) {
          taken[second]++;
          mask[at + second] = 1;
        } else dropped[r] += 1;
      }
    },
  },
};
