/**
 * The router on plain arrays, forward and backward, for the native engine: the pipeline of
 * `router.ts` around each rule's host form (`RoutingRule.host`), for one layer of T tokens and N
 * experts.
 *
 *   g = softmax(z) (or ReLU(z) for ReLU-gated rules, `routers/remoe.ts`, with its L1 term), z = x W_r / T;  g̃ = g + σ ε (noisy rules, training);  S = rule(g̃ + b) (b the
 *   balancing bias, where the router has one, else 0);
 *   weights: renormalised w_i = b_i / Σ_{j∈S} b_j (i ∈ S), b = g (`gates`) or exp(g)
 *   (`softmax-of-gates`), w = 1 exactly when |S| = 1; or raw w_i = g_i (i ∈ S);
 *   auxiliary losses: `balanceCoef · N · Σ_i f_i P_i` (f_i the share of tokens whose top choice is i,
 *   before capacity; P_i the mean gate), `zLossCoef · mean_t logsumexp(z_t)²` and
 *   `entropyCoef · mean_t H(g_t)`, `H = −Σ_i g_i log g_i` (its gradient `−g_j (log g_j + H)` per row).
 *
 * Selection carries no gradient; the gradient reaches z through the weights and the auxiliary losses
 * alone. Float32 rounding follows the jax-js code where selection depends on it (each rule's host
 * form says how), so both forms pick the same experts except on exact near-ties
 * (`test/moe/routers/consistency.test.ts` holds each rule's two forms together).
 */
import { nullBalanceShares } from "./routers/adamoe.js";
import { argmaxRow } from "./routers/hostRows.js";
import { ruleOf } from "./routers/registry.js";
import type { RoutingRule } from "./routers/rule.js";
import type { RouterConfig } from "./routers/registry.js";

const f = Math.fround;

/** The auxiliary losses the driver computes, forward and backward. */
const HOST_LOSSES: ReadonlySet<string> = new Set(["balance", "z", "entropy", "l1", "nullBalance"]);

/** The rule of `cfg`, checked to have a host form the driver can run. */
export function hostRule(cfg: RouterConfig): RoutingRule & { host: NonNullable<RoutingRule["host"]> } {
  const rule = ruleOf(cfg.kind);
  if (!rule.host) throw new Error(`router ${cfg.kind} has no host form`);
  for (const loss of rule.losses) if (!HOST_LOSSES.has(loss)) throw new Error(`router ${cfg.kind}: the host driver has no ${loss} loss`);
  return rule as RoutingRule & { host: NonNullable<RoutingRule["host"]> };
}

/**
 * One layer's routing, written into caller-owned arrays (pairs grouped by expert, tokens ascending).
 * `[T, W]` arrays have one column per router output: the N real experts, then any null experts.
 */
export type HostRouting = {
  /** W, the router's outputs (N, or N + null experts). */
  width: number;
  /** `[T, N]` gates g. */
  probs: Float32Array;
  /** `[T, N]` 1 where expert i serves token t. */
  mask: Uint8Array;
  /** `[T, N]` combine weights (0 off the selected set). */
  weights: Float32Array;
  /** `[N + 1]` expert e's pairs are `[offsets[e], offsets[e+1])`. */
  offsets: Int32Array;
  /** `[≥ T·N]` token of each pair. */
  tokens: Int32Array;
  /** `[≥ T·N]` combine weight of each pair. */
  pairWeights: Float32Array;
  /** `[W]` the balancing loss's f_i: share of tokens whose top choice is i (before capacity), or for `nullBalance` that selected i, null experts averaged. */
  fraction: Float64Array;
  /** `[T]` logsumexp(z_t), for the z-loss. */
  lse: Float64Array;
  /** `[T]` gate entropy H(g_t), for the entropy loss. */
  entropy: Float64Array;
  /** ReLU-gated rules' L1 term: its coefficient λ·f_i/T per expert (`routers/remoe.ts`), for the backward pass. */
  l1Grad: Float64Array;
  /** `[W]` the thresholds σ(θ_i) of rules that train them (`routers/topAny.ts`). */
  threshold: Float32Array;
  /** `[T, W]` 1 where a token's score passed its expert's threshold (the straight-through gradient's support). */
  passing: Uint8Array;
  /** `[T]` the assignments each token lost to the rule's capacity (`HostSelectInput.dropped`; a numeric dispatch capacity's are not in it). */
  dropped: Float32Array;
  /** Scratch, reused every step: noisy scores, ∂L/∂w and a copy of z `[T, N]`, per-row and per-expert work arrays. */
  scratch: {
    scores: Float32Array; dw: Float32Array; z: Float32Array; sorted: Float32Array; order: number[]; dp: Float64Array; taken: Int32Array;
    meanProb: Float64Array; all: Float32Array; rows: Int32Array;
  };
};

