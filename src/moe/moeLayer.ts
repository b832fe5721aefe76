/**
 * The Mixture-of-Experts layer: a router picks experts per token, and the output is the weighted
 * sum of the selected experts' outputs, `y = Σ_{i∈S} w_i · E_i(x)`, with `E_i(x) = W2_i·GELU(W1_i x + b1_i) + b2_i`.
 *
 * Three computations of the same function (`dispatch`, planned statically by `dispatchPlan.ts`):
 * dense-masked, every expert runs on every token and unselected experts get weight zero (the
 * reference that sparse dispatch is tested against); gather, each expert runs only on its tokens in a
 * fixed-capacity buffer (`dispatch.ts`); grouped, the selected pairs sorted by expert into blocks
 * (`groupedDispatch.ts`). `auto` (the default) picks the cheapest by a measured rule.
 *
 * A numeric `capacity` (slots per expert `C = ⌈f·T/N⌉`) caps every expert's tokens in the routing
 * itself: assignments past an expert's C-th token (in token order) are dropped, their weights zeroed
 * and counted in `routing.dropped`, so the analytics show exactly what was computed, whatever the
 * dispatch mode. Dropped tokens pass through the residual.
 *
 * Reference: DynaMoE spec §2.1 step 7 and §2.3; Shazeer et al. 2017; Lepikhin et al. 2020.
 */
import { nn, numpy as np, random } from "../engine/jax.js";
import { splitKey } from "../engine/splitKey.js";
import { type DispatchCapacity, dispatchCapacity, dispatchExperts } from "./dispatch.js";
import { planDispatch, type DispatchMode, type DispatchPlan } from "./dispatchPlan.js";
import { dispatchGrouped } from "./groupedDispatch.js";
import { applyRouter, initRouter, type RouterParams } from "./router.js";
import type { RouterConfig } from "./routers/registry.js";
import type { RouteOptions, Routing } from "./routing.js";
import { keepWithinCapacity } from "./routers/switch.js";

/** Expert weights are stacked along a leading expert axis (one array per kind, not per expert). */
export type MoeLayerParams = {
  router: RouterParams;
  /** `[N, d, h]` */
  w1: np.Array;
  /** `[N, h]` */
  b1: np.Array;
  /** `[N, h, d]` */
  w2: np.Array;
  /** `[N, d]` */
  b2: np.Array;
};

export type MoeLayerConfig = {
  d: number;
  h: number;
  /** Number of experts N in this layer. */
  experts: number;
  router: RouterConfig;
  /**
   * `dense`: every expert on every token, masked. `gather`: each expert on its routed tokens only,
   * in capacity buffers (spec §2.3). `grouped`: the selected pairs sorted by expert into blocks of
   * `blockSize` rows, exact for any load at the cost of a static bound on the selected pairs.
   * `auto`: the cheapest of the three by the rule in `dispatchPlan.ts`. @default "auto"
   */
  dispatch?: DispatchMode;
  /** Grouped only: rows per block. @default 32 */
  blockSize?: number;
  /**
   * Slots per expert. `exact` never drops beyond what the router itself drops; a factor f caps every
   * expert at `C = min(T, max(1, ⌈f·T/N⌉))` tokens (see the file comment). @default "exact"
   */
  capacity?: DispatchCapacity;
  /** Gather only: the experts as a loop of N matmuls or one batched matmul; `auto` by capacity. @default "auto" */
  expertMatmul?: "auto" | "loop" | "batched";
};

/** Experts initialised as PyTorch linears (uniform ±1/√fan_in); `key` is consumed. */
export function initMoeLayer(key: np.Array, cfg: MoeLayerConfig): MoeLayerParams {
  const { d, h, experts: n } = cfg;
  const [kr, k1, k2, k3, k4] = splitKey(key, 5);
  const u = (k: np.Array, shape: number[], fanIn: number) =>
    random.uniform(k, shape, { minval: -1 / Math.sqrt(fanIn), maxval: 1 / Math.sqrt(fanIn) });
  return {
    router: initRouter(kr, d, n, cfg.router),
    w1: u(k1, [n, d, h], d),
    b1: u(k2, [n, h], d),
    w2: u(k3, [n, h, d], h),
    b2: u(k4, [n, d], h),
  };
}

