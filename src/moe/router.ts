/**
 * The router: a bias-free linear layer, gates `g = softmax(W_r x / T)` (or `ReLU(W_r x / T)` for
 * ReLU-gated rules), training noise, a selection
 * rule and combine weights. Every rule (`routers/`) returns the same `Routing` record.
 *
 * Selection never carries a gradient: rules select on `lax.stopGradient` scores and use sorts and
 * top-k for indices only, so gradients reach the router through the gates in the combine weights
 * and through the auxiliary losses alone (gathers of differentiable values give wrong gradients
 * under jit in jax-js 0.1.25: docs/jax-js-notes.md). A balancing bias (`balanceBias.ts`) shifts the
 * selection scores and nothing else.
 */
import { lax, nn, numpy as np, random } from "../engine/jax.js";
import { routerDrawKeys } from "./drawSchedule.js";
import { reluGates } from "./reluGates.js";
import { routerWidth, ruleOf } from "./routers/registry.js";
import type { RouterConfig } from "./routers/registry.js";
import type { RouteOptions, Routing } from "./routing.js";
import { initRouterState, type RouterState } from "./routerState.js";

export { combineWeights } from "./combineWeights.js";

/**
 * `w` `[d, N]`: the router weights (no bias in the logits); and the router's state, where it has one
 * (`routerState.ts`): `bias` `[N]` added to the selection scores only, ReMoE's `l1` `[1]`.
 */
export type RouterParams = {
  w: np.Array;
  /** `[N]` trained threshold logits θ, for rules that have them (`top-any`). */
  thresholds?: np.Array;
} & RouterState;

/** Router weights ~ N(0, 1/d) (LeCun normal), and the router's starting state (`initRouterState`). */
export function initRouter(key: np.Array, d: number, experts: number, cfg?: RouterConfig): RouterParams {
  const w = random.normal(key, [d, cfg ? routerWidth(experts, cfg) : experts]).mul(1 / Math.sqrt(d)); // [d, W]
  const thresholds = cfg && ruleOf(cfg.kind).thresholds ? { thresholds: np.zeros([experts]) } : {};
  return { w, ...thresholds, ...(cfg ? initRouterState(cfg, experts) : {}) };
}

/** Each token's gates normalised over the token (a zero row where all are 0), for the analytics: ReLU or sigmoid gates, or the real experts' share of a softmax. `[T, N]`, consumed. */
function normaliseRows(gates: np.Array): np.Array {
  const total = gates.ref.sum(-1, { keepdims: true }); // [T, 1]
  return gates.div(np.where(total.ref.greater(0), total, 1));
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
  const gate = ruleOf(cfg.kind).gate ?? "softmax";
  const gates = gate === "relu" ? reluGates(logits.ref) : gate === "sigmoid" ? nn.sigmoid(logits.ref) : nn.softmax(logits.ref, -1); // [T, W]
  let scores = gates.ref;
  if (keys.noise) scores = scores.add(random.normal(keys.noise, gates.shape).mul(cfg.noise));
  scores = lax.stopGradient(scores);
  if (params.bias) scores = scores.add(lax.stopGradient(params.bias.ref)); // selection only
  const width = params.w.shape[1];
  const experts = opts.experts ?? width;
  const rule = ruleOf(cfg.kind).route({ logits, probs: gates, scores, cfg, train: opts.train, key: keys.rule, l1: params.l1, experts, thresholds: params.thresholds });
  logits.dispose();
  scores.dispose();
  const active = rule.mask.ref.sum(-1); // [T], real experts only
  // The record's probs are over the real experts: null experts' gates are dropped and the rest renormalised, as ReLU gates are.
  const probs = experts < width ? normaliseRows(gates.slice([], [0, experts])) : gate !== "softmax" ? normaliseRows(gates) : gates; // [T, N]
  return { ...rule, probs, active };
}
