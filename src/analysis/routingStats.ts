/**
 * Routing analytics of spec §7, per MoE layer: the histogram of experts active per token, expert
 * load, load imbalance, router entropy, dropped tokens, active parameters and FLOPs per token,
 * expert co-activation and expert usage per class.
 *
 * Two halves. `routingCounts` runs inside the jitted evaluation pass with static shapes and returns
 * one packed `[routingCountsSize(N, C)]` vector of sums over the batch; the host unpacks it
 * (`unpackRoutingCounts`), adds batches (`addRoutingCounts`) and turns the sums into rates
 * (`routingStatsFromCounts`). Sums, not means, so that batches of different sizes add exactly.
 */
import { ffnFlopsPerToken, moeLayerFlopsPerToken } from "./flops.js";
import { nn, numpy as np } from "../engine/jax.js";
import type { Routing } from "../moe/routing.js";

/** Sums over a set of tokens for one layer of N experts and C classes (plain numbers). */
export type RoutingCounts = {
  /** Tokens counted. */
  tokens: number;
  /** `[N + 1]` tokens with k experts active, k = 0..N. */
  kHist: number[];
  /** `[N]` tokens routed to each expert: `Σ_t mask_ti`. */
  expertTokens: number[];
  /** `[N]` router probability mass on each expert: `Σ_t g_ti`. */
  gateMass: number[];
  /** `Σ_t −Σ_i g_ti log g_ti` (natural log). */
  entropy: number;
  /** Dropped assignments `Σ_t dropped_t` (0 for routers without a capacity). */
  droppedAssignments: number;
  /** Tokens with at least one dropped assignment. */
  droppedTokens: number;
  /** `[N, N]` row-major co-activation counts `maskᵀ mask`: entry (i, j) counts tokens using both i and j. */
  coactivation: number[];
  /** `[C, N]` row-major `onehot(y)ᵀ mask`: tokens of class c routed to expert i. */
  classUsage: number[];
  /** `[C]` tokens of each class. */
  classTokens: number[];
};

/** Analytics of one layer over an evaluation set (plain JSON-able numbers). */
export type LayerRoutingStats = {
  experts: number;
  tokens: number;
  /** `[N + 1]` tokens with k = 0..N experts active. */
  kHist: number[];
  /** Mean experts active per token `Σ_k k · kHist_k / tokens`. */
  meanActive: number;
  /** `[N]` fraction of tokens routed to each expert `f_i = Σ_t mask_ti / T` (sums to `meanActive`). */
  load: number[];
  /** `[N]` fraction of router probability mass on each expert `P_i = Σ_t g_ti / T` (sums to 1). */
  gateShare: number[];
  /** `max_i f_i / mean_i f_i` (1 when balanced; 0 when no token is routed). */
  imbalanceMaxMean: number;
  /** Coefficient of variation of the load, `std_i f_i / mean_i f_i` (population std; 0 when balanced). */
  imbalanceCv: number;
  /** Mean router entropy `mean_t −Σ_i g_ti log g_ti`, in nats (at most `log N`). */
  entropy: number;
  /** Dropped assignments per token `Σ_t dropped_t / T` (0 for routers without a capacity). */
  dropRate: number;
  /** Tokens with at least one dropped assignment. */
  droppedTokens: number;
  /** Tokens that no expert processed (`kHist[0]`). */
  noExpertTokens: number;
  /**
   * Parameters touched per token: `d·N` (router) `+ meanActive · (2·d·h + h + d)` (expert: two
   * Linears with biases).
   */
  activeParams: number;
  /** Multiply-add FLOPs per token: `2·d·W` (router, W its outputs: N, or N + null experts) `+ meanActive · 2·(d·h + h·d)` (experts). */
  flopsPerToken: number;
  /** `[N, N]` row-major co-activation counts `maskᵀ mask` (diagonal: tokens per expert). */
  coactivation: number[];
  /** `[C, N]` row-major tokens of class c routed to expert i, `onehot(y)ᵀ mask`. */
  classUsage: number[];
  /** `[C]` tokens of each class (divide `classUsage` rows by it for the fraction of a class per expert). */
  classTokens: number[];
};

/** Length of the packed vector `routingCounts` returns for N experts and C classes. */
export function routingCountsSize(n: number, classes: number): number {
  return 1 + (n + 1) + n + n + 3 + n * n + classes * n + classes;
}

/**
 * Sums of one layer's routing over a batch, packed into one `[routingCountsSize(N, C)]` vector:
 * `[tokens, kHist (N+1), expertTokens (N), gateMass (N), entropy, droppedAssignments, droppedTokens,
 * coactivation (N·N), classUsage (C·N), classTokens (C)]`. Static shapes, so it runs under `jit`.
 *
 * Consumes nothing: it takes `.ref`s of the routing's `mask`, `probs`, `active`, `dropped` and of `y`.
 * @param r a routing record over T tokens and N experts.
 * @param y `[T]` int32 class labels.
 * @param classes number of classes C.
 */
