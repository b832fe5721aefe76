/**
 * Switch routing: each token goes to its top-1 expert, each expert takes at most C tokens in token
 * order, and the tokens beyond an expert's capacity are dropped (their MoE output is zero, so the
 * residual carries them). The kept expert's weight is its gate g_i, not renormalised.
 *
 * `C = max(minCapacity, ⌈f · T / N⌉)`, f = 1.25 in training and 2.0 in evaluation by default.
 * Auxiliary loss: `balanceCoef · N · Σ_i f_i · P_i + zLossCoef · mean_t logsumexp(h_t / T)²`, with f_i
 * the fraction of tokens whose top-1 is expert i (before dropping) and P_i the mean gate of expert i.
 * The balancing term is 1 when routing is perfectly uniform (f_i = P_i = 1/N) and grows to N when
 * every token goes, with certainty, to one expert.
 *
 * Reference: Fedus et al. 2021, "Switch Transformers"; Zoph et al. 2022, "ST-MoE" (router z-loss).
 */
import { nn, numpy as np } from "../../engine/jax.js";
import type { RuleInput, RuleOutput } from "../routing.js";
import { expertCapacity } from "./expertCapacity.js";
import { argmaxRow } from "./hostRows.js";
import type { RoutingRule } from "./rule.js";

/**
 * Keep, for each expert, only its first assignments in token order, up to `capacity`.
 * @param assign `[T, N]` float32 0/1 assignments, consumed.
 * @param offset `[1, N]` slots already taken in each expert (GShard's second choices queue behind
 *   the first ones), consumed; none when omitted.
 * @returns `[T, N]` float32 0/1, the assignments that fit.
 */
export function keepWithinCapacity(assign: np.Array, capacity: number, offset?: np.Array): np.Array {
  let position = np.cumsum(assign.ref, 0); // [T, N], 1-based slot of each assignment in its expert
  if (offset) position = position.add(offset);
  return assign.mul(position.lessEqual(capacity).astype(np.float32));
}

/**
 * Load-balancing loss `N · Σ_i f_i · P_i`.
 * @param probs `[T, N]` gates, consumed (the gradient flows through P_i).
 * @param top1 `[T, N]` one-hot of each token's first choice, consumed (no gradient).
 * @returns scalar; 1 for perfectly balanced routing.
 */
export function balanceLoss(probs: np.Array, top1: np.Array): np.Array {
  const n = probs.shape[probs.ndim - 1];
  const fraction = top1.mean(0); // [N] f_i
  const meanProb = probs.mean(0); // [N] P_i
  return fraction.mul(meanProb).sum().mul(n);
}

/**
 * Router z-loss `mean_t logsumexp(z_t)²`, z the softmax input.
 * @param logits `[T, N]`, consumed.
 */
export function zLoss(logits: np.Array): np.Array {
  return np.square(nn.logsumexp(logits, -1)).mean();
}

/** One-hot `[T, N]` float32 of each row's argmax (first index on ties); `scores` consumed. */
export function argmaxOneHot(scores: np.Array): np.Array {
  const n = scores.shape[scores.ndim - 1];
  return nn.oneHot(np.argmax(scores, -1), n).astype(np.float32);
}

/**
 * The Switch rule on the shared pipeline's gates (see the file comment).
 * @param inp not consumed.
 * @returns mask `[T, N]` (at most one 1 per row, at most C per column), weights `g · mask`,
 *   `dropped` `[T]` (1 for a dropped token), the two losses and their weighted sum.
 */
export function switchRoute(inp: RuleInput): RuleOutput {
  const { cfg, train } = inp;
  inp.key?.dispose();
  const [t, n] = inp.probs.shape;
  const capacity = switchRule.capacity!(t, n, cfg, train);
  const top1 = argmaxOneHot(inp.scores.ref); // [T, N]
  const mask = keepWithinCapacity(top1.ref, capacity); // [T, N]
  const dropped = top1.ref.sub(mask.ref).sum(-1); // [T]
  const weights = inp.probs.ref.mul(mask.ref); // [T, N]
  const balance = balanceLoss(inp.probs.ref, top1);
  const z = zLoss(inp.logits.ref);
  const auxLoss = balance.ref.mul(cfg.balanceCoef).add(z.ref.mul(cfg.zLossCoef));
  return { mask, weights, auxLoss, losses: { balance, z }, dropped };
}

export const switchRule: RoutingRule<"switch"> = {
  kind: "switch",
  summary: "top-1 with a per-expert capacity (overflow dropped), balancing and z-losses",
  reference: "Fedus et al. 2021, Switch Transformers; Zoph et al. 2022, ST-MoE (z-loss)",
  noisy: false,
  weights: "raw",
  keys: ["capacityFactorTrain", "capacityFactorEval", "minCapacity", "balanceCoef", "zLossCoef"],
  defaults: { temperature: 1, jitter: 0.01 },
  losses: ["balance", "z"],
  capacity: (tokens, experts, cfg, train) => expertCapacity(tokens, experts, train ? cfg.capacityFactorTrain : cfg.capacityFactorEval, cfg.minCapacity),
  maxActive: () => 1,
  route: switchRoute,
  host: {
    // Each token's top-1 expert, while that expert has slots left, in token order.
    select({ scores, t, n, capacity, mask, dropped, scratch: { taken } }) {
      taken.fill(0);
      for (let r = 0; r < t; r++) {
        const top = argmaxRow(scores, r * n, n);
        if (taken[top] < capacity) {
          taken[top]++;
          mask[r * n + top] = 1;
        } else dropped[r] = 1;
      }
    },
  },
};
