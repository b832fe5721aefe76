/**
 * Top-k with null experts (AdaMoE, Zeng et al. 2024, "AdaMoE: Token-Adaptive Routing with Null
 * Experts for Mixture-of-Experts Language Models"): the router scores the layer's N experts and
 * `m = round(nullRatio · N)` null experts, which compute nothing; each token takes the top k of the
 * `W = N + m` gates, so a token whose slots go to null experts uses fewer real ones (0..k). The
 * combine weights are the selected real experts' gates renormalised over the real experts selected
 * (null experts add nothing).
 *
 * A balancing loss over real and null experts keeps the null experts' share of the slots near
 * `m / W`, so the mean number of real experts per token is about `k · N / W` (2 at the defaults
 * k = 4, nullRatio = 1): `W · Σ_i f_i P_i`, with `f_i` the share of tokens that selected i (in any of
 * their k slots), the null experts' f replaced by their mean (they are interchangeable, so only
 * their total use is balanced), and `P_i` the mean gate; times `balanceCoef`, with f constant in the
 * gradient. No gate noise, T = 1 (Mixtral's router, which AdaMoE extends). balanceCoef 0.1, chosen on
 * the validation split (docs/results.md).
 */
import { lax, numpy as np } from "../../engine/jax.js";
import { combineWeights } from "../combineWeights.js";
import type { RuleInput, RuleOutput } from "../routing.js";
import type { RoutingRule } from "./rule.js";
import { topkRule, topkSelect } from "./topk.js";

/** Null experts beside N real ones. */
export function nullExperts(experts: number, nullRatio: number): number {
  return Math.round(nullRatio * experts);
}

/** The per-expert `f` of the balancing loss from the `[W]` selection counts over T tokens: null experts (index ≥ N) get their mean. */
export function nullBalanceShares(count: ArrayLike<number>, n: number, t: number): number[] {
  const w = count.length;
  const f = Array.from(count, (c) => c / t);
  if (w > n) {
    const mean = f.slice(n).reduce((a, b) => a + b, 0) / (w - n);
    for (let i = n; i < w; i++) f[i] = mean;
  }
  return f;
}

function adamoeRoute(inp: RuleInput): RuleOutput {
  inp.key?.dispose();
  const [t, w] = inp.probs.shape;
  const n = inp.experts;
  const selected = topkSelect(inp.scores.ref, inp.cfg.k); // [T, W]
  const mask = selected.ref.slice([], [0, n]); // [T, N] the real experts
  const weights = combineWeights(inp.probs.ref.slice([], [0, n]), mask.ref, inp.cfg.renormalize);
  // f: the share of tokens selecting each expert, the null experts' averaged (constant in the gradient).
  const share = selected.sum(0).div(t); // [W]
  const f = w > n ? np.concatenate([share.ref.slice([0, n]), np.broadcastTo(share.slice([n, w]).mean().reshape([1]), [w - n])]) : share;
  const nullBalance = lax.stopGradient(f).mul(inp.probs.ref.mean(0)).sum().mul(w);
  return { mask, weights, auxLoss: nullBalance.ref.mul(inp.cfg.balanceCoef), losses: { nullBalance } };
}

export const adamoeRule: RoutingRule<"adamoe"> = {
  kind: "adamoe",
  summary: "top-k over the experts and as many zero-compute null experts, so a token uses 0..k real ones; null-aware balancing loss",
  reference: "Zeng et al. 2024, AdaMoE: Token-Adaptive Routing with Null Experts",
  noisy: false,
  weights: "renormalised",
  keys: ["k", "nullRatio", "balanceCoef", "renormalize"],
  defaults: { k: 4, temperature: 1, balanceCoef: 0.1 },
  losses: ["nullBalance"],
  routerWidth: (experts, cfg) => experts + nullExperts(experts, cfg.nullRatio),
  maxActive: (experts, cfg) => Math.max(1, Math.min(cfg.k, experts)),
  route: adamoeRoute,
  host: topkRule.host,
};
