/**
 * The routers' state of a whole model (`moe/routerState.ts`), inside the jitted steps: the loads a
 * step's routing gave each stateful layer, and the parameter tree with every state moved by its rule.
 * Layers whose router has no state are skipped, so models without one compute nothing extra.
 */
import { numpy as np } from "../engine/jax.js";
import type { Routing } from "../moe/routing.js";
import type { RouterConfig } from "../moe/routers/registry.js";
import { hasRouterState, routerStateStep, type RouterState } from "../moe/routerState.js";
import { layerRouter, type StackConfig } from "../models/stackConfig.js";

/** The router of each MoE layer, in block order (empty for a dense model). */
export function moeRouters(cfg: StackConfig): RouterConfig[] {
  return cfg.kind === "moe" ? Array.from({ length: cfg.layers }, (_, l) => layerRouter(cfg, l)) : [];
}

/**
 * `[Σ (N_l + 1)]` over the stateful layers, in order: the tokens each expert was given (the routing
 * mask's column sums), then the token count. Reads the masks without consuming them; `[0]` when no
 * layer has state. Sums over micro-batches are the whole batch's.
 */
export function stateLoads(routings: Routing[], routers: RouterConfig[]): np.Array {
  const loads = routings
    .filter((_, l) => hasRouterState(routers[l]))
    .map((r) => np.concatenate([r.mask.ref.sum(0), np.array([r.mask.shape[0]], { dtype: np.float32 })]));
  return loads.length ? np.concatenate(loads) : np.zeros([0]);
}

type StatefulModel = { blocks: { moe?: { router: { w: np.Array } & RouterState } }[] };

/** `params` with each stateful layer's state moved by one step from `loads` (`stateLoads`' layout); consumes both. */
export function updateRouterStates<P extends StatefulModel>(params: P, loads: np.Array, routers: RouterConfig[]): P {
  let at = 0;
  const blocks = params.blocks.map((block, l) => {
    if (!block.moe || !hasRouterState(routers[l])) return block;
    const { w, bias, l1 } = block.moe.router;
    const n = w.shape[1];
    const next = routerStateStep({ bias, l1 }, loads.ref.slice([at, at + n + 1]), routers[l]);
    at += n + 1;
    return { ...block, moe: { ...block.moe, router: { ...block.moe.router, ...next } } };
  });
  loads.dispose();
  return { ...params, blocks };
}