/** The computation `applyMoeLayer` uses for T tokens (static; for benchmarks, analytics and docs). */
export function moeLayerPlan(cfg: MoeLayerConfig, tokens: number, train: boolean): DispatchPlan {
  return planDispatch(tokens, cfg.experts, cfg.router, train, cfg);
}

/**
 * Cap every expert at C tokens in the routing record itself (numeric `capacity` only): the mask,
 * weights and active counts keep the first C assignments of each expert in token order, and the
 * rest are added to `dropped`. Consumes `r`, returns the capped record.
 */
function capRouting(r: Routing, capacity: number): Routing {
  const kept = keepWithinCapacity(r.mask.ref, capacity); // [T, N]
  const droppedHere = r.mask.sub(kept.ref).sum(-1); // [T]
  const weights = r.weights.mul(kept.ref); // [T, N]
  r.active.dispose();
  return {
    ...r,
    mask: kept.ref,
    weights,
    active: kept.sum(-1),
    dropped: r.dropped ? r.dropped.add(droppedHere) : droppedHere,
  };
}

/**
 * Apply the layer to T tokens.
 * @param params not consumed.
 * @param x `[T, d]`, consumed.
 * @returns `y` `[T, d]` and the routing record.
 */
export function applyMoeLayer(
  params: MoeLayerParams,
  x: np.Array,
  cfg: MoeLayerConfig,
  opts: RouteOptions,
): { y: np.Array; routing: Routing } {
  const [t, d] = x.shape;
  const { h, experts: n } = cfg;
  let routing = applyRouter(params.router, x.ref, cfg.router, { ...opts, experts: n });
  if (typeof cfg.capacity === "number") {
    const c = dispatchCapacity(t, n, cfg.router, opts.train, cfg.capacity);
    if (c < t) routing = capRouting(routing, c);
  }
  const plan = moeLayerPlan(cfg, t, opts.train);
  if (plan.mode === "gather") {
    const y = dispatchExperts(x, routing.mask.ref, routing.weights.ref, params, plan.capacity, {
      batched: plan.batched,
      maxActive: plan.maxActive,
    });
    return { y, routing };
  }
  if (plan.mode === "grouped") {
    const y = dispatchGrouped(x, routing.mask.ref, routing.weights.ref, params, plan.maxPairs, plan.blockSize, plan.maxActive);
    return { y, routing };
  }
  // Every expert on every token as two wide matmuls: [T, d] @ [d, N·h], then [T, N·h] @ [N·h, d].
  const w1 = params.w1.ref.transpose([1, 0, 2]).reshape([d, n * h]); // [d, N·h]
  const hidden = nn.gelu(np.matmul(x, w1).add(params.b1.ref.reshape([n * h])), { approximate: true }); // [T, N·h]
  const gated = hidden.reshape([t, n, h]).mul(np.expandDims(routing.weights.ref, -1)).reshape([t, n * h]);
  const y = np.matmul(gated, params.w2.ref.reshape([n * h, d])).add(np.matmul(routing.weights.ref, params.b2.ref)); // [T, d]
  return { y, routing };
}

/** Release every array of a routing record (for callers that only need `y`). */
export function disposeRouting(r: Routing): void {
  r.mask.dispose();
  r.weights.dispose();
  r.probs.dispose();
  r.active.dispose();
  r.auxLoss.dispose();
  disposeRoutingExtras(r);
}

/** Release a routing record's optional arrays (`losses`, `dropped`), for callers that consume the others. */
export function disposeRoutingExtras(r: Routing): void {
  r.losses?.balance?.dispose();
  r.losses?.z?.dispose();
  r.losses?.entropy?.dispose();
  r.losses?.l1?.dispose();
  r.losses?.nullBalance?.dispose();
  r.dropped?.dispose();
}
