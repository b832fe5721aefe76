/**
 * The Mixture-of-Experts layer: a router picks experts per token, and the output is the weighted
 * sum of the selected experts' outputs, `y = Σ_{i∈S} w_i · E_i(x)`, with `E_i(x) = W2_i·GELU(W1_i x + b1_i) + b2_i`.
 *
 * Three computations (`dispatch`): dense-masked, every expert runs on every token and unselected
 * experts get weight zero (exact; the reference that sparse dispatch is tested against); gather, each
 * expert runs only on its tokens in a fixed-capacity buffer (`dispatch.ts`; exact while no expert
 * receives more than its capacity); grouped, the selected pairs sorted by expert into blocks
 * (`groupedDispatch.ts`; exact for any load).
 *
 * Reference: DynaMoE spec §2.1 step 7; Shazeer et al. 2017.
 */
import { nn, numpy as np, random } from "../engine/jax.js";
import { splitKey } from "../models/linear.js";
import { type DispatchCapacity, dispatchCapacity, dispatchExperts, maxActiveExperts } from "./dispatch.js";
import { dispatchGrouped, maxSelectedPairs } from "./groupedDispatch.js";
import { applyRouter, initRouter, type RouterParams } from "./router.js";
import type { RouteOptions, RouterConfig, Routing } from "./routing.js";

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
   * `blockSize` rows, exact for any load at the cost of a static bound on the selected pairs
   * (`groupedDispatch.ts`). @default "dense"
   */
  dispatch?: "dense" | "gather" | "grouped";
  /** Grouped only: rows per block. @default 32 */
  blockSize?: number;
  /** Capacity of the gather buffers (see `DispatchCapacity`); `exact` never drops. @default "exact" */
  capacity?: DispatchCapacity;
  /** Gather only: the experts as a loop of N matmuls or one batched matmul. @default "loop" */
  expertMatmul?: "loop" | "batched";
};

/** Experts initialised as PyTorch linears (uniform ±1/√fan_in); `key` is consumed. */
export function initMoeLayer(key: np.Array, cfg: MoeLayerConfig): MoeLayerParams {
  const { d, h, experts: n } = cfg;
  const [kr, k1, k2, k3, k4] = splitKey(key, 5);
  const u = (k: np.Array, shape: number[], fanIn: number) =>
    random.uniform(k, shape, { minval: -1 / Math.sqrt(fanIn), maxval: 1 / Math.sqrt(fanIn) });
  return {
    router: initRouter(kr, d, n),
    w1: u(k1, [n, d, h], d),
    b1: u(k2, [n, h], d),
    w2: u(k3, [n, h, d], h),
    b2: u(k4, [n, d], h),
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
  const routing = applyRouter(params.router, x.ref, cfg.router, opts);
  if (cfg.dispatch === "gather") {
    const c = dispatchCapacity(t, n, cfg.router, opts.train, cfg.capacity ?? "exact");
    const y = dispatchExperts(x, routing.mask.ref, routing.weights.ref, params, c, {
      batched: cfg.expertMatmul === "batched",
      maxActive: maxActiveExperts(n, cfg.router),
    });
    return { y, routing };
  }
  if (cfg.dispatch === "grouped") {
    const pairs = maxSelectedPairs(t, n, cfg.router, opts.train);
    const y = dispatchGrouped(x, routing.mask.ref, routing.weights.ref, params, pairs, cfg.blockSize ?? 32, maxActiveExperts(n, cfg.router));
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
  r.dropped?.dispose();
}
