/**
 * ReLU routing with adaptive L1 (ReMoE, Wang et al. 2024, "ReMoE: Fully Differentiable Mixture-of-
 * Experts with ReLU Routing"): gates `R = ReLU(x W_r / T)`, unnormalised; a token uses every expert
 * with `R_i > 0` (any number, none included: it then passes through the residual) with weight `R_i`.
 * Selection is the sign of a continuous function, so the layer is differentiable almost everywhere and
 * k varies per token.
 *
 * Sparsity comes from a load-weighted L1 penalty, `λ · (1/T) Σ_t Σ_i f_i R_ti` with
 * `f_i = N/(k·T) · #{t : R_ti > 0}` (constant in the gradient; ReMoE's load-balancing refinement), and
 * λ, the router's `l1` leaf, moves after each step: `λ ← λ·α` when the step's tokens used more than
 * `k` experts on average, `λ ← λ/α` when fewer (`l1Step`), so the mean count settles near k. ReMoE
 * shares one λ over the layers; ours is per layer, since our schedules give layers different N
 * [ours]. Defaults are the paper's: λ₀ = 1e-8, α = 1.2, no gate noise, T = 1.
 */
import { lax, numpy as np } from "../../engine/jax.js";
import type { RuleInput, RuleOutput } from "../routing.js";
import type { RoutingRule } from "./rule.js";

/**
 * The rule on gates `R` (`inp.probs`, ReLU already applied): mask `R > 0`, weights R, the L1 term.
 * Consumes the input's key, if any.
 */
function remoeRoute(inp: RuleInput): RuleOutput {
  inp.key?.dispose();
  const [t, n] = inp.probs.shape;
  const mask = lax.stopGradient(inp.scores.ref.greater(0).astype(np.float32)); // [T, N]
  const weights = inp.probs.ref.mul(mask.ref); // [T, N], R itself where R > 0
  const f = lax.stopGradient(mask.ref.sum(0).mul(n / (inp.cfg.k * t))); // [N]
  const l1 = inp.probs.ref.mul(f).sum().div(t); // []
  const coef = inp.l1 ? lax.stopGradient(inp.l1.ref.reshape([])) : np.array(inp.cfg.l1Init);
  return { mask, weights, auxLoss: l1.ref.mul(coef), losses: { l1 } };
}

/**
 * One step of λ (jax-js): times α when more than k experts were active per token, divided by α when
 * fewer. `l1` `[1]` and `active` (the step's mean experts per token, a scalar) are consumed.
 */
export function l1Step(l1: np.Array, active: np.Array, k: number, growth: number): np.Array {
  const factor = np.where(active.ref.greater(k), Math.fround(growth), np.where(active.less(k), Math.fround(1 / growth), 1));
  return l1.mul(factor);
}

/** The host form of `l1Step`, in its float32 arithmetic; `active` is Σ loads / T rounded to float32. */
export function hostL1Step(l1: number, active: number, k: number, growth: number): number {
  const factor = active > k ? Math.fround(growth) : active < k ? Math.fround(1 / growth) : 1;
  return Math.fround(l1 * factor);
}

export const remoeRule: RoutingRule<"remoe"> = {
  kind: "remoe",
  summary: "ReLU gates, every expert with a positive gate (k varies per token, possibly 0), an adaptive L1 toward k on average",
  reference: "Wang et al. 2024, ReMoE: Fully Differentiable Mixture-of-Experts with ReLU Routing",
  gate: "relu",
  noisy: false,
  weights: "raw",
  keys: ["k", "l1Init", "l1Growth"],
  defaults: { temperature: 1 },
  losses: ["l1"],
  maxActive: (experts) => experts,
  route: remoeRoute,
  host: {
    select({ scores, t, n, mask }) {
      for (let i = 0; i < t * n; i++) if (scores[i] > 0) mask[i] = 1;
    },
  },
};
