/**
 * The router: a bias-free linear layer, gates `g = softmax(W_r x / T)`, training noise, a selection
 * rule and combine weights. Every rule returns the same `Routing` record.
 *
 * Selection never carries a gradient: rules select on `lax.stopGradient` scores and use sorts and
 * top-k for indices only, so gradients reach the router through the gates in the combine weights
 * and through the auxiliary losses alone (gathers of differentiable values give wrong gradients
 * under jit in jax-js 0.1.25: docs/jax-js-notes.md).
 */
import { lax, nn, numpy as np, random } from "../engine/jax.js";
import { splitKey } from "../models/linear.js";
import { batchPercentileSelect } from "./batchPercentileRouter.js";
import { combineWeights } from "./combineWeights.js";
import { expertChoiceRoute } from "./expertChoiceRouter.js";
import { gshardRoute } from "./gshardRouter.js";
import { percentileSelect } from "./percentileRouter.js";
import type { RouteOptions, RouterConfig, RouterKind, Routing, RuleInput, RuleOutput } from "./routing.js";
import { switchRoute } from "./switchRouter.js";
import { thresholdSelect } from "./thresholdRouter.js";
import { topkSelect } from "./topkRouter.js";
import { topPRoute } from "./topPRouter.js";

export { combineWeights } from "./combineWeights.js";

export type RouterParams = {
  /** `[d, N]` router weights (no bias). */
  w: np.Array;
};

/** Router weights ~ N(0, 1/d) (LeCun normal). */
export function initRouter(key: np.Array, d: number, experts: number): RouterParams {
  return { w: random.normal(key, [d, experts]).mul(1 / Math.sqrt(d)) };
}

/** The rules that select on the noisy gates g̃ (spec §2.1 step 3); the others follow their papers. */
const NOISY_KINDS: ReadonlySet<RouterKind> = new Set(["percentile", "topk", "top-p", "threshold", "batch-percentile"]);

/** A rule that only selects: the weights are the renormalised gates of the selected set. */
function renormalised(inp: RuleInput, mask: np.Array): RuleOutput {
  inp.key?.dispose();
  const weights = combineWeights(inp.probs.ref, mask.ref, inp.cfg.renormalize);
  return { mask, weights, auxLoss: np.zeros([]) };
}

function applyRule(inp: RuleInput): RuleOutput {
  const { cfg } = inp;
  switch (cfg.kind) {
    case "percentile":
      return renormalised(inp, percentileSelect(inp.scores.ref, cfg.tau));
    case "topk":
      return renormalised(inp, topkSelect(inp.scores.ref, cfg.k));
    case "threshold":
      return renormalised(inp, thresholdSelect(inp.scores.ref, cfg.threshold));
    case "batch-percentile":
      return renormalised(inp, batchPercentileSelect(inp.scores.ref, cfg.tau));
    case "top-p":
      return topPRoute(inp);
    case "switch":
      return switchRoute(inp);
    case "gshard":
      return gshardRoute(inp);
    case "expert-choice":
      return expertChoiceRoute(inp);
    default: {
      const never: never = cfg.kind;
      throw new Error(`unknown router kind ${String(never)}`);
    }
  }
}

/** The random draws a routing call needs, each with its own key (the key itself when there is one draw). */
function drawKeys(cfg: RouterConfig, experts: number, opts: RouteOptions) {
  const wants = {
    jitter: opts.train && cfg.jitter > 0,
    noise: opts.train && cfg.noise > 0 && NOISY_KINDS.has(cfg.kind),
    rule: opts.train && cfg.kind === "gshard" && experts >= 2,
  };
  const names = (Object.keys(wants) as (keyof typeof wants)[]).filter((k) => wants[k]);
  const keys: Partial<Record<keyof typeof wants, np.Array>> = {};
  if (names.length === 0) {
    opts.key?.dispose();
    return keys;
  }
  if (!opts.key) throw new Error(`applyRouter: training with ${names.join(" and ")} needs a PRNG key`);
  // One draw uses the key itself, so runs from before jitter existed reproduce bit for bit.
  const split = names.length === 1 ? [opts.key] : splitKey(opts.key, names.length);
  names.forEach((name, i) => (keys[name] = split[i]));
  return keys;
}

/**
 * Route T tokens.
 * @param params router weights (not consumed).
 * @param x `[T, d]` token representations, consumed.
 * @returns the routing record.
 */
export function applyRouter(params: RouterParams, x: np.Array, cfg: RouterConfig, opts: RouteOptions): Routing {
  const keys = drawKeys(cfg, params.w.shape[1], opts);
  if (keys.jitter) x = x.mul(random.uniform(keys.jitter, x.shape, { minval: 1 - cfg.jitter, maxval: 1 + cfg.jitter }));
  const logits = np.matmul(x, params.w.ref).div(cfg.temperature); // [T, N] softmax input h / T
  const probs = nn.softmax(logits.ref, -1); // [T, N]
  let scores = probs.ref;
  if (keys.noise) scores = scores.add(random.normal(keys.noise, probs.shape).mul(cfg.noise));
  scores = lax.stopGradient(scores);
  const rule = applyRule({ logits, probs, scores, cfg, train: opts.train, key: keys.rule });
  logits.dispose();
  scores.dispose();
  const active = rule.mask.ref.sum(-1); // [T]
  return { ...rule, probs, active };
}
