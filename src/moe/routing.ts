/**
 * The routing record every router returns, and the router configuration shared by all routers.
 *
 * Analytics and the MoE layer read only this record, so routers are interchangeable.
 */
import type { numpy as np } from "../engine/jax.js";

/** What a router decided for a batch of T tokens over N experts. */
export type Routing = {
  /** `[T, N]` float32, 1 where the expert is selected for the token, else 0. */
  mask: np.Array;
  /** `[T, N]` combine weights, zero outside the selected set; rows sum to 1 for routed tokens. */
  weights: np.Array;
  /** `[T, N]` router probabilities g = softmax(logits / T), before noise. */
  probs: np.Array;
  /** `[T]` float32 number of experts active for each token. */
  active: np.Array;
  /** Scalar: the router's auxiliary loss, coefficients applied (zero for routers without one). */
  auxLoss: np.Array;
};

export const ROUTER_KINDS = ["percentile", "topk"] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];

/** How selected gates become combine weights (spec §2.1 step 6). */
export type Renormalize = "gates" | "softmax-of-gates";

export type RouterConfig = {
  kind: RouterKind;
  /** Softmax temperature T in `g = softmax(h / T)`. @default 0.5 */
  temperature: number;
  /** Std σ of the Gaussian noise added to the gates in training only. @default 0.1 */
  noise: number;
  /** Percentile τ ∈ [0, 100] for the `percentile` router. @default 50 */
  tau: number;
  /** Experts per token for the `topk` router (clamped to the layer's count). @default 2 */
  k: number;
  /** `gates`: `w_i = g_i / Σ_S g_j`; `softmax-of-gates`: `w_i = exp(g_i) / Σ_S exp(g_j)`. @default "gates" */
  renormalize: Renormalize;
};

export const DEFAULT_ROUTER: RouterConfig = {
  kind: "percentile",
  temperature: 0.5,
  noise: 0.1,
  tau: 50,
  k: 2,
  renormalize: "gates",
};

/** Per-call options of a router. */
export type RouteOptions = {
  /** Training mode: noise is added to the gates only when true. */
  train: boolean;
  /** PRNG key for the noise; required when `train` and `noise > 0`. Consumed. */
  key?: np.Array;
};
