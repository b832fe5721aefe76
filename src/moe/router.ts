/**
 * The router: a bias-free linear layer, gates `g = softmax(W_r x / T)`, training noise, a selection
 * rule (percentile or top-k) and combine weights. Every rule returns the same `Routing` record.
 */
import { lax, nn, numpy as np, random } from "../engine/jax.js";
import { percentileSelect } from "./percentileRouter.js";
import type { Renormalize, RouteOptions, RouterConfig, Routing } from "./routing.js";
import { topkSelect } from "./topkRouter.js";

export type RouterParams = {
  /** `[d, N]` router weights (no bias). */
  w: np.Array;
};

/** Router weights ~ N(0, 1/d) (LeCun normal). */
export function initRouter(key: np.Array, d: number, experts: number): RouterParams {
  return { w: random.normal(key, [d, experts]).mul(1 / Math.sqrt(d)) };
}

/**
 * Combine weights from the clean gates and a selection mask.
 * A token with a single selected expert gets weight exactly 1 (not `g/g`, whose gradient is
 * rounding noise), so such a router's gradient is exactly zero, as the mathematics says.
 * @param probs `[T, N]` consumed; `mask` `[T, N]` consumed.
 * @returns `[T, N]`, zero off the selected set, each row summing to 1.
 */
export function combineWeights(probs: np.Array, mask: np.Array, renormalize: Renormalize): np.Array {
  const base = renormalize === "gates" ? probs : np.exp(probs);
  const kept = base.mul(mask.ref); // [T, N]
  const normalised = kept.ref.div(kept.sum(-1, { keepdims: true }));
  const single = mask.ref.sum(-1, { keepdims: true }).equal(1); // [T, 1]
  return np.where(single, mask, normalised);
}

/**
 * Route T tokens.
 * @param params router weights (not consumed).
 * @param x `[T, d]` token representations, consumed.
 * @returns the routing record.
 */
export function applyRouter(params: RouterParams, x: np.Array, cfg: RouterConfig, opts: RouteOptions): Routing {
  const logits = np.matmul(x, params.w.ref); // [T, N]
  const probs = nn.softmax(logits.div(cfg.temperature), -1); // [T, N]
  let scores = probs.ref;
  if (opts.train && cfg.noise > 0) {
    if (!opts.key) throw new Error("applyRouter: training with noise needs a PRNG key");
    scores = scores.add(random.normal(opts.key, probs.shape).mul(cfg.noise));
  } else {
    opts.key?.dispose();
  }
  scores = lax.stopGradient(scores);
  const mask = cfg.kind === "percentile" ? percentileSelect(scores, cfg.tau) : topkSelect(scores, cfg.k); // [T, N]
  const weights = combineWeights(probs.ref, mask.ref, cfg.renormalize);
  const active = mask.ref.sum(-1); // [T]
  return { mask, weights, probs, active, auxLoss: np.zeros([]) };
}
