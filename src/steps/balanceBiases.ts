/**
 * The balancing biases of a whole model (`moe/balanceBias.ts`), inside the jitted steps: the loads a
 * step's routing gave each biased layer, and the parameter tree with every bias moved by its rule.
 * Layers whose router has no bias are skipped, so models without one compute nothing extra.
 */
import { numpy as np } from "../engine/jax.js";
import { balanceBiasStep, hasBalanceBias } from "../moe/balanceBias.js";
import type { Routing } from "../moe/routing.js";
import type { RouterConfig } from "../moe/routers/registry.js";
import { layerRouter, type StackConfig } from "../models/stackConfig.js";

/** The router of each MoE layer, in block order (empty for a dense model). */
export function moeRouters(cfg: StackConfig): RouterConfig[] {
  return cfg.kind === "moe" ? Array.from({ length: cfg.layers }, (_, l) => layerRouter(cfg, l)) : [];
}

/**
 * `[Σ N_l]` over the biased layers, in order: the tokens each expert was given (the routing mask's
 * column sums). Reads the masks without consuming them; `[0]` when no layer has a bias.
 */
export function biasLoads(routings: Routing[], routers: RouterConfig[]): np.Array {
  const loads = routings.filter((_, l) => hasBalanceBias(routers[l])).map((r) => r.mask.ref.sum(0));
  return loads.length ? np.concatenate(loads) : np.zeros([0]);
}

type BiasedModel = { blocks: { moe?: { router: { w: np.Array; bias?: np.Array } } }[] };

/**
 * `params` with each biased layer's bias moved by one step from `loads` (`biasLoads`' layout);
 * consumes `params` and `loads`.
 */
export function updateBalanceBiases<P extends BiasedModel>(params: P, loads: np.Array, routers: RouterConfig[]): P {
  let at = 0;
  const blocks = params.blocks.map((block, l) => {
    const bias = block.moe?.router.bias;
    if (!block.moe || !bias || !hasBalanceBias(routers[l])) return block;
    const n = bias.shape[0];
    const next = balanceBiasStep(bias, loads.ref.slice([at, at + n]), routers[l].biasRate);
    at += n;
    return { ...block, moe: { ...block.moe, router: { ...block.moe.router, bias: next } } };
  });
  loads.dispose();
  return { ...params, blocks };
}
