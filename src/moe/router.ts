/**
 * The router: a bias-free linear layer, gates `g = softmax(W_r x / T)`, training noise, a selection
 * rule and combine weights. Every rule (`routers/`) returns the same `Routing` record.
 *
 * Selection never carries a gradient: rules select on `lax.stopGradient` scores and use sorts and
 * top-k for indices only, so gradients reach the router through the gates in the combine weights
 * and through the auxiliary losses alone (gathers of differentiable values give wrong gradients
 * under jit in jax-js 0.1.25: docs/jax-js-notes.md). A balancing bias (`balanceBias.ts`) shifts the
 * selection scores and nothing else.
 */
import { lax, nn, numpy as np, random } from "../engine/jax.js";
import { hasBalanceBias } from "./balanceBias.js";
import { routerDrawKeys } from "./drawSchedule.js";
import { ruleOf } from "./routers/registry.js";
import type { RouterConfig } from "./routers/registry.js";
import type { RouteOptions, Routing } from "./routing.js";

export { combineWeights } from "./combineWeights.js";

export type RouterParams = {
  /** `[d, N]` router weights (no bias in the logits). */
  w: np.Array;
  /** `[N]` the auxiliary-loss-free balancing bias, added to the selection scores only (`balanceBias.ts`); routers with `biasRate > 0`. */
  bias?: np.Array;
};

/** Router weights ~ N(0, 1/d) (LeCun normal); the balancing bias, where the router has one, starts at 0. */
export function initRouter(key: np.Array, d: number, experts: number, cfg?: RouterConfig): RouterParams {
  const w = random.normal(key, [d, experts]).mul(1 / Math.sqrt(d));
  return cfg && hasBalanceBias(cfg) ? { w, bias: np.zeros([experts]) } : { w };
}

/**
 * Route T tokens.
 * @param params router weights (not consumed).
 * @param x `[T, d]` token representations, consumed.
 * @returns the routing record.
 */
export function applyRouter(params: RouterParams, x: np.Array, cfg: RouterConfig, opts: RouteOptions): Routing {
  const keys = routerDrawKeys(cfg, params.w.shape[1], opts.train, opts.key);
  if (keys.jitter) x = x.mul(random.uniform(keys.jitter, x.shape, { minval: 1 - cfg.jitter, maxval: 1 + cfg.jitter }));
  const logits = np.matmul(x, params.w.ref).div(cfg.temperature); // [T, N] softmax input h / T
  const probs = nn.softmax(logits.ref, -1); // [T, N]
  let scores = probs.ref;
  if (keys.noise) scores = scores.add(random.normal(keys.noise, probs.shape).mul(cfg.noise));
  scores = lax.stopGradient(scores);
  if (params.bias) scores = scores.add(lax.stopGradient(params.bias.ref)); // selection only
  const rule = ruleOf(cfg.kind).route({ logits, probs, scores, cfg, train: opts.train, key: keys.rule });
  logits.dispose();
  scores.dispose();
  const active = rule.mask.ref.sum(-1); // [T]
  return { ...rule, probs, active };
}