/**
 * Arrays for one layer of T tokens over N experts; `width` W ≥ N is the router's output count (`routerWidth`:
 * N + null experts for `adamoe`), the row stride of every `[T, ·]` array.
 */
export function allocHostRouting(t: number, n: number, tokens: Int32Array, pairWeights: Float32Array, width = n): HostRouting {
  const w = width;
  return {
    width: w,
    probs: new Float32Array(t * w),
    mask: new Uint8Array(t * w),
    weights: new Float32Array(t * w),
    offsets: new Int32Array(n + 1),
    tokens,
    pairWeights,
    fraction: new Float64Array(w),
    lse: new Float64Array(t),
    entropy: new Float64Array(t),
    l1Grad: new Float64Array(w),
    threshold: new Float32Array(w),
    passing: new Uint8Array(t * w),
    dropped: new Float32Array(t),
    scratch: {
      scores: new Float32Array(t * w), dw: new Float32Array(t * w), z: new Float32Array(t * w), sorted: new Float32Array(w), order: new Array<number>(w).fill(0),
      dp: new Float64Array(w), taken: new Int32Array(w), meanProb: new Float64Array(w), all: new Float32Array(t * w), rows: new Int32Array(t),
    },
  };
}

/** Softmax of row `at` of z into probs (f64 arithmetic, each exponential kept in `e`); returns logsumexp. */
function softmaxRow(z: Float32Array, at: number, n: number, probs: Float32Array, e: Float64Array): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, z[at + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += e[i] = Math.exp(z[at + i] - m);
  for (let i = 0; i < n; i++) probs[at + i] = e[i] / sum;
  return m + Math.log(sum);
}

/** What a layer's routing takes beyond its logits and noise; each absent one is off. */
export type HostRouteOptions = {
  /** Slots per expert for rules with a capacity (`routerCapacity`). @default T */
  capacity?: number;
  /** `[T]` the rule's own draws in training (`ownDraw`, e.g. GShard's second expert). */
  uniform?: Float32Array | null;
  /**
   * A numeric dispatch capacity's slots per expert (`moeLayer.ts`'s `capRouting`): each expert keeps
   * its first so many pairs in token order, the rest are dropped (no output, no gradient; the kept
   * weights are not renormalised). @default T
   */
  dispatchCap?: number;
  /** `[N]` the balancing bias added to the selection scores (`balanceBias.ts`). */
  bias?: Float32Array | null;
  /** ReMoE's L1 coefficient λ (`routers/remoe.ts`); the rule's `l1Init` when absent. */
  l1?: number;
  /** `[N]` the trained threshold logits θ (`routers/topAny.ts`). */
  thresholds?: Float32Array | null;
};

/**
 * Route T tokens.
 * @param z `[T, W]` router logits `x W_r / T` (already divided by the temperature); n is the real experts N.
 * @param noise `[T, W]` σ·ε to add to the gates for selection, or null (evaluation, σ = 0, or a rule
 *   that does not select on noisy gates).
 * @returns the auxiliary loss, coefficients applied (0 for rules without one).
 */
