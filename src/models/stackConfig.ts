/**
 * The configuration of a stack of blocks, shared by the image and the language model: width, hidden
 * size, experts per block and how each block's MoE layer routes and dispatches.
 */
import type { DispatchCapacity } from "../moe/dispatch.js";
import type { DispatchMode } from "../moe/dispatchPlan.js";
import type { MoeLayerConfig } from "../moe/moeLayer.js";
import type { RouterConfig } from "../moe/routers/registry.js";

export type StackConfig = {
  kind: "dense" | "moe";
  /** Model width. */
  d: number;
  /** Hidden size of each expert / FFN. */
  h: number;
  /** Number of blocks L. */
  layers: number;
  /** Experts per block (length L), for `kind: "moe"`; from a capacity schedule. */
  experts: number[];
  router: RouterConfig;
  /** Per-layer routers (length L), overriding `router` layer by layer; e.g. Switch below, top-p above. */
  layerRouters?: RouterConfig[];
  /** How each MoE layer computes its experts (`dispatchPlan.ts`). @default "auto" */
  dispatch?: DispatchMode;
  /** Slots per expert: `exact`, or a capacity factor that caps every expert (`moeLayer.ts`). @default "exact" */
  capacity?: DispatchCapacity;
  /** Always-on shared experts beside the routed ones in every MoE block (DeepSeekMoE; `blockFfn.ts`). @default 0 */
  sharedExperts?: number;
};

/** The hidden size of an MoE block's shared experts taken together, S·h (0 without them). */
export function sharedHidden(cfg: Pick<StackConfig, "kind" | "h" | "sharedExperts">): number {
  return cfg.kind === "moe" ? (cfg.sharedExperts ?? 0) * cfg.h : 0;
}

/** What an MoE stack's configuration says about its layers. */
export type MoeStackConfig = Pick<StackConfig, "d" | "h" | "experts" | "router" | "layerRouters" | "dispatch" | "capacity">;

/** The MoE layer configuration of block `layer`. */
export function moeConfig(cfg: MoeStackConfig, layer: number): MoeLayerConfig {
  return {
    d: cfg.d,
    h: cfg.h,
    experts: cfg.experts[layer],
    router: cfg.layerRouters?.[layer] ?? cfg.router,
    dispatch: cfg.dispatch,
    capacity: cfg.capacity,
  };
}

/** The router of block `layer`. */
export function layerRouter(cfg: MoeStackConfig, layer: number): RouterConfig {
  return cfg.layerRouters?.[layer] ?? cfg.router;
}
