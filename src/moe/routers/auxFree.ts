/**
 * Auxiliary-loss-free top-k routing (DeepSeek-V3): each token takes the k experts with the largest
 * `g_i + b_i`, where b is the per-expert balancing bias (`../balanceBias.ts`) that the step nudges
 * toward equal load; the combine weights are the selected gates g renormalised, so the bias steers
 * selection and never the output. No gate noise and no balancing loss: the bias alone balances.
 *
 * The bias works with any rule (`biasRate` > 0); this kind is top-k with it on by default, at
 * DeepSeek-V3's γ = 0.001 and the plain softmax (T = 1).
 *
 * Reference: DeepSeek-AI 2024, "DeepSeek-V3 Technical Report", §2.1.2; Wang et al. 2024,
 * "Auxiliary-Loss-Free Load Balancing Strategy for Mixture-of-Experts".
 */
import type { RoutingRule } from "./rule.js";
import { topkRule } from "./topk.js";

export const auxFreeRule: RoutingRule<"aux-free"> = {
  kind: "aux-free",
  summary: "top-k on the gates plus a per-expert bias that each step moves toward equal load (no balancing loss)",
  reference: "DeepSeek-AI 2024, DeepSeek-V3 Technical Report (Wang et al. 2024)",
  noisy: false,
  weights: "renormalised",
  keys: ["k", "biasRate", "renormalize"],
  defaults: { biasRate: 0.001, temperature: 1 },
  losses: [],
  maxActive: topkRule.maxActive,
  route: topkRule.route,
  host: topkRule.host,
};
