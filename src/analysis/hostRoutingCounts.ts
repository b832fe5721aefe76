/**
 * `routingCounts` (`routingStats.ts`) on the host, for the native engine's evaluation: one layer's
 * sums over T tokens from its host routing (`moe/hostRouter.ts`) after the experts ran, so that the
 * counts describe what was computed, as the jax-js record after `moeLayer.ts`'s `capRouting` does:
 *
 *   kept_ti   the pairs the layer ran (a numeric dispatch capacity's overflow removed);
 *   probs     the record's gates over the N real experts: the softmax itself, or each token's gates
 *             normalised over the token (ReLU and sigmoid gates; a softmax over real and null experts
 *             restricted to the real ones), a zero row where all are 0 (`router.ts`);
 *   dropped_t the rule's own drops (`HostRouting.dropped`) plus the selections past the dispatch capacity.
 *
 * Arithmetic in float32 where the jax-js form's result depends on it (the normalised gates); sums in
 * float64 (the jax-js form sums in float32, so the two agree to float32 rounding on the gate mass and
 * the entropy, and exactly on every count).
 */
import type { HostRouting } from "../moe/hostRouter.js";
import { ruleOf, type RouterConfig } from "../moe/routers/registry.js";
import type { RoutingCounts } from "./routingStats.js";

const f = Math.fround;

/**
 * The counts of one layer.
 * @param r the layer's routing over `t` tokens (its pairs, mask and gates as `hostRoute` left them).
 * @param n the real experts N (the routing's width may add null experts).
 * @param cfg the layer's router.
 * @param classOf `[≥ t]` each token's class in `[0, classes)`.
 * @param active `[≥ t]` written, when given: each token's experts run (`Routing.active`).
 */
export function hostRoutingCounts(
  r: HostRouting, t: number, n: number, cfg: RouterConfig, classOf: ArrayLike<number>, classes: number, active?: Float32Array,
): RoutingCounts {
  const w = r.width;
  const normalise = (ruleOf(cfg.kind).gate ?? "softmax") !== "softmax" || w > n;
  const kept = new Uint8Array(t * n);
  for (let e = 0; e < n; e++) for (let p = r.offsets[e]; p < r.offsets[e + 1]; p++) kept[r.tokens[p] * n + e] = 1;
  const c: RoutingCounts = {
    tokens: t,
    kHist: new Array<number>(n + 1).fill(0),
    expertTokens: new Array<number>(n).fill(0),
    gateMass: new Array<number>(n).fill(0),
    entropy: 0,
    droppedAssignments: 0,
    droppedTokens: 0,
    coactivation: new Array<number>(n * n).fill(0),
    classUsage: new Array<number>(classes * n).fill(0),
    classTokens: new Array<number>(classes).fill(0),
  };
  const row: number[] = [];
  for (let tok = 0; tok < t; tok++) {
    const at = tok * w;
    let total = 1;
    if (normalise) {
      let s = 0;
      for (let i = 0; i < n; i++) s = f(s + r.probs[at + i]);
      total = s > 0 ? s : 1;
    }
    row.length = 0;
    let selected = 0;
    for (let i = 0; i < n; i++) {
      const g = normalise ? f(r.probs[at + i] / total) : r.probs[at + i];
      c.gateMass[i] += g;
      c.entropy -= g * Math.log(Math.max(g, 1e-30));
      selected += r.mask[at + i];
      if (kept[tok * n + i]) row.push(i);
    }
    const k = row.length;
    c.kHist[k] += 1;
    if (active) active[tok] = k;
    const dropped = r.dropped[tok] + selected - k;
    c.droppedAssignments += dropped;
    if (dropped > 0) c.droppedTokens += 1;
    const cls = classOf[tok];
    c.classTokens[cls] += 1;
    for (const i of row) {
      c.expertTokens[i] += 1;
      c.classUsage[cls * n + i] += 1;
      for (const j of row) c.coactivation[i * n + j] += 1;
    }
  }
  return c;
}
