/**
 * Combine weights of the renormalising routers: the selected gates, renormalised over the selected set.
 */
import { numpy as np } from "../engine/jax.js";
import type { Renormalize, RuleInput, RuleOutput } from "./routing.js";

/**
 * Combine weights from the clean gates and a selection mask:
 * `w_i = g_i / Σ_{j∈S} g_j` (`gates`) or `w_i = exp(g_i) / Σ_{j∈S} exp(g_j)` (`softmax-of-gates`).
 *
 * A token with a single selected expert gets weight exactly 1 (not `g/g`, whose gradient is
 * rounding noise), so such a router's gradient is exactly zero, as the mathematics says. A token
 * with no selected expert (all-zero mask row) gets an all-zero row, with zero gradient: the
 * denominator is replaced by 1 where it is 0, so neither pass divides 0 by 0.
 * @param probs `[T, N]` consumed; `mask` `[T, N]` consumed.
 * @returns `[T, N]`, zero off the selected set, each row summing to 1 (0 for an empty row).
 */
export function combineWeights(probs: np.Array, mask: np.Array, renormalize: Renormalize): np.Array {
  const base = renormalize === "gates" ? probs : np.exp(probs);
  const kept = base.mul(mask.ref); // [T, N]
  const total = kept.ref.sum(-1, { keepdims: true }); // [T, 1]
  const safe = np.where(total.ref.greater(0), total, 1); // [T, 1], never 0
  const normalised = kept.div(safe);
  const single = mask.ref.sum(-1, { keepdims: true }).equal(1); // [T, 1]
  return np.where(single, mask, normalised);
}

/**
 * The route of a rule that only selects: the weights are the selected gates renormalised
 * (`cfg.renormalize`), no auxiliary loss. Consumes `mask` and the input's key, if any.
 */
export function renormalisedRoute(inp: RuleInput, mask: np.Array): RuleOutput {
  inp.key?.dispose();
  const weights = combineWeights(inp.probs.ref, mask.ref, inp.cfg.renormalize);
  return { mask, weights, auxLoss: np.zeros([]) };
}
