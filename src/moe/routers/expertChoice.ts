/**
 * Expert-choice routing: each expert picks the C tokens with its largest gates, so a token may get
 * 0..N experts. `C = ⌈T · f / N⌉` (clamped to [1, T]), f = `capacityFactorTrain` (default 1.25) in
 * training *and* evaluation [ours]: f is the mean number of experts per token, so changing it at
 * evaluation would change the model (Zhou et al.'s EC-CF2 is f = 2). Weights are the gates of the
 * chosen pairs, not renormalised (as in the paper); a token no expert picks has an all-zero row, its
 * MoE output is zero and the residual carries it. No auxiliary loss: the rule balances by construction.
 *
 * Reference: Zhou et al. 2022, "Mixture-of-Experts with Expert Choice Routing".
 */
import { numpy as np } from "../../engine/jax.js";
import { descendingRank } from "../ranks.js";
import type { RuleInput, RuleOutput } from "../routing.js";
import { expertCapacity } from "./expertCapacity.js";
import type { RoutingRule } from "./rule.js";

/** Slots per expert: `⌈f·T/N⌉` clamped to [1, T], f = `capacityFactorTrain` in both modes. */
export function expertChoiceCapacity(tokens: number, experts: number, factor: number): number {
  return Math.max(1, Math.min(tokens, expertCapacity(tokens, experts, factor)));
}

/**
 * Selection mask of expert choice: each column keeps its `capacity` largest scores (ties: the
 * earlier token).
 * @param scores `[T, N]`, consumed (no gradient flows).
 * @returns `[T, N]` float32 mask with exactly `min(capacity, T)` ones per column.
 */
export function expertChoiceSelect(scores: np.Array, capacity: number): np.Array {
  return descendingRank(scores, 0).less(capacity).astype(np.float32); // [T, N]
}

/**
 * The expert-choice rule on the shared pipeline's gates (see the file comment).
 * @param inp not consumed. `dropped` is 1 for a token that no expert picked.
 */
export function expertChoiceRoute(inp: RuleInput): RuleOutput {
  inp.key?.dispose();
  const [t, n] = inp.probs.shape;
  const mask = expertChoiceSelect(inp.scores.ref, expertChoiceCapacity(t, n, inp.cfg.capacityFactorTrain)); // [T, N]
  const weights = inp.probs.ref.mul(mask.ref);
  const dropped = mask.ref.sum(-1).equal(0).astype(np.float32); // [T]
  return { mask, weights, auxLoss: np.zeros([]), dropped };
}

export const expertChoiceRule: RoutingRule<"expert-choice"> = {
  kind: "expert-choice",
  summary: "each expert picks its C tokens with the largest gates, so a token gets 0..N experts",
  reference: "Zhou et al. 2022, Mixture-of-Experts with Expert Choice Routing",
  noisy: false,
  weights: "raw",
  keys: ["capacityFactorTrain"],
  defaults: { temperature: 1 },
  losses: [],
  capacity: (tokens, experts, cfg) => expertChoiceCapacity(tokens, experts, cfg.capacityFactorTrain),
  maxActive: (experts) => experts,
  route: expertChoiceRoute,
  host: {
    // Each expert's `capacity` tokens with the largest scores (ties: the earlier token); a token no expert picked is dropped.
    select({ scores, t, n, capacity, mask, dropped, scratch: { rows } }) {
      const keep = Math.min(capacity, t);
      const order = Array.from(rows.subarray(0, t), (_, r) => r);
      for (let e = 0; e < n; e++) {
        order.sort((a, b) => scores[b * n + e] - scores[a * n + e] || a - b);
        for (let k = 0; k < keep; k++) mask[order[k] * n + e] = 1;
        for (let r = 0; r < t; r++) order[r] = r;
      }
      for (let r = 0; r < t; r++) {
        let any = 0;
        for (let e = 0; e < n; e++) any |= mask[r * n + e];
        dropped[r] = any ? 0 : 1;
      }
    },
  },
};