export function hostRoute(cfg: RouterConfig, z: Float32Array, t: number, n: number, noise: Float32Array | null, out: HostRouting, opts: HostRouteOptions = {}): number {
  const rule = hostRule(cfg);
  const { capacity = t, uniform = null, dispatchCap = t, bias = null, thresholds = null } = opts;
  const gate = rule.gate ?? "softmax";
  const { probs, mask, weights, lse, width: w } = out;
  const scores = noise || bias ? out.scratch.scores : probs;
  if (rule.thresholds) {
    if (!thresholds) throw new Error(`router ${cfg.kind}: the host driver needs its thresholds θ`);
    for (let i = 0; i < w; i++) out.threshold[i] = f(1 / (1 + Math.exp(-thresholds[i])));
  }
  for (let r = 0; r < t; r++) {
    const at = r * w;
    if (gate === "relu") for (let i = 0; i < w; i++) probs[at + i] = Math.max(z[at + i], 0);
    else if (gate === "sigmoid") for (let i = 0; i < w; i++) probs[at + i] = 1 / (1 + Math.exp(-z[at + i]));
    else lse[r] = softmaxRow(z, at, w, probs, out.scratch.dp);
    if (noise) for (let i = 0; i < w; i++) scores[at + i] = f(probs[at + i] + noise[at + i]);
    else if (bias) scores.set(probs.subarray(at, at + w), at);
    if (bias) for (let i = 0; i < w; i++) scores[at + i] = f(scores[at + i] + bias[i]);
  }
  mask.fill(0);
  out.dropped.fill(0, 0, t);
  rule.host.select({ cfg, scores, t, n: w, capacity, mask, uniform, dropped: out.dropped, scratch: out.scratch, thresholds: rule.thresholds ? out.threshold : null });
  if (rule.thresholds) for (let r = 0; r < t; r++) for (let i = 0; i < w; i++) out.passing[r * w + i] = scores[r * w + i] > out.threshold[i] ? 1 : 0;
  // Weights over the real experts (i < N): null experts compute nothing and take no share.
  const gates = cfg.renormalize === "gates";
  for (let r = 0; r < t; r++) {
    const at = r * w;
    weights.fill(0, at + n, at + w);
    if (rule.weights === "ones") {
      for (let i = 0; i < n; i++) weights[at + i] = mask[at + i];
      continue;
    }
    if (rule.weights === "raw") {
      for (let i = 0; i < n; i++) weights[at + i] = mask[at + i] ? probs[at + i] : 0;
      continue;
    }
    // base_i = g_i or exp(g_i), over the selected experts (kept in `dp`).
    const base = out.scratch.dp;
    let count = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[at + i]) continue;
      count++;
      total += base[i] = gates ? probs[at + i] : Math.exp(probs[at + i]);
    }
    for (let i = 0; i < n; i++) weights[at + i] = !mask[at + i] ? 0 : count === 1 ? 1 : base[i] / total;
  }
  groupPairs(out, t, n, dispatchCap);
  let aux = 0;
  if (rule.losses.includes("balance") || rule.losses.includes("nullBalance")) {
    // W · Σ_i f_i P_i: f from each token's top choice (`balance`) or from every selection, the null
    // experts' averaged (`nullBalance`, `routers/adamoe.ts`); P_i the mean gate.
    const { fraction } = out;
    const { meanProb } = out.scratch;
    fraction.fill(0);
    meanProb.fill(0);
    const top1 = rule.losses.includes("balance");
    for (let r = 0; r < t; r++) {
      const at = r * w;
      if (top1) fraction[argmaxRow(scores, at, w)] += 1 / t;
      else for (let i = 0; i < w; i++) fraction[i] += mask[at + i];
      for (let i = 0; i < w; i++) meanProb[i] += probs[at + i] / t;
    }
    if (!top1) fraction.set(nullBalanceShares(fraction, n, t));
    let balance = 0;
    for (let i = 0; i < w; i++) balance += fraction[i] * meanProb[i];
    aux += cfg.balanceCoef * w * balance;
  }
  if (rule.losses.includes("z")) {
    let zSq = 0;
    for (let r = 0; r < t; r++) zSq += lse[r] * lse[r];
    aux += cfg.zLossCoef * (zSq / t);
  }
  if (rule.losses.includes("entropy")) {
    // log g = z − logsumexp(z), never log 0; z is kept for the backward pass.
    out.scratch.z.set(z.subarray(0, t * w));
    let total = 0;
    for (let r = 0; r < t; r++) {
      const at = r * w;
      let h = 0;
      for (let i = 0; i < w; i++) h -= probs[at + i] * (z[at + i] - lse[r]);
      out.entropy[r] = h;
      total += h;
    }
    aux += cfg.entropyCoef * (total / t);
  }
  if (rule.losses.includes("l1")) {
    // λ · (1/T) Σ_t Σ_i f_i R_ti with f_i = N/(k·T) · (tokens using i), f constant in the gradient.
    const lambda = opts.l1 ?? cfg.l1Init;
    const count = out.scratch.dp;
    count.fill(0);
    for (let r = 0; r < t; r++) for (let i = 0; i < w; i++) count[i] += mask[r * w + i];
    let reg = 0;
    for (let i = 0; i < w; i++) {
      const fi = Math.fround((count[i] * w) / (cfg.k * t));
      let col = 0;
      for (let r = 0; r < t; r++) col += probs[r * w + i];
      reg += fi * col;
      out.l1Grad[i] = (Math.fround(lambda) * fi) / t;
    }
    aux += Math.fround(lambda) * (reg / t);
  }
  return aux;
}

/** The selected (token, expert) pairs grouped by expert, tokens ascending, at most `cap` per expert. */
function groupPairs(out: HostRouting, t: number, n: number, cap: number): void {
  const { mask, weights, offsets, tokens, pairWeights, width: w } = out;
  offsets[0] = 0;
  let p = 0;
  for (let e = 0; e < n; e++) {
    for (let r = 0; r < t && p - offsets[e] < cap; r++) {
      if (mask[r * w + e]) {
        tokens[p] = r;
        pairWeights[p] = weights[r * w + e];
        p++;
      }
    }
    offsets[e + 1] = p;
  }
}