export function routingCounts(r: Routing, y: np.Array, classes: number): np.Array {
  const [t, n] = r.mask.shape;
  const mask = r.mask.ref; // [T, N]
  const kHist = nn.oneHot(r.active.ref.astype(np.int32), n + 1).astype(np.float32).sum(0); // [N + 1]
  const expertTokens = mask.ref.sum(0); // [N]
  const gateMass = r.probs.ref.sum(0); // [N]
  // g log g with 0 log 0 = 0: the clamp only matters where g = 0, where the product is 0 anyway.
  const p = r.probs.ref; // [T, N]
  const entropy = p.ref.mul(np.log(np.maximum(p, 1e-30))).sum().neg(); // []
  const dropped = r.dropped ? r.dropped.ref : np.zeros([t]); // [T]
  const droppedAssignments = dropped.ref.sum();
  const droppedTokens = dropped.greater(0).astype(np.float32).sum();
  const coactivation = np.matmul(mask.ref.transpose(), mask.ref); // [N, N]
  const onehot = nn.oneHot(y.ref, classes).astype(np.float32); // [T, C]
  const classTokens = onehot.ref.sum(0); // [C]
  const classUsage = np.matmul(onehot.transpose(), mask); // [C, N]
  return np.concatenate([
    np.array([t], { dtype: np.float32 }),
    kHist,
    expertTokens,
    gateMass,
    entropy.reshape([1]),
    droppedAssignments.reshape([1]),
    droppedTokens.reshape([1]),
    coactivation.reshape([n * n]),
    classUsage.reshape([classes * n]),
    classTokens,
  ]);
}

/** Unpack `routingCounts`' vector (a plain array, or a slice of a longer one). */
export function unpackRoutingCounts(v: ArrayLike<number>, n: number, classes: number): RoutingCounts {
  const a = Array.from(v);
  let at = 0;
  const take = (len: number) => a.slice(at, (at += len));
  const tokens = take(1)[0];
  const kHist = take(n + 1);
  const expertTokens = take(n);
  const gateMass = take(n);
  const [entropy, droppedAssignments, droppedTokens] = take(3);
  const coactivation = take(n * n);
  const classUsage = take(classes * n);
  const classTokens = take(classes);
  return { tokens, kHist, expertTokens, gateMass, entropy, droppedAssignments, droppedTokens, coactivation, classUsage, classTokens };
}

/** Elementwise sum of two layers' counts (same N and C). */
export function addRoutingCounts(a: RoutingCounts, b: RoutingCounts): RoutingCounts {
  const add = (x: number[], y: number[]) => x.map((v, i) => v + y[i]);
  return {
    tokens: a.tokens + b.tokens,
    kHist: add(a.kHist, b.kHist),
    expertTokens: add(a.expertTokens, b.expertTokens),
    gateMass: add(a.gateMass, b.gateMass),
    entropy: a.entropy + b.entropy,
    droppedAssignments: a.droppedAssignments + b.droppedAssignments,
    droppedTokens: a.droppedTokens + b.droppedTokens,
    coactivation: add(a.coactivation, b.coactivation),
    classUsage: add(a.classUsage, b.classUsage),
    classTokens: add(a.classTokens, b.classTokens),
  };
}

/** `max/mean` and `std/mean` (population std) of a load vector; both 0 when the mean is 0. */
export function imbalance(load: number[]): { maxMean: number; cv: number } {
  const mean = load.reduce((s, v) => s + v, 0) / load.length;
  if (!(mean > 0)) return { maxMean: 0, cv: 0 };
  const variance = load.reduce((s, v) => s + (v - mean) ** 2, 0) / load.length;
  return { maxMean: Math.max(...load) / mean, cv: Math.sqrt(variance) / mean };
}

/**
 * Rates from summed counts, for a layer of width d and expert hidden size h.
 *
 * `flopsPerToken = 2·d·W + meanActive · 2·(d·h + h·d)` (`moeLayerFlopsPerToken`; a multiply-add
 * counts 2; biases, GELU and the combine are left out); `activeParams = d·W + meanActive · (2·d·h + h + d)`,
 * W the router's outputs (`routerOutputs`: N, or N + null experts), N by default; shared experts
 * (`sharedHidden` S·h, always on) add one FFN of that hidden size to both.
 */
export function routingStatsFromCounts(c: RoutingCounts, dims: { d: number; h: number; routerOutputs?: number; sharedHidden?: number }): LayerRoutingStats {
  const n = c.expertTokens.length;
  const tokens = c.tokens;
  const per = (v: number) => (tokens > 0 ? v / tokens : 0);
  const round = (v: number) => Math.round(v); // counts are exact integers in float32 up to 2^24
  const meanActive = per(c.kHist.reduce((s, v, k) => s + k * v, 0));
  const load = c.expertTokens.map(per);
  const { maxMean, cv } = imbalance(load);
  const { d, h } = dims;
  const w = dims.routerOutputs ?? n;
  const hs = dims.sharedHidden ?? 0;
  return {
    experts: n,
    tokens,
    kHist: c.kHist.map(round),
    meanActive,
    load,
    gateShare: c.gateMass.map(per),
    imbalanceMaxMean: maxMean,
    imbalanceCv: cv,
    entropy: per(c.entropy),
    dropRate: per(c.droppedAssignments),
    droppedTokens: round(c.droppedTokens),
    noExpertTokens: round(c.kHist[0]),
    activeParams: d * w + meanActive * (2 * d * h + h + d) + (hs > 0 ? 2 * d * hs + hs + d : 0),
    flopsPerToken: moeLayerFlopsPerToken(d, h, w, meanActive) + (hs > 0 ? ffnFlopsPerToken(d, hs) : 0),
    coactivation: c.coactivation.map(round),
    classUsage: c.classUsage.map(round),
    classTokens: c.classTokens.map(round),
  };
}