/**
 * The gradient of the loss with respect to the logits z, from the gradient of each pair's weight
 * and the auxiliary losses.
 * @param dPair `[P]` ∂L/∂w of each pair, in `routing`'s pair order.
 * @param dz `[T, W]` written: ∂L/∂z (the caller divides by the temperature for ∂L/∂(x W_r)).
 * @param dThresholds `[N]` written for rules with thresholds (`top-any`): ∂L/∂θ.
 */
export function hostRouteBackward(
  cfg: RouterConfig, routing: HostRouting, t: number, n: number, dPair: Float32Array, dz: Float32Array, dThresholds: Float32Array | null = null,
): void {
  const rule = hostRule(cfg);
  const { probs, mask, weights, offsets, fraction, lse, width: w } = routing;
  const { dw, dp } = routing.scratch;
  const balance = rule.losses.includes("balance") || rule.losses.includes("nullBalance");
  const zLoss = rule.losses.includes("z");
  const entropyLoss = rule.losses.includes("entropy");
  const z = routing.scratch.z;
  const gates = cfg.renormalize === "gates";
  dw.fill(0, 0, t * w);
  for (let e = 0; e < n; e++) for (let p = offsets[e]; p < offsets[e + 1]; p++) dw[routing.tokens[p] * w + e] = dPair[p];
  if (rule.gate === "sigmoid") {
    // w_i = 1 with the straight-through gradient of ReLU(s_i − σ(θ_i)): where s_i > σ(θ_i),
    // ∂L/∂z_i = ∂L/∂w_i · s_i (1 − s_i) and ∂L/∂θ_i gets −∂L/∂w_i · σ(θ_i)(1 − σ(θ_i)); else 0.
    const th = routing.threshold;
    dThresholds?.fill(0, 0, n);
    for (let r = 0; r < t; r++) {
      const at = r * w;
      for (let i = 0; i < w; i++) {
        const s = probs[at + i];
        const active = routing.passing[at + i] === 1;
        dz[at + i] = active ? dw[at + i] * s * (1 - s) : 0;
        if (active && dThresholds) dThresholds[i] -= dw[at + i] * th[i] * (1 - th[i]);
      }
    }
    return;
  }
  if (rule.gate === "relu") {
    // w = R where R > 0 and the L1 term λ f_i R_ti / T: ∂L/∂z = (∂L/∂w + λ f_i / T) where z > 0, else 0.
    const l1 = rule.losses.includes("l1");
    for (let r = 0; r < t; r++) {
      const at = r * w;
      for (let i = 0; i < w; i++) dz[at + i] = probs[at + i] > 0 ? dw[at + i] + (l1 ? routing.l1Grad[i] : 0) : 0;
    }
    return;
  }
  for (let r = 0; r < t; r++) {
    const at = r * w;
    // dp_i = ∂L/∂g_i, through the real experts' weights, then the balancing term's balanceCoef · W · f_i / T.
    dp.fill(0);
    if (rule.weights === "raw") {
      for (let i = 0; i < n; i++) dp[i] = dw[at + i];
    } else {
      // Through b_i = g_i (or exp g_i) in w = b / Σ b; a single expert's weight is the constant 1.
      let count = 0;
      let total = 0;
      let wdw = 0;
      for (let i = 0; i < n; i++) {
        if (!mask[at + i]) continue;
        count++;
        total += gates ? probs[at + i] : Math.exp(probs[at + i]);
        wdw += weights[at + i] * dw[at + i];
      }
      if (count > 1) {
        for (let i = 0; i < n; i++) {
          if (!mask[at + i]) continue;
          const db = (dw[at + i] - wdw) / total;
          dp[i] = gates ? db : db * Math.exp(probs[at + i]);
        }
      }
    }
    if (balance) for (let i = 0; i < w; i++) dp[i] += (cfg.balanceCoef * w * fraction[i]) / t;
    // Softmax's backward, plus the z-loss's zLossCoef · 2 lse_t · g_i / T directly on z.
    let q = 0;
    for (let i = 0; i < w; i++) q += probs[at + i] * dp[i];
    const zs = zLoss ? (cfg.zLossCoef * 2 * lse[r]) / t : 0;
    for (let i = 0; i < w; i++) dz[at + i] = zLoss ? probs[at + i] * (dp[i] - q) + zs * probs[at + i] : probs[at + i] * (dp[i] - q);
    if (entropyLoss) {
      const c = cfg.entropyCoef / t, h = routing.entropy[r];
      for (let i = 0; i < w; i++) dz[at + i] -= c * probs[at + i] * (z[at + i] - routing.lse[r] + h);
    }
  }
}
